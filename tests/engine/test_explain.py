"""Signed attributions (IG, leave-one-out), counterfactual edits and agreement with attention.

Realistic checks run on the shipped model with short reviews; the invariants that need a model we
can shape (a word whose embedding is the padding embedding) use a tiny random HAN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch

from engine._ig import DocumentForward
from engine.analyze import InputError, analyze, encode_document, read_document
from engine.bundle import ModelBundle
from engine.explain import (
    AGREEMENT_MEANINGS,
    METHOD_TITLES,
    METHODS,
    Agreement,
    Attribution,
    agreement,
    analyze_edited,
    explain,
    explain_steps,
    spearman,
    topk_overlap,
)
from engine.model import HAN, HANConfig
from engine.vocab import PAD_ID, Vocab

TRICKY = (
    "I didn't expect much. The movie is not bad at all, and it was never boring! "
    "The acting isn't great though."
)
ONE_SENTENCE = "The plot was dull but the actors were wonderful"


def _padding_hook(model: HAN):
    """A forward hook that replaces every embedding by the padding embedding."""
    pad = model.embedding.weight[PAD_ID].detach()
    return model.embedding.register_forward_hook(lambda m, i, out: pad.expand_as(out).clone())


def _empty_reference(bundle: ModelBundle, text: str) -> torch.Tensor:
    """The model's output on the all-padding document of ``text``'s shape, through ``HAN.forward``.

    Independent of the explainer's forward: the padded ``(1, S, W)`` batch of the real ids (so the
    masks see the real words) with every embedding swapped for the padding embedding.
    """
    ids = encode_document(bundle, read_document(text))
    width = max(map(len, ids))
    batch = torch.tensor([[s + [PAD_ID] * (width - len(s)) for s in ids]])  # (1, S, W)
    handle = _padding_hook(bundle.model)
    try:
        with torch.no_grad():
            return torch.softmax(bundle.model(batch).logits[0].double(), -1)
    finally:
        handle.remove()


def _probs(bundle: ModelBundle, analysis) -> np.ndarray:
    return np.array([analysis.probabilities[k] for k in bundle.label_names])


# --------------------------------------------------------------------------------------------------
# API shape and spans
# --------------------------------------------------------------------------------------------------


def test_methods_have_titles_and_meanings_are_sentences() -> None:
    assert set(METHODS) == set(METHOD_TITLES)
    assert set(AGREEMENT_MEANINGS) == {"spearman_words", "spearman_sentences", "topk_words"}
    for meaning in AGREEMENT_MEANINGS.values():
        assert meaning.endswith(".") and meaning.count(". ") == 0


@pytest.mark.parametrize("method", METHODS)
def test_scores_cover_every_class_sentence_and_word(shipped: ModelBundle, method: str) -> None:
    a = analyze(shipped, TRICKY)
    r = explain(shipped, TRICKY, method, steps=8)
    assert r.method == method and r.labels == shipped.label_names
    assert len(r.words) == len(r.sentences) == len(shipped.label_names)
    for cls_words, cls_sentences in zip(r.words, r.sentences, strict=True):
        assert [len(w) for w in cls_words] == [len(s.words) for s in a.sentences]
        assert len(cls_sentences) == len(a.sentences)
    assert all(math.isfinite(x) for c in r.words for s in c for x in s)
    d = r.to_dict(a, "pos")
    assert d["method"] == method and d["target"] == "pos"
    for s, ds in zip(a.sentences, d["sentences"], strict=True):
        assert (ds["start"], ds["end"], ds["text"]) == (s.start, s.end, s.text)
        assert TRICKY[ds["start"] : ds["end"]] == ds["text"]
        for w, dw in zip(s.words, ds["words"], strict=True):
            assert (dw["start"], dw["end"], dw["text"]) == (w.start, w.end, w.text)
            assert TRICKY[dw["start"] : dw["end"]] == dw["text"]
    words, sentences = r.for_label("pos")
    assert d["sentences"][1]["words"][4]["score"] == words[1][4]
    assert d["sentences"][2]["score"] == sentences[2]
    with pytest.raises(ValueError, match="unknown label 'maybe'"):
        r.for_label("maybe")


def test_ig_sentence_score_is_the_sum_of_its_words(shipped: ModelBundle) -> None:
    r = explain(shipped, TRICKY, "ig", steps=8)
    for cls_words, cls_sentences in zip(r.words, r.sentences, strict=True):
        for w, s in zip(cls_words, cls_sentences, strict=True):
            assert s == pytest.approx(sum(w), abs=1e-12)


def test_bad_arguments_are_one_line_errors(shipped: ModelBundle) -> None:
    with pytest.raises(InputError, match="empty"):
        explain(shipped, "   ", "ig")
    with pytest.raises(ValueError, match="unknown method 'lime'"):
        explain(shipped, TRICKY, "lime")
    with pytest.raises(ValueError, match="steps"):
        explain(shipped, TRICKY, "ig", steps=0)


# --------------------------------------------------------------------------------------------------
# Integrated gradients
# --------------------------------------------------------------------------------------------------


def test_forward_matches_the_inference_path(shipped: ModelBundle) -> None:
    """The explainer's unpacked forward gives the probabilities ``analyze`` gives."""
    ids = encode_document(shipped, read_document(TRICKY))
    f = DocumentForward(shipped.model, [len(s) for s in ids])
    with torch.no_grad():
        p = f(torch.tensor([[w for s in ids for w in s]] * 3))  # (3, C): three identical rows
    expected = torch.tensor(_probs(shipped, analyze(shipped, TRICKY)), dtype=torch.float32)
    for row in p:
        torch.testing.assert_close(row, expected, rtol=0, atol=1e-6)


