"""What the Dataset explorer paints: the review table's columns, the metrics, the corpus attention.

Plain numpy columns (one entry per scored review) and tuples; the sort order is computed here too, with
numpy (a stable argsort of one column), so 25,000 rows sort in a few milliseconds whatever the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["COLUMNS", "DatasetMetrics", "ReviewTable", "WordRanking", "sort_order"]

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


def sort_order(table: ReviewTable, rows: np.ndarray, column: int, descending: bool) -> np.ndarray:
    """``rows`` (indices into ``table``) sorted by ``column``; ties keep the dataset's order."""
    keys = table.column(column)[rows]
    if descending:
        # a stable sort of the reversed rows, reversed back: ties stay in ascending row order
        rev = rows[::-1]
        return np.asarray(rev[np.argsort(keys[::-1], kind="stable")][::-1])
    return np.asarray(rows[np.argsort(keys, kind="stable")])


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
