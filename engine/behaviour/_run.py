"""Running the suite on a model: every distinct text scored once, in length-sorted batches.

:func:`run_suite_steps` is a generator (it yields :class:`RunProgress` after each batch, so the app
can show progress and cancel between batches) that returns a :class:`SuiteResult`; :func:`run_suite`
drains it. Any object with ``label_names`` and ``predict_proba(texts) -> (N, C)`` is a model here;
:class:`BundlePredictor` wraps a loaded :class:`~engine.bundle.ModelBundle`.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from engine.behaviour._suite import CAPABILITIES, TEST_TYPES, BehaviourTest, Case, suite_fingerprint
from engine.steps import run_to_end

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = [
    "SCHEMA",
    "BundlePredictor",
    "CellResult",
    "Failure",
    "GroupResult",
    "Predictor",
    "RunProgress",
    "SuiteResult",
    "TestResult",
    "run_suite",
    "run_suite_steps",
]

SCHEMA = "han-explorer/behaviour/1"
BATCH = 256  # texts per forward pass; the suite's texts are short (a few to ~90 words)


class Predictor(Protocol):
    """What the runner needs of a model."""

    @property
    def label_names(self) -> Sequence[str]: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``(N, C)`` in ``label_names`` order, one row per text."""
        ...


class BundlePredictor:
    """A loaded HAN as a :class:`Predictor`: the inference path ``evaluate`` uses, whole texts, no cut.

    ``threads``: torch's intra-op threads while it scores (restored after); None (the default) keeps
    torch's setting, which is process-wide: the app's other explorers score meanwhile. On the shared
    2-core CPU one thread and two took the same time within the noise in fresh processes (6.6 and
    6.8 s, 11.2 and 9.8 s for the default suite, load average 5-7).
    """

    def __init__(self, bundle: ModelBundle, threads: int | None = None) -> None:
        self.bundle = bundle
        self.threads = threads

    @property
    def label_names(self) -> Sequence[str]:
        return self.bundle.label_names

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from engine.inference import score_documents
        from engine.preprocess import doc_words, encode_words

        docs = [[s for s in d if s] for d in encode_words([doc_words(t) for t in texts], self.bundle.vocab)]
        empty = [i for i, d in enumerate(docs) if not d]
        if empty:
            raise ValueError(f"the model reads no words in {texts[empty[0]]!r}")
        before = torch.get_num_threads()
        try:
            if self.threads is not None and self.threads != before:
                torch.set_num_threads(self.threads)
            with torch.inference_mode():
                scores = score_documents(self.bundle.model, docs, keep_attention=False)
                logits = torch.stack([s.logits for s in scores]).float()  # (N, C)
                return torch.softmax(logits, -1).cpu().numpy().astype(np.float64)
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)


@dataclass(frozen=True)
class RunProgress:
    done: int  # texts scored
    total: int  # distinct texts in the suite


@dataclass(frozen=True)
class Failure:
    """A failing case. MFT: ``text`` and what the model said. INV/DIR: ``text`` is the perturbed
    text, ``original`` the unperturbed one, each with its prediction and probabilities."""

    text: str
    expected: str  # a sentence: "pos", "same as the original: pos", "P(pos) not below 0.87"
    predicted: str
    probabilities: dict[str, float]
    original: str | None = None
    original_predicted: str | None = None
    original_probabilities: dict[str, float] | None = None
    group: str = ""


@dataclass(frozen=True)
class GroupResult:
    n: int
    failures: int

    @property
    def failure_rate(self) -> float:
        return self.failures / self.n if self.n else 0.0


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class, whatever its name

    capability: str
    name: str
    test_type: str
    description: str
    n: int
    failures: tuple[Failure, ...]  # every failing case, in case order
    groups: dict[str, GroupResult] = field(default_factory=dict)

    @property
    def failure_count(self) -> int:
        return len(self.failures)

    @property
    def failure_rate(self) -> float:
        return len(self.failures) / self.n if self.n else 0.0


@dataclass(frozen=True)
class CellResult:
    """One cell of the capability x test-type table: its tests pooled."""

    n: int
    failures: int
    tests: int

    @property
    def failure_rate(self) -> float:
        return self.failures / self.n if self.n else 0.0


@dataclass(frozen=True)
class SuiteResult:
    model: str
    label_names: tuple[str, ...]
    seed: int
    cases_per_test: int
    tests: tuple[TestResult, ...]
    seconds: float
    texts_scored: int
    suite_sha256: str = ""  # :func:`engine.behaviour.suite_fingerprint` of the tests run

    def cell(self, capability: str, test_type: str) -> CellResult | None:
        """The pooled result of ``capability``'s tests of ``test_type``; None where it has none."""
        tests = [t for t in self.tests if t.capability == capability and t.test_type == test_type]
        if not tests:
            return None
        return CellResult(sum(t.n for t in tests), sum(t.failure_count for t in tests), len(tests))

    def capabilities(self) -> list[str]:
        """The capabilities run, in the suite's order."""
        run = {t.capability for t in self.tests}
        return [c.name for c in CAPABILITIES if c.name in run]

    def to_json(self, examples: int | None = None) -> dict[str, Any]:
        """The documented JSON (``han-explorer/behaviour/1``, see :mod:`engine.behaviour`);
        ``examples``: at most this many failing cases per test (None: all)."""
        titles = {c.name: c for c in CAPABILITIES}
        return {
            "schema": SCHEMA,
            "model": self.model,
            "labels": list(self.label_names),
            "seed": self.seed,
            "cases_per_test": self.cases_per_test,
            "seconds": round(self.seconds, 3),
            "texts_scored": self.texts_scored,
            "suite_sha256": self.suite_sha256,
            "capabilities": [
                {
                    "name": c,
                    "title": titles[c].title,
                    "description": titles[c].description,
                    "cells": {
                        tt: _cell_json(cell) for tt in TEST_TYPES if (cell := self.cell(c, tt)) is not None
                    },
                }
                for c in self.capabilities()
            ],
            "tests": [_test_json(t, examples) for t in self.tests],
        }


