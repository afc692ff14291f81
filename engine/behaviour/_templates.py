"""Case generators: one function per test, drawing one case from the lexicons with a seeded ``Random``.

A generator returns ``(text, label)`` for an MFT, ``(original, perturbed, label)`` for an INV or a DIR
(``label``: the class a DIR watches; an INV's is the base review's polarity, kept for reading), and a
group name (the verdict tests' number of sentences before the verdict, the feeling-verb tests'
template). :func:`draw` calls one until it has ``n`` distinct texts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.behaviour import _lexicon as L

__all__ = ["Drawn", "draw"]

POS, NEG = "pos", "neg"


@dataclass(frozen=True)
class Drawn:
    text: str  # MFT: the text; INV/DIR: the perturbed text
    label: str
    original: str | None = None
    group: str = ""


Generator = Callable[[random.Random], Drawn | None]


def draw(gen: Generator, n: int, rng: random.Random) -> list[Drawn]:
    """``n`` cases with distinct texts (fewer when the templates cannot make that many)."""
    seen: set[tuple[str, str | None]] = set()
    out: list[Drawn] = []
    for _ in range(50 * n + 100):
        if len(out) >= n:
            break
        case = gen(rng)
        if case is None or (case.text, case.original) in seen:
            continue
        seen.add((case.text, case.original))
        out.append(case)
    return out


def an(phrase: str) -> str:
    """``phrase`` with its indefinite article: "an awful", "a dull"."""
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _fill(rng: random.Random, template: str, **slots: str) -> str:
    """A template's text; ``{aspect}``, ``{aspect2}``, ``{film}`` and ``{title}`` are drawn if not given."""
    aspect, aspect2 = rng.sample(L.ASPECTS, 2)
    base = {"aspect": aspect, "aspect2": aspect2, "film": rng.choice(L.FILMS), "title": title(rng)}
    return _cap(template.format(**{**base, **slots}))


def title(rng: random.Random) -> str:
    return f"{rng.choice(L.TITLE_FIRST)} {rng.choice(L.TITLE_SECOND)}"


def _lexicon(label: str) -> dict[str, tuple[str, ...]]:
    pos = label == POS
    return {
        "adj": L.POS_ADJ if pos else L.NEG_ADJ,
        "past": L.POS_VERB_PAST if pos else L.NEG_VERB_PAST,
        "phrase": L.POS_PHRASES if pos else L.NEG_PHRASES,
    }


# -- vocabulary (MFT) -------------------------------------------------------------------------------
VOCABULARY = (
    "The {aspect} is {adj}.",
    "The {aspect} was {adj}.",
    "What {a_adj} {film}!",
    "It is {a_adj} {film}.",
    "This {film} is {phrase}.",
    "I {past} this {film}.",
    "{title} is {a_adj} {film}.",
    "The {aspect} is {adj}, and the {aspect2} is {adj2}.",
    "I {past} the {aspect}.",
    "{title} is {phrase}.",
)


def vocabulary(label: str) -> Generator:
    def gen(rng: random.Random) -> Drawn:
        lex = _lexicon(label)
        adj, adj2 = rng.sample(lex["adj"], 2)
        text = _fill(
            rng,
            rng.choice(VOCABULARY),
            adj=adj,
            adj2=adj2,
            a_adj=an(adj),
            past=rng.choice(lex["past"]),
            phrase=rng.choice(lex["phrase"]),
        )
        return Drawn(text, label)

    return gen


# -- verbs of feeling (MFT): the present-tense verb alone carries the verdict ------------------------
# ("I loathe it."); the temporal tests end on these verbs, so a model that misreads them fails there
FEELING_VERBS = (
    "I {verb} it.",
    "I {verb} this {film}.",
    "Today I {verb} it.",
    "Honestly, I {verb} {title}.",
    "I really {verb} this {film}.",
    "We both {verb} the {aspect}.",
)