def test_completeness_gap_is_what_it_says_and_shrinks_with_steps(shipped: ModelBundle) -> None:
    """gap = |sum of scores - (f(x) - f(baseline))|, f = probability; f(baseline) from HAN.forward."""
    p_x = _probs(shipped, analyze(shipped, TRICKY))
    p_base = _empty_reference(shipped, TRICKY).numpy()
    gaps = {}
    for steps in (1, 4, 50):
        r = explain(shipped, TRICKY, "ig", steps=steps)
        assert r.steps == steps and r.completeness_gap is not None
        for c, label in enumerate(shipped.label_names):
            total = math.fsum(r.for_label(label)[1])
            assert r.completeness_gap[c] == pytest.approx(abs(total - (p_x[c] - p_base[c])), abs=2e-6)
        gaps[steps] = max(r.completeness_gap)
    assert gaps[50] < 1e-4  # tolerance: Gauss-Legendre with 50 nodes on a smooth path
    assert gaps[50] < gaps[4] < gaps[1]


def test_ig_batching_invariant(shipped: ModelBundle) -> None:
    a = explain(shipped, TRICKY, "ig", steps=12, internal_batch_size=12)
    b = explain(shipped, TRICKY, "ig", steps=12, internal_batch_size=5)
    c = explain(shipped, TRICKY, "ig", steps=12, internal_batch_size=1)
    for other in (b, c):
        np.testing.assert_allclose(np.concatenate(other.words[1]), np.concatenate(a.words[1]), atol=1e-5)
        np.testing.assert_allclose(other.sentences, a.sentences, atol=1e-5)


def test_ig_is_deterministic(shipped: ModelBundle) -> None:
    assert explain(shipped, TRICKY, "ig", steps=6) == explain(shipped, TRICKY, "ig", steps=6)


def test_two_class_scores_are_opposite(shipped: ModelBundle) -> None:
    """p(neg) = 1 - p(pos), so every push towards one class is a push away from the other."""
    for method in METHODS:
        r = explain(shipped, TRICKY, method, steps=8)
        np.testing.assert_allclose(np.concatenate(r.words[0]), -np.concatenate(r.words[1]), atol=1e-6)


def _tiny(classes: int = 3) -> ModelBundle:
    torch.manual_seed(3)
    words = ["<pad>", "<unk>", "good", "bad", "film", "plot", "very", "."]
    config = HANConfig(
        len(words),
        classes,
        embed_dim=8,
        word_hidden=4,
        sentence_hidden=4,
        word_attention_dim=6,
        sentence_attention_dim=6,
        dropout=0.0,
        embed_dropout=0.0,
    )
    model = HAN(config).eval()
    from engine.batching import LengthLimits

    labels = tuple(f"c{k}" for k in range(classes))
    return ModelBundle(model, Vocab(tuple(words)), labels, LengthLimits(50, 20))


