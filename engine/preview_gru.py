"""The GRU stepper's trace in numpy, from the model read by :mod:`engine.preview` (no torch).

:func:`engine.gru.prepare` and :func:`engine.gru.retrace` step the shipped HAN's word or sentence
GRU with torch; :func:`prepare` and :func:`retrace` here do the same from a :class:`Preview`: the
same tokenization, the same cell equations in the same order (PyTorch's), in float32, so the
:class:`~engine.gru_trace.Trace` equals torch's to float32 rounding (tests/engine/test_preview_gru.py,
1e-5). What needs autograd (:func:`engine.gru.gradient_flow`) is not here. ``han-explorer
--screenshot --view gru`` draws the stepper with it and never imports torch (~1 s).

Nothing here imports torch (an import-linter contract guards it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.analysis import encode_document, read_document
from engine.gru_trace import (
    ENCODERS,
    GATES,
    TRACE_ARRAYS,
    GateTerms,
    Trace,
    check_direction,
    gate_offsets,
    sentence_index,
)
from engine.preview import Preview
from engine.text import normalize
from engine.vocab import UNK_ID

__all__ = ["Cell", "PreviewPrepared", "prepare", "retrace", "trace"]

F32 = np.float32


@dataclass(frozen=True, eq=False)
class Cell:
    """One direction of a GRU layer in numpy, split per gate as :class:`engine.gru.GRUWeights`:
    ``W_i[g]`` (H, I), ``W_h[g]`` (H, H), ``b_i[g]``, ``b_h[g]`` (H,) for g in "r", "z", "n"."""

    W_i: Mapping[str, np.ndarray]
    W_h: Mapping[str, np.ndarray]
    b_i: Mapping[str, np.ndarray]
    b_h: Mapping[str, np.ndarray]
    direction: str = "forward"

    @classmethod
    def from_preview(cls, preview: Preview, gru: str, direction: str = "forward") -> Cell:
        """Layer 0 of ``preview``'s ``gru`` ("word_gru" or "sentence_gru"), ``direction``'s half."""
        check_direction(direction)
        suffix = "_reverse" if direction == "backward" else ""
        w = preview.weights

        def split(name: str) -> dict[str, np.ndarray]:
            parts = np.split(np.asarray(w[f"{gru}.{name}_l0{suffix}"], dtype=F32), 3)  # r, z, n
            return dict(zip(GATES, parts, strict=True))

        return cls(split("weight_ih"), split("weight_hh"), split("bias_ih"), split("bias_hh"), direction)

    @property
    def hidden_size(self) -> int:
        return int(self.W_h["r"].shape[0])


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=F32)
    a.setflags(write=False)
    return a


def trace(
    cell: Cell, inputs: np.ndarray, tokens: Sequence[str], bias_offsets: Mapping[str, float] | None = None
) -> Trace:
    """:func:`engine.gru.trace` in numpy: step ``cell`` over ``inputs`` (T, I), given in text order
    (a backward cell reads them last first), keeping every gate; h0 = 0."""
    xs, toks = np.asarray(inputs, dtype=F32), list(tokens)
    if xs.ndim != 2 or xs.shape[1] != cell.W_i["r"].shape[1]:
        raise ValueError(f"inputs must be (T, {cell.W_i['r'].shape[1]}), not {xs.shape}")
    if len(toks) != xs.shape[0]:
        raise ValueError(f"{len(toks)} tokens for {xs.shape[0]} inputs")
    if len(toks) == 0:
        raise ValueError("nothing to trace: the sequence is empty")
    if cell.direction == "backward":
        xs, toks = xs[::-1], toks[::-1]
    off = gate_offsets(bias_offsets)
    Wi, Wh, bi, bh = cell.W_i, cell.W_h, cell.b_i, cell.b_h
    h = np.zeros(cell.hidden_size, dtype=F32)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in TRACE_ARRAYS}
    for x in xs:
        # torch.nn.functional.linear's terms in engine.gru.step's order, float32 throughout
        r_pre = (h @ Wh["r"].T + bh["r"]) + (x @ Wi["r"].T + bi["r"]) + F32(off["r"])
        z_pre = (h @ Wh["z"].T + bh["z"]) + (x @ Wi["z"].T + bi["z"]) + F32(off["z"])
        r, z = _sigmoid(r_pre), _sigmoid(z_pre)
        hn = h @ Wh["n"].T + bh["n"]
        n_pre = (x @ Wi["n"].T + bi["n"]) + r * hn + F32(off["n"])
        n = np.tanh(n_pre)
        h_next = n + z * (h - n)
        for k, v in (("x", x), ("h_prev", h), ("h", h_next), ("r", r), ("z", z), ("n", n)):
            rows[k].append(v)
        for k, v in (("r_pre", r_pre), ("z_pre", z_pre), ("n_pre", n_pre), ("hn", hn)):
            rows[k].append(v)
        h = h_next
    stacked = {k: np.stack(v) for k, v in rows.items()}
    terms = {
        g: GateTerms(
            _readonly(stacked["x"] @ Wi[g].T),
            _readonly(bi[g]),
            _readonly(stacked["h_prev"] @ Wh[g].T),
            _readonly(bh[g]),
        )
        for g in GATES
    }
    return Trace(
        tuple(toks),
        cell.direction,
        **{k: _readonly(v) for k, v in stacked.items()},
        terms=terms,
        offsets=off,
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: the result is 0
        out: np.ndarray = (1.0 / (1.0 + np.exp(-x))).astype(F32)
    return out


@dataclass(frozen=True, eq=False)
class PreviewPrepared:
    """:class:`engine.gru.Prepared` from the numpy preview: the same fields, ``cell`` and ``inputs``
    in numpy (enough to trace again with what-if offsets, not to measure gradient flow)."""

    text: str
    encoder: str
    direction: str
    sentence: int
    n_sentences: int
    cell: Cell
    inputs: np.ndarray
    tokens: tuple[str, ...]
    keys: tuple[str, ...]
    known: np.ndarray
    attention: np.ndarray
    base: Trace


def prepare(
    preview: Preview,
    text: str,
    encoder: str = "word",
    direction: str = "forward",
    sentence: int = 0,
    *,
    clamp_sentence: bool = False,
) -> PreviewPrepared:
    """:func:`engine.gru.prepare` on the numpy preview (the same arguments, checks and tokens)."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be 'word' or 'sentence', not {encoder!r}")
    check_direction(direction)
    doc = read_document(text)
    ids = encode_document(preview, doc)  # S lists of word ids
    n = len(doc.sentences)
    index = sentence_index(sentence, n, clamp_sentence or encoder == "sentence")
    cell = Cell.from_preview(preview, "word_gru" if encoder == "word" else "sentence_gru", direction)
    _probs, vecs, word_att, sentence_att = preview.encode(ids)
    if encoder == "sentence":
        inputs, attention = vecs, sentence_att  # (S, 2Hw), (S,)
        tokens = tuple(text[s.start : s.end] for s in doc.sentences)
        keys, known = ("",) * n, np.ones(n, dtype=bool)
    else:
        inputs, attention = preview.embed(ids[index]), word_att[index, : len(ids[index])]  # (W, E), (W,)
        words = doc.sentences[index].tokens
        tokens = tuple(t.text for t in words)
        known = np.array([i != UNK_ID for i in ids[index]], dtype=bool)
        keys = tuple(normalize(t.text) if k else "<unk>" for t, k in zip(words, known, strict=True))
    inputs = np.array(inputs, dtype=F32)
    return PreviewPrepared(
        text,
        encoder,
        direction,
        index,
        n,
        cell,
        inputs,
        tokens,
        keys,
        known,
        attention.astype(np.float64),
        trace(cell, inputs, tokens),
    )


def retrace(prepared: PreviewPrepared, bias_offsets: Mapping[str, float] | None = None) -> Trace:
    """The prepared cell traced again with ``bias_offsets``; the base trace when every offset is 0."""
    off = gate_offsets(bias_offsets)
    if not any(off.values()):
        return prepared.base
    return trace(prepared.cell, prepared.inputs, prepared.tokens, off)