def feeling_verbs(label: str) -> Generator:
    """The group is the template ("Honestly, I … <title>."): every model so far fails one of them."""

    def gen(rng: random.Random) -> Drawn:
        verb = rng.choice(L.POS_VERB_NOW if label == POS else L.NEG_VERB_NOW)
        template = rng.choice(FEELING_VERBS)
        group = template.replace("{verb}", "…").replace("{", "<").replace("}", ">")
        return Drawn(_fill(rng, template, verb=verb), label, group=group)

    return gen


# -- negation (MFT): a negated negative reads positive, a negated positive negative ----------------
NEGATED = (
    "The {aspect} is not {adj} at all.",
    "This {film} is hardly {a_noun}.",
    "The {aspect} isn't {adj} for a second.",
    "It was {far} {comparative} than {expected}.",
    "The {film} is {far} {comparative} than {expected}.",
    "I never found the {aspect} {adj}.",
    "Nothing about the {aspect} is {adj}.",
    "I can't say I was {feeling}.",
    "I was never {feeling} for a moment.",
    "The {film} never {never}.",
    "This is not {phrase}.",
    "No one could call this {film} {adj}.",
    "It is hardly {a_noun}.",
    "The {aspect} is anything but {adj}.",
)


def negation(label: str) -> Generator:
    """``label`` is the meaning after negation: POS negates negative words, NEG positive ones."""
    neg_words = label == POS  # the words under the negation are of the other polarity

    def gen(rng: random.Random) -> Drawn:
        adj = rng.choice(L.NEG_ADJ if neg_words else L.POS_ADJ)
        text = _fill(
            rng,
            rng.choice(NEGATED),
            adj=adj,
            a_noun=an(rng.choice(L.NEG_NOUNS if neg_words else L.POS_NOUNS)),
            far=rng.choice(("far", "much", "a lot", "so much")),
            comparative="better" if neg_words else "worse",
            expected=rng.choice(L.EXPECTED if neg_words else L.HOPED),
            feeling=rng.choice(L.NEG_FEELINGS if neg_words else L.POS_FEELINGS),
            never=rng.choice(L.NEVER_BAD if neg_words else L.NEVER_GOOD),
            phrase=rng.choice(L.NEGATABLE_NEG if neg_words else L.NEGATABLE_POS),
        )
        return Drawn(text, label)

    return gen


# -- verdict turns (MFT, document level): n sentences one way, then a verdict the other way --------
MAX_TURN = 5


def verdict_turn(label: str) -> Generator:
    """``label`` is the verdict's: POS follows complaints with a positive verdict, NEG praise with a
    negative one. The group is ``n=k``, the number of sentences before the verdict (1..5)."""

    def gen(rng: random.Random) -> Drawn:
        k = rng.randint(1, MAX_TURN)
        before = rng.sample(L.COMPLAINTS if label == POS else L.PRAISES, k)
        verdict = rng.choice(L.POS_VERDICTS if label == POS else L.NEG_VERDICTS)
        return Drawn(" ".join([*before, verdict]), label, group=f"n={k}")

    return gen


# -- temporal change (MFT): the present opinion decides --------------------------------------------
TEMPORAL = (
    "I used to {then_now} this {film}, but now I {now_now} it.",
    "I used to think {title} was {then_adj}. Now I think it is {now_adj}.",
    "At first I found the {aspect} {then_adj}; now I find it {now_adj}.",
    "Years ago I {then_past} this {film}. Today I {now_now} it.",
    "When I first saw it I thought it was {then_adj}, but on a second viewing I {now_past} it.",
    "I once thought it was {a_then_adj} {film}, but these days I think it is {now_phrase}.",
    "As a teenager I {then_past} {title}; watching it again last night, I {now_past} it.",
    "I {then_past} it the first time. Now, ten years later, I {now_now} it.",
)


