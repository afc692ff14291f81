"""DistributedDataParallel on CPU: two ranks under torchrun (gloo) through the real CLI.

One tiny run on toy data checks what only a multi-process run can show: the ranks end with
identical weights, each rank learns, and each rank trained on its own shard of the batches.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.toy_data import TINY_TRAIN_ARGS, write_toy

ROOT = Path(__file__).resolve().parents[2]
TINY = TINY_TRAIN_ARGS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("ddp")
    toy = write_toy(tmp / "toy.jsonl")
    out = tmp / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "app.cli",
        "train",
        "--quiet",
        "--data",
        str(toy),
        "--out",
        str(out),
        "--device",
        "cpu",
        *TINY,
        "--epochs",
        "3",
        "--patience",
        "9",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, out


@pytest.fixture(scope="module")
def rank_logs(ddp_run: tuple[subprocess.CompletedProcess[str], Path]) -> list[list[dict[str, Any]]]:
    proc, out = ddp_run
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-5000:]}"
    paths = [out / "logs" / f"rank{r}.jsonl" for r in (0, 1)]
    for p in paths:
        assert p.is_file(), p
    assert not (out / "logs" / "rank2.jsonl").exists()
    return [_records(p) for p in paths]


def test_torchrun_exits_0_and_only_rank0_reports(
    ddp_run: tuple[subprocess.CompletedProcess[str], Path], rank_logs: list[list[dict[str, Any]]]
) -> None:
    proc, out = ddp_run
    assert "Traceback" not in proc.stderr
    summary = [line for line in proc.stdout.splitlines() if "best dev accuracy" in line]
    assert len(summary) == 1, proc.stdout  # rank 1 prints nothing
    assert (out / "model" / "model.json").is_file()
    assert (out / "model" / "model.safetensors").is_file()


def test_both_ranks_finish_with_identical_weights(rank_logs: list[list[dict[str, Any]]]) -> None:
    done = [log[-1] for log in rank_logs]
    for rank, rec in enumerate(done):
        assert rec["kind"] == "done"
        assert rec["extra"]["rank"] == rank
        assert rec["extra"]["world"] == 2
        assert len(rec["extra"]["weights_sha256"]) == 64
    assert done[0]["extra"]["weights_sha256"] == done[1]["extra"]["weights_sha256"]
    assert done[0]["step"] == done[1]["step"] > 0  # same number of optimizer steps
    assert done[0]["best_dev_accuracy"] == done[1]["best_dev_accuracy"]


def test_each_rank_learns(rank_logs: list[list[dict[str, Any]]]) -> None:
    for log in rank_logs:
        history = log[-1]["extra"]["history"]
        assert [h["epoch"] for h in history] == [1, 2, 3]
        assert history[-1]["train_loss"] < history[0]["train_loss"], history


def test_ranks_train_on_different_shards(rank_logs: list[list[dict[str, Any]]]) -> None:
    losses = [[r["loss"] for r in log if r["kind"] == "step"] for log in rank_logs]
    assert len(losses[0]) == len(losses[1]) > 0
    # The weights are identical at every step (DDP), so different losses mean different batches.
    assert losses[0][0] != losses[1][0]
    differing = sum(a != b for a, b in zip(losses[0], losses[1], strict=True))
    assert differing >= 0.9 * len(losses[0]), (losses[0][:5], losses[1][:5])
    # Dev accuracy is summed over both ranks' dev shards, so every rank sees the same value.
    evals = [[r["dev_accuracy"] for r in log if r["kind"] == "eval"] for log in rank_logs]
    assert evals[0] == evals[1] and len(evals[0]) == 3
