"""Launch counters (against a full emulation) and the occupancy arithmetic (against hand values)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.conv_emulator import emulate
from engine.occupancy import CARDS, DEFAULT_CARD, launch_counters, occupancy
from engine.tiling import ALL_STRATEGIES, geometry

# (height, width, mask, tile): small grids (computed directly), grids just past the sampling
# threshold, a radius larger than the tile, sizes that are not multiples of the tile. The last two
# sample register2d's 128-column tiles too; in 37 x 1283 the last tile's 3 columns are fewer than its
# 4 padded halo columns, so the block before it also reaches past the image.
CASES = [
    (1, 1, 3, 16),
    (37, 53, 5, 8),
    (300, 211, 5, 16),
    (250, 97, 15, 4),
    (130, 301, 7, 32),
    (333, 64, 1, 8),
    (200, 190, 31, 8),
    (161, 161, 3, 16),
    (40, 1000, 5, 8),
    (37, 1283, 9, 4),
]


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@pytest.mark.parametrize(("height", "width", "mask", "tile"), CASES)
def test_launch_counters_equal_a_full_emulation(
    strategy: str, height: int, width: int, mask: int, tile: int
) -> None:
    try:
        geometry(height, width, mask, strategy, tile)
    except ValueError:
        pytest.skip(f"{strategy} does not take tile {tile} with mask {mask}")
    zeros = np.zeros((height, width), np.float32)
    expected = emulate(zeros, np.zeros((mask, mask), np.float32), strategy, tile)[2]
    assert launch_counters(height, width, mask, strategy, tile) == expected


def test_launch_counters_reject_what_geometry_rejects() -> None:
    with pytest.raises(ValueError, match="odd"):
        launch_counters(64, 64, 4, "output_tile", 16)


def test_launch_counters_of_a_large_image_are_quick_and_plausible() -> None:
    c = launch_counters(4096, 4096, 5, "output_tile", 16)
    assert c.outputs == 4096 * 4096
    assert c.shared_stores == 256 * 256 * 20 * 20  # every block fills its 20 x 20 tile
    assert c.shared_loads == 4096 * 4096 * 25
    # in-image loads: 20 x 20 per block minus the ghost halo along the four edges
    assert c.global_loads == 256 * 256 * 400 - 4 * 256 * 2 * 20 + 4 * 2 * 2


def test_occupancy_of_a_16x16_block_on_the_h200() -> None:
    occ = occupancy(geometry(4096, 4096, 5, "output_tile", 16))
    assert occ.card.name == DEFAULT_CARD
    assert occ.warps_per_block == 8
    assert occ.limits == {"warps": 8, "blocks": 32, "registers": 8, "shared memory": 86}
    assert occ.blocks_per_sm == 8 and occ.limiter == "warps"
    assert occ.occupancy == 1.0
    assert occ.waves == pytest.approx(65536 / (8 * 132))
    assert any("2,688 B per block" in line for line in occ.derivation)


def test_occupancy_of_register2d_on_the_h200() -> None:
    """4 x 32 threads (4 warps) over a 20 x 136 float tile: 10,880 B; 40 registers, as nvcc gave it."""
    occ = occupancy(geometry(8192, 8192, 5, "register2d", 16), registers_per_thread=40)
    assert occ.warps_per_block == 4
    # registers: 1,280 per warp -> 65,536 / (1,280 x 4) = 12; shared: 11,904 B -> 233,472 / 11,904 = 19
    assert occ.limits == {"warps": 16, "blocks": 32, "registers": 12, "shared memory": 19}
    assert occ.limiter == "registers" and occ.occupancy == 48 / 64
    assert occ.waves == pytest.approx(64 * 512 / (12 * 132))
    assert any("10,880 B + 1,024 B reserved → 11,904 B per block" in line for line in occ.derivation)


def test_shared_memory_and_registers_can_limit() -> None:
    big = geometry(1024, 1024, 31, "output_tile", 32)  # 62 x 62 floats = 15,376 B per block
    occ = occupancy(big, "NVIDIA T4", registers_per_thread=32)
    assert occ.limits["shared memory"] == 64 * 1024 // 15_488 == 4
    assert occ.limits["warps"] == 1 and occ.limiter == "warps"
    regs = occupancy(geometry(64, 64, 3, "naive", 16), registers_per_thread=255)
    # 255 registers -> 8,192 per warp (units of 256): 65,536 / (8,192 x 8 warps) = 1 block
    assert regs.limits["registers"] == 1 and regs.limiter == "registers"
    assert regs.occupancy == pytest.approx(8 / 64)


def test_no_shared_memory_no_shared_limit() -> None:
    occ = occupancy(geometry(64, 64, 3, "constant", 8), registers_per_thread=16)
    assert occ.limits["shared memory"] == occ.card.max_blocks_per_sm
    assert occ.warps_per_block == 2
    assert occ.limits["warps"] == 32 and occ.limiter == "warps"  # ties go to the first limit


def test_occupancy_rejects_bad_inputs() -> None:
    geom = geometry(64, 64, 3, "naive", 16)
    with pytest.raises(KeyError):
        occupancy(geom, "no such card")
    with pytest.raises(ValueError, match=r"1\.\.255"):
        occupancy(geom, registers_per_thread=0)
    assert set(CARDS) >= {"NVIDIA H200", "NVIDIA A100"}
