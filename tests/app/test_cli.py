"""The ``han-explorer`` command line: train, evaluate and predict, their output and their errors.

Most cases call ``app.cli.main`` in-process (torch is imported once); the ones that depend on the
real process (exit status, standard streams, the console script, stdin decoding) run a subprocess.
An exception escaping ``main`` in-process is exactly a traceback on stderr from the command.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.util
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest
import torch

import resources
from app.cli import main
from engine.text import tokenize
from engine.train import TrainConfig
from tests.toy_data import TINY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = resources.sample_texts()
# "negations" is a positive review written to trip the model up (the Explain panel's example): the
# shipped model's label for it is not asserted.
SAMPLE_LABELS = {"clear_pan": "neg", "mixed_feelings": "pos", "rave": "pos", "negations": "pos"}
MISREAD = {"mixed_feelings", "negations"}
TINY = [*TINY_TRAIN_ARGS, "--device", "cpu"]
WORD_KEYS = {"text", "start", "end", "weight", "known"}
SENTENCE_KEYS = {"text", "start", "end", "weight", "words"}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


@functools.cache
def _toy_data() -> ModuleType:
    """tests/toy_data.py, loaded by path: ``tests`` is not importable when tests/app runs alone."""
    spec = importlib.util.spec_from_file_location("_han_toy_data", ROOT / "tests" / "toy_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_toy(path: Path, n: int = 400, seed: int = 0) -> Path:
    return _toy_data().write_toy(path, n, seed)


def run_cli(
    *args: str, input: str | bytes | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m app.cli ARGS`` from the repository root; text output (bytes input allowed)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        input=data,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", errors="replace"),
        proc.stderr.decode("utf-8", errors="replace"),
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(ARGS)`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc: int, out: str, err: str, command: str) -> None:
    assert "Traceback" not in err, err
    assert rc == 2, (rc, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"han-explorer {command}: "), err
    assert len(lines[0]) > len(f"han-explorer {command}: ") + 5, err


def check_analysis(data: dict, text: str, labels: tuple[str, ...] = ("neg", "pos")) -> None:
    """The ``predict --json`` schema and its invariants for input ``text``."""
    assert set(data) == {"label", "probabilities", "sentences"}
    assert list(data["probabilities"]) == list(labels)
    assert data["label"] in labels
    assert data["label"] == max(data["probabilities"], key=data["probabilities"].get)
    assert all(0.0 <= p <= 1.0 for p in data["probabilities"].values())
    assert math.isclose(sum(data["probabilities"].values()), 1.0, abs_tol=1e-6)
    assert data["sentences"]
    assert math.isclose(sum(s["weight"] for s in data["sentences"]), 1.0, abs_tol=1e-5)
    previous_end = 0
    for s in data["sentences"]:
        assert set(s) == SENTENCE_KEYS
        assert isinstance(s["start"], int) and isinstance(s["end"], int)
        assert previous_end <= s["start"] < s["end"] <= len(text)
        assert text[s["start"] : s["end"]] == s["text"]
        previous_end = s["end"]
        assert s["words"]
        assert math.isclose(sum(w["weight"] for w in s["words"]), 1.0, abs_tol=1e-5)
        assert s["words"][0]["start"] == s["start"] and s["words"][-1]["end"] == s["end"]
        for w in s["words"]:
            assert set(w) == WORD_KEYS
            assert isinstance(w["known"], bool)
            assert 0.0 <= w["weight"] <= 1.0
            assert s["start"] <= w["start"] < w["end"] <= s["end"]
            assert text[w["start"] : w["end"]] == w["text"]


def n_words(data: dict) -> int:
    return sum(len(s["words"]) for s in data["sentences"])


def copy_model(dest: Path) -> Path:
    shutil.copytree(resources.model_dir(), dest)
    return dest


def sample_jsonl(path: Path, copies: int = 2) -> Path:
    rows = [
        {"text": p.read_text(encoding="utf-8"), "label": SAMPLE_LABELS[name]}
        for _ in range(copies)
        for name, p in SAMPLES.items()
        if name != "negations"  # the evaluate tests count on the first three samples
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_samples_are_shipped() -> None:
    assert set(SAMPLES) == set(SAMPLE_LABELS)


# --------------------------------------------------------------------------------------------------
# predict: JSON, stdin, HTML, terminal
# --------------------------------------------------------------------------------------------------


def test_predict_json_subprocess() -> None:
    path = SAMPLES["rave"]
    proc = run_cli("predict", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    text = path.read_text(encoding="utf-8")
    check_analysis(data, text)
    assert data["label"] == "pos"
    assert n_words(data) == tokenize(text).n_tokens


@pytest.mark.parametrize("name", sorted(SAMPLE_LABELS))
def test_predict_json_every_sample(capsys: pytest.CaptureFixture[str], name: str) -> None:
    path = SAMPLES[name]
    rc, out, err = call(capsys, "predict", "--json", str(path))
    assert rc == 0, err
    data = json.loads(out)
    text = path.read_text(encoding="utf-8")
    check_analysis(data, text)
    assert n_words(data) == tokenize(text).n_tokens
    if name not in MISREAD:
        assert data["label"] == SAMPLE_LABELS[name]


def test_predict_stdin_dash_subprocess() -> None:
    text = SAMPLES["clear_pan"].read_text(encoding="utf-8")
    proc = run_cli("predict", "--json", "-", input=text)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    check_analysis(data, text)
    assert data["label"] == "neg"


def test_predict_stdin_is_the_default_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "A dull, boring film.\nI hated every minute of it."
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    rc, out, err = call(capsys, "predict", "--json")
    assert rc == 0, err
    check_analysis(json.loads(out), text)


def test_predict_html_page(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = SAMPLES["mixed_feelings"]
    page_path = tmp_path / "view.html"
    rc, out, err = call(capsys, "predict", "--json", "--html", str(page_path), str(path))
    assert rc == 0, err
    data = json.loads(out)
    page = page_path.read_text(encoding="utf-8")
    assert page.lstrip().upper().startswith("<!DOCTYPE HTML")
    assert page.startswith("<!DOCTYPE html")
    assert "http" not in page.lower()  # self-contained: no links, no CDN
    assert "<script" not in page.lower()
    visible = html.unescape(re.sub(r"<[^>]*>", "", page))
    for s in data["sentences"]:
        for w in s["words"]:
            assert w["text"] in visible, w["text"]


def test_predict_terminal_view(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = call(capsys, "predict", "--no-color", str(SAMPLES["rave"]))
    assert rc == 0, err
    assert "prediction:" in out
    assert "prediction: pos" in out
    assert "\x1b" not in out


def test_predict_terminal_view_is_plain_when_not_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = call(capsys, "predict", str(SAMPLES["clear_pan"]))
    assert rc == 0, err
    assert "prediction: neg" in out
    assert "\x1b" not in out  # captured stdout is no tty: no colour


@pytest.mark.slow
def test_predict_one_megabyte_review(tmp_path: Path) -> None:
    from engine.limits import MAX_TEXT_CHARS

    unit = SAMPLES["mixed_feelings"].read_text(encoding="utf-8").strip() + " "
    text = unit * (MAX_TEXT_CHARS // len(unit))  # as long as a review may be
    assert MAX_TEXT_CHARS - len(unit) < len(text) <= MAX_TEXT_CHARS
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    proc = run_cli("predict", "--json", str(path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert set(data) == {"label", "probabilities", "sentences"}
    assert math.isclose(sum(data["probabilities"].values()), 1.0, abs_tol=1e-6)
    doc = tokenize(text)
    assert len(data["sentences"]) == len(doc.sentences)
    assert n_words(data) == doc.n_tokens  # nothing was cut
    last = data["sentences"][-1]["words"][-1]
    assert last["end"] == len(text.rstrip())
    assert text[last["start"] : last["end"]] == last["text"]


def test_predict_offsets_index_a_crlf_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    raw = "Great film.\r\nLoved it & the cast.\r\n\r\nBad ending though."
    path = tmp_path / "crlf.txt"
    path.write_bytes(raw.encode("utf-8"))
    rc, out, err = call(capsys, "predict", "--json", str(path))
    assert rc == 0, err
    check_analysis(json.loads(out), raw)


# --------------------------------------------------------------------------------------------------
# predict: bad input is one line on stderr, status 2
# --------------------------------------------------------------------------------------------------


def test_predict_empty_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    assert_one_line_error(*call(capsys, "predict", str(tmp_path / "empty.txt")), "predict")


def test_predict_whitespace_only_stdin_subprocess() -> None:
    proc = run_cli("predict", "-", input="   \n\t  \n\n ")
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "predict")


def test_predict_tags_only(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "br.txt").write_text("<br /><br />\n", encoding="utf-8")
    assert_one_line_error(*call(capsys, "predict", "--json", str(tmp_path / "br.txt")), "predict")


def test_predict_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_one_line_error(*call(capsys, "predict", str(tmp_path / "nope.txt")), "predict")


def test_predict_directory_as_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_one_line_error(*call(capsys, "predict", str(tmp_path)), "predict")


def test_predict_non_utf8_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Un film très réussi, \xff\xfe".encode("latin-1"))
    assert_one_line_error(*call(capsys, "predict", str(tmp_path / "latin1.txt")), "predict")


def test_predict_model_dir_that_is_not_a_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = call(capsys, "predict", "--model", str(tmp_path), str(SAMPLES["rave"]))
    assert_one_line_error(rc, out, err, "predict")


def test_predict_model_path_missing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = call(capsys, "predict", "--model", str(tmp_path / "none"), str(SAMPLES["rave"]))
    assert_one_line_error(rc, out, err, "predict")


@pytest.mark.parametrize("size", ["zero", "header", "half"])
def test_predict_corrupt_weights(capsys: pytest.CaptureFixture[str], tmp_path: Path, size: str) -> None:
    model = copy_model(tmp_path / "model")
    weights = model / "model.safetensors"
    keep = {"zero": 0, "header": 7, "half": weights.stat().st_size // 2}[size]
    with weights.open("r+b") as f:
        f.truncate(keep)
    rc, out, err = call(capsys, "predict", "--json", "--model", str(model), str(SAMPLES["rave"]))
    assert_one_line_error(rc, out, err, "predict")
    assert "model.safetensors" in err


def test_predict_corrupt_weights_subprocess(tmp_path: Path) -> None:
    model = copy_model(tmp_path / "model")
    weights = model / "model.safetensors"
    with weights.open("r+b") as f:
        f.truncate(weights.stat().st_size // 3)
    proc = run_cli("predict", "--model", str(model), str(SAMPLES["rave"]))
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "predict")


def test_predict_corrupt_model_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = copy_model(tmp_path / "model")
    (model / "model.json").write_text('{"format": "han-explorer-model", ', encoding="utf-8")
    rc, out, err = call(capsys, "predict", "--model", str(model), str(SAMPLES["rave"]))
    assert_one_line_error(rc, out, err, "predict")


def test_predict_non_utf8_stdin_subprocess() -> None:
    proc = run_cli("predict", "--json", "-", input=b"\xff\xfe\x80 not UTF-8 \xe9t\xe9")
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "predict")


def test_predict_into_a_closed_pipe_prints_no_traceback() -> None:
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "predict", "--json", str(SAMPLES["rave"])],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
        os.close(read_end)  # nobody reads: the write gets EPIPE
    _, err = proc.communicate(timeout=120)
    text = err.decode("utf-8", errors="replace")
    assert "Traceback" not in text, text
    assert "Error" not in text, text


# --------------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------------


def test_evaluate_json_with_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = sample_jsonl(tmp_path / "samples.jsonl", copies=2)
    rc, out, err = call(capsys, "evaluate", "--json", "--limit", "4", "--device", "cpu", "--data", str(data))
    assert rc == 0, err
    report = json.loads(out)
    assert isinstance(report["accuracy"], float)
    assert 0.0 <= report["accuracy"] <= 1.0
    assert isinstance(report["n"], int)
    assert report["n"] == 4
    assert set(report["per_class"]) == {"neg", "pos"}
    for pc in report["per_class"].values():
        assert {"precision", "recall", "f1", "support"} <= set(pc)
    assert sum(pc["support"] for pc in report["per_class"].values()) == 4
    conf = report["confusion"]
    assert isinstance(conf, list) and len(conf) == 2
    assert all(isinstance(row, list) and len(row) == 2 for row in conf)
    assert sum(map(sum, conf)) == report["n"]
    assert math.isclose(report["accuracy"], (conf[0][0] + conf[1][1]) / report["n"])


def test_evaluate_text_view(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = sample_jsonl(tmp_path / "samples.jsonl", copies=1)
    rc, out, err = call(capsys, "evaluate", "--device", "cpu", "--data", str(data))
    assert rc == 0, err
    assert re.search(r"^accuracy \d\.\d{4} on 3 documents$", out, re.MULTILINE), out
    assert "neg:" in out and "pos:" in out


def test_evaluate_missing_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = call(capsys, "evaluate", "--json", "--data", str(tmp_path / "nope.jsonl"))
    assert_one_line_error(rc, out, err, "evaluate")


def test_evaluate_all_rows_malformed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    rows = ['{"text": "a fine film"}', '{"label": "pos"}', "not json at all", '{"text": "", "label": "neg"}']
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rc, out, err = call(capsys, "evaluate", "--json", "--data", str(bad), "--format", "jsonl")
    assert_one_line_error(rc, out, err, "evaluate")


def test_evaluate_labels_unknown_to_the_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "stars.jsonl"
    bad.write_text('{"text": "good", "label": "5"}\n{"text": "bad", "label": "1"}\n', encoding="utf-8")
    rc, out, err = call(capsys, "evaluate", "--json", "--data", str(bad))
    assert_one_line_error(rc, out, err, "evaluate")


def test_evaluate_record_writes_into_the_copy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shipped_meta = resources.model_dir() / "model.json"
    before = sha256(shipped_meta)
    model = copy_model(tmp_path / "model")
    data = sample_jsonl(tmp_path / "samples.jsonl", copies=1)
    rc, out, err = call(
        capsys,
        "evaluate",
        "--json",
        "--device",
        "cpu",
        "--model",
        str(model),
        "--record",
        "test",
        "--data",
        str(data),
    )
    assert rc == 0, err
    report = json.loads(out)
    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    assert meta["test_accuracy"] == report["accuracy"]
    assert meta["test_evaluation"]["n"] == 3
    assert meta["test_evaluation"]["data_sha256"] == sha256(data)
    assert sha256(shipped_meta) == before  # the shipped model is untouched
    rc, out, err = call(capsys, "predict", "--json", "--model", str(model), str(SAMPLES["rave"]))
    assert rc == 0, err  # the updated model still loads


def test_evaluate_unknown_device(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = sample_jsonl(tmp_path / "samples.jsonl", copies=1)
    rc, out, err = call(capsys, "evaluate", "--device", "bogus", "--data", str(data))
    assert_one_line_error(rc, out, err, "evaluate")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_evaluate_cuda_without_gpu(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = sample_jsonl(tmp_path / "samples.jsonl", copies=1)
    rc, out, err = call(capsys, "evaluate", "--device", "cuda", "--data", str(data))
    assert_one_line_error(rc, out, err, "evaluate")


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One tiny training run through the CLI on toy data (shared by the train tests)."""
    tmp = tmp_path_factory.mktemp("train")
    toy = write_toy(tmp / "toy.jsonl")
    out = tmp / "run"
    proc = run_cli(
        "train",
        "--data",
        str(toy),
        "--out",
        str(out),
        *TINY,
        "--epochs",
        "3",
        timeout=300,
        env={"OMP_NUM_THREADS": "1"},
    )  # tiny GRUs: one thread is fastest
    return proc, out


