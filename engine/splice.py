"""Spliced reviews: the body of one training review, then the verdict of a review of another class.

A review that complains for several sentences and then says "but I loved it" is positive; the HAN
must learn to let the verdict outweigh the body (issue 17). Real reviews with such turns are rare in
IMDB, so training can add some: ``k`` consecutive sentences from the body of a review of class A
(its last sentences left out: they are its own verdict), followed by the last one or two sentences
of a review of class B, labelled B. With two classes that is complaints + a positive verdict
(positive) and praise + a negative verdict (negative), in equal numbers.

:func:`splice_documents` draws them from the documents it is given, the training split only
(``engine.train`` never passes dev or test documents), and is deterministic given the generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.batching import EncodedDoc

__all__ = ["bodies_by_class", "draw_body", "draw_body_from", "splice_documents"]

VERDICT_SENTENCES = (1, 2)  # the verdict is the donor's last one or two sentences


def _sentences(doc: EncodedDoc) -> list[list[int]]:
    return [s for s in doc if s]


def bodies_by_class(
    docs: Sequence[EncodedDoc], labels: Sequence[int], classes: Sequence[int]
) -> dict[int, list[int]]:
    """Indices of the documents of each of ``classes`` that hold at least one word: the reviews a body
    can be drawn from (:func:`draw_body`)."""
    bodies: dict[int, list[int]] = {c: [] for c in classes}
    for i, (d, y) in enumerate(zip(docs, labels, strict=True)):
        if y in bodies and any(d):
            bodies[y].append(i)
    return bodies


def draw_body(donor: list[list[int]], rng: np.random.Generator, max_body: int) -> list[list[int]]:
    """``k`` consecutive sentences (copies), ``k`` uniform in ``1..max_body``, of ``donor`` (non-empty
    sentences) without its last ``min(2, len - 1)``: those are its verdict."""
    body = donor[: len(donor) - min(2, len(donor) - 1)]
    k = min(int(rng.integers(1, max_body + 1)), len(body))
    first = int(rng.integers(len(body) - k + 1))
    return [list(s) for s in body[first : first + k]]


def draw_body_from(
    docs: Sequence[EncodedDoc], reviews: Sequence[int], rng: np.random.Generator, max_body: int
) -> list[list[int]]:
    """A body (:func:`draw_body`) of one of ``reviews`` (indices into ``docs``), drawn uniformly."""
    return draw_body(_sentences(docs[reviews[int(rng.integers(len(reviews)))]]), rng, max_body)


def splice_documents(
    docs: Sequence[EncodedDoc],
    labels: Sequence[int],
    n: int,
    rng: np.random.Generator,
    max_body: int = 4,
) -> tuple[list[EncodedDoc], list[int]]:
    """``n`` new documents and their labels, each a body from one class + a verdict from another.

    The verdict's class cycles through the classes (so the new labels are balanced); the body comes
    from a review of a different class, chosen uniformly. A body is ``k`` consecutive sentences,
    ``k`` uniform in ``1..max_body``, of the donor without its last ``min(2, len - 1)`` sentences
    (a one-sentence donor gives that sentence). A verdict is the donor's last 1 or 2 sentences
    (one if it has only one). Classes with no document with words are never drawn; fewer than two
    such classes give no documents. Sentences are copied, never shared with ``docs``.
    """
    if n < 0 or max_body < 1:
        raise ValueError("n must be >= 0 and max_body >= 1")
    by_class: dict[int, list[int]] = {}
    for i, (d, y) in enumerate(zip(docs, labels, strict=True)):
        if _sentences(d):
            by_class.setdefault(y, []).append(i)
    classes = sorted(by_class)
    if n == 0 or len(classes) < 2:
        return [], []
    out_docs: list[EncodedDoc] = []
    out_labels: list[int] = []
    start = int(rng.integers(len(classes)))
    for j in range(n):
        verdict_class = classes[(start + j) % len(classes)]
        others = [c for c in classes if c != verdict_class]
        body_class = others[int(rng.integers(len(others)))]
        body_donor = _sentences(docs[by_class[body_class][int(rng.integers(len(by_class[body_class])))]])
        verdict_donor = _sentences(
            docs[by_class[verdict_class][int(rng.integers(len(by_class[verdict_class])))]]
        )
        body = draw_body(body_donor, rng, max_body)
        v = min(int(rng.choice(VERDICT_SENTENCES)), len(verdict_donor))
        out_docs.append(body + [list(s) for s in verdict_donor[-v:]])
        out_labels.append(verdict_class)
    return out_docs, out_labels
