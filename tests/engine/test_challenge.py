"""The shipped challenge set (resources/challenge) and its loader, splitter and scorer."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from engine.bundle import ModelBundle
from engine.challenge import (
    LABELS,
    SPLITS,
    TAGS,
    ChallengeError,
    ChallengeReview,
    assign_splits,
    load_challenge,
    score_challenge,
    tally,
)
from engine.evaluate import predict_labels
from engine.preprocess import doc_words


@pytest.fixture(scope="module")
def reviews() -> list[ChallengeReview]:
    return load_challenge()


def test_the_set_is_large_and_balanced(reviews: list[ChallengeReview]) -> None:
    assert len(reviews) >= 160
    labels = Counter(r.label for r in reviews)
    assert labels["pos"] == labels["neg"]
    for tag in TAGS:
        per_label = Counter(r.label for r in reviews if tag in r.tags)
        assert per_label["pos"] == per_label["neg"] >= 14, tag
    assert sum("turn" in r.tags for r in reviews) >= 60
    assert sum("negation" in r.tags for r in reviews) >= 60


def test_both_splits_hold_half_of_every_stratum(reviews: list[ChallengeReview]) -> None:
    strata = Counter(r.stratum for r in reviews)
    for split in SPLITS:
        half = Counter(r.stratum for r in reviews if r.split == split)
        assert set(half) == set(strata)
        for key, n in strata.items():
            assert half[key] in (n // 2, (n + 1) // 2), (split, key)
    assert len(load_challenge(split="dev")) == len(load_challenge(split="test")) == len(reviews) // 2


def test_stored_splits_are_the_seeded_shuffle(reviews: list[ChallengeReview]) -> None:
    assert {r.id: r.split for r in reviews} == assign_splits(reviews)


def test_texts_are_unique_reviews_of_3_to_10_sentences(reviews: list[ChallengeReview]) -> None:
    texts = [" ".join(r.text.lower().split()) for r in reviews]
    assert len(set(texts)) == len(texts)
    assert len({r.id for r in reviews}) == len(reviews)
    for r in reviews:
        assert r.label in LABELS
        assert 3 <= len(doc_words(r.text)) <= 10, r.id


def test_assign_splits_is_seeded_and_balances_odd_strata() -> None:
    rows = [ChallengeReview(f"r{i}", f"text {i}", LABELS[i % 2], ("plain",), "dev") for i in range(7)]
    rows += [ChallengeReview(f"t{i}", f"turn {i}", "pos", ("turn",), "dev") for i in range(5)]
    a, b = assign_splits(rows, seed=1), assign_splits(list(reversed(rows)), seed=1)
    assert a == b  # order of the input does not matter
    assert sorted(Counter(a.values()).values()) == [6, 6]  # 4+3+5 reviews: halves differ by <= 1
    others = [assign_splits(rows, seed=s) for s in range(2, 12)]
    assert any(o != a for o in others)


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = [
    {"id": "a", "text": "Great. Loved it. Go.", "label": "pos", "tags": ["plain"], "split": "dev"},
    {"id": "b", "text": "Awful. Hated it. Skip.", "label": "neg", "tags": ["plain"], "split": "test"},
]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": "positive"}, "label 'positive' is not one of neg, pos"),
        ({"tags": []}, "tags must be a non-empty list"),
        ({"tags": ["sarcasm"]}, "tags must be a non-empty list"),
        ({"tags": ["plain", "turn"]}, "'plain' is combined"),
        ({"split": "train"}, "split 'train' is not one of dev, test"),
        ({"text": "  "}, "text must be a non-empty string"),
        ({"id": "b"}, "duplicate id: 'b'"),
        ({"text": "Awful.  Hated it. Skip."}, "duplicate text"),
    ],
)
def test_bad_rows_are_refused_in_one_line(tmp_path: Path, change: dict[str, object], message: str) -> None:
    path = _write(tmp_path / "c.jsonl", [{**GOOD[0], **change}, GOOD[1]])
    with pytest.raises(ChallengeError, match="^[^\n]*" + message.replace("(", r"\(")) as e:
        load_challenge(path)
    assert "\n" not in str(e.value)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError, match="cannot read"):
        load_challenge(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": "a"\n', encoding="utf-8")
    with pytest.raises(ChallengeError, match="line 1: not JSON"):
        load_challenge(tmp_path / "bad.jsonl")
    with pytest.raises(ChallengeError, match="both labels"):
        load_challenge(_write(tmp_path / "one.jsonl", [GOOD[0]]))
    with pytest.raises(ChallengeError, match="unknown split"):
        load_challenge(_write(tmp_path / "ok.jsonl", GOOD), split="train")
    assert [r.id for r in load_challenge(tmp_path / "ok.jsonl", split="test")] == ["b"]


def test_tally_counts_by_tag_and_label() -> None:
    rows = [
        ChallengeReview("1", "x", "pos", ("turn", "negation"), "dev"),
        ChallengeReview("2", "y", "neg", ("turn",), "dev"),
        ChallengeReview("3", "z", "neg", ("plain",), "dev"),
    ]
    r = tally(rows, ["neg", "neg", "neg"])
    assert (r.correct, r.total, r.mistakes) == (2, 3, ("1",))
    assert r.by_tag == {"turn": (1, 2), "negation": (0, 1), "plain": (1, 1)}
    assert r.by_label == {"neg": (2, 2), "pos": (0, 1)}
    d = r.to_dict()
    assert d["accuracy"] == pytest.approx(2 / 3)
    assert d["by_tag"]["turn"] == {"accuracy": 0.5, "correct": 1, "n": 2}


def test_score_challenge_agrees_with_predict_labels(shipped: ModelBundle) -> None:
    dev = load_challenge(split="dev")[:12]
    result = score_challenge(shipped, dev)
    preds = predict_labels(shipped, [r.text for r in dev], workers=1)
    expected = [r.id for r, p in zip(dev, preds, strict=True) if shipped.label_names[p] != r.label]
    assert list(result.mistakes) == expected
    assert result.total == 12
    flipped = [replace(r, label="neg" if r.label == "pos" else "pos") for r in dev]
    assert score_challenge(shipped, flipped).correct == 12 - result.correct
