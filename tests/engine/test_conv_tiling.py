"""register2d's geometry (engine/tiling.py): T x 128 tiles, 4 x 4 outputs per thread, float4 load groups.

tests/engine/test_tiling.py checks the six square-tile strategies of ``STRATEGIES``; the same properties
are checked here with register2d's own rules: every output is computed by exactly one thread, every
slot of the shared tile is filled once, in groups of 4 that start at input columns divisible by 4, and
the ghost slots are exactly those outside the image.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.tiling import (
    ALL_STRATEGIES,
    BULK_STRATEGIES,
    REGISTER2D_COLS,
    REGISTER2D_WIDTH,
    REGISTER_ROWS,
    SHARED_LIMIT_BYTES,
    SHARED_STRATEGIES,
    STRATEGIES,
    VECTOR_STRATEGIES,
    WIDE_STRATEGIES,
    TileGeometry,
    geometry,
)

# sizes that are not multiples of the tile, widths with and without a multiple of 4, one past 128 columns
SIZES = [(1, 1), (37, 53), (17, 132), (50, 300)]
CASES = [(h, w, k, t) for h, w in SIZES for k in (1, 3, 7, 9) for t in (4, 8)]


@pytest.fixture(params=CASES, ids=[f"{h}x{w}-K{k}-T{t}" for h, w, k, t in CASES])
def geo(request: pytest.FixtureRequest) -> TileGeometry:
    h, w, k, t = request.param
    return geometry(h, w, k, "register2d", t)


def test_strategy_lists() -> None:
    assert (*STRATEGIES, "register2d", "tma", "tensorcore") == ALL_STRATEGIES
    assert VECTOR_STRATEGIES == ("register2d",)
    assert BULK_STRATEGIES == ("tma",) and WIDE_STRATEGIES == ("register2d", "tma")
    assert {"register2d", "tma"} <= set(SHARED_STRATEGIES) and REGISTER2D_WIDTH == 32 * REGISTER2D_COLS == 128


@pytest.mark.parametrize(
    ("h", "w", "k", "t"), [(100, 300, 5, 32), (37, 53, 15, 16), (1, 1, 1, 4), (61, 132, 3, 8)]
)
def test_tma_is_register2d_filled_by_one_tensor_copy(h: int, w: int, k: int, t: int) -> None:
    """register2d's tiles, block and outputs; halo columns r rounded up to 8 (32-byte sectors); every slot
    is thread (0, 0)'s, phase 0, in flat order from the shared origin; shared_bytes add the 128-byte-aligned
    output staging tile and the 8-byte barrier."""
    tma, r2d = geometry(h, w, k, "tma", t), geometry(h, w, k, "register2d", t)
    for name in ("tile", "block", "grid", "outputs_per_thread"):
        assert getattr(tma, name) == getattr(r2d, name), name
    r = (k - 1) // 2
    assert tma.halo_cols == -(-r // 8) * 8 and tma.shared_tile == (t + 2 * r, 128 + 2 * tma.halo_cols)
    slots = tma.shared_tile[0] * tma.shared_tile[1]
    assert tma.load_width == slots and tma.load_phases == 1
    assert tma.shared_bytes == -(-slots * 4 // 128) * 128 + tma.tile[0] * tma.tile[1] * 4 + 8
    for block in tma.blocks():
        plan, (oy, ox) = tma.load_plan(*block), tma.shared_origin(*block)
        assert (oy, ox) == (tma.out_origin(*block)[0] - r, tma.out_origin(*block)[1] - tma.halo_cols)
        assert ox % 8 == 0  # each copy row: a 32-byte sector
        assert len(plan) == slots
        assert not plan.thread_y.any() and not plan.thread_x.any() and not plan.phase.any()
        sy, sx = np.divmod(np.arange(slots), tma.shared_tile[1])
        np.testing.assert_array_equal(plan.smem_y, sy)
        np.testing.assert_array_equal(plan.smem_x, sx)
        np.testing.assert_array_equal(plan.in_y, sy + oy)
        np.testing.assert_array_equal(plan.in_x, sx + ox)
        np.testing.assert_array_equal(
            plan.ghost, (plan.in_y < 0) | (plan.in_y >= h) | (plan.in_x < 0) | (plan.in_x >= w)
        )
        for x, y in zip(tma.thread_outputs(*block), r2d.thread_outputs(*block), strict=True):
            np.testing.assert_array_equal(x, y)


def test_sizes_by_hand() -> None:
    """A 100 x 300 image, K = 5 (r = 2, 4 halo columns), tile 32: 4 x 3 blocks of 8 x 32 threads."""
    geo = geometry(100, 300, 5, "register2d", 32)
    assert geo.tile == (32, 128) and geo.block == (8, 32) and geo.grid == (4, 3)
    assert geo.shared_tile == (36, 136) and geo.shared_bytes == 36 * 136 * 4
    assert geo.outputs_per_thread == (4, 4) and geo.load_width == 4 and geo.halo_cols == 4
    assert geo.load_phases == math.ceil(36 * 136 / (256 * 4)) == 5
    assert geo.input_origin(1, 2) == (30, 254) and geo.shared_origin(1, 2) == (30, 252)
    assert geo.input_shape() == (36, 132)
    assert geo.block_output(3, 2) == (slice(96, 100), slice(256, 300))
    assert geometry(8, 8, 15, "register2d", 64).halo_cols == 8
    assert geometry(8, 8, 1, "register2d", 4).shared_tile == (4, 128)


def test_grid_and_origins(geo: TileGeometry) -> None:
    rows, cols = geo.tile
    assert (rows, cols) == (geo.tile[0], REGISTER2D_WIDTH)
    assert geo.grid == (math.ceil(geo.height / rows), math.ceil(geo.width / cols))
    assert geo.block == (rows // REGISTER_ROWS, cols // REGISTER2D_COLS)
    assert geo.halo_cols % 4 == 0 and geo.radius <= geo.halo_cols < geo.radius + 4
    assert geo.shared_tile == (rows + 2 * geo.radius, cols + 2 * geo.halo_cols)
    for by, bx in geo.blocks():
        assert geo.out_origin(by, bx) == (by * rows, bx * cols)
        assert geo.shared_origin(by, bx) == (by * rows - geo.radius, bx * cols - geo.halo_cols)


def test_every_output_is_written_by_exactly_one_thread(geo: TileGeometry) -> None:
    written = np.zeros((geo.height, geo.width), dtype=np.int64)
    for by, bx in geo.blocks():
        ty, tx, oy, ox = geo.thread_outputs(by, bx)
        assert all(a.dtype == np.int32 for a in (ty, tx, oy, ox))
        np.add.at(written, (oy, ox), 1)
        y0, x0 = geo.out_origin(by, bx)
        np.testing.assert_array_equal(ty, (oy - y0) // REGISTER_ROWS)  # 4 rows ...
        np.testing.assert_array_equal(tx, (ox - x0) // REGISTER2D_COLS)  # ... by 4 columns per thread
        assert np.all((ty < geo.block[0]) & (tx < geo.block[1]))
    assert np.all(written == 1)


def test_load_plan_fills_every_slot_once_from_its_shared_origin(geo: TileGeometry) -> None:
    rows, cols = geo.shared_tile
    for by, bx in geo.blocks():
        plan = geo.load_plan(by, bx)
        assert len(plan) == rows * cols
        filled = np.zeros(geo.shared_tile, dtype=np.int64)
        np.add.at(filled, (plan.smem_y, plan.smem_x), 1)
        assert np.all(filled == 1)
        oy, ox = geo.shared_origin(by, bx)
        np.testing.assert_array_equal(plan.in_y - plan.smem_y, oy)
        np.testing.assert_array_equal(plan.in_x - plan.smem_x, ox)
        inside = (plan.in_y >= 0) & (plan.in_y < geo.height) & (plan.in_x >= 0) & (plan.in_x < geo.width)
        np.testing.assert_array_equal(plan.ghost, ~inside)
        loaded = np.zeros((geo.height, geo.width), dtype=np.int64)
        np.add.at(loaded, (plan.in_y[inside], plan.in_x[inside]), 1)
        expected = np.zeros_like(loaded)
        expected[max(0, oy) : oy + rows, max(0, ox) : ox + cols] = 1
        np.testing.assert_array_equal(loaded, expected)


def test_load_groups_are_four_aligned_slots_of_one_thread_and_phase(geo: TileGeometry) -> None:
    plan = geo.load_plan(geo.grid[0] - 1, geo.grid[1] - 1)
    slot = plan.smem_y * geo.shared_tile[1] + plan.smem_x
    thread = plan.thread_y * geo.block[1] + plan.thread_x
    np.testing.assert_array_equal(slot // 4, plan.phase * geo.threads_per_block + thread)  # g = p * T + t
    assert plan.phase.max() == geo.load_phases - 1
    groups = np.arange(len(plan)) // 4
    for name in ("thread_y", "thread_x", "phase", "smem_y", "in_y"):
        column = getattr(plan, name).reshape(-1, 4)  # (groups, 4)
        assert np.all(column == column[:, :1]), name  # one thread, phase and row
    first = plan.in_x[::4]
    assert np.all(first % 4 == 0)  # 16-byte aligned input column
    assert np.all(plan.in_x.reshape(-1, 4) - first[:, None] == np.arange(4))  # columns x .. x + 3
    if geo.width % 4 == 0:  # a group: all ghost or none
        ghost = plan.ghost.reshape(-1, 4)
        assert np.all(ghost == ghost[:, :1])
    assert len(np.unique(groups)) == math.ceil(len(plan) / 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (10, 10, 3, "register2d", 6),
            r"tile must be a multiple of REGISTER_ROWS \(4\) for 'register2d', got 6",
        ),
        ((10, 10, 3, "register2d", 132), r"needs 1056 threads per block \(33x32\)"),
        ((10, 10, 19, "register2d", 64), r"needs 49856 bytes of shared memory \(82x152 float32\)"),
        (
            (10, 10, 5, "tma", 64),
            r"needs 71944 bytes of shared memory \(68x144 float32 and a 64x128 float32 "
            r"staging tile for the tensor store\)",
        ),
        ((10, 10, 3, "tma", 10), r"tile must be a multiple of REGISTER_ROWS \(4\) for 'tma', got 10"),
    ],
)
def test_validation_errors(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        geometry(*args)


def test_largest_tiles_fit_shared_memory() -> None:
    assert geometry(8, 8, 17, "register2d", 64).shared_bytes == 80 * 144 * 4 <= SHARED_LIMIT_BYTES
    assert geometry(8, 8, 41, "register2d", 32).shared_bytes == 72 * 168 * 4 <= SHARED_LIMIT_BYTES
    assert geometry(8, 8, 19, "tma", 32).shared_bytes == 50 * 160 * 4 + 32 * 128 * 4 + 8 <= SHARED_LIMIT_BYTES
    assert geometry(8, 8, 43, "tma", 16).shared_bytes <= SHARED_LIMIT_BYTES
