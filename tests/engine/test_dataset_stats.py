"""Dataset statistics for the training view: counts, skipped rows, lengths and quantile cuts."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.batching import choose_limits, count_truncation
from engine.data import DatasetError, load_dataset
from engine.dataset_stats import (
    QUANTILE_STEP,
    DatasetStats,
    LengthProfile,
    dataset_stats,
    dataset_stats_steps,
)
from engine.preprocess import doc_words
from engine.train import TrainConfig, split_dev, train
from tests.toy_data import toy_rows, write_toy

ToyConfig = Callable[..., TrainConfig]


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy(tmp_path_factory.mktemp("stats") / "toy.jsonl", 150, seed=3)


@pytest.fixture(scope="module")
def stats(toy_path: Path) -> DatasetStats:
    return dataset_stats(toy_path)


def _words(path: Path) -> list[Any]:
    return [doc_words(t) for t in load_dataset(path).texts]


def test_counts(stats: DatasetStats, toy_path: Path) -> None:
    ds = load_dataset(toy_path)
    assert stats.documents == len(ds) == 150
    assert stats.format == "jsonl"
    assert stats.sha256 == ds.sha256
    assert stats.label_names == ("neg", "pos")
    assert stats.class_counts() == ds.class_counts() == {"neg": 75, "pos": 75}
    assert stats.balance == 1.0
    assert (stats.skipped, stats.skipped_summary, stats.skipped_reasons) == (0, "", {})
    assert stats.empty_documents == 0


def test_lengths_are_the_tokenizer_lengths(stats: DatasetStats, toy_path: Path) -> None:
    words = _words(toy_path)
    assert stats.lengths.document_lengths.tolist() == [len(d) for d in words]
    assert stats.lengths.sentence_lengths.tolist() == [len(s) for d in words for s in d]
    assert stats.words == sum(len(s) for d in words for s in d)


def test_malformed_rows_are_reported(tmp_path: Path) -> None:
    rows = [json.dumps(r) for r in toy_rows(20, 0)]
    rows[3] = "{not json"
    rows[7] = json.dumps({"text": "", "label": "pos"})
    rows[9] = json.dumps({"text": "Fine film.", "label": "pos"})  # a usable row stays
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = dataset_stats(path)
    assert s.documents == 18
    assert s.skipped == 2
    assert s.skipped_summary == load_dataset(path).skipped_summary()
    assert "lines 4, 8" in s.skipped_summary
    assert s.skipped_reasons == {"invalid JSON": 1, "empty text": 1}


def test_unusable_dataset_raises_the_readers_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("{nope\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        dataset_stats(path, "jsonl")
    with pytest.raises(DatasetError) as again:
        load_dataset(path, "jsonl")
    assert str(err.value) == str(again.value)


def test_every_format(tmp_path: Path) -> None:
    rows = toy_rows(30, 1)
    with (tmp_path / "d.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        w.writerows([r["text"], r["label"]] for r in rows)
    (tmp_path / "y.jsonl").write_text(
        "".join(
            json.dumps({"text": r["text"], "stars": 5 if r["label"] == "pos" else 1}) + "\n" for r in rows
        )
    )
    for i, r in enumerate(rows):
        folder = tmp_path / "imdb" / r["label"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}_1.txt").write_text(r["text"], encoding="utf-8")
    expected = {
        "d.csv": ("csv", ("neg", "pos")),
        "y.jsonl": ("yelp", ("1", "5")),
        "imdb": ("aclimdb", ("neg", "pos")),
    }
    for name, (fmt, labels) in expected.items():
        s = dataset_stats(tmp_path / name)
        assert (s.format, s.label_names, s.documents) == (fmt, labels, 30), name
        assert s.words == sum(len(x) for r in rows for x in doc_words(r["text"])), name


def test_empty_documents_are_counted_and_left_out(tmp_path: Path) -> None:
    rows = toy_rows(20, 0)
    rows[5]["text"] = "<br /><br />"
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = dataset_stats(path)
    assert (s.documents, s.empty_documents) == (20, 1)
    assert s.lengths.documents == 19
    assert not s.has_words[5]


def test_generator_reports_progress_and_returns_the_stats(toy_path: Path) -> None:
    steps = dataset_stats_steps(toy_path)
    lines = []
    with pytest.raises(StopIteration) as done:
        while True:
            lines.append(next(steps))
    assert lines[0].startswith("read 150 documents")
    assert lines[-1] == "tokenized 150 of 150 documents"
    assert isinstance(done.value.value, DatasetStats)


# -- the cut: exactly what training will do ---------------------------------------------------------------


def _training_limits(cfg: TrainConfig) -> dict[str, Any]:
    """The limits train() reports in its setup record; the run is closed before its first step."""
    gen = train(cfg)
    try:
        for rec in gen:
            if "limits" in rec.extra:
                return dict(rec.extra["limits"])
    finally:
        gen.close()
    raise AssertionError("train() reported no limits")


@pytest.mark.parametrize(
    ("wq", "sq", "dev", "seed", "limit"),
    [(0.95, 0.95, 0.1, 13, None), (0.5, 0.8, 0.2, 4, None), (0.9, 0.6, 0.1, 13, 90)],
)
def test_cut_equals_the_limits_training_chooses(
    tmp_path: Path,
    stats: DatasetStats,
    toy_path: Path,
    toy_config: ToyConfig,
    wq: float,
    sq: float,
    dev: float,
    seed: int,
    limit: int | None,
) -> None:
    cfg = toy_config(
        toy_path,
        tmp_path / "out",
        word_quantile=wq,
        sentence_quantile=sq,
        dev_fraction=dev,
        seed=seed,
        limit=limit,
    )
    cut = stats.training_part(dev, seed, limit).cut(wq, sq)
    assert asdict(cut.limits) == _training_limits(cfg)


def test_cut_counts_what_count_truncation_counts(stats: DatasetStats, toy_path: Path) -> None:
    words = _words(toy_path)
    train_idx, _ = split_dev(tuple(stats.labels.tolist()), 0.1, 13)
    docs = [words[i] for i in train_idx]
    part = stats.training_part(0.1, 13)
    assert part.documents == len(docs)
    cut = part.cut(0.6, 0.5)
    assert cut.limits == choose_limits(docs, 0.6, 0.5)
    assert cut.truncation == count_truncation(docs, cut.limits)
    total = sum(len(s) for d in docs for s in d)
    assert cut.words == total
    assert cut.truncation.words > 0
    assert cut.words_kept == pytest.approx(1 - cut.truncation.words / total)
    lens = [len(s) for d in docs for s in d]
    assert cut.sentences_within == pytest.approx(np.mean([n <= cut.limits.max_words for n in lens]))
    assert cut.documents_within == pytest.approx(np.mean([len(d) <= cut.limits.max_sentences for d in docs]))


def test_full_quantiles_cut_nothing(stats: DatasetStats) -> None:
    cut = stats.training_part(0.1, 13).cut(1.0, 1.0)
    assert cut.truncation.words == cut.truncation.sentences == cut.truncation.documents == 0
    assert cut.words_kept == cut.sentences_within == cut.documents_within == 1.0


def test_quantile_for_a_dragged_limit(stats: DatasetStats) -> None:
    part = stats.training_part(0.1, 13)
    for kind, lengths in (("words", part.sentence_lengths), ("sentences", part.document_lengths)):
        for target in range(int(lengths.min()), int(lengths.max()) + 2):
            q = part.quantile_for(kind, target)
            cut = part.cut(q, 1.0) if kind == "words" else part.cut(1.0, q)
            got = cut.limits.max_words if kind == "words" else cut.limits.max_sentences
            assert got <= target or q == QUANTILE_STEP, (kind, target, q)
            if q < 1.0:  # the next step up the grid would pass the target
                up = min(1.0, round(q + QUANTILE_STEP, 6))
                nxt = part.cut(up, 1.0) if kind == "words" else part.cut(1.0, up)
                over = nxt.limits.max_words if kind == "words" else nxt.limits.max_sentences
                assert over > target, (kind, target, q)


def test_profile_checks_its_shape() -> None:
    with pytest.raises(ValueError, match="add up"):
        LengthProfile(np.array([1, 2, 3]), np.array([1, 1]))
