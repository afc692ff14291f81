"""What the attention view draws: plain arrays, built by the controller from an engine ``Analysis``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from app.display._words import count

__all__ = [
    "ATTENTION_MODES",
    "ATTRIBUTION_MEANINGS",
    "ATTRIBUTION_MODES",
    "MODES",
    "AttentionDisplay",
    "AttributionValues",
    "Mode",
    "is_attribution",
]

Mode = Literal["word", "product", "ig", "occlusion"]
MODES: dict[Mode, str] = {
    "word": "Attention: word weight within its sentence",
    "product": "Attention: word weight × sentence weight",
    "ig": "Attribution: integrated gradients (signed)",
    "occlusion": "Attribution: leave one out, Δp (signed)",
}
ATTENTION_MODES: tuple[Mode, ...] = ("word", "product")
ATTRIBUTION_MODES: tuple[Mode, ...] = ("ig", "occlusion")
# What each attribution's number is, in one sentence (the legend and the hover text say it).
ATTRIBUTION_MEANINGS: dict[str, str] = {
    "ig": (
        "Integrated gradients: each word's share of p(class | review) − p(class | all padding); "
        "the words' scores add up to it."
    ),
    "occlusion": (
        "Δp = p(class | review) − p(class | review without the word); a sentence's bar: without "
        "the whole sentence."
    ),
}


def is_attribution(mode: str) -> bool:
    return mode in ATTRIBUTION_MODES


@dataclass(frozen=True, eq=False)
class AttributionValues:
    """One attribution method's signed scores for one target class, in the display's word order.

    Positive = the word (sentence) pushes the prediction towards ``target``; negative = away.
    """

    method: str
    target: str
    word: np.ndarray  # (N,)
    sentence: np.ndarray  # (S,)
    gap: float | None = None  # completeness gap (integrated gradients)
    steps: int | None = None
    agreement: tuple[tuple[str, float, str], ...] = ()  # (metric, value, meaning)

    @property
    def top(self) -> float:
        """The largest |score| of a word: it gets the darkest colour."""
        return float(np.abs(self.word).max()) if self.word.size else 0.0


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
    # Signed attributions by method ("ig", "occlusion"), for one target class; absent until computed.
    attributions: Mapping[str, AttributionValues] = field(default_factory=dict)
    # Counterfactual edit: words and sentences the model did not read (struck through; text untouched).
    removed_word: np.ndarray | None = None  # (N,) bool
    removed_sentence: np.ndarray | None = None  # (S,) bool

    @property
    def n_removed(self) -> tuple[int, int]:
        """(words, sentences) left out of what the model read."""
        s = int(self.removed_sentence.sum()) if self.removed_sentence is not None else 0
        if self.removed_word is None:
            return 0, s
        alone = self.removed_word.copy()  # words left out on their own, not with their sentence
        if self.removed_sentence is not None:
            alone &= ~self.removed_sentence[self.word_sentence]
        return int(alone.sum()), s

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
        """(N,) the weight shown in ``mode`` (an attribution not yet computed: zeros)."""
        if is_attribution(mode):
            a = self.attributions.get(mode)
            return a.word if a is not None else np.zeros(self.n_words)
        return self.word_weight if mode == "word" else self.product()

    def intensities(self, mode: Mode) -> np.ndarray:
        """(N,) colour intensity: in [0, 1] for attention, in [-1, 1] for a signed attribution.

        ``word``: weight relative to the heaviest word of the same sentence (weights of different
        sentences are not comparable: each sentence's words sum to 1). ``product``: relative to the
        heaviest product in the document. An attribution: score relative to the largest |score| in the
        document, its sign kept (+ towards the target class, − away).
        """
        v = self.values(mode)
        if v.size == 0:
            return v
        if is_attribution(mode):
            strongest = float(np.abs(v).max())
            return v / strongest if strongest > 0 else np.zeros_like(v)
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
        if is_attribution(mode):
            a = self.attributions.get(mode)
            return a.top if a is not None else 0.0
        return float(self.product().max())

    def sentence_values(self, mode: Mode) -> np.ndarray:
        """(S,) what a sentence's bar shows: its attention, or its signed attribution in ``mode``."""
        if is_attribution(mode):
            a = self.attributions.get(mode)
            return a.sentence if a is not None else np.zeros(self.n_sentences)
        return self.sentence_weight

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
        for a in self.attributions.values():
            lines.append(f"{_ATTR_NAMES[a.method]} for {a.target}: {_signed(float(a.word[i]))}")
        if self.removed_word is not None and self.removed_word[i]:
            lines.append("left out: the model did not read this word")
        return "\n".join(lines)

    def describe_sentence(self, s: int) -> str:
        n = self.n_sentences
        text = (
            f"sentence {s + 1} of {n}: weight {float(self.sentence_weight[s]):.4f} "
            f"(uniform would be {1 / n:.4f})"
        )
        for a in self.attributions.values():
            text += f"\n{_ATTR_NAMES[a.method]} for {a.target}: {_signed(float(a.sentence[s]))}"
        if self.removed_sentence is not None and self.removed_sentence[s]:
            text += "\nleft out: the model did not read this sentence"
        return text


_ATTR_NAMES = {"ig": "integrated gradients", "occlusion": "Δp if left out"}


def _signed(v: float) -> str:
    """A score with its sign and the direction it pushes: "+0.0123 (towards)"."""
    direction = "towards" if v > 0 else "away" if v < 0 else "neither way"
    return f"{v:+.4f} ({direction})"