def test_last_class_equals_a_direct_captum_run() -> None:
    """With 3 classes Captum runs for two; the third (minus their sum) matches a direct run."""
    from captum.attr import LayerIntegratedGradients

    bundle = _tiny(3)
    text = "very good film. bad plot."
    r = explain(bundle, text, "ig", steps=20)
    ids = encode_document(bundle, read_document(text))
    flat = torch.tensor([[w for s in ids for w in s]])
    f = DocumentForward(bundle.model, [len(s) for s in ids])
    lig = LayerIntegratedGradients(f, f.embedding)
    attr, delta = lig.attribute(
        flat, baselines=torch.full_like(flat, PAD_ID), target=2, n_steps=20, return_convergence_delta=True
    )
    np.testing.assert_allclose(np.concatenate(r.words[2]), attr[0].sum(-1).double().numpy(), atol=1e-6)
    assert r.completeness_gap is not None
    assert r.completeness_gap[2] == pytest.approx(abs(float(delta)), abs=1e-6)


def test_padding_embedding_gets_no_attribution() -> None:
    """A word whose embedding is the padding embedding (the baseline) gets exactly zero from IG."""
    bundle = _tiny(2)
    with torch.no_grad():
        bundle.model.embedding.weight[5] = bundle.model.embedding.weight[PAD_ID]  # "plot" = padding
    r = explain(bundle, "very good plot. bad film.", "ig", steps=10)
    for c in range(2):
        assert r.words[c][0][2] == 0.0
        assert r.words[c][0][1] != 0.0


# --------------------------------------------------------------------------------------------------
# Leave-one-out and counterfactual edits
# --------------------------------------------------------------------------------------------------


def test_occlusion_agrees_with_analyze_edited(shipped: ModelBundle) -> None:
    full = _probs(shipped, analyze(shipped, TRICKY))
    r = explain(shipped, TRICKY, "occlusion")
    assert r.completeness_gap is None and r.steps is None
    for i, j in [(0, 2), (1, 4), (1, 11), (2, 3), (2, 6)]:
        edited = _probs(shipped, analyze_edited(shipped, TRICKY, removed_words=frozenset({(i, j)})))
        for c in range(len(full)):
            assert r.words[c][i][j] == pytest.approx(full[c] - edited[c], abs=1e-6)
    for i in range(3):
        edited = _probs(shipped, analyze_edited(shipped, TRICKY, removed_sentences=frozenset({i})))
        for c in range(len(full)):
            assert r.sentences[c][i] == pytest.approx(full[c] - edited[c], abs=1e-6)


def test_occlusion_of_the_only_sentence_compares_with_the_empty_document(shipped: ModelBundle) -> None:
    """Removing the only sentence leaves the empty document: the model on the all-padding input."""
    full = _probs(shipped, analyze(shipped, ONE_SENTENCE))
    empty = _empty_reference(shipped, ONE_SENTENCE).numpy()
    occ = explain(shipped, ONE_SENTENCE, "occlusion")
    ig = explain(shipped, ONE_SENTENCE, "ig", steps=50)
    for c in range(len(full)):
        assert occ.sentences[c][0] == pytest.approx(full[c] - empty[c], abs=1e-6)
        # IG's scores add up to the same difference (completeness): the two methods meet here
        assert ig.sentences[c][0] == pytest.approx(occ.sentences[c][0], abs=1e-4)


def test_analyze_edited_keeps_text_and_spans(shipped: ModelBundle) -> None:
    original = analyze(shipped, TRICKY)
    same = analyze_edited(shipped, TRICKY)
    np.testing.assert_allclose(_probs(shipped, same), _probs(shipped, original), atol=1e-6)
    edited = analyze_edited(shipped, TRICKY, frozenset({0}), frozenset({(2, 3), (1, 0)}))
    assert edited.text == TRICKY
    for s, t in zip(edited.sentences, original.sentences, strict=True):
        assert (s.text, s.start, s.end) == (t.text, t.start, t.end)
        assert [(w.text, w.start, w.end, w.known) for w in s.words] == [
            (w.text, w.start, w.end, w.known) for w in t.words
        ]
    assert edited.sentences[0].weight == 0.0 and all(w.weight == 0.0 for w in edited.sentences[0].words)
    assert edited.sentences[2].words[3].weight == 0.0 and edited.sentences[1].words[0].weight == 0.0
    assert sum(s.weight for s in edited.sentences) == pytest.approx(1.0, abs=1e-6)
    for s in edited.sentences[1:]:
        assert sum(w.weight for w in s.words) == pytest.approx(1.0, abs=1e-6)
    # the model reads what is left: the same as analysing the shortened text
    shorter = "The acting is great though."
    expected = _probs(shipped, analyze(shipped, shorter))
    kept = analyze_edited(shipped, TRICKY, frozenset({0, 1}), frozenset({(2, 3)}))
    np.testing.assert_allclose(_probs(shipped, kept), expected, atol=1e-6)


