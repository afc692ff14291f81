"""Training progress: bars and a ticking line on a terminal, plain lines in a pipe, nothing with --quiet."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.cli_progress import Progress, wants_bars


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(show: Progress) -> None:
    show.setup("read 60 documents (jsonl) from toy.jsonl")
    show.setup("tokenizing 60 documents")
    time.sleep(1.2)  # the engine tokenizes: the ticker counts
    for k in (1, 2):
        show.setup(f"word2vec epoch {k}/2: loss 0.{k}")
    show.setup("54 train / 6 dev documents", total_steps=3)
    for _ in range(3):
        show.step({"epoch": 1, "loss": "0.693"})
    show.close()


def test_a_terminal_gets_bars_and_a_ticking_line() -> None:
    tty = _Tty()
    _feed(Progress(stream=tty))
    text = tty.getvalue()
    assert "preparing (tokenizing, vocabulary, embedding): 00:01" in text
    assert "word2vec: 100%" in text and "2/2" in text
    assert "3/3" in text and "best_dev" not in text  # no evaluation yet: no best_dev=0.0000


def test_a_pipe_gets_plain_lines_and_quiet_gets_nothing() -> None:
    pipe = io.StringIO()
    _feed(Progress(stream=pipe))
    assert pipe.getvalue().splitlines() == [
        "read 60 documents (jsonl) from toy.jsonl",
        "tokenizing 60 documents",
        "word2vec epoch 1/2: loss 0.1",
        "word2vec epoch 2/2: loss 0.2",
        "54 train / 6 dev documents",
    ]
    assert "\r" not in pipe.getvalue()
    assert not wants_bars(True, _Tty()) and not wants_bars(False, io.StringIO()) and wants_bars(False, _Tty())


def test_train_shows_no_best_dev_before_an_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.toy_data import write_toy

    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(Progress, "step", lambda self, post: seen.append(post))
    data = write_toy(tmp_path / "toy.jsonl", 60, seed=1)
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "2", "--embed-dim", "8"]
    args += ["--word-hidden", "4", "--sentence-hidden", "4", "--word2vec-epochs", "0", "--device", "cpu"]
    assert cli.main(args) == 0
    steps_per_epoch = len(seen) // 2
    assert all("best_dev" not in p for p in seen[:steps_per_epoch])  # before the first evaluation
    assert all("best_dev" in p for p in seen[steps_per_epoch:])


def test_the_ticker_counts_seconds_on_a_terminal() -> None:
    from app.cli_progress import start_ticker

    tty = _Tty()
    with start_ticker("output_tile on the CPU emulator", stream=tty):
        time.sleep(1.1)
    assert "output_tile on the CPU emulator: 00:01" in tty.getvalue()


def test_conv_reports_its_error_against_numpy_and_its_time(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert (
        cli.main(
            [
                "conv",
                "--size",
                "37x53",
                "--mask",
                "sobel-x:5",
                "--strategy",
                "cached_halo",
                "--tile",
                "8",
                "--backend",
                "emulator",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["max_abs_error"] < 1e-5 and report["wall_ms"] > 0
    assert cli.main(["conv", "--size", "37x53", "--mask", "3", "--backend", "emulator"]) == 0
    out, err = capsys.readouterr()
    assert "max |ours − reference| = " in out and " ms" in out.splitlines()[-1]
    assert err == ""  # a pipe gets no progress
