"""Written judgements for training: negated, plain and changed-over-time verdicts in many constructions.

:mod:`engine.negate` negates real training sentences, but only one way ("is" + "not" + adjective) and
only 1,765 of them exist in IMDB's training split: the shipped model still reads "It is hardly a
failure." as negative (issue 17). This module writes the judgements itself, from templates and a
lexicon of this project's own, in the constructions English uses to turn or keep a verdict:

* **negated** ("the visuals are not dazzling", "it is far from a fiasco", "at no point was I
  underwhelmed", "it never falters", "it was much better than its reputation", "it is not nearly as
  stylish as the poster suggested"): labelled by what they mean, the opposite of their words;
* **plain** ("the storyline is captivating", "I was enthralled", "it is not only sincere but also
  poignant"): labelled by their words, so that the written style alone says nothing about the label
  and "not" is not read as a flip everywhere;
* **temporal** ("I used to mock it, but now I praise it"; "At first the narrative seemed plodding
  to me. Today it seems haunting."; "As a kid I revered it. Seeing it again as an adult, I shun
  it."): labelled by the present opinion; ``train --judgement-temporal-share`` sets their share
  (:func:`kind_shares`; the default, 0.2, is :data:`KIND_SHARES`).

Each epoch :func:`judgement_documents` puts drawn judgements at the end of new training documents,
as :mod:`engine.negate` does: alone (a share :data:`ALONE_SHARE`) or after a body of 1..``max_body``
sentences of a training review, labelled by the judgement. With probability ``turn_share``
(``train --judgement-turn-share``, default 1) the body's review is of the **other** class: its words
then point the wrong way, so only reading the judgement's construction gets the label right. The
rest take a body of the judgement's own class, so that training does not teach that a body never
counts (sweep 5 chose 0.3; README). A share :data:`NEUTRAL_SHARE` ends with a sentence of
:data:`NEUTRAL` (where and when it was seen), so that the verdict's place does not decide.
Fine-tuning the shipped model without it raised the behaviour suite's neutral-sentence flips from 3%
to 7.5%.

The sentiment words (adjectives, nouns, feelings, verbs, aspects and expectations) are written for
this module and share no word with the behaviour suite's lexicons and templates
(:mod:`engine.behaviour`; a test checks it), so ``han-explorer check`` still measures words the
training never saw in these constructions. The constructions are ordinary English and several are
also the suite's ("is not", "hardly", "never", "better than"): that is what the model has to learn.
The challenge set's reviews (``resources/challenge``), written apart from both, are the check that
it learned the language rather than the templates.

Texts go through the training tokenizer (:func:`engine.preprocess.texts_to_words`) and vocabulary;
a judgement with a word outside the vocabulary is dropped, and a lexicon word outside the vocabulary
never appears.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.batching import EncodedDoc
from engine.preprocess import texts_to_words
from engine.splice import bodies_by_class, draw_body_from
from engine.vocab import UNK_ID, Vocab

__all__ = [
    "ALONE_SHARE",
    "KIND_SHARES",
    "NEUTRAL_SHARE",
    "Judgement",
    "JudgementPool",
    "build_pool",
    "judgement_documents",
    "kind_shares",
    "write_judgement",
]

POS, NEG = 1, -1
ALONE_SHARE = 0.25  # of the documents, the judgement alone (the rest: a body first; see turn_share)
NEUTRAL_SHARE = 0.3  # of the documents, one neutral sentence after the judgement: the verdict is not last
KIND_SHARES = {"negated": 0.55, "plain": 0.25, "temporal": 0.2}  # of the drawn judgements (the default)

# -- lexicon (this module's own; disjoint from the behaviour suite's words) --------------------------
ADJ = {
    POS: (
        "dazzling", "stylish", "captivating", "haunting", "poignant", "sincere", "thoughtful",
        "hilarious", "fascinating", "entertaining", "exciting", "spectacular", "remarkable",
        "suspenseful", "uplifting", "heartwarming", "amusing", "refreshing", "satisfying",
        "inspired", "exquisite", "ingenious", "tender", "lively", "rousing", "graceful", "mesmerizing",
        "intelligent", "original", "believable",
    ),
    NEG: (
        "plodding", "stale", "vapid", "trite", "contrived", "cheesy", "corny",
        "pretentious", "predictable", "unconvincing", "incompetent", "irritating", "lame", "messy",
        "monotonous", "nonsensical", "obnoxious", "overlong", "repetitive", "tasteless",
        "uninspired", "unpleasant", "inept", "shoddy", "dreary", "sluggish", "grating", "hokey",
        "sappy", "incomprehensible",
    ),
}  # fmt: skip
NOUN = {  # "a ___" judging the whole film
    POS: (
        "marvel", "knockout", "keeper", "standout", "achievement", "wonder", "blast", "highlight",
        "thrill", "hit", "favourite", "accomplishment",
    ),
    NEG: (
        "catastrophe", "stinker", "turkey", "fiasco", "bomb", "yawn", "clunker", "travesty",
        "disgrace", "shambles", "dog", "trainwreck",
    ),
}  # fmt: skip
FEELING = {  # "I was ___"
    POS: ("enchanted", "captivated", "amused", "charmed", "engrossed", "enthralled", "dazzled",
          "satisfied"),
    NEG: ("frustrated", "exhausted", "insulted", "underwhelmed", "unimpressed", "offended", "weary",
          "confused"),
}  # fmt: skip
VERB = {  # a viewer's opinion of it: (base, past)
    POS: (("appreciate", "appreciated"), ("value", "valued"), ("praise", "praised"),
          ("applaud", "applauded"), ("celebrate", "celebrated"), ("respect", "respected"),
          ("revere", "revered"), ("esteem", "esteemed"), ("embrace", "embraced"),
          ("champion", "championed"), ("commend", "commended"), ("prize", "prized"),
          ("acclaim", "acclaimed"), ("favour", "favoured")),
    NEG: (("condemn", "condemned"), ("trash", "trashed"), ("dread", "dreaded"), ("mock", "mocked"),
          ("scorn", "scorned"), ("ridicule", "ridiculed"), ("curse", "cursed"),
          ("dismiss", "dismissed"), ("slam", "slammed"), ("shun", "shunned"), ("reject", "rejected"),
          ("lament", "lamented"), ("pan", "panned"), ("bash", "bashed")),
}  # fmt: skip
ACTS = {  # what the film does: (third person, base)
    POS: (("soars", "soar"), ("shines", "shine"), ("sparkles", "sparkle"), ("delivers", "deliver"),
          ("succeeds", "succeed"), ("clicks", "click"), ("dazzles", "dazzle"), ("excels", "excel")),
    NEG: (("sags", "sag"), ("stalls", "stall"), ("plods", "plod"), ("drifts", "drift"),
          ("stumbles", "stumble"), ("grates", "grate"), ("flounders", "flounder"), ("meanders", "meander")),
}  # fmt: skip
ASPECTS = (
    "storyline", "narrative", "tone", "climax", "music", "antagonist", "hero", "visual style",
    "production", "characterisation", "animation", "theme song", "climactic battle", "humor",
    "ensemble", "pace", "twist", "message", "atmosphere", "central character",
)  # fmt: skip
# what a viewer was led to expect ("better than ___")
EXPECTATIONS = (
    "its reputation", "the poster hinted", "the critics claimed", "I anticipated", "I predicted",
    "the marketing implied", "its billing implied", "the blurb claimed", "people insist", "I assumed",
)  # fmt: skip
# sentences that say nothing of the film's quality (this module's own; not the behaviour suite's)
NEUTRAL = (
    "I watched it with my sister on a rainy evening.", "The screening started ten minutes late.",
    "It was the second film of a double bill.", "I caught it on television last month.",
    "The hall was nearly empty that night.", "It is about a family moving to a new city.",
    "The director also wrote the script.", "It was released in the autumn.",
    "I saw it on a long train journey.", "The runtime is just over ninety minutes.",
    "Most of the cast are newcomers.", "It played at the local cinema for a week.",
    "I bought the ticket online.", "The story is set in the nineteen seventies.",
    "I watched it on my laptop.", "We went to the early showing on Saturday.",
    "The film is partly in Spanish.", "It is the first part of a planned trilogy.",
    "I saw it after work on a Thursday.", "The film was made for television.",
    "It was filmed over two summers.", "There was a short film before it.",
    "I saw it at an open-air screening.", "My parents saw it when it first came out.",
)  # fmt: skip
DEGREE = ("very", "particularly", "especially", "remotely", "terribly", "all that", "even slightly")
FAR = ("far", "much", "way", "a great deal", "considerably")
WAS_NOT = ("was not", "wasn't", "wasn’t", "was never", "never felt", "did not feel", "didn't feel")
CANT = ("can not", "can't", "cannot")
CANT_SAY = (*CANT, "couldn't")
DOES_NOT = ("does not", "doesn't", "did not", "didn't", "never once seems to")
DID_NOT = ("did not", "didn't", "do not", "don't", "could never")
WOULD_NOT = ("would not", "wouldn't", "could not", "couldn't")
NEVER_WORDS = ("never", "hardly", "barely", "seldom")
FAR_FROM = ("far from", "by no means", "in no way", "anything but", "not at all")
HARDLY_A = ("hardly", "far from", "not exactly", "by no means", "no")
AS_MUCH = ("as", "nearly as", "half as")
LESS = ("less", "a lot less", "far less")
NOW = ("today", "now", "these days")
# a judgement may open with one of these (a share OPENER_SHARE, or train --judgement-opener-share): the
# shipped model reads "Honestly, I love <title>." as negative (P(pos) 0.16; "honestly" is in 308
# negative and 116 positive training reviews), so openers must be seen to leave the verdict alone.
# "honestly" itself is the suite's.
OPENERS = (
    "frankly", "truthfully", "to be honest", "in all honesty", "to be fair", "personally", "seriously",
    "admittedly", "in short", "all in all", "simply put", "in the end", "sincerely",
)  # fmt: skip
OPENER_SHARE = 0.15
# a judgement may name its film by a title made of these instead of "it" (a share: train
# --judgement-title-share, default 0): sweep 8's retro_i4 (CPU) read "I dislike Casablanca." as P(pos)
# 0.92, by the title, so titles must be seen to leave the verdict alone. The behaviour suite's titles
# use other words (a test checks it).
TITLE_FIRST = (
    "The Amber", "Marble", "The Cedar", "Autumn", "The Linen", "Western", "The Granite", "Eleven",
    "The Canvas", "Harvest", "The Saffron", "Morning", "The Tin", "Eastern", "The Slate", "Hillside",
)  # fmt: skip
TITLE_SECOND = (
    "Meadow", "Canal", "Tower", "Valley", "Island", "Chapter", "Signal", "Window", "Orchestra",
    "Avenue", "Carousel", "Quarry", "Almanac", "Pavilion", "Harbourmaster", "Caravan",
)  # fmt: skip
_IT = re.compile(r"\bit\b")
LATER_TIME = ("second", "third")
BACK_IN = ("school", "college", "the nineties")
SEEING_AGAIN = ("rewatching", "revisiting")
RECENTLY = ("this year", "lately", "recently")
AS_A = ("kid", "child", "student")
SPAN = ("ten years", "twenty years", "a decade", "a few years", "many years")
AT_THE_END = ("by the end", "by the final scene", "after the last act", "when the credits rolled")


@dataclass(frozen=True)
class Judgement:
    """A written judgement: its text, the polarity it means (+1/-1) and its kind."""

    text: str
    polarity: int
    kind: str


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


# A template fills its slots from the words of polarity ``w`` (the words' own polarity) and returns
# the text. A NEGATED template means -w: its words turned by a negation ("is not dazzling") or set
# against expectations ("far worse than its reputation", "less stylish than the poster suggested").
# A PLAIN one means w.
Template = Callable[[random.Random, int], str]


def _adj(r: random.Random, w: int) -> str:
    return r.choice(ADJ[w])


def _aspect(r: random.Random) -> str:
    return r.choice(ASPECTS)


def _cop(r: random.Random) -> str:
    return r.choice(("is", "was"))


def _cop_nt(r: random.Random) -> str:
    return r.choice(("isn't", "wasn't", "is not", "was not"))


NEGATED: tuple[Template, ...] = (
    lambda r, w: f"the {_aspect(r)} {_cop_nt(r)} {_adj(r, w)}.",
    lambda r, w: f"the {_aspect(r)} {_cop(r)} not {r.choice(DEGREE)} {_adj(r, w)}.",
    lambda r, w: f"the {_aspect(r)} {_cop(r)} {r.choice(NEVER_WORDS)} {_adj(r, w)}.",
    lambda r, w: f"the {_aspect(r)} {_cop(r)} {r.choice(FAR_FROM)} {_adj(r, w)}.",
    lambda r, w: f"it {_cop_nt(r)} {_a(r.choice(NOUN[w]))}.",
    lambda r, w: f"it {_cop(r)} {r.choice(HARDLY_A)} {_a(r.choice(NOUN[w]))}.".replace(
        "no a ", "no "
    ).replace("no an ", "no "),
    lambda r, w: f"nobody {r.choice(('could', 'would', 'will'))} call this {_a(r.choice(NOUN[w]))}.",
    lambda r, w: f"i {r.choice(WAS_NOT)} {r.choice(FEELING[w])}.",
    lambda r, w: f"at no point {r.choice(('was i', 'did i feel'))} {r.choice(FEELING[w])}.",
    lambda r, w: f"i {r.choice(CANT_SAY)} say i {r.choice(('was', 'felt'))} {r.choice(FEELING[w])}.",
    lambda r, w: f"it {r.choice(('never', 'rarely', 'hardly ever'))} {r.choice(ACTS[w])[0]}.",
    lambda r, w: f"it {r.choice(DOES_NOT)} {r.choice(ACTS[w])[1]}.",
    lambda r, w: f"not once does the {_aspect(r)} {r.choice(ACTS[w])[1]}.",
    lambda r, w: f"i {r.choice(DID_NOT)} {r.choice(VERB[w])[0]} it.",
    lambda r, w: f"there {_cop(r)} nothing {_adj(r, w)} about the {_aspect(r)}.",
    lambda r, w: f"{r.choice(('none', 'no part'))} of the {_aspect(r)} {_cop(r)} {_adj(r, w)}.",
    lambda r, w: f"no one {r.choice(('could', 'would', 'can'))} call the {_aspect(r)} {_adj(r, w)}.",
    lambda r, w: f"i {r.choice(WOULD_NOT)} call it {_adj(r, w)}.",
    lambda r, w: f"it {_cop(r)} not {r.choice(AS_MUCH)} {_adj(r, w)} as {r.choice(EXPECTATIONS)}.",
    lambda r, w: (f"it {_cop(r)} {r.choice(FAR)} {'worse' if w > 0 else 'better'} "
                  f"than {r.choice(EXPECTATIONS)}."),
    lambda r, w: (f"the {_aspect(r)} {_cop(r)} {r.choice(FAR)} {'worse' if w > 0 else 'better'} "
                  f"than {r.choice(EXPECTATIONS)}."),
    lambda r, w: f"it {_cop(r)} {r.choice(LESS)} {_adj(r, w)} than {r.choice(EXPECTATIONS)}.",
)  # fmt: skip
PLAIN: tuple[Template, ...] = (
    lambda r, w: f"the {_aspect(r)} {_cop(r)} {_adj(r, w)}.",
    lambda r, w: f"the {_aspect(r)} {_cop(r)} {r.choice((*DEGREE[:3], 'so', 'truly'))} {_adj(r, w)}.",
    lambda r, w: f"it {_cop(r)} {_a(r.choice(NOUN[w]))}.",
    lambda r, w: f"i {r.choice(('was', 'felt', 'was completely', 'was utterly'))} {r.choice(FEELING[w])}.",
    lambda r, w: f"i {r.choice(VERB[w])[1]} it.",
    lambda r, w: f"it {r.choice(ACTS[w])[0]}.",
    lambda r, w: f"the {_aspect(r)} {r.choice(ACTS[w])[0]}.",
    lambda r, w: f"the {_aspect(r)} {_cop(r)} not only {_adj(r, w)} but also {_adj(r, w)}.",
    lambda r, w: f"everything about the {_aspect(r)} {_cop(r)} {_adj(r, w)}.",
    lambda r, w: f"i {r.choice(CANT)} {r.choice(('stop', 'help'))} {'praising' if w > 0 else 'mocking'} it.",
)  # fmt: skip
# temporal: slots from the past opinion's words (then) and the present's (now = -then); means now
TEMPORAL: tuple[Callable[[random.Random, int, int], str], ...] = (
    lambda r, t, n: f"i used to {r.choice(VERB[t])[0]} it, but now i {r.choice(VERB[n])[0]} it.",
    lambda r, t, n: (f"at first the {_aspect(r)} seemed {_adj(r, t)} to me. "
                     f"{r.choice(NOW)} it seems {_adj(r, n)}."),
    lambda r, t, n: (f"the first time i saw it i {r.choice(VERB[t])[1]} it; "
                     f"the {r.choice(LATER_TIME)} time i {r.choice(VERB[n])[1]} it."),
    lambda r, t, n: (f"back in {r.choice(BACK_IN)} i thought it was {_adj(r, t)}. "
                     f"today i think it is {_adj(r, n)}."),
    lambda r, t, n: (f"i {r.choice(VERB[t])[1]} it years ago, "
                     f"but {r.choice(NOW)} i {r.choice(VERB[n])[0]} it."),
    lambda r, t, n: (f"i was {r.choice(FEELING[t])} by it once; {r.choice(SEEING_AGAIN)} it "
                     f"{r.choice(RECENTLY)}, i was {r.choice(FEELING[n])}."),
    lambda r, t, n: (f"it {r.choice(('once', 'used to'))} seem {_a(r.choice(NOUN[t]))} to me. "
                     f"now it is {_a(r.choice(NOUN[n]))}."),
    # the past opinion in strong verbs, the present one in another sentence or clause
    lambda r, t, n: (f"on my first viewing i {r.choice(VERB[t])[1]} it; "
                     f"on my {r.choice(LATER_TIME)} i {r.choice(VERB[n])[1]} it."),
    lambda r, t, n: (f"as a {r.choice(AS_A)} i {r.choice(VERB[t])[1]} it. "
                     f"seeing it again as an adult, i {r.choice(VERB[n])[0]} it."),
    lambda r, t, n: (f"when it came out i {r.choice(VERB[t])[1]} it. "
                     f"{r.choice(NOW)} i {r.choice(VERB[n])[0]} it."),
    lambda r, t, n: (f"my opinion has changed: i once {r.choice(VERB[t])[1]} it, and "
                     f"{r.choice(NOW)} i {r.choice(VERB[n])[0]} it."),
    lambda r, t, n: (f"i {r.choice(VERB[t])[1]} it {r.choice(SPAN)} ago. "
                     f"i {r.choice(VERB[n])[0]} it {r.choice(NOW)}."),
    lambda r, t, n: (f"{r.choice(SPAN)} ago i would have called it {_a(r.choice(NOUN[t]))}. "
                     f"{r.choice(NOW)} i call it {_a(r.choice(NOUN[n]))}."),
    lambda r, t, n: (f"the first time i found the {_aspect(r)} {_adj(r, t)}; "
                     f"{r.choice(SPAN)} later it feels {_adj(r, n)}."),
    # the opinion changed during one viewing: the end decides
    lambda r, t, n: (f"i was {r.choice(FEELING[t])} for the first hour, but "
                     f"{r.choice(AT_THE_END)} i was {r.choice(FEELING[n])}."),
)  # fmt: skip


def kind_shares(temporal_share: float = KIND_SHARES["temporal"]) -> dict[str, float]:
    """The kinds' shares when temporal judgements are ``temporal_share`` of them (in [0, 1]); negated
    and plain ones share the rest as in :data:`KIND_SHARES` (55 : 25)."""
    if not 0 <= temporal_share <= 1:
        raise ValueError("the temporal share must be in [0, 1]")
    rest = KIND_SHARES["negated"] + KIND_SHARES["plain"]
    return {
        "negated": (1 - temporal_share) * KIND_SHARES["negated"] / rest,
        "plain": (1 - temporal_share) * KIND_SHARES["plain"] / rest,
        "temporal": temporal_share,
    }


def write_judgement(
    r: random.Random,
    polarity: int,
    temporal_share: float = KIND_SHARES["temporal"],
    opener_share: float = OPENER_SHARE,
    title_share: float = 0.0,
) -> Judgement:
    """One judgement meaning ``polarity`` (+1 positive, -1 negative), of a kind drawn by
    :func:`kind_shares` (``temporal_share`` of them temporal), after one of :data:`OPENERS` with
    probability ``opener_share``; with probability ``title_share`` its first "it" is a title
    (:data:`TITLE_FIRST` + :data:`TITLE_SECOND`). A ``title_share`` of 0 draws nothing for it, so
    the draws are those of a run before the title share existed."""
    if not (0 <= opener_share <= 1 and 0 <= title_share <= 1):
        raise ValueError("the opener share and the title share must be in [0, 1]")
    shares = kind_shares(temporal_share)
    kinds = list(shares)
    kind = r.choices(kinds, weights=[shares[k] for k in kinds])[0]
    if kind == "negated":
        text = r.choice(NEGATED)(r, -polarity)
    elif kind == "plain":
        text = r.choice(PLAIN)(r, polarity)
    else:
        text = r.choice(TEMPORAL)(r, -polarity, polarity)
    if title_share > 0 and r.random() < title_share:
        title = f"{r.choice(TITLE_FIRST)} {r.choice(TITLE_SECOND)}"
        text = _IT.sub(title, text, count=1)
    if r.random() < opener_share:
        text = f"{r.choice(OPENERS)}, {text}"
    return Judgement(_sentences_capitalised(text), polarity, kind)


def _sentences_capitalised(text: str) -> str:
    out = []
    for part in text.split(". "):
        part = part.replace(" i ", " I ").replace(" i'", " I'")
        out.append(part[:1].upper() + part[1:])
    return ". ".join(out)


@dataclass(frozen=True)
class JudgementPool:
    """Encoded judgements by meaning: ``docs[+1]`` positive, ``docs[-1]`` negative."""

    docs: dict[int, list[EncodedDoc]]
    kinds: dict[int, list[str]]
    neutral: list[list[int]] = field(default_factory=list)  # encoded NEUTRAL sentences

    def __len__(self) -> int:
        return sum(map(len, self.docs.values()))


def build_pool(
    vocab: Vocab,
    n: int,
    seed: int,
    workers: int | None = None,
    temporal_share: float = KIND_SHARES["temporal"],
    opener_share: float = OPENER_SHARE,
    title_share: float = 0.0,
) -> JudgementPool:
    """Up to ``n`` distinct judgements, half of each polarity, ``temporal_share`` of them temporal and
    ``opener_share`` of them after an opener and ``title_share`` naming a title (:func:`write_judgement`),
    tokenized and encoded with ``vocab``; those with a word outside the vocabulary are dropped."""
    r = random.Random(seed)
    seen: set[str] = set()
    drawn: list[Judgement] = []
    for i in range(20 * n + 100):
        if len(drawn) >= n:
            break
        j = write_judgement(r, POS if i % 2 == 0 else NEG, temporal_share, opener_share, title_share)
        if j.text not in seen:
            seen.add(j.text)
            drawn.append(j)
    words = texts_to_words([j.text for j in drawn], workers)
    docs: dict[int, list[EncodedDoc]] = {POS: [], NEG: []}
    kinds: dict[int, list[str]] = {POS: [], NEG: []}
    for j, doc in zip(drawn, words, strict=True):
        encoded = [vocab.encode(s) for s in doc]
        if not encoded or any(UNK_ID in s for s in encoded) or not all(encoded):
            continue
        docs[j.polarity].append(encoded)
        kinds[j.polarity].append(j.kind)
    neutral = [vocab.encode(s) for d in texts_to_words(list(NEUTRAL), 1) for s in d]
    neutral = [s for s in neutral if s and UNK_ID not in s]
    return JudgementPool(docs, kinds, neutral)


def judgement_documents(
    docs: Sequence[EncodedDoc],
    labels: Sequence[int],
    pool: JudgementPool,
    n: int,
    rng: np.random.Generator,
    positive: int,
    negative: int,
    max_body: int = 4,
    turn_share: float = 1.0,
) -> tuple[list[EncodedDoc], list[int]]:
    """``n`` new documents whose verdict is a judgement of ``pool``, labelled by it.

    Labels alternate between ``positive`` and ``negative`` from a random start. A document is the
    judgement alone with probability :data:`ALONE_SHARE`, else a body of a training review
    (:func:`engine.splice.draw_body`) followed by it. The body's review is of the other class (a turn)
    with probability ``turn_share``, else of the judgement's own class (every judged review a turn
    teaches that a body never decides, which costs IMDB accuracy); with probability :data:`NEUTRAL_SHARE` one
    sentence of :data:`NEUTRAL` comes last, so the verdict is not always the last sentence (a model
    that learned "the last sentence decides" would flip when a neutral one is added). Returns nothing
    when the pool or the training documents lack a class. Sentences are copied, never shared with
    ``docs`` or the pool.
    """
    if n < 0 or max_body < 1 or not 0 <= turn_share <= 1:
        raise ValueError("n must be >= 0, max_body >= 1 and turn_share in [0, 1]")
    if positive == negative:
        raise ValueError("positive and negative must be different classes")
    meaning = {positive: POS, negative: NEG}
    bodies = bodies_by_class(docs, labels, (positive, negative))
    if n == 0 or not all(pool.docs.get(p) for p in (POS, NEG)) or not all(bodies.values()):
        return [], []
    classes = (negative, positive)
    out_docs: list[EncodedDoc] = []
    out_labels: list[int] = []
    start = int(rng.integers(2))
    for j in range(n):
        label = classes[(start + j) % 2]
        other = classes[(start + j + 1) % 2]
        choices = pool.docs[meaning[label]]
        judgement = [list(s) for s in choices[int(rng.integers(len(choices)))]]
        if rng.random() < ALONE_SHARE:
            body: list[list[int]] = []
        else:
            of = other if turn_share >= 1 or rng.random() < turn_share else label
            body = draw_body_from(docs, bodies[of], rng, max_body)
        tail = []
        if pool.neutral and rng.random() < NEUTRAL_SHARE:
            tail = [list(pool.neutral[int(rng.integers(len(pool.neutral)))])]
        out_docs.append([*body, *judgement, *tail])
        out_labels.append(label)
    return out_docs, out_labels
