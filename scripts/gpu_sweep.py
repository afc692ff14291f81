"""Choose the shipped model's settings on the dev split, on a GPU machine, in phases.

    python3 scripts/gpu_sweep.py launch --train T --out runs/sweep --gpus 2
    python3 scripts/gpu_sweep.py wait --out runs/sweep --seconds 500
    python3 scripts/gpu_sweep.py finish --out runs/sweep --test TEST --result DIR

``launch`` tokenizes once (cache) and starts every configuration in the background, spread over
the GPUs; ``wait`` reports progress until all are done or time is up; ``finish`` picks the run with
the best *dev* accuracy, evaluates only that one on the test set (once) and copies it to DIR.
Every run is an ordinary ``han-explorer train`` command, recorded in its model's JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE = ["--epochs", "10", "--patience", "3", "--embedding-dtype", "float16", "--quiet"]
CONFIGS: dict[str, list[str]] = {
    "base": [],
    "w2v": ["--word2vec-epochs", "5"],
    "w2v_h100": ["--word2vec-epochs", "5", "--word-hidden", "100", "--sentence-hidden", "100"],
    "w2v_lr1e3": ["--word2vec-epochs", "5", "--lr", "0.001"],
    "w2v_q99": ["--word2vec-epochs", "5", "--word-quantile", "0.99", "--sentence-quantile", "0.99"],
    "w2v_h100_drop": [
        "--word2vec-epochs",
        "5",
        "--word-hidden",
        "100",
        "--sentence-hidden",
        "100",
        "--embed-dropout",
        "0.4",
    ],
    "w2v10_bs32": ["--word2vec-epochs", "10", "--batch-size", "32"],
    "w2v_freeze_lr3e3": ["--word2vec-epochs", "5", "--freeze-embedding-epochs", "1", "--lr", "0.003"],
}


def launch(a: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from engine.data import load_dataset
    from engine.train import TrainConfig, _cached_words

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    ds = load_dataset(a.train)
    _cached_words(ds, TrainConfig(data=a.train, cache_dir=str(out / "cache"), workers=a.workers))
    print(f"tokenized {len(ds)} documents in {time.time() - t0:.1f}s", flush=True)
    names = a.only.split(",") if a.only else list(CONFIGS)
    for i, name in enumerate(names):
        gpu = i % a.gpus
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(gpu), "OMP_NUM_THREADS": "4"}
        cmd = [
            sys.executable,
            "-m",
            "app.cli",
            "train",
            "--data",
            a.train,
            "--out",
            str(out / name),
            "--device",
            a.device,
            "--cache-dir",
            str(out / "cache"),
            *BASE,
            *CONFIGS[name],
        ]
        log = (out / f"{name}.log").open("w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        (out / f"{name}.pid").write_text(str(proc.pid))
        print(f"started {name} on GPU {gpu}", flush=True)


def _status(out: Path) -> dict[str, dict]:
    res = {}
    for name in CONFIGS:
        log = out / name / "logs" / "rank0.jsonl"
        if not log.exists():
            continue
        recs = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        evals = [r for r in recs if r["kind"] == "eval"]
        res[name] = {
            "done": any(r["kind"] == "done" for r in recs),
            "dev": [round(r["dev_accuracy"], 4) for r in evals],
            "epoch_s": [
                round(h["seconds"], 1)
                for h in (recs[-1]["extra"].get("history", []) if recs[-1]["kind"] == "done" else [])
            ],
            "steps": recs[-1]["step"],
            "docs_per_s": recs[-1]["docs_per_s"],
        }
    return res


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def wait(a: argparse.Namespace) -> None:
    out = Path(a.out)
    end = time.time() + a.seconds
    while True:
        alive = [p.stem for p in out.glob("*.pid") if _alive(int(p.read_text()))]
        if not alive:
            break
        if time.time() > end:
            break
        time.sleep(15)
    for n, s in _status(out).items():
        print(n, json.dumps(s), flush=True)


def finish(a: argparse.Namespace) -> None:
    out, dest = Path(a.out), Path(a.result)
    dest.mkdir(parents=True, exist_ok=True)
    runs = {}
    for p in out.glob("*.pid"):  # stop runs still going: the choice is made now, on dev
        if _alive(int(p.read_text())):
            os.killpg(int(p.read_text()), 15)
    for name in CONFIGS:
        meta = out / name / "model" / "model.json"
        if meta.exists():
            m = json.loads(meta.read_text())
            runs[name] = {
                "dev_accuracy": m["dev_accuracy"],
                "best_epoch": m["best_epoch"],
                "history": m.get("history"),
                "command": m["command"],
            }
    best = max(runs, key=lambda n: runs[n]["dev_accuracy"])
    print("chosen on dev:", best, runs[best]["dev_accuracy"], flush=True)
    t0 = time.time()
    ev = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "evaluate",
            "--data",
            a.test,
            "--model",
            str(out / best / "model"),
            "--json",
            "--record",
            "test",
            "--device",
            a.device,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(ev.stdout)
    print("test accuracy (once):", report["accuracy"], f"{time.time() - t0:.1f}s", flush=True)
    shutil.copy(out / best / "model" / "model.safetensors", dest / "model.safetensors")
    shutil.copy(out / best / "model" / "model.json", dest / "model.json")
    (dest / "sweep.json").write_text(
        json.dumps({"chosen": best, "runs": runs, "test": report, "status": _status(out)}, indent=1)
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("phase", choices=["launch", "wait", "finish"])
    p.add_argument("--train")
    p.add_argument("--test")
    p.add_argument("--out", default="runs/sweep")
    p.add_argument("--gpus", type=int, default=1)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--only", default="")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seconds", type=float, default=500)
    p.add_argument("--result", default="result")
    a = p.parse_args()
    {"launch": launch, "wait": wait, "finish": finish}[a.phase](a)


if __name__ == "__main__":
    main()
