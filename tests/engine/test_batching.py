"""Tests for engine.batching: padding layout, truncation counts, quantile limits, length buckets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from engine.batching import LengthLimits, Truncation, bucket_batches, choose_limits, collate
from engine.vocab import PAD_ID


def test_collate_padding_layout() -> None:
    ids, trunc = collate([[[5, 6, 7], [8]], [[9]], [[2, 3], [4, 5], [6]]])
    assert ids.dtype == torch.int64
    assert ids.tolist() == [
        [[5, 6, 7], [8, 0, 0], [0, 0, 0]],
        [[9, 0, 0], [0, 0, 0], [0, 0, 0]],
        [[2, 3, 0], [4, 5, 0], [6, 0, 0]],
    ]
    assert PAD_ID == 0
    assert trunc == Truncation(0, 0, 0)


def test_collate_drops_empty_sentences() -> None:
    ids, trunc = collate([[[], [5], [], [6, 7], []]])
    assert ids.tolist() == [[[5, 0], [6, 7]]]
    assert trunc == Truncation()


@pytest.mark.parametrize("docs", [[[]], [[[]]], [[[3]], [[], []]]])
def test_collate_document_without_words_raises(docs: list) -> None:
    with pytest.raises(ValueError, match="at least one word"):
        collate(docs)


def test_collate_truncation_counts() -> None:
    limits = LengthLimits(max_words=2, max_sentences=2)
    docs = [
        [[2, 3, 4], [5], [6, 7]],  # words 4 cut in sentence 1, sentence 3 (2 words) dropped
        [[8, 9]],  # fits
        [[10], [11], [12], [13]],  # two sentences (one word each) dropped
        [[], [14, 15], [], [16]],  # empty sentences are not "cut": fits
    ]
    ids, trunc = collate(docs, limits)
    assert trunc == Truncation(documents=2, sentences=3, words=5)
    assert ids.shape == (4, 2, 2)
    assert ids.tolist() == [
        [[2, 3], [5, 0]],
        [[8, 9], [0, 0]],
        [[10, 0], [11, 0]],
        [[14, 15], [16, 0]],
    ]


def test_collate_with_generous_limits_cuts_nothing() -> None:
    docs = [[[2, 3, 4], [5]], [[6]]]
    ids, trunc = collate(docs, LengthLimits(max_words=10, max_sentences=10))
    assert trunc == Truncation()
    assert ids.tolist() == collate(docs)[0].tolist()


def test_truncation_add() -> None:
    assert Truncation(1, 2, 3) + Truncation(4, 5, 6) == Truncation(5, 7, 9)


def test_choose_limits_takes_ceiled_quantiles() -> None:
    # sentence lengths [1, 2, 3, 4, 10]; sentences per document [2, 1, 2]
    docs = [[[2], [2, 3]], [[2, 3, 4]], [[2, 3, 4, 5], [2] * 10]]
    limits = choose_limits(docs, word_quantile=0.9, sentence_quantile=0.25)
    # numpy linear quantile: 0.9 of [1,2,3,4,10] -> 4 + 0.6 * 6 = 7.6 -> 8;
    # 0.25 of [1,2,2] -> 1 + 0.5 * 1 = 1.5 -> 2
    assert np.quantile([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)
    assert limits == LengthLimits(max_words=8, max_sentences=2, word_quantile=0.9, sentence_quantile=0.25)
    full = choose_limits(docs, 1.0, 1.0)
    assert (full.max_words, full.max_sentences) == (10, 2)
    assert (full.word_quantile, full.sentence_quantile) == (1.0, 1.0)


def test_choose_limits_at_least_one_and_rejects_nothing() -> None:
    limits = choose_limits([[[2]], [[3]]], 0.0, 0.0)
    assert (limits.max_words, limits.max_sentences) == (1, 1)
    with pytest.raises(ValueError):
        choose_limits([])


def test_choose_limits_matches_numpy_on_random_docs() -> None:
    rng = np.random.default_rng(3)
    docs = [[[2] * int(rng.integers(1, 30)) for _ in range(int(rng.integers(1, 12)))] for _ in range(50)]
    limits = choose_limits(docs, 0.95, 0.8)
    sent_lens = [len(s) for d in docs for s in d]
    doc_lens = [len(d) for d in docs]
    assert limits.max_words == math.ceil(np.quantile(sent_lens, 0.95))
    assert limits.max_sentences == math.ceil(np.quantile(doc_lens, 0.8))


def test_bucket_batches_cover_every_index_once() -> None:
    lengths = [int(x) for x in np.random.default_rng(0).integers(1, 200, size=103)]
    batches = bucket_batches(lengths, 8, np.random.default_rng(5), bucket_factor=3)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(103))
    assert all(1 <= len(b) <= 8 for b in batches)
    assert len(batches) == math.ceil(24 / 8) * 4 + math.ceil(7 / 8)  # pools of 24, last pool 7


def test_bucket_batches_deterministic_per_seed() -> None:
    lengths = list(range(60, 0, -1))
    a = bucket_batches(lengths, 7, np.random.default_rng(11))
    b = bucket_batches(lengths, 7, np.random.default_rng(11))
    c = bucket_batches(lengths, 7, np.random.default_rng(12))
    assert a == b
    assert a != c


def test_bucket_batches_group_similar_lengths() -> None:
    lengths = [int(x) for x in np.random.default_rng(1).permutation(64)]
    batches = bucket_batches(lengths, 8, np.random.default_rng(0), bucket_factor=100)  # one pool
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
    assert all(hi - lo == 7 for lo, hi in spans)  # each batch: 8 consecutive lengths
    assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(spans))


def test_bucket_batches_empty() -> None:
    assert bucket_batches([], 4, np.random.default_rng(0)) == []