def test_train_exits_0_with_summary(trained: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "best dev accuracy" in lines[-1], proc.stdout
    assert str(out / "model") in lines[-1]
    assert sum("dev accuracy" in line for line in lines) == 4  # three epochs plus the summary
    assert (out / "logs" / "rank0.jsonl").is_file()
    assert (out / "checkpoint").is_dir()


def test_trained_model_predicts(
    capsys: pytest.CaptureFixture[str], trained: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    proc, out = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = SAMPLES["mixed_feelings"].read_text(encoding="utf-8")
    rc, stdout, err = call(
        capsys, "predict", "--model", str(out / "model"), "--json", str(SAMPLES["mixed_feelings"])
    )
    assert rc == 0, err
    data = json.loads(stdout)
    check_analysis(data, text)
    assert n_words(data) == tokenize(text).n_tokens


def test_trained_model_records_the_command(trained: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = trained
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["command"].startswith("han-explorer train")
    assert "--embed-dim 16" in meta["command"]
    assert meta["label_names"] == ["neg", "pos"]
    assert meta["config"]["embed_dim"] == 16 and meta["config"]["word_hidden"] == 8
    assert meta["test_accuracy"] is None
    assert 0.0 <= meta["dev_accuracy"] <= 1.0


def test_train_missing_data_quiet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = call(
        capsys,
        "train",
        "--quiet",
        "--data",
        str(tmp_path / "nope.jsonl"),
        "--out",
        str(tmp_path / "run"),
        *TINY,
    )
    assert_one_line_error(rc, out, err, "train")


def test_train_missing_data_not_quiet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = call(
        capsys, "train", "--data", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "run"), *TINY
    )
    assert_one_line_error(rc, out, err, "train")


@pytest.fixture
def small_toy(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "toy.jsonl", n=40)


def test_train_dataset_too_small(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tiny = write_toy(tmp_path / "four.jsonl", n=4)
    rc, out, err = call(
        capsys, "train", "--quiet", "--data", str(tiny), "--out", str(tmp_path / "run"), *TINY
    )
    assert_one_line_error(rc, out, err, "train")


def test_train_resume_without_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_toy: Path
) -> None:
    rc, out, err = call(
        capsys,
        "train",
        "--quiet",
        "--resume",
        "--data",
        str(small_toy),
        "--out",
        str(tmp_path / "run"),
        *TINY,
        "--epochs",
        "1",
    )
    assert_one_line_error(rc, out, err, "train")


def test_train_unknown_device(capsys: pytest.CaptureFixture[str], tmp_path: Path, small_toy: Path) -> None:
    rc, out, err = call(
        capsys,
        "train",
        "--quiet",
        "--data",
        str(small_toy),
        "--out",
        str(tmp_path / "run"),
        *TINY,
        "--device",
        "bogus",
    )
    assert_one_line_error(rc, out, err, "train")


def test_train_zero_epochs(capsys: pytest.CaptureFixture[str], tmp_path: Path, small_toy: Path) -> None:
    rc, _, err = call(
        capsys,
        "train",
        "--quiet",
        "--data",
        str(small_toy),
        "--out",
        str(tmp_path / "run"),
        *TINY,
        "--epochs",
        "0",
    )
    assert "Traceback" not in err
    assert rc in (0, 2), (rc, err)


def test_train_zero_batch_size(capsys: pytest.CaptureFixture[str], tmp_path: Path, small_toy: Path) -> None:
    rc, out, err = call(
        capsys,
        "train",
        "--quiet",
        "--data",
        str(small_toy),
        "--out",
        str(tmp_path / "run"),
        *TINY,
        "--epochs",
        "1",
        "--batch-size",
        "0",
    )
    assert_one_line_error(rc, out, err, "train")


# --------------------------------------------------------------------------------------------------
# usage and help
# --------------------------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    """(With no arguments the desktop app opens: tests/app/test_gui_entry.py.)"""
    script = Path(sys.executable).parent / "han-explorer"
    cmd = [*([str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]), "--help"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: han-explorer")
    for command in ("train", "evaluate", "predict", "gru-trace", "conv", "--screenshot"):
        assert command in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_subcommand_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: han-explorer {command}")
    if command == "train":
        for f in fields(TrainConfig):
            if f.name != "command":
                assert "--" + f.name.replace("_", "-") in out, f.name


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: han-explorer" in err and "invalid choice" in err