def temporal(label: str) -> Generator:
    """``label`` is the present opinion's; the past one is the opposite."""

    def gen(rng: random.Random) -> Drawn:
        now, then = (POS, NEG) if label == POS else (NEG, POS)
        pick = {
            k: rng.randrange(len(L.POS_VERB_NOW)) for k in ("then", "now")
        }  # past and present tense of one verb
        then_adj = rng.choice(_lexicon(then)["adj"])
        text = _fill(
            rng,
            rng.choice(TEMPORAL),
            then_now=(L.POS_VERB_NOW if then == POS else L.NEG_VERB_NOW)[pick["then"]],
            then_past=_lexicon(then)["past"][pick["then"]],
            now_now=(L.POS_VERB_NOW if now == POS else L.NEG_VERB_NOW)[pick["now"]],
            now_past=_lexicon(now)["past"][pick["now"]],
            then_adj=then_adj,
            a_then_adj=an(then_adj),
            now_adj=rng.choice(_lexicon(now)["adj"]),
            now_phrase=rng.choice(_lexicon(now)["phrase"]),
        )
        return Drawn(text, label)

    return gen


# -- intensifiers and hedges (DIR) -----------------------------------------------------------------
GRADED = (
    "The {aspect} is {adj}.",
    "It is {a_adj} {film}.",
    "I found the {aspect} {adj}.",
    "{title} is {a_adj} {film}.",
    "The {aspect} was {adj}, and so was the {aspect2}.",
    "What {a_adj} {film}.",
)


def graded(modifiers: tuple[str, ...]) -> Generator:
    """Original: a sentence with a sentiment adjective; perturbed: a modifier before the adjective.
    The label is the adjective's polarity (the class whose confidence a DIR test watches)."""

    def gen(rng: random.Random) -> Drawn:
        label = rng.choice((POS, NEG))
        adj = rng.choice(_lexicon(label)["adj"])
        mod = rng.choice(modifiers)
        # "a bit", "sort of" cannot stand between an article and its adjective ("an a bit dull film")
        template = rng.choice([t for t in GRADED if " " not in mod or "{a_adj}" not in t])
        slots = {"aspect": rng.choice(L.ASPECTS), "aspect2": rng.choice(L.ASPECTS)}
        slots |= {"film": rng.choice(L.FILMS), "title": title(rng)}
        plain = _fill(rng, template, adj=adj, a_adj=an(adj), **slots)
        moved = _fill(rng, template, adj=f"{mod} {adj}", a_adj=an(f"{mod} {adj}"), **slots)
        return Drawn(moved, label, original=plain)

    return gen


# -- base reviews for the invariance tests ---------------------------------------------------------
OPENERS_TITLE = (
    "I watched {title} ({year}) last weekend.",
    "{title} came out in {year} and runs {minutes} minutes.",
    "I finally saw {title}, made in {year}.",
    "{title} opened in {city} in {year}.",
)
OPENERS_NAME = (
    "{name} plays a {role} from {city}, and the shoot took {days} days.",
    "{name} directed it on a budget of {money} million dollars.",
    "It follows a {role} called {name} over {days} days in {city}.",
    "I saw it with {count} friends, all fans of {name}.",
    "{name} plays a {role} in the first of {count} planned films.",
)
BODY = {
    POS: (
        "{name} is {adj} as the {role}.",
        "The {aspect} is {adj}.",
        "It is {phrase}.",
        "I {past} every minute of it.",
        "The {aspect} is {adj}, and the {aspect2} is {adj2}.",
        "I am glad I saw it.",
        "There is not a dull moment in it.",
        "I have seen it twice now, and it is {adj} both times.",
        "You will love {name} in it.",
    ),
    NEG: (
        "{name} is {adj} as the {role}.",
        "The {aspect} is {adj}.",
        "It is {phrase}.",
        "I {past} every minute of it.",
        "The {aspect} is {adj}, and the {aspect2} is {adj2}.",
        "I am sorry I saw it.",
        "There is nothing to enjoy in it.",
        "I have rarely been so bored, and it is {adj} from start to finish.",
        "It does not work, and {name} cannot save it.",
    ),
}
VERDICT = {
    POS: (
        "I would happily watch {title} again.",
        "You will not regret it.",
        "{title} is {phrase}.",
        "That is how it should be done.",
        "I do not often say this, but it is {adj}.",
    ),
    NEG: (
        "I would not watch {title} again.",
        "Do not bother with it.",
        "{title} is {phrase}.",
        "That is two hours I will not get back.",
        "I did not expect much, and it is still {adj}.",
    ),
}