def _cell_json(cell: CellResult) -> dict[str, Any]:
    return {"n": cell.n, "failures": cell.failures, "failure_rate": cell.failure_rate, "tests": cell.tests}


def _test_json(t: TestResult, examples: int | None) -> dict[str, Any]:
    shown = t.failures if examples is None else t.failures[:examples]
    return {
        "capability": t.capability,
        "name": t.name,
        "type": t.test_type,
        "description": t.description,
        "n": t.n,
        "failures": t.failure_count,
        "failure_rate": t.failure_rate,
        "groups": {
            g: {"n": r.n, "failures": r.failures, "failure_rate": r.failure_rate} for g, r in t.groups.items()
        },
        "examples": [{k: v for k, v in asdict(f).items() if v is not None and v != ""} for f in shown],
    }


def _texts(tests: Sequence[BehaviourTest]) -> list[str]:
    """Every distinct text the suite scores, longest first (batches of similar length pad little)."""
    seen = {c.text for t in tests for c in t.cases} | {
        c.original for t in tests for c in t.cases if c.original
    }
    return sorted(seen, key=lambda s: (-len(s), s))


def run_suite_steps(
    predictor: Predictor,
    tests: Sequence[BehaviourTest],
    seed: int = 0,
    cases_per_test: int = 0,
    model: str = "",
    batch_size: int = BATCH,
) -> Generator[RunProgress, None, SuiteResult]:
    """Score every text of ``tests`` with ``predictor`` and judge every case.

    ``seed``, ``cases_per_test`` and ``model`` are recorded in the result as given. ValueError when the
    model lacks a label the suite expects (the suite's labels are "pos" and "neg").
    """
    labels = tuple(predictor.label_names)
    needed = sorted({c.label for t in tests for c in t.cases} - set(labels))
    if needed:
        raise ValueError(
            f"the behaviour suite tests sentiment: the model's labels must include {', '.join(needed)}, "
            f"but they are {', '.join(labels)}"
        )
    start = time.perf_counter()
    texts = _texts(tests)
    probs: dict[str, np.ndarray] = {}
    yield RunProgress(0, len(texts))
    for k in range(0, len(texts), batch_size):
        batch = texts[k : k + batch_size]
        p = np.asarray(predictor.predict_proba(batch), dtype=np.float64)  # (b, C)
        if p.shape != (len(batch), len(labels)):
            raise ValueError(f"the model gave probabilities of shape {p.shape} for {len(batch)} texts")
        probs.update(zip(batch, p, strict=True))
        yield RunProgress(min(k + batch_size, len(texts)), len(texts))
    results = tuple(_judge(t, probs, labels) for t in tests)
    seconds = time.perf_counter() - start
    return SuiteResult(
        model, labels, seed, cases_per_test, results, seconds, len(texts), suite_fingerprint(tests)
    )


def run_suite(predictor: Predictor, tests: Sequence[BehaviourTest], **kw: Any) -> SuiteResult:
    """:func:`run_suite_steps` to its end."""
    return run_to_end(run_suite_steps(predictor, tests, **kw))


def _judge(test: BehaviourTest, probs: dict[str, np.ndarray], labels: tuple[str, ...]) -> TestResult:
    failures: list[Failure] = []
    groups: dict[str, list[int]] = {}
    for case in test.cases:
        failure = _check(test, case, probs, labels)
        if failure is not None:
            failures.append(failure)
        if case.group:
            g = groups.setdefault(case.group, [0, 0])
            g[0] += 1
            g[1] += failure is not None
    return TestResult(
        test.capability,
        test.name,
        test.test_type,
        test.description,
        len(test.cases),
        tuple(failures),
        {g: GroupResult(n, f) for g, (n, f) in sorted(groups.items())},
    )


def _named(p: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    return {name: round(float(v), 6) for name, v in zip(labels, p, strict=True)}


def _check(
    test: BehaviourTest, case: Case, probs: dict[str, np.ndarray], labels: tuple[str, ...]
) -> Failure | None:
    p = probs[case.text]
    predicted = labels[int(np.argmax(p))]
    if test.test_type == "MFT":
        if predicted == case.label:
            return None
        return Failure(case.text, case.label, predicted, _named(p, labels), group=case.group)
    assert case.original is not None
    q = probs[case.original]
    was = labels[int(np.argmax(q))]
    if test.test_type == "INV":
        if predicted == was:
            return None
        expected = f"same as the original: {was}"
    else:
        c = labels.index(case.label)
        if test.direction == "not_down":
            if p[c] >= q[c] - test.tolerance:
                return None
            expected = f"P({case.label}) not below {q[c] - test.tolerance:.3f} (original {q[c]:.3f})"
        else:
            if p[c] <= q[c] + test.tolerance:
                return None
            expected = f"P({case.label}) not above {q[c] + test.tolerance:.3f} (original {q[c]:.3f})"
    return Failure(
        case.text, expected, predicted, _named(p, labels), case.original, was, _named(q, labels), case.group
    )
