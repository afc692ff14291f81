"""The suite: capabilities x test types (MFT, INV, DIR), after Ribeiro et al. 2020 (CheckList).

- **MFT** (minimum functionality): each case has a label; a case fails when the prediction differs.
- **INV** (invariance): each case is an original and a perturbed text that should read the same; a
  case fails when the predicted class changes (whether or not the original was right).
- **DIR** (directional expectation): a perturbation that should move the confidence in a class one
  way; a case fails when it moves the other way by more than a tolerance (CheckList's sentiment
  suite uses 0.1 of probability).

Every test is generated from :mod:`engine.behaviour._lexicon` by :mod:`engine.behaviour._templates`,
each with its own ``Random`` seeded by the suite's seed and the test's name, so that a test's cases
do not change when another test is added, and the same seed gives the same suite everywhere.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from engine.behaviour import _templates as T
from engine.behaviour._lexicon import HEDGES, INTENSIFIERS

__all__ = [
    "CAPABILITIES",
    "DEFAULT_CASES",
    "DIR_TOLERANCE",
    "TEST_TYPES",
    "BehaviourTest",
    "Capability",
    "Case",
    "build_suite",
    "capability_names",
    "suite_fingerprint",
]

TestType = Literal["MFT", "INV", "DIR"]
TEST_TYPES: tuple[TestType, ...] = ("MFT", "INV", "DIR")
DEFAULT_CASES = 200  # per test: hundreds per capability, the whole suite ~5,000 texts to score
DIR_TOLERANCE = 0.1  # CheckList's sentiment DIR tests: confidence may move the wrong way by 0.1


@dataclass(frozen=True)
class Case:
    """One test case. MFT: ``text`` should be ``label``. INV: ``text`` (perturbed) should get the
    class ``original`` gets. DIR: ``text`` should not move the probability of ``label`` against the
    test's direction, compared with ``original``, by more than the tolerance."""

    text: str
    label: str
    original: str | None = None
    group: str = ""  # a sub-population reported on its own ("n=3": three complaints before a verdict)


@dataclass(frozen=True)
class BehaviourTest:
    capability: str
    name: str
    test_type: TestType
    description: str
    cases: tuple[Case, ...]
    direction: Literal["", "not_down", "not_up"] = ""  # DIR only
    tolerance: float = 0.0  # DIR only


@dataclass(frozen=True)
class _Spec:
    name: str
    test_type: TestType
    description: str
    generator: T.Generator
    direction: Literal["", "not_down", "not_up"] = ""


@dataclass(frozen=True)
class Capability:
    name: str  # the CLI's --capability
    title: str  # the table's row
    description: str
    tests: tuple[_Spec, ...]


