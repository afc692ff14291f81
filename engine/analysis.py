"""What one analysis of a review is, as plain values: the prediction and every attention weight,
located by character offsets. No torch: the numpy preview (:mod:`engine.preview`) builds the same
:class:`Analysis` that :func:`engine.analyze.analyze` builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.limits import MAX_TEXT_CHARS
from engine.text import Document, normalize, tokenize
from engine.vocab import UNK_ID, Vocab

__all__ = [
    "Analysis",
    "InputError",
    "SentenceWeight",
    "WordWeight",
    "encode_document",
    "make_analysis",
    "read_document",
]


class HasVocab(Protocol):
    @property
    def vocab(self) -> Vocab: ...


class InputError(ValueError):
    """Text the model cannot read (empty, whitespace only); the message is one clear line."""


@dataclass(frozen=True, slots=True)
class WordWeight:
    text: str
    start: int
    end: int
    weight: float  # attention within its sentence; a sentence's words sum to 1
    known: bool  # False: the vocabulary does not know it (read as <unk>)


@dataclass(frozen=True, slots=True)
class SentenceWeight:
    text: str
    start: int
    end: int
    weight: float  # sentence attention; a document's sentences sum to 1
    words: tuple[WordWeight, ...]


@dataclass(frozen=True)
class Analysis:
    """A prediction with every attention weight, located by character offsets into ``text``."""

    text: str
    label: str
    probabilities: dict[str, float]
    sentences: tuple[SentenceWeight, ...]

    @property
    def n_words(self) -> int:
        return sum(len(s.words) for s in self.sentences)

    @property
    def unknown_words(self) -> int:
        return sum(not w.known for s in self.sentences for w in s.words)

    def to_dict(self) -> dict[str, Any]:
        """The ``predict --json`` schema."""
        return {
            "label": self.label,
            "probabilities": dict(self.probabilities),
            "sentences": [
                {
                    "text": s.text,
                    "start": s.start,
                    "end": s.end,
                    "weight": s.weight,
                    "words": [
                        {"text": w.text, "start": w.start, "end": w.end, "weight": w.weight, "known": w.known}
                        for w in s.words
                    ],
                }
                for s in self.sentences
            ],
        }


def encode_document(bundle: HasVocab, doc: Document) -> list[list[int]]:
    """The word ids of every sentence of ``doc`` (unknown words: ``UNK_ID``)."""
    return [bundle.vocab.encode([normalize(t.text) for t in s.tokens]) for s in doc.sentences]


def read_document(text: str) -> Document:
    """Tokenize ``text``; :class:`InputError` if there is nothing to read or it is too long."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("the text is empty: give a review with at least one word")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text has {len(text):,} characters; up to {MAX_TEXT_CHARS:,} can be read")
    doc = tokenize(text, reuse=True)  # an edited review: only the edited chunk is read again
    if not doc.sentences:
        raise InputError("the text has no words to read")
    return doc


def make_analysis(
    label_names: Sequence[str],
    doc: Document,
    ids: list[list[int]],
    probs: Sequence[float],
    word_attention: Sequence[float],
    sentence_attention: Sequence[float],
) -> Analysis:
    """Pair one document's class probabilities and attention weights (words sentence after
    sentence, then sentences) with its spans; ``ids`` are its sentences' word ids."""
    text = doc.text
    w_att = iter(word_attention)  # (T,) sentence after sentence
    s_att = sentence_attention  # (S,)
    sentences = tuple(
        SentenceWeight(
            text[s.start : s.end],
            s.start,
            s.end,
            s_att[i],
            tuple(
                WordWeight(t.text, t.start, t.end, next(w_att), ids[i][j] != UNK_ID)
                for j, t in enumerate(s.tokens)
            ),
        )
        for i, s in enumerate(doc.sentences)
    )
    best = max(range(len(probs)), key=probs.__getitem__)
    return Analysis(text, label_names[best], dict(zip(label_names, probs, strict=True)), sentences)
