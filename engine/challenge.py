"""The challenge set: hand-written movie reviews full of verdict turns and negations.

``resources/challenge/challenge.jsonl`` holds one review a line, ``{"id", "text", "label", "tags",
"split"}``. The reviews were written for this project (see the README beside the file). Tags say what
a review tests: ``turn`` (complaints, then a verdict the other way, or the reverse), ``negation``
(sentiment under a negation or a contrast with expectations: "not bad", "far better than I
feared"), ``plain`` (neither). The ``split`` halves come from :func:`assign_splits`, a seeded
shuffle stratified by label and tags; the ``test`` half is evaluated once, for the final model.

:func:`load_challenge` reads and checks the file (:class:`ChallengeError`, one line, on any
problem); :func:`score_challenge` evaluates a model on some of its reviews, by tag.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = [
    "LABELS",
    "SEED",
    "SPLITS",
    "TAGS",
    "ChallengeError",
    "ChallengeResult",
    "ChallengeReview",
    "assign_splits",
    "default_path",
    "load_challenge",
    "score_challenge",
    "tally",
    "validate",
]

LABELS = ("neg", "pos")
TAGS = ("turn", "negation", "plain")
SPLITS = ("dev", "test")
SEED = 17  # the number; changing it reshuffles the halves (and spends the test half)
_MAX_BYTES = 4 << 20  # the file is about 100 KB


class ChallengeError(ValueError):
    """A challenge file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class ChallengeReview:
    id: str
    text: str
    label: str  # one of LABELS
    tags: tuple[str, ...]  # a subset of TAGS, in TAGS order; "plain" stands alone
    split: str  # one of SPLITS

    @property
    def stratum(self) -> tuple[str, tuple[str, ...]]:
        return self.label, self.tags


def default_path() -> Path:
    """The challenge file that ships in ``resources/challenge/``."""
    from resources import path

    return path("challenge/challenge.jsonl")


