"""Helpers for the reliability suite: the CLI in-process and as a child under a memory cap.

Every test in ``tests/reliability`` is a promise of issue 13: whatever a user gives, the program
answers with one line and exit status 2, or does the work; it never crashes, hangs, eats the
machine's memory or destroys a file. Children run under an address-space limit, so a regression
fails its test instead of swapping the machine.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.toy_data import TINY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 4 << 30  # bytes of address space for a child: torch + the shipped model need < 1 GiB
TINY = [*TINY_TRAIN_ARGS, "--device", "cpu", "--word2vec-epochs", "0", "--quiet"]


def capped(limit: int = MEMORY_CAP) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run_cli(
    *args: str, stdin: Any = None, input: bytes | None = None, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``python -m app.cli ARGS`` in a child capped at ``MEMORY_CAP``; text output."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        stdin=stdin,
        input=input,
        capture_output=True,
        timeout=timeout,
        env=env,
        preexec_fn=capped(),
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a child capped at ``MEMORY_CAP``, from the repository root."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=capped(),
        check=False,
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(ARGS)`` in-process: (exit status, stdout, stderr). An escaping exception fails the test."""
    from app.cli import main

    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line(rc: int, out: str, err: str, *words: str) -> None:
    """Exit status 2, nothing on stdout, one line on stderr without a traceback, naming ``words``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, (rc, err[-2000:])
    assert out == "", out[:500]
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err
    assert not re.search(r"\b[A-Z]\w*(Error|Exception|Warning)\b:", err), err  # no class-name prefixes
    for w in words:
        assert w.lower() in err.lower(), (w, err)


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes: to prove nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
