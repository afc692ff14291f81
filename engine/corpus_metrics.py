"""What a scored corpus says: accuracy, per-class P/R/F1, confusion, calibration, corpus attention.

Every function reads a :class:`~engine.corpus.CorpusResult` (optionally a subset of its rows, as a
boolean mask or indices) and returns plain values; nothing here scores text. Also here: the
stratified sample ``evaluate --sample`` draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.corpus import CorpusResult

__all__ = [
    "ClassMetrics",
    "ClassWords",
    "Metrics",
    "Reliability",
    "corpus_attention",
    "last_sentence_share",
    "metrics",
    "reliability",
    "rows_attending",
    "stratified_sample",
]


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float
    recall: float
    f1: float
    support: int  # reviews whose true class this is


@dataclass(frozen=True)
class Metrics:
    """``confusion[i, j]`` (C, C) counts reviews of true class i predicted j (a review with no words
    is in no cell and counts wrong)."""

    n: int
    accuracy: float
    per_class: tuple[ClassMetrics, ...]
    confusion: np.ndarray

    def to_dict(self) -> dict[str, object]:
        """The ``evaluate --json`` shape."""
        return {
            "accuracy": self.accuracy,
            "n": self.n,
            "per_class": {
                c.name: {"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}
                for c in self.per_class
            },
            "confusion": self.confusion.tolist(),
            "labels": [c.name for c in self.per_class],
        }


def metrics(result: CorpusResult) -> Metrics:
    k = len(result.label_names)
    conf = np.zeros((k, k), dtype=np.int64)
    ok = result.pred >= 0
    np.add.at(conf, (result.truth[ok], result.pred[ok]), 1)
    per_class = []
    for c, name in enumerate(result.label_names):
        tp = int(conf[c, c])
        predicted, support = int(conf[:, c].sum()), int((result.truth == c).sum())
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class.append(ClassMetrics(name, p, r, f1, support))
    n = len(result)
    return Metrics(n, float(np.trace(conf)) / n if n else 0.0, tuple(per_class), conf)


@dataclass(frozen=True)
class Reliability:
    """Calibration in ``B`` equal-width confidence bins over [1/C, 1].

    edges: (B+1,). count: (B,). confidence, accuracy: (B,) mean confidence and accuracy of each bin's
    reviews (NaN for an empty bin). ece: expected calibration error, sum over bins of
    count/n x |accuracy - confidence|.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float


def reliability(result: CorpusResult, bins: int = 10) -> Reliability:
    c = max(2, len(result.label_names))
    edges = np.linspace(1.0 / c, 1.0, bins + 1)
    conf = result.confidence.astype(np.float64)
    right = result.correct.astype(np.float64)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)  # last bin closed
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, conf, bins) / count
        mean_acc = np.bincount(which, right, bins) / count
    n = len(conf)
    filled = count > 0
    ece = float((count[filled] / n * np.abs(mean_acc[filled] - mean_conf[filled])).sum()) if n else 0.0
    return Reliability(edges, count, mean_conf, mean_acc, ece)


@dataclass(frozen=True)
class ClassWords:
    """A predicted class's most attended words: by attention ``mass`` (the sum of their
    document-level weights over the class's reviews) and by ``frequency`` (how many of its reviews
    have the word among their top-K attended words). Each list holds (word, value), largest first."""

    name: str
    reviews: int
    mass: tuple[tuple[str, float], ...]
    frequency: tuple[tuple[str, int], ...]


def corpus_attention(result: CorpusResult, top: int = 20) -> tuple[ClassWords, ...]:
    """Per predicted class, the words that receive the most attention (from each review's top-K)."""
    v = len(result.word_list)
    out = []
    for c, name in enumerate(result.label_names):
        rows = result.pred == c
        ids = result.top_words[rows].ravel()
        weights = result.top_weights[rows].ravel()
        keep = ids >= 0
        mass = np.bincount(ids[keep], weights[keep].astype(np.float64), minlength=v)
        freq = np.bincount(ids[keep], minlength=v)
        by_mass = np.argsort(-mass, kind="stable")[:top]
        by_freq = np.argsort(-freq, kind="stable")[:top]
        out.append(
            ClassWords(
                name,
                int(rows.sum()),
                tuple((result.word_list[i], float(mass[i])) for i in by_mass if mass[i] > 0),
                tuple((result.word_list[i], int(freq[i])) for i in by_freq if freq[i] > 0),
            )
        )
    return tuple(out)


def rows_attending(result: CorpusResult, word: str, min_weight: float = 0.0) -> np.ndarray:
    """(N,) bool: reviews where ``word`` is among the top-K attended words (with at least
    ``min_weight`` of the document's attention)."""
    try:
        wid = result.word_list.index(word)
    except ValueError:
        return np.zeros(len(result), dtype=bool)
    hit = (result.top_words == wid) & (result.top_weights >= min_weight)
    return np.asarray(hit.any(axis=1))


def last_sentence_share(result: CorpusResult) -> tuple[float, float]:
    """(mean attention on the last sentence, what uniform sentence attention would give: mean 1/S),
    over reviews with more than one sentence (for one sentence both are 1). NaN when there is none."""
    multi = result.sentences > 1
    if not multi.any():
        return float("nan"), float("nan")
    return float(result.last_share[multi].mean()), float((1.0 / result.sentences[multi]).mean())


def stratified_sample(labels: Sequence[int] | np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` row indices drawn without replacement, each class in proportion to its share of
    ``labels`` (largest remainders; every class present gets a row when ``n`` allows), in row order.
    The same ``seed`` gives the same sample."""
    y = np.asarray(labels, dtype=np.int64)
    if n < 1:
        raise ValueError(f"a sample needs at least 1 row, got {n}")
    if n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n / len(y)
    take = np.floor(exact).astype(np.int64)
    if n >= len(classes):
        take = np.maximum(take, 1)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while take.sum() < n:
        c = order[i % len(order)]
        if take[c] < counts[c]:
            take[c] += 1
        i += 1
    while take.sum() > n:  # the "at least one" rule overshot: take from the largest class
        take[np.argmax(take)] -= 1
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(y == c), size=int(t), replace=False)
        for c, t in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(picked))
