"""Texts -> normalized words per sentence -> vocabulary ids, in parallel when it pays."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from engine.batching import EncodedDoc
from engine.text import normalize, tokenize
from engine.vocab import Vocab

__all__ = ["default_workers", "doc_words", "encode_words", "texts_to_words"]

Words = list[list[str]]


def doc_words(text: str) -> Words:
    """Normalized word strings of each sentence of ``text``."""
    return [[normalize(t.text) for t in s.tokens] for s in tokenize(text).sentences]


def default_workers() -> int:
    return max(1, min(16, (os.cpu_count() or 1)))


def texts_to_words(texts: Sequence[str], workers: int | None = None) -> list[Words]:
    """Tokenize many texts; uses a process pool for large inputs (the tokenizer is pure Python)."""
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(texts) < 2000:
        return [doc_words(t) for t in texts]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(doc_words, texts, chunksize=256))


def encode_words(docs: Sequence[Words], vocab: Vocab) -> list[EncodedDoc]:
    return [[vocab.encode(s) for s in d] for d in docs]
