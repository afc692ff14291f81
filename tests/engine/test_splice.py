"""Spliced reviews (engine.splice) and the training options of issue 17: splicing, label smoothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import engine.train
from engine.bundle import load_bundle
from engine.data import load_dataset
from engine.preprocess import doc_words, encode_words
from engine.splice import splice_documents
from engine.train import Progress, TrainConfig, split_dev, train
from engine.vocab import Vocab
from tests.toy_data import write_toy

ToyConfig = Callable[..., TrainConfig]
CutAndResume = Callable[..., tuple[list[Progress], list[Progress]]]


def _docs(n_per_class: int = 6) -> tuple[list[list[list[int]]], list[int]]:
    """Documents whose sentences are unique: sentence j of document i is [1000 * i + j, i]."""
    docs, labels = [], []
    for i in range(2 * n_per_class):
        docs.append([[1000 * i + j, i] for j in range(1 + i % 6)])  # 1 to 6 sentences
        labels.append(i % 2)
    return docs, labels


def _source(sentence: list[int]) -> tuple[int, int]:
    """(document, sentence index) a sentence of :func:`_docs` came from."""
    return sentence[1], sentence[0] - 1000 * sentence[1]


def test_a_spliced_review_is_a_body_then_a_verdict_of_the_other_class() -> None:
    docs, labels = _docs()
    out, out_labels = splice_documents(docs, labels, 400, np.random.default_rng(0), max_body=3)
    assert len(out) == len(out_labels) == 400
    bodies: Counter[int] = Counter()
    verdicts: Counter[int] = Counter()
    for doc, label in zip(out, out_labels, strict=True):
        sources = [_source(s) for s in doc]
        verdict_doc = sources[-1][0]
        n_verdict = sum(1 for d, _ in sources if d == verdict_doc)
        body = sources[: len(sources) - n_verdict]
        assert labels[verdict_doc] == label
        # the verdict: the donor's last 1 or 2 sentences, in order
        n = len(docs[verdict_doc])
        assert [j for _, j in sources[-n_verdict:]] == list(range(n - n_verdict, n))
        assert 1 <= n_verdict <= min(2, n)
        # the body: 1..3 consecutive sentences of one review of the other class, not its own verdict
        assert 1 <= len(body) <= 3
        body_doc = body[0][0]
        assert labels[body_doc] != label and all(d == body_doc for d, _ in body)
        js = [j for _, j in body]
        assert js == list(range(js[0], js[0] + len(js)))
        m = len(docs[body_doc])
        assert js[-1] < max(1, m - 2)
        bodies[len(body)] += 1
        verdicts[n_verdict] += 1
    assert Counter(out_labels) == {0: 200, 1: 200}
    assert set(bodies) == {1, 2, 3} and set(verdicts) == {1, 2}


def test_splicing_is_seeded_and_copies() -> None:
    docs, labels = _docs()
    a = splice_documents(docs, labels, 50, np.random.default_rng(3))
    b = splice_documents(docs, labels, 50, np.random.default_rng(3))
    c = splice_documents(docs, labels, 50, np.random.default_rng(4))
    assert a == b and a != c
    a[0][0][0][0] = -1  # editing a spliced review leaves the training documents alone
    assert all(w >= 0 for d in docs for s in d for w in s)


def test_splicing_needs_two_classes_with_words() -> None:
    docs, labels = _docs()
    rng = np.random.default_rng(0)
    assert splice_documents(docs, labels, 0, rng) == ([], [])
    assert splice_documents(docs, [0] * len(docs), 10, rng) == ([], [])
    empty: list[Any] = [[[]] if y == 1 else d for d, y in zip(docs, labels, strict=True)]
    assert splice_documents(empty, labels, 10, rng) == ([], [])
    with pytest.raises(ValueError):
        splice_documents(docs, labels, 5, rng, max_body=0)


def test_config_checks_the_new_settings(tmp_path: Path) -> None:
    for bad in ({"label_smoothing": 1.0}, {"splice_fraction": -0.1}, {"splice_sentences": 0}):
        with pytest.raises(ValueError, match=r"smoothing|splice"):
            TrainConfig(data="x", **bad)


def _digest(records: list[Progress]) -> str:
    assert records[-1].kind == "done"
    return str(records[-1].extra["weights_sha256"])


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "small.jsonl", 120, seed=1)


def test_spliced_training_adds_steps_is_seeded_and_draws_from_train_only(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[Any]] = []
    real = splice_documents

    def spy(docs: Any, labels: Any, n: int, rng: Any, max_body: int = 4) -> Any:
        seen.append([docs, labels, n, max_body])
        return real(docs, labels, n, rng, max_body)

    monkeypatch.setattr(engine.train, "splice_documents", spy)
    plain = list(train(toy_config(small_data, tmp_path / "p", epochs=2)))
    a = list(train(toy_config(small_data, tmp_path / "a", epochs=2, splice_fraction=0.5, splice_sentences=2)))
    b = list(train(toy_config(small_data, tmp_path / "b", epochs=2, splice_fraction=0.5, splice_sentences=2)))
    assert _digest(a) == _digest(b) != _digest(plain)
    # 108 training documents + 54 spliced ones per epoch, in batches of 16
    assert [r.total_steps for r in plain if r.kind == "done"] == [2 * 7]
    assert [r.total_steps for r in a if r.kind == "done"] == [2 * 11]
    assert "54 spliced reviews per epoch" in " ".join(r.message for r in a if r.kind == "setup")
    assert len(seen) == 4  # once per epoch per run; none for the plain run
    # what was spliced from is the training split: no dev document, no dev label
    ds = load_dataset(small_data, "jsonl")
    train_idx, dev_idx = split_dev(ds.labels, 0.1, 13)
    words = [doc_words(t) for t in ds.texts]
    vocab = Vocab.build((words[i] for i in train_idx), 1, 1000)
    enc = encode_words(words, vocab)
    docs, labels, n, max_body = seen[0]
    assert (n, max_body, len(docs)) == (54, 2, len(train_idx))
    assert docs == [enc[i] for i in train_idx] and list(labels) == [ds.labels[i] for i in train_idx]
    assert not any(enc[i] in docs for i in dev_idx)


def test_spliced_training_resumes_mid_epoch_exactly(
    tmp_path: Path, small_data: Path, cut_and_resume: CutAndResume
) -> None:
    straight, resumed = cut_and_resume(small_data, tmp_path, splice_fraction=0.5)
    assert next(r.step for r in resumed if r.kind == "step") == 14
    assert _digest(resumed) == _digest(straight)


def test_a_checkpoint_from_before_these_settings_still_resumes(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig
) -> None:
    list(train(toy_config(small_data, tmp_path / "out", epochs=1)))
    state = tmp_path / "out" / "checkpoint" / "state.json"
    meta = json.loads(state.read_text(encoding="utf-8"))
    for key in ("label_smoothing", "splice_fraction", "splice_sentences"):
        del meta["config"][key]
    state.write_text(json.dumps(meta), encoding="utf-8")
    records = list(train(toy_config(small_data, tmp_path / "out", epochs=2, resume=True)))
    assert [r.epoch for r in records if r.kind == "eval"] == [2]
    with pytest.raises(ValueError, match="splice_fraction"):
        list(train(toy_config(small_data, tmp_path / "out", epochs=3, resume=True, splice_fraction=0.5)))


def _dev_confidence(model_dir: Path, data: Path) -> float:
    """Mean probability the model gives its predicted class, over the data's texts."""
    bundle = load_bundle(model_dir)
    ds = load_dataset(data, "jsonl")
    words = [doc_words(t) for t in ds.texts[:60]]
    from engine.batching import collate

    ids, _ = collate(encode_words(words, bundle.vocab), bundle.limits)
    with torch.no_grad():
        probs = bundle.model(ids).logits.softmax(-1)
    return float(probs.max(-1).values.mean())


def test_label_smoothing_keeps_the_model_from_certainty(tmp_path: Path, toy_config: ToyConfig) -> None:
    """With smoothing e over 2 classes the loss is least at p = 1 - e/2 for the true class: the model
    learns the task as well, but its confidence stays near or below 0.8 (the saved model is the
    first epoch at dev accuracy 1.0, on its way there), where plain cross-entropy goes to 1."""
    data = write_toy(tmp_path / "toy.jsonl", 400, seed=0)
    sharp = list(train(toy_config(data, tmp_path / "sharp", epochs=4)))
    smooth = list(train(toy_config(data, tmp_path / "smooth", epochs=4, label_smoothing=0.4)))
    assert sharp[-1].best_dev_accuracy == smooth[-1].best_dev_accuracy == 1.0
    assert _dev_confidence(tmp_path / "sharp" / "model", data) > 0.95
    assert 0.6 < _dev_confidence(tmp_path / "smooth" / "model", data) < 0.85
