"""Output paths (issue 13, items 5 and 8): a missing folder, a folder, a file in the way, a read-only
place or a full disk is one line and exit 2 before any work, and a previous file survives a failed
write whole.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import engine.atomic
import resources
from tests.reliability.helpers import TINY, assert_one_line, call

SAMPLE = str(resources.sample_texts()["rave"])


def _bad_targets(tmp_path: Path, name: str) -> dict[str, Path]:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    return {
        "missing folder": tmp_path / "missing" / name,
        "a folder": tmp_path / "a-folder",
        "below a file": tmp_path / "a-file" / name,
    }


@pytest.mark.parametrize("case", ["missing folder", "a folder", "below a file"])
def test_predict_html_to_a_bad_path(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = _bad_targets(tmp_path, "page.html")[case]
    rc, out, err = call(capsys, "predict", "--html", str(target), SAMPLE)
    assert_one_line(rc, out, err, "--html", "cannot write")


@pytest.mark.parametrize("case", ["missing folder", "a folder", "below a file"])
def test_conv_output_to_a_bad_path(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = _bad_targets(tmp_path, "out.npy")[case]
    rc, out, err = call(
        capsys, "conv", "--size", "16x16", "--mask", "3", "--backend", "emulator", "--output", str(target)
    )
    assert_one_line(rc, out, err, "--output", "cannot write")


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(engine.atomic.os, "fsync", full)


def test_predict_html_on_a_full_disk_keeps_the_previous_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>last week's export</p>", encoding="utf-8")
    _full_disk(monkeypatch)
    rc, out, err = call(capsys, "predict", "--html", str(page), SAMPLE)
    assert_one_line(rc, out, err, "no space left on device")
    assert page.read_text(encoding="utf-8") == "<p>last week's export</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_conv_output_on_a_full_disk_keeps_the_previous_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.npy"
    np.save(target, np.arange(4.0))
    _full_disk(monkeypatch)
    rc, out, err = call(
        capsys, "conv", "--size", "16x16", "--mask", "3", "--backend", "emulator", "--output", str(target)
    )
    assert_one_line(rc, out, err, "no space left on device")
    assert np.load(target).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_conv_output_is_written_whole_and_gets_npy_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = call(
        capsys,
        "conv",
        "--size",
        "16x16",
        "--mask",
        "3",
        "--backend",
        "emulator",
        "--output",
        str(tmp_path / "result"),
    )
    assert rc == 0, err
    assert np.load(tmp_path / "result.npy").shape == (16, 16)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_predict_html_into_a_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        rc, out, err = call(capsys, "predict", "--html", str(folder / "page.html"), SAMPLE)
        assert_one_line(rc, out, err, "not writable")
    finally:
        folder.chmod(0o700)


def test_train_out_that_is_a_file(toy_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.write_text("a file", encoding="utf-8")
    rc, stdout, err = call(
        capsys, "train", "--data", str(toy_data), "--out", str(out), *TINY, "--epochs", "1"
    )
    assert_one_line(rc, stdout, err, "is a file")
    rc, stdout, err = call(
        capsys, "train", "--data", str(toy_data), "--out", str(out / "below"), *TINY, "--epochs", "1"
    )
    assert_one_line(rc, stdout, err, "cannot write")


@pytest.mark.parametrize("case", ["a file", "below a file"])
def test_train_cache_dir_that_cannot_be_a_folder(
    toy_data: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    cache = blocker if case == "a file" else blocker / "cache"
    rc, stdout, err = call(
        capsys,
        "train",
        "--data",
        str(toy_data),
        "--out",
        str(tmp_path / "out"),
        *TINY,
        "--epochs",
        "1",
        "--cache-dir",
        str(cache),
    )
    assert_one_line(rc, stdout, err, "cannot write")
    assert not (tmp_path / "out" / "model").exists()


def test_train_on_a_full_disk_is_one_line(
    toy_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _full_disk(monkeypatch)
    rc, stdout, err = call(
        capsys, "train", "--data", str(toy_data), "--out", str(tmp_path / "out"), *TINY, "--epochs", "1"
    )
    assert_one_line(rc, stdout, err, "no space left on device")
