"""How long a ``han-explorer`` command takes that needs no model: help, version, argument errors.

    .venv/bin/python bench/bench_cli.py                      # this code
    .venv/bin/python bench/bench_cli.py --base /tmp/base     # and an older commit, same run

Each case is ``python -m app.cli ARGS`` as a fresh process (interpreter start included), run
``--runs`` times after one warm-up, alternating between the codes; ``predict`` of a two-sentence
review (which loads torch and the model) is timed beside them for context. Target: < 0.3 s (p50)
for every case but predict.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGET_S = 0.3
CASES = {
    "--help": ["--help"],
    "--version": ["--version"],
    "train --help": ["train", "--help"],
    "unknown option": ["--no-such-option"],
    "train without --data": ["train"],
    "evaluate --limit many": ["evaluate", "--data", "x.jsonl", "--limit", "many"],
}


def timed(code: Path, args: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=code, capture_output=True, text=True, timeout=120
    )
    return time.perf_counter() - t0, done.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--base", default=None, metavar="DIR", help="also time the code in DIR")
    ap.add_argument("--out", default=None, help="folder for the JSON (default bench/results)")
    a = ap.parse_args()
    started, machine = utc_now(), machine_info()
    codes = {"this": ROOT} | ({"base": Path(a.base).resolve()} if a.base else {})
    with tempfile.TemporaryDirectory() as tmp:
        review = Path(tmp) / "review.txt"
        review.write_text("A lovely, odd film. The ending drags.", encoding="utf-8")
        cases = CASES | {"predict (short review)": ["predict", str(review)]}
        times: dict[str, dict[str, list[float]]] = {k: {c: [] for c in cases} for k in codes}
        codes_seen: dict[str, dict[str, int]] = {k: {} for k in codes}
        for name, args in cases.items():
            for code in codes.values():
                timed(code, args)  # warm the file cache
            for _ in range(a.runs):
                for k, code in codes.items():
                    seconds, rc = timed(code, args)
                    times[k][name].append(round(seconds, 3))
                    codes_seen[k][name] = rc
    figures = {k: {c: summarize(v) for c, v in t.items()} for k, t in times.items()}
    this = figures["this"]
    payload: dict[str, Any] = {
        "description": "fresh `python -m app.cli ARGS` processes, wall time; 'base' is the older code",
        "settings": {"runs": a.runs, "base": a.base},
        "exit_codes": codes_seen,
        "figures": figures,
        "raw": times,
        "targets": {
            c: {"target": TARGET_S, "value": this[c]["p50"], "met": this[c]["p50"] < TARGET_S} for c in CASES
        },
    }
    if "base" in figures:
        payload["ratios_base_over_this"] = {
            c: round(figures["base"][c]["p50"] / this[c]["p50"], 2) for c in figures["base"]
        }
    path = write_result("cli-start", payload, a.out, started, machine)
    rows = [[c] + [figures[k][c]["p50"] for k in codes] for c in this]
    print_table(rows, ["s (p50)", *codes])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
