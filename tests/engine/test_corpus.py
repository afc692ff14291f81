"""engine.corpus / engine.corpus_metrics: scoring a dataset, partial runs, the cache, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.analyze import analyze
from engine.bundle import ModelBundle
from engine.corpus import CorpusBuilder, CorpusResult, cache_key, load_cached, save_cached, score_corpus
from engine.corpus_metrics import (
    corpus_attention,
    last_sentence_share,
    metrics,
    reliability,
    rows_attending,
    stratified_sample,
)
from engine.data import Dataset, load_dataset
from engine.evaluate import evaluate
from engine.steps import run_to_end
from engine.text import normalize
from tests.toy_data import toy_rows

TEXTS = [
    ("An absolute masterpiece. Brilliant acting and a moving, beautiful story.", "pos"),
    ("Terrible. The worst movie I have ever seen: boring, stupid and ugly.", "neg"),
    ("I loved every minute of it. What a wonderful film!", "pos"),
    ("Dull, predictable and far too long. A complete waste of time.", "neg"),
    ("Great cast, great music, great fun. Highly recommended.", "neg"),  # mislabelled on purpose
    ("<br /><br />", "pos"),  # no words: counted wrong, like engine.evaluate does
]


def _dataset(
    tmp_path: Path, bundle: ModelBundle, rows: list[tuple[str, str]], name: str = "d.jsonl"
) -> Dataset:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return load_dataset(path, label_names=bundle.label_names)


def _toy(tmp_path: Path, bundle: ModelBundle, n: int = 40, seed: int = 0) -> Dataset:
    return _dataset(
        tmp_path, bundle, [(r["text"], r["label"]) for r in toy_rows(n, seed)], f"toy{n}-{seed}.jsonl"
    )


def test_records_match_analyze_review_by_review(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _dataset(tmp_path, shipped, TEXTS)
    result = run_to_end(score_corpus(shipped, ds, batch_size=2, block=3))
    assert result.complete and len(result) == len(TEXTS) == result.total
    assert result.row.tolist() == list(range(len(TEXTS)))
    for i, (text, label) in enumerate(TEXTS):
        assert result.label_names[result.truth[i]] == label
        if text.startswith("<br"):
            assert result.pred[i] == -1 and not result.correct[i] and result.words[i] == 0
            continue
        a = analyze(shipped, text)  # the reference: one review at a time, the attention use case
        assert result.label_names[result.pred[i]] == a.label
        np.testing.assert_allclose(
            result.probs[i], [a.probabilities[n] for n in result.label_names], atol=1e-5
        )
        assert result.words[i] == a.n_words and result.sentences[i] == len(a.sentences)
        assert result.last_share[i] == pytest.approx(a.sentences[-1].weight, abs=1e-5)
        mass: dict[str, float] = {}
        for s in a.sentences:
            for w in s.words:
                mass[normalize(w.text)] = mass.get(normalize(w.text), 0.0) + s.weight * w.weight
        expected = sorted(mass.items(), key=lambda kv: -kv[1])[: result.top_words.shape[1]]
        got = result.review_top_words(i)
        assert [w for w, _ in got][:3] == [w for w, _ in expected][:3]  # the leaders (no ties there)
        np.testing.assert_allclose([x for _, x in got], [x for _, x in expected], atol=1e-5)
        assert result.confidence[i] == pytest.approx(max(a.probabilities.values()), abs=1e-5)


def test_metrics_equal_engine_evaluate(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _dataset(tmp_path, shipped, TEXTS)
    result = run_to_end(score_corpus(shipped, ds))
    report = evaluate(shipped, ds)  # the existing, independent implementation
    got = metrics(result).to_dict()
    assert got["confusion"] == report["confusion"]
    assert got["accuracy"] == pytest.approx(report["accuracy"])
    for name, pc in report["per_class"].items():
        assert got["per_class"][name] == pytest.approx(pc)  # type: ignore[index]


def test_progress_counts_and_cancel_leaves_consistent_partial(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 40)
    gen = score_corpus(shipped, ds, batch_size=4, block=16)
    builder = CorpusBuilder(shipped.label_names, _truth(shipped, ds).tolist())
    seen: list[int] = []
    for _ in range(3):
        p = next(gen)
        builder.add(p.rows, p.seconds)
        seen.extend(p.rows.row.tolist())
        assert p.done == len(seen) and p.total == 40 and p.rate > 0
    gen.close()  # the worker was cancelled between batches
    partial = builder.result()
    assert not partial.complete and len(partial) == 12 == partial.total - 28
    assert partial.row.tolist() == sorted(seen)
    full = run_to_end(score_corpus(shipped, ds, batch_size=4, block=16))
    rows = partial.row
    np.testing.assert_array_equal(partial.pred, full.pred[rows])
    np.testing.assert_allclose(partial.probs, full.probs[rows], atol=1e-6)
    top, ref = partial.review_top_words(0), full.review_top_words(int(rows[0]))
    assert [w for w, _ in top] == [w for w, _ in ref]
    np.testing.assert_allclose([x for _, x in top], [x for _, x in ref], atol=1e-6)
    assert save_cached(tmp_path / "cache", partial) is None  # never cached as complete
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
    assert set(np.unique(partial.truth)) <= {0, 1}


def test_the_builder_gives_the_rows_asked_for_at_their_cost(tmp_path: Path, shipped: ModelBundle) -> None:
    """``result(rows)``: only those reviews, the same values as the whole result's; ``done`` counts
    each review once; the word list is one tuple until a word is added."""
    ds = _toy(tmp_path, shipped, 40)
    builder = CorpusBuilder(shipped.label_names, _truth(shipped, ds).tolist())
    arrived: list[np.ndarray] = []
    for p in score_corpus(shipped, ds, batch_size=4, block=16):
        builder.add(p.rows, p.seconds)
        builder.add(p.rows, p.seconds)  # the same rows again are no new review
        arrived.append(p.rows.row)
        assert builder.done == sum(len(a) for a in arrived) == p.done
        whole = builder.result()
        part = builder.result(np.sort(p.rows.row))
        assert not part.complete and part.total == 40 and part.word_list is whole.word_list
        at = np.searchsorted(whole.row, part.row)
        np.testing.assert_array_equal(whole.row[at], part.row)
        names = ("truth", "pred", "probs", "words", "sentences", "last_share", "top_words", "top_weights")
        for name in names:
            np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[at])
        assert part.review_top_words(0) == whole.review_top_words(int(at[0]))
    assert whole.complete and builder.result().word_list is whole.word_list
    assert builder.result(np.arange(40)).complete


def _truth(bundle: ModelBundle, ds: Dataset) -> np.ndarray:
    from engine.corpus import model_truth

    return model_truth(bundle, ds)


def test_partial_run_is_a_spread_not_the_first_rows(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 40)
    gen = score_corpus(shipped, ds, batch_size=5, block=10)
    p = next(gen)
    gen.close()
    assert p.rows.row.tolist() != list(range(5))  # a shuffled block: a sorted file gives both classes


def test_cache_round_trip_and_invalidation(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _toy(tmp_path, shipped, 12)
    result = run_to_end(score_corpus(shipped, ds))
    cache = tmp_path / "cache"
    path = save_cached(cache, result)
    assert path is not None and path.suffix == ".npz"
    back = load_cached(cache, cache_key(shipped, ds))
    assert back is not None and back.cached and back.complete
    for name in (
        "row",
        "truth",
        "pred",
        "probs",
        "words",
        "sentences",
        "last_share",
        "top_words",
        "top_weights",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    assert back.word_list == result.word_list and back.label_names == result.label_names

    changed_data = _toy(tmp_path, shipped, 12, seed=1)  # other texts
    assert load_cached(cache, cache_key(shipped, changed_data)) is None
    one_label = _dataset(
        tmp_path,
        shipped,
        [(t, "pos" if i == 0 else y) for i, (t, y) in enumerate(zip(ds.texts, _names(ds), strict=True))],
        "l.jsonl",
    )
    assert cache_key(shipped, one_label) != cache_key(shipped, ds)

    state = {k: v.clone() for k, v in shipped.model.state_dict().items()}
    try:
        with torch.no_grad():
            shipped.model.classifier.bias.add_(1e-3)  # the "same" model, retrained a little
        assert load_cached(cache, cache_key(shipped, ds)) is None
    finally:
        shipped.model.load_state_dict(state)
    assert load_cached(cache, cache_key(shipped, ds)) is not None

    path.write_bytes(b"not an npz")  # a damaged cache file is a miss, not an error
    assert load_cached(cache, cache_key(shipped, ds)) is None


def _names(ds: Dataset) -> list[str]:
    return [ds.label_names[y] for y in ds.labels]


def _synthetic(conf: list[float], correct: list[bool]) -> CorpusResult:
    n = len(conf)
    truth = np.zeros(n, dtype=np.int64)
    pred = np.where(correct, 0, 1)
    probs = np.stack(
        [np.where(correct, conf, 1 - np.asarray(conf)), np.where(correct, 1 - np.asarray(conf), conf)], 1
    )
    top = np.full((n, 2), -1, dtype=np.int32)
    return CorpusResult(
        ("a", "b"),
        np.arange(n),
        truth,
        pred,
        probs.astype(np.float32),
        np.ones(n, np.int32),
        np.ones(n, np.int32),
        np.ones(n, np.float32),
        top,
        np.zeros((n, 2), np.float32),
        (),
        n,
        True,
    )


def test_reliability_against_hand_computation() -> None:
    conf = [0.55, 0.58, 0.62, 0.95, 0.99, 1.0]
    correct = [True, False, True, True, True, False]
    r = reliability(_synthetic(conf, correct), bins=5)  # edges 0.5, 0.6, 0.7, 0.8, 0.9, 1.0
    np.testing.assert_allclose(r.edges, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert r.count.tolist() == [2, 1, 0, 0, 3]
    np.testing.assert_allclose(r.confidence[[0, 1, 4]], [0.565, 0.62, (0.95 + 0.99 + 1.0) / 3], atol=1e-6)
    np.testing.assert_allclose(r.accuracy[[0, 1, 4]], [0.5, 1.0, 2 / 3])
    assert np.isnan(r.confidence[2]) and np.isnan(r.accuracy[3])
    ece = (2 * abs(0.5 - 0.565) + abs(1 - 0.62) + 3 * abs(2 / 3 - (0.95 + 0.99 + 1.0) / 3)) / 6
    assert r.ece == pytest.approx(ece, abs=1e-6)


def test_corpus_attention_and_word_filter_by_hand() -> None:
    base = _synthetic([0.9, 0.9, 0.9], [True, True, False])  # predicted a, a, b
    words = ("great", "plot", "bad")
    top = np.array([[0, 1], [0, -1], [2, 0]], dtype=np.int32)
    weights = np.array([[0.5, 0.2], [0.1, 0.0], [0.6, 0.3]], dtype=np.float32)
    r = CorpusResult(**{**base.__dict__, "top_words": top, "top_weights": weights, "word_list": words})
    a, b = corpus_attention(r)
    assert a.reviews == 2 and [w for w, _ in a.mass] == ["great", "plot"]
    assert [x for _, x in a.mass] == pytest.approx([0.6, 0.2])
    assert a.frequency == (("great", 2), ("plot", 1))
    assert [w for w, _ in b.mass] == ["bad", "great"] and [x for _, x in b.mass] == pytest.approx([0.6, 0.3])
    assert rows_attending(r, "great").tolist() == [True, True, True]
    assert rows_attending(r, "great", min_weight=0.25).tolist() == [True, False, True]
    assert rows_attending(r, "absent").tolist() == [False, False, False]


def test_last_sentence_share_against_uniform() -> None:
    r = _synthetic([0.9] * 3, [True] * 3)
    r = CorpusResult(
        **{
            **r.__dict__,
            "sentences": np.array([1, 2, 4], np.int32),
            "last_share": np.array([1, 0.8, 0.4], np.float32),
        }
    )
    share, uniform = last_sentence_share(r)
    assert share == pytest.approx(0.6) and uniform == pytest.approx((0.5 + 0.25) / 2)


def test_stratified_sample_is_proportional_and_reproducible() -> None:
    labels = np.array([0] * 700 + [1] * 300)  # sorted by label, like the IMDB files
    s = stratified_sample(labels, 100, seed=3)
    assert len(s) == 100 == len(set(s.tolist())) and np.all(np.diff(s) > 0)
    assert np.bincount(labels[s]).tolist() == [70, 30]
    assert stratified_sample(labels, 100, seed=3).tolist() == s.tolist()
    assert stratified_sample(labels, 100, seed=4).tolist() != s.tolist()
    rare = np.array([0] * 999 + [1])
    assert set(labels[stratified_sample(labels, 3, 0)].tolist()) == {0, 1}
    assert np.bincount(rare[stratified_sample(rare, 10, 0)]).tolist() == [9, 1]  # every class present
    assert stratified_sample(labels, 5000, 0).tolist() == list(range(1000))
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample(labels, 0, 0)


def test_without_words_the_predictions_are_the_same(tmp_path: Path, shipped: ModelBundle) -> None:
    ds = _dataset(tmp_path, shipped, TEXTS)
    full = run_to_end(score_corpus(shipped, ds))
    quick = run_to_end(score_corpus(shipped, ds, words=False))
    np.testing.assert_array_equal(quick.pred, full.pred)
    np.testing.assert_allclose(quick.probs, full.probs, atol=1e-6)
    np.testing.assert_allclose(quick.last_share, full.last_share, atol=1e-6)
    assert (quick.top_words == -1).all() and quick.key == "" and save_cached(tmp_path / "c", quick) is None


def test_tokenizing_in_processes_changes_nothing_and_cancels(tmp_path: Path, shipped: ModelBundle) -> None:
    """workers > 1 (the CLI): the same rows, top words and probabilities; stopping mid-way ends the pool."""
    ds = _toy(tmp_path, shipped, n=90)
    one = run_to_end(score_corpus(shipped, ds, batch_size=16, block=32))
    two = run_to_end(score_corpus(shipped, ds, batch_size=16, block=32, workers=2))
    np.testing.assert_array_equal(two.row, one.row)
    np.testing.assert_array_equal(two.pred, one.pred)
    np.testing.assert_allclose(two.probs, one.probs, atol=1e-6)
    np.testing.assert_array_equal(two.top_words, one.top_words)
    gen = score_corpus(shipped, ds, batch_size=16, block=32, workers=2)
    first = next(gen)
    gen.close()  # the pool shuts down with the generator
    assert first.done == 16
