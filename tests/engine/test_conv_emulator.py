"""The CPU emulation of the convolution kernels against scipy, its counters and load maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

from engine.conv_emulator import Counters, LoadMap, emulate, reference, validate_inputs
from engine.tiling import ALL_STRATEGIES, geometry

RTOL = ATOL = 1e-5


def _random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)


def _scipy(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The trusted answer: float64 cross-correlation with zero padding."""
    return correlate2d(image.astype(np.float64), mask.astype(np.float64), mode="same")


def _tiles(strategy: str) -> tuple[int, ...]:
    if strategy == "tensorcore":
        return (16, 32)  # multiples of the MMA's 16 rows
    return (8, 16, 32) if strategy in ("register", "register2d", "tma") else (8, 16)


@pytest.mark.parametrize("mask_size", [1, 3, 5, 7, 15])
@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (100, 77)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("strategy", "tile"), [(s, t) for s in ALL_STRATEGIES for t in _tiles(s)])
def test_emulate_matches_scipy(strategy: str, tile: int, shape: tuple[int, int], mask_size: int) -> None:
    image = _random(shape, seed=shape[0] * 1000 + mask_size)
    mask = _random((mask_size, mask_size), seed=mask_size)
    out, _, counters = emulate(image, mask, strategy, tile)
    assert out.dtype == np.float32 and out.shape == shape
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)
    assert counters.outputs == shape[0] * shape[1]


@pytest.mark.parametrize(
    ("strategy", "tile"), [("output_tile", 16), ("register", 32), ("register2d", 32), ("tma", 32)]
)
def test_emulate_matches_scipy_on_a_large_image(strategy: str, tile: int) -> None:
    """1000 x 777: 3,087 blocks of 16 x 16 (775 of 32 x 32, 224 of 32 x 128)."""
    image, mask = _random((1000, 777), seed=1), _random((7, 7), seed=2)
    out, _, counters = emulate(image, mask, strategy, tile)  # about 0.5 s on one core
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)
    assert counters.outputs == 1000 * 777


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (64, 9)])
@pytest.mark.parametrize("mask_size", [1, 5, 15])
def test_reference_matches_scipy(shape: tuple[int, int], mask_size: int) -> None:
    image, mask = _random(shape, seed=3), _random((mask_size, mask_size), seed=4)
    out = reference(image, mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _scipy(image, mask), rtol=RTOL, atol=ATOL)


# A 5 x 5 image, a 3 x 3 mask (r = 1) and tile 4: a 2 x 2 grid whose right and bottom blocks hold one
# row or column of outputs. Along one axis, outputs 0..4 have 2, 3, 3, 3, 2 in-image taps (13 in all,
# 169 in 2-D); a 6-wide input tile holds 5 in-image elements in the first block and 2 in the second
# (7, so 49 loads in 2-D); 4 blocks x 36 slots = 144 shared stores.
# cached_halo (4 x 4 shared tile): interior loads 4 + 1 per axis -> 25; taps inside the tile per axis
# 2, 3, 3, 2, 2 (12 -> 144 shared reads); in-image taps inside the tile 2, 3, 3, 2, 1 (11), so halo
# reads from global = 169 - 121 = 48 and mask reads = 144 + 48.
# register (block 1 x 4): each of the 16 threads reads its (4 + 2) x 3 window and does 4 * 9 multiply-adds,
# also the threads past the image edge (as the CUDA kernel does).
# register2d (tile 4 x 128, block 1 x 32, shared tile 6 x 136: 4 halo columns, r rounded up to 4): a 2 x 1
# grid; the shared tiles hold 5 x 5 and 2 x 5 in-image elements (35 loads) in 2 x 816 slots. Each of the
# 64 threads reads 6 rows of 3 float4 (12 floats) and does 4 x 4 x 9 multiply-adds.
# tma has register2d's tiles and sums, but its shared tile reaches 8 columns left and right (6 x 144): the
# same 35 loads, 2 x 864 slots written, and each thread skips one float4 and reads the same 3 per row.
# tensorcore (tile 16: one 16 x 64 block of 1 warp; shared tile 18 x 72: 4 halo columns each side, no
# bank padding as 64 + 8 is 8 mod 16): 25 loads into 1,296 slots, nothing else stored (each lane splits
# its fragments in registers; the split mask comes from global memory). Per mask row the warp reads
# 8 + 2 - 1 = 9 chunks, 4 floats a lane (3 x 9 x 32 x 4), and 2 steps x one 16-byte band record (4 words)
# a lane (3 x 2 x 32 x 4).
HAND = {
    "naive": Counters(169, 0, 169, 25, 0),
    "constant": Counters(169, 0, 169, 25, 0),
    "input_tile": Counters(49, 225, 225, 25, 144),
    "output_tile": Counters(49, 225, 225, 25, 144),
    "cached_halo": Counters(25 + 48, 144, 144 + 48, 25, 64),
    "register": Counters(49, 16 * 18, 16 * 36, 25, 144),
    "register2d": Counters(35, 64 * 6 * 12, 64 * 16 * 9, 25, 2 * 6 * 136),
    "tma": Counters(35, 64 * 6 * 12, 64 * 16 * 9, 25, 2 * 6 * 144),
    "tensorcore": Counters(25, 3 * 9 * 32 * 4, 3 * 2 * 32 * 4, 25, 18 * 72),
}


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_counters_by_hand(strategy: str) -> None:
    tile = 16 if strategy == "tensorcore" else 4
    _, _, counters = emulate(_random((5, 5), seed=5), np.ones((3, 3), np.float32), strategy, tile=tile)
    assert counters == HAND[strategy]
    assert counters.loads_per_output == HAND[strategy].global_loads / 25
    assert counters.reuse == HAND[strategy].shared_loads / max(1, HAND[strategy].shared_stores)


