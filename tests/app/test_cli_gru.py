"""``han-explorer gru-trace``: the JSON schema, the GRU update checked from the JSON alone, the table,
and one-line errors with exit status 2.

Most cases call ``app.cli.main`` in-process; one runs the real process for stdin and exit status.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resources
from app.cli import main
from engine.analyze import analyze
from engine.bundle import load_bundle
from engine.text import tokenize

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = resources.sample_texts()["mixed_feelings"]
TEXT = SAMPLE.read_text(encoding="utf-8")
STEP_KEYS = {"token", "z", "r", "n", "h", "h_prev", "attention"}


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(ARGS)`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def trace_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    rc, out, err = call(capsys, "gru-trace", *args, "--json")
    assert rc == 0, err
    assert err == ""
    return json.loads(out)


def check_trace(data: dict, tokens: list[str], hidden: int = 100) -> None:
    """Schema, and ``h = z ∘ h_prev + (1 − z) ∘ n`` from the JSON alone, within 1e-6."""
    assert set(data) == {"direction", "tokens", "steps", "attention_meaning"}
    assert data["tokens"] == tokens
    assert [s["token"] for s in data["steps"]] == tokens
    previous = np.zeros(hidden)
    for s in data["steps"]:
        assert set(s) == STEP_KEYS
        z, r, n, h, h_prev = (np.array(s[k], dtype=np.float64) for k in ("z", "r", "n", "h", "h_prev"))
        assert all(v.shape == (hidden,) for v in (z, r, n, h, h_prev))
        assert ((z > 0) & (z < 1) & (r > 0) & (r < 1)).all() and (np.abs(n) < 1).all()
        np.testing.assert_allclose(h, z * h_prev + (1 - z) * n, atol=1e-6, rtol=0)
        np.testing.assert_array_equal(h_prev, previous)  # each step starts where the last ended
        previous = h


def assert_one_line_error(rc: int, out: str, err: str) -> None:
    assert "Traceback" not in err, err
    assert rc == 2, (rc, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("han-explorer gru-trace: ") and len(lines[0]) > 30, err


# --------------------------------------------------------------------------------------------------
# --json
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_word_trace_json(capsys: pytest.CaptureFixture[str], direction: str) -> None:
    data = trace_json(capsys, TEXT, "--sentence", "2", "--direction", direction)
    words = [t.text for t in tokenize(TEXT).sentences[1].tokens]
    check_trace(data, words if direction == "forward" else words[::-1])
    assert data["direction"] == direction
    # each step carries the HAN's word attention of its word (the stepper's), summing to 1
    weights = [w.weight for w in analyze(load_bundle(resources.model_dir()), TEXT).sentences[1].words]
    got = [s["attention"] for s in data["steps"]]
    np.testing.assert_allclose(got, weights if direction == "forward" else weights[::-1], atol=1e-6)
    assert sum(got) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_sentence_trace_json(capsys: pytest.CaptureFixture[str], direction: str) -> None:
    data = trace_json(capsys, "--file", str(SAMPLE), "--encoder", "sentence", "--direction", direction)
    sentences = [TEXT[s.start : s.end] for s in tokenize(TEXT).sentences]
    check_trace(data, sentences if direction == "forward" else sentences[::-1])


def test_text_file_and_stdin_agree(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = trace_json(capsys, TEXT)
    assert trace_json(capsys, "--file", str(SAMPLE)) == inline
    monkeypatch.setattr(sys, "stdin", io.StringIO(TEXT))
    assert trace_json(capsys, "-") == inline


def test_explicit_model_dir(capsys: pytest.CaptureFixture[str]) -> None:
    assert trace_json(capsys, "A fine film.", "--model", str(resources.model_dir()))["tokens"] == [
        "A",
        "fine",
        "film",
        ".",
    ]


# --------------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------------


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    data = trace_json(capsys, TEXT, "--sentence", "2")
    rc, out, err = call(capsys, "gru-trace", TEXT, "--sentence", "2")
    assert rc == 0 and err == ""
    header, columns, *rows = out.splitlines()
    assert header.startswith("word GRU, forward, sentence 2: 13 steps")
    assert columns.split()[:5] == ["step", "token", "mean", "z", "mean"]
    assert len(rows) == len(data["steps"]) == 13
    for t, (row, s) in enumerate(zip(rows, data["steps"], strict=True)):
        step, token, mean_z, mean_r, norm, *top = row.split()
        assert (int(step), token) == (t, s["token"])
        assert float(mean_z) == pytest.approx(np.mean(s["z"]), abs=6e-4)
        assert float(mean_r) == pytest.approx(np.mean(s["r"]), abs=6e-4)
        assert float(norm) == pytest.approx(np.linalg.norm(s["h"]), abs=6e-4)
        dh = np.array(s["h"]) - np.array(s["h_prev"])
        assert len(top) == 3
        units = [int(u.split(":")[0]) for u in top]
        assert units == [int(u) for u in np.argsort(-np.abs(dh), kind="stable")[:3]]
        assert [float(u.split(":")[1]) for u in top] == pytest.approx(dh[units], abs=6e-4)


def test_table_sentence_backward_one_line_per_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = call(capsys, "gru-trace", TEXT, "--encoder", "sentence", "--direction", "backward")
    n = len(tokenize(TEXT).sentences)
    assert rc == 0
    assert out.splitlines()[0].startswith(f"sentence GRU, backward: {n} steps (last token first)")
    assert len(out.splitlines()) == n + 2


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["   \n "],  # empty text
        ["", "--encoder", "sentence"],
        [TEXT, "--sentence", "99"],  # sentence out of range
        [TEXT, "--sentence", "0"],  # sentences count from 1, as in the app
        [TEXT, "--sentence", "-1"],
        ["A fine film.", "--model", str(ROOT / "tests")],  # not a model directory
        ["A fine film.", "--model", str(ROOT / "no-such-model")],
        ["--file", str(ROOT / "no-such-file.txt")],
        [],  # nothing to trace
        ["A fine film.", "--file", str(SAMPLE)],  # both
    ],
)
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert_one_line_error(*call(capsys, "gru-trace", *args))


@pytest.mark.parametrize(
    "args", [["x", "--encoder", "char"], ["x", "--direction", "up"], ["x", "--sentence", "one"]]
)
def test_bad_choices_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["gru-trace", *args])
    assert exc.value.code == 2
    assert "usage: han-explorer gru-trace" in capsys.readouterr().err


def test_help_lists_gru_trace(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["gru-trace", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: han-explorer gru-trace")
    for flag in ("--file", "--model", "--encoder", "--direction", "--sentence", "--json"):
        assert flag in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "gru-trace" in capsys.readouterr().out


def test_empty_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert_one_line_error(*call(capsys, "gru-trace", "-"))


def test_real_process_reads_utf8_stdin() -> None:
    """The real command (console entry point's module): UTF-8 bytes on stdin with '-', exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "gru-trace", "-", "--json"],
        cwd=ROOT,
        input="Ein schöner Film. Wirklich.".encode(),
        capture_output=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    check_trace(json.loads(proc.stdout.decode("utf-8")), ["Ein", "schöner", "Film", "."])
