"""One call for the attention use case: ``analyze(bundle, text) -> Analysis``.

The CLI's ``predict --json``, its terminal and HTML views and the GUI all render this one value;
none of them recomputes weights. Inference uses the whole text: the training length limits do not
apply, so nothing is cut. Texts up to :data:`engine.limits.MAX_TEXT_CHARS` are accepted, and the
memory they take grows linearly with their length (:mod:`engine.inference`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import torch

from engine.bundle import ModelBundle
from engine.inference import DocumentScores, score_documents
from engine.limits import MAX_TEXT_CHARS
from engine.model import HANOutput
from engine.steps import run_to_end
from engine.text import Document, normalize, tokenize
from engine.vocab import UNK_ID

__all__ = [
    "Analysis",
    "InputError",
    "SentenceWeight",
    "WordWeight",
    "analyze",
    "analyze_steps",
    "build_analysis",
    "encode_document",
    "read_document",
    "scores_to_analysis",
]


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


def encode_document(bundle: ModelBundle, doc: Document) -> list[list[int]]:
    return [bundle.vocab.encode([normalize(t.text) for t in s.tokens]) for s in doc.sentences]


def analyze(bundle: ModelBundle, text: str) -> Analysis:
    """Tokenize ``text``, run the model once, and return prediction plus attention."""
    return run_to_end(analyze_steps(bundle, text))


def analyze_steps(bundle: ModelBundle, text: str) -> Generator[str, None, Analysis]:
    """:func:`analyze` as a generator that yields the name of each finished stage.

    A caller that stops iterating (a GUI worker whose text changed) cancels between stages; the
    generator's return value is the :class:`Analysis`.
    """
    doc = read_document(text)
    yield "tokenized"
    ids = encode_document(bundle, doc)
    yield "encoded"
    with torch.inference_mode():
        scores = score_documents(bundle.model, [ids])[0]
    yield "scored"
    return scores_to_analysis(bundle, doc, ids, scores)


def read_document(text: str) -> Document:
    """Tokenize ``text``; :class:`InputError` if there is nothing to read or it is too long."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("the text is empty: give a review with at least one word")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"the text has {len(text):,} characters; up to {MAX_TEXT_CHARS:,} can be read")
    doc = tokenize(text)
    if not doc.sentences:
        raise InputError("the text has no words to read")
    return doc


def build_analysis(bundle: ModelBundle, doc: Document, ids: torch.Tensor, out: HANOutput) -> Analysis:
    """Pair a padded forward pass for one document (ids ``(1, S, W)``) with the document's spans."""
    counts = [len(s.tokens) for s in doc.sentences]
    w_att = out.word_attention[0]  # (S, W)
    scores = DocumentScores(
        out.logits[0],
        out.sentence_attention[0],
        torch.cat([w_att[i, :n] for i, n in enumerate(counts)]),
        tuple(counts),
    )
    return scores_to_analysis(
        bundle, doc, [row[:n] for row, n in zip(ids[0].tolist(), counts, strict=True)], scores
    )


def scores_to_analysis(
    bundle: ModelBundle, doc: Document, ids: list[list[int]], scores: DocumentScores
) -> Analysis:
    """Pair one document's scores with its spans; ``ids`` are its sentences' word ids."""
    text = doc.text
    probs = torch.softmax(scores.logits.double(), -1).tolist()
    w_att = iter(scores.word_attention.double().cpu().tolist())  # (T,) sentence after sentence
    s_att = scores.sentence_attention.double().cpu().tolist()  # (S,)
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
    return Analysis(
        text, bundle.label_names[best], dict(zip(bundle.label_names, probs, strict=True)), sentences
    )
