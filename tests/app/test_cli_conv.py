"""`han-explorer conv`: JSON report, output file, inputs, and bad parameters (CPU emulator)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate2d

from app.cli import main


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["conv", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "strategy",
    ["naive", "constant", "input_tile", "output_tile", "cached_halo", "register", "register2d", "tma"],
)
def test_conv_json_and_output_match_scipy(
    strategy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    image = rng.standard_normal((37, 53)).astype(np.float32)
    mask = rng.standard_normal((5, 5)).astype(np.float32)
    np.save(tmp_path / "in.npy", image)
    np.save(tmp_path / "mask.npy", mask)
    tile = "32" if strategy in ("register", "register2d", "tma") else "16"
    rc, out, err = call(
        capsys,
        "--input",
        str(tmp_path / "in.npy"),
        "--mask",
        str(tmp_path / "mask.npy"),
        "--strategy",
        strategy,
        "--tile",
        tile,
        "--backend",
        "emulator",
        "--output",
        str(tmp_path / "out.npy"),
        "--json",
    )
    assert rc == 0, err
    report = json.loads(out)
    assert report["strategy"] == strategy and report["backend"] == "emulator"
    assert report["image"] == [37, 53] and report["mask"] == 5
    assert report["grid"] == [-(-37 // report["tile"][0]), -(-53 // report["tile"][1])]
    assert report["counters"]["outputs"] == 37 * 53
    assert report["time_ms"] is None
    ref = correlate2d(image.astype(np.float64), mask.astype(np.float64), mode="same")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), ref, rtol=1e-5, atol=1e-5)


def test_conv_size_and_box_mask(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = call(capsys, "--size", "20x30", "--mask", "3", "--json")
    assert rc == 0
    report = json.loads(out)
    assert report["image"] == [20, 30] and report["shared_memory_bytes"] == 18 * 18 * 4


def test_conv_tma_reports_shared_memory_with_its_staging_tile(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = call(
        capsys, "--size", "20x30", "--mask", "5", "--strategy", "tma", "--backend", "emulator", "--json"
    )
    assert rc == 0, err
    report = json.loads(out)
    assert report["tile"] == [16, 128] and report["block"] == [4, 32]
    from engine.tiling import geometry

    geom = geometry(20, 30, 5, "tma", 16)
    # the engine's figure: the input tile, then the 16 x 128 output staging tile and the 8-byte mbarrier
    sh, sw = geom.shared_tile
    assert report["shared_memory_bytes"] == geom.shared_bytes >= sh * sw * 4 + 16 * 128 * 4 + 8


def test_conv_help_says_what_tma_needs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["conv", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "tma fills shared memory with one bulk tensor copy (TMA)" in text
    assert "compute capability 9.0+" in text
    assert "register2d and tma: the rows of a T x 128 tile" in text


def test_conv_image_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    Image.fromarray(np.arange(12 * 9, dtype=np.uint8).reshape(12, 9)).save(tmp_path / "a.png")
    rc, out, _ = call(capsys, "--image", str(tmp_path / "a.png"), "--mask", "3", "--json")
    assert rc == 0
    assert json.loads(out)["image"] == [12, 9]


def test_conv_integer_input_is_converted_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "i.npy", np.arange(20, dtype=np.int64).reshape(4, 5))
    rc, out, err = call(capsys, "--input", str(tmp_path / "i.npy"), "--mask", "3", "--json")
    assert rc == 0
    assert "int64" in err and json.loads(out)["notes"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--size", "10x10", "--mask", "4"], "odd"),
        (["--size", "10x10", "--mask", "65"], "63"),
        (["--size", "10x", "--mask", "3"], "--size"),
        (["--size", "10x10", "--mask", "3", "--strategy", "input_tile", "--tile", "40"], "thread"),
        (["--input", "missing.npy", "--mask", "3"], "no such file"),
        (["--size", "10x10", "--mask", "3", "--backend", "cuda"], "GPU"),
    ],
)
def test_conv_bad_parameters_are_one_line_exit_2(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.conv_cuda import cuda_available

    if "cuda" in args and cuda_available():
        pytest.skip("a GPU is present: --backend cuda is valid here")
    rc, out, err = call(capsys, *args)
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and words in err


def test_conv_refuses_non_2d(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 4), dtype=np.float32))
    rc, _, err = call(capsys, "--input", str(tmp_path / "x.npy"), "--mask", "3")
    assert rc == 2 and "2-D" in err
