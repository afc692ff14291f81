"""CPU training throughput with the shipped model's settings, next to the recorded H200 figures.

    .venv/bin/python bench/bench_train.py                   # full run, result in bench/results/
    .venv/bin/python bench/bench_train.py --quick --out /tmp/bench     # check the script works

Takes ``--docs`` reviews (default 2,000; 300 with --quick), half from each class, spread evenly
over ``--data`` (default ``../shared/data/aclimdb/train.jsonl.gz``), writes them to a temporary
JSON lines file and runs ``engine.train.train()`` on it for one epoch on the CPU with the shipped
model's settings (embed_dim 200, word/sentence GRUs of 100, embed_dropout 0.4, batch 64, no
word2vec). ``train()`` carves a 10% dev split, so it trains on 90% of the sample.

With ``--vocab shipped`` (default) the run uses the shipped model's 30,000-word vocabulary and its
length limits (49 words x 30 sentences) instead of those built from the small sample, so the
embedding (and Adam's work on it) and the batch shapes are those of a full IMDB run. This wraps
``engine.train._prepare`` for the run's duration; ``--vocab sample`` leaves ``train()`` untouched.

Reports documents/s (the step records' running rate, averaged after the first ``--skip-steps``
steps, and all training documents / training seconds), the measured epoch seconds (training plus
the dev evaluation, as ``history`` records them), that epoch projected to 22,500 training
documents, and peak memory: ru_maxrss and VmRSS sampled every 50 ms in a background thread.
The H200 figures recorded in bench/results/ are copied into "gpu_reference". No targets.
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import json
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import IMDB, RESULTS, ROOT, machine_info, print_table, summarize, utc_now, write_result

FULL_TRAIN_DOCS = 22_500  # aclImdb train (25,000) less train()'s 10% dev split
GPU_REFERENCE = RESULTS / "2026-11-28-ddp-throughput-h200x2.json"
SHIPPED = {
    "embed_dim": 200,
    "word_hidden": 100,
    "sentence_hidden": 100,
    "embed_dropout": 0.4,
    "batch_size": 64,
    "word2vec_epochs": 0,
}


# ---------------------------------------------------------------------------------------------- data


def sample_reviews(path: Path, n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``n`` rows, half per class (the first class gets the odd one), evenly spaced within each class."""
    by_class: dict[str, list[dict[str, Any]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                by_class.setdefault(str(row["label"]), []).append(row)
    if len(by_class) < 2:
        raise SystemExit(f"{path}: expected two classes, found {sorted(by_class)}")
    names = sorted(by_class)
    want = {c: n // len(names) + (i < n % len(names)) for i, c in enumerate(names)}
    picked: list[dict[str, Any]] = []
    for c in names:
        rows, k = by_class[c], want[c]
        if k > len(rows):
            raise SystemExit(f"{path}: asked for {k} '{c}' reviews, it has {len(rows)}")
        picked += [
            {"id": rows[i * len(rows) // k].get("id"), "text": rows[i * len(rows) // k]["text"], "label": c}
            for i in range(k)
        ]
    words = [len(r["text"].split()) for r in picked]
    info = {
        "rows_in_file": sum(map(len, by_class.values())),
        "per_class": want,
        "how": "evenly spaced within each class, in file order",
        "mean_words": round(sum(words) / len(words), 1),
        "median_words": sorted(words)[len(words) // 2],
    }
    return picked, info


# -------------------------------------------------------------------------------------------- memory


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class RssSampler(threading.Thread):
    """VmRSS of this process every ``interval`` seconds, as (seconds since start, MiB)."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.interval = interval
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def _take(self) -> None:
        kib = _status_kib("VmRSS")
        if kib is not None:
            self.samples.append((round(self.now(), 3), round(kib / 1024, 1)))

    def run(self) -> None:
        self._take()
        while not self._halt.wait(self.interval):
            self._take()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self._take()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        xs = [m for t, m in self.samples if start <= t <= end]
        return max(xs) if xs else None


# ----------------------------------------------------------------------------------------- training


@contextmanager
def shipped_vocabulary(model_dir: Path) -> Iterator[dict[str, Any]]:
    """Make ``train()`` use the shipped model's vocabulary and length limits (see the docstring)."""
    import engine.train as et
    from engine.bundle import load_bundle

    bundle = load_bundle(model_dir, "cpu")
    original = et._prepare
    if list(inspect.signature(original).parameters)[:3] != ["cfg", "vocab", "limits"]:
        raise SystemExit(
            "engine.train._prepare(cfg, vocab, limits) has changed: run with --vocab sample, "
            "or update shipped_vocabulary() in bench/bench_train.py"
        )

    def prepare(cfg: Any, vocab: Any, limits: Any) -> Any:
        return original(
            cfg, bundle.vocab if vocab is None else vocab, bundle.limits if limits is None else limits
        )

    et._prepare = prepare
    try:
        yield {"vocab_size": len(bundle.vocab), "limits": asdict(bundle.limits), "from": str(model_dir)}
    finally:
        et._prepare = original


def run_training(cfg: Any, sampler: RssSampler) -> dict[str, Any]:
    """Drive ``train(cfg)``; keep every record (compactly) and the phase boundaries in sampler time."""
    from engine.train import train

    records: list[dict[str, Any]] = []
    marks: dict[str, float] = {"call": sampler.now()}
    setup_extra: dict[str, Any] | None = None
    done: Any = None
    for rec in train(cfg):
        t = sampler.now()
        if rec.kind == "setup" and rec.total_steps:  # the last setup record: training starts
            marks["train_start"] = t
            setup_extra = rec.extra
        if rec.kind == "step":
            marks.setdefault("first_step", t)
            marks["last_step"] = t
        if rec.kind == "eval":
            marks.setdefault("first_eval", t)
        if rec.kind == "done":
            marks["done"] = t
            done = rec
        records.append(
            {
                "kind": rec.kind,
                "step": rec.step,
                "epoch": rec.epoch,
                "loss": rec.loss,
                "docs_per_s": rec.docs_per_s,
                "elapsed_s": rec.elapsed_s,
                "t": round(t, 4),
                **({"message": rec.message} if rec.message else {}),
            }
        )
    if setup_extra is None or done is None or "first_step" not in marks:
        raise SystemExit("train() ended without the setup/step/done records this script reads")
    return {"records": records, "marks": marks, "setup": setup_extra, "done_extra": done.extra}


# ------------------------------------------------------------------------------------ gpu reference


def gpu_reference(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"source": str(path), "missing": True}
    d = json.loads(path.read_text(encoding="utf-8"))
    try:
        rel = str(path.resolve().relative_to(ROOT))
    except ValueError:
        rel = str(path)
    out: dict[str, Any] = {
        "source": rel,
        "produced_by": "scripts/gpu_ddp_bench.py: han-explorer train --word-hidden 100 --sentence-hidden 100 "
        "--embed-dropout 0.4 --epochs 2 --device cuda on the full aclimdb train.jsonl.gz "
        "(22,500 train / 2,500 dev documents, vocabulary and limits built from it); "
        "2 GPUs via torchrun DistributedDataParallel (batch 64 per rank)",
        "machine": str(d.get("machine", "")).strip(),
        # the file's own provenance fields, where it has them
        "recorded": {
            k: d[k]
            for k in ("benchmark", "commit", "commit_note", "timestamp", "settings", "docs_per_epoch")
            if k in d
        },
        "note": "epoch seconds as train() history records them (training + dev evaluation), like the CPU "
        "figure here; epoch 1 includes CUDA start-up, epoch 2 is the steady state. "
        "docs_per_s_epoch = 22,500 / epoch seconds.",
    }
    for key, name in (("imdb_1gpu", "1_gpu"), ("imdb_2gpu_ddp", "2_gpu_ddp")):
        run = d.get(key)
        if not run:
            continue
        secs = run.get("epoch_seconds", [])
        out[name] = {
            "epoch_seconds": secs,
            "wall_s": run.get("wall_s"),
            "dev_accuracy": run.get("dev_accuracy"),
            "docs_per_s_epoch": [round(FULL_TRAIN_DOCS / s, 1) for s in secs],
            "docs_per_s_last_step_per_rank": [r.get("docs_per_s_last_step") for r in run.get("ranks", [])],
        }
    return out


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=IMDB / "train.jsonl.gz",
        help="gzip JSON lines with 'text' and 'label' (default ../shared/data/aclimdb/train.jsonl.gz)",
    )
    p.add_argument("--docs", type=int, default=None, help="reviews sampled (default 2000; 300 with --quick)")
    p.add_argument(
        "--skip-steps",
        type=int,
        default=None,
        help="steps left out of the mean docs/s (default 5; 1 with --quick)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N) (default: torch's)")
    p.add_argument(
        "--vocab",
        choices=("shipped", "sample"),
        default="shipped",
        help="shipped: the shipped model's 30k vocabulary and limits (default); sample: built "
        "from the sample by train() itself",
    )
    p.add_argument("--workers", type=int, default=None, help="tokenizer processes (default: train()'s)")
    p.add_argument("--model", type=Path, default=None, help="model whose vocabulary --vocab shipped uses")
    p.add_argument("--gpu-reference", type=Path, default=GPU_REFERENCE, help="recorded GPU result to copy")
    p.add_argument("--interval", type=float, default=0.05, help="VmRSS sampling interval, s (default 0.05)")
    p.add_argument("--quick", action="store_true", help="small sample, to check the script; do not quote")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    a = p.parse_args(argv)
    a.docs = a.docs if a.docs is not None else (300 if a.quick else 2000)
    a.skip_steps = a.skip_steps if a.skip_steps is not None else (1 if a.quick else 5)
    if a.docs < 40 or a.skip_steps < 0 or (a.threads is not None and a.threads < 1):
        p.error("--docs must be >= 40, --skip-steps >= 0, --threads >= 1")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = utc_now()
    import torch

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    machine = machine_info()
    import resources
    from engine.train import TrainConfig

    if not a.data.is_file():
        raise SystemExit(f"no data file {a.data} (give --data)")
    rows, sample_info = sample_reviews(a.data, a.docs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        data = tmp / "sample.jsonl"
        with data.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"text": r["text"], "label": r["label"]}, ensure_ascii=False) + "\n")
        cfg = TrainConfig(
            data=str(data),
            out=str(tmp / "run"),
            epochs=1,
            device="cpu",
            workers=a.workers,
            command="bench/bench_train.py",
            **SHIPPED,
        )
        model_dir = a.model or resources.model_dir()
        ctx = shipped_vocabulary(model_dir) if a.vocab == "shipped" else nullcontext(None)
        sampler = RssSampler(a.interval)
        print(
            f"training 1 epoch on {a.docs} reviews ({a.vocab} vocabulary), "
            f"{torch.get_num_threads()} threads ...",
            flush=True,
        )
        sampler.start()
        try:
            with ctx as vocab_info:
                run = run_training(cfg, sampler)
        finally:
            sampler.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    recs, marks = run["records"], run["marks"]
    steps = [r for r in recs if r["kind"] == "step"]
    n_train, n_dev = run["setup"]["train_documents"], run["setup"]["dev_documents"]
    rates = [r["docs_per_s"] for r in steps]
    elapsed = [r["elapsed_s"] for r in steps]
    step_seconds = [round(t1 - t0, 5) for t0, t1 in zip([0.0, *elapsed[:-1]], elapsed, strict=True)]
    after = rates[a.skip_steps :]
    history = run["done_extra"]["history"]
    epoch_s = history[0]["seconds"]
    train_s = elapsed[-1]
    docs_per_s_epoch = n_train / train_s
    dev_eval_s = epoch_s - train_s  # the epoch's seconds after its last step: the dev evaluation
    cpu = {
        "train_documents": n_train,
        "dev_documents": n_dev,
        "steps": len(steps),
        "vocab_size": run["setup"]["vocab_size"],
        "limits": run["setup"]["limits"],
        "docs_per_s_mean_after_skip": round(sum(after) / len(after), 2) if after else None,
        "docs_per_s_mean_after_skip_note": (
            f"mean of the step records' docs_per_s (a running rate since the epoch began) over steps "
            f"{a.skip_steps + 1}..{len(steps)}"
            if after
            else f"no steps after the first {a.skip_steps}"
        ),
        "docs_per_s_epoch": round(docs_per_s_epoch, 2),
        "docs_per_s_epoch_note": "train_documents / elapsed_s of the last step record (training only)",
        "step_seconds_after_skip": summarize(step_seconds[a.skip_steps :], 4),
        "train_seconds": round(train_s, 3),
        "dev_eval_seconds_approx": round(dev_eval_s, 3),
        "epoch_seconds_measured": round(epoch_s, 3),
        "epoch_seconds_note": "train() history 'seconds': training steps plus the dev evaluation",
        "projected_epoch_seconds_22500": round(epoch_s * FULL_TRAIN_DOCS / n_train, 1),
        "projected_epoch_seconds_22500_note": (
            "measured epoch seconds x 22,500 / train_documents (the dev split scales the same way); "
            "assumes the sample's length mix is the full set's"
        ),
        "projected_train_only_seconds_22500": round(FULL_TRAIN_DOCS / docs_per_s_epoch, 1),
        "setup_seconds": round(marks["train_start"] - marks["call"], 3),
        "setup_note": "reading, tokenizing and encoding the sample, before the first step; not in any rate",
        "history": history,
        "raw": {
            "step_docs_per_s": [round(x, 3) for x in rates],
            "step_elapsed_s": elapsed,
            "step_seconds": step_seconds,
            "step_loss": [r["loss"] for r in steps],
        },
    }
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t_train0, t_done = marks["train_start"], marks["done"]
    memory = {
        "ru_maxrss_self_mib": round(self_kib / 1024, 1),
        "ru_maxrss_children_mib": round(child_kib / 1024, 1),
        "ru_maxrss_note": "whole process life (data sampling, setup, training); children = the largest "
        "waited-for child (tokenizer processes, if train() started any, or a helper "
        "forked from this process); Linux reports KiB",
        "vmhwm_mib": round((_status_kib("VmHWM") or 0) / 1024, 1),
        "vmrss_peak_training_mib": sampler.peak(t_train0, t_done),
        "vmrss_peak_setup_mib": sampler.peak(marks["call"], t_train0),
        "vmrss_before_train_mib": sampler.samples[0][1] if sampler.samples else None,
        "vmrss_peak_all_mib": sampler.peak(),
        "sampling_interval_s": a.interval,
        "phases_s": {k: round(v, 3) for k, v in marks.items()},
        "vmrss_samples": {"t_s": [t for t, _ in sampler.samples], "mib": [m for _, m in sampler.samples]},
        "note": "full-size training holds 12x more documents in memory than the default sample",
    }
    gpu = gpu_reference(a.gpu_reference)
    compare: dict[str, Any] = {}
    for name in ("1_gpu", "2_gpu_ddp"):
        secs = gpu.get(name, {}).get("epoch_seconds")
        if secs:
            compare[f"cpu_projected_epoch_over_{name}_epoch2"] = round(
                cpu["projected_epoch_seconds_22500"] / secs[-1], 1
            )
    if compare:
        compare["note"] = (
            "CPU projection from this run over the GPU's last recorded epoch; the GPU "
            "figure comes from another run and machine (see gpu_reference)"
        )

    payload = {
        "settings": {
            "quick": a.quick,
            "docs": a.docs,
            "skip_steps": a.skip_steps,
            "vocab": a.vocab,
            "vocab_info": vocab_info,
            "threads_requested": a.threads,
            "workers": a.workers,
            "data": str(a.data),
            "sample": sample_info,
            "train_config": asdict(cfg) | {"data": "(temp sample)", "out": "(temp)"},
            "projection_documents": FULL_TRAIN_DOCS,
        },
        "cpu": cpu,
        "memory": memory,
        "gpu_reference": gpu,
        "cpu_vs_gpu": compare,
        "targets": {},
        "targets_note": "no speed targets for training; this file records figures only",
        "records": recs,
    }
    if a.quick:
        payload["note"] = "--quick run: tiny sample, to check the script works; do not quote"
    path = write_result("train-cpu", payload, a.out, started, machine)

    print()
    rows_out = [
        [f"CPU docs/s, mean of step rates after step {a.skip_steps}", cpu["docs_per_s_mean_after_skip"]],
        ["CPU docs/s, train documents / training seconds", cpu["docs_per_s_epoch"]],
        [f"CPU epoch seconds, measured ({n_train} train + {n_dev} dev)", cpu["epoch_seconds_measured"]],
        ["CPU epoch seconds, projected to 22,500 train docs", cpu["projected_epoch_seconds_22500"]],
        ["peak VmRSS during training, MiB", memory["vmrss_peak_training_mib"]],
        ["ru_maxrss (self), MiB", memory["ru_maxrss_self_mib"]],
    ]
    for name, label in (("1_gpu", "1 GPU"), ("2_gpu_ddp", "2 GPUs DDP")):
        if name in gpu:
            rows_out.append(
                [f"H200 {label}: epoch seconds (recorded, last epoch)", gpu[name]["epoch_seconds"][-1]]
            )
        if f"cpu_projected_epoch_over_{name}_epoch2" in compare:
            rows_out.append(
                [
                    f"CPU projected epoch / H200 {label} epoch (x)",
                    compare[f"cpu_projected_epoch_over_{name}_epoch2"],
                ]
            )
    print_table(rows_out, [f"training, CPU threads={torch.get_num_threads()}", "value"])
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
