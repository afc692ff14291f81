"""The tensorcore strategy's MMA arithmetic: which input element lands in which fragment of which MMA.

kernels/conv2d.cu's ``conv_tensorcore`` computes the convolution with ``mma.sync`` on the tensor cores
(sm_80+): per product one ``m16n8k8`` MMA in TF32 and one ``m16n8k16`` MMA in BF16. One MMA is
``D (16 x 8) += A (16 x K) B (K x 8)``, spread over the 32 lanes of a warp; lane ``4 g + t`` holds
(PTX ISA, "Matrix fragments for mma.m16n8k8" .tf32 and "for mma.m16n8k16" .bf16):

==========  ==============================================================================
TF32 A      a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4)       (row, column)
TF32 B      b0 (t, g), b1 (t + 4, g)                                         (row, column)
BF16 A      a0 a1 (g, 2t | 2t + 1), a2 a3 (g + 8, ..), a4 a5 (g, 2t + 8 | 2t + 9), a6 a7 (g + 8, ..)
BF16 B      b0 b1 (2t | 2t + 1, g), b2 b3 (2t + 8 | 2t + 9, g)
C, D        c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1)
==========  ==============================================================================

Warp ``w`` of a block computes the 16 x 64 outputs at tile rows ``16 w``: eight MMA tiles (n-tiles
``u = 0..7``, 8 columns each). For mask row ``k``, n-tile ``u`` and step ``s``, A is 16 rows x 8 input
columns of the shared tile (chunk ``q = u + s``, rows ``row0 + k ..``, columns ``8q ..``) and B is the
banded (Toeplitz) slice of mask row ``k``: ``B[c, n] = M[k, 8s + c - n + d]``, 0 outside the mask,
``d`` = :func:`engine.tiling.tensorcore_offset`. Summing over ``k`` and ``s`` gives every output all
``K^2`` taps, each exactly once.

The split (:func:`split`): ``x = h + l`` with ``h = tf32(x)`` (round to nearest, ties away: the value
of ``cvt.rna``, which the kernel gets in two integer instructions, an add of ``2^12`` and a mask) and
``l = x - h`` (exact); the mask ``M = H + L`` likewise. Then
``x M ~ h H + (l H + x L)``: ``h H`` is the TF32 MMA (its products are exact in fp32), and the two
corrections, about ``2^-11`` of the product, go into one BF16 MMA whose K dimension holds the chunk's 8
columns twice, ``[l | x] . [H ; L]`` (every operand rounded to BF16, to nearest even). BF16's 8-bit
significand leaves the corrections about ``2^-20`` of the product off: relative L2 error ~7e-7 against
float64, where 3xTF32 (CUTLASS's fp32 emulation, three TF32 MMAs) gives ~1e-7 and fp32 FMA 1e-7..3e-7,
inside the 1e-5 every strategy is held to. A TF32 ``m16n8k8`` and a BF16 ``m16n8k16`` MMA take the
tensor cores the same time, so a product costs 2 MMA slots (``SPLIT_PASSES``), 3xTF32 three.

The MMA's K index is only summed over, so the kernel orders a chunk's 8 input columns to suit its
loads: TF32 ``kk = t`` is chunk column ``2t`` and ``kk = t + 4`` is ``2t + 1`` (:func:`chunk_column`);
BF16 ``k`` and ``k + 8`` (``k < 8``) are both chunk column ``k``, the ``l`` part and the ``x`` part
(:func:`bf16_source`). A lane's four inputs of a chunk, ``(g | g + 8, 2t | 2t + 1)``, then feed both
MMAs: two 8-byte loads, split in registers. B arrives as :func:`band_records`.

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
    tensorcore_band_row,
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
    "a16_fragment_layout",
    "a_fragment_layout",
    "a_sources",
    "b16_fragment_layout",
    "b_fragment_layout",
    "b_taps",
    "band_matrix",
    "band_records",
    "bf16_round",
    "bf16_source",
    "block_sums",
    "c_fragment_layout",
    "chunk_column",
    "mma_counts",
    "split",
    "tf32_round",
    "tf32_truncate",
    "warp_origin",
]

MMA_M, MMA_N, MMA_K = 16, 8, 8  # mma.sync.m16n8k8 (TF32); the BF16 MMA is m16n8k16: 2 x MMA_K
N_TILES = TENSOR_WARP_COLS // MMA_N  # MMA tiles side by side in one warp's output
SPLIT_PASSES = 2  # MMA slots per product: h H (TF32 m16n8k8) + [l | x] . [H ; L] (BF16 m16n8k16)
_RECORD_OFFSET = 7  # band record j = tap + 7 - d: lane 4g + t reads record 7 + 2t - g + 8s
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


def a16_fragment_layout() -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``, each ``(32, 8)`` int32: the BF16 A element (16 x 16) lane ``i`` holds in half
    ``a_j`` (``a0 a1`` share a register, low half first)."""
    g, t = (x[:, None] for x in _lanes())
    j = np.arange(8, dtype=np.int32)
    rows = g + np.where((j // 2) % 2 == 1, 8, 0).astype(np.int32)  # a2 a3, a6 a7: row g + 8
    cols = 2 * t + (j % 2) + np.where(j >= 4, 8, 0).astype(np.int32)  # a4..a7: columns + 8
    return rows, cols


def b16_fragment_layout() -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)``, each ``(32, 4)`` int32: the BF16 B element (16 x 8) lane ``i`` holds in half
    ``b_j``."""
    g, t = (x[:, None] for x in _lanes())
    j = np.arange(4, dtype=np.int32)
    return 2 * t + (j % 2) + np.where(j >= 2, 8, 0).astype(np.int32), np.broadcast_to(g, (_LANES, 4)).copy()


def bf16_source(k: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """``(chunk_column, part)`` that BF16 K index ``k`` (0..15) stands for: column ``k % 8``; part 0 is
    ``l`` (A) times ``H`` (B), part 1 is ``x`` (A) times ``L`` (B)."""
    k = np.asarray(k, dtype=np.int32)
    col: np.ndarray = k % 8
    part: np.ndarray = k // 8
    return col, part


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


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 rounded to BF16 (8 significant bits) to nearest, ties to even, as ``cvt.rn.bf16x2.f32``,
    returned as float32."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    finite = (bits & 0x7F800000) != 0x7F800000
    rounded = np.where(finite, (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000, bits & 0xFFFF0000)
    out: np.ndarray = rounded.astype(np.uint32).view(np.float32)
    out[np.isnan(np.asarray(x, dtype=np.float32))] = np.nan  # a NaN stays NaN (truncating could give inf)
    return out


def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(h, l)`` float32 as the kernel makes them: ``h = tf32(x)`` (``cvt.rna``'s value; the kernel adds
    ``2^12`` to the bits and clears the low 13), ``l = x - h`` (exact,
    not rounded: it is rounded to BF16 only as an MMA operand)."""
    x = np.asarray(x, dtype=np.float32)
    h = tf32_round(x)
    with np.errstate(invalid="ignore", over="ignore"):
        low: np.ndarray = x - h
    return h, low


def band_records(geom: TileGeometry, mask: np.ndarray) -> np.ndarray:
    """``(K, tensorcore_band_row(K), 4)`` uint32: the split mask as the kernel reads it.

    Record ``j`` of mask row ``k`` stands for tap ``l = j - 7 + d`` and holds ``H[l]``, ``H[l + 1]`` (TF32,
    as float32 bits: the TF32 MMA's ``b0``, ``b1``), ``bf16x2(H[l], H[l + 1])`` and
    ``bf16x2(L[l], L[l + 1])`` (the BF16 MMA's ``{b0, b1}`` and ``{b2, b3}``, low half first), zero
    outside the mask. Lane ``4g + t`` reads record ``7 + 2t - g + 8s`` at step ``s``: its taps
    ``8s + 2t - g + d`` and the next, as :func:`b_taps` says.
    """
    _check(geom)
    k_side = geom.mask_size
    m = np.asarray(mask, dtype=np.float32).reshape(k_side, k_side)
    row = tensorcore_band_row(k_side)
    pad = _RECORD_OFFSET - tensorcore_offset(k_side)  # record of tap 0
    padded = np.zeros((k_side, row + 1), np.float32)
    padded[:, pad : pad + k_side] = m
    h, low = split(padded)

    def bits16(v: np.ndarray) -> np.ndarray:
        return (bf16_round(v).view(np.uint32) >> 16).astype(np.uint32)

    rec = np.empty((k_side, row, 4), np.uint32)
    rec[..., 0] = h[:, :-1].view(np.uint32)
    rec[..., 1] = h[:, 1:].view(np.uint32)
    rec[..., 2] = bits16(h[:, :-1]) | (bits16(h[:, 1:]) << 16)
    rec[..., 3] = bits16(low[:, :-1]) | (bits16(low[:, 1:]) << 16)
    return rec


def block_sums(geom: TileGeometry, smem: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(T, 64)`` float64: the block's outputs from its filled shared tile, MMA by MMA.

    For every warp, mask row ``k`` and chunk ``q``, the TF32 A (``h``) and the BF16 A (``[l | x]``) are
    gathered lane by lane (:func:`a_sources`, :func:`a16_fragment_layout`) and the B matrices are
    unpacked from the lanes' :func:`band_records`; the products are the two MMAs of the split, with
    BF16 operands rounded as the kernel rounds them, summed in float64 (the GPU sums in fp32).
    """
    _check(geom)
    k_side, steps = geom.mask_size, tensorcore_steps(geom.mask_size)
    chunks = N_TILES + steps - 1
    a_rows, a_cols = a_fragment_layout()
    b_rows, b_cols = b_fragment_layout()
    a16_rows, a16_cols = a16_fragment_layout()
    b16_rows, b16_cols = b16_fragment_layout()
    rec = band_records(geom, mask)
    g, t = _lanes()
    # B[k, s] of both MMAs from the records each lane reads: TF32 (8 x 8) and BF16 (16 x 8)
    b32 = np.zeros((k_side, steps, MMA_K, MMA_N))
    b16 = np.zeros((k_side, steps, 2 * MMA_K, MMA_N))
    for s in range(steps):
        r = rec[:, _RECORD_OFFSET + 2 * t - g + MMA_K * s]  # (K, 32, 4)
        b32[:, s, b_rows, b_cols] = r[..., :2].view(np.float32)
        halves = np.stack([r[..., 2] & 0xFFFF, r[..., 2] >> 16, r[..., 3] & 0xFFFF, r[..., 3] >> 16], -1)
        b16[:, s, b16_rows, b16_cols] = (halves.astype(np.uint32) << 16).view(np.float32)
    x = smem.astype(np.float32)
    h, low = split(x)
    h64, l16, x16 = h.astype(np.float64), bf16_round(low).astype(np.float64), bf16_round(x).astype(np.float64)
    out = np.zeros(geom.tile)  # (T, 64)
    for warp in range(geom.block[0]):
        row0, col0 = warp_origin(geom, warp)
        acc = np.zeros((N_TILES, MMA_M, MMA_N))
        for k in range(k_side):
            ys, xs = a_sources(geom, warp, k, 0)  # (32, 4): TF32 A of chunk 0
            xs = xs[None] + (MMA_K * np.arange(chunks, dtype=np.int32))[:, None, None]
            ys = np.broadcast_to(ys, xs.shape)
            a32 = np.zeros((chunks, MMA_M, MMA_K))
            a32[:, a_rows, a_cols] = h64[ys, xs]  # (chunks, 32, 4) held -> (chunks, 16, 8)
            # BF16 A: column k16 -> chunk column k16 % 8, l part (k16 < 8) or x part
            col, part = bf16_source(a16_cols)
            ys16 = np.broadcast_to(row0 + k + a16_rows, (chunks, _LANES, 8))
            xs16 = (col0 + col)[None] + (MMA_K * np.arange(chunks, dtype=np.int32))[:, None, None]
            a16 = np.zeros((chunks, MMA_M, 2 * MMA_K))
            a16[:, a16_rows, a16_cols] = np.where(part == 0, l16[ys16, xs16], x16[ys16, xs16])
            for s in range(steps):
                qs = slice(s, s + N_TILES)  # n-tile u reads chunk u + s
                acc += a16[qs] @ b16[k, s] + a32[qs] @ b32[k, s]
        for u in range(N_TILES):
            c = col0 + MMA_N * u
            out[row0 : row0 + MMA_M, c : c + MMA_N] = acc[u]
    return out


@dataclass(frozen=True)
class MmaCounts:
    """Work of one tensorcore launch (every block, edge blocks computing their whole tile as on the GPU).

    mmas : mma.sync instructions (all warps; a TF32 m16n8k8 and a BF16 m16n8k16 per product)
    tensor_flops : what the tensor cores execute, band zeros included: ``2 * 16 * 8 * 8`` per TF32 MMA
        and ``2 * 16 * 8 * 16`` per BF16 MMA (which runs at twice TF32's FLOP rate: the same time)
    useful_flops : ``2 K^2`` per in-image output: the convolution's own multiply-adds
    steps : MMA steps (8 input columns) per mask row and MMA tile
    chunks : A fragments (4 floats a lane) each warp loads per mask row
    split_passes : MMA slots per product: 2 (TF32 + BF16 of equal time; 3xTF32 would be 3)
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
    products = blocks * geom.block[0] * geom.mask_size * N_TILES * steps  # one TF32 + one BF16 MMA each
    return MmaCounts(
        mmas=products * SPLIT_PASSES,
        tensor_flops=products * (2 * MMA_M * MMA_N * MMA_K + 2 * MMA_M * MMA_N * 2 * MMA_K),
        useful_flops=2 * geom.mask_size**2 * geom.height * geom.width,
        steps=steps,
        chunks=N_TILES + steps - 1,
        split_passes=SPLIT_PASSES,
        band_efficiency=geom.mask_size / (MMA_K * steps),
    )
