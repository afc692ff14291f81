"""Evaluation throughput: the IMDB test reviews scored by ``engine.evaluate.predict_labels``.

    .venv/bin/python bench/bench_evaluate.py --device cpu --data ../shared/data/aclimdb/test.jsonl.gz
    python bench/bench_evaluate.py --device cuda --data .data/test.jsonl.gz     # on the GPU machine
    .venv/bin/python bench/bench_evaluate.py --device cpu --limit 2000 --base /tmp/base   # vs old code

Each measurement runs in a fresh process, so that its peak memory (VmHWM of /proc/self/status) is
its own: load the model onto the device, read the dataset (timed: ``load_s``), score a few
documents to warm up (CUDA context, cuDNN plans), then time ``predict_labels`` over every row
(``predict_s``; tokenizing, encoding and the forward passes, the GPU synchronized at the end).
``docs_per_s`` is rows / ``predict_s``; ``evaluate_s`` is ``load_s + predict_s``, what a user of
``han-explorer evaluate`` waits for once the interpreter and the model are up.

``--base DIR`` also measures the code in DIR (a ``git worktree`` of an older commit) in the same
run, on the same rows, and checks that both predict the same classes.

Target: the 25,000 test reviews evaluated in < 10 s on a GPU (``evaluate_s``; card named in the
file). On CPU the figures (and the peak memory, which must not grow with the dataset) are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import IMDB, ROOT, machine_info, print_table, utc_now, write_result

TARGET_GPU_S = 10.0  # 25,000 reviews
TARGET_ROWS = 25_000
WARMUP_DOCS = 64


def vm_kib(field: str) -> int | None:
    """``VmHWM`` (peak resident) or ``VmRSS`` of this process, in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(a: argparse.Namespace) -> dict[str, Any]:
    """One measurement in this process (the child): the figures as a dict."""
    if a.code != str(ROOT):
        # the older commit's engine, not this one's (_common imported engine.provenance from here)
        for name in [m for m in sys.modules if m.split(".")[0] in ("engine", "resources")]:
            del sys.modules[name]
        sys.path.insert(0, a.code)
    import numpy as np
    import torch

    import engine.evaluate as ev
    from engine.bundle import load_bundle
    from engine.data import load_dataset

    if a.threads:
        torch.set_num_threads(a.threads)
    assert Path(ev.__file__).resolve().is_relative_to(Path(a.code).resolve()), ev.__file__
    import resources

    bundle = load_bundle(a.model or resources.model_dir(), a.device)
    t0 = time.perf_counter()
    ds = load_dataset(a.data, label_names=bundle.label_names, limit=a.limit)
    load_s = time.perf_counter() - t0
    kwargs: dict[str, Any] = {"batch_size": a.batch_size}
    if a.workers is not None:
        kwargs["workers"] = a.workers
    ev.predict_labels(bundle, ds.texts[:WARMUP_DOCS], **kwargs)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    sync()
    rss_before = vm_kib("VmRSS")
    if a.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    preds = ev.predict_labels(bundle, ds.texts, **kwargs)
    sync()
    predict_s = time.perf_counter() - t0
    truth = np.asarray(ds.labels)
    out: dict[str, Any] = {
        "code": a.code,
        "rows": len(ds),
        "load_s": round(load_s, 3),
        "predict_s": round(predict_s, 3),
        "evaluate_s": round(load_s + predict_s, 3),
        "docs_per_s": round(len(ds) / predict_s, 1),
        "accuracy": round(float((preds == truth).mean()), 5),
        "rss_before_predict_mib": round(rss_before / 1024, 1) if rss_before else None,
        "peak_rss_mib": round(vm_kib("VmHWM") / 1024, 1) if vm_kib("VmHWM") else None,
        "predictions": preds.tolist(),
    }
    if a.device.startswith("cuda"):
        out["cuda_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def run_child(a: argparse.Namespace, code: Path) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", "--code", str(code), "--device", a.device, "--data", a.data]
    for flag, value in (
        ("--limit", a.limit),
        ("--batch-size", a.batch_size),
        ("--workers", a.workers),
        ("--threads", a.threads),
        ("--model", a.model),
    ):
        if value is not None:
            args += [flag, str(value)]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        return {"code": str(code), "error": tail[0], "process_s": round(wall, 2)}
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    result["process_s"] = round(wall, 2)  # interpreter start, imports and model load included
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    p.add_argument("--data", default=str(IMDB / "test.jsonl.gz"), help="labelled dataset (default IMDB test)")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=None, help="tokenizer processes (default: one per CPU)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads in the children")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--base", default=None, metavar="DIR", help="also measure the code in DIR (older commit)")
    p.add_argument("--out", default=None, help="results folder (default bench/results)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(measure(a)))
        return 0
    started, machine = utc_now(), machine_info()
    payload: dict[str, Any] = {"settings": {k: v for k, v in vars(a).items() if k not in ("child", "code")}}
    card = None
    if a.device.startswith("cuda"):
        from engine.provenance import card_slug, gpu_info

        payload["gpu"] = gpu_info()
        card = payload["gpu"].get("device")
        payload["card"] = card
    runs = {"this": run_child(a, ROOT)}
    if a.base:
        runs["base"] = run_child(a, Path(a.base).resolve())
    preds = {k: r.pop("predictions", None) for k, r in runs.items()}
    if preds.get("base") is not None and preds["this"] is not None:
        same = sum(x == y for x, y in zip(preds["this"], preds["base"], strict=True))
        payload["base_same_predictions"] = f"{same}/{len(preds['this'])}"
    payload["runs"] = runs
    this = runs["this"]
    if a.device.startswith("cuda") and "evaluate_s" in this:
        payload["targets"] = {
            "evaluate_s_25000_gpu": {
                "target": TARGET_GPU_S,
                "value": this["evaluate_s"],
                "rows": this["rows"],
                "met": this["rows"] >= TARGET_ROWS and this["evaluate_s"] < TARGET_GPU_S,
            }
        }
    name = f"evaluate-{card_slug(card)}" if card else "evaluate-cpu"
    path = write_result(name, payload, a.out, started, machine)
    keys = ("rows", "load_s", "predict_s", "docs_per_s", "peak_rss_mib")
    rows = [[k, *(r.get(f) for f in keys), r.get("accuracy", r.get("error"))] for k, r in runs.items()]
    print_table(rows, ["code", "rows", "load s", "predict s", "docs/s", "peak MiB", "accuracy"])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
