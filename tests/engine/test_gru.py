"""Tests for engine.gru: the hand-stepped GRU against torch, gates, what-if offsets, the shipped HAN's
encoders, and the gradient-flow measurement against finite differences.

All comparisons with torch run in float32 at atol 1e-6, rtol 0 (the issue's bar), except the
shipped model's word GRU (1e-5, as asked) and the finite-difference checks (float64).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import resources
from engine.analyze import InputError, encode_document, read_document
from engine.batching import collate
from engine.bundle import ModelBundle
from engine.gru import (
    GRUWeights,
    RNNWeights,
    Trace,
    gradient_flow,
    sentence_vectors,
    step,
    trace,
    trace_text,
)

TEXT = resources.sample_texts()["mixed_feelings"].read_text(encoding="utf-8")
F32 = {"atol": 1e-6, "rtol": 0.0}


def _tensor(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    return a.detach().cpu() if isinstance(a, torch.Tensor) else torch.tensor(a)  # copies: no warning


def _close(actual: np.ndarray | torch.Tensor, expected: np.ndarray | torch.Tensor, **tol: float) -> None:
    """assert_close at the issue's float32 bar (atol 1e-6, rtol 0) unless ``tol`` says otherwise."""
    torch.testing.assert_close(_tensor(actual), _tensor(expected), **(tol or F32))


def _gru(input_size: int = 6, hidden: int = 8, layers: int = 1, seed: int = 0) -> nn.GRU:
    torch.manual_seed(seed)
    return nn.GRU(input_size, hidden, num_layers=layers, bidirectional=True)


def _layer0_copy(gru: nn.GRU) -> nn.GRU:
    """A one-layer bidirectional GRU with ``gru``'s layer-0 weights: nn.GRU hides layer-0 outputs."""
    one = nn.GRU(gru.input_size, gru.hidden_size, bidirectional=True)
    one.load_state_dict({k: v for k, v in gru.state_dict().items() if "_l0" in k})
    return one


