"""Tests for engine.vocab: build order, cut-offs, special ids, encoding."""

from __future__ import annotations

import pytest

from engine.vocab import PAD, PAD_ID, UNK, UNK_ID, Vocab

DOCS = [
    [["the", "cat", "sat"], ["the", "dog"]],
    [["a", "dog", "the"], ["zebra"]],
    [["cat", "the", "bat"]],
]
# counts: the 4, cat 2, dog 2, a 1, bat 1, sat 1, zebra 1


def test_special_ids() -> None:
    assert (PAD_ID, UNK_ID) == (0, 1)
    v = Vocab.build(DOCS, min_count=1)
    assert v.itos[PAD_ID] == PAD and v.itos[UNK_ID] == UNK
    assert v.id(PAD) == PAD_ID and v.id(UNK) == UNK_ID


def test_build_orders_by_frequency_then_alphabet() -> None:
    v = Vocab.build(DOCS, min_count=1)
    assert v.itos == (PAD, UNK, "the", "cat", "dog", "a", "bat", "sat", "zebra")
    assert len(v) == 9


def test_min_count() -> None:
    assert Vocab.build(DOCS, min_count=2).itos == (PAD, UNK, "the", "cat", "dog")
    assert Vocab.build(DOCS, min_count=4).itos == (PAD, UNK, "the")
    assert Vocab.build(DOCS, min_count=5).itos == (PAD, UNK)


def test_max_size_counts_the_specials() -> None:
    v = Vocab.build(DOCS, min_count=1, max_size=4)
    assert v.itos == (PAD, UNK, "the", "cat")
    assert len(v) == 4
    assert Vocab.build(DOCS, min_count=1, max_size=2).itos == (PAD, UNK)
    assert Vocab.build(DOCS, min_count=1, max_size=100).itos == Vocab.build(DOCS, min_count=1).itos


def test_special_tokens_in_text_are_not_duplicated() -> None:
    v = Vocab.build([[[PAD, UNK, "x", "x"]]], min_count=1)
    assert v.itos == (PAD, UNK, "x")


def test_unknown_words_map_to_unk() -> None:
    v = Vocab.build(DOCS, min_count=2)
    assert v.encode(["the", "zebra", "dog", "never-seen"]) == [2, UNK_ID, 4, UNK_ID]
    assert v.id("cat") == 3
    assert v.id("bat") == UNK_ID
    assert "cat" in v and "bat" not in v


@pytest.mark.parametrize("itos", [("a", "b"), (UNK, PAD, "x"), (PAD,), (PAD, UNK, "x", "x")])
def test_invalid_itos_raises(itos: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        Vocab(itos)


def test_build_accepts_generators() -> None:
    v = Vocab.build((d for d in DOCS), min_count=1)
    assert v == Vocab.build(DOCS, min_count=1)
