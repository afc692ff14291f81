"""Negated sentences: real training sentences with "not" put after their copula, so they read the other way.

The shipped HAN reads "This is not a mess." as negative (issue 17): IMDB has too few negated
judgements for it to learn that "not" turns what follows. Training can add some, made like the
spliced reviews of :mod:`engine.splice` from the training split only:

1. :func:`find_candidates` scans the encoded training documents for sentences of the form
   *copula* + at most two degree adverbs + an adjective of :data:`POSITIVE` or :data:`NEGATIVE`
   ("the plot was **really predictable**.", "it 's **so hilarious** !"), where the adjective ends the
   sentence or is followed by punctuation or "and". The copulas are "is", "was", "are", "were", "am"
   and the tokenizer's "'s", "'re", "'m" (also with a curly apostrophe; "'s" only after a pronoun such
   as "it" or "that", not as a possessive). A sentence qualifies only if it has exactly one such
   match, no other lexicon adjective, at most :data:`MAX_WORDS` tokens, and none of
   :data:`EXCLUDED` (words that already negate, contrast, or make it hypothetical or a question:
   "not", "n't", "never", "but", "if", "?", ...). Lexicon words missing from the vocabulary are left
   out.
2. :func:`negate_documents` builds each new document from one candidate, with "not" inserted right
   after its copula: its polarity flips, and the document is labelled by the flipped polarity (class
   B). A share :data:`ALONE_SHARE` (a quarter, drawn per document) of the documents is the negated
   sentence alone; the rest put it after a body of 1..``max_body`` consecutive sentences of a
   training review of the other class A (drawn as :mod:`engine.splice` draws bodies, without the
   donor's last sentences): "body of class A, then a negated sentence of class B" is labelled B.

Only "not" is inserted: it is what the failing suite tests hinge on, and "never"/"hardly" after a
copula ("is never predictable", "is hardly hilarious") change the meaning less predictably. Labels
are balanced (the class B cycles through positive and negative); with no candidate of one flipped
polarity the function returns nothing, and ``engine.train`` says so in its log.

The adjectives are this project's own, and disjoint from every word of the behaviour suite's
lexicons and templates (:mod:`engine.behaviour._lexicon`, ``_templates``; a test checks it), so the
suite measures whether negation generalises to words the augmentation never negated, not whether the
model memorised the suite's phrases. The adverbs are structural, not sentiment words.

Measured with ``scripts/negation_candidates.py`` on IMDB train (``aclimdb/train.jsonl.gz``, 25,000
reviews; the shipped model's dev split, seed 13, and vocabulary, min count 3 and 30,000 words): the
training part (22,500 reviews) has **1,765 candidate sentences** in 1,582 reviews, 1,181 with a
positive adjective (negated: negative) and 584 with a negative one (negated: positive); all 25,000
reviews have 1,975. "good" (351) and "bad" (253) are the commonest adjectives. The rules trade count
for precision: allowing any word after the adjective gives 2,747, and that with sentences up to 40
words and only negations excluded (contrasts and hypotheticals kept) 4,489.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.batching import EncodedDoc
from engine.splice import bodies_by_class, draw_body_from
from engine.vocab import Vocab

__all__ = [
    "ALONE_SHARE",
    "EXCLUDED",
    "MAX_WORDS",
    "NEGATIVE",
    "POSITIVE",
    "Candidate",
    "NegationWords",
    "find_candidates",
    "negate_documents",
]

NEGATOR = "not"
# positive adjectives of movie reviews: negated, they read negative
POSITIVE = (
    "amazing", "awesome", "fabulous", "flawless", "hilarious", "incredible", "intelligent",
    "interesting", "perfect", "remarkable", "smart", "solid", "spectacular", "thoughtful", "thrilling",
    "believable", "entertaining", "exciting", "fascinating", "good", "nice", "cool", "decent",
    "haunting", "inspiring", "insightful", "likable", "mesmerizing", "original", "poignant",
    "refreshing", "satisfying", "sincere", "sweet", "unforgettable", "worthwhile", "captivating",
    "phenomenal", "suspenseful", "stylish", "uplifting", "heartwarming", "amusing", "realistic",
)  # fmt: skip
# negative adjectives of movie reviews: negated, they read positive
NEGATIVE = (
    "bad", "horrendous", "pathetic", "predictable", "pretentious", "silly", "unfunny",
    "uninteresting", "unbearable", "unconvincing", "unoriginal", "useless", "worthless", "cheesy",
    "corny", "contrived", "crappy", "childish", "dumb", "disgusting", "generic", "idiotic", "inept",
    "implausible", "incompetent", "irritating", "lame", "messy", "miserable", "monotonous",
    "nonsensical", "obnoxious", "overrated", "overlong", "pitiful", "plodding", "repetitive",
    "stale", "tasteless", "trite", "uninspired", "unpleasant", "vapid", "horrid", "ugly", "shoddy",
)  # fmt: skip
COPULAS = ("is", "was", "are", "were", "am", "'re", "'m", "’re", "’m")
CONTRACTED_IS = ("'s", "’s")  # a copula only after one of PRONOUNS ("it's"), else a possessive
PRONOUNS = ("it", "that", "he", "she", "this", "everything")
DEGREE = (
    "very", "really", "so", "quite", "pretty", "truly", "rather", "extremely", "incredibly",
    "particularly", "especially", "too",
)  # fmt: skip
MAX_DEGREE = 2  # adverbs between the copula and the adjective
FOLLOWERS = (".", "!", ",", ";", ":", "-", "...", "and")  # what may come after the adjective
# a sentence with any of these is left alone: negated already, contrasted, hypothetical or a question
EXCLUDED = (
    "not", "n't", "n’t", "never", "no", "nothing", "hardly", "barely", "scarcely", "nor", "neither",
    "none", "nobody", "without", "cannot", "but", "although", "though", "however", "yet", "despite",
    "while", "whereas", "except", "if", "unless", "would", "could", "should", "might", "wish",
    "hope", "hoped", "expected", "thought", "supposed", "?", "less", "least",
)  # fmt: skip
MAX_WORDS = 25  # longer sentences say more than the negated judgement
ALONE_SHARE = 0.25  # of the documents, the negated sentence alone (the rest: a body, then it)


@dataclass(frozen=True)
class NegationWords:
    """The lexicon as vocabulary ids; words missing from the vocabulary are left out."""

    negator: int
    copulas: frozenset[int]
    contracted_is: frozenset[int]
    pronouns: frozenset[int]
    degree: frozenset[int]
    followers: frozenset[int]
    excluded: frozenset[int]
    polarity: dict[int, int]  # adjective id -> +1 (positive) or -1 (negative)

    @classmethod
    def from_vocab(cls, vocab: Vocab) -> NegationWords | None:
        """None when the vocabulary lacks "not" (nothing could be negated)."""
        if NEGATOR not in vocab:
            return None

        def ids(words: Sequence[str]) -> frozenset[int]:
            return frozenset(vocab.id(w) for w in words if w in vocab)

        polarity = {vocab.id(w): 1 for w in POSITIVE if w in vocab}
        polarity |= {vocab.id(w): -1 for w in NEGATIVE if w in vocab}
        return cls(
            vocab.id(NEGATOR),
            ids(COPULAS),
            ids(CONTRACTED_IS),
            ids(PRONOUNS),
            ids(DEGREE),
            ids(FOLLOWERS),
            ids(EXCLUDED),
            polarity,
        )


@dataclass(frozen=True)
class Candidate:
    """Sentence ``sentence`` of document ``doc``; "not" goes before word ``at`` (right after the copula).
    ``polarity`` is the adjective's (+1 positive, -1 negative): negated, the sentence reads ``-polarity``."""

    doc: int
    sentence: int
    at: int
    polarity: int


