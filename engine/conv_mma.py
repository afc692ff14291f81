"""The tensorcore strategy's MMA arithmetic: which input element lands in which fragment of which MMA.

kernels/conv2d.cu's ``conv_tensorcore`` computes the convolution with ``mma.sync.m16n8k8`` in TF32
(sm_80+). One MMA is ``D (16 x 8) += A (16 x 8) B (8 x 8)``, spread over the 32 lanes of a warp; lane
``4 g + t`` holds (PTX ISA, "Matrix fragments for mma.m16n8k8", .tf32):

====  ==========================================================================
A     a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4)  (row, column)
B     b0 (t, g), b1 (t + 4, g)                                    (row, column)
C, D  c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1)
====  ==========================================================================

Warp ``w`` of a block computes the 16 x 32 outputs at tile rows ``16 (w // 2)`` and columns
``32 (w % 2)``: four MMA tiles (n-tiles ``u = 0..3``, 8 columns each). For mask row ``k``, n-tile
``u`` and step ``s``, A is 16 rows x 8 input columns of the shared tile (chunk ``q = u + s``, rows
``row0 + k ..``, columns ``col0 + 8q ..``) and B is the banded (Toeplitz) slice of mask row ``k``:
``B[c, n] = M[k, 8s + c - n + d]``, 0 outside the mask, ``d`` = :func:`engine.tiling.tensorcore_offset`.
Summing over ``k`` and ``s`` gives every output all ``K^2`` taps, each exactly once.

3xTF32: each operand is split into ``big = tf32(x)`` (round to nearest, ties away: ``cvt.rna``) and
``small = tf32(x - big)`` (``x - big`` is exact; rounded the same way); an MMA pass is run for
``a_small b_big``, ``a_big b_small`` and ``a_big b_big`` (``SPLIT_PASSES`` = 3), all accumulated in
fp32.

The MMA's K index ``kk`` is only summed over, so the kernel orders a chunk's 8 input columns to suit
its loads: ``kk = t`` is chunk column ``2t`` and ``kk = t + 4`` is ``2t + 1`` (:func:`chunk_column`),
which puts a lane's ``a0, a2`` (and ``a1, a3``) side by side in shared memory (one 8-byte load). A's
columns and B's rows follow the same order, so the product is unchanged.

Everything here is numpy and index arithmetic: the CPU emulator (:mod:`engine.conv_emulator`) computes
the strategy's outputs from these fragments, and the tiles explorer shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.tiling import (
    TENSOR_STRATEGIES,
    TENSOR_WARP_COLS,
    TENSOR_WARP_ROWS,
    TENSOR_WIDTH,
    TileGeometry,
    tensorcore_offset,
    tensorcore_steps,
)

__all__ = [
    "MMA_K",
    "MMA_M",
    "MMA_N",
    "N_TILES",
    "SPLIT_PASSES",
    "MmaCounts",
    "a_fragment_layout",
    "a_sources",
    "b_fragment_layout",
    "b_taps",
    "band_matrix",
    "block_sums",
    "c_fragment_layout",
    "chunk_column",
    "mma_counts",
    "split_tf32",
    "tf32_round",
    "tf32_truncate",
    "warp_origin",
]

MMA_M, MMA_N, MMA_K = 16, 8, 8  # mma.sync.m16n8k8
N_TILES = TENSOR_WARP_COLS // MMA_N  # MMA tiles side by side in one warp's output
SPLIT_PASSES = 3  # a_small b_big + a_big b_small + a_big b_big
_LANES = 32
_TF32_DROP = 13  # float32 mantissa bits a TF32 value lacks (23 - 10)


def _lanes() -> tuple[np.ndarray, np.ndarray]:
    lane = np.arange(_LANES, dtype=np.int32)
    return lane >> 2, lane & 3  # g (group), t (thread in group)


def a_fragment_layout() -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``, each ``(32, 4)`` int32: the A element lane ``i`` holds in register ``a_j``."""
    g, t = (x[:, None] for x in _lanes())
    half = np.array([0, 8, 0, 8], dtype=np.int32)  # a0..a3: rows g, g + 8, g, g + 8
    right = np.array([0, 0, 4, 4], dtype=np.int32)  # columns t, t, t + 4, t + 4
    return g + half, t + right


def b_fragment_layout() -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``, each ``(32, 2)`` int32: the B element lane ``i`` holds in register ``b_j``."""
    g, t = (x[:, None] for x in _lanes())
    return t + np.array([0, 4], dtype=np.int32), np.broadcast_to(g, (_LANES, 2)).copy()


def c_fragment_layout() -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``, each ``(32, 4)`` int32: the accumulator element lane ``i`` holds in ``c_j``."""
    g, t = (x[:, None] for x in _lanes())
    return g + np.array([0, 0, 8, 8], dtype=np.int32), 2 * t + np.array([0, 1, 0, 1], dtype=np.int32)


