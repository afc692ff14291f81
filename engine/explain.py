"""Signed explanations of one prediction, set against the model's attention; counterfactual edits.

Attention says where the HAN looked, not which way a word pushed. For one review this module gives,
for **every class**, a signed score per word and per sentence, with one sign convention:
**positive = pushes the prediction towards that class**. Two methods:

``"ig"``: integrated gradients (Sundararajan et al. 2017) through Captum's
    ``LayerIntegratedGradients`` on the word embeddings. ``f`` is the class's **probability**
    (softmax output), so IG and leave-one-out share one unit. The baseline is the same document
    with every word's embedding replaced by the padding embedding. A word's score is its
    attribution summed over the embedding dimensions; a sentence's is the sum of its words'.
    Completeness says the scores add up to ``f(x) - f(baseline)``; the integral is approximated
    with ``steps`` Gauss-Legendre nodes, and ``Attribution.completeness_gap[c]`` is exactly
    ``|sum of class c's word scores - (f_c(x) - f_c(baseline))|``: it shrinks as ``steps`` grows.

``"occlusion"``: leave-one-out. A word's score is ``p(class | review) - p(class | review without
    that word)``, the sentence re-encoded without it; a sentence's is the same with the whole
    sentence taken out. Every variant of the review is scored in a few batched passes, through
    the same code as :func:`analyze_edited`. Where removing leaves nothing (the only sentence, or
    the only word of a one-word review), the **empty document** stands in: the model's output on
    the all-padding input, i.e. IG's baseline. So for a one-sentence review the sentence's score
    is exactly ``f(x) - f(baseline)``, the quantity IG's scores add up to.

Both are deterministic and hold memory linear in the text (IG: ``internal_batch_size`` steps at a
time, chosen from the inference budget unless given; occlusion: groups under the same budget).
Leave-one-out's *time* grows with the sum of squared sentence lengths, as every variant of a
sentence is re-read.

:func:`agreement` compares attention with an attribution for one document (rank correlation and
top-k overlap, each explained in :data:`AGREEMENT_MEANINGS`). No Qt here; renderers read the values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine._edits import Edit, check_edit, kept_words, score_edits
from engine._ig import DocumentForward, ig_steps
from engine.analyze import (
    Analysis,
    InputError,
    SentenceWeight,
    WordWeight,
    encode_document,
    read_document,
)
from engine.bundle import ModelBundle
from engine.limits import INFERENCE_BUDGET
from engine.steps import run_to_end
from engine.vocab import PAD_ID, UNK_ID

__all__ = [
    "AGREEMENT_MEANINGS",
    "METHODS",
    "METHOD_TITLES",
    "SIGN_CONVENTION",
    "Agreement",
    "Attribution",
    "agreement",
    "analyze_edited",
    "explain",
    "explain_steps",
    "spearman",
    "topk_overlap",
]

METHODS = ("ig", "occlusion")
METHOD_TITLES = {"ig": "Integrated gradients", "occlusion": "Leave-one-out (Δp)"}
SIGN_CONVENTION = "positive: pushes the prediction towards the class; negative: pushes it away"

AGREEMENT_MEANINGS = {
    "spearman_words": (
        "Spearman rank correlation between each word's attention (sentence weight × word weight) and "
        "the size of its attribution: 1 = the same order, 0 = unrelated, −1 = reversed."
    ),
    "spearman_sentences": (
        "Spearman rank correlation between the sentence weights and the size of each sentence's "
        "attribution (undefined for a one-sentence review)."
    ),
    "topk_words": (
        "Of the k words with the most attention, the fraction that are also among the k words with the "
        "largest attribution of either sign (k random words out of n would share about k/n)."
    ),
}

Scores = tuple[tuple[tuple[float, ...], ...], ...]  # [class][sentence][word]


@dataclass(frozen=True)
class Attribution:
    """Signed scores of one method for every class; positive pushes towards the class.

    words: [class][sentence][word]; sentences: [class][sentence]; the class axis follows ``labels``
    (the model's label names). completeness_gap: [class] for IG (see the module docstring), None
    for leave-one-out. steps: IG's number of steps, None for leave-one-out.
    """

    method: str
    labels: tuple[str, ...]
    words: Scores
    sentences: tuple[tuple[float, ...], ...]
    completeness_gap: tuple[float, ...] | None
    steps: int | None

    def _index(self, label: str) -> int:
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}: the model's labels are {', '.join(self.labels)}")
        return self.labels.index(label)

    def for_label(self, label: str) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]]:
        """``(words [sentence][word], sentences [sentence])`` for one class."""
        c = self._index(label)
        return self.words[c], self.sentences[c]

    def to_dict(self, analysis: Analysis, target: str) -> dict[str, Any]:
        """The scores for ``target`` at the spans of ``analysis`` (the ``predict --json`` spans)."""
        c = self._index(target)
        words, sentences = self.words[c], self.sentences[c]
        shape = [len(s.words) for s in analysis.sentences]
        if shape != [len(w) for w in words]:
            raise ValueError("this attribution was computed for another text than the analysis shows")
        gap = self.completeness_gap[c] if self.completeness_gap is not None else None
        return {
            "method": self.method,
            "title": METHOD_TITLES[self.method],
            "target": target,
            "sign": SIGN_CONVENTION,
            "unit": "probability of the target class",
            "steps": self.steps,
            "completeness_gap": gap,
            "sentences": [
                {
                    "text": s.text,
                    "start": s.start,
                    "end": s.end,
                    "score": sentences[i],
                    "words": [
                        {"text": w.text, "start": w.start, "end": w.end, "score": words[i][j]}
                        for j, w in enumerate(s.words)
                    ],
                }
                for i, s in enumerate(analysis.sentences)
            ],
        }


@dataclass(frozen=True)
class Agreement:
    """How far attention and one attribution agree on one document (:data:`AGREEMENT_MEANINGS`).

    A Spearman value is NaN where it is undefined (fewer than two items, or all of one side equal).
    ``k`` is the k used: 5, or the number of words if the review has fewer.
    """

    spearman_words: float
    spearman_sentences: float
    topk_words: float
    k: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        return {
            "spearman_words": _finite_or_none(self.spearman_words),
            "spearman_sentences": _finite_or_none(self.spearman_sentences),
            "topk_words": self.topk_words,
            "k": self.k,
        }


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------------


def explain(
    bundle: ModelBundle,
    text: str,
    method: str,
    *,
    steps: int = 50,
    internal_batch_size: int | None = None,
    progress: Callable[[float], None] | None = None,
    removed_sentences: frozenset[int] = frozenset(),
    removed_words: frozenset[tuple[int, int]] = frozenset(),
) -> Attribution:
    """Signed scores of every word and sentence of ``text`` for every class (see the module docstring).

    ``internal_batch_size``: IG steps per forward pass (None: as many as the inference budget
    allows for this text). ``progress`` is called with the fraction done, from 0 to 1.
    ``removed_sentences``/``removed_words``: explain the counterfactual document the model reads
    without them (:func:`analyze_edited`); what was removed scores 0.0, the indices stay the
    original text's.
    """
    return run_to_end(
        explain_steps(
            bundle,
            text,
            method,
            steps=steps,
            internal_batch_size=internal_batch_size,
            removed_sentences=removed_sentences,
            removed_words=removed_words,
        ),
        progress,
    )


def explain_steps(
    bundle: ModelBundle,
    text: str,
    method: str,
    *,
    steps: int = 50,
    internal_batch_size: int | None = None,
    removed_sentences: frozenset[int] = frozenset(),
    removed_words: frozenset[tuple[int, int]] = frozenset(),
) -> Generator[float, None, Attribution]:
    """:func:`explain` as a generator: yields the fraction done (0 to 1), returns the Attribution.

    A GUI worker cancels between chunks by closing the generator (``close()``); IG's helper thread
    then stops at once (a generator that is merely dropped stops when it is collected).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose {' or '.join(METHODS)}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive whole number, not {steps!r}")
    batch = internal_batch_size
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise ValueError(f"internal_batch_size must be a positive whole number, not {internal_batch_size!r}")
    doc = read_document(text)
    ids = encode_document(bundle, doc)
    edit = Edit(frozenset(removed_sentences), frozenset(removed_words))
    if edit.removed_sentences or edit.removed_words:
        check_edit(ids, edit)
        kept = kept_words(ids, edit)
        if not kept:
            raise InputError("every word is left out: bring back at least one to explain")
        kept_ids = [[ids[i][j] for j in words] for i, words in kept]
        inner = yield from _explain_ids(bundle, kept_ids, method, steps, internal_batch_size)
        return _unedit(inner, ids, kept)
    return (yield from _explain_ids(bundle, ids, method, steps, internal_batch_size))


def _explain_ids(
    bundle: ModelBundle, ids: list[list[int]], method: str, steps: int, internal_batch_size: int | None
) -> Generator[float, None, Attribution]:
    yield 0.0
    if method == "ig":
        flat, gaps = yield from ig_steps(bundle.model, ids, steps, internal_batch_size)
        words = _split(flat.tolist(), [len(s) for s in ids])
        result = Attribution(
            "ig", bundle.label_names, words, _sentence_sums(words), tuple(gaps.tolist()), steps
        )
    else:
        words, sentences = yield from _occlusion_steps(bundle, ids)
        result = Attribution("occlusion", bundle.label_names, words, sentences, None, None)
    yield 1.0
    return result


def _unedit(a: Attribution, ids: list[list[int]], kept: list[tuple[int, tuple[int, ...]]]) -> Attribution:
    """An attribution of the kept words, put back at their places in the original document; every
    word and sentence that was left out scores 0.0."""
    where = {i: (k, words) for k, (i, words) in enumerate(kept)}
    words: list[tuple[tuple[float, ...], ...]] = []
    sentences: list[tuple[float, ...]] = []
    for c in range(len(a.labels)):
        cls_words, cls_sentences = [], []
        for i, sentence in enumerate(ids):
            if i not in where:
                cls_words.append((0.0,) * len(sentence))
                cls_sentences.append(0.0)
                continue
            k, kept_j = where[i]
            scores = dict(zip(kept_j, a.words[c][k], strict=True))
            cls_words.append(tuple(scores.get(j, 0.0) for j in range(len(sentence))))
            cls_sentences.append(a.sentences[c][k])
        words.append(tuple(cls_words))
        sentences.append(tuple(cls_sentences))
    return Attribution(a.method, a.labels, tuple(words), tuple(sentences), a.completeness_gap, a.steps)


def _split(per_class: list[list[float]], lengths: Sequence[int]) -> Scores:
    """(C, T) rows of the document's words -> [class][sentence][word]."""
    starts = np.cumsum([0, *lengths]).tolist()
    return tuple(
        tuple(tuple(row[starts[i] : starts[i + 1]]) for i in range(len(lengths))) for row in per_class
    )


def _sentence_sums(words: Scores) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(math.fsum(s) for s in cls) for cls in words)


