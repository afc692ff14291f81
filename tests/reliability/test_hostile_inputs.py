"""Hostile input files (issue 13, items 9, 14, 18, 19): one line, exit 2, quickly and in little memory.

The size attacks (a mask of 100,000, a 32768 x 32768 image, a .npy header that promises 10^10
values, endless standard input) run as children capped at 4 GiB: before the fix they allocate
tens of GB or read forever; now they are refused before allocating anything.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

import resources
from tests.reliability.helpers import assert_one_line, call, run_cli

SAMPLE = str(resources.sample_texts()["rave"])


def test_unreadable_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import engine.textio

    review = tmp_path / "review.txt"
    review.write_text("A fine film.", encoding="utf-8")
    real = os.open

    def denied(path: object, flags: int, *args: object) -> int:
        if str(path) == str(review):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.textio.os, "open", denied)
    rc, out, err = call(capsys, "predict", str(review))
    assert_one_line(rc, out, err, "permission denied")


def test_review_that_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = call(capsys, "predict", str(tmp_path))
    assert_one_line(rc, out, err, "is a directory")


def test_review_from_a_fifo_without_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "review.fifo"
    os.mkfifo(fifo)
    proc = run_cli("predict", str(fifo), timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "empty")


@pytest.mark.parametrize("source", ["stdin", "file"])
def test_endless_input_is_refused(source: str) -> None:
    with open("/dev/zero", "rb") as zero:
        if source == "stdin":
            proc = run_cli("predict", "-", stdin=zero, timeout=60)
        else:
            proc = run_cli("predict", "/dev/zero", timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "MB")


def test_endless_text_on_stdin_is_refused() -> None:
    """``yes | han-explorer predict -``: text, not NULs, without end."""
    with subprocess.Popen(["yes", "a fine film"], stdout=subprocess.PIPE) as yes:
        try:
            proc = run_cli("predict", "-", stdin=yes.stdout, timeout=60)
        finally:
            yes.kill()
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "1,000,000")


def test_dataset_whose_first_line_has_a_bare_cr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(b"text,label\rA fine film,pos\rA dull film,neg\r")
    rc, out, err = call(capsys, "evaluate", "--data", str(data))
    assert_one_line(rc, out, err, "cannot detect the format")


def test_dataset_that_is_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)
    proc = run_cli("evaluate", "--data", str(fifo), timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "not a regular file")


def _png(path: Path, width: int, height: int, rows: bytes | None = None) -> Path:
    """A greyscale PNG whose header says ``width`` x ``height``; ``rows`` as the (compressed) data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if rows is None:
        rows = zlib.compress(b"\x00" * (width + 1) * min(height, 4))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


def test_truncated_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(full)
    cut = tmp_path / "cut.png"
    cut.write_bytes(full.read_bytes()[:300])
    rc, out, err = call(capsys, "conv", "--image", str(cut), "--mask", "3", "--backend", "emulator")
    assert_one_line(rc, out, err, "cut.png")


@pytest.mark.parametrize("side", [10_000, 20_000, 60_000])
def test_png_decompression_bomb_is_refused_without_warnings(tmp_path: Path, side: int) -> None:
    """10,000^2 makes Pillow warn, 20,000^2 makes it raise, 60,000 is past our side limit."""
    bomb = _png(tmp_path / "bomb.png", side, side)
    proc = run_cli("conv", "--image", str(bomb), "--mask", "3", "--backend", "emulator", timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "bomb.png")
    assert "Warning" not in proc.stderr


def test_npy_header_that_promises_ten_billion_values(tmp_path: Path) -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"
    header += " " * (64 - 10 - len(header) - 1) + "\n"
    path = tmp_path / "liar.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
    assert path.stat().st_size < 100  # 100 bytes that promise 40 GB
    proc = run_cli("conv", "--input", str(path), "--mask", "3", "--backend", "emulator", timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, "liar.npy")


def test_npy_shorter_than_its_header_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.npy"
    np.save(path, np.zeros((40, 40), np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    rc, out, err = call(capsys, "conv", "--input", str(path), "--mask", "3", "--backend", "emulator")
    assert_one_line(rc, out, err, "promises")


def test_npy_of_objects_is_never_unpickled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    rc, out, err = call(capsys, "conv", "--input", str(path), "--mask", "3", "--backend", "emulator")
    assert_one_line(rc, out, err, "real numbers")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--size", "64x64", "--mask", "100000"], ["63"]),
        (["--size", "64x64", "--mask", "gauss:100001"], ["63"]),
        (["--size", "32768x32768", "--mask", "3"], ["16,384"]),
        (["--size", "16384x16384", "--mask", "3"], ["67,108,864"]),
        (["--size", "0x10", "--mask", "3"], ["at least 1"]),
        (["--size", "64x64", "--mask", "blur:3"], ["unknown mask"]),
    ],
)
def test_sizes_are_checked_before_anything_is_allocated(args: list[str], words: list[str]) -> None:
    proc = run_cli("conv", *args, "--backend", "emulator", timeout=60)
    assert_one_line(proc.returncode, proc.stdout, proc.stderr, *words)


def test_unknown_labels_are_called_unknown_not_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"text": "A fine film.", "label": "pos"},
        {"text": "A dull film.", "label": "neg"},
        {"text": "So so.", "label": "meh"},
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    rc, out, err = call(capsys, "evaluate", "--data", str(data))
    assert rc == 0
    assert "label the model does not know ('meh')" in err and "malformed" not in err
    assert "on 2 documents" in out


def test_csv_field_over_131072_characters_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_review = "A fine film. " * 20_000  # 260,000 characters
    data = tmp_path / "d.csv"
    data.write_text(f'text,label\n"{long_review}",pos\nA dull film.,neg\n', encoding="utf-8")
    rc, out, err = call(capsys, "evaluate", "--data", str(data), "--json")
    assert rc == 0, err
    assert json.loads(out)["n"] == 2 and err == ""


def test_allocator_failures_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import engine.analyze

    def oom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:116] data. DefaultCPUAllocator: not enough "
            "memory: you tried to allocate 80000000000 bytes."
        )

    monkeypatch.setattr(engine.analyze, "score_documents", oom)
    rc, out, err = call(capsys, "predict", SAMPLE)
    assert_one_line(rc, out, err, "not enough memory")
    assert "alloc_cpu" not in err