def _tokens(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


# --------------------------------------------------------------------------------------------------
# The cell against torch
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("layer", [0, 1])
def test_hidden_states_match_nn_gru(seed: int, direction: str, layer: int) -> None:
    gru = _gru(input_size=6, hidden=8, layers=2, seed=seed)
    x = torch.randn(11, 6)
    with torch.no_grad():
        below, _ = _layer0_copy(gru)(x)  # (T, 2H): layer 0, both directions
        out, h_n = gru(x)  # (T, 2H): layer 1, both directions
    inputs, reference = (x, below) if layer == 0 else (below, out)
    tr = trace(GRUWeights.from_gru(gru, layer, direction), inputs, _tokens(11))
    half = slice(0, 8) if direction == "forward" else slice(8, 16)
    expected = reference[:, half] if direction == "forward" else reference[:, half].flip(0)
    _close(tr.h, expected)
    if layer == 1:
        _close(tr.h[-1], h_n[2 * layer + (direction == "backward")])


def test_step_matches_gru_cell_step_by_step() -> None:
    cell = nn.GRUCell(5, 7)
    w = GRUWeights(
        *cell.weight_ih.detach().chunk(3),
        *cell.weight_hh.detach().chunk(3),
        *cell.bias_ih.detach().chunk(3),
        *cell.bias_hh.detach().chunk(3),
    )
    h_ours = h_torch = torch.randn(7)
    with torch.no_grad():
        for x in torch.randn(9, 5):
            h_ours, _ = step(w, x, h_ours)
            h_torch = cell(x, h_torch)
            _close(h_ours, h_torch)
            h_ours = h_torch  # compare each step from the same state


def test_from_gru_splits_gates_in_pytorch_order() -> None:
    gru = _gru()
    w = GRUWeights.from_gru(gru, 0, "backward")
    r, z, n = gru.weight_hh_l0_reverse.detach().chunk(3)
    _close(w.W_hr, r)
    _close(w.W_hz, z)
    _close(w.W_hn, n)
    _close(w.b_in, gru.bias_ih_l0_reverse.detach()[16:])
    assert (w.direction, w.layer, w.hidden_size, w.input_size) == ("backward", 0, 8, 6)
    with torch.no_grad():
        gru.weight_hh_l0_reverse.zero_()
    assert w.W_hr.abs().sum() > 0  # a copy, not a view of the module's parameters


def test_h0_is_used() -> None:
    gru = _gru()
    x, h0 = torch.randn(4, 6), torch.randn(8)
    with torch.no_grad():
        out, _ = gru(x, torch.stack([h0, torch.zeros(8)]))
    tr = trace(GRUWeights.from_gru(gru), x, _tokens(4), h0=h0)
    _close(tr.h_prev[0], h0)
    _close(tr.h, out[:, :8])


# --------------------------------------------------------------------------------------------------
# Gates and the trace
# --------------------------------------------------------------------------------------------------


def _random_trace(direction: str = "forward", **kw: object) -> Trace:
    gru = _gru(hidden=8)
    return trace(GRUWeights.from_gru(gru, 0, direction), torch.randn(10, 6), _tokens(10), **kw)


def _check_gates(tr: Trace) -> None:
    for gate in (tr.r, tr.z):
        assert ((gate > 0) & (gate < 1)).all()
    assert ((tr.n > -1) & (tr.n < 1)).all()
    sigmoid = lambda a: 1 / (1 + np.exp(-a.astype(np.float64)))  # noqa: E731
    np.testing.assert_allclose(tr.r, sigmoid(tr.r_pre), atol=1e-6, rtol=0)
    np.testing.assert_allclose(tr.z, sigmoid(tr.z_pre), atol=1e-6, rtol=0)
    np.testing.assert_allclose(tr.n, np.tanh(tr.n_pre.astype(np.float64)), atol=1e-6, rtol=0)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_gates_in_range_and_h_from_trace_alone(direction: str) -> None:
    tr = _random_trace(direction)
    _check_gates(tr)
    _close(tr.h, tr.z * tr.h_prev + (1 - tr.z) * tr.n)
    _close(tr.h_prev[1:], tr.h[:-1], atol=0.0, rtol=0.0)
    assert (tr.h_prev[0] == 0).all()
    assert tr.tokens == tuple(_tokens(10)[:: 1 if direction == "forward" else -1])
    shapes = {k: getattr(tr, k).shape for k in ("x", "h_prev", "h", "r", "z", "n", "r_pre", "z_pre", "n_pre")}
    assert shapes == {"x": (10, 6), **{k: (10, 8) for k in shapes if k != "x"}}


def test_step_gates_are_consistent() -> None:
    w = GRUWeights.from_gru(_gru())
    x, h_prev = torch.randn(6), torch.randn(8)
    with torch.no_grad():
        h, g = step(w, x, h_prev)
    _close(g.n_pre, w.W_in @ x + w.b_in + g.r * g.hn)
    _close(g.hn, w.W_hn @ h_prev + w.b_hn)
    _close(g.z_pre, w.W_iz @ x + w.b_iz + w.W_hz @ h_prev + w.b_hz)
    _close(h, g.z * h_prev + (1 - g.z) * g.n)


def test_to_dict_lets_h_be_checked_from_the_output_alone() -> None:
    tr = _random_trace("backward")
    d = tr.to_dict()
    assert set(d) == {"direction", "tokens", "steps"}
    assert d["direction"] == "backward" and d["tokens"] == list(tr.tokens)
    assert len(d["steps"]) == len(tr)
    for s, token in zip(d["steps"], d["tokens"], strict=True):
        assert set(s) == {"token", "z", "r", "n", "h", "h_prev"} and s["token"] == token
        assert all(isinstance(v, float) for v in s["h"])
        z, hp, n = (np.array(s[k]) for k in ("z", "h_prev", "n"))
        np.testing.assert_allclose(s["h"], z * hp + (1 - z) * n, atol=1e-6, rtol=0)


def test_trace_is_read_only() -> None:
    tr = _random_trace()
    with pytest.raises(ValueError, match="read-only"):
        tr.h[0, 0] = 1.0
    with pytest.raises(AttributeError):
        tr.tokens = ()  # type: ignore[misc]


def test_large_positive_z_offset_keeps_the_state() -> None:
    h0 = torch.randn(8)
    base = _random_trace(h0=h0)
    held = _random_trace(h0=h0, bias_offsets={"z": 50.0})
    _close(held.z_pre[0], base.z_pre[0] + 50.0, atol=1e-5, rtol=0.0)  # same h_prev at step 0 only
    _close(held.h, held.h_prev)
    _close(held.h[-1], h0)
    assert np.abs(base.h[-1] - h0.numpy()).max() > 0.1  # the trained cell does move


def test_other_offsets_shift_their_pre_activation() -> None:
    base = _random_trace()
    shifted = _random_trace(bias_offsets={"r": -3.0})
    _close(shifted.r_pre[0], base.r_pre[0] - 3.0, atol=1e-5, rtol=0.0)
    assert (shifted.r < base.r).all()


# --------------------------------------------------------------------------------------------------
# The shipped HAN
# --------------------------------------------------------------------------------------------------


def _embedded_sentence(bundle: ModelBundle, index: int) -> torch.Tensor:
    ids = encode_document(bundle, read_document(TEXT))
    with torch.no_grad():
        return bundle.model.embedding(torch.tensor(ids[index]))


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_word_trace_matches_the_models_word_gru(shipped: ModelBundle, direction: str) -> None:
    emb = _embedded_sentence(shipped, 1)
    H = shipped.config.word_hidden
    with torch.no_grad():
        out, _ = shipped.model.word_gru(emb[None])  # (1, W, 2H)
    tr = trace_text(shipped, TEXT, "word", direction, sentence=1)
    words = [t.text for t in read_document(TEXT).sentences[1].tokens]
    tol = {"atol": 1e-5, "rtol": 0.0}
    if direction == "forward":
        assert tr.tokens == tuple(words)
        _close(tr.h[-1], out[0, -1, :H], **tol)
        _close(tr.h, out[0, :, :H], **tol)
    else:
        assert tr.tokens == tuple(reversed(words))
        _close(tr.h[-1], out[0, 0, H:], **tol)
        _close(tr.h, out[0, :, H:].flip(0), **tol)
    _close(tr.x, emb if direction == "forward" else emb.flip(0), atol=0.0, rtol=0.0)
    _check_gates(tr)


def test_sentence_vectors_are_the_models_own(shipped: ModelBundle) -> None:
    ids = encode_document(shipped, read_document(TEXT))
    seen: list[torch.Tensor] = []
    hook = shipped.model.word_attention.register_forward_hook(lambda m, i, o: seen.append(o[0]))
    try:
        with torch.no_grad():
            shipped.model(collate([ids])[0])
    finally:
        hook.remove()
    with torch.no_grad():
        mine = sentence_vectors(shipped, ids)
    assert mine.shape == (len(ids), 2 * shipped.config.word_hidden)
    _close(mine, seen[0], atol=1e-5, rtol=0.0)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_sentence_trace_matches_the_models_sentence_gru(shipped: ModelBundle, direction: str) -> None:
    doc = read_document(TEXT)
    with torch.no_grad():
        vecs = sentence_vectors(shipped, encode_document(shipped, doc))
        out, _ = shipped.model.sentence_gru(vecs[None])
    tr = trace_text(shipped, TEXT, "sentence", direction)
    H = shipped.config.sentence_hidden
    texts = [TEXT[s.start : s.end] for s in doc.sentences]
    assert len(tr) == len(doc.sentences) > 1
    expected = out[0, :, :H] if direction == "forward" else out[0, :, H:].flip(0)
    _close(tr.h, expected, atol=1e-5, rtol=0.0)
    assert tr.tokens == tuple(texts if direction == "forward" else reversed(texts))
    assert tr.to_dict()["direction"] == direction
    _check_gates(tr)


def test_trace_text_keeps_the_models_mode(shipped: ModelBundle) -> None:
    expected = trace_text(shipped, TEXT, "sentence")
    shipped.model.train()
    try:
        got = trace_text(shipped, TEXT, "sentence")
        assert shipped.model.training
    finally:
        shipped.model.eval()
    _close(got.h, expected.h, atol=0.0, rtol=0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"encoder": "char"}, "encoder"),
        ({"direction": "sideways"}, "direction"),
        ({"sentence": 99}, "no sentence 100"),
        ({"sentence": -1}, "no sentence 0"),
    ],
)
def test_trace_text_bad_arguments(shipped: ModelBundle, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trace_text(shipped, TEXT, **kwargs)


def test_trace_text_empty_text(shipped: ModelBundle) -> None:
    with pytest.raises(InputError):
        trace_text(shipped, " \n ")


# --------------------------------------------------------------------------------------------------
# Bad weights and inputs
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "direction", "match"),
    [
        (2, "forward", "layer"),
        (-1, "forward", "layer"),
        (True, "forward", "layer"),
        (0, "up", "direction"),
    ],
)
def test_from_gru_rejects_bad_layer_or_direction(layer: int, direction: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GRUWeights.from_gru(_gru(layers=2), layer, direction)


def test_from_gru_backward_needs_a_bidirectional_gru() -> None:
    with pytest.raises(ValueError, match="bidirectional"):
        GRUWeights.from_gru(nn.GRU(3, 4), 0, "backward")


def test_bad_inputs_and_offsets() -> None:
    w = GRUWeights.from_gru(_gru())
    with pytest.raises(ValueError, match="inputs must be"):
        trace(w, torch.randn(3, 5), _tokens(3))
    with pytest.raises(ValueError, match="tokens"):
        trace(w, torch.randn(3, 6), _tokens(2))
    with pytest.raises(ValueError, match="bias_offsets"):
        trace(w, torch.randn(3, 6), _tokens(3), bias_offsets={"q": 1.0})
    with pytest.raises(ValueError, match="empty"):
        trace(w, torch.randn(0, 6), [])


# --------------------------------------------------------------------------------------------------
# Gradient flow
# --------------------------------------------------------------------------------------------------


def _finite_difference_norms(cell: object, xs: torch.Tensor, hidden: int, eps: float = 1e-6) -> np.ndarray:
    """‖∂h_{T-1}/∂h_t‖_F by central differences: perturb the state after step t, re-run the rest."""
    states, h = [], torch.zeros(hidden, dtype=torch.float64)
    for x in xs:
        h = cell(x, h)  # type: ignore[operator]
        states.append(h)
    norms = []
    for t in range(len(xs)):
        cols = []
        for j in range(hidden):
            ends = []
            for sign in (1.0, -1.0):
                h = states[t] + sign * eps * torch.eye(hidden, dtype=torch.float64)[j]
                for x in xs[t + 1 :]:
                    h = cell(x, h)  # type: ignore[operator]
                ends.append(h)
            cols.append((ends[0] - ends[1]) / (2 * eps))
        norms.append(torch.linalg.matrix_norm(torch.stack(cols, 1)).item())
    return np.array(norms)


def test_gradient_flow_against_finite_differences() -> None:
    torch.manual_seed(3)
    w = GRUWeights.from_gru(nn.GRU(2, 3).double())
    rnn = RNNWeights.default(2, 3, seed=5, dtype=torch.float64)
    xs = torch.randn(5, 2, dtype=torch.float64)
    flow = gradient_flow(w, xs, rnn=rnn)
    with torch.no_grad():
        gru_fd = _finite_difference_norms(lambda x, h: step(w, x, h)[0], xs, 3)
        rnn_fd = _finite_difference_norms(lambda x, h: torch.tanh(rnn.W @ x + rnn.U @ h + rnn.b), xs, 3)
    assert flow.gru.shape == flow.rnn.shape == (5,)
    assert flow.gru.dtype == flow.rnn.dtype == np.float64
    np.testing.assert_allclose(flow.gru, gru_fd, rtol=1e-4, atol=0)
    np.testing.assert_allclose(flow.rnn, rnn_fd, rtol=1e-4, atol=0)
    assert flow.gru[-1] == pytest.approx(np.sqrt(3)) and flow.rnn[-1] == pytest.approx(np.sqrt(3))


def test_gradient_flow_backward_cell_reads_last_first() -> None:
    torch.manual_seed(4)
    gru = nn.GRU(2, 3, bidirectional=True).double()
    xs = torch.randn(4, 2, dtype=torch.float64)
    w = GRUWeights.from_gru(gru, 0, "backward")
    back = gradient_flow(w, xs)
    fwd_on_reversed = gradient_flow(dataclasses.replace(w, direction="forward"), xs.flip(0))
    np.testing.assert_allclose(back.gru, fwd_on_reversed.gru, rtol=1e-12, atol=0)
    np.testing.assert_allclose(back.rnn, fwd_on_reversed.rnn, rtol=1e-12, atol=0)


def test_gradient_flow_on_the_shipped_word_gru(shipped: ModelBundle) -> None:
    emb = _embedded_sentence(shipped, 0)
    flow = gradient_flow(GRUWeights.from_gru(shipped.model.word_gru), emb)
    assert flow.gru.shape == flow.rnn.shape == (len(emb),)
    assert np.isfinite(flow.gru).all() and np.isfinite(flow.rnn).all()
    H = shipped.config.word_hidden
    assert flow.gru[-1] == pytest.approx(np.sqrt(H), rel=1e-6)
    assert shipped.model.word_gru.weight_hh_l0.grad is None  # the model is not touched


def test_default_rnn_is_seeded_and_leaves_the_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a, b = RNNWeights.default(4, 5, seed=1), RNNWeights.default(4, 5, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.U, b.U) and not torch.equal(a.U, RNNWeights.default(4, 5, seed=2).U)
    assert a.W.shape == (5, 4) and a.b.shape == (5,)
    assert float(a.U.abs().max()) <= 1 / np.sqrt(5)


def test_gradient_flow_under_inference_mode_and_bad_rnn() -> None:
    gru, xs = nn.GRU(3, 4), torch.randn(5, 3)
    expected = gradient_flow(GRUWeights.from_gru(gru), xs)
    with torch.inference_mode():
        got = gradient_flow(GRUWeights.from_gru(gru), xs.clone())
    np.testing.assert_array_equal(got.gru, expected.gru)
    np.testing.assert_array_equal(got.rnn, expected.rnn)
    with pytest.raises(ValueError, match="RNN"):
        gradient_flow(GRUWeights.from_gru(gru), xs, rnn=RNNWeights.default(2, 4))
