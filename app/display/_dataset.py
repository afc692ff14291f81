"""What the Dataset explorer paints: the review table's columns, the metrics, the corpus attention.

Plain numpy columns (one entry per scored review) and tuples; the sort order is computed here too, with
numpy (an argsort of one uint64 key per row: the column's value, then the dataset row), so 25,000 rows
sort in a few milliseconds whatever the view, and a review that arrives later finds its place by a
binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["COLUMNS", "DatasetMetrics", "ReviewTable", "WordRanking", "sort_keys", "sort_order"]

COLUMNS = ("id", "true label", "predicted", "confidence", "margin", "words", "sentences", "correct")


@dataclass(frozen=True, eq=False)
class ReviewTable:
    """N scored reviews. row: (N,) the review's index in the dataset (shown as its id). true, pred:
    (N,) indices into ``label_names`` (pred -1: no words). confidence, margin: (N,) floats. words,
    sentences: (N,) ints. correct: (N,) bools."""

    label_names: tuple[str, ...]
    row: np.ndarray
    true: np.ndarray
    pred: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    words: np.ndarray
    sentences: np.ndarray
    correct: np.ndarray

    def __len__(self) -> int:
        return len(self.row)

    def column(self, c: int) -> np.ndarray:
        """Column ``c`` of :data:`COLUMNS` as the numbers it sorts by."""
        return (
            self.row,
            self.true,
            self.pred,
            self.confidence,
            self.margin,
            self.words,
            self.sentences,
            self.correct,
        )[c]

    def label(self, k: int) -> str:
        return self.label_names[k] if 0 <= k < len(self.label_names) else "(no words)"

    def cell(self, r: int, c: int) -> str:
        """The text shown in row ``r`` (a table row, not a dataset row), column ``c``."""
        if c == 0:
            return str(int(self.row[r]))
        if c in (1, 2):
            return self.label(int(self.column(c)[r]))
        if c in (3, 4):
            return f"{float(self.column(c)[r]):.3f}"
        if c in (5, 6):
            return f"{int(self.column(c)[r]):,}"
        return "✓" if self.correct[r] else "✗"

    @staticmethod
    def empty(label_names: tuple[str, ...] = ()) -> ReviewTable:
        i, f = np.zeros(0, np.int64), np.zeros(0, np.float32)
        return ReviewTable(label_names, i, i, i, f, f, i, i, np.zeros(0, bool))


def _ordered_bits(x: np.ndarray) -> np.ndarray:
    """(N,) uint32 that sort as ``x`` does: floats as float32 (as the table stores them; -0.0 as 0.0,
    NaN last as numpy sorts it), ints and bools offset into the unsigned range."""
    if x.dtype.kind == "f":
        f = x.astype(np.float32) + np.float32(0.0)  # -0.0 + 0.0 is 0.0
        f[np.isnan(f)] = np.float32(np.nan)  # one NaN, positive: after +inf
        b = f.view(np.uint32)
        return np.asarray(b ^ np.where(b >> 31, np.uint32(0xFFFFFFFF), np.uint32(0x80000000)))
    v = np.clip(x.astype(np.int64), -(2**31), 2**31 - 1) + 2**31
    return np.asarray(v.astype(np.uint32))


def sort_keys(table: ReviewTable, rows: np.ndarray, column: int, descending: bool) -> np.ndarray:
    """(len(rows),) uint64 keys of ``rows`` (indices into ``table``) whose ascending order is the
    display order: ``column``'s value (reversed when ``descending``) in the high 32 bits, the review's
    dataset row in the low ones, so ties keep the dataset's order and every review has its own key. A
    row arriving later finds its place with one binary search (``np.searchsorted``).
    ``column`` -1: dataset order."""
    row = table.row[rows].astype(np.uint64)
    if column < 0:
        return np.asarray(row)
    bits = _ordered_bits(table.column(column)[rows])
    if descending:
        bits = ~bits
    return np.asarray((bits.astype(np.uint64) << np.uint64(32)) | row)


def sort_order(table: ReviewTable, rows: np.ndarray, column: int, descending: bool) -> np.ndarray:
    """``rows`` (indices into ``table``) sorted by ``column``; ties keep the dataset's order (and, for
    a review listed twice, the table's)."""
    return np.asarray(rows[np.argsort(sort_keys(table, rows, column, descending), kind="stable")])


@dataclass(frozen=True)
class WordRanking:
    """A predicted class's most attended words, by attention mass and by frequency (reviews)."""

    name: str
    reviews: int
    mass: tuple[tuple[str, float], ...]
    frequency: tuple[tuple[str, int], ...]


@dataclass(frozen=True, eq=False)
class DatasetMetrics:
    """Metrics of the scored reviews.

    per_class: (name, precision, recall, f1, support) per class. confusion: (C, C), true class by
    row. bin_edges: (B+1,); bin_count: (B,); bin_confidence, bin_accuracy: (B,) (NaN: empty bin).
    last_share / uniform_share: mean attention on the last sentence, and what equal sentence weights
    would give (reviews of more than one sentence).
    """

    n: int
    total: int
    complete: bool
    accuracy: float
    label_names: tuple[str, ...]
    per_class: tuple[tuple[str, float, float, float, int], ...]
    confusion: np.ndarray
    bin_edges: np.ndarray
    bin_count: np.ndarray
    bin_confidence: np.ndarray
    bin_accuracy: np.ndarray
    ece: float
    last_share: float
    uniform_share: float
    words: tuple[WordRanking, ...]