def empty_document_probabilities(model: Any, lengths: Sequence[int]) -> torch.Tensor:
    """The model's output (C,) on the all-padding document of this shape: IG's baseline, and what
    leave-one-out compares with when removing leaves nothing."""
    forward = DocumentForward(model, lengths, INFERENCE_BUDGET)
    device = next(model.parameters()).device
    with torch.inference_mode():
        return forward(torch.full((1, sum(lengths)), PAD_ID, device=device))[0].double().cpu()


def _occlusion_steps(
    bundle: ModelBundle, ids: list[list[int]]
) -> Generator[float, None, tuple[Scores, tuple[tuple[float, ...], ...]]]:
    """Leave-one-out Δp of every word, then of every sentence, for every class."""
    word_edits = [Edit(removed_words=frozenset({(i, j)})) for i, s in enumerate(ids) for j in range(len(s))]
    sentence_edits = [Edit(removed_sentences=frozenset({i})) for i in range(len(ids))]
    with torch.inference_mode():
        scored = yield from score_edits(bundle.model, ids, [Edit(), *word_edits, *sentence_edits])
    full = scored[0]
    assert full is not None  # the unedited document always has words
    p_full = torch.softmax(full.logits.double(), -1)  # (C,)
    empty = None
    deltas = []
    for s in scored[1:]:
        if s is None:  # removing it leaves nothing: compare with the empty document
            if empty is None:
                empty = empty_document_probabilities(bundle.model, [len(x) for x in ids])
            deltas.append(p_full - empty)
        else:
            deltas.append(p_full - torch.softmax(s.logits.double(), -1))
    d = torch.stack(deltas).T.tolist()  # (C, T + S)
    n_words = len(word_edits)
    words = _split([row[:n_words] for row in d], [len(s) for s in ids])
    sentences = tuple(tuple(row[n_words:]) for row in d)
    return words, sentences