def test_counter_properties() -> None:
    c = Counters(global_loads=49, shared_loads=225, mask_loads=225, outputs=25, shared_stores=144)
    assert c.loads_per_output == pytest.approx(1.96) and c.reuse == pytest.approx(1.5625)
    assert Counters(10, 0, 10, 5).reuse == 0.0  # no shared memory: shared_stores defaults to 0
    assert c + c == Counters(98, 450, 450, 50, 288)


@pytest.mark.parametrize("strategy", ["input_tile", "output_tile", "register", "register2d", "tma"])
def test_global_loads_are_the_non_ghost_slots(strategy: str) -> None:
    image, mask = _random((37, 53), seed=6), _random((5, 5), seed=7)
    _, _, counters = emulate(image, mask, strategy, tile=8)
    geo = geometry(37, 53, 5, strategy, 8)
    plans = [geo.load_plan(by, bx) for by, bx in geo.blocks()]
    assert counters.global_loads == sum(int(np.count_nonzero(~p.ghost)) for p in plans)
    assert counters.shared_stores == sum(len(p) for p in plans)


def test_register_tiling_reads_less_shared_memory() -> None:
    """On a whole number of tiles a register thread reads (R + K - 1) * K values for R outputs."""
    image, mask = _random((64, 64), seed=8), _random((5, 5), seed=9)
    tiled = emulate(image, mask, "output_tile", 16)[2]
    register = emulate(image, mask, "register", 16)[2]
    assert tiled.shared_loads == 64 * 64 * 25
    assert register.shared_loads == 64 * 64 // 4 * (4 + 4) * 5
    assert register.mask_loads == tiled.mask_loads and register.global_loads == tiled.global_loads


def test_register2d_reads_each_shared_row_once_per_thread() -> None:
    """256 x 256 with K = 5 and tile 16: 32 blocks of 128 threads, each reading (4 + 4) rows of 3 float4."""
    image, mask = _random((256, 256), seed=8), _random((5, 5), seed=9)
    counters = emulate(image, mask, "register2d", 16)[2]
    threads = 256 * 256 // 16
    assert counters.shared_loads == threads * (4 + 4) * 12
    assert counters.mask_loads == 256 * 256 * 25
    assert counters.shared_stores == 16 * 2 * (16 + 4) * (128 + 8)
    # per output: 8 rows x 12 floats for 16 outputs = 6 shared reads, against 8 x 5 for 4 = 10 in register
    assert counters.shared_loads / counters.outputs == 6
    assert emulate(image, mask, "register", 16)[2].shared_loads / counters.outputs == 10


