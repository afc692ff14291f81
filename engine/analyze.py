"""One call for the attention use case: ``analyze(bundle, text) -> Analysis``.

The CLI's ``predict --json``, its terminal and HTML views and the GUI all render this one value;
none of them recomputes weights. Inference uses the whole text: the training length limits do not
apply, so nothing is cut. Texts up to :data:`engine.limits.MAX_TEXT_CHARS` are accepted, and the
memory they take grows linearly with their length (:mod:`engine.inference`).
"""

from __future__ import annotations

from collections.abc import Generator

import torch

from engine.analysis import (
    Analysis,
    InputError,
    SentenceWeight,
    WordWeight,
    encode_document,
    make_analysis,
    read_document,
)
from engine.bundle import ModelBundle
from engine.inference import DocumentScores, score_documents
from engine.model import HANOutput
from engine.steps import run_to_end
from engine.text import Document

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
    return make_analysis(
        bundle.label_names,
        doc,
        ids,
        torch.softmax(scores.logits.double(), -1).tolist(),
        scores.word_attention.double().cpu().tolist(),
        scores.sentence_attention.double().cpu().tolist(),
    )
