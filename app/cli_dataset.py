"""``evaluate`` (sample, progress, errors) and ``predict --batch``: the CLI side of the Dataset explorer.

``evaluate`` scores with :func:`engine.corpus.score_corpus`, the call the Dataset tab makes, so the
two agree review by review. Like the rest of the CLI this imports no Qt, and torch and the engine
only inside the command functions (``--help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_evaluate_args", "add_predict_args", "run_evaluate", "run_predict_batch"]


def add_evaluate_args(e: argparse.ArgumentParser) -> None:
    """The options ``evaluate`` has beyond data, model, limit, json, device and record."""
    e.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="a stratified random sample of N rows (each class in its share; see --seed)",
    )
    e.add_argument("--seed", type=int, default=0, help="the sample's random seed (default 0)")
    e.add_argument(
        "--errors",
        default=None,
        metavar="OUT.jsonl",
        help="write the misclassified reviews with their probabilities, one JSON object a line",
    )
    e.add_argument(
        "--probabilities",
        default=None,
        metavar="OUT.safetensors",
        help="write the model's class probabilities for every row of the data (a teacher for "
        "'train --distill-from' on the same data, 200 KB for 25,000 reviews); not with --limit or --sample",
    )
    e.add_argument("--quiet", action="store_true", help="no progress bar")


def add_predict_args(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--batch",
        default=None,
        metavar="DATA",
        help="predict every review of a labelled dataset (any format evaluate reads); needs --jsonl",
    )
    q.add_argument(
        "--jsonl",
        default=None,
        metavar="OUT",
        help="with --batch: every review's weights (the --json schema) with row and true label, a line each",
    )
    q.add_argument(
        "--format",
        default="auto",
        choices=["auto", "jsonl", "csv", "aclimdb", "yelp"],
        help="with --batch: how to read DATA (auto: by its name)",
    )
    q.add_argument("--quiet", action="store_true", help="with --batch: no progress bar")


def _bar(total: int, quiet: bool, unit: str) -> Any:
    """A tqdm bar on stderr when it is a terminal; None when piped or ``--quiet``."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, dynamic_ncols=True, file=sys.stderr)


def _pick_rows(a: argparse.Namespace, ds: Any) -> tuple[Any, Any]:
    """(dataset to score, each of its rows' index in the file's usable rows)."""
    import numpy as np

    from app.cli import UserError
    from engine.corpus_metrics import stratified_sample

    if a.sample is None:
        return ds, np.arange(len(ds))
    if a.sample < 1:
        raise UserError(f"--sample must be at least 1, got {a.sample}")
    rows = stratified_sample(ds.labels, a.sample, a.seed)
    return ds.subset(rows.tolist()), rows


def _warn_one_class(a: argparse.Namespace, ds: Any) -> None:
    classes = sorted({ds.label_names[y] for y in ds.labels})
    if a.limit is not None and len(classes) == 1:
        print(
            f"warning: the first {len(ds)} rows (--limit) hold only class {classes[0]!r}: "
            f"per-class figures mean little; --sample {len(ds)} draws a stratified sample",
            file=sys.stderr,
        )


def run_evaluate(a: argparse.Namespace) -> int:
    from app.cli import UserError, _check_record, _load_model, _one_line, _output_file
    from engine.bundle import update_metadata
    from engine.corpus import score_corpus
    from engine.corpus_metrics import metrics
    from engine.data import load_dataset
    from engine.preprocess import default_workers
    from engine.train import resolve_device

    if a.record:
        _check_record(a)
        if a.sample is not None:
            raise UserError("--record stores a figure for the whole dataset: drop --sample")
    if a.sample is not None and a.limit is not None:
        raise UserError("give --limit (the first N rows) or --sample (a stratified sample), not both")
    errors_path = _output_file(a.errors, "--errors") if a.errors else None
    if a.probabilities and (a.sample is not None or a.limit is not None):
        raise UserError("--probabilities covers every row of the data: drop --limit and --sample")
    probs_path = _output_file(a.probabilities, "--probabilities") if a.probabilities else None
    if probs_path is not None and probs_path.exists():
        from engine.distill import read_probabilities

        try:  # replace an earlier probability file, never anything else (a model's weights, say)
            read_probabilities(probs_path)
        except ValueError:
            raise UserError(
                f"--probabilities: {probs_path} exists and is not a probability file; "
                "give a new name or remove it first"
            ) from None
    try:
        bundle = _load_model(a.model, str(resolve_device(a.device)))
        full = load_dataset(a.data, a.format, label_names=bundle.label_names, limit=a.limit)
        ds, rows = _pick_rows(a, full)
        _warn_one_class(a, ds)
        result = _score(
            score_corpus(bundle, ds, batch_size=a.batch_size, words=False, workers=default_workers()),
            len(ds),
            a.quiet,
        )  # no word attention needed
        report = metrics(result).to_dict()
        if a.sample is not None:
            report["sample"] = {"n": len(ds), "seed": a.seed, "of": len(full)}
        if a.record:
            assert bundle.path is not None
            update_metadata(
                bundle.path,
                **{
                    f"{a.record}_accuracy": report["accuracy"],
                    f"{a.record}_evaluation": {**report, "data": a.data, "data_sha256": ds.sha256},
                },
            )
    except (ValueError, RuntimeError) as e:
        raise UserError(_one_line(e)) from None
    if probs_path is not None:
        _write_probabilities(probs_path, result, full, bundle)
        print(f"wrote the probabilities of {len(full)} rows to {probs_path}", file=sys.stderr)
    if errors_path is not None:
        n = _write_errors(errors_path, result, ds, rows)
        print(f"wrote {n} misclassified reviews to {errors_path}", file=sys.stderr)
    _print_report(a, full, report)
    return 0


