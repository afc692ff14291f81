"""``han-explorer explain``: signed attributions of one review beside its attention.

Integrated gradients and leave-one-out (:mod:`engine.explain`) for a target class (default: the
predicted one); ``--json`` prints the ``predict --json`` schema plus ``attributions`` at the same
spans, ``--html`` writes a page shaded with a diverging colour-blind-safe map. Like the rest of the
CLI, nothing here imports Qt, and torch and the engine are imported only when the command runs.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]

_METHODS = ("ig", "occlusion")  # engine.explain.METHODS, spelled out so that --help needs no torch


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``explain``; :func:`run` runs it."""
    p = sub.add_parser(
        "explain",
        help="which words push the prediction which way (integrated gradients, leave-one-out)",
        description="Signed attributions for one review: positive pushes towards the target class, "
        "negative away from it; with their agreement with the model's attention.",
    )
    p.add_argument("file", nargs="?", default="-", help="text file, or - for standard input")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument(
        "--method",
        default="all",
        choices=[*_METHODS, "all"],
        help="ig: integrated gradients; occlusion: leave each word out; all: both (default)",
    )
    p.add_argument(
        "--target", default=None, metavar="LABEL", help="class to explain (default: the prediction)"
    )
    p.add_argument("--steps", type=int, default=50, help="integrated gradients' steps (default 50)")
    p.add_argument("--json", action="store_true", help="print the analysis and attributions as JSON")
    p.add_argument("--html", default=None, metavar="OUT", help="also write a self-contained HTML page")


def run(a: argparse.Namespace) -> int:
    from app.cli import UserError, _load_model, _output_file, _read_text
    from app.render import json_for_terminal
    from app.render_explain import explain_json, render_explain_html, render_explain_terminal
    from engine.analyze import InputError, analyze
    from engine.atomic import write_text
    from engine.explain import AGREEMENT_MEANINGS, METHODS, agreement, explain

    if a.steps < 1:
        raise UserError(f"--steps {a.steps}: give a positive number of steps (default 50)")
    html_path = _output_file(a.html, "--html") if a.html else None
    text = _read_text(a.file)
    bundle = _load_model(a.model)
    if a.target is not None and a.target not in bundle.label_names:
        raise UserError(f"--target {a.target!r}: the model's labels are {', '.join(bundle.label_names)}")
    try:
        analysis = analyze(bundle, text)
        methods = METHODS if a.method == "all" else (a.method,)
        attributions = {m: explain(bundle, text, m, steps=a.steps) for m in methods}
    except InputError as e:
        raise UserError(str(e)) from None
    target = a.target or analysis.label
    agreements = {m: agreement(analysis, r, target) for m, r in attributions.items()}
    if html_path is not None:
        write_text(
            html_path, render_explain_html(analysis, attributions, agreements, target, AGREEMENT_MEANINGS)
        )
    if a.json:
        print(json_for_terminal(explain_json(analysis, attributions, agreements, target, AGREEMENT_MEANINGS)))
    else:
        print(render_explain_terminal(analysis, attributions, agreements, target))
    return 0
