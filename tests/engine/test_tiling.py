"""Tile geometry: coverage, load plans, ghosts, phases, sizes and validation (engine/tiling.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from engine.tiling import (
    MAX_CONSTANT_MASK,
    MAX_THREADS_PER_BLOCK,
    REGISTER_ROWS,
    SHARED_LIMIT_BYTES,
    SHARED_STRATEGIES,
    STRATEGIES,
    TileGeometry,
    geometry,
)

SIZES = [(1, 1), (37, 53), (17, 5), (50, 33)]  # none a multiple of the tiles below


def _cases() -> list[tuple[str, int, int, int, int]]:
    cases = []
    for strategy in STRATEGIES:
        tiles = (4, 8) if strategy == "register" else (5, 8)  # 5 < 7: a tile smaller than the mask
        for h, w in SIZES:
            for k in (1, 3, 7):
                cases.extend((strategy, h, w, k, t) for t in tiles)
    return cases


CASES = _cases()
IDS = [f"{s}-{h}x{w}-K{k}-T{t}" for s, h, w, k, t in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def geo(request: pytest.FixtureRequest) -> TileGeometry:
    strategy, h, w, k, t = request.param
    return geometry(h, w, k, strategy, t)


SHARED = [(case, name) for case, name in zip(CASES, IDS, strict=True) if case[0] in SHARED_STRATEGIES]


@pytest.fixture(params=[case for case, _ in SHARED], ids=[name for _, name in SHARED])
def shared_geo(request: pytest.FixtureRequest) -> TileGeometry:
    """The geometries of the strategies that fill shared memory."""
    strategy, h, w, k, t = request.param
    return geometry(h, w, k, strategy, t)


def _in_image(geo: TileGeometry, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (y >= 0) & (y < geo.height) & (x >= 0) & (x < geo.width)


def test_grid_and_origins(geo: TileGeometry) -> None:
    t = geo.tile[0]
    assert geo.grid == (math.ceil(geo.height / t), math.ceil(geo.width / t))
    assert geo.radius == (geo.mask_size - 1) // 2
    assert geo.input_shape() == (t + 2 * geo.radius, t + 2 * geo.radius)
    for by, bx in geo.blocks():
        assert geo.out_origin(by, bx) == (by * t, bx * t)
        assert geo.input_origin(by, bx) == (by * t - geo.radius, bx * t - geo.radius)
        rows, cols = geo.block_output(by, bx)
        assert (rows.start, rows.stop) == (by * t, min(by * t + t, geo.height))
        assert (cols.start, cols.stop) == (bx * t, min(bx * t + t, geo.width))


def test_every_output_is_written_by_exactly_one_thread(geo: TileGeometry) -> None:
    written = np.zeros((geo.height, geo.width), dtype=np.int64)
    per_thread = geo.outputs_per_thread[0] * geo.outputs_per_thread[1]
    for by, bx in geo.blocks():
        ty, tx, oy, ox = geo.thread_outputs(by, bx)
        assert all(a.dtype == np.int32 for a in (ty, tx, oy, ox))
        np.add.at(written, (oy, ox), 1)
        rows, cols = geo.block_output(by, bx)
        assert np.all((oy >= rows.start) & (oy < rows.stop) & (ox >= cols.start) & (ox < cols.stop))
        assert np.all((ty >= 0) & (ty < geo.block[0]) & (tx >= 0) & (tx < geo.block[1]))
        _, per = np.unique(ty * geo.block[1] + tx, return_counts=True)
        assert per.max() <= per_thread
    assert np.all(written == 1)


def test_thread_to_output_rule(geo: TileGeometry) -> None:
    """The rule each kernel uses to pick its outputs from its thread index."""
    for by, bx in geo.blocks():
        y0, x0 = geo.out_origin(by, bx)
        ty, tx, oy, ox = geo.thread_outputs(by, bx)
        if geo.strategy == "input_tile":  # only the inner T x T threads compute
            expected = (oy - y0 + geo.radius, ox - x0 + geo.radius)
            np.testing.assert_array_equal(np.stack([ty, tx]), np.stack(expected))
        elif geo.strategy == "register":  # REGISTER_ROWS outputs stacked in one column
            np.testing.assert_array_equal(ty, (oy - y0) // REGISTER_ROWS)
            np.testing.assert_array_equal(tx, ox - x0)
        else:
            np.testing.assert_array_equal(np.stack([ty, tx]), np.stack([oy - y0, ox - x0]))


def test_ghost_mask_is_the_input_tile_outside_the_image(geo: TileGeometry) -> None:
    for by, bx in geo.blocks():
        iy, ix = geo.input_origin(by, bx)
        ghost = geo.ghost_mask(by, bx)
        assert ghost.shape == geo.input_shape() and ghost.dtype == bool
        ys, xs = np.indices(ghost.shape)
        np.testing.assert_array_equal(ghost, ~_in_image(geo, ys + iy, xs + ix))


def test_load_plan_fills_every_slot_once(shared_geo: TileGeometry) -> None:
    geo = shared_geo
    rows, cols = geo.shared_tile
    for by, bx in geo.blocks():
        plan = geo.load_plan(by, bx)
        assert len(plan) == rows * cols
        filled = np.zeros(geo.shared_tile, dtype=np.int64)
        np.add.at(filled, (plan.smem_y, plan.smem_x), 1)
        assert np.all(filled == 1)
        np.testing.assert_array_equal(plan.ghost, ~_in_image(geo, plan.in_y, plan.in_x))


def test_load_plan_loads_each_in_image_element_of_the_tile_once(shared_geo: TileGeometry) -> None:
    """input/output_tile and register load the whole input tile; cached_halo only its interior."""
    geo = shared_geo
    for by, bx in geo.blocks():
        plan = geo.load_plan(by, bx)
        if geo.strategy == "cached_halo":
            (y0, x0), shape = geo.out_origin(by, bx), geo.tile
        else:
            (y0, x0), shape = geo.input_origin(by, bx), geo.input_shape()
        np.testing.assert_array_equal(plan.in_y - plan.smem_y, y0)
        np.testing.assert_array_equal(plan.in_x - plan.smem_x, x0)
        loaded = np.zeros((geo.height, geo.width), dtype=np.int64)
        real = ~plan.ghost
        np.add.at(loaded, (plan.in_y[real], plan.in_x[real]), 1)
        expected = np.zeros_like(loaded)
        expected[max(0, y0) : y0 + shape[0], max(0, x0) : x0 + shape[1]] = 1
        np.testing.assert_array_equal(loaded, expected)
        if geo.strategy != "cached_halo":
            ghost = np.zeros(shape, dtype=bool)
            ghost[plan.smem_y, plan.smem_x] = plan.ghost
            np.testing.assert_array_equal(ghost, geo.ghost_mask(by, bx))


def test_load_threads_and_phases(shared_geo: TileGeometry) -> None:
    geo = shared_geo
    plan = geo.load_plan(0, 0)
    for name in ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x"):
        assert getattr(plan, name).dtype == np.int32, name
    assert plan.ghost.dtype == bool
    assert np.all((plan.thread_y >= 0) & (plan.thread_y < geo.block[0]))
    assert np.all((plan.thread_x >= 0) & (plan.thread_x < geo.block[1]))
    slot = plan.smem_y * geo.shared_tile[1] + plan.smem_x
    thread = plan.thread_y * geo.block[1] + plan.thread_x
    threads = geo.block[0] * geo.block[1]
    np.testing.assert_array_equal(slot, plan.phase * threads + thread)  # s = phase * threads + t
    assert plan.phase.max() == geo.load_phases - 1 == math.ceil(len(plan) / threads) - 1
    assert len(set(zip(thread.tolist(), plan.phase.tolist(), strict=True))) == len(plan)  # one per round
    if geo.strategy in ("input_tile", "cached_halo"):  # one-shot: each thread loads its own slot
        assert geo.load_phases == 1 and np.all(plan.phase == 0)
        np.testing.assert_array_equal(
            np.stack([plan.thread_y, plan.thread_x]), np.stack([plan.smem_y, plan.smem_x])
        )


@pytest.mark.parametrize("strategy", ["naive", "constant"])
def test_global_strategies_have_no_shared_memory(strategy: str) -> None:
    geo = geometry(37, 53, 5, strategy, 8)
    assert geo.shared_tile == (0, 0) and geo.shared_bytes == 0 and geo.load_phases == 0
    plan = geo.load_plan(1, 2)
    assert len(plan) == 0 and plan.in_y.dtype == np.int32 and plan.ghost.dtype == bool
    assert geo.input_shape() == (12, 12)


@pytest.mark.parametrize(
    ("strategy", "tile", "block", "shared_tile", "per_thread", "phases"),
    [
        ("naive", 16, (16, 16), (0, 0), (1, 1), 0),
        ("constant", 16, (16, 16), (0, 0), (1, 1), 0),
        ("input_tile", 16, (20, 20), (20, 20), (1, 1), 1),
        ("output_tile", 16, (16, 16), (20, 20), (1, 1), 2),
        ("cached_halo", 16, (16, 16), (16, 16), (1, 1), 1),
        ("register", 32, (8, 32), (36, 36), (4, 1), 6),
    ],
)
def test_sizes_by_hand(
    strategy: str,
    tile: int,
    block: tuple[int, int],
    shared_tile: tuple[int, int],
    per_thread: tuple[int, int],
    phases: int,
) -> None:
    """A 100 x 77 image with a 5 x 5 mask (r = 2)."""
    geo = geometry(100, 77, 5, strategy, tile)
    assert geo.tile == (tile, tile) and geo.block == block and geo.shared_tile == shared_tile
    assert geo.shared_bytes == shared_tile[0] * shared_tile[1] * 4
    assert geo.outputs_per_thread == per_thread and geo.load_phases == phases
    assert geo.grid == ((7, 5) if tile == 16 else (4, 3))
    assert (geo.height, geo.width, geo.mask_size, geo.radius, geo.strategy) == (100, 77, 5, 2, strategy)


def test_edge_block_by_hand() -> None:
    """Block (6, 4) of a 100 x 77 image, tile 16, 5 x 5 mask: outputs rows 96..99, cols 64..76."""
    geo = geometry(100, 77, 5, "output_tile", 16)
    assert geo.block_output(6, 4) == (slice(96, 100), slice(64, 77))
    assert geo.input_origin(6, 4) == (94, 62)
    ghost = geo.ghost_mask(6, 4)
    assert not ghost[:6, :15].any() and ghost[6:, :].all() and ghost[:, 15:].all()
    ty, tx, oy, _ = geo.thread_outputs(6, 4)
    assert len(oy) == 4 * 13 and (ty.max(), tx.max()) == (3, 12)
    assert int(np.count_nonzero(~geo.load_plan(6, 4).ghost)) == 6 * 15


def test_limits_are_the_thread_and_shared_limits() -> None:
    assert geometry(8, 8, 5, "input_tile", 28).block == (32, 32)  # 32 * 32 = 1024 threads
    assert geometry(8, 8, 63, "output_tile", 32).shared_tile == (94, 94)  # tile smaller than mask: fine
    assert geometry(8, 8, 63, "output_tile", 1).load_phases == 63 * 63
    assert geometry(8, 8, 47, "register", 64).shared_bytes == 110 * 110 * 4 <= SHARED_LIMIT_BYTES
    assert geometry(8, 8, 1, "cached_halo", 32).block == (32, 32)
    assert MAX_THREADS_PER_BLOCK == 1024 and MAX_CONSTANT_MASK == 63


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10, 10, 3, "tiled"), r"unknown strategy 'tiled'; valid strategies are naive, constant, input_tile"),
        ((0, 10, 3), r"image is empty \(0x10\)"),
        ((10, 0, 3), r"image is empty \(10x0\)"),
        ((10, 10, 0), r"mask size must be at least 1, got 0"),
        ((10, 10, -3), r"mask size must be at least 1, got -3"),
        ((10, 10, 4), r"mask size must be odd"),
        ((10, 10, 65), r"mask size 65 is over the limit 63"),
        ((10, 10, 3, "output_tile", 0), r"tile must be at least 1, got 0"),
        (
            (10, 10, 3, "register", 18),
            r"tile must be a multiple of REGISTER_ROWS \(4\) for 'register', got 18",
        ),
        ((10, 10, 7, "input_tile", 28), r"needs 1156 threads per block \(34x34\); the limit is 1024"),
        ((10, 10, 3, "output_tile", 33), r"needs 1089 threads per block \(33x33\); the limit is 1024"),
        ((10, 10, 3, "naive", 40), r"needs 1600 threads per block"),
        ((10, 10, 3, "register", 68), r"needs 1156 threads per block \(17x68\)"),
        (
            (10, 10, 49, "register", 64),
            r"needs 50176 bytes of shared memory \(112x112 float32\); the limit is 49152",
        ),
    ],
)
def test_validation_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        geometry(*args)


@pytest.mark.parametrize("bad", [2.0, True, "8"])
def test_sizes_must_be_integers(bad: object) -> None:
    with pytest.raises(TypeError):
        geometry(10, 10, 3, "output_tile", bad)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted() -> None:
    geo = geometry(np.int64(20), np.int32(9), np.int64(3), "register", np.int64(8))
    assert geo.grid == (3, 2) and type(geo.height) is int


@pytest.mark.parametrize(
    "method", ["out_origin", "block_output", "input_origin", "ghost_mask", "load_plan", "thread_outputs"]
)
def test_blocks_outside_the_grid_are_refused(method: str) -> None:
    geo = geometry(20, 20, 3, "output_tile", 8)  # grid 3 x 3
    for by, bx in [(3, 0), (0, 3), (-1, 0)]:
        with pytest.raises(IndexError, match=r"outside the grid 3x3"):
            getattr(geo, method)(by, bx)


def test_geometry_and_plans_are_immutable() -> None:
    geo = geometry(20, 20, 3, "output_tile", 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        geo.tile = (4, 4)  # type: ignore[misc]
    assert geo == geometry(20, 20, 3, "output_tile", 8) and hash(geo) == hash(geometry(20, 20, 3, tile=8))
    plan = geo.load_plan(1, 1)
    for array in (plan.smem_y, plan.in_x, plan.ghost):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
