"""What one convolution launch configuration costs: exact counters and an occupancy estimate.

:func:`launch_counters` (:func:`launch_counters_geometry` when the geometry is built) gives the
emulator's :class:`~engine.conv_emulator.Counters` for any image size in milliseconds. Emulating
a 4096 x 4096 image block by block takes tens of seconds, but a block's counts depend only on how
close it lies to the image's edges: every block at least ``q = ceil(r / T)`` tiles from the top
and whose input tile ends inside the image counts the same.
So the totals are bilinear in the number of block rows and block columns once both exceed
``2q + 3``, and four emulations of small images with the same remainders give them exactly.

:func:`occupancy` is the CUDA occupancy calculator's arithmetic for one block shape on one card:
resident blocks per SM are limited by warps, the block-count cap, registers and shared memory, and
each limit comes with the line of arithmetic that produced it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.conv_emulator import Counters, emulate_geometry
from engine.tiling import TileGeometry, geometry

__all__ = [
    "CARDS",
    "DEFAULT_CARD",
    "DEFAULT_REGISTERS",
    "Card",
    "Occupancy",
    "launch_counters",
    "launch_counters_geometry",
    "occupancy",
]

DEFAULT_REGISTERS = 32  # per thread, when no compiled kernel told us (our kernels use 18-32)
_WARP = 32


@dataclass(frozen=True)
class Card:
    """Per-SM limits of one GPU, as the CUDA occupancy calculator lists them for its architecture."""

    name: str
    arch: str  # compute capability, "sm_90"
    sms: int
    max_warps_per_sm: int
    max_blocks_per_sm: int
    registers_per_sm: int  # 32-bit registers
    shared_per_sm: int  # bytes, the largest shared-memory carveout
    shared_reserved_per_block: int  # bytes the runtime keeps per block (1 KiB from sm_80 on)
    register_unit: int = 256  # registers are allocated per warp in units of this many
    shared_unit: int = 128  # bytes; shared memory is allocated in units of this many


CARDS: dict[str, Card] = {
    c.name: c
    for c in (
        Card("NVIDIA H200", "sm_90", 132, 64, 32, 65536, 228 * 1024, 1024),
        Card("NVIDIA H100 SXM", "sm_90", 132, 64, 32, 65536, 228 * 1024, 1024),
        Card("NVIDIA A100", "sm_80", 108, 64, 32, 65536, 164 * 1024, 1024),
        Card("NVIDIA L40S", "sm_89", 142, 48, 24, 65536, 100 * 1024, 1024),
        Card("NVIDIA RTX 4090", "sm_89", 128, 48, 24, 65536, 100 * 1024, 1024),
        Card("NVIDIA T4", "sm_75", 40, 32, 16, 65536, 64 * 1024, 0),
        Card("NVIDIA V100", "sm_70", 80, 64, 32, 65536, 96 * 1024, 0),
    )
}
DEFAULT_CARD = "NVIDIA H200"


@dataclass(frozen=True)
class Occupancy:
    """Resident blocks and warps per SM for one launch on one card.

    limits : what each resource allows, ``{"warps": n, "blocks": n, "registers": n, "shared memory": n}``
    limiter : the key of ``limits`` that is smallest (the first such, in that order)
    derivation : one line of arithmetic per step, for people
    """

    card: Card
    blocks_per_sm: int
    warps_per_block: int
    active_warps: int
    occupancy: float  # active warps / the SM's maximum
    limits: dict[str, int]
    limiter: str
    waves: float  # grid blocks / (blocks per SM x SMs)
    derivation: tuple[str, ...]


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def occupancy(
    geom: TileGeometry, card: Card | str = DEFAULT_CARD, registers_per_thread: int = DEFAULT_REGISTERS
) -> Occupancy:
    """Occupancy of ``geom``'s launch on ``card`` when each thread uses ``registers_per_thread``.

    Raises
    ------
    KeyError
        An unknown card name.
    ValueError
        Registers per thread outside 1..255.
    """
    c = CARDS[card] if isinstance(card, str) else card
    if not 1 <= registers_per_thread <= 255:
        raise ValueError(f"registers per thread must be in 1..255, got {registers_per_thread}")
    threads = geom.threads_per_block
    warps = -(-threads // _WARP)
    lines = [f"block {geom.block[0]}×{geom.block[1]} = {threads} threads = {warps} warps (⌈{threads}/32⌉)"]
    by_warps = c.max_warps_per_sm // warps
    lines.append(f"warps: ⌊{c.max_warps_per_sm} warps per SM / {warps}⌋ = {by_warps} blocks")
    lines.append(f"blocks: at most {c.max_blocks_per_sm} resident blocks per SM on {c.arch}")
    regs_warp = _round_up(registers_per_thread * _WARP, c.register_unit)
    by_regs = c.registers_per_sm // (regs_warp * warps)
    lines.append(
        f"registers: {registers_per_thread} per thread → {regs_warp} per warp (units of "
        f"{c.register_unit}); ⌊{c.registers_per_sm:,} / ({regs_warp} × {warps})⌋ = {by_regs} blocks"
    )
    if geom.shared_bytes:
        per_block = _round_up(geom.shared_bytes + c.shared_reserved_per_block, c.shared_unit)
        by_shared = c.shared_per_sm // per_block
        lines.append(
            f"shared memory: {geom.shared_bytes:,} B + {c.shared_reserved_per_block:,} B reserved "
            f"→ {per_block:,} B per block; ⌊{c.shared_per_sm:,} / {per_block:,}⌋ = "
            f"{by_shared} blocks"
        )
    else:
        by_shared = c.max_blocks_per_sm
        lines.append("shared memory: none used, no limit")
    limits = {
        "warps": by_warps,
        "blocks": c.max_blocks_per_sm,
        "registers": by_regs,
        "shared memory": by_shared,
    }
    limiter = min(limits, key=limits.__getitem__)
    blocks = limits[limiter]
    active = blocks * warps
    grid_blocks = geom.grid[0] * geom.grid[1]
    waves = grid_blocks / (blocks * c.sms) if blocks else math.inf
    lines.append(
        f"resident: min = {blocks} blocks per SM ({limiter} limit) × {warps} warps = {active} of "
        f"{c.max_warps_per_sm} warps = {active / c.max_warps_per_sm:.0%} occupancy"
    )
    lines.append(f"grid: {grid_blocks:,} blocks / ({blocks} × {c.sms} SMs) = {waves:,.2f} waves")
    return Occupancy(
        c, blocks, warps, active, active / c.max_warps_per_sm, limits, limiter, waves, tuple(lines)
    )


def launch_counters(height: int, width: int, mask_size: int, strategy: str, tile: int = 16) -> Counters:
    """:func:`launch_counters_geometry` of :func:`engine.tiling.geometry`'s geometry for these sizes.

    Raises
    ------
    ValueError
        Whatever :func:`engine.tiling.geometry` rejects.
    """
    return launch_counters_geometry(geometry(height, width, mask_size, strategy, tile))


def launch_counters_geometry(geom: TileGeometry) -> Counters:
    """The :func:`~engine.conv_emulator.emulate` counters of ``geom``'s launch, without emulating all of it.

    Exact: equal to ``emulate_geometry(image, mask, geom)[2]`` for any image of ``geom``'s size,
    found from at most four emulations of images at most ``2q + 4`` tiles on a side.
    """
    q = -(-geom.radius // geom.tile[0])
    n0 = 2 * q + 3
    rows = _sample_sides(geom.height, geom.grid[0], geom.tile[0], n0)
    cols = _sample_sides(geom.width, geom.grid[1], geom.tile[1], n0)
    mask = np.zeros((geom.mask_size, geom.mask_size), np.float32)
    f = {
        (i, j): _fields(emulate_geometry(np.zeros((h, w), np.float32), mask, geom.resized(h, w))[2])
        for i, (_, h) in enumerate(rows)
        for j, (_, w) in enumerate(cols)
    }
    dn = geom.grid[0] - rows[0][0]  # block rows beyond the first sample (0 when it is exact)
    dm = geom.grid[1] - cols[0][0]
    per_row = _diff(f, (1, 0), (0, 0)) if len(rows) > 1 else (0,) * 5
    per_col = _diff(f, (0, 1), (0, 0)) if len(cols) > 1 else (0,) * 5
    both = (
        tuple(a - b - c + d for a, b, c, d in zip(f[1, 1], f[1, 0], f[0, 1], f[0, 0], strict=True))
        if len(rows) > 1 and len(cols) > 1
        else (0,) * 5
    )
    total = [
        base + dn * r + dm * c + dn * dm * x
        for base, r, c, x in zip(f[0, 0], per_row, per_col, both, strict=True)
    ]
    return Counters(*total)


def _sample_sides(size: int, blocks: int, tile: int, n0: int) -> list[tuple[int, int]]:
    """``[(blocks, side), ...]``: the image itself when small, else sides of n0 and n0 + 1 blocks."""
    if blocks <= n0 + 1:
        return [(blocks, size)]
    rest = size - (blocks - 1) * tile  # the last tile's rows, 1..tile
    return [(n, (n - 1) * tile + rest) for n in (n0, n0 + 1)]


def _fields(c: Counters) -> tuple[int, ...]:
    return c.global_loads, c.shared_loads, c.mask_loads, c.outputs, c.shared_stores


def _diff(
    f: dict[tuple[int, int], tuple[int, ...]], a: tuple[int, int], b: tuple[int, int]
) -> tuple[int, ...]:
    return tuple(x - y for x, y in zip(f[a], f[b], strict=True))
