"""Display values of the tiles explorer's "Tensor cores" tab: one MMA's matrices and the roofline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MmaDisplay", "RooflineDisplay", "RooflinePoint"]


@dataclass(frozen=True, eq=False)
class MmaDisplay:
    """For one block, warp, mask row and input chunk of the tensorcore strategy.

    a_in_y, a_in_x : (16, 8) int32, the input element of A[m, kk] (may lie outside the image)
    a_ghost : (16, 8) bool, outside the image: the slot holds 0
    a_lane, a_reg : (16, 8) int32, which lane holds A[m, kk] and in which register a0..a3
    b_taps : (steps, 8, 8) int32, the mask column of B[kk, n] at each step (-1: a zero of the band)
    b_lane, b_reg : (8, 8) int32, which lane holds B[kk, n] (b0, b1)
    c_lane, c_reg : (16, 8) int32, which lane holds D[m, n] (c0..c3)
    kk_column : (8,) int32, the chunk column MMA index kk stands for
    serves : ((n-tile, step), ...) the MMAs this chunk feeds
    a16_lane, a16_reg : (16, 16) int32, which lane holds the BF16 MMA's A[m, k] (halves a0..a7); column k
        is the l part (k < 8) or the x part (k >= 8) of chunk column ``a16_column[k]``
    a16_column : (16,) int32, the chunk column of BF16 K index k
    a16_kk : (16,) int32, the TF32 A column (kk) holding the same input as BF16 column k
    """

    title: str
    a_in_y: np.ndarray
    a_in_x: np.ndarray
    a_ghost: np.ndarray
    a_lane: np.ndarray
    a_reg: np.ndarray
    b_taps: np.ndarray
    b_lane: np.ndarray
    b_reg: np.ndarray
    c_lane: np.ndarray
    c_reg: np.ndarray
    kk_column: np.ndarray
    serves: tuple[tuple[int, int], ...]
    warp: int
    chunk: int
    mask_row: int
    mask_size: int
    warps: int
    chunks: int
    text: str
    a16_lane: np.ndarray = field(default_factory=lambda: np.zeros((16, 16), np.int32))
    a16_reg: np.ndarray = field(default_factory=lambda: np.zeros((16, 16), np.int32))
    a16_column: np.ndarray = field(default_factory=lambda: np.zeros(16, np.int32))
    a16_kk: np.ndarray = field(default_factory=lambda: np.zeros(16, np.int32))


@dataclass(frozen=True)
class RooflinePoint:
    name: str
    intensity: float  # FLOP per DRAM byte
    tflops: float
    median_ms: float


@dataclass(frozen=True)
class RooflineDisplay:
    """Roofs (TFLOP/s; bandwidth in TB/s) and measured points for one card and mask."""

    card: str
    mask: int
    intensity: float
    fp32_tflops: float
    tf32_tflops: float | None
    tensorcore_tflops: float | None  # TF32 peak / 2 MMA slots x band efficiency
    bandwidth_tb_s: float
    points: tuple[RooflinePoint, ...]
    text: str
    measured_tensorcore_tflops: float | None = None  # the same from mma.sync's measured rate on the card
