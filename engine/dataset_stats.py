"""What a dataset holds before training on it, and what its length limits would cut.

``dataset_stats(path)`` reads a dataset with :func:`engine.data.load_dataset` (so every format and
every skipped-row report is the readers' own), tokenizes it with the training code's tokenizer, and
keeps only counts: classes, skipped rows, and the length of every sentence and document.

Training picks its padding limits as quantiles of the *training split's* lengths
(:func:`engine.batching.choose_limits`). ``DatasetStats.training_part(dev_fraction, seed, limit)``
selects exactly the documents :func:`engine.train.train` would use for that, and
``LengthProfile.cut(word_quantile, sentence_quantile)`` returns the limits training would choose and
what :func:`engine.batching.count_truncation` says they cut. Both functions are called, not copied:
the documents are passed as lists of ``range`` objects, which have the lengths and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal, cast

import numpy as np

from engine.batching import EncodedDoc, LengthLimits, Truncation, choose_limits, count_truncation
from engine.data import load_dataset
from engine.preprocess import texts_to_words
from engine.steps import run_to_end
from engine.train import split_dev

__all__ = [
    "QUANTILE_STEP",
    "DatasetStats",
    "LengthCut",
    "LengthProfile",
    "dataset_stats",
    "dataset_stats_steps",
]

CHUNK = 2000  # documents tokenized per step (the stats generator yields between chunks)
QUANTILE_STEP = 0.005  # resolution of the quantile a dragged cut proposes
Kind = Literal["words", "sentences"]


@dataclass(frozen=True)
class LengthCut:
    """Limits from quantiles of a :class:`LengthProfile`, and what they cut from it."""

    limits: LengthLimits
    truncation: Truncation
    documents: int  # documents in the profile
    sentences: int  # non-empty sentences in the profile
    words: int  # words in the profile
    sentences_within: float  # share of sentences with at most ``limits.max_words`` words
    documents_within: float  # share of documents with at most ``limits.max_sentences`` sentences

    @property
    def words_kept(self) -> float:
        """Share of all words that training sees after the cut."""
        return 1.0 - self.truncation.words / self.words if self.words else 1.0


@dataclass(frozen=True)
class LengthProfile:
    """Lengths of a set of documents, ragged: document ``i`` owns the next ``document_lengths[i]``
    entries of ``sentence_lengths``.

    Attributes
    ----------
    sentence_lengths : (N,) int64
        Words in each sentence, documents in order.
    document_lengths : (D,) int64
        Sentences in each document.
    """

    sentence_lengths: np.ndarray
    document_lengths: np.ndarray

    def __post_init__(self) -> None:
        if int(self.document_lengths.sum()) != self.sentence_lengths.size:
            raise ValueError("document lengths must add up to the number of sentences")

    @property
    def documents(self) -> int:
        return int(self.document_lengths.size)

    @cached_property
    def _docs(self) -> list[EncodedDoc]:
        """Documents as lists of ``range(n)``: what choose_limits and count_truncation read (lengths)."""
        ends = np.cumsum(self.document_lengths).tolist()
        starts = [0, *ends[:-1]]
        lens = self.sentence_lengths.tolist()
        docs = [[range(n) for n in lens[a:b]] for a, b in zip(starts, ends, strict=True)]
        return cast("list[EncodedDoc]", docs)

    def cut(self, word_quantile: float, sentence_quantile: float) -> LengthCut:
        """The limits training chooses at these quantiles, and what they cut."""
        limits = choose_limits(self._docs, word_quantile, sentence_quantile)
        nonempty = self.sentence_lengths[self.sentence_lengths > 0]
        return LengthCut(
            limits=limits,
            truncation=count_truncation(self._docs, limits),
            documents=self.documents,
            sentences=int(nonempty.size),
            words=int(self.sentence_lengths.sum()),
            sentences_within=float(np.mean(nonempty <= limits.max_words)) if nonempty.size else 1.0,
            documents_within=float(np.mean(self.document_lengths <= limits.max_sentences)),
        )

    def quantile_for(self, kind: Kind, limit: float) -> float:
        """The largest quantile on a ``QUANTILE_STEP`` grid whose limit is at most ``limit``.

        A dragged cut proposes a length; the training setting is a quantile. The grid's limits are
        ``ceil(np.quantile(lengths, q))``, the rule of :func:`~engine.batching.choose_limits` (a test
        checks they agree); the smallest grid quantile is returned when even it is above ``limit``.
        """
        lengths = self.sentence_lengths if kind == "words" else self.document_lengths
        grid = self._grid
        limits = np.ceil(np.quantile(lengths, grid)) if lengths.size else np.ones_like(grid)
        fits = np.flatnonzero(np.maximum(limits, 1) <= limit)
        return float(grid[fits[-1]] if fits.size else grid[0])

    @cached_property
    def _grid(self) -> np.ndarray:
        n = round(1 / QUANTILE_STEP)
        return np.round(np.arange(1, n + 1) * QUANTILE_STEP, 6)


@dataclass(frozen=True)
class DatasetStats:
    """Counts of a labelled dataset; lengths of every document that has a word.

    Attributes
    ----------
    labels : (R,) int64
        Class of every usable row (indexes ``label_names``), in file order.
    has_words : (R,) bool
        False for rows whose text has no word token (training drops them).
    lengths : LengthProfile
        Lengths of the rows with words, in file order.
    """

    source: str
    format: str
    sha256: str
    label_names: tuple[str, ...]
    labels: np.ndarray = field(repr=False)
    has_words: np.ndarray = field(repr=False)
    lengths: LengthProfile = field(repr=False)
    skipped: int = 0
    skipped_summary: str = ""  # the readers' one-line report, "" when nothing was skipped
    skipped_reasons: dict[str, int] = field(default_factory=dict)  # reason -> rows

    @property
    def documents(self) -> int:
        return int(self.labels.size)

    @property
    def empty_documents(self) -> int:
        return int((~self.has_words).sum())

    @property
    def words(self) -> int:
        return int(self.lengths.sentence_lengths.sum())

    def class_counts(self) -> dict[str, int]:
        """Rows per class, in ``label_names`` order."""
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(c) for name, c in zip(self.label_names, counts, strict=True)}

    @property
    def balance(self) -> float:
        """Rows of the rarest class over rows of the commonest (1.0 = balanced)."""
        counts = list(self.class_counts().values())
        most = max(counts, default=0)
        return min(counts) / most if most else 0.0

    def training_part(self, dev_fraction: float, seed: int, limit: int | None = None) -> LengthProfile:
        """Lengths of the documents training picks its limits from, with these settings.

        The same selection as :func:`engine.train.train`: the first ``limit`` rows, its stratified
        dev split left out, documents without words dropped.
        """
        n = self.documents if limit is None else min(limit, self.documents)
        train_idx, _ = split_dev(tuple(self.labels[:n].tolist()), dev_fraction, seed)
        rows = np.zeros(self.documents, dtype=bool)
        rows[train_idx] = True
        keep_doc = rows[self.has_words]  # (documents with words,)
        doc_lens = self.lengths.document_lengths
        keep_sent = np.repeat(keep_doc, doc_lens)
        return LengthProfile(self.lengths.sentence_lengths[keep_sent], doc_lens[keep_doc])


def dataset_stats(
    path: str | Path, format: str = "auto", limit: int | None = None, workers: int | None = None
) -> DatasetStats:
    """Read and tokenize a dataset and count what training needs to know. See the module docstring."""
    return run_to_end(dataset_stats_steps(path, format, limit, workers))


def dataset_stats_steps(
    path: str | Path, format: str = "auto", limit: int | None = None, workers: int | None = None
) -> Generator[str, None, DatasetStats]:
    """:func:`dataset_stats` as a generator yielding a progress line between chunks of documents.

    A caller that stops iterating (a GUI worker whose dataset changed) cancels it; the return
    value is the :class:`DatasetStats`. Raises :class:`~engine.data.DatasetError` for unusable data.
    """
    ds = load_dataset(path, format, limit=limit)
    yield f"read {len(ds):,} documents ({ds.format})"
    sent_lens: list[int] = []
    doc_lens: list[int] = []
    has_words = np.zeros(len(ds), dtype=bool)
    for start in range(0, len(ds), CHUNK):
        for i, doc in enumerate(texts_to_words(ds.texts[start : start + CHUNK], workers), start):
            if any(doc):
                has_words[i] = True
                doc_lens.append(len(doc))
                sent_lens += map(len, doc)
        yield f"tokenized {min(start + CHUNK, len(ds)):,} of {len(ds):,} documents"
    return DatasetStats(
        source=str(path),
        format=ds.format,
        sha256=ds.sha256,
        label_names=ds.label_names,
        labels=np.asarray(ds.labels, dtype=np.int64),
        has_words=has_words,
        lengths=LengthProfile(np.asarray(sent_lens, dtype=np.int64), np.asarray(doc_lens, dtype=np.int64)),
        skipped=len(ds.skipped),
        skipped_summary=ds.skipped_summary(),
        skipped_reasons=dict(Counter(r.reason for r in ds.skipped)),
    )