P, N = T.POS, T.NEG
CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "vocabulary",
        "Vocabulary",
        "clear positive and negative words and phrases in short sentences",
        (
            _Spec("positive words", "MFT", "'The acting is superb.' should be pos", T.vocabulary(P)),
            _Spec("negative words", "MFT", "'This film is a waste of time.' should be neg", T.vocabulary(N)),
            _Spec("positive feeling verbs", "MFT", "'I adore it.' should be pos", T.feeling_verbs(P)),
            _Spec("negative feeling verbs", "MFT", "'I loathe it.' should be neg", T.feeling_verbs(N)),
        ),
    ),
    Capability(
        "negation",
        "Negation",
        "negated sentiment reads the other way ('not bad', 'hardly a triumph')",
        (
            _Spec("negated negative", "MFT", "'It is hardly a failure.' should be pos", T.negation(P)),
            _Spec("negated positive", "MFT", "'The plot is not clever at all.' should be neg", T.negation(N)),
        ),
    ),
    Capability(
        "verdict",
        "Verdict turns",
        "1 to 5 sentences one way, then a verdict the other way: the verdict decides",
        (
            _Spec(
                "complaints, then a positive verdict",
                "MFT",
                "labelled by the verdict: pos",
                T.verdict_turn(P),
            ),
            _Spec(
                "praise, then a negative verdict", "MFT", "labelled by the verdict: neg", T.verdict_turn(N)
            ),
        ),
    ),
    Capability(
        "temporal",
        "Temporal change",
        "'I used to hate it, now I love it': the present opinion decides",
        (
            _Spec("used to dislike, now like", "MFT", "labelled by the present: pos", T.temporal(P)),
            _Spec("used to like, now dislike", "MFT", "labelled by the present: neg", T.temporal(N)),
        ),
    ),
    Capability(
        "intensity",
        "Intensifiers & hedges",
        "'really', 'extremely' should not lower confidence in the class; 'somewhat' should not raise it",
        (
            _Spec(
                "intensifiers",
                "DIR",
                f"an intensifier before the adjective; P(class) may drop by at most {DIR_TOLERANCE}",
                T.graded(INTENSIFIERS),
                "not_down",
            ),
            _Spec(
                "hedges",
                "DIR",
                f"a hedge before the adjective; P(class) may rise by at most {DIR_TOLERANCE}",
                T.graded(HEDGES),
                "not_up",
            ),
        ),
    ),
    Capability(
        "robustness",
        "Typos & contractions",
        "a review with letters swapped or contractions changed should keep its class",
        (
            _Spec("typos", "INV", "two neighbouring letters swapped in one or two words", T.with_typos),
            _Spec(
                "contractions", "INV", "'it is' <-> 'it's', 'do not' <-> 'don't', ...", T.with_contractions
            ),
        ),
    ),
    Capability(
        "entities",
        "Names, titles, numbers",
        "changing a person's name, the title, the city, years and numbers should keep the class",
        (
            _Spec("names", "INV", "the person's name changed", T.swapped(("name",))),
            _Spec(
                "titles and places",
                "INV",
                "the film's title and the city changed",
                T.swapped(("title", "city")),
            ),
            _Spec("years and numbers", "INV", "every year and number changed", T.swapped(T.NUMBERS)),
        ),
    ),
    Capability(
        "neutral",
        "Neutral sentence",
        "adding a sentence that says nothing about the film should keep the class",
        (
            _Spec(
                "neutral sentence added", "INV", "at the start, in the middle or at the end", T.with_neutral
            ),
        ),
    ),
)


def capability_names() -> list[str]:
    return [c.name for c in CAPABILITIES]


def build_suite(
    seed: int = 0, cases: int = DEFAULT_CASES, capabilities: Sequence[str] | None = None
) -> tuple[BehaviourTest, ...]:
    """Every test of ``capabilities`` (default: all) with ``cases`` cases each, deterministic in ``seed``.

    ValueError (one line) for an unknown capability name or ``cases < 1``.
    """
    if cases < 1:
        raise ValueError(f"the number of cases per test must be at least 1, got {cases}")
    chosen = list(capabilities) if capabilities is not None else capability_names()
    unknown = [c for c in chosen if c not in capability_names()]
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r}; the suite has: {', '.join(capability_names())}")
    tests = []
    for cap in CAPABILITIES:
        if cap.name not in chosen:
            continue
        for spec in cap.tests:
            rng = random.Random(f"{seed}/{cap.name}/{spec.name}")  # str seeds are stable across runs
            drawn = T.draw(spec.generator, cases, rng)
            tests.append(
                BehaviourTest(
                    cap.name,
                    spec.name,
                    spec.test_type,
                    spec.description,
                    tuple(Case(d.text, d.label, d.original, d.group) for d in drawn),
                    spec.direction,
                    DIR_TOLERANCE if spec.test_type == "DIR" else 0.0,
                )
            )
    return tuple(tests)


def suite_fingerprint(tests: Sequence[BehaviourTest]) -> str:
    """sha256 of every test's identity and cases: two runs with the same fingerprint scored the very
    same texts (the lexicons or templates changed when it differs, whatever the seed says)."""
    h = hashlib.sha256()
    for t in tests:
        head = [t.capability, t.name, t.test_type, t.direction, t.tolerance]
        h.update(json.dumps(head).encode())
        for c in t.cases:
            h.update(json.dumps([c.text, c.label, c.original, c.group], ensure_ascii=False).encode())
    return h.hexdigest()
