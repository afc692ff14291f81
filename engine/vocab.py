"""Word vocabulary: normalized token text <-> integer id.

Id 0 is padding and id 1 stands for every word the vocabulary does not know.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["PAD", "PAD_ID", "UNK", "UNK_ID", "Vocab"]

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


@dataclass(frozen=True)
class Vocab:
    """An ordered word list; ``itos[i]`` is the word with id ``i``."""

    itos: tuple[str, ...]
    _stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.itos[:2] != (PAD, UNK):
            raise ValueError(f"vocabulary must start with {PAD!r}, {UNK!r}")
        if len(set(self.itos)) != len(self.itos):
            raise ValueError("vocabulary has duplicate words")
        object.__setattr__(self, "_stoi", {w: i for i, w in enumerate(self.itos)})

    @classmethod
    def build(
        cls, docs: Iterable[Iterable[Iterable[str]]], min_count: int = 2, max_size: int | None = None
    ) -> Vocab:
        """Keep words seen at least ``min_count`` times, most frequent first, ties alphabetical."""
        counts: Counter[str] = Counter()
        for doc in docs:
            for sentence in doc:
                counts.update(sentence)
        words = sorted(
            (w for w, c in counts.items() if c >= min_count and w not in (PAD, UNK)),
            key=lambda w: (-counts[w], w),
        )
        if max_size is not None:
            words = words[: max(0, max_size - 2)]
        return cls((PAD, UNK, *words))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: object) -> bool:
        return word in self._stoi

    def id(self, word: str) -> int:
        return self._stoi.get(word, UNK_ID)

    def encode(self, words: Sequence[str]) -> list[int]:
        get = self._stoi.get
        return [get(w, UNK_ID) for w in words]
