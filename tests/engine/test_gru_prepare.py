"""engine.gru.prepare / retrace / prepared_flow and the gate terms on a Trace.

References: ``torch.nn.GRU`` run on the prepared inputs, :func:`engine.analyze.analyze` for the
attention, a float64 numpy recomputation of every gate term, and an autograd Jacobian of the cell
stepped with ``bias_offsets`` (not folded into the biases) for the what-if gradient flow.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import engine.analysis
import resources
from engine.analyze import InputError, analyze
from engine.bundle import ModelBundle
from engine.gru import GATES, Trace, gradient_flow, prepare, prepared_flow, retrace, step, trace, trace_text
from engine.text import normalize

TEXT = resources.sample_texts()["mixed_feelings"].read_text(encoding="utf-8")
EXACT = {"atol": 0.0, "rtol": 0.0}
MODEL = {"atol": 1e-5, "rtol": 0.0}  # our hand-stepped cell against torch's fused kernel


def _close(actual: object, expected: object, **tol: float) -> None:
    def t(a: object) -> torch.Tensor:
        return a.detach().cpu() if isinstance(a, torch.Tensor) else torch.tensor(np.asarray(a))

    torch.testing.assert_close(t(actual), t(expected), **tol)


def _same_trace(a: Trace, b: Trace) -> None:
    assert a.tokens == b.tokens and a.direction == b.direction
    for k in ("x", "h_prev", "h", "r", "z", "n", "r_pre", "z_pre", "n_pre", "hn"):
        _close(getattr(a, k), getattr(b, k), **EXACT)


@pytest.mark.parametrize("encoder", ["word", "sentence"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_base_trace_equals_trace_text_and_nn_gru(shipped: ModelBundle, encoder: str, direction: str) -> None:
    prep = prepare(shipped, TEXT, encoder, direction, sentence=1)
    _same_trace(prep.base, trace_text(shipped, TEXT, encoder, direction, sentence=1))
    gru = shipped.model.word_gru if encoder == "word" else shipped.model.sentence_gru
    H = gru.hidden_size
    with torch.no_grad():
        out, _ = gru(prep.inputs[None])  # (1, T, 2H)
    expected = out[0, :, :H] if direction == "forward" else out[0, :, H:].flip(0)
    _close(prep.base.h, expected, **MODEL)
    stepped = prep.inputs if direction == "forward" else prep.inputs.flip(0)
    _close(prep.base.x, stepped, **EXACT)
    assert prep.base.tokens == (prep.tokens if direction == "forward" else prep.tokens[::-1])
    assert (prep.encoder, prep.direction, prep.text) == (encoder, direction, TEXT)


def test_word_inputs_are_the_models_embeddings_and_match_analyze(shipped: ModelBundle) -> None:
    analysis = analyze(shipped, TEXT)
    for index, sent in enumerate(analysis.sentences):
        prep = prepare(shipped, TEXT, "word", "forward", sentence=index)
        assert prep.tokens == tuple(w.text for w in sent.words)
        assert prep.keys == tuple(normalize(w.text) if w.known else "<unk>" for w in sent.words)
        np.testing.assert_array_equal(prep.known, [w.known for w in sent.words])
        np.testing.assert_allclose(prep.attention, [w.weight for w in sent.words], rtol=0, atol=1e-7)
        assert prep.attention.sum() == pytest.approx(1.0, abs=1e-6)
        ids = torch.tensor([shipped.vocab.encode([normalize(w.text)])[0] for w in sent.words])
        with torch.no_grad():
            _close(prep.inputs, shipped.model.embedding(ids), **EXACT)
        assert (prep.sentence, prep.n_sentences) == (index, len(analysis.sentences))


def test_sentence_attention_matches_analyze(shipped: ModelBundle) -> None:
    analysis = analyze(shipped, TEXT)
    prep = prepare(shipped, TEXT, "sentence", "backward")
    assert prep.tokens == tuple(s.text for s in analysis.sentences)
    np.testing.assert_allclose(prep.attention, [s.weight for s in analysis.sentences], rtol=0, atol=1e-7)
    assert prep.keys == ("",) * len(analysis.sentences) and prep.known.all()
    assert prep.inputs.shape == (len(analysis.sentences), 2 * shipped.config.word_hidden)


def test_one_tokenization(shipped: ModelBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = engine.analysis.tokenize  # read_document lives in engine.analysis (torch-free)
    monkeypatch.setattr(
        engine.analysis, "tokenize", lambda text, **kw: calls.append(text) or real(text, **kw)
    )
    for encoder in ("word", "sentence"):
        calls.clear()
        prepare(shipped, TEXT, encoder, "forward", sentence=0)
        assert calls == [TEXT]


def _terms_reference(tr: Trace, prep_weights: object, gate: str) -> tuple[np.ndarray, np.ndarray]:
    w = {k: getattr(prep_weights, k).detach().double().numpy() for k in (f"W_i{gate}", f"W_h{gate}")}
    x, h_prev = tr.x.astype(np.float64), tr.h_prev.astype(np.float64)  # (T, I), (T, H)
    return x @ w[f"W_i{gate}"].T, h_prev @ w[f"W_h{gate}"].T


@pytest.mark.parametrize("offsets", [{}, {"r": 0.7, "z": -1.5, "n": 0.25}])
def test_terms_are_the_parts_of_the_pre_activations(shipped: ModelBundle, offsets: dict[str, float]) -> None:
    prep = prepare(shipped, TEXT, "word", "backward", sentence=0)
    tr = retrace(prep, offsets)
    T, H = len(tr), tr.hidden_size
    assert set(tr.terms) == set(GATES)
    assert dict(tr.offsets) == {g: offsets.get(g, 0.0) for g in GATES}
    tol = {"rtol": 0.0, "atol": 5e-6}  # float32 sums of terms up to ~10 in size
    for g in GATES:
        t = tr.terms[g]
        assert t.input.shape == t.hidden.shape == (T, H) and t.b_i.shape == t.b_h.shape == (H,)
        xw, hw = _terms_reference(tr, prep.weights, g)
        np.testing.assert_allclose(t.input, xw, **tol)
        np.testing.assert_allclose(t.hidden, hw, **tol)
        _close(t.b_i, getattr(prep.weights, f"b_i{g}"), **EXACT)
        _close(t.b_h, getattr(prep.weights, f"b_h{g}"), **EXACT)
        assert not t.input.flags.writeable
    terms, off = tr.terms, tr.offsets
    for g in ("r", "z"):
        pre = terms[g].input + terms[g].b_i + terms[g].hidden + terms[g].b_h + off[g]
        np.testing.assert_allclose(pre, getattr(tr, f"{g}_pre"), **tol)
        np.testing.assert_allclose(1 / (1 + np.exp(-pre.astype(np.float64))), getattr(tr, g), **tol)
    hn = terms["n"].hidden + terms["n"].b_h
    np.testing.assert_allclose(hn, tr.hn, **tol)
    n_pre = terms["n"].input + terms["n"].b_i + tr.r * hn + off["n"]
    np.testing.assert_allclose(n_pre, tr.n_pre, **tol)
    np.testing.assert_allclose(np.tanh(n_pre.astype(np.float64)), tr.n, **tol)


def test_retrace(shipped: ModelBundle) -> None:
    prep = prepare(shipped, TEXT, "word", "forward", sentence=2)
    assert retrace(prep) is prep.base and retrace(prep, {"z": 0.0}) is prep.base
    what_if = retrace(prep, {"z": 40.0})
    _same_trace(what_if, trace(prep.weights, prep.inputs, prep.tokens, bias_offsets={"z": 40.0}))
    np.testing.assert_allclose(what_if.h, 0.0, atol=1e-6)  # z ~ 1 keeps h0 = 0
    with pytest.raises(ValueError, match="bias_offsets"):
        retrace(prep, {"q": 1.0})


def _jacobian_norms(weights: object, xs: torch.Tensor, offsets: dict[str, float]) -> np.ndarray:
    """‖∂h_{T-1}/∂h_t‖_F in float64 by autograd through ``step`` with ``bias_offsets`` (not folded)."""
    states, h = [], torch.zeros(weights.hidden_size, dtype=torch.float64)  # type: ignore[attr-defined]
    with torch.no_grad():
        for x in xs:
            h = step(weights, x, h, offsets)[0]  # type: ignore[arg-type]
            states.append(h)

    def rest(t: int) -> object:
        def run(h: torch.Tensor) -> torch.Tensor:
            for x in xs[t + 1 :]:
                h = step(weights, x, h, offsets)[0]  # type: ignore[arg-type]
            return h

        return run

    return np.array(
        [
            torch.linalg.matrix_norm(torch.autograd.functional.jacobian(rest(t), states[t])).item()
            for t in range(len(xs))
        ]
    )


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_prepared_flow_against_an_autograd_jacobian(shipped: ModelBundle, direction: str) -> None:
    prep = prepare(shipped, "It was not bad at all, really.", "word", direction)
    offsets = {"r": -0.5, "z": 1.0, "n": 0.3}
    flow = prepared_flow(prep, offsets)
    w64 = prep.weights.to(torch.float64)
    xs = prep.inputs.double() if direction == "forward" else prep.inputs.double().flip(0)
    np.testing.assert_allclose(flow.gru, _jacobian_norms(w64, xs, offsets), rtol=1e-4, atol=0)
    plain = gradient_flow(prep.weights, prep.inputs)
    np.testing.assert_allclose(flow.rnn, plain.rnn, rtol=0, atol=0)  # offsets touch only the GRU
    np.testing.assert_allclose(prepared_flow(prep).gru, plain.gru, rtol=0, atol=0)
    assert not np.allclose(flow.gru, plain.gru)


def test_sentence_index_checked_or_clamped(shipped: ModelBundle) -> None:
    n = prepare(shipped, TEXT).n_sentences
    with pytest.raises(ValueError, match=f"no sentence {n + 1}"):  # people count from 1
        prepare(shipped, TEXT, "word", "forward", sentence=n)
    assert prepare(shipped, TEXT, "word", "forward", sentence=n + 5, clamp_sentence=True).sentence == n - 1
    assert prepare(shipped, TEXT, "word", "forward", sentence=-3, clamp_sentence=True).sentence == 0
    assert prepare(shipped, TEXT, "sentence", "forward", sentence=n + 5).sentence == n - 1
    with pytest.raises(InputError):
        prepare(shipped, "  ")
    with pytest.raises(ValueError, match="encoder"):
        prepare(shipped, TEXT, "char")


def test_prepared_inputs_are_normal_tensors(shipped: ModelBundle) -> None:
    prep = prepare(shipped, TEXT, "sentence")
    assert not prep.inputs.is_inference() and not prep.weights.W_ir.is_inference()
    assert not shipped.model.training