# --------------------------------------------------------------------------------------------------
# Counterfactual edits
# --------------------------------------------------------------------------------------------------


def analyze_edited(
    bundle: ModelBundle,
    text: str,
    removed_sentences: frozenset[int] = frozenset(),
    removed_words: frozenset[tuple[int, int]] = frozenset(),
) -> Analysis:
    """The prediction and attention when the model reads ``text`` without some sentences or words.

    Indices count from 0, as in ``Analysis.sentences`` and their ``words``. The result keeps the
    original text and every span; removed words (and every word of a removed sentence) get weight
    0.0, removed sentences 0.0, and the kept ones share the weight. Removing everything raises
    :class:`~engine.analyze.InputError`; so does an index the text does not have.
    """
    doc = read_document(text)
    ids = encode_document(bundle, doc)
    edit = Edit(frozenset(removed_sentences), frozenset(removed_words))
    try:
        check_edit(ids, edit)
    except ValueError as e:
        raise InputError(str(e)) from None
    kept = kept_words(ids, edit)
    if not kept:
        raise InputError("nothing left to read: every word is removed; keep at least one")
    with torch.inference_mode():
        scores = run_to_end(score_edits(bundle.model, ids, [edit], keep_attention=True))[0]
    assert scores is not None
    s_att = dict(zip((i for i, _ in kept), scores.sentence_attention.double().tolist(), strict=True))
    w_iter = iter(scores.word_attention.double().tolist())
    w_att = {(i, j): next(w_iter) for i, words in kept for j in words}
    sentences = tuple(
        SentenceWeight(
            text[s.start : s.end],
            s.start,
            s.end,
            s_att.get(i, 0.0),
            tuple(
                WordWeight(t.text, t.start, t.end, w_att.get((i, j), 0.0), ids[i][j] != UNK_ID)
                for j, t in enumerate(s.tokens)
            ),
        )
        for i, s in enumerate(doc.sentences)
    )
    probs = torch.softmax(scores.logits.double(), -1).tolist()
    best = max(range(len(probs)), key=probs.__getitem__)
    return Analysis(
        text, bundle.label_names[best], dict(zip(bundle.label_names, probs, strict=True)), sentences
    )


