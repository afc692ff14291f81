"""What a GRU trace is, without torch: the :class:`Trace` of a cell stepped over a sequence and its
gates' parts (:class:`GateTerms`).

:mod:`engine.gru` steps a trained cell with torch; :mod:`engine.preview_gru` steps the same cell
in numpy from the model read by :mod:`engine.preview` (no torch: the app's ``--screenshot``).
Nothing here imports torch (an import-linter contract guards it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DIRECTIONS",
    "ENCODERS",
    "GATES",
    "TRACE_ARRAYS",
    "GateTerms",
    "Trace",
    "check_direction",
    "gate_offsets",
    "sentence_index",
]

DIRECTIONS = ("forward", "backward")
ENCODERS = ("word", "sentence")
GATES = ("r", "z", "n")


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'forward' or 'backward', not {direction!r}")


def gate_offsets(bias_offsets: Mapping[str, float] | None) -> dict[str, float]:
    offsets = dict(bias_offsets or {})
    unknown = set(offsets) - set(GATES)
    if unknown:
        raise ValueError(f"bias_offsets keys must be among {GATES}, not {sorted(unknown)}")
    return {g: float(offsets.get(g, 0.0)) for g in GATES}


@dataclass(frozen=True, eq=False)
class GateTerms:
    """One gate's pre-activation over a sequence, in the parts the cell adds (read-only float32).

    input: (T, H), ``x W_i^T``. b_i: (H,). hidden: (T, H), ``h_prev W_h^T``. b_h: (H,). In stepped
    order, with the trace's offset ``o`` of the gate::

        r_pre = input + b_i + hidden + b_h + o          (z likewise)
        n_pre = input + b_i + r * (hidden + b_h) + o    (hidden + b_h is the trace's hn)
    """

    input: np.ndarray
    b_i: np.ndarray
    hidden: np.ndarray
    b_h: np.ndarray


TRACE_ARRAYS = ("x", "h_prev", "h", "r", "z", "n", "r_pre", "z_pre", "n_pre", "hn")


@dataclass(frozen=True, eq=False)
class Trace:
    """Every step of a GRU over a sequence, in the order the steps ran (read-only numpy arrays).

    For ``direction == "backward"`` the cell reads the sequence last token first, so step 0 is the
    last token: ``tokens`` and every array are in stepped order, not text order.

    tokens: (T,) strings. x: (T, I) inputs. h_prev, h: (T, H), the state before and after each step
    (``h_prev[t + 1] == h[t]``). r, z, n, r_pre, z_pre, n_pre, hn: (T, H), as in :class:`Gates`.
    terms: each gate's pre-activation in parts (:class:`GateTerms`), keyed "r", "z", "n".
    offsets: the bias offset added to each gate's pre-activation (0.0 for the trained cell).
    """

    tokens: tuple[str, ...]
    direction: str
    x: np.ndarray
    h_prev: np.ndarray
    h: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    r_pre: np.ndarray
    z_pre: np.ndarray
    n_pre: np.ndarray
    hn: np.ndarray
    terms: Mapping[str, GateTerms] = field(default_factory=dict)
    offsets: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(GATES, 0.0))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def hidden_size(self) -> int:
        return int(self.h.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"direction", "tokens", "steps": [{"token", "z", "r", "n", "h", "h_prev"}]}``.

        Tokens and steps are in stepped order (see the class docstring); each vector is a list of
        floats, so ``h = z ∘ h_prev + (1 − z) ∘ n`` can be checked from the output alone.
        """
        keys = ("z", "r", "n", "h", "h_prev")
        lists = {k: getattr(self, k).astype(np.float64).tolist() for k in keys}
        return {
            "direction": self.direction,
            "tokens": list(self.tokens),
            "steps": [{"token": tok, **{k: lists[k][t] for k in keys}} for t, tok in enumerate(self.tokens)],
        }


def sentence_index(sentence: int, n: int, clamp: bool) -> int:
    if clamp:
        return min(max(int(sentence), 0), n - 1)
    if isinstance(sentence, bool) or not 0 <= sentence < n:
        raise ValueError(f"there is no sentence {sentence + 1}: the text has {n} sentence(s), counted from 1")
    return int(sentence)
