"""What the training view shows, as plain values the controller fills in, and their wording.

The controller turns engine results (dataset statistics, length cuts, progress records) into these;
the view only formats them. Nothing here knows the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.display._attention import AttentionDisplay
from app.display._words import count, plural

__all__ = ["CutSummary", "DatasetSummary", "HistogramData", "ProbeSnapshot", "RunProgress", "duration"]


def duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset's counts, for the statistics table."""

    documents: int
    format: str
    class_counts: tuple[tuple[str, int], ...]
    balance: float  # rarest class / commonest class
    skipped: int
    skipped_reasons: tuple[tuple[str, int], ...]
    empty_documents: int
    words: int
    sentences: int
    training_documents: int  # the part the length limits come from

    def rows(self) -> list[tuple[str, str]]:
        n = max(self.documents, 1)
        classes = ", ".join(f"{k} {c:,} ({c / n:.0%})" for k, c in self.class_counts)
        why = ", ".join(f"{reason} {c:,}" for reason, c in self.skipped_reasons)
        rows = [
            ("Documents", f"{self.documents:,} ({self.format})"),
            ("Classes", f"{len(self.class_counts)}: {classes}"),
            ("Balance", f"{self.balance:.2f} (rarest ÷ commonest class)"),
            ("Malformed rows", f"{self.skipped:,} skipped ({why})" if self.skipped else "none"),
        ]
        if self.empty_documents:
            rows.append(
                (
                    "Without words",
                    f"{count(self.empty_documents, 'document')} (training leaves "
                    f"{plural(self.empty_documents, 'it', 'them')} out)",
                )
            )
        return [
            *rows,
            ("Text", f"{count(self.words, 'word')} in {count(self.sentences, 'sentence')}"),
            (
                "Training part",
                f"{count(self.training_documents, 'document')} (the dev split held "
                "out): the histograms below",
            ),
        ]


@dataclass(frozen=True)
class CutSummary:
    """The limits two quantiles give, and what they cut from the training part."""

    max_words: int
    word_quantile: float
    sentences_within: float  # share of sentences with at most max_words words
    max_sentences: int
    sentence_quantile: float
    documents_within: float  # share of documents with at most max_sentences sentences
    words_kept: float  # share of all words training sees
    documents: int
    documents_cut: int  # documents that lose any text
    sentences_dropped: int
    words_dropped: int

    def words_cut(self) -> tuple[int, str, str]:
        """(limit, label on the line, note below the histogram) for words per sentence."""
        return (
            self.max_words,
            f"≤ {self.max_words} words (q {self.word_quantile:.3f})",
            f"Sentences are cut at {self.max_words} words: {self.sentences_within:.1%} of them fit whole.",
        )

    def sentences_cut(self) -> tuple[int, str, str]:
        return (
            self.max_sentences,
            f"≤ {self.max_sentences} sentences (q {self.sentence_quantile:.3f})",
            f"Documents are cut at {self.max_sentences} sentences: {self.documents_within:.1%} of them "
            "fit whole.",
        )

    def summary(self) -> str:
        return (
            f"<b>Training sees {self.words_kept:.1%} of the words.</b> {self.documents_cut:,} of "
            f"{self.documents:,} documents lose text: {self.sentences_dropped:,} whole sentences and "
            f"{self.words_dropped:,} words in all."
        )


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands, for the progress bar and the line under it."""

    step: int
    total: int
    epoch: int
    epochs: int
    elapsed_s: float
    left_s: float | None = None  # None: the run has ended
    docs_per_s: float | None = None

    def text(self) -> str:
        if self.left_s is None:
            return f"{self.step:,} steps in {duration(self.elapsed_s)} (epoch {self.epoch} of {self.epochs})"
        rate = f"{self.docs_per_s:,.0f} documents/s · " if self.docs_per_s else ""
        return (
            f"Epoch {self.epoch} of {self.epochs} · {rate}{duration(self.elapsed_s)} so far · "
            f"about {duration(self.left_s)} left"
        )


@dataclass(frozen=True, eq=False)
class HistogramData:
    """What one histogram shows.

    Attributes
    ----------
    counts : (L + 1,) int64
        ``counts[n]`` items of length ``n``.
    """

    counts: np.ndarray
    unit: str  # "words" or "sentences": the length's unit
    items: str  # "sentences" or "documents": what is counted

    def quantile_length(self, q: float) -> int:
        """Smallest length with at least share ``q`` of the items at or below it (for the x range)."""
        c = np.cumsum(self.counts)
        return int(np.searchsorted(c, q * c[-1])) if c.size and c[-1] else 0


@dataclass(frozen=True, eq=False)
class ProbeSnapshot:
    """The probe's attention at one moment of training."""

    title: str  # "before training", "epoch 3"
    epoch: float  # where it stands on the curves' x axis
    step: int
    dev_accuracy: float | None
    display: AttentionDisplay

    def describe(self, top: int = 3) -> str:
        d = self.display
        prob = dict(d.probabilities).get(d.label, 0.0)
        parts = [self.title]
        if self.dev_accuracy is not None:
            parts.append(f"dev accuracy {self.dev_accuracy:.1%}")
        parts.append(f"predicts {d.label} ({prob:.1%})")
        if d.n_words:
            w = d.product()
            best = np.argsort(-w, kind="stable")[:top]
            words = ", ".join(f"“{d.text[d.word_start[i] : d.word_end[i]]}” {w[i]:.2f}" for i in best)
            parts.append(f"heaviest: {words}")
        return " · ".join(parts)
