"""``han-explorer check``: the behaviour suite (CheckList-style) on a model.

A table of capabilities x test types (MFT, INV, DIR) with failure rates, each test's rate and a few
failing cases; ``--json`` prints :meth:`engine.behaviour.SuiteResult.to_json` (schema
``han-explorer/behaviour/1``, documented in :mod:`engine.behaviour`). Failures are findings, not
errors: the exit status is 0 whatever the rates; a bad ``--model`` or an unknown ``--capability``
is one line and status 2. Like the rest of the CLI, torch and the engine are imported only when the
command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]

DEFAULT_CASES = 200  # engine.behaviour.DEFAULT_CASES, spelled out so that --help needs no numpy
TYPES = ("MFT", "INV", "DIR")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``check``; :func:`run` runs it."""
    p = sub.add_parser(
        "check",
        help="behavioural tests of a model: negation, verdict turns, typos, names... (CheckList)",
        description="Generated test cases by capability and test type (after Ribeiro et al. 2020, "
        "CheckList): MFT, a minimum functionality test, fails a case when the prediction is not its "
        "label; INV, an invariance, when a harmless change flips the prediction; DIR, a directional "
        "expectation, when a change moves the confidence the wrong way by more than 0.1. The exit "
        "status is 0 whatever the failure rates.",
    )
    p.add_argument("--model", default=None, metavar="DIR", help="model folder (default: the shipped model)")
    p.add_argument(
        "--capability",
        action="append",
        default=None,
        metavar="NAME",
        help="run only this capability (repeat for several): vocabulary, negation, verdict, temporal, "
        "intensity, robustness, entities, neutral",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated cases (default 0)")
    p.add_argument(
        "--max-cases",
        type=_positive,
        default=DEFAULT_CASES,
        metavar="N",
        help=f"cases per test (default {DEFAULT_CASES})",
    )
    p.add_argument(
        "--examples",
        type=_count,
        default=None,
        metavar="N",
        help="failing cases shown per test (default 3 in the table, 10 in --json; 0: none)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON (han-explorer/behaviour/1)")
    p.add_argument(
        "--device", default="auto", metavar="{auto,cpu,cuda,cuda:N}", help="where to compute (default auto)"
    )


def _positive(text: str) -> int:
    from app.cli import _positive as positive

    return positive(text)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, not {text!r}")
    return value


def run(a: argparse.Namespace) -> int:
    from app.cli import UserError, _load_model, _one_line
    from app.render import json_for_terminal
    from engine.behaviour import BundlePredictor, build_suite, run_suite
    from engine.train import resolve_device

    try:
        tests = build_suite(a.seed, a.max_cases, a.capability)
    except ValueError as e:
        raise UserError(f"--capability: {_one_line(e)}") from None
    try:
        device = str(resolve_device(a.device))
    except (ValueError, RuntimeError) as e:
        raise UserError(f"--device: {_one_line(e)}") from None
    bundle = _load_model(a.model, device)
    model = str(bundle.path) if bundle.path is not None else "(in memory)"
    try:
        result = run_suite(
            BundlePredictor(bundle), tests, seed=a.seed, cases_per_test=a.max_cases, model=model
        )
    except ValueError as e:
        raise UserError(_one_line(e)) from None
    if a.json:
        print(json_for_terminal(result.to_json(examples=10 if a.examples is None else a.examples)))
    else:
        print(render_table(result, 3 if a.examples is None else a.examples))
    return 0


def _rate(cell: Any) -> str:
    return "" if cell is None else f"{cell.failure_rate:6.1%} of {cell.n}"


def render_table(result: Any, examples: int) -> str:
    """The capability x test-type table, every test's rate, and ``examples`` failing cases per test."""
    from app.render import terminal_safe
    from engine.behaviour import CAPABILITIES

    titles = {c.name: c.title for c in CAPABILITIES}
    lines = [
        f"Behaviour of {result.model}: {len(result.tests)} tests, {result.texts_scored:,} texts scored in "
        f"{result.seconds:.1f} s (seed {result.seed}, up to {result.cases_per_test} cases a test)",
        "failure rate by capability and test type (MFT: wrong label; INV: prediction flipped; "
        "DIR: confidence moved the wrong way)",
        "",
        f"{'capability':<24} " + " ".join(f"{t:>14}" for t in TYPES),
    ]
    for cap in result.capabilities():
        cells = [_rate(result.cell(cap, t)) for t in TYPES]
        lines.append(f"{titles[cap]:<24} " + " ".join(f"{c:>14}" for c in cells))
    lines.append("")
    for t in result.tests:
        groups = (
            "  " + ", ".join(f"{g}: {r.failure_rate:.0%}" for g, r in t.groups.items()) if t.groups else ""
        )
        lines.append(f"{t.test_type} {t.capability} / {t.name}: {t.failure_rate:.1%} of {t.n}{groups}")
        for f in t.failures[:examples]:
            probs = " ".join(f"{k}={v:.2f}" for k, v in f.probabilities.items())
            lines.append(f"    {_clip(terminal_safe(f.text))}")
            if f.original is not None:
                was = " ".join(f"{k}={v:.2f}" for k, v in (f.original_probabilities or {}).items())
                lines.append(f"      original: {_clip(terminal_safe(f.original))}  [{was}]")
            lines.append(f"      expected {f.expected}; predicted {f.predicted} [{probs}]")
    return "\n".join(lines)


def _clip(text: str, width: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
