"""What the attention view draws: plain arrays, built by the controller from an engine ``Analysis``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from app.display._words import count

__all__ = ["MODES", "AttentionDisplay", "Mode"]

Mode = Literal["word", "product"]
MODES: dict[Mode, str] = {
    "word": "Word weight within its sentence",
    "product": "Word weight × sentence weight",
}


@dataclass(frozen=True, eq=False)
class AttentionDisplay:
    """A prediction and its weights, located by character offsets into ``text``.

    N words, S sentences; words are in text order and every word lies inside its sentence.

    Attributes
    ----------
    word_start, word_end : (N,) int64
        Character span of each word in ``text``.
    word_weight : (N,) float64
        Attention within its sentence (a sentence's words sum to 1).
    word_sentence : (N,) int64
        Index of the word's sentence.
    word_known : (N,) bool
        False where the vocabulary does not know the word (the model read ``<unk>``).
    sentence_start, sentence_end, sentence_weight : (S,)
        Sentence spans and sentence attention (sums to 1).
    """

    text: str
    label: str
    probabilities: tuple[tuple[str, float], ...]  # in the model's class order
    word_start: np.ndarray
    word_end: np.ndarray
    word_weight: np.ndarray
    word_sentence: np.ndarray
    word_known: np.ndarray
    sentence_start: np.ndarray
    sentence_end: np.ndarray
    sentence_weight: np.ndarray
    seconds: float = 0.0  # time the engine took

    @property
    def n_words(self) -> int:
        """Tokens the model read, punctuation included (each gets a weight)."""
        return int(self.word_start.size)

    @cached_property
    def word_is_word(self) -> np.ndarray:
        """(N,) True where the token has a letter or digit (a word), False for punctuation."""
        return np.array(
            [
                any(c.isalnum() for c in self.text[a:b])
                for a, b in zip(self.word_start.tolist(), self.word_end.tolist(), strict=True)
            ],
            dtype=bool,
        )

    @property
    def n_real_words(self) -> int:
        """Words as a reader counts them: tokens with a letter or digit."""
        return int(self.word_is_word.sum())

    @property
    def n_unknown(self) -> int:
        """Words (not punctuation) the vocabulary does not know."""
        return int((self.word_is_word & ~self.word_known).sum())

    def summary(self) -> str:
        """ "87 words (104 tokens with punctuation) in 5 sentences; 3 unknown to the model"."""
        tokens = (
            "" if self.n_words == self.n_real_words else f" ({count(self.n_words, 'token')} with punctuation)"
        )
        return (
            f"{count(self.n_real_words, 'word')}{tokens} in {count(self.n_sentences, 'sentence')}; "
            f"{self.n_unknown:,} unknown to the model (dotted underline)"
        )

    def warning(self) -> str:
        """A warning when the prediction can mean little: every word is unknown to the model."""
        if self.n_real_words and self.n_unknown == self.n_real_words:
            return (
                "None of these words is in the model's vocabulary: it read only <unk>, so the "
                "prediction says nothing about this text (is it in the training data's language?)."
            )
        return ""

    @property
    def n_sentences(self) -> int:
        return int(self.sentence_start.size)

    def product(self) -> np.ndarray:
        """(N,) word weight × its sentence's weight: the paper's document-level word importance."""
        return self.word_weight * self.sentence_weight[self.word_sentence]

    def values(self, mode: Mode) -> np.ndarray:
        """(N,) the weight shown in ``mode``."""
        return self.word_weight if mode == "word" else self.product()

    def intensities(self, mode: Mode) -> np.ndarray:
        """(N,) colour intensity in [0, 1].

        ``word``: weight relative to the heaviest word of the same sentence (weights of different
        sentences are not comparable: each sentence's words sum to 1). ``product``: relative to the
        heaviest product in the document.
        """
        v = self.values(mode)
        if v.size == 0:
            return v
        if mode == "word":
            top = np.zeros(self.n_sentences)
            np.maximum.at(top, self.word_sentence, v)
            top = top[self.word_sentence]
        else:
            top = np.full_like(v, v.max())
        return np.divide(v, top, out=np.zeros_like(v), where=top > 0)

    def scale_max(self, mode: Mode) -> float:
        """The weight that gets the darkest colour (``product``: the document's top; ``word``: 1.0 = 100%)."""
        if mode == "word" or self.n_words == 0:
            return 1.0
        return float(self.product().max())

    def sentence_at(self, pos: int) -> int:
        """Index of the sentence whose span holds ``pos`` (its end included), or -1."""
        i = int(np.searchsorted(self.sentence_start, pos, side="right")) - 1
        return i if i >= 0 and pos <= self.sentence_end[i] else -1

    def words_of(self, sentence: int) -> slice:
        lo = int(np.searchsorted(self.word_sentence, sentence, side="left"))
        hi = int(np.searchsorted(self.word_sentence, sentence, side="right"))
        return slice(lo, hi)

    def describe_word(self, i: int) -> str:
        """The hover text of word ``i``: its exact weights."""
        s = int(self.word_sentence[i])
        w, sw = float(self.word_weight[i]), float(self.sentence_weight[s])
        text = self.text[self.word_start[i] : self.word_end[i]]
        n = self.words_of(s).stop - self.words_of(s).start
        lines = [
            f"“{text}”",
            f"word weight {w:.4f} (in sentence {s + 1}, {count(n, 'token')}; uniform would be {1 / n:.4f})",
            f"sentence weight {sw:.4f}",
            f"product {w * sw:.5f}",
        ]
        if not self.word_known[i]:
            lines.append("not in the vocabulary: the model read <unk>")
        return "\n".join(lines)

    def describe_sentence(self, s: int) -> str:
        n = self.n_sentences
        return (
            f"sentence {s + 1} of {n}: weight {float(self.sentence_weight[s]):.4f} "
            f"(uniform would be {1 / n:.4f})"
        )
