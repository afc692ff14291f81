"""What the GRU stepper draws: plain arrays, built by the controller from an engine ``Trace``.

Everything is in *stepped* order, the order the cell read the tokens: for a backward cell step 0 is
the last token of the sentence. T steps, H units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GATES",
    "QUANTITIES",
    "FlowDisplay",
    "GRUDisplay",
    "GateTerms",
    "UnitReading",
    "axis_labels",
    "chip_labels",
    "chip_tip",
    "equations_html",
    "parse_units",
    "read_unit",
    "step_info",
]

GATES = ("r", "z", "n")
QUANTITIES: dict[str, str] = {  # what the heatmaps and line plots can show, in display order
    "z": "update gate z",
    "r": "reset gate r",
    "n": "candidate n",
    "h": "hidden state h",
}


@dataclass(frozen=True, eq=False)
class GateTerms:
    """The additive parts of one gate's pre-activation, so the inspector can write them out.

    Attributes
    ----------
    input : (T, H)
        ``W_i x_t``, the input's contribution (no bias).
    bias_input, bias_hidden : (H,)
        ``b_i`` and ``b_h``.
    hidden : (T, H)
        ``W_h h_{t-1}``, the previous state's contribution (no bias).
    offset : float
        The what-if offset added to the pre-activation (0 for the trained cell).
    """

    input: np.ndarray
    bias_input: np.ndarray
    hidden: np.ndarray
    bias_hidden: np.ndarray
    offset: float = 0.0


@dataclass(frozen=True, eq=False)
class GRUDisplay:
    """One traced sentence (word encoder) or review (sentence encoder), ready to draw.

    Attributes
    ----------
    tokens : (T,) str
        What each step read: a word, or a sentence's text for the sentence encoder.
    keys : (T,) str
        The vocabulary key the model looked up (``"<unk>"`` for an unknown word; "" for sentences).
    known : (T,) bool
        False where the vocabulary does not know the word.
    text_index : (T,) int
        Where each step's token sits in text order.
    attention : (T,) float
        The HAN's attention weight of each step's word within its sentence (word encoder) or of
        each sentence within the review (sentence encoder).
    z, r, n, h, h_prev : (T, H) float
        Gates, candidate and states, as the engine's ``Trace``.
    terms : dict
        ``"r" | "z" | "n"`` -> :class:`GateTerms`.
    suggested_units : tuple of int
        Units worth a first look (the ones whose state moved most).
    """

    text: str
    encoder: str
    direction: str
    sentence: int
    n_sentences: int
    tokens: tuple[str, ...]
    keys: tuple[str, ...]
    known: np.ndarray
    text_index: np.ndarray
    attention: np.ndarray
    z: np.ndarray
    r: np.ndarray
    n: np.ndarray
    h: np.ndarray
    h_prev: np.ndarray
    terms: dict[str, GateTerms]
    offsets: dict[str, float] = field(default_factory=dict)
    suggested_units: tuple[int, ...] = ()
    seconds: float = 0.0

    @property
    def n_steps(self) -> int:
        return len(self.tokens)

    @property
    def hidden_size(self) -> int:
        return int(self.h.shape[1])

    def values(self, quantity: str) -> np.ndarray:
        """(T, H) the array of ``quantity`` (``"z"``, ``"r"``, ``"n"`` or ``"h"``)."""
        if quantity not in QUANTITIES:
            raise KeyError(f"unknown quantity {quantity!r}")
        return getattr(self, quantity)

    def same_steps(self, other: GRUDisplay | None) -> bool:
        """True when ``other`` stepped over the same tokens in the same order (a what-if re-run)."""
        return (
            other is not None
            and other.tokens == self.tokens
            and other.encoder == self.encoder
            and other.direction == self.direction
            and other.hidden_size == self.hidden_size
        )


@dataclass(frozen=True, eq=False)
class FlowDisplay:
    """``‖∂h_{T-1}/∂h_t‖`` for every step t (stepped order), GRU and plain tanh RNN; (T,) each."""

    gru: np.ndarray
    rnn: np.ndarray
    offsets: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class UnitReading:
    """Every number of one unit at one step: the gate equations, filled in."""

    step: int
    unit: int
    token: str
    parts: dict[str, tuple[float, float, float, float]]  # gate -> (W x, b_i, W_h h, b_h)
    offsets: dict[str, float]
    pre: dict[str, float]  # gate -> pre-activation
    gate: dict[str, float]  # gate -> r, z or n
    h_prev: float
    h: float


def read_unit(d: GRUDisplay, step: int, unit: int) -> UnitReading:
    """The numbers of unit ``unit`` at step ``step`` of ``d`` (both 0-based)."""
    parts = {
        g: (
            float(d.terms[g].input[step, unit]),
            float(d.terms[g].bias_input[unit]),
            float(d.terms[g].hidden[step, unit]),
            float(d.terms[g].bias_hidden[unit]),
        )
        for g in GATES
    }
    offsets = {g: float(d.terms[g].offset) for g in GATES}
    pre = {}
    for g in ("r", "z"):
        pre[g] = sum(parts[g]) + offsets[g]
    r = float(d.r[step, unit])
    wx, bi, wh, bh = parts["n"]
    pre["n"] = wx + bi + r * (wh + bh) + offsets["n"]
    gate = {g: float(d.values(g)[step, unit]) for g in GATES}
    return UnitReading(
        step,
        unit,
        d.tokens[step],
        parts,
        offsets,
        pre,
        gate,
        float(d.h_prev[step, unit]),
        float(d.h[step, unit]),
    )


def _num(x: float, signed: bool = False) -> str:
    """``0.123``; with ``signed``, ``+ 0.123`` / ``− 0.123`` to continue a sum."""
    if signed:
        return f"{'−' if x < 0 else '+'} {abs(x):.3f}"
    return f"{x:.3f}".replace("-", "−")


def _factor(x: float) -> str:
    """A number that multiplies: negative ones in parentheses (``0.5·(−0.2)``)."""
    return f"({_num(x)})" if x < 0 else _num(x)


def _sum(values: tuple[float, ...]) -> str:
    return " ".join([_num(values[0]), *(_num(v, signed=True) for v in values[1:])])


def _offset(reading: UnitReading, g: str, sub: str) -> tuple[str, str]:
    """The what-if term of gate ``g``: its symbol and its number (both empty when it is 0)."""
    off = reading.offsets[g]
    if off == 0:
        return "", ""
    return (
        f" <span style='color:#b35806'>+ Δb<sub>{sub}</sub></span>",
        f" <span style='color:#b35806'>{_num(off, signed=True)}</span>",
    )


def equations_html(reading: UnitReading) -> str:
    """The gate equations of one unit and step with its numbers, as rich text for a QLabel.

    PyTorch's convention: ``z = σ(W_z x + b_iz + U_z h + b_hz)``, r likewise,
    ``n = tanh(W_n x + b_in + r·(U_n h + b_hn))``, ``h = z·h_prev + (1 − z)·n``.
    """
    lines = []
    for g in ("z", "r"):
        sym, num = _offset(reading, g, g)
        lines += [
            f"<b>{g}</b> = σ(W<sub>{g}</sub>x + b<sub>i{g}</sub> + U<sub>{g}</sub>h + b<sub>h{g}</sub>{sym})",
            f"&nbsp;&nbsp;= σ({_sum(reading.parts[g])}{num})",
            f"&nbsp;&nbsp;= σ({_num(reading.pre[g])}) = <b>{_num(reading.gate[g])}</b>",
        ]
    wx, bi, wh, bh = reading.parts["n"]
    sym, num = _offset(reading, "n", "n")
    lines += [
        f"<b>n</b> = tanh(W<sub>n</sub>x + b<sub>in</sub> + r·(U<sub>n</sub>h + b<sub>hn</sub>){sym})",
        f"&nbsp;&nbsp;= tanh({_sum((wx, bi))} + {_factor(reading.gate['r'])}·({_sum((wh, bh))}){num})",
        f"&nbsp;&nbsp;= tanh({_num(reading.pre['n'])}) = <b>{_num(reading.gate['n'])}</b>",
    ]
    z, n = reading.gate["z"], reading.gate["n"]
    lines += [
        "<b>h</b> = z·h<sub>prev</sub> + (1 − z)·n",
        f"&nbsp;&nbsp;= {_factor(z)}·{_factor(reading.h_prev)} + {_factor(1 - z)}·{_factor(n)}"
        f" = <b>{_num(reading.h)}</b>",
    ]
    return "<div style='font-family:monospace; white-space:pre'>" + "<br>".join(lines) + "</div>"


def parse_units(text: str) -> list[int]:
    """``"3, 17 42"`` -> ``[3, 17, 42]``; anything that is not a number is skipped."""
    out: list[int] = []
    for part in text.replace(",", " ").split():
        if part.isdigit() and int(part) not in out:
            out.append(int(part))
    return out


def chip_labels(d: GRUDisplay) -> tuple[str, ...]:
    if d.encoder == "word":
        return d.tokens
    pairs = zip(d.text_index.tolist(), d.tokens, strict=True)
    return tuple(f"S{i + 1}: {' '.join(tok.split())}" for i, tok in pairs)


def axis_labels(d: GRUDisplay) -> tuple[str, ...]:
    return d.tokens if d.encoder == "word" else tuple(f"S{int(i) + 1}" for i in d.text_index)


def chip_tip(d: GRUDisplay, t: int) -> str:
    kind = "word" if d.encoder == "word" else "sentence"
    lines = [
        f"step {t + 1}: {' '.join(d.tokens[t].split())[:200]}",
        f"HAN {kind} attention {float(d.attention[t]):.4f}",
    ]
    if d.encoder == "word":
        lines.append(f"vocabulary key “{d.keys[t]}”" if d.known[t] else "not in the vocabulary: read <unk>")
    return "\n".join(lines)


def step_info(d: GRUDisplay, t: int) -> str:
    kind = "word" if d.encoder == "word" else "sentence"
    where = f"{kind} {int(d.text_index[t]) + 1} of {d.n_steps} in the text"
    if d.direction == "backward":
        where += " (read backwards)"
    if d.encoder == "word":
        where += (
            f"; looked up as “{d.keys[t]}”"
            if d.known[t]
            else "; <span style='color:#b30000'>unknown: the model read &lt;unk&gt;</span>"
        )
    return where