def chunk_column(kk: np.ndarray | int) -> np.ndarray:
    """The input column (0..7, within its chunk of 8) that MMA K index ``kk`` stands for: ``2 (kk % 4)
    + kk // 4`` (kk = t -> 2t, kk = t + 4 -> 2t + 1)."""
    kk = np.asarray(kk, dtype=np.int32)
    out: np.ndarray = 2 * (kk % 4) + kk // 4
    return out


def _check(geom: TileGeometry) -> None:
    if geom.strategy not in TENSOR_STRATEGIES:
        raise ValueError(
            f"MMA fragments exist for {', '.join(TENSOR_STRATEGIES)} only, not {geom.strategy!r}"
        )


def warp_origin(geom: TileGeometry, warp: int) -> tuple[int, int]:
    """``(row0, col0)``: warp ``warp``'s first output row and column in the block's tile (``col0`` is
    also its first shared column: the shared tile starts ``halo_cols`` left of the tile)."""
    _check(geom)
    if not 0 <= warp < geom.block[0]:
        raise IndexError(f"warp {warp} is outside the block's {geom.block[0]} warps")
    warps_x = TENSOR_WIDTH // TENSOR_WARP_COLS
    return (warp // warps_x) * TENSOR_WARP_ROWS, (warp % warps_x) * TENSOR_WARP_COLS


def a_sources(geom: TileGeometry, warp: int, k: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """``(smem_y, smem_x)``, each ``(32, 4)``: the shared slot lane ``i`` loads into ``a_j`` for mask row
    ``k`` and input chunk ``chunk`` (used by n-tile ``u`` at step ``chunk - u``)."""
    row0, col0 = warp_origin(geom, warp)
    if not 0 <= k < geom.mask_size:
        raise IndexError(f"mask row {k} is outside 0..{geom.mask_size - 1}")
    chunks = N_TILES + tensorcore_steps(geom.mask_size) - 1
    if not 0 <= chunk < chunks:
        raise IndexError(f"chunk {chunk} is outside 0..{chunks - 1}")
    rows, kk = a_fragment_layout()
    return rows + np.int32(row0 + k), chunk_column(kk) + np.int32(col0 + MMA_K * chunk)


def b_taps(geom: TileGeometry, k: int, step: int) -> np.ndarray:
    """``(32, 2)`` int32: the mask column (tap ``l`` of mask row ``k``) lane ``i`` holds in ``b_j`` at
    step ``step``; -1 where the band is zero (the tap lies outside the mask)."""
    _check(geom)
    steps = tensorcore_steps(geom.mask_size)
    if not 0 <= step < steps:
        raise IndexError(f"step {step} is outside 0..{steps - 1}")
    kk, n = b_fragment_layout()
    tap = MMA_K * step + chunk_column(kk) - n + np.int32(tensorcore_offset(geom.mask_size))
    return np.where((tap >= 0) & (tap < geom.mask_size), tap, -1).astype(np.int32)


def band_matrix(geom: TileGeometry, step: int) -> np.ndarray:
    """``(8, 8)`` int32: the tap ``l`` of ``B[kk, n]`` at step ``step`` (-1 = zero), for any mask row; row
    ``kk`` is chunk column :func:`chunk_column` ``(kk)``."""
    _check(geom)
    kk, n = np.meshgrid(np.arange(MMA_K), np.arange(MMA_N), indexing="ij")
    tap = MMA_K * step + chunk_column(kk) - n + tensorcore_offset(geom.mask_size)
    return np.where((tap >= 0) & (tap < geom.mask_size), tap, -1).astype(np.int32)


def tf32_round(x: np.ndarray) -> np.ndarray:
    """float32 rounded to TF32 (10 mantissa bits) to nearest, ties away from zero, as ``cvt.rna``."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    finite = (bits & np.uint32(0x7F800000)) != np.uint32(0x7F800000)
    half = np.uint32(1 << (_TF32_DROP - 1))
    keep = np.uint32(~((1 << _TF32_DROP) - 1) & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        rounded = (bits + np.where(finite, half, np.uint32(0))) & np.where(
            finite, keep, np.uint32(0xFFFFFFFF)
        )
    out: np.ndarray = rounded.astype(np.uint32).view(np.float32)
    return out


def tf32_truncate(x: np.ndarray) -> np.ndarray:
    """float32 with its 13 lowest mantissa bits cleared: the TF32 value an MMA reads from an fp32 register."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    out: np.ndarray = (bits & np.uint32(~((1 << _TF32_DROP) - 1) & 0xFFFFFFFF)).view(np.float32)
    return out


def split_tf32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(big, small)`` float32 as the kernel makes them: ``big = tf32(x)``, ``small = tf32(x - big)``
    (``x - big`` is exact), both rounded to nearest (``cvt.rna``)."""
    x = np.asarray(x, dtype=np.float32)
    big = tf32_round(x)
    with np.errstate(invalid="ignore", over="ignore"):
        small = tf32_round(x - big)
    return big, small


def block_sums(geom: TileGeometry, smem: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(T, 64)`` float64: the block's outputs from its filled shared tile, MMA by MMA.

    The tile is split once (as the kernel does in shared memory); for every warp, mask row ``k`` and
    chunk ``q``, A is gathered lane by lane (:func:`a_sources`) and B from :func:`b_taps`; the products
    are the three 3xTF32 passes of the split operands, summed in float64 (the GPU sums in fp32).
    """
    _check(geom)
    k_side, steps = geom.mask_size, tensorcore_steps(geom.mask_size)
    chunks = N_TILES + steps - 1
    a_rows, a_cols = a_fragment_layout()
    b_rows, b_cols = b_fragment_layout()
    m_big, m_small = (p.astype(np.float64) for p in split_tf32(mask.astype(np.float32)))
    # B[k, s, c, n] for both parts: every lane's two registers placed at their (row, col)
    b_big = np.zeros((k_side, steps, MMA_K, MMA_N))
    b_small = np.zeros_like(b_big)
    for s in range(steps):
        for k in range(k_side):
            taps = b_taps(geom, k, s)  # (32, 2)
            real = taps >= 0
            b_big[k, s, b_rows[real], b_cols[real]] = m_big[k, taps[real]]
            b_small[k, s, b_rows[real], b_cols[real]] = m_small[k, taps[real]]
    out = np.zeros(geom.tile)  # (T, 64)
    smem_big, smem_small = (p.astype(np.float64) for p in split_tf32(smem.astype(np.float32)))
    for warp in range(geom.block[0]):
        row0, col0 = warp_origin(geom, warp)
        acc = np.zeros((N_TILES, MMA_M, MMA_N))
        for k in range(k_side):
            # A[q, m, c] for every chunk, lane by lane: (chunks, 32, 4) slots -> (chunks, 16, 8)
            ys, xs = a_sources(geom, warp, k, 0)
            xs = xs[None] + (MMA_K * np.arange(chunks, dtype=np.int32))[:, None, None]
            ys = np.broadcast_to(ys, xs.shape)
            a_big = np.zeros((chunks, MMA_M, MMA_K))
            a_small = np.zeros_like(a_big)
            a_big[:, a_rows, a_cols] = smem_big[ys, xs]  # (chunks, 32, 4) held -> (chunks, 16, 8)
            a_small[:, a_rows, a_cols] = smem_small[ys, xs]
            for s in range(steps):
                qs = slice(s, s + N_TILES)  # n-tile u reads chunk u + s
                acc += a_small[qs] @ b_big[k, s] + a_big[qs] @ b_small[k, s] + a_big[qs] @ b_big[k, s]
        for u in range(N_TILES):
            c = col0 + MMA_N * u
            out[row0 : row0 + MMA_M, c : c + MMA_N] = acc[u]
    return out


@dataclass(frozen=True)
class MmaCounts:
    """Work of one tensorcore launch (every block, edge blocks computing their whole tile as on the GPU).

    mmas : mma.sync instructions (all warps, all three split passes)
    tensor_flops : ``2 * 16 * 8 * 8`` per MMA: what the tensor cores execute, band zeros included
    useful_flops : ``2 K^2`` per in-image output: the convolution's own multiply-adds
    steps : MMA steps (8 input columns) per mask row and MMA tile
    chunks : A fragments (big and small parts) each warp loads per mask row
    split_passes : 3 (3xTF32)
    band_efficiency : useful taps per MMA multiply: ``K / (8 steps)``
    """

    mmas: int
    tensor_flops: int
    useful_flops: int
    steps: int
    chunks: int
    split_passes: int
    band_efficiency: float


def mma_counts(geom: TileGeometry) -> MmaCounts:
    """The MMA work of ``geom``'s launch (see :class:`MmaCounts`)."""
    _check(geom)
    steps = tensorcore_steps(geom.mask_size)
    blocks = geom.grid[0] * geom.grid[1]
    mmas = blocks * geom.block[0] * geom.mask_size * N_TILES * steps * SPLIT_PASSES
    return MmaCounts(
        mmas=mmas,
        tensor_flops=mmas * 2 * MMA_M * MMA_N * MMA_K,
        useful_flops=2 * geom.mask_size**2 * geom.height * geom.width,
        steps=steps,
        chunks=N_TILES + steps - 1,
        split_passes=SPLIT_PASSES,
        band_efficiency=geom.mask_size / (MMA_K * steps),
    )