def test_load_map_of_an_interior_register2d_block_is_its_aligned_shared_tile_once() -> None:
    """Block (3, 1) of a 64 x 400 image, tile 8, K = 5: rows 22..33, columns 124..259 (4 halo columns)."""
    image, mask = _random((64, 400), seed=10), _random((5, 5), seed=11)
    _, load_map, _ = emulate(image, mask, "register2d", 8, record_blocks=[(3, 1)])
    expected = np.zeros((64, 400), dtype=np.int32)
    expected[3 * 8 - 2 : 4 * 8 + 2, 128 - 4 : 256 + 4] = 1
    np.testing.assert_array_equal(load_map.count, expected)
    plan = load_map.plans[(3, 1)]
    assert plan.in_x.min() % 4 == 0 and len(plan) == 12 * 136


@pytest.mark.parametrize("strategy", ["input_tile", "output_tile", "register"])
def test_load_map_of_an_interior_block_is_its_input_tile_once(strategy: str) -> None:
    image, mask = _random((64, 64), seed=10), _random((5, 5), seed=11)
    _, load_map, _ = emulate(image, mask, strategy, 8, record_blocks=[(3, 4), (3, 4)])
    assert isinstance(load_map, LoadMap) and load_map.blocks == ((3, 4),)
    assert load_map.count.dtype == np.int32 and load_map.count.shape == (64, 64)
    expected = np.zeros((64, 64), dtype=np.int32)
    expected[3 * 8 - 2 : 4 * 8 + 2, 4 * 8 - 2 : 5 * 8 + 2] = 1
    np.testing.assert_array_equal(load_map.count, expected)
    plan = load_map.plans[(3, 4)]
    np.testing.assert_array_equal(plan.in_y, geometry(64, 64, 5, strategy, 8).load_plan(3, 4).in_y)


def test_load_map_of_edge_blocks_counts_only_in_image_elements() -> None:
    image, mask = _random((37, 53), seed=12), _random((7, 7), seed=13)
    _, load_map, _ = emulate(image, mask, "output_tile", 16, record_blocks=[(2, 3), (0, 0)])
    assert load_map.blocks == ((2, 3), (0, 0)) and set(load_map.plans) == {(2, 3), (0, 0)}
    expected = np.zeros((37, 53), dtype=np.int32)
    expected[29:, 45:] += 1  # block (2, 3): input tile rows 29..50, cols 45..66
    expected[:19, :19] += 1  # block (0, 0): input tile rows -3..18
    np.testing.assert_array_equal(load_map.count, expected)


@pytest.mark.parametrize("strategy", ["naive", "constant"])
def test_load_map_of_global_strategies_counts_every_tap(strategy: str) -> None:
    """Each element is read once by every output of the block whose window covers it."""
    image, mask = _random((40, 40), seed=14), _random((5, 5), seed=15)
    _, load_map, _ = emulate(image, mask, strategy, 8, record_blocks=[(2, 1)])
    outputs = np.zeros((40, 40))
    outputs[16:24, 8:16] = 1
    expected = convolve2d(outputs, np.ones((5, 5)), mode="same").round().astype(np.int32)
    np.testing.assert_array_equal(load_map.count, expected)
    assert len(load_map.plans[(2, 1)]) == 0


def test_load_map_of_cached_halo_reads_the_halo_through_global_memory() -> None:
    image, mask = _random((40, 40), seed=16), _random((3, 3), seed=17)
    _, load_map, _ = emulate(image, mask, "cached_halo", 8, record_blocks=[(2, 2)])
    count = load_map.count
    np.testing.assert_array_equal(count[16:24, 16:24], 1)  # the block's own tile, loaded once
    assert count[15, 16] == 2 and count[15, 15] == 1 and count[15, 18] == 3  # halo: once per reader
    assert count.sum() - count[16:24, 16:24].sum() == 4 * (8 * 3 - 2) + 4


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_one_block_load_map_adds_up_to_global_loads(strategy: str) -> None:
    image, mask = _random((13, 11), seed=18), _random((5, 5), seed=19)
    _, load_map, counters = emulate(image, mask, strategy, 16, record_blocks=[(0, 0)])
    assert int(load_map.count.sum()) == counters.global_loads


