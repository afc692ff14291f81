"""The behaviour suite (``engine.behaviour``, ``han-explorer check``) on a model: every failure rate,
and how long the suite takes.

    .venv/bin/python bench/bench_behaviour.py                     # the shipped model, on this CPU
    .venv/bin/python bench/bench_behaviour.py --model runs/x/model --device cuda   # a candidate, GPU
    .venv/bin/python bench/bench_behaviour.py --quick --out /tmp/bench            # check the script

Records, for the model (its path and the sha256 of its weights): each test's n, failures, failure
rate and groups (the verdict tests' n=1..5), each capability x test-type cell, the issue-17 targets
(every MFT capability <= 10% failures, every INV <= 5% flips) and whether each is met; and the time
to load the model, generate the suite and score it (``run_s``; texts/s), the target being well under
a minute on the 2-core CPU for the default size (200 cases a test). The first run on the shipped
model is the 'before' of issue 17's model work.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine_info, print_table, utc_now, write_result

TARGETS = {"MFT": 0.10, "INV": 0.05}  # issue 17: per capability (cell), at most this failure rate
TARGET_RUN_S = 60.0  # the default suite on the 2-core CPU, model loaded


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped one)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="the suite's seed (default 0)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads while scoring (BundlePredictor's; default 1; 0: torch's)",
    )
    p.add_argument("--cases", type=int, default=None, help="cases per test (default 200; 20 with --quick)")
    p.add_argument("--quick", action="store_true", help="a small suite, to check the script; do not quote")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    a = p.parse_args()
    started, machine = utc_now(), machine_info()

    import torch

    import resources
    from engine.behaviour import DEFAULT_CASES, TEST_TYPES, BundlePredictor, build_suite, run_suite
    from engine.bundle import load_bundle

    cases = a.cases or (20 if a.quick else DEFAULT_CASES)
    model_dir = a.model or resources.model_dir()
    t0 = time.perf_counter()
    bundle = load_bundle(model_dir, a.device)
    t1 = time.perf_counter()
    tests = build_suite(a.seed, cases)
    t2 = time.perf_counter()
    result = run_suite(
        BundlePredictor(bundle), tests, seed=a.seed, cases_per_test=cases, model=str(model_dir)
    )
    if str(a.device).startswith("cuda"):
        torch.cuda.synchronize()
    t3 = time.perf_counter()

    cells: dict[str, dict[str, Any]] = {}
    targets: dict[str, Any] = {}
    for cap in result.capabilities():
        for kind in TEST_TYPES:
            cell = result.cell(cap, kind)
            if cell is None:
                continue
            cells.setdefault(cap, {})[kind] = {
                "n": cell.n,
                "failures": cell.failures,
                "failure_rate": round(cell.failure_rate, 4),
            }
            if kind in TARGETS:
                targets[f"{cap} {kind} <= {TARGETS[kind]:.0%}"] = {
                    "value": round(cell.failure_rate, 4),
                    "met": cell.failure_rate <= TARGETS[kind],
                }
    run_s = t3 - t2
    targets[f"run_s < {TARGET_RUN_S:.0f} (default size, CPU)"] = {
        "value": round(run_s, 2),
        "met": run_s < TARGET_RUN_S if cases == DEFAULT_CASES and a.device == "cpu" else None,
    }
    payload = {
        "settings": {
            "model": str(Path(model_dir).resolve().relative_to(ROOT)) if a.model is None else str(a.model),
            "model_sha256": _sha256(Path(model_dir) / "model.safetensors"),
            "device": a.device,
            "device_name": torch.cuda.get_device_name(a.device)
            if str(a.device).startswith("cuda")
            else "cpu",
            "torch_threads": a.threads or torch.get_num_threads(),
            "seed": a.seed,
            "suite_sha256": result.suite_sha256,
            "cases_per_test": cases,
            "quick": a.quick,
        },
        "timing": {
            "load_s": round(t1 - t0, 3),
            "build_s": round(t2 - t1, 3),
            "run_s": round(run_s, 3),
            "texts_scored": result.texts_scored,
            "texts_per_s": round(result.texts_scored / run_s, 1),
        },
        "cells": cells,
        "tests": [
            {k: v for k, v in t.items() if k != "examples"} | {"examples": t["examples"][:3]}
            for t in result.to_json(examples=3)["tests"]
        ],
        "targets": targets,
    }
    rows = [
        [cap, *(f"{c[k]['failure_rate']:.1%}" if k in c else "" for k in TEST_TYPES)]
        for cap, c in cells.items()
    ]
    print_table(rows, ["capability", *TEST_TYPES])
    for t in payload["tests"]:
        groups = ", ".join(f"{g}: {r['failure_rate']:.0%}" for g, r in t["groups"].items())
        print(f"{t['type']} {t['capability']} / {t['name']}: {t['failure_rate']:.1%} of {t['n']} {groups}")
    print(f"load {t1 - t0:.2f} s, build {t2 - t1:.2f} s, run {run_s:.2f} s ({result.texts_scored} texts)")
    name = f"behaviour-{'cpu' if a.device == 'cpu' else 'cuda'}"
    print(f"wrote {write_result(name, payload, a.out, started, machine)}")


if __name__ == "__main__":
    main()