def _score(gen: Any, total: int, quiet: bool) -> Any:
    from engine.steps import run_to_end

    bar = _bar(total, quiet, "doc")
    last = [0]

    def tick(p: Any) -> None:
        if bar is not None:
            bar.update(p.done - last[0])
            last[0] = p.done

    try:
        return run_to_end(gen, tick)
    finally:
        if bar is not None:
            bar.close()


def _write_probabilities(path: Any, result: Any, full: Any, bundle: Any) -> None:
    """Every row's probabilities (NaN where the model reads no word) for ``train --distill-from``."""
    import numpy as np

    from engine.distill import teacher_record, write_probabilities

    table = np.full((len(full), len(result.label_names)), np.nan, dtype=np.float32)
    read = result.pred >= 0
    table[result.row[read]] = result.probs[read]
    write_probabilities(path, table, full.sha256, result.label_names, teacher_record(bundle, bundle.path))


def _write_errors(path: Any, result: Any, ds: Any, rows: Any) -> int:
    from engine.atomic import open_atomic

    names = result.label_names
    wrong = [i for i in range(len(result)) if not result.correct[i]]
    with open_atomic(path, "w", encoding="utf-8") as f:
        for i in wrong:
            r = int(result.row[i])
            pred = int(result.pred[i])
            record = {
                "row": int(rows[r]),
                "label": names[int(result.truth[i])],
                "predicted": names[pred] if pred >= 0 else None,
                "probabilities": {n: float(p) for n, p in zip(names, result.probs[i], strict=True)},
                "confidence": float(result.confidence[i]),
                "text": ds.texts[r],
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(wrong)


def _print_report(a: argparse.Namespace, ds: Any, report: dict[str, Any]) -> None:
    if a.json:
        print(json.dumps(report))
        return
    if ds.skipped:
        print(ds.skipped_summary(), file=sys.stderr)
    how = f" (stratified sample, seed {a.seed}, of {len(ds)})" if a.sample is not None else ""
    print(f"accuracy {report['accuracy']:.4f} on {report['n']} documents{how}")
    for name, pc in report["per_class"].items():
        print(
            f"  {name:>10}: precision {pc['precision']:.4f} recall {pc['recall']:.4f} "
            f"f1 {pc['f1']:.4f} n {pc['support']}"
        )


def run_predict_batch(a: argparse.Namespace) -> int:
    """``predict --batch DATA --jsonl OUT``: every review's analysis, streamed into OUT atomically."""
    from app.cli import UserError, _load_model, _one_line, _output_file
    from engine.atomic import open_atomic
    from engine.corpus import iter_analyses
    from engine.data import load_dataset

    if a.jsonl is None:
        raise UserError("--batch writes one line per review: give --jsonl OUT")
    if a.file != "-" or a.json or a.html:
        raise UserError("--batch reads its reviews from DATA: drop FILE, --json and --html")
    out = _output_file(a.jsonl, "--jsonl")
    bundle = _load_model(a.model)
    try:
        ds = load_dataset(a.batch, a.format, label_names=bundle.label_names)
    except ValueError as e:
        raise UserError(_one_line(e)) from None
    bar = _bar(len(ds), a.quiet, "doc")
    empty = 0
    try:
        with open_atomic(out, "w", encoding="utf-8") as f:
            for batch in iter_analyses(bundle, ds.texts):
                for i, analysis in batch:
                    line: dict[str, Any] = {"row": i, "true_label": ds.label_names[ds.labels[i]]}
                    if analysis is None:
                        empty += 1
                        line["error"] = "the text has no words to read"
                    else:
                        line.update(analysis.to_dict())
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
                if bar is not None:
                    bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    note = f" ({empty} without words)" if empty else ""
    print(f"wrote {len(ds)} reviews{note} to {out}", file=sys.stderr)
    return 0