# --------------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------------


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (as ``scipy.stats.rankdata``'s default)."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])  # first index of each tie run
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation; NaN if undefined (fewer than 2 values, or one side constant)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("spearman needs two sequences of the same length")
    if len(x) < 2:
        return math.nan
    rx, ry = _ranks(x) - (len(x) + 1) / 2.0, _ranks(y) - (len(y) + 1) / 2.0
    denominator = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / denominator if denominator > 0.0 else math.nan


def topk_overlap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, k: int) -> float:
    """``|top k of a ∩ top k of b| / k`` (ties broken by position, first wins); k <= len(a)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not 1 <= k <= len(x) or x.shape != y.shape:
        raise ValueError(f"top-k overlap needs 1 <= k <= {len(x)} and two sequences of the same length")
    top_a = set(np.argsort(-x, kind="stable")[:k].tolist())
    top_b = set(np.argsort(-y, kind="stable")[:k].tolist())
    return len(top_a & top_b) / k


def agreement(analysis: Analysis, attribution: Attribution, label: str, k: int = 5) -> Agreement:
    """Attention against the size of ``attribution``'s scores for ``label``, on one document.

    Words: document-level attention (sentence weight × word weight) against |word score|;
    sentences: sentence weights against |sentence score|. See :data:`AGREEMENT_MEANINGS`.
    """
    words, sentences = attribution.for_label(label)
    if [len(s.words) for s in analysis.sentences] != [len(w) for w in words]:
        raise ValueError("the attribution was computed for another text than the analysis shows")
    attention = [s.weight * w.weight for s in analysis.sentences for w in s.words]
    size = np.abs([x for sentence in words for x in sentence])
    k_used = min(k, len(attention))
    return Agreement(
        spearman(attention, size),
        spearman([s.weight for s in analysis.sentences], np.abs(sentences)),
        topk_overlap(attention, size, k_used),
        k_used,
    )