def _review(obj: object, where: str) -> ChallengeReview:
    if not isinstance(obj, dict):
        raise ChallengeError(f"{where}: not a JSON object")
    missing = [k for k in ("id", "text", "label", "tags", "split") if k not in obj]
    if missing:
        raise ChallengeError(f"{where}: missing {', '.join(missing)}")
    rid, text, label, tags, split = obj["id"], obj["text"], obj["label"], obj["tags"], obj["split"]
    if not isinstance(rid, str) or not rid:
        raise ChallengeError(f"{where}: id must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise ChallengeError(f"{where}: text must be a non-empty string")
    if label not in LABELS:
        raise ChallengeError(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
    if not isinstance(tags, list) or not tags or not all(t in TAGS for t in tags):
        raise ChallengeError(f"{where}: tags must be a non-empty list of {', '.join(TAGS)}")
    if len(set(tags)) != len(tags) or ("plain" in tags and len(tags) > 1):
        raise ChallengeError(f"{where}: tags repeat, or 'plain' is combined with another tag")
    if split not in SPLITS:
        raise ChallengeError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
    return ChallengeReview(rid, text, label, tuple(t for t in TAGS if t in tags), split)


def validate(reviews: Sequence[ChallengeReview]) -> None:
    """:class:`ChallengeError` unless ids and texts are unique and both labels are present."""
    for what, values in (
        ("id", [r.id for r in reviews]),
        ("text", [" ".join(r.text.split()) for r in reviews]),
    ):
        dup = [v for v, n in Counter(values).items() if n > 1]
        if dup:
            raise ChallengeError(f"duplicate {what}: {dup[0][:60]!r}")
    if {r.label for r in reviews} != set(LABELS):
        raise ChallengeError(f"the challenge set needs reviews of both labels ({', '.join(LABELS)})")


def load_challenge(path: str | Path | None = None, split: str | None = None) -> list[ChallengeReview]:
    """The reviews of ``path`` (default: the shipped file), all or one ``split``, checked."""
    p = Path(path) if path is not None else default_path()
    if split is not None and split not in SPLITS:
        raise ChallengeError(f"unknown split {split!r}; use {' or '.join(SPLITS)}")
    try:
        with p.open("rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except OSError as e:
        raise ChallengeError(f"cannot read {p}: {e.strerror or e}") from None
    if len(raw) > _MAX_BYTES:
        raise ChallengeError(f"{p} is larger than {_MAX_BYTES >> 20} MiB; not a challenge file")
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ChallengeError(f"{p} is not UTF-8 text") from None
    reviews = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ChallengeError(f"{p}, line {n}: not JSON ({e.msg})") from None
        reviews.append(_review(obj, f"{p}, line {n}"))
    validate(reviews)
    return [r for r in reviews if split is None or r.split == split]


def assign_splits(reviews: Iterable[ChallengeReview], seed: int = SEED) -> dict[str, str]:
    """``{id: "dev" | "test"}``: each (label, tags) stratum shuffled by ``seed``, half to each split.

    A stratum of odd size gives its extra review to whichever split is smaller so far (dev on a
    tie), so the halves differ by at most one review. Only ids, labels and tags matter: editing a
    review's text keeps its split.
    """
    strata: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for r in reviews:
        strata[r.stratum].append(r.id)
    out: dict[str, str] = {}
    sizes = {"dev": 0, "test": 0}
    for key in sorted(strata):
        ids = sorted(strata[key])
        random.Random(f"{seed}:{key[0]}:{'+'.join(key[1])}").shuffle(ids)
        half = len(ids) // 2
        n_dev = half + (len(ids) % 2 if sizes["dev"] <= sizes["test"] else 0)
        for i, rid in enumerate(ids):
            out[rid] = "dev" if i < n_dev else "test"
        sizes["dev"] += n_dev
        sizes["test"] += len(ids) - n_dev
    return out


@dataclass(frozen=True)
class ChallengeResult:
    """A model's answers on some challenge reviews.

    ``by_tag`` / ``by_label``: ``{name: (correct, total)}``; a review counts under each of its tags.
    ``mistakes``: ids of the reviews it got wrong, in input order.
    """

    correct: int
    total: int
    by_tag: dict[str, tuple[int, int]]
    by_label: dict[str, tuple[int, int]]
    mistakes: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        def acc(d: dict[str, tuple[int, int]]) -> dict[str, dict[str, float | int]]:
            return {k: {"accuracy": c / n if n else 0.0, "correct": c, "n": n} for k, (c, n) in d.items()}

        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "n": self.total,
            "by_tag": acc(self.by_tag),
            "by_label": acc(self.by_label),
            "mistakes": list(self.mistakes),
        }


def tally(reviews: Sequence[ChallengeReview], predicted: Sequence[str]) -> ChallengeResult:
    """Count right answers overall, by tag and by label; ``predicted[i]`` is review i's label."""
    if len(predicted) != len(reviews):
        raise ValueError(f"{len(predicted)} predictions for {len(reviews)} reviews")
    by_tag: dict[str, list[int]] = {t: [0, 0] for t in TAGS}
    by_label: dict[str, list[int]] = {lab: [0, 0] for lab in LABELS}
    mistakes = []
    for r, p in zip(reviews, predicted, strict=True):
        ok = int(p == r.label)
        for t in r.tags:
            by_tag[t][0] += ok
            by_tag[t][1] += 1
        by_label[r.label][0] += ok
        by_label[r.label][1] += 1
        if not ok:
            mistakes.append(r.id)
    return ChallengeResult(
        len(reviews) - len(mistakes),
        len(reviews),
        {k: (c, n) for k, (c, n) in by_tag.items() if n},
        {k: (c, n) for k, (c, n) in by_label.items() if n},
        tuple(mistakes),
    )


def score_challenge(bundle: ModelBundle, reviews: Sequence[ChallengeReview]) -> ChallengeResult:
    """The model's accuracy on ``reviews``, full-length documents (as ``evaluate`` scores them)."""
    from engine.evaluate import predict_labels

    missing = set(LABELS) - set(bundle.label_names)
    if missing:
        raise ValueError(
            f"the model has no label {sorted(missing)[0]!r}; its labels: {list(bundle.label_names)}"
        )
    preds = predict_labels(bundle, [r.text for r in reviews], workers=1)
    return tally(reviews, [bundle.label_names[i] if i >= 0 else "" for i in preds])
