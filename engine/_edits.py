"""Documents with sentences or words taken out, scored together: counterfactual edits and leave-one-out.

An :class:`Edit` names the sentences and words (by index in the original document) the model should
not read. A sentence that loses all its words is gone too. :func:`score_edits` scores many edits of
one document at once: every *distinct* sentence they need is encoded once (the unedited sentences
are shared by all the edits that keep them), then each edited document's sentence vectors are
gathered and read by the sentence level, in groups under the inference budget. Both levels are
:mod:`engine.inference`'s own functions, so an edit scored alone (``analyze_edited``) and the same
edit among a thousand (leave-one-out) agree to float rounding.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass

import torch

from engine.inference import DocumentScores, encode_sentences, score_vectors
from engine.limits import INFERENCE_BUDGET
from engine.model import HAN

__all__ = ["Edit", "check_edit", "kept_words", "score_edits"]

SentenceKey = tuple[int, tuple[int, ...]]  # (sentence index, the indices of the words it keeps)


@dataclass(frozen=True)
class Edit:
    """What the model should not read: sentence indices, and (sentence, word) index pairs."""

    removed_sentences: frozenset[int] = frozenset()
    removed_words: frozenset[tuple[int, int]] = frozenset()


def check_edit(ids: Sequence[Sequence[int]], edit: Edit) -> None:
    """ValueError (one line) for an index the document does not have."""
    n = len(ids)
    for i in sorted(edit.removed_sentences):
        if not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(f"sentence {i!r} does not exist: the text has {n} (0 to {n - 1})")
    for pair in sorted(edit.removed_words):
        i, j = pair
        if not isinstance(i, int) or not 0 <= i < n:
            raise ValueError(f"word {pair!r}: sentence {i!r} does not exist: the text has {n} (0 to {n - 1})")
        if not isinstance(j, int) or not 0 <= j < len(ids[i]):
            raise ValueError(f"word {pair!r} does not exist: sentence {i} has {len(ids[i])} words")


def kept_words(ids: Sequence[Sequence[int]], edit: Edit) -> list[SentenceKey]:
    """The sentences an edit keeps, each with the words it keeps (sentences left empty are dropped)."""
    kept: list[SentenceKey] = []
    for i, sentence in enumerate(ids):
        if i in edit.removed_sentences:
            continue
        words = tuple(j for j in range(len(sentence)) if (i, j) not in edit.removed_words)
        if words:
            kept.append((i, words))
    return kept


def _groups(sizes: Sequence[int], limit: int) -> Iterator[list[int]]:
    """Consecutive indices whose sizes add up to at most ``limit`` (one item over it: a group alone)."""
    group: list[int] = []
    total = 0
    for k, size in enumerate(sizes):
        if group and total + size > limit:
            yield group
            group, total = [], 0
        group.append(k)
        total += size
    if group:
        yield group


def score_edits(
    model: HAN,
    ids: Sequence[Sequence[int]],
    edits: Sequence[Edit],
    keep_attention: bool = False,
    budget: int = INFERENCE_BUDGET,
) -> Generator[float, None, list[DocumentScores | None]]:
    """Score every edit of one document (``ids``: its sentences' word ids); None where nothing is left.

    Yields the fraction of the work done after each group. With ``keep_attention`` each result holds
    the kept words' attention (over the kept words only). Call under ``torch.inference_mode()``.
    """
    docs = [kept_words(ids, e) for e in edits]
    unique: dict[SentenceKey, int] = {}
    for doc in docs:
        for key in doc:
            unique.setdefault(key, len(unique))
    keys = list(unique)
    sentences = [[ids[i][j] for j in words] for i, words in keys]
    c = model.config
    word_units = sum(map(len, sentences))
    total = max(1, word_units + sum(map(len, docs)))
    done = 0
    vec_parts: list[torch.Tensor] = []
    attention: list[torch.Tensor] = []
    word_limit = max(1, budget // max(c.embed_dim, 2 * c.word_hidden))
    for group in _groups([len(s) for s in sentences], word_limit):
        vecs, att = encode_sentences(model, [sentences[k] for k in group], budget, keep_attention)
        vec_parts.append(vecs)  # (g, 2Hw)
        attention.extend(att)
        done += sum(len(sentences[k]) for k in group)
        yield done / total
    all_vecs = torch.cat(vec_parts) if vec_parts else torch.empty(0)  # (U, 2Hw)
    results: list[DocumentScores | None] = [None] * len(edits)
    filled = [b for b, doc in enumerate(docs) if doc]
    sentence_limit = max(1, budget // max(2 * c.word_hidden, 2 * c.sentence_hidden))
    for group in _groups([len(docs[b]) for b in filled], sentence_limit):
        members = [filled[g] for g in group]
        rows = [unique[key] for b in members for key in docs[b]]
        vecs = all_vecs[torch.tensor(rows, device=all_vecs.device)]  # (sum of S_b, 2Hw)
        att = [attention[r] for r in rows] if keep_attention else []
        counts = [[len(words) for _, words in docs[b]] for b in members]
        for b, scores in zip(members, score_vectors(model, vecs, att, counts, budget), strict=True):
            results[b] = scores
        done += len(rows)
        yield done / total
    return results
