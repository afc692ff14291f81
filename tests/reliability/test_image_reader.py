"""One image and mask module for the CLI and the app (issue 13, item 8), with property tests.

The same PNG gives the same values in the engine, the app's module and ``han-explorer conv``
(grey levels in [0, 1] everywhere); ``--mask`` builds the app's masks; corrupted image and .npy
bytes never raise anything but a one-line ImageFileError.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conv_emulator import emulate
from engine.images import ImageFileError, make_mask, parse_mask, read_image, read_npy
from tests.reliability.helpers import call


@pytest.fixture
def png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "picture.png"
    rgb = np.random.default_rng(3).integers(0, 256, (21, 34, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_the_same_file_reads_the_same_everywhere(
    png: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = read_image(png)
    assert values.dtype == np.float32 and values.shape == (21, 34)
    assert values.min() >= 0.0 and values.max() <= 1.0
    try:
        from app import conv_controller
    except ImportError:  # no Qt here: the app's module cannot be imported
        pass
    else:  # the app opens images with the engine's reader, not one of its own
        assert conv_controller.read_image is read_image
    out = tmp_path / "out.npy"
    rc, _, err = call(
        capsys,
        "conv",
        "--image",
        str(png),
        "--mask",
        "gauss:5",
        "--backend",
        "emulator",
        "--output",
        str(out),
    )
    assert rc == 0, err
    expected = emulate(values, make_mask("Gaussian", 5), "output_tile", 16)[0]
    assert np.array_equal(np.load(out), expected)


@pytest.mark.parametrize(
    ("spec", "kind", "size"),
    [
        ("5", "box", 5),
        ("box:3", "box", 3),
        ("gauss:7", "Gaussian", 7),
        ("gaussian:3", "Gaussian", 3),
        ("sobel-x", "Sobel x", 3),
        ("sobel-y:5", "Sobel y", 5),
        ("sharpen:9", "sharpen", 9),
    ],
)
def test_mask_specs_build_the_apps_masks(spec: str, kind: str, size: int) -> None:
    assert np.array_equal(parse_mask(spec), make_mask(kind, size))


def test_mask_from_a_file(tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", np.eye(3, dtype=np.float32))
    assert np.array_equal(parse_mask(str(tmp_path / "m.npy")), np.eye(3))
    np.save(tmp_path / "big.npy", np.zeros((65, 65), np.float32))
    with pytest.raises(ImageFileError, match=r"--mask has 4,225 values .* at most 3,969"):
        parse_mask(str(tmp_path / "big.npy"))  # 63 x 63, refused from the header


def _png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png_bytes()


def _npy_bytes() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(30, dtype=np.float32).reshape(5, 6))
    return buf.getvalue()


NPY = _npy_bytes()


def _damaged(path: Path, data: bytes, cut: int, flips: list[tuple[int, int]]) -> Path:
    """``data`` cut to ``cut`` bytes with the bytes at some offsets changed, written to ``path``."""
    damaged = bytearray(data[:cut])
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    path.write_bytes(bytes(damaged))
    return path


def flips(size: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """Up to 4 (offset, new byte value) changes in a file of ``size`` bytes."""
    return st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(PNG)), flips=flips(len(PNG)))
def test_damaged_png_reads_or_is_refused_in_one_line(
    tmp_path: Path, cut: int, flips: list[tuple[int, int]]
) -> None:
    try:
        values = read_image(_damaged(tmp_path / "damaged.png", PNG, cut, flips))
    except ImageFileError as e:
        assert "\n" not in str(e)
    else:
        assert values.dtype == np.float32 and values.ndim == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(NPY)), flips=flips(len(NPY)))
def test_damaged_npy_reads_or_is_refused_in_one_line(
    tmp_path: Path, cut: int, flips: list[tuple[int, int]]
) -> None:
    try:
        values = read_npy(_damaged(tmp_path / "damaged.npy", NPY, cut, flips))
    except ImageFileError as e:
        assert "\n" not in str(e)
    else:
        assert values.dtype.kind in "biuf" and values.size <= 30
