"""A GRU stepped by hand, so every gate is visible, with a trained model's own weights.

``torch.nn.GRU`` returns hidden states but hides its gates. :func:`step` computes one step of the
same cell with PyTorch's conventions (gates packed in the order r, z, n; the reset gate applied
to ``W_hn h + b_hn``)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))
    h' = z ∘ h + (1 − z) ∘ n

:func:`trace` steps a whole sequence and keeps every gate, with each gate's pre-activation in its
parts; :func:`prepare` readies the shipped HAN's word or sentence encoder on a review from one
tokenization (weights, inputs, tokens, attention, the base trace), :func:`retrace` and
:func:`prepared_flow` re-run it with what-if bias offsets, and :func:`trace_text` is its base trace.
:func:`gradient_flow` puts numbers on the vanishing-gradient story: how strongly the final state
still depends on each earlier state, for the GRU and for a plain tanh RNN of the same size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from engine.analyze import encode_document, read_document
from engine.bundle import ModelBundle
from engine.gru_trace import (
    DIRECTIONS,
    ENCODERS,
    GATES,
    TRACE_ARRAYS,
    GateTerms,
    Trace,
    check_direction,
    gate_offsets,
    sentence_index,
)
from engine.inference import encode_sentences, score_vectors
from engine.text import normalize
from engine.vocab import UNK_ID

__all__ = [
    "DIRECTIONS",
    "ENCODERS",
    "GATES",
    "GRUWeights",
    "GateTerms",
    "Gates",
    "GradientFlow",
    "Prepared",
    "RNNWeights",
    "Trace",
    "gradient_flow",
    "prepare",
    "prepared_flow",
    "retrace",
    "sentence_vectors",
    "step",
    "trace",
    "trace_text",
]


# --------------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GRUWeights:
    """One direction of one layer of a GRU, split per gate.

    W_ir, W_iz, W_in: (H, I). W_hr, W_hz, W_hn: (H, H). b_ir, b_iz, b_in, b_hr, b_hz, b_hn: (H,).
    ``direction`` says which way :func:`trace` steps a sequence ("backward": last token first);
    ``layer`` records where the weights came from.
    """

    W_ir: torch.Tensor
    W_iz: torch.Tensor
    W_in: torch.Tensor
    W_hr: torch.Tensor
    W_hz: torch.Tensor
    W_hn: torch.Tensor
    b_ir: torch.Tensor
    b_iz: torch.Tensor
    b_in: torch.Tensor
    b_hr: torch.Tensor
    b_hz: torch.Tensor
    b_hn: torch.Tensor
    direction: str = "forward"
    layer: int = 0

    def __post_init__(self) -> None:
        check_direction(self.direction)
        H, n_in = self.W_ir.shape
        for f in _tensor_fields(self):
            want = (H, n_in) if f.startswith("W_i") else (H, H) if f.startswith("W_h") else (H,)
            if tuple(getattr(self, f).shape) != want:
                raise ValueError(f"{f} has shape {tuple(getattr(self, f).shape)}, expected {want}")

    @property
    def hidden_size(self) -> int:
        return int(self.W_ir.shape[0])

    @property
    def input_size(self) -> int:
        return int(self.W_ir.shape[1])

    @classmethod
    def from_gru(cls, gru: nn.GRU, layer: int = 0, direction: str = "forward") -> GRUWeights:
        """Copy the weights of ``layer`` / ``direction`` out of ``gru`` (detached)."""
        check_direction(direction)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < gru.num_layers:
            raise ValueError(f"layer must be an int in [0, {gru.num_layers}), not {layer!r}")
        if direction == "backward" and not gru.bidirectional:
            raise ValueError("direction 'backward' needs a bidirectional GRU")
        if not gru.bias:
            raise ValueError("a GRU without biases is not supported")
        suffix = f"l{layer}" + ("_reverse" if direction == "backward" else "")
        w_ih, w_hh, b_ih, b_hh = (
            getattr(gru, f"{name}_{suffix}").detach().clone()
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        W_ir, W_iz, W_in = w_ih.chunk(3)  # each (H, I)
        W_hr, W_hz, W_hn = w_hh.chunk(3)  # each (H, H)
        b_ir, b_iz, b_in = b_ih.chunk(3)  # each (H,)
        b_hr, b_hz, b_hn = b_hh.chunk(3)
        return cls(
            W_ir,
            W_iz,
            W_in,
            W_hr,
            W_hz,
            W_hn,
            b_ir,
            b_iz,
            b_in,
            b_hr,
            b_hz,
            b_hn,
            direction=direction,
            layer=layer,
        )

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> GRUWeights:
        """A copy in ``dtype`` / on ``device`` (always fresh tensors)."""
        return _convert(self, dtype, device)


@dataclass(frozen=True, eq=False)
class RNNWeights:
    """A plain tanh RNN, ``h' = tanh(W x + U h + b)``. W: (H, I), U: (H, H), b: (H,)."""

    W: torch.Tensor
    U: torch.Tensor
    b: torch.Tensor

    @classmethod
    def from_rnn(cls, rnn: nn.RNN, layer: int = 0, direction: str = "forward") -> RNNWeights:
        """Copy one layer / direction of a tanh ``nn.RNN``; its two biases are summed into ``b``."""
        check_direction(direction)
        if rnn.nonlinearity != "tanh" or not rnn.bias:
            raise ValueError("only a tanh nn.RNN with biases is supported")
        if not 0 <= layer < rnn.num_layers or (direction == "backward" and not rnn.bidirectional):
            raise ValueError(f"the RNN has no layer {layer} in direction {direction!r}")
        suffix = f"l{layer}" + ("_reverse" if direction == "backward" else "")
        p = {
            name: getattr(rnn, f"{name}_{suffix}").detach().clone()
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        return cls(p["weight_ih"], p["weight_hh"], p["bias_ih"] + p["bias_hh"])

    @classmethod
    def default(
        cls, input_size: int, hidden_size: int, seed: int = 0, dtype: torch.dtype = torch.float32
    ) -> RNNWeights:
        """``nn.RNN``'s default init, U(−1/√H, 1/√H), seeded; the global RNG is left untouched."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            rnn = nn.RNN(input_size, hidden_size)
        return cls.from_rnn(rnn).to(dtype)

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> RNNWeights:
        return _convert(self, dtype, device)


def _tensor_fields(obj: Any) -> list[str]:
    return [f.name for f in fields(obj) if f.name not in ("direction", "layer")]


_Weights = TypeVar("_Weights", GRUWeights, RNNWeights)


def _convert(obj: _Weights, dtype: torch.dtype | None, device: torch.device | str | None) -> _Weights:
    """``obj`` with every tensor field copied to ``dtype`` / ``device`` (normal, non-inference)."""
    changed = {f: getattr(obj, f).to(device=device, dtype=dtype, copy=True) for f in _tensor_fields(obj)}
    return type(obj)(**{**{f.name: getattr(obj, f.name) for f in fields(obj)}, **changed})


# --------------------------------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Gates:
    """Everything one GRU step computes besides ``h``; every field is an (H,) tensor.

    r, z, n: the reset gate, update gate and candidate state. r_pre, z_pre, n_pre: their
    pre-activations (``r = σ(r_pre)``, ``z = σ(z_pre)``, ``n = tanh(n_pre)``), including any
    bias offset. hn: ``W_hn h_prev + b_hn``, the part of ``n_pre`` the reset gate scales.
    """

    r: torch.Tensor
    z: torch.Tensor
    n: torch.Tensor
    r_pre: torch.Tensor
    z_pre: torch.Tensor
    n_pre: torch.Tensor
    hn: torch.Tensor


def step(
    weights: GRUWeights,
    x: torch.Tensor,
    h_prev: torch.Tensor,
    bias_offsets: Mapping[str, float] | None = None,
) -> tuple[torch.Tensor, Gates]:
    """One GRU step, PyTorch's convention: x (I,), h_prev (H,) -> h (H,), :class:`Gates`.

    Parameters
    ----------
    bias_offsets
        What-if mode: ``{"r" | "z" | "n": value}`` added to that gate's pre-activation (e.g. a large
        positive ``"z"`` makes the cell keep ``h_prev``). None or {} is the trained cell.
    """
    w, off = weights, gate_offsets(bias_offsets)
    lin = torch.nn.functional.linear
    r_pre = lin(h_prev, w.W_hr, w.b_hr) + lin(x, w.W_ir, w.b_ir) + off["r"]
    z_pre = lin(h_prev, w.W_hz, w.b_hz) + lin(x, w.W_iz, w.b_iz) + off["z"]
    r, z = torch.sigmoid(r_pre), torch.sigmoid(z_pre)
    hn = lin(h_prev, w.W_hn, w.b_hn)
    n_pre = lin(x, w.W_in, w.b_in) + r * hn + off["n"]
    n = torch.tanh(n_pre)
    h = n + z * (h_prev - n)  # = z ∘ h_prev + (1 − z) ∘ n, in the order PyTorch's kernel uses
    return h, Gates(r, z, n, r_pre, z_pre, n_pre, hn)


def _rnn_step(weights: RNNWeights, x: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
    lin = torch.nn.functional.linear
    return torch.tanh(lin(x, weights.W, weights.b) + lin(h_prev, weights.U))


# --------------------------------------------------------------------------------------------------
# A whole sequence
# --------------------------------------------------------------------------------------------------

_GATE_FIELDS = tuple(f.name for f in fields(Gates))


def _gate_terms(weights: GRUWeights, xs: torch.Tensor, h_prev: torch.Tensor) -> dict[str, GateTerms]:
    """:class:`GateTerms` of every gate for stepped inputs xs (T, I) and states h_prev (T, H)."""
    lin = torch.nn.functional.linear
    w = {name: getattr(weights, name) for name in _tensor_fields(weights)}
    return {
        g: GateTerms(
            _readonly(lin(xs, w[f"W_i{g}"])),
            _readonly(w[f"b_i{g}"]),
            _readonly(lin(h_prev, w[f"W_h{g}"])),
            _readonly(w[f"b_h{g}"]),
        )
        for g in GATES
    }


def _stepped(
    weights: GRUWeights, inputs: torch.Tensor, tokens: Sequence[str]
) -> tuple[torch.Tensor, list[str]]:
    """Inputs and tokens in the order the cell reads them (reversed for a backward cell)."""
    if inputs.ndim != 2 or inputs.shape[1] != weights.input_size:
        raise ValueError(f"inputs must be (T, {weights.input_size}), not {tuple(inputs.shape)}")
    if len(tokens) != inputs.shape[0]:
        raise ValueError(f"{len(tokens)} tokens for {inputs.shape[0]} inputs")
    if weights.direction == "backward":
        return inputs.flip(0), list(reversed(tokens))
    return inputs, list(tokens)


def _readonly(t: torch.Tensor) -> np.ndarray:
    a = t.detach().cpu().numpy().copy()
    a.setflags(write=False)
    return a


@torch.no_grad()
def trace(
    weights: GRUWeights,
    inputs: torch.Tensor,
    tokens: Sequence[str],
    h0: torch.Tensor | None = None,
    bias_offsets: Mapping[str, float] | None = None,
) -> Trace:
    """Step the cell over ``inputs`` (T, I), given in text order, and keep every gate.

    A backward cell (``weights.direction == "backward"``) reads the inputs last first, as one
    direction of a bidirectional ``nn.GRU`` does; the :class:`Trace` is in stepped order. ``h0``
    (H,) defaults to zeros; ``bias_offsets`` as in :func:`step`.
    """
    xs, toks = _stepped(weights, inputs, tokens)
    if len(toks) == 0:
        raise ValueError("nothing to trace: the sequence is empty")
    h = xs.new_zeros(weights.hidden_size) if h0 is None else h0
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in TRACE_ARRAYS}
    for x in xs:
        h_next, g = step(weights, x, h, bias_offsets)
        for k, v in (("x", x), ("h_prev", h), ("h", h_next), *((f, getattr(g, f)) for f in _GATE_FIELDS)):
            rows[k].append(v)
        h = h_next
    stacked = {k: torch.stack(v) for k, v in rows.items()}  # each (T, I) or (T, H)
    return Trace(
        tuple(toks),
        weights.direction,
        **{k: _readonly(v) for k, v in stacked.items()},
        terms=_gate_terms(weights, stacked["x"], stacked["h_prev"]),
        offsets=gate_offsets(bias_offsets),
    )


# --------------------------------------------------------------------------------------------------
# The shipped HAN
# --------------------------------------------------------------------------------------------------


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode inside, the caller's mode restored after."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def sentence_vectors(bundle: ModelBundle, ids: Sequence[Sequence[int]]) -> torch.Tensor:
    """The sentence vectors the HAN's word level makes, (S, 2 Hw), for one document's word ids.

    Runs the model's own embedding, word GRU (packed, as in training) and word attention, in
    length-sorted chunks so memory stays linear in the text (:mod:`engine.inference`). Call it in
    eval mode under no_grad (as :func:`trace_text` does), so that no dropout applies.
    """
    if not ids:
        raise ValueError("every sentence needs at least one word")
    return encode_sentences(bundle.model, [list(s) for s in ids], keep_attention=False)[0]


@dataclass(frozen=True, eq=False)
class Prepared:
    """One (model, text, encoder, direction, sentence) made ready to trace, from one tokenization.

    ``weights``: the encoder's GRU, one direction of layer 0. ``inputs``: (T, I) tensor in text order
    (a backward cell reads it last first). ``tokens``, ``keys`` (the vocabulary key, ``"<unk>"`` for
    an unknown word; ``""`` for a sentence), ``known`` (T,) bool and ``attention`` (T,) float64 are in
    text order: the items' HAN attention, words within sentence ``sentence`` for the word encoder,
    sentences within the text for the sentence encoder (the weights :func:`engine.analyze.analyze`
    reports). ``base`` is the trained cell's :class:`Trace` (stepped order).
    """

    text: str
    encoder: str
    direction: str
    sentence: int
    n_sentences: int
    weights: GRUWeights
    inputs: torch.Tensor
    tokens: tuple[str, ...]
    keys: tuple[str, ...]
    known: np.ndarray
    attention: np.ndarray
    base: Trace


def prepare(
    bundle: ModelBundle,
    text: str,
    encoder: str = "word",
    direction: str = "forward",
    sentence: int = 0,
    *,
    clamp_sentence: bool = False,
) -> Prepared:
    """Tokenize ``text`` once and get everything a GRU view needs: weights, inputs, tokens, attention,
    the base trace (see :class:`Prepared`).

    ``encoder="word"``: the word GRU over the embeddings of sentence ``sentence`` (0-based); the
    tokens are its words as written. ``encoder="sentence"``: the sentence GRU over the vectors the
    word level makes for every sentence; the tokens are the sentences' texts. ``clamp_sentence``
    moves an out-of-range ``sentence`` to the nearest one instead of raising (a view whose text just
    got shorter). Raises ValueError (``engine.analyze.InputError`` for empty text) on bad arguments.
    """
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be 'word' or 'sentence', not {encoder!r}")
    check_direction(direction)
    doc = read_document(text)
    ids = encode_document(bundle, doc)  # S lists of word ids
    n = len(doc.sentences)
    index = sentence_index(sentence, n, clamp_sentence or encoder == "sentence")
    model = bundle.model
    weights = GRUWeights.from_gru(model.word_gru if encoder == "word" else model.sentence_gru, 0, direction)
    with torch.inference_mode(), _eval_mode(model):
        vecs, word_att = encode_sentences(model, ids)  # (S, 2Hw), S x (W_i,)
        scores = score_vectors(model, vecs, word_att, [[len(s) for s in ids]])[0]
        if encoder == "sentence":
            inputs, attention = vecs, scores.sentence_attention  # (S, 2Hw), (S,)
        else:
            device = next(model.parameters()).device
            inputs = model.embedding(torch.tensor(ids[index], device=device))  # (W, E)
            attention = word_att[index]  # (W,)
    inputs = inputs.clone()  # a normal tensor: what-if runs and autograd may use it
    if encoder == "sentence":
        tokens = tuple(text[s.start : s.end] for s in doc.sentences)
        keys, known = ("",) * n, np.ones(n, dtype=bool)
    else:
        words = doc.sentences[index].tokens
        tokens = tuple(t.text for t in words)
        known = np.array([i != UNK_ID for i in ids[index]], dtype=bool)
        keys = tuple(normalize(t.text) if k else "<unk>" for t, k in zip(words, known, strict=True))
    base = trace(weights, inputs, tokens)
    return Prepared(
        text,
        encoder,
        direction,
        index,
        n,
        weights,
        inputs,
        tokens,
        keys,
        known,
        attention.double().cpu().numpy(),
        base,
    )


def retrace(prepared: Prepared, bias_offsets: Mapping[str, float] | None = None) -> Trace:
    """The prepared cell traced again with ``bias_offsets`` (as in :func:`step`); the base trace when
    every offset is 0."""
    offsets = gate_offsets(bias_offsets)
    if not any(offsets.values()):
        return prepared.base
    return trace(prepared.weights, prepared.inputs, prepared.tokens, bias_offsets=offsets)


def prepared_flow(prepared: Prepared, bias_offsets: Mapping[str, float] | None = None) -> GradientFlow:
    """:func:`gradient_flow` of the prepared cell, with ``bias_offsets`` folded into the input biases.

    Adding an offset to ``b_i*`` is exactly adding it to the gate's pre-activation, as :func:`step`
    does with ``bias_offsets``.
    """
    off, w = gate_offsets(bias_offsets), prepared.weights
    if any(off.values()):
        w = replace(w, b_ir=w.b_ir + off["r"], b_iz=w.b_iz + off["z"], b_in=w.b_in + off["n"])
    return gradient_flow(w, prepared.inputs)


def trace_text(
    bundle: ModelBundle, text: str, encoder: str = "word", direction: str = "forward", sentence: int = 0
) -> Trace:
    """Trace the shipped HAN's word or sentence GRU on ``text``: :func:`prepare`'s base trace.

    ``sentence`` must be in range for the word encoder (the sentence encoder reads every sentence).
    Raises ValueError (``engine.analyze.InputError`` for empty text) on bad arguments.
    """
    return prepare(bundle, text, encoder, direction, sentence).base


# --------------------------------------------------------------------------------------------------
# Gradient flow
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GradientFlow:
    """How strongly the final state depends on each earlier state, GRU against a plain RNN.

    gru, rnn: (T,) float64. Entry t is ``‖∂h_{T-1} / ∂h_t‖_F``, the Frobenius norm of the (H, H)
    Jacobian of the last state with respect to the state after step t (0-based, stepped order),
    with the inputs and all weights held fixed and h0 = 0. The last entry is ``‖I‖_F = √H``.
    ``gru`` is for the given GRU, ``rnn`` for a plain tanh RNN of the same sizes run on the same
    inputs. A curve that falls fast towards t = 0 is a vanishing gradient.
    """

    gru: np.ndarray
    rnn: np.ndarray


def _jacobian_norms(states: list[torch.Tensor]) -> np.ndarray:
    """‖∂states[-1] / ∂states[t]‖_F for every t, by backpropagating each unit of the last state."""
    last = states[-1]
    squares = [torch.zeros((), dtype=last.dtype, device=last.device) for _ in states]
    for unit in range(last.shape[0]):
        grads = torch.autograd.grad(last[unit], states, retain_graph=True, allow_unused=True)
        for t, g in enumerate(grads):  # g = row `unit` of ∂h_last/∂h_t
            if g is not None:
                squares[t] = squares[t] + (g * g).sum()
    return torch.stack(squares).sqrt().cpu().numpy().astype(np.float64)


def _unrolled(cell: Any, inputs: torch.Tensor, hidden_size: int) -> list[torch.Tensor]:
    """States after each step, each a node of one autograd graph rooted at h0 = 0."""
    h = inputs.new_zeros(hidden_size).requires_grad_()
    states = []
    for x in inputs:
        h = cell(x, h)
        states.append(h)
    return states


def gradient_flow(
    weights: GRUWeights, inputs: torch.Tensor, rnn: RNNWeights | None = None, seed: int = 0
) -> GradientFlow:
    """Measure ``‖∂h_{T-1}/∂h_t‖_F`` for every step t (see :class:`GradientFlow`) with autograd.

    ``inputs`` (T, I) in text order (a backward cell reads them last first, as :func:`trace` does).
    ``rnn`` defaults to :meth:`RNNWeights.default` with ``seed``, in the GRU's dtype. Works when
    called under ``torch.inference_mode`` or ``no_grad`` too: it copies what it needs.
    """
    xs, _ = _stepped(weights, inputs, [""] * len(inputs))
    if len(xs) == 0:
        raise ValueError("nothing to measure: the sequence is empty")
    with torch.inference_mode(False), torch.enable_grad():
        w = weights.to()  # fresh, normal tensors that autograd may save
        dtype, device = w.W_ir.dtype, w.W_ir.device
        rw = (rnn or RNNWeights.default(w.input_size, w.hidden_size, seed, dtype)).to(dtype, device)
        if tuple(rw.W.shape) != (w.hidden_size, w.input_size):
            raise ValueError(f"the RNN's W is {tuple(rw.W.shape)}, expected {(w.hidden_size, w.input_size)}")
        xs = xs.detach().to(device=device, dtype=dtype, copy=True)
        gru_states = _unrolled(lambda x, h: step(w, x, h)[0], xs, w.hidden_size)
        rnn_states = _unrolled(lambda x, h: _rnn_step(rw, x, h), xs, w.hidden_size)
        return GradientFlow(_jacobian_norms(gru_states), _jacobian_norms(rnn_states))