def test_emulate_accepts_lists_and_converts() -> None:
    out, _, _ = emulate([[1, 2, 3], [4, 5, 6]], [[0, 0, 0], [0, 2, 0], [0, 0, 0]], "output_tile", 8)
    np.testing.assert_array_equal(out, np.array([[2, 4, 6], [8, 10, 12]], dtype=np.float32))


def test_nan_spreads_only_to_outputs_that_use_it() -> None:
    image = _random((20, 20), seed=20)
    image[10, 10] = np.nan
    out, _, _ = emulate(image, np.ones((3, 3), np.float32), "output_tile", 8)
    expected = np.zeros((20, 20), dtype=bool)
    expected[9:12, 9:12] = True
    np.testing.assert_array_equal(np.isnan(out), expected)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("tiled",), ValueError, r"unknown strategy 'tiled'"),
        (("output_tile", 8, [(5, 0)]), ValueError, r"record block \(5, 0\) is outside the grid 3x3"),
        (("output_tile", 8, [(0, -1)]), ValueError, r"outside the grid"),
        (("register", 6), ValueError, r"multiple of REGISTER_ROWS"),
        (("register2d", 6), ValueError, r"multiple of REGISTER_ROWS \(4\) for 'register2d'"),
    ],
)
def test_emulate_errors(args: tuple, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        emulate(_random((20, 20), seed=21), np.ones((3, 3), np.float32), *args)


@pytest.mark.parametrize(
    ("dtype", "notes"),
    [
        (np.float32, []),
        (np.float64, ["converted float64 input to float32"]),
        (np.int64, ["converted int64 input to float32"]),
        (np.uint8, ["converted uint8 input to float32"]),
        (np.bool_, ["converted bool input to float32"]),
    ],
)
def test_validate_inputs_converts_to_float32(dtype: type, notes: list[str]) -> None:
    image, mask, got = validate_inputs(np.ones((4, 6), dtype=dtype), np.ones((3, 3), np.float32))
    assert image.dtype == mask.dtype == np.float32 and got == notes
    np.testing.assert_array_equal(image, 1.0)


def test_validate_inputs_notes_about_the_mask_nan_and_overflow() -> None:
    image = np.full((3, 3), 1e300)
    image[0, 0] = np.nan
    fixed, mask, notes = validate_inputs(image, np.ones((1, 1), dtype=np.int64))
    assert notes == [
        "converted float64 input to float32",
        "the input had values beyond the float32 range; they became infinite",
        "the input holds 1 NaN value; it spreads to every output that uses it",
        "converted int64 mask to float32",
    ]
    assert np.isinf(fixed[1, 1]) and mask.dtype == np.float32


def test_validate_inputs_makes_contiguous_copies() -> None:
    base = _random((10, 10), seed=22)
    image, _, notes = validate_inputs(base[::2, ::3], np.ones((3, 3), np.float32))
    assert image.flags.c_contiguous and notes == []
    np.testing.assert_array_equal(image, base[::2, ::3])


@pytest.mark.parametrize(
    ("image", "mask", "message"),
    [
        (np.ones(5), np.ones((3, 3)), r"the input must be 2-D, got 1-D"),
        (np.ones((2, 3, 4)), np.ones((3, 3)), r"the input must be 2-D, got 3-D"),
        (np.ones((0, 4)), np.ones((3, 3)), r"the input is empty \(shape \(0, 4\)\)"),
        (np.ones((4, 4)), np.ones((0, 0)), r"the mask is empty"),
        (np.ones((4, 4)), np.ones(3), r"the mask must be 2-D"),
        (
            np.ones((4, 4), dtype=complex),
            np.ones((3, 3)),
            r"input must hold real numbers, got dtype complex128",
        ),
        (np.array([["a", "b"]]), np.ones((3, 3)), r"must hold real numbers"),
        (np.ones((4, 4)), np.ones((3, 5)), r"the mask must be square, got shape \(3, 5\)"),
        (np.ones((4, 4)), np.ones((4, 4)), r"the mask side must be odd"),
        (np.ones((4, 4)), np.ones((65, 65)), r"the mask side 65 is over the limit 63"),
    ],
)
def test_validate_inputs_errors(image: np.ndarray, mask: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_inputs(image, mask)