def find_candidates(docs: Sequence[EncodedDoc], words: NegationWords | None) -> list[Candidate]:
    """Every sentence of ``docs`` that :func:`negate_documents` can negate, in document order."""
    if words is None:
        return []
    out = []
    for d, doc in enumerate(docs):
        for s, sentence in enumerate(doc):
            found = _match(sentence, words)
            if found is not None:
                out.append(Candidate(d, s, *found))
    return out


def _match(sentence: list[int], words: NegationWords) -> tuple[int, int] | None:
    """(insert position, polarity) of the sentence's one negatable judgement, or None."""
    if len(sentence) > MAX_WORDS or any(w in words.excluded for w in sentence):
        return None
    adjectives = [i for i, w in enumerate(sentence) if w in words.polarity]
    if len(adjectives) != 1:
        return None
    a = adjectives[0]
    if a + 1 < len(sentence) and sentence[a + 1] not in words.followers:
        return None
    c = a - 1
    while c >= 0 and a - c <= MAX_DEGREE and sentence[c] in words.degree:
        c -= 1
    if c < 0:
        return None
    w = sentence[c]
    if w in words.copulas or (w in words.contracted_is and c > 0 and sentence[c - 1] in words.pronouns):
        return c + 1, words.polarity[sentence[a]]
    return None


def negate_documents(
    docs: Sequence[EncodedDoc],
    labels: Sequence[int],
    candidates: Sequence[Candidate],
    n: int,
    rng: np.random.Generator,
    positive: int,
    negative: int,
    negator: int,
    max_body: int = 4,
) -> tuple[list[EncodedDoc], list[int]]:
    """``n`` new documents and their labels, each ending in a negated candidate sentence.

    ``positive`` and ``negative`` are the label ids of the two classes, ``negator`` the id of "not".
    The label (the negated sentence's polarity) alternates between the classes from a random start.
    A document is the negated sentence alone with probability :data:`ALONE_SHARE`, else a body of a
    review of the other class (as :func:`engine.splice.draw_body` draws it) and then the sentence.
    With no candidate of either flipped polarity, or no review with words of a needed class, it
    returns nothing. Sentences are copied, never shared with ``docs``.
    """
    if n < 0 or max_body < 1:
        raise ValueError("n must be >= 0 and max_body >= 1")
    if positive == negative:
        raise ValueError("positive and negative must be different classes")
    # a negated sentence of class `positive` comes from a negative adjective, and the reverse
    pool = {
        positive: [c for c in candidates if c.polarity < 0],
        negative: [c for c in candidates if c.polarity > 0],
    }
    bodies = bodies_by_class(docs, labels, (positive, negative))
    if n == 0 or not all(pool.values()) or not all(bodies.values()):
        return [], []
    classes = (negative, positive)
    out_docs: list[EncodedDoc] = []
    out_labels: list[int] = []
    start = int(rng.integers(2))
    for j in range(n):
        label = classes[(start + j) % 2]
        other = classes[(start + j + 1) % 2]
        c = pool[label][int(rng.integers(len(pool[label])))]
        sentence = list(docs[c.doc][c.sentence])
        sentence.insert(c.at, negator)
        if rng.random() < ALONE_SHARE:
            body: list[list[int]] = []
        else:
            body = draw_body_from(docs, bodies[other], rng, max_body)
        out_docs.append([*body, sentence])
        out_labels.append(label)
    return out_docs, out_labels
