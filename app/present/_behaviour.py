"""The Behaviour explorer's presenters: a suite run as a job, its result as the table and failure rows."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from app.display._behaviour import TEST_TYPES, BehaviourTable, CellDisplay, FailureRow

if TYPE_CHECKING:
    from engine.behaviour import Failure, Predictor, RunProgress, SuiteResult
    from engine.bundle import ModelBundle

__all__ = ["behaviour_table", "cell_summary", "failure_rows", "progress_text", "suite_job"]


def suite_job(
    bundle: ModelBundle,
    seed: int,
    cases: int,
    model: str,
    predictor: Callable[[ModelBundle], Predictor] | None = None,
) -> Generator[RunProgress, None, SuiteResult]:
    """Generate the suite and run it (off the GUI thread); yields progress between batches, so a
    cancel stops it within one batch."""
    from engine.behaviour import BundlePredictor, build_suite, run_suite_steps

    tests = build_suite(seed, cases)
    make = predictor or BundlePredictor
    return (yield from run_suite_steps(make(bundle), tests, seed=seed, cases_per_test=cases, model=model))


def progress_text(p: RunProgress) -> str:
    return f"Scoring {p.done:,} of {p.total:,} texts…"


def behaviour_table(result: SuiteResult) -> BehaviourTable:
    from engine.behaviour import CAPABILITIES

    caps = [c for c in CAPABILITIES if c.name in result.capabilities()]
    rows = []
    for cap in caps:
        row: list[CellDisplay | None] = []
        for kind in TEST_TYPES:
            cell = result.cell(cap.name, kind)
            tests = [t for t in result.tests if t.capability == cap.name and t.test_type == kind]
            tip = "\n".join(f"{t.name}: {t.failure_rate:.1%} of {t.n} failed" + _groups(t) for t in tests)
            row.append(None if cell is None else CellDisplay(cell.failure_rate, cell.n, cell.failures, tip))
        rows.append(tuple(row))
    return BehaviourTable(
        tuple(c.name for c in caps),
        tuple(c.title for c in caps),
        tuple(c.description for c in caps),
        tuple(rows),
    )


def _groups(t: Any) -> str:
    if not t.groups:
        return ""
    return " (" + ", ".join(f"{g}: {r.failure_rate:.0%}" for g, r in t.groups.items()) + ")"


def _probs(p: dict[str, float] | None) -> str:
    return ", ".join(f"P({k}) {v:.3f}" for k, v in (p or {}).items())


def _row(test: str, f: Failure) -> FailureRow:
    top = max(f.probabilities, key=lambda k: f.probabilities[k])
    detail = [
        f"Test: {test}",
        f"Expected: {f.expected}",
        f"Predicted: {f.predicted} ({_probs(f.probabilities)})",
    ]
    if f.group:
        detail.append(f"Group: {f.group}")
    detail += ["", "Text:", f.text]
    if f.original is not None:
        was = f"{f.original_predicted} ({_probs(f.original_probabilities)})"
        detail += ["", f"Original, predicted {was}:", f.original]
    return FailureRow(
        test,
        f.expected,
        f.predicted,
        f"P({top}) {f.probabilities[top]:.2f}",
        f.text,
        f.original,
        "\n".join(detail),
    )


def failure_rows(result: SuiteResult, capability: str, test_type: str) -> tuple[FailureRow, ...]:
    """Every failing case of ``capability``'s tests of ``test_type``, test after test."""
    return tuple(
        _row(t.name, f)
        for t in result.tests
        if t.capability == capability and t.test_type == test_type
        for f in t.failures
    )


def cell_summary(result: SuiteResult, capability: str, test_type: str) -> str:
    """What the failure list shows: the cell pooled, then each of its tests (with its groups)."""
    from engine.behaviour import CAPABILITIES

    title = next(c.title for c in CAPABILITIES if c.name == capability)
    cell = result.cell(capability, test_type)
    if cell is None:
        return f"{title} has no {test_type} test."
    lines = [f"{title} · {test_type}: {cell.failures:,} of {cell.n:,} cases failed ({cell.failure_rate:.1%})"]
    for t in result.tests:
        if t.capability == capability and t.test_type == test_type:
            lines.append(f"  {t.name}: {t.failure_rate:.1%} of {t.n:,}{_groups(t)}")
    return "\n".join(lines)
