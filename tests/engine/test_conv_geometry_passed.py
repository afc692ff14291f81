"""The convolution engine given a TileGeometry built once: emulate_geometry, emulate_in_bands,
launch_counters_geometry, TileGeometry.resized / check_inputs.

References: scipy's correlate2d (float64, zero padding) and the unbanded emulator; image sizes are
not multiples of the tile.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate2d

import engine.tiling
from engine.conv_emulator import emulate, emulate_geometry, emulate_in_bands
from engine.occupancy import launch_counters, launch_counters_geometry
from engine.steps import run_to_end
from engine.tiling import ALL_STRATEGIES, geometry

RTOL = ATOL = 1e-5


def _random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)


def _scipy(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return correlate2d(image.astype(np.float64), mask.astype(np.float64), mode="same")


def _tile(strategy: str) -> int:
    return 8 if strategy in ("register", "register2d", "tma") else 16 if strategy != "input_tile" else 8


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@pytest.mark.parametrize(("shape", "mask_size"), [((70, 53), 5), ((45, 131), 7), ((9, 9), 3), ((1, 1), 1)])
@pytest.mark.parametrize("band_rows", [1, 2, 100])
def test_banded_equals_unbanded_and_scipy(
    strategy: str, shape: tuple[int, int], mask_size: int, band_rows: int
) -> None:
    image, mask = _random(shape, 1), _random((mask_size, mask_size), 2)
    geom = geometry(*shape, mask_size, strategy, _tile(strategy))
    fractions: list[float] = []
    out = run_to_end(
        emulate_in_bands(image, mask, geom, band_pixels=band_rows * geom.tile[0] * geom.width),
        fractions.append,
    )
    whole = emulate_geometry(image, mask, geom)[0]
    np.testing.assert_array_equal(out, whole)  # the same arithmetic, band or not
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)
    assert out.dtype == np.float32 and out.shape == shape
    assert len(fractions) == -(-geom.grid[0] // band_rows)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_band_smaller_than_a_block_row_is_one_block_row() -> None:
    image, mask = _random((50, 40), 3), _random((9, 9), 4)
    geom = geometry(50, 40, 9, "output_tile", 16)  # radius 4, tile 16: halo of one block row
    fractions = []
    out = run_to_end(emulate_in_bands(image, mask, geom, band_pixels=1), fractions.append)
    assert fractions == pytest.approx([1 / 4, 2 / 4, 3 / 4, 1.0])
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)


def test_a_mask_wider_than_a_tile_reads_several_block_rows_of_halo() -> None:
    image, mask = _random((61, 30), 5), _random((15, 15), 6)
    geom = geometry(61, 30, 15, "naive", 4)  # radius 7 > tile 4: two block rows each side
    out = run_to_end(emulate_in_bands(image, mask, geom, band_pixels=4 * 30))
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)


def test_emulate_geometry_equals_emulate() -> None:
    image, mask = _random((37, 53), 7), _random((5, 5), 8)
    geom = geometry(37, 53, 5, "cached_halo", 16)
    a = emulate_geometry(image, mask, geom, record_blocks=[(1, 2)])
    b = emulate(image, mask, "cached_halo", 16, record_blocks=[(1, 2)])
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1].count, b[1].count)
    assert a[2] == b[2] and a[1].blocks == b[1].blocks == ((1, 2),)


@pytest.mark.parametrize(("shape", "mask_side"), [((36, 53), 5), ((37, 52), 5), ((37, 53), 3)])
def test_a_geometry_that_does_not_fit_the_arrays_is_refused(shape: tuple[int, int], mask_side: int) -> None:
    geom = geometry(37, 53, 5, "output_tile", 16)
    image, mask = _random(shape, 0), _random((mask_side, mask_side), 1)
    with pytest.raises(ValueError, match="the geometry is for a 37x53 image"):
        emulate_geometry(image, mask, geom)
    with pytest.raises(ValueError, match="the geometry is for a 37x53 image"):
        next(emulate_in_bands(image, mask, geom))


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_resized_is_the_geometry_of_the_other_size(strategy: str) -> None:
    geom = geometry(100, 300, 5, strategy, _tile(strategy))
    assert geom.resized(100, 300) is geom
    assert geom.resized(33, 17) == geometry(33, 17, 5, strategy, _tile(strategy))


@pytest.mark.parametrize("strategy", ["output_tile", "register2d"])
def test_launch_counters_geometry_equals_the_full_emulation(strategy: str) -> None:
    geom = geometry(203, 419, 7, strategy, 8)
    zeros = np.zeros((203, 419), np.float32)
    assert launch_counters_geometry(geom) == emulate_geometry(zeros, np.zeros((7, 7), np.float32), geom)[2]
    assert launch_counters(203, 419, 7, strategy, 8) == launch_counters_geometry(geom)


def test_passing_the_geometry_builds_none_for_the_full_image(monkeypatch: pytest.MonkeyPatch) -> None:
    geom = geometry(64, 64, 5, "output_tile", 16)
    sizes: list[tuple[int, int]] = []
    real = engine.tiling.geometry
    monkeypatch.setattr(engine.tiling, "geometry", lambda h, w, *a: sizes.append((h, w)) or real(h, w, *a))
    image, mask = _random((64, 64), 0), _random((5, 5), 1)
    emulate_geometry(image, mask, geom)
    run_to_end(emulate_in_bands(image, mask, geom, band_pixels=1 << 30))  # one band: the whole image
    launch_counters_geometry(geom)
    assert (64, 64) not in sizes


def test_run_cuda_geometry_refuses_a_geometry_for_other_arrays() -> None:
    """Checked before any GPU is touched, so this runs everywhere."""
    from engine.conv_cuda import run_cuda_geometry

    geom = geometry(37, 53, 5, "output_tile", 16)
    with pytest.raises(ValueError, match="the geometry is for a 37x53 image"):
        run_cuda_geometry(_random((38, 53), 0), _random((5, 5), 1), geom)
    with pytest.raises(ValueError, match="mask of side 5"):
        run_cuda_geometry(_random((37, 53), 0), _random((3, 3), 1), geom)


def _gpu() -> bool:
    from engine.conv_cuda import cuda_available

    return cuda_available()


@pytest.mark.cuda
@pytest.mark.skipif(not _gpu(), reason="no CUDA GPU here (PyCUDA, driver or GPU missing)")
@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_run_cuda_geometry_launches_as_run_cuda(strategy: str) -> None:
    from engine.conv_cuda import run_cuda, run_cuda_geometry

    image, mask = _random((133, 301), 2), _random((7, 7), 3)
    # tensorcore tiles are multiples of 16 (the MMA's rows)
    tile = 32 if strategy in ("register", "register2d", "tma", "tensorcore") else 8
    geom = geometry(133, 301, 7, strategy, tile)
    try:
        want = run_cuda(image, mask, strategy, tile, repeats=2)
    except ValueError as e:
        if "Tensor Memory Accelerator" in str(e):
            pytest.skip(str(e))  # tma on a GPU older than sm_90
        raise
    got = run_cuda_geometry(image, mask, geom, repeats=2)
    assert got.geometry == geom == want.geometry and got.kernel == want.kernel
    np.testing.assert_array_equal(got.output, want.output)
    np.testing.assert_allclose(got.output, _scipy(image, mask), rtol=RTOL, atol=ATOL)
