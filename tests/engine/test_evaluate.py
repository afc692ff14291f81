"""Tests for engine.evaluate with the shipped model on a tiny labelled dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import resources
from engine.analyze import analyze
from engine.bundle import ModelBundle
from engine.data import Dataset, load_dataset
from engine.evaluate import evaluate, predict_labels

SAMPLES = resources.sample_texts()

ROWS = [
    (SAMPLES["rave"].read_text(encoding="utf-8"), "pos"),
    (SAMPLES["clear_pan"].read_text(encoding="utf-8"), "neg"),
    (SAMPLES["mixed_feelings"].read_text(encoding="utf-8"), "neg"),  # the model reads it as positive
    ("An absolute masterpiece. Brilliant acting and a moving, beautiful story.", "pos"),
    ("Terrible. The worst movie I have ever seen: boring, stupid and ugly.", "neg"),
    ("I loved every minute of it. What a wonderful film!", "pos"),
    ("Dull, predictable and far too long. A complete waste of time.", "neg"),
    ("Great cast, great music, great fun. Highly recommended.", "neg"),  # mislabelled on purpose
]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return path


@pytest.fixture
def dataset(tmp_path: Path, shipped: ModelBundle) -> Dataset:
    return load_dataset(_write(tmp_path / "tiny.jsonl", ROWS), label_names=shipped.label_names)


def test_evaluate_against_hand_computation(shipped: ModelBundle, dataset: Dataset) -> None:
    report = evaluate(shipped, dataset)
    names = list(shipped.label_names)
    assert report["labels"] == names
    assert report["n"] == len(ROWS)

    # predictions computed independently, one text at a time
    predicted = [names.index(analyze(shipped, text).label) for text, _ in ROWS]
    truth = [names.index(y) for _, y in ROWS]
    confusion = [
        [sum(1 for t, p in zip(truth, predicted, strict=True) if (t, p) == (i, j)) for j in range(len(names))]
        for i in range(len(names))
    ]
    assert report["confusion"] == confusion
    assert sum(map(sum, confusion)) == len(ROWS)
    assert confusion[0][1] >= 2, "the dataset was built with errors in it"

    correct = sum(confusion[i][i] for i in range(len(names)))
    assert report["accuracy"] == pytest.approx(correct / len(ROWS))

    for c, name in enumerate(names):
        tp = confusion[c][c]
        fp = sum(confusion[r][c] for r in range(len(names)) if r != c)
        fn = sum(confusion[c][k] for k in range(len(names)) if k != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        got = report["per_class"][name]
        assert got["support"] == tp + fn == truth.count(c)
        assert got["precision"] == pytest.approx(precision)
        assert got["recall"] == pytest.approx(recall)
        assert got["f1"] == pytest.approx(f1)
    json.dumps(report)  # the report is plain JSON


def test_predict_labels_matches_analyze(shipped: ModelBundle) -> None:
    texts = [t for t, _ in ROWS]
    preds = predict_labels(shipped, texts, batch_size=3)
    assert preds.dtype == np.int64
    assert [shipped.label_names[p] for p in preds] == [analyze(shipped, t).label for t in texts]


def test_text_without_words_counts_as_wrong(tmp_path: Path, shipped: ModelBundle) -> None:
    rows = [*ROWS[:2], ("<br /><br />", "pos")]
    ds = load_dataset(_write(tmp_path / "hollow.jsonl", rows), label_names=shipped.label_names)
    assert len(ds) == 3
    assert predict_labels(shipped, ds.texts).tolist()[2] == -1
    report = evaluate(shipped, ds)
    assert report["n"] == 3
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["confusion"] == [[1, 0], [0, 1]]
    assert report["per_class"]["pos"]["support"] == 2
    assert report["per_class"]["pos"]["recall"] == pytest.approx(0.5)


def test_dataset_label_order_is_respected(tmp_path: Path, shipped: ModelBundle, dataset: Dataset) -> None:
    reordered = load_dataset(_write(tmp_path / "tiny2.jsonl", ROWS), label_names=("pos", "neg"))
    expected = evaluate(shipped, dataset)["accuracy"]
    try:
        report = evaluate(shipped, reordered)
    except ValueError:
        return
    assert report["accuracy"] == pytest.approx(expected)


def test_streamed_windows_give_the_predictions_of_one_window(shipped: ModelBundle) -> None:
    """Windows of 3 texts (several windows, a ragged last one, a text without words) predict what
    one window of everything predicts, each text in its own place."""
    texts = [t for t, _ in ROWS] + ["<br />", *[t for t, _ in ROWS[:4]]]
    whole = predict_labels(shipped, texts, batch_size=4, window=len(texts))
    assert whole[len(ROWS)] == -1
    assert predict_labels(shipped, texts, batch_size=2, window=3).tolist() == whole.tolist()


def test_worker_processes_tokenize_in_order(shipped: ModelBundle) -> None:
    """Past 2,000 texts the windows are tokenized in worker processes, one window ahead of the model."""
    base = [t for t, _ in ROWS[3:]]  # short ones: 2,005 texts stay quick
    texts = [base[i % len(base)] for i in range(2005)]
    expected = predict_labels(shipped, base, workers=1).tolist()
    preds = predict_labels(shipped, texts, batch_size=256, workers=2, window=700)
    assert preds.tolist() == [expected[i % len(base)] for i in range(2005)]


def test_window_must_be_positive(shipped: ModelBundle) -> None:
    with pytest.raises(ValueError, match="window"):
        predict_labels(shipped, ["Fine."], window=0)