def test_analyze_edited_refuses_nothing_left_and_bad_indices(shipped: ModelBundle) -> None:
    with pytest.raises(InputError, match="nothing left"):
        analyze_edited(shipped, TRICKY, removed_sentences=frozenset({0, 1, 2}))
    words = frozenset((0, j) for j in range(9))
    with pytest.raises(InputError, match="nothing left"):
        analyze_edited(shipped, ONE_SENTENCE, removed_words=words)
    with pytest.raises(InputError, match="sentence 5 does not exist"):
        analyze_edited(shipped, TRICKY, removed_sentences=frozenset({5}))
    with pytest.raises(InputError, match=r"word \(0, 40\) does not exist"):
        analyze_edited(shipped, TRICKY, removed_words=frozenset({(0, 40)}))


# --------------------------------------------------------------------------------------------------
# Progress, cancel
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_steps_yield_rising_fractions_and_return_the_same_result(shipped: ModelBundle, method: str) -> None:
    gen = explain_steps(shipped, TRICKY, method, steps=9, internal_batch_size=2)
    seen = []
    try:
        while True:
            seen.append(next(gen))
    except StopIteration as done:
        result = done.value
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 4
    assert result == explain(shipped, TRICKY, method, steps=9, internal_batch_size=2)


def test_predictions_while_ig_is_paused_are_unaffected(shipped: ModelBundle) -> None:
    """The GUI predicts while an attribution runs: IG, paused inside a pass, must not hook the model."""
    expected = analyze(shipped, ONE_SENTENCE).probabilities
    gen = explain_steps(shipped, TRICKY, "ig", steps=20, internal_batch_size=2)
    for _ in range(6):
        next(gen)  # paused inside a forward pass, Captum's hook in place
    got = analyze(shipped, ONE_SENTENCE).probabilities
    gen.close()
    assert got == pytest.approx(expected, abs=1e-9)


def test_closing_ig_midway_stops_its_thread_and_leaves_no_hooks(shipped: ModelBundle) -> None:
    import threading

    gen = explain_steps(shipped, TRICKY, "ig", steps=20, internal_batch_size=2)
    for _ in range(4):
        next(gen)
    gen.close()
    assert not any(t.name == "integrated-gradients" for t in threading.enumerate())
    assert not shipped.model.embedding._forward_hooks
    explain(shipped, TRICKY, "ig", steps=4)  # the model is usable afterwards


# --------------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_spearman_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    a = rng.normal(size=n)
    b = rng.integers(0, 5, size=n).astype(float) if seed % 2 else rng.normal(size=n)  # ties too
    assert spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a, b).statistic, abs=1e-12)


