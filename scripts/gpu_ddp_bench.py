"""On a machine with 2 GPUs: the DDP check (NCCL) and training throughput, one GPU vs two.

torchrun must be on PATH. Writes one JSON with every figure to the path given.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.toy_data import write_toy  # noqa: E402

TRAIN = [sys.executable, "-m", "app.cli", "train", "--quiet"]
TOY = [
    "--min-count",
    "1",
    "--embed-dim",
    "32",
    "--word-hidden",
    "16",
    "--sentence-hidden",
    "16",
    "--batch-size",
    "16",
    "--lr",
    "0.01",
    "--epochs",
    "3",
    "--patience",
    "9",
    "--workers",
    "1",
]
SHIPPED = [
    "--word-hidden",
    "100",
    "--sentence-hidden",
    "100",
    "--embed-dropout",
    "0.4",
    "--epochs",
    "2",
    "--patience",
    "9",
]


def logs(out: Path, world: int) -> list[dict]:
    res = []
    for r in range(world):
        recs = [json.loads(x) for x in (out / "logs" / f"rank{r}.jsonl").read_text().splitlines()]
        done = recs[-1]
        res.append(
            {
                "rank": r,
                "weights_sha256": done["extra"]["weights_sha256"],
                "history": done["extra"]["history"],
                "docs_per_s_last_step": [x for x in recs if x["kind"] == "step"][-1]["docs_per_s"],
            }
        )
    return res


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    data, dest = sys.argv[1], Path(sys.argv[2])
    work = ROOT / "runs" / "ddp"
    work.mkdir(parents=True, exist_ok=True)
    toy = write_toy(work / "toy.jsonl")
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "-m",
        "app.cli",
        "train",
        "--quiet",
    ]
    result: dict = {"machine": subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout}
    run([*torchrun, "--data", str(toy), "--out", str(work / "toy"), "--device", "cuda", *TOY])
    toy_logs = logs(work / "toy", 2)
    result["toy_ddp"] = {
        "ranks": toy_logs,
        "identical_weights": len({x["weights_sha256"] for x in toy_logs}) == 1,
        "loss_fell": all(x["history"][-1]["train_loss"] < x["history"][0]["train_loss"] for x in toy_logs),
    }
    cache = ["--cache-dir", str(work / "cache"), "--data", data, "--device", "cuda"]
    for name, cmd in (
        ("imdb_1gpu", [*TRAIN, *cache, "--out", str(work / "one"), *SHIPPED]),
        ("imdb_2gpu_ddp", [*torchrun, *cache, "--out", str(work / "two"), *SHIPPED]),
    ):
        wall = run(cmd)
        out = work / ("one" if name == "imdb_1gpu" else "two")
        ranks = logs(out, 1 if name == "imdb_1gpu" else 2)
        result[name] = {
            "wall_s": wall,
            "ranks": ranks,
            "identical_weights": len({x["weights_sha256"] for x in ranks}) == 1,
            "epoch_seconds": [h["seconds"] for h in ranks[0]["history"]],
            "dev_accuracy": [h["dev_accuracy"] for h in ranks[0]["history"]],
        }
    dest.write_text(json.dumps(result, indent=1))
    print(
        json.dumps(
            {
                k: (v if k == "machine" else {kk: vv for kk, vv in v.items() if kk != "ranks"})
                for k, v in result.items()
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
