"""``--help``, ``--version`` and argument errors answer without importing torch, numpy or Qt.

``import torch`` alone takes over a second; a user asking for help must not wait for it. Each case
runs in a fresh interpreter (this test process has torch loaded already) and reports which of the
heavy packages ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "numpy", "PySide6", "pyqtgraph", "superqt", "safetensors", "syntok")

_PROBE = """
import contextlib, io, json, sys
from app.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as e:
        code = e.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
"""


def _probe(*args: str) -> dict[str, object]:
    code = f"HEAVY = {HEAVY!r}\n{_PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["train", "--help"],
        ["evaluate", "--help"],
        ["predict", "--help"],
        ["gru-trace", "--help"],
        ["--no-such-flag"],
        ["no-such-command"],
        ["train"],  # --data missing
        ["evaluate", "--data", "x.jsonl", "--limit", "many"],
        ["evaluate", "--data", "x.jsonl", "--batch-size", "0"],
        ["--view", "nowhere"],
    ],
)
def test_help_and_argument_errors_import_nothing_heavy(args: list[str]) -> None:
    result = _probe(*args)
    assert result["code"] in (0, 2)
    assert result["heavy"] == [], f"{args} imported {result['heavy']}"


def test_every_command_is_listed_by_help_without_importing_its_engine() -> None:
    result = _probe("--help")
    for command in ("train", "evaluate", "predict", "gru-trace", "conv", "conv-bench"):
        assert command in str(result["out"])
    assert result["heavy"] == []


def test_version_names_the_installed_package() -> None:
    from importlib import metadata

    result = _probe("--version")
    assert result["code"] == 0
    assert str(result["out"]).strip() == f"han-explorer {metadata.version('han-explorer')}"


def test_conv_options_are_added_when_conv_is_parsed() -> None:
    """conv's options quote engine constants (numpy): its help has them, and pays only numpy."""
    result = _probe("conv", "--help")
    assert "--strategy" in str(result["out"]) and "tma" in str(result["out"])
    assert "torch" not in result["heavy"] and "PySide6" not in result["heavy"]