def test_spearman_undefined_cases_are_nan() -> None:
    assert math.isnan(spearman([1.0], [2.0]))
    assert math.isnan(spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(scipy.stats.spearmanr([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]).statistic)


def test_topk_overlap() -> None:
    assert topk_overlap([5, 4, 3, 2, 1], [1, 2, 3, 4, 5], 2) == 0.0
    assert topk_overlap([5, 4, 3, 2, 1], [9, 8, 0, 0, 7], 3) == pytest.approx(2 / 3)
    assert topk_overlap([1, 2], [2, 1], 2) == 1.0


def test_agreement_uses_document_level_attention(shipped: ModelBundle) -> None:
    a = analyze(shipped, TRICKY)
    r = explain(shipped, TRICKY, "occlusion")
    got = agreement(a, r, "pos", k=5)
    words, sentences = r.for_label("pos")
    att = [s.weight * w.weight for s in a.sentences for w in s.words]
    size = np.abs(np.concatenate(words))
    assert got.spearman_words == pytest.approx(scipy.stats.spearmanr(att, size).statistic, abs=1e-12)
    assert got.spearman_sentences == pytest.approx(
        scipy.stats.spearmanr([s.weight for s in a.sentences], np.abs(sentences)).statistic, abs=1e-12
    )
    top_att = set(np.argsort(att)[::-1][:5])
    top_attr = set(np.argsort(size)[::-1][:5])
    assert got.topk_words == len(top_att & top_attr) / 5 and got.k == 5
    assert set(got.to_dict()) == {"spearman_words", "spearman_sentences", "topk_words", "k"}


def test_agreement_on_a_short_review() -> None:
    """Fewer words than k: k shrinks; one sentence: the sentence correlation is undefined (NaN, None)."""
    bundle = _tiny(2)
    text = "good film."
    got = agreement(analyze(bundle, text), explain(bundle, text, "occlusion"), "c1")
    assert got.k == 3 and got.topk_words == 1.0
    assert math.isnan(got.spearman_sentences) and got.to_dict()["spearman_sentences"] is None


def test_attribution_is_frozen_and_agreement_a_value() -> None:
    r = Attribution("ig", ("a", "b"), (((1.0,),), ((-1.0,),)), ((1.0,), (-1.0,)), (0.0, 0.0), 5)
    with pytest.raises(AttributeError):
        r.method = "occlusion"  # type: ignore[misc]
    assert Agreement(0.5, 0.5, 0.4, 5) == Agreement(0.5, 0.5, 0.4, 5)


def test_small_memory_budget_changes_nothing(shipped: ModelBundle) -> None:
    """Memory stays linear by chunking under a budget; a tiny budget (many chunks) gives the same scores."""
    from engine._edits import Edit, score_edits
    from engine._ig import ig_steps
    from engine.steps import run_to_end

    ids = encode_document(shipped, read_document(TRICKY))
    big = run_to_end(ig_steps(shipped.model, ids, steps=4))
    small = run_to_end(ig_steps(shipped.model, ids, steps=4, internal_batch_size=2, budget=20_000))
    for x, y in zip(small, big, strict=True):  # scores, then gaps
        torch.testing.assert_close(x, y, rtol=0, atol=1e-5)
    edits = [Edit(), Edit(removed_words=frozenset({(1, 3)})), Edit(removed_sentences=frozenset({0}))]
    with torch.inference_mode():
        a = run_to_end(score_edits(shipped.model, ids, edits))
        b = run_to_end(score_edits(shipped.model, ids, edits, budget=10_000))
    for x, y in zip(a, b, strict=True):
        assert x is not None and y is not None
        torch.testing.assert_close(x.logits, y.logits, rtol=0, atol=1e-5)


def test_ig_at_the_input_gates_equals_ig_at_the_embeddings(shipped: ModelBundle) -> None:
    """IG is taken at the word GRU's input gates (affine in the embeddings): per word it is the same
    number as Captum's IG at the embedding layer, summed over the embedding (tolerance 1e-6 of a
    probability; float32 sums in a different order)."""
    from captum.attr import LayerIntegratedGradients

    from engine._ig import ig_steps
    from engine.steps import run_to_end

    text = TRICKY + " Not bad. Quite good. Two words here, then a longer sentence that runs on and on."
    ids = encode_document(shipped, read_document(text))
    assert len({len(s) for s in ids}) < len(ids)  # equal lengths: ties in the packing order
    scores, _ = run_to_end(ig_steps(shipped.model, ids, steps=16))
    flat = torch.tensor([[w for s in ids for w in s]])
    f = DocumentForward(shipped.model, [len(s) for s in ids])
    lig = LayerIntegratedGradients(f, f.embedding)
    for c in range(2):
        at_embedding = lig.attribute(flat, baselines=torch.full_like(flat, PAD_ID), target=c, n_steps=16)
        expected = at_embedding[0].sum(-1).double().numpy()
        np.testing.assert_allclose(scores[c].numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("lengths", [[1], [3, 1, 3], [1, 1, 1, 1], [5, 2, 7, 7, 1, 4]])
def test_packed_recurrence_equals_torch_gru_word_states(lengths: list[int]) -> None:
    """The explainer's hand-written bi-GRU step (both directions batched, packed sentences) gives the
    states ``torch.nn.GRU`` gives on each sentence alone (tolerance 1e-6, float32)."""
    bundle = _tiny(2)
    model = bundle.model
    gen = torch.Generator().manual_seed(sum(lengths))
    flat = torch.randint(2, model.config.vocab_size, (1, sum(lengths)), generator=gen)
    f = DocumentForward(model, lengths)
    with torch.no_grad():
        states = f._word_states(f.gates(flat.repeat(3, 1)))  # (T, 3, 2H)
        start = 0
        for n in lengths:
            emb = model.embedding(flat[:, start : start + n])  # (1, n, E)
            expected, _ = model.word_gru(emb)  # (1, n, 2H)
            for row in range(3):
                torch.testing.assert_close(states[start : start + n, row], expected[0], rtol=0, atol=1e-6)
            start += n