def entity_slots(rng: random.Random) -> dict[str, str]:
    """The slots the entity tests swap: a person, a title, a city and every number."""
    return {
        "name": f"{rng.choice(L.FIRST_NAMES)} {rng.choice(L.LAST_NAMES)}",
        "title": title(rng),
        "city": rng.choice(L.CITIES),
        "year": str(rng.randint(1950, 2025)),
        "minutes": str(rng.randint(80, 190)),
        "days": str(rng.randint(12, 95)),
        "money": str(rng.randint(2, 180)),
        "count": str(rng.randint(3, 9)),
    }


NUMBERS = ("year", "minutes", "days", "money", "count")


@dataclass(frozen=True)
class Review:
    """A base review's templates and its fixed (non-entity) slots; :meth:`render` fills the entities."""

    templates: tuple[str, ...]
    slots: dict[str, str]
    label: str

    def render(self, entities: dict[str, str]) -> str:
        return " ".join(_cap(t.format(**self.slots, **entities)) for t in self.templates)


def review(rng: random.Random) -> Review:
    label = rng.choice((POS, NEG))
    lex = _lexicon(label)
    body = rng.sample(BODY[label], rng.randint(1, 2))
    templates = (rng.choice(OPENERS_TITLE), rng.choice(OPENERS_NAME), *body, rng.choice(VERDICT[label]))
    adj, adj2 = rng.sample(lex["adj"], 2)
    aspect, aspect2 = rng.sample(L.ASPECTS, 2)
    slots = {"adj": adj, "adj2": adj2, "aspect": aspect, "aspect2": aspect2, "role": rng.choice(L.ROLES)}
    slots |= {"past": rng.choice(lex["past"]), "phrase": rng.choice(lex["phrase"])}
    return Review(templates, slots, label)


def swapped(keys: tuple[str, ...]) -> Generator:
    """INV: the same review with the entities ``keys`` drawn again (each one different)."""

    def gen(rng: random.Random) -> Drawn | None:
        r, before = review(rng), entity_slots(rng)
        after = dict(before)
        for key in keys:
            for _ in range(20):
                after[key] = entity_slots(rng)[key]
                if after[key] != before[key]:
                    break
        original, perturbed = r.render(before), r.render(after)
        return None if original == perturbed else Drawn(perturbed, r.label, original=original)

    return gen


def with_neutral(rng: random.Random) -> Drawn:
    """INV: a neutral sentence at the start, somewhere in the middle or at the end."""
    r = review(rng)
    original = r.render(entity_slots(rng))
    sentences = re.split(r"(?<=[.!?]) ", original)
    at = rng.randint(0, len(sentences))
    perturbed = " ".join([*sentences[:at], rng.choice(L.NEUTRAL_SENTENCES), *sentences[at:]])
    return Drawn(perturbed, r.label, original=original)


def add_typos(text: str, rng: random.Random, k: int) -> str:
    """Swap two neighbouring letters in ``k`` different words of four letters or more (CheckList's typo)."""
    words = list(re.finditer(r"[A-Za-z]{4,}", text))
    chars = list(text)
    for m in rng.sample(words, min(k, len(words))):
        i = rng.randrange(m.start(), m.end() - 1)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def with_typos(rng: random.Random) -> Drawn | None:
    r = review(rng)
    original = r.render(entity_slots(rng))
    perturbed = add_typos(original, rng, rng.choice((1, 2)))
    return None if perturbed == original else Drawn(perturbed, r.label, original=original)


def _contract(text: str, expand: bool) -> str:
    for long, short in L.CONTRACTIONS:
        a, b = (short, long) if expand else (long, short)
        text = re.sub(rf"\b{re.escape(a)}\b", b, text)
    return text


def with_contractions(rng: random.Random) -> Drawn | None:
    """INV: every contractable pair contracted ("it is" -> "it's"), or, in half the cases, a contracted
    review expanded again."""
    r = review(rng)
    expanded = r.render(entity_slots(rng))
    contracted = _contract(expanded, expand=False)
    if contracted == expanded:
        return None
    if rng.random() < 0.5:
        return Drawn(contracted, r.label, original=expanded)
    return Drawn(expanded, r.label, original=contracted)
