"""Warm ``analyze()`` latency on CPU with the shipped model, per phase, plus the CLI end to end.

    .venv/bin/python bench/bench_predict.py                 # full run, result in bench/results/
    .venv/bin/python bench/bench_predict.py --quick --out /tmp/bench   # check the script works

Two review texts are built from real IMDB prose (``--data``, gzip JSON lines with "text"): reviews
are joined, in file order from ``--start``, until the word count passes the target, then cut at
the sentence end whose word count is nearest the target (~200 and ~2,000 words). For each text:

* ``analyze()``: 5 warm-up calls, then N timed calls (N=50; 10 with --quick), each on an emptied chunk
  cache (``engine.text``): the review is read as new, not as an edit of the last one.
* the same work split into phases, timed separately in their own loop: tokenize, encode+collate,
  model forward, building the Analysis. The phases copy ``engine.analyze.analyze``; the script
  checks once that they give the same result as ``analyze()``.
* rendering each analysis as ``predict`` shows it (a colour terminal, a pipe, ``--html``), N times.
* the CLI, ``han-explorer predict --json FILE``, as a fresh process each time (3 runs): interpreter
  start, imports, model load and one prediction. No target; for context the script also times
  ``python -c "import torch"``.

Targets: p50 of ``analyze()`` < 20 ms for ~200 words and < 100 ms for ~2,000 words; rendering the
~2,000-word analysis p50 < 50 ms for a terminal (colour or plain) and < 100 ms for HTML.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import IMDB, ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGETS_MS = {200: 20.0, 2000: 100.0}  # p50 of warm analyze(), by target word count
# p50 of rendering the ~2,000-word analysis (`predict` on a terminal, piped, and --html)
RENDER_TARGETS_MS = {"terminal_color": 50.0, "terminal_plain": 50.0, "html": 100.0}
WARMUP = 5
PHASES = ("tokenize", "encode_collate", "forward", "build_analysis")
_BR = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)
# a sentence end: . ! ? (or a run of them), closing quotes/brackets, then space, a <br>, or the end
_SENT_END = re.compile(r"[.!?]+[\"')\]]*(?=\s|<br|$)", re.IGNORECASE)


def count_words(text: str) -> int:
    """Whitespace-separated words; ``<br />`` tags count as whitespace, not as words."""
    return len(_BR.sub(" ", text).split())


def read_reviews(path: Path) -> Iterator[tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.strip():
                row = json.loads(line)
                yield str(row.get("id", f"line{n + 1}")), row["text"]


def build_text(path: Path, target: int, start: int) -> dict[str, Any]:
    """Join reviews from index ``start`` until past ``target`` words; cut at the nearest sentence end."""
    parts: list[str] = []
    ids: list[str] = []
    for k, (rid, text) in enumerate(read_reviews(path)):
        if k < start:
            continue
        parts.append(text.strip())
        ids.append(rid)
        if count_words("\n\n".join(parts)) >= target + 150:  # room to pick a cut on either side
            break
    joined = "\n\n".join(parts)
    if not joined:
        raise SystemExit(f"no reviews in {path} from index {start}")
    ends = [m.end() for m in _SENT_END.finditer(joined)] or [len(joined)]
    cut = min(ends, key=lambda e: (abs(count_words(joined[:e]) - target), e))
    text = joined[:cut]
    # the reviews that contributed at least one character
    used, pos = [], 0
    for rid, part in zip(ids, parts, strict=True):
        if pos < cut:
            used.append(rid)
        pos += len(part) + 2
    return {
        "text": text,
        "target_words": target,
        "words": count_words(text),
        "chars": len(text),
        "review_ids": used,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "head": text[:80],
    }


def time_render(analysis: Any, runs: int) -> dict[str, Any]:
    """Milliseconds to render ``analysis`` as `predict` does: a colour terminal, a pipe, an HTML page."""
    from app.render import render_html, render_terminal

    renderers = {
        "terminal_color": lambda: render_terminal(analysis, color=True),
        "terminal_plain": lambda: render_terminal(analysis, color=False),
        "html": lambda: render_html(analysis),
    }
    out: dict[str, Any] = {}
    for name, render in renderers.items():
        render()
        raw = []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            render()
            raw.append((time.perf_counter_ns() - t0) / 1e6)
        out[name] = {"raw": raw, "summary": summarize(raw)}
    return out


def _forget_tokens() -> None:
    """Empty the interactive path's chunk cache (engine.text, where it exists): every timed call reads
    the review as new, as the first analysis of a pasted review does."""
    import engine.text

    cache = getattr(engine.text, "_chunk_tokens", None)
    if cache is not None:
        cache.cache_clear()


def time_analyze(bundle: Any, text: str, runs: int) -> list[float]:
    from engine.analyze import analyze

    for _ in range(WARMUP):
        analyze(bundle, text)
    gc.collect()
    out = []
    for _ in range(runs):
        _forget_tokens()
        t0 = time.perf_counter_ns()
        analyze(bundle, text)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def phased_analyze(bundle: Any, text: str) -> tuple[Any, list[int]]:
    """``engine.analyze.analyze`` run as its four public steps, each timed."""
    import torch

    from engine.analyze import build_analysis, encode_document, read_document
    from engine.batching import collate

    with torch.inference_mode():
        t0 = time.perf_counter_ns()
        doc = read_document(text)
        t1 = time.perf_counter_ns()
        ids, _ = collate([encode_document(bundle, doc)])
        t2 = time.perf_counter_ns()
        out = bundle.model(ids)
        t3 = time.perf_counter_ns()
        result = build_analysis(bundle, doc, ids, out)
        t4 = time.perf_counter_ns()
    return result, [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def time_phases(bundle: Any, text: str, runs: int) -> dict[str, list[float]]:
    for _ in range(WARMUP):
        phased_analyze(bundle, text)
    gc.collect()
    raw: dict[str, list[float]] = {p: [] for p in (*PHASES, "total")}
    for _ in range(runs):
        _forget_tokens()  # as time_analyze: the review is read as new
        _, ns = phased_analyze(bundle, text)
        for p, v in zip(PHASES, ns, strict=True):
            raw[p].append(v / 1e6)
        raw["total"].append(sum(ns) / 1e6)
    return raw


def check_phases(bundle: Any, text: str) -> dict[str, Any]:
    """The phased copy must give what ``analyze()`` gives, or its timings describe other work."""
    from engine.analyze import analyze

    a = analyze(bundle, text)
    b, _ = phased_analyze(bundle, text)
    same_shape = [(s.start, s.end, len(s.words)) for s in a.sentences] == [
        (s.start, s.end, len(s.words)) for s in b.sentences
    ]
    diff = max(
        (
            abs(x.weight - y.weight)
            for sa, sb in zip(a.sentences, b.sentences, strict=False)
            for x, y in zip((sa, *sa.words), (sb, *sb.words), strict=False)
        ),
        default=0.0,
    )
    ok = a.label == b.label and same_shape and diff < 1e-9
    return {"same_label": a.label == b.label, "same_spans": same_shape, "max_abs_weight_diff": diff, "ok": ok}


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "han-explorer"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "app.cli"]


def time_cli(text: str, runs: int, env: dict[str, str], expect_label: str) -> dict[str, Any]:
    """Fresh ``han-explorer predict --json`` processes; wall time from spawn to exit."""
    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        f = Path(tmp) / "review.txt"
        f.write_text(text, encoding="utf-8")
        cmd = [*cli_command(), "predict", "--json", str(f)]
        raw, labels = [], []
        for _ in range(runs):
            t0 = time.perf_counter_ns()
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
            raw.append((time.perf_counter_ns() - t0) / 1e6)
            if r.returncode != 0:
                raise SystemExit(f"CLI failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
            labels.append(json.loads(r.stdout)["label"])
    return {
        "command": [Path(cmd[0]).name, *cmd[1:-1], "FILE"],
        "raw_ms": raw,
        "summary_ms": summarize(raw),
        "labels": labels,
        "label_matches_in_process": all(x == expect_label for x in labels),
    }


def time_import_torch(runs: int, env: dict[str, str]) -> dict[str, Any]:
    raw = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        subprocess.run([sys.executable, "-c", "import torch"], check=True, env=env, capture_output=True)
        raw.append((time.perf_counter_ns() - t0) / 1e6)
    return {"command": "python -c 'import torch'", "raw_ms": raw, "summary_ms": summarize(raw)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=IMDB / "test.jsonl.gz",
        help="gzip JSON lines with 'text' (default: ../shared/data/aclimdb/test.jsonl.gz)",
    )
    p.add_argument("--start", type=int, default=0, help="index of the first review used (default 0)")
    p.add_argument("--runs", type=int, default=None, help="timed runs per text (default 50; 10 with --quick)")
    p.add_argument("--cli-runs", type=int, default=3, help="CLI processes per text (default 3; 0 skips)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads(N) here, OMP_NUM_THREADS=N for the CLI (default: torch's)",
    )
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped one)")
    p.add_argument("--quick", action="store_true", help="few runs, to check the script; do not quote")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    a = p.parse_args(argv)
    if a.runs is None:
        a.runs = 10 if a.quick else 50
    if a.runs < 1 or a.cli_runs < 0 or (a.threads is not None and a.threads < 1):
        p.error("--runs and --threads must be >= 1, --cli-runs >= 0")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = utc_now()
    import torch

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    machine = machine_info()
    import resources
    from engine.analyze import analyze
    from engine.bundle import load_bundle
    from engine.text import tokenize

    if not a.data.is_file():
        raise SystemExit(f"no data file {a.data} (give --data)")
    model_dir = a.model or resources.model_dir()
    t0 = time.perf_counter_ns()
    bundle = load_bundle(model_dir, "cpu")
    load_ms = (time.perf_counter_ns() - t0) / 1e6

    env = dict(os.environ)
    if a.threads is not None:
        env["OMP_NUM_THREADS"] = str(a.threads)
    texts, analyze_ms, phases_ms, checks, cli, render_ms = {}, {}, {}, {}, {}, {}
    for target in TARGETS_MS:
        key = str(target)
        info = build_text(a.data, target, a.start)
        text = info.pop("text")
        doc = tokenize(text)
        res = analyze(bundle, text)
        texts[key] = {
            **info,
            "sentences": len(doc.sentences),
            "tokens": doc.n_tokens,
            "unknown_words": res.unknown_words,
            "label": res.label,
            "probabilities": res.probabilities,
        }
        print(
            f"{target}-word text: {info['words']} words, {len(doc.sentences)} sentences, "
            f"{doc.n_tokens} tokens; timing analyze() x{a.runs} ...",
            flush=True,
        )
        checks[key] = check_phases(bundle, text)
        raw = time_analyze(bundle, text, a.runs)
        analyze_ms[key] = {"raw": raw, "summary": summarize(raw)}
        praw = time_phases(bundle, text, a.runs)
        p50_total = summarize(praw["total"])["p50"] or 1.0
        phases_ms[key] = {p: {"raw": praw[p], "summary": summarize(praw[p])} for p in praw}
        phases_ms[key]["share_of_p50_total"] = {
            p: round(phases_ms[key][p]["summary"]["p50"] / p50_total, 3) for p in PHASES
        }
        render_ms[key] = time_render(res, a.runs)
        if a.cli_runs:
            print(f"{target}-word text: CLI x{a.cli_runs} ...", flush=True)
            cli[key] = time_cli(text, a.cli_runs, env, res.label)
    if a.cli_runs:
        cli["import_torch_baseline"] = time_import_torch(a.cli_runs, env)

    targets = {}
    for target, limit in TARGETS_MS.items():
        p50 = analyze_ms[str(target)]["summary"]["p50"]
        targets[f"analyze_p50_ms_{target}_words"] = {
            "target": f"< {limit:g} ms",
            "limit_ms": limit,
            "measured_ms": p50,
            "met": p50 < limit,
        }
    for name, limit in RENDER_TARGETS_MS.items():
        p50 = render_ms[str(max(TARGETS_MS))][name]["summary"]["p50"]
        targets[f"render_{name}_p50_ms_{max(TARGETS_MS)}_words"] = {
            "target": f"< {limit:g} ms",
            "limit_ms": limit,
            "measured_ms": p50,
            "met": p50 < limit,
        }
    payload = {
        "settings": {
            "quick": a.quick,
            "runs": a.runs,
            "warmup": WARMUP,
            "cli_runs": a.cli_runs,
            "threads_requested": a.threads,
            "device": "cpu",
            "data": str(a.data),
            "start": a.start,
            "model_dir": str(model_dir),
            "model_config": bundle.config.to_dict(),
            "timer": "time.perf_counter_ns, ms; gc enabled, gc.collect() before each timed loop",
            "percentiles": "linear interpolation between order statistics",
        },
        "model_load_ms": round(load_ms, 3),
        "texts": texts,
        "analyze_ms": analyze_ms,
        "phases_ms": phases_ms,
        "phases_match_analyze": checks,
        "render_ms": render_ms,
        "cli_cold_ms": cli or None,
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()),
    }
    if a.quick:
        payload["note"] = "--quick run: too few runs to quote; checks that the script works"
    path = write_result("predict-cpu", payload, a.out, started, machine)

    print()
    rows = []
    for key, t in texts.items():
        s = analyze_ms[key]["summary"]
        tgt = targets[f"analyze_p50_ms_{key}_words"]
        rows.append(
            [
                f"analyze {t['words']} words",
                s["p50"],
                s["p90"],
                s["mean"],
                s["min"],
                tgt["target"],
                tgt["met"],
            ]
        )
        for p in PHASES:
            ps = phases_ms[key][p]["summary"]
            rows.append(
                [
                    f"  {p}",
                    ps["p50"],
                    ps["p90"],
                    ps["mean"],
                    ps["min"],
                    f"{phases_ms[key]['share_of_p50_total'][p]:.1%} of p50",
                    None,
                ]
            )
        for name, r in render_ms[key].items():
            rs = r["summary"]
            rt = targets.get(f"render_{name}_p50_ms_{key}_words")
            rows.append(
                [
                    f"  render {name}",
                    rs["p50"],
                    rs["p90"],
                    rs["mean"],
                    rs["min"],
                    rt["target"] if rt else "no target",
                    rt["met"] if rt else None,
                ]
            )
    for key, c in cli.items():
        s = c["summary_ms"]
        label = "python -c 'import torch'" if key == "import_torch_baseline" else f"CLI cold, {key}-word text"
        rows.append([label, s["p50"], s["p90"], s["mean"], s["min"], "no target", None])
    print_table(
        rows, [f"ms (CPU, threads={torch.get_num_threads()})", "p50", "p90", "mean", "min", "target", "met"]
    )
    if not all(c["ok"] for c in checks.values()):
        print("WARNING: the phased copy no longer matches analyze(); update phased_analyze()")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
