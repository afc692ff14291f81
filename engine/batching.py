"""Turn encoded documents into padded ``(B, S, W)`` id tensors.

A document is a list of sentences, each a list of word ids (no padding). Padding is id 0 and is
only ever at the end of a sentence or after a document's last sentence, which is what the model's
packed GRUs and masked attention rely on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from engine.config import LengthLimits
from engine.vocab import PAD_ID

__all__ = [
    "EncodedDoc",
    "LengthLimits",
    "Truncation",
    "bucket_batches",
    "choose_limits",
    "collate",
    "count_truncation",
]

EncodedDoc = list[list[int]]


@dataclass(frozen=True)
class Truncation:
    """What :func:`collate` cut to fit ``LengthLimits``; all zero when nothing was cut."""

    documents: int = 0  # documents that lost anything
    sentences: int = 0  # whole sentences dropped
    words: int = 0  # words dropped (inside kept sentences and in dropped sentences)

    def __add__(self, other: Truncation) -> Truncation:
        return Truncation(
            self.documents + other.documents, self.sentences + other.sentences, self.words + other.words
        )


def choose_limits(
    docs: Sequence[EncodedDoc], word_quantile: float = 0.95, sentence_quantile: float = 0.95
) -> LengthLimits:
    """Pick limits as quantiles of sentence lengths and sentences per document."""
    if not docs:
        raise ValueError("cannot choose length limits from no documents")
    sent_lens = np.fromiter((len(s) for d in docs for s in d), dtype=np.int64)
    doc_lens = np.fromiter((len(d) for d in docs), dtype=np.int64)
    max_words = max(1, math.ceil(float(np.quantile(sent_lens, word_quantile))))
    max_sentences = max(1, math.ceil(float(np.quantile(doc_lens, sentence_quantile))))
    return LengthLimits(max_words, max_sentences, word_quantile, sentence_quantile)


def count_truncation(docs: Sequence[EncodedDoc], limits: LengthLimits) -> Truncation:
    """What cutting ``docs`` to ``limits`` drops (empty sentences are not counted)."""
    n_docs = n_sents = n_words = 0
    for d in docs:
        d = [s for s in d if s]
        lost_s = max(0, len(d) - limits.max_sentences)
        lost_w = sum(map(len, d)) - sum(min(len(s), limits.max_words) for s in d[: limits.max_sentences])
        n_docs += bool(lost_s or lost_w)
        n_sents += lost_s
        n_words += lost_w
    return Truncation(n_docs, n_sents, n_words)


def collate(
    docs: Sequence[EncodedDoc], limits: LengthLimits | None = None
) -> tuple[torch.Tensor, Truncation]:
    """Pad ``docs`` into ids ``(B, S, W)``; cut to ``limits`` if given and count what was cut.

    Every document must have at least one non-empty sentence; empty sentences are dropped.
    """
    docs = [[s for s in d if s] for d in docs]
    if any(not d for d in docs):
        raise ValueError("every document needs at least one word")
    trunc = Truncation()
    if limits is not None:
        trunc = count_truncation(docs, limits)
        docs = [[s[: limits.max_words] for s in d[: limits.max_sentences]] for d in docs]
    n_s = max(len(d) for d in docs)
    n_w = max(len(s) for d in docs for s in d)
    ids = np.full((len(docs), n_s, n_w), PAD_ID, dtype=np.int64)  # (B, S, W)
    for b, d in enumerate(docs):
        for s, sent in enumerate(d):
            ids[b, s, : len(sent)] = sent
    return torch.from_numpy(ids), trunc


def bucket_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, bucket_factor: int = 50
) -> list[list[int]]:
    """Shuffled batches of indices whose documents have similar ``lengths`` (less padding).

    Indices are shuffled, cut into pools of ``bucket_factor`` batches, each pool sorted by length
    and cut into batches; then the batch order is shuffled.
    """
    order = rng.permutation(len(lengths))
    pool = batch_size * bucket_factor
    batches: list[list[int]] = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool].tolist(), key=lambda j: lengths[j])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]
