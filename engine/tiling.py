"""Tile and halo geometry of the 2-D convolution kernels: the one source of truth.

``out[i, j] = sum_k sum_l M[k, l] * in[i - r + k, j - r + l]`` with ``r = (K - 1) // 2`` and zeros outside
the image (cross-correlation, as ``torch.nn.functional.conv2d`` computes). The CUDA launcher, the CPU
emulator (:mod:`engine.conv_emulator`) and the visualizer all take block sizes, grids, shared-tile
shapes, load plans and thread-to-output maps from :func:`geometry`, so they cannot disagree.

Sizes in, geometry out: nothing here touches image values. Shapes use ``(H, W)`` for the image,
``T`` for the tile side, ``K`` for the mask side, ``r`` for the radius and ``L`` for load-plan rows.

Strategies (tile ``T``, radius ``r``, ``S = T + 2r``, ``h`` / ``h8`` = r rounded up to a multiple of 4 / 8):

==============  ===================  =====================  =========================================
strategy        block (y, x)         shared tile            what each thread does
==============  ===================  =====================  =========================================
naive           (T, T)               none                   one output; mask in global memory
constant        (T, T)               none                   one output; mask in constant memory
input_tile      (S, S)               (S, S)                 loads one input element (its own index);
                                                            the inner T x T threads compute
output_tile     (T, T)               (S, S)                 loads slots ``phase*T*T + ty*T + tx``;
                                                            computes one output
cached_halo     (T, T)               (T, T)                 loads its own interior element; reads the
                                                            halo from global memory (the cache)
register        (T / 4, T)           (S, S)                 loads like output_tile; computes
                                                            ``REGISTER_ROWS`` outputs in one column
register2d      (T / 4, 32)          (S, 128 + 2h)          loads float4 groups: slots ``4g .. 4g+3``,
                                                            ``g = phase*threads + ty*32 + tx``;
                                                            computes a 4 x 4 block of outputs
tma             (T / 4, 32)          (S, 128 + 2h8)         thread (0, 0) fills the whole tile with one
                                                            bulk tensor copy (phase 0); computes as
                                                            register2d; outputs leave by tensor store
tensorcore      (T / 16, 32)         (S, 64 + 2h + p)       loads float4 groups as register2d; each
                                                            warp computes a 16 x 64 output tile with
                                                            tensor-core MMAs (TF32 + BF16 split)
==============  ===================  =====================  =========================================

register2d's output tile is ``T`` rows by ``REGISTER2D_WIDTH`` = 128 columns (one warp of 32 threads,
4 columns each), and its shared tile reaches ``h`` columns left and right of it, so every group of 4
slots starts at an input column that is a multiple of 4 (16-byte global loads). It is not in
``STRATEGIES``: those six have square tiles and load one slot per thread and round, the rules
tests/engine/test_tiling.py checks for each of them; ``ALL_STRATEGIES`` is every strategy
:func:`geometry` accepts.

tma (``BULK_STRATEGIES``) has register2d's tiles, block and sums, but the tile arrives through the
Tensor Memory Accelerator (compute capability 9.0+): one thread issues one 2-D tensor copy of the
whole shared tile, which the copy engine zero-fills where it lies outside the image, so the load plan
is every slot, thread (0, 0), phase 0. Its halo columns are r rounded up to 8 (``S x (128 + 2h8)``),
so each row of the copy starts on a 32-byte sector: on the H200 a copy whose rows start 16 bytes
before a sector boundary (r rounded up to 4) took 7% longer (bench/README.md). Its ``shared_bytes``
add the output staging tile the tensor store reads (``T x 128`` float32, after the shared tile rounded
up to 128 bytes) and the 8-byte barrier the copy signals.

tensorcore (``TENSOR_STRATEGIES``, compute capability 8.0+) computes on the tensor cores with
``mma.sync``, fp32 accuracy recovered by a split: each operand ``x`` becomes ``h = tf32(x)`` and
``l = x - h``, and every product is ``h H`` (one TF32 ``m16n8k8`` MMA) plus the corrections
``l H + x L`` in BF16 (one ``m16n8k16`` MMA), accumulated in fp32 (engine.conv_mma says why that is
fp32-accurate). Its output tile is ``T`` rows (a multiple of 16) by ``TENSOR_WIDTH`` = 64 columns;
warp ``w`` (``threadIdx.y``) computes rows ``16 w ..`` and all 64 columns: eight 16 x 8 MMA tiles
side by side. Per output row
the convolution is banded (Toeplitz) matrix products: for mask row ``k``,
``out[i, j0 + n] += sum_c in[i - r + k, c] B_k[c, n]`` with ``B_k[c, n] = M[k, c - n - j0 + r]`` (0
outside the mask), so the MMA's K dimension runs over 8 input columns at a time and its N dimension
over 8 output columns; ``tensorcore_steps(K)`` chunks of 8 input columns reach every tap of an 8-column
output tile (engine.conv_mma has the fragment arithmetic). Its shared tile is ``S x (64 + 2h + p)``:
halo columns ``h`` = r rounded up to 4 (float4 groups, as register2d) and ``p`` (0 or 8) more columns
on the right so that a row holds 8 mod 16 floats and a half-warp's 8-byte fragment loads hit 32
different banks. Its ``shared_bytes`` are that tile alone: each lane splits the four inputs of a
fragment in registers, and the split mask arrives from global memory as the band records of
:func:`engine.conv_mma.band_records` (``tensorcore_band_row(K)`` records of 16 bytes a mask row). Its
shared-memory limit is ``TENSOR_SHARED_LIMIT_BYTES`` (the launcher raises the kernel's dynamic
shared-memory limit past 48 KiB when needed). Its thread-output map is the MMA accumulator layout.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = [
    "ALL_STRATEGIES",
    "BULK_MIN_COMPUTE_CAPABILITY",
    "BULK_STRATEGIES",
    "MAX_CONSTANT_MASK",
    "MAX_THREADS_PER_BLOCK",
    "REGISTER2D_COLS",
    "REGISTER2D_WIDTH",
    "REGISTER_ROWS",
    "SHARED_LIMIT_BYTES",
    "SHARED_STRATEGIES",
    "STAGING_ALIGN_BYTES",
    "STRATEGIES",
    "TENSOR_MIN_COMPUTE_CAPABILITY",
    "TENSOR_SHARED_LIMIT_BYTES",
    "TENSOR_STRATEGIES",
    "TENSOR_WARP_COLS",
    "TENSOR_WARP_ROWS",
    "TENSOR_WIDTH",
    "VECTOR_STRATEGIES",
    "WIDE_STRATEGIES",
    "LoadPlan",
    "TileGeometry",
    "geometry",
    "halo_multiple",
    "tensorcore_band_row",
    "tensorcore_offset",
    "tensorcore_steps",
]

STRATEGIES = ("naive", "constant", "input_tile", "output_tile", "cached_halo", "register")
VECTOR_STRATEGIES = ("register2d",)  # T x 128 tiles, shared memory filled in float4 groups
BULK_STRATEGIES = ("tma",)  # T x 128 tiles, shared memory filled by one bulk tensor copy
WIDE_STRATEGIES = VECTOR_STRATEGIES + BULK_STRATEGIES  # T x 128 tiles, 4 x 4 outputs per thread
TENSOR_STRATEGIES = ("tensorcore",)  # T x 64 tiles computed by tensor-core MMAs (TF32 + BF16 split)
ALL_STRATEGIES = STRATEGIES + WIDE_STRATEGIES + TENSOR_STRATEGIES
SHARED_STRATEGIES = (  # fill shared memory
    "input_tile",
    "output_tile",
    "cached_halo",
    "register",
    *WIDE_STRATEGIES,
    *TENSOR_STRATEGIES,
)
MAX_CONSTANT_MASK = 63  # K*K*4 bytes must fit the 64 KiB constant bank: 63*63*4 = 15,876 B
MAX_THREADS_PER_BLOCK = 1024
SHARED_LIMIT_BYTES = 48 * 1024
REGISTER_ROWS = 4  # "register" and "register2d": output rows per thread
REGISTER2D_COLS = 4  # "register2d": output columns per thread, one float4 (16-byte loads and stores)
REGISTER2D_WIDTH = 32 * REGISTER2D_COLS  # "register2d" tile columns: one warp across the tile
_VECTOR = 4  # slots per load in VECTOR_STRATEGIES (one float4)
_SECTOR = 8  # floats in a 32-byte memory sector: tma's halo columns are a multiple of it
_FLOAT_BYTES = 4
_BARRIER_BYTES = 8  # tma: one mbarrier the tensor copy signals
STAGING_ALIGN_BYTES = 128  # tma: its output staging tile starts on a 128-byte boundary (tensor store source)
BULK_MIN_COMPUTE_CAPABILITY = (9, 0)  # tma: the Tensor Memory Accelerator came with Hopper (sm_90)
TENSOR_MIN_COMPUTE_CAPABILITY = (8, 0)  # tensorcore: mma.sync m16n8k8 TF32 came with Ampere (sm_80)
TENSOR_WARP_ROWS = 16  # tensorcore: output rows of one warp (the MMA's M)
TENSOR_WARP_COLS = 64  # tensorcore: output columns of one warp, eight MMA tiles of 8 (the MMA's N)
TENSOR_WIDTH = 64  # tensorcore: tile columns, one warp across
_MMA_K = 8  # tensorcore: input columns per MMA (the MMA's K)
TENSOR_SHARED_LIMIT_BYTES = 96 * 1024  # tensorcore: opted in past 48 KiB (sm_80: 163 KiB, sm_86: 99 KiB)


@dataclass(frozen=True, eq=False)
class LoadPlan:
    """One row per shared-memory slot a block fills, in load order (phase, then flat thread index).

    All arrays have shape ``(L,)``, are read-only, and are int32 except ``ghost`` (bool).

    thread_y, thread_x : which thread (threadIdx.y, threadIdx.x) does the load
    phase : load round (0 for one-shot loads)
    smem_y, smem_x : the slot in the shared tile
    in_y, in_x : the input element (may be outside the image)
    ghost : outside the image -> the slot gets 0 and there is no global load
    """

    thread_y: np.ndarray
    thread_x: np.ndarray
    phase: np.ndarray
    smem_y: np.ndarray
    smem_x: np.ndarray
    in_y: np.ndarray
    in_x: np.ndarray
    ghost: np.ndarray

    def __len__(self) -> int:
        return len(self.ghost)


@dataclass(frozen=True)
class TileGeometry:
    """How one strategy splits an ``(H, W)`` image into blocks; build it with :func:`geometry`.

    tile : output tile (rows, cols) one block computes
    block : threads per block (y, x)
    grid : blocks (y, x) = ceil(H / tile rows), ceil(W / tile cols)
    shared_tile : shared-memory tile (rows, cols); (0, 0) when the strategy uses none
    shared_bytes : float32 bytes of the shared tile
    outputs_per_thread : (rows, cols) of outputs one thread computes
    """

    height: int
    width: int
    mask_size: int
    radius: int
    strategy: str
    tile: tuple[int, int]
    block: tuple[int, int]
    grid: tuple[int, int]
    shared_tile: tuple[int, int]
    shared_bytes: int
    outputs_per_thread: tuple[int, int]

    @property
    def threads_per_block(self) -> int:
        return self.block[0] * self.block[1]

    @property
    def load_width(self) -> int:
        """Shared slots one thread fills per load: 4 (a float4) for register2d, the whole shared tile
        (one tensor copy) for tma, else 1."""
        if self.strategy in BULK_STRATEGIES:
            return self.shared_tile[0] * self.shared_tile[1]
        return _VECTOR if self.strategy in (*VECTOR_STRATEGIES, *TENSOR_STRATEGIES) else 1

    @property
    def halo_cols(self) -> int:
        """Shared-tile columns left (and right) of the output tile: r; r rounded up to 4 for register2d
        (16-byte groups); r rounded up to 8 for tma (each row of its tensor copy starts on a 32-byte
        sector)."""
        return _halo_cols(self.strategy, self.radius)

    @property
    def shared_parts(self) -> tuple[tuple[str, int], ...]:
        """``(what, bytes)`` of each piece of ``shared_bytes`` when it holds more than the shared tile
        (tma: ``input tile``, ``padding`` to a 128-byte boundary when needed, ``output staging tile``,
        ``mbarrier``); () for the other strategies (tensorcore's is its input tile alone)."""
        return _shared_parts(self.strategy, self.shared_tile, self.tile)

    @property
    def staging_tile(self) -> tuple[int, int]:
        """tma: the output tile (rows, cols) its outputs are staged in for the tensor store; else (0, 0)."""
        return self.tile if self.strategy in BULK_STRATEGIES else (0, 0)

    @property
    def load_phases(self) -> int:
        """Load rounds each thread runs to fill the shared tile (0 when there is none)."""
        slots = self.shared_tile[0] * self.shared_tile[1]
        return math.ceil(slots / (self.threads_per_block * self.load_width))

    def resized(self, height: int, width: int) -> TileGeometry:
        """The same strategy, mask and tile on an ``(height, width)`` image (a band, a sample)."""
        if (height, width) == (self.height, self.width):
            return self
        return geometry(height, width, self.mask_size, self.strategy, self.tile[0])

    def check_inputs(self, image_shape: tuple[int, ...], mask_side: int) -> None:
        """ValueError unless this geometry was built for an image of ``image_shape`` and a
        ``mask_side`` mask (a geometry passed down must describe the arrays it comes with)."""
        if tuple(image_shape) != (self.height, self.width) or mask_side != self.mask_size:
            raise ValueError(
                f"the geometry is for a {self.height}x{self.width} image and a mask of side "
                f"{self.mask_size}, not {'x'.join(map(str, image_shape))} and {mask_side}"
            )

    def blocks(self) -> list[tuple[int, int]]:
        """Every block index ``(by, bx)`` of the grid, row-major."""
        return [(by, bx) for by in range(self.grid[0]) for bx in range(self.grid[1])]

    def out_origin(self, by: int, bx: int) -> tuple[int, int]:
        """Image coordinates of the block's first output (its tile may run past the image)."""
        self._check_block(by, bx)
        return by * self.tile[0], bx * self.tile[1]

    def block_output(self, by: int, bx: int) -> tuple[slice, slice]:
        """Rows and columns of the image the block writes, clipped to the image."""
        y0, x0 = self.out_origin(by, bx)
        return slice(y0, min(y0 + self.tile[0], self.height)), slice(x0, min(x0 + self.tile[1], self.width))

    def input_origin(self, by: int, bx: int) -> tuple[int, int]:
        """Top-left of the block's input tile including the halo (may be negative)."""
        y0, x0 = self.out_origin(by, bx)
        return y0 - self.radius, x0 - self.radius

    def input_shape(self) -> tuple[int, int]:
        """``(rows + 2r, cols + 2r)`` of the tile: the input elements a block's outputs depend on."""
        return self.tile[0] + 2 * self.radius, self.tile[1] + 2 * self.radius

    def shared_origin(self, by: int, bx: int) -> tuple[int, int]:
        """Image coordinates of shared slot (0, 0): the input origin, the output origin for cached_halo,
        and ``halo_cols`` (r rounded up to 4, or 8) left of the output tile for register2d (tma)."""
        y0, x0 = self.out_origin(by, bx)
        if self.strategy == "cached_halo":
            return y0, x0
        return y0 - self.radius, x0 - self.halo_cols

    def ghost_mask(self, by: int, bx: int) -> np.ndarray:
        """:meth:`input_shape` bool over the input tile: True where it lies outside the image."""
        iy, ix = self.input_origin(by, bx)
        rows, cols = self.input_shape()
        ys = np.arange(iy, iy + rows)[:, None]
        xs = np.arange(ix, ix + cols)[None, :]
        return (ys < 0) | (ys >= self.height) | (xs < 0) | (xs >= self.width)  # (S, S)

    def load_plan(self, by: int, bx: int) -> LoadPlan:
        """The block's shared-memory loads; empty for naive and constant.

        Threads fill slots in flat order: in phase ``p`` thread ``t = ty * block_x + tx`` fills slot
        ``s = p * threads + t`` while ``s < slots``, at ``(smem_y, smem_x) = divmod(s, shared cols)``.
        For input_tile that is phase 0 with slot = the thread's own index; for cached_halo the slot is
        the thread's own interior element ``in[y0 + ty, x0 + tx]``. register2d loads ``load_width`` = 4
        slots at once: group ``g = p * threads + t`` is slots ``4g .. 4g + 3`` (one row per slot, the
        four rows share thread and phase), and its slot (0, 0) is :meth:`shared_origin`.
        """
        self._check_block(by, bx)
        thread_y, thread_x, phase, smem_y, smem_x = self._slots
        oy, ox = self.shared_origin(by, bx)
        in_y, in_x = smem_y + np.int32(oy), smem_x + np.int32(ox)
        ghost = (in_y < 0) | (in_y >= self.height) | (in_x < 0) | (in_x >= self.width)
        return LoadPlan(thread_y, thread_x, phase, smem_y, smem_x, *map(_frozen, (in_y, in_x, ghost)))

    def thread_outputs(self, by: int, bx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(thread_y, thread_x, out_y, out_x)``, each ``(N,)`` int32, for every in-image output.

        Rows follow the output tile row-major. input_tile's computing threads are the inner ones
        (``thread = output + r``); a register thread ``(ty, tx)`` writes rows ``ty * 4 .. ty * 4 + 3``;
        a register2d thread writes those rows in columns ``tx * 4 .. tx * 4 + 3``.
        """
        y0, x0 = self.out_origin(by, bx)
        ly, lx, ty, tx = self._tile_threads
        if y0 + self.tile[0] > self.height or x0 + self.tile[1] > self.width:  # edge block: clip
            keep = (ly < self.height - y0) & (lx < self.width - x0)
            ly, lx, ty, tx = ly[keep], lx[keep], ty[keep], tx[keep]
        return ty, tx, ly + np.int32(y0), lx + np.int32(x0)

    @cached_property
    def _slots(self) -> tuple[np.ndarray, ...]:
        """Block-independent load columns ``(thread_y, thread_x, phase, smem_y, smem_x)``, each ``(L,)``."""
        s = np.arange(self.shared_tile[0] * self.shared_tile[1], dtype=np.int32)  # (L,) flat slot
        phase, t = np.divmod(s // np.int32(self.load_width), np.int32(self.threads_per_block))
        thread_y, thread_x = np.divmod(t, np.int32(self.block[1]))
        smem_y, smem_x = np.divmod(s, np.int32(max(1, self.shared_tile[1])))
        return tuple(_frozen(a) for a in (thread_y, thread_x, phase, smem_y, smem_x))

    @cached_property
    def _tile_threads(self) -> tuple[np.ndarray, ...]:
        """``(local_y, local_x, thread_y, thread_x)`` of a full output tile, row-major, each ``(T*T,)``."""
        ly, lx = np.divmod(np.arange(self.tile[0] * self.tile[1], dtype=np.int32), np.int32(self.tile[1]))
        if self.strategy == "input_tile":
            ty, tx = ly + np.int32(self.radius), lx + np.int32(self.radius)
        elif self.strategy in ("register", *WIDE_STRATEGIES):
            rows, cols = self.outputs_per_thread
            ty, tx = ly // np.int32(rows), lx // np.int32(cols)
        elif self.strategy in TENSOR_STRATEGIES:  # the m16n8k8 accumulator: c0..c3 at (g | g+8, 2t | 2t+1)
            warps_x = np.int32(TENSOR_WIDTH // TENSOR_WARP_COLS)
            ty = ((ly // np.int32(TENSOR_WARP_ROWS)) * warps_x + lx // np.int32(TENSOR_WARP_COLS)).astype(
                np.int32
            )
            tx = ((ly % np.int32(8)) * np.int32(4) + (lx % np.int32(8)) // np.int32(2)).astype(np.int32)
        else:
            ty, tx = ly, lx
        return tuple(_frozen(a) for a in (ly, lx, ty, tx))

    def _check_block(self, by: int, bx: int) -> None:
        if not (0 <= by < self.grid[0] and 0 <= bx < self.grid[1]):
            raise IndexError(f"block ({by}, {bx}) is outside the grid {self.grid[0]}x{self.grid[1]}")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _as_int(name: str, value: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return operator.index(value)


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def halo_multiple(strategy: str) -> int:
    """What ``strategy`` rounds the radius up to for its halo columns: 8 (tma: 32-byte sectors), 4
    (register2d: 16-byte groups) or 1."""
    if strategy in BULK_STRATEGIES:
        return _SECTOR
    return _VECTOR if strategy in (*VECTOR_STRATEGIES, *TENSOR_STRATEGIES) else 1


def _halo_cols(strategy: str, radius: int) -> int:
    return _round_up(radius, halo_multiple(strategy))


def _shared_parts(strategy: str, shared_tile: _Pair, tile: _Pair) -> tuple[tuple[str, int], ...]:
    """tma's shared memory piece by piece (see :attr:`TileGeometry.shared_parts`); () for the others."""
    tile_bytes = shared_tile[0] * shared_tile[1] * _FLOAT_BYTES
    if strategy not in BULK_STRATEGIES:
        return ()
    parts = (
        ("input tile", tile_bytes),
        ("padding", -tile_bytes % STAGING_ALIGN_BYTES),
        ("output staging tile", tile[0] * tile[1] * _FLOAT_BYTES),
        ("mbarrier", _BARRIER_BYTES),
    )
    return tuple((what, n) for what, n in parts if n)


def _check_sizes(height: int, width: int, mask_size: int, strategy: str, tile: int) -> None:
    if strategy not in ALL_STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid strategies are {', '.join(ALL_STRATEGIES)}")
    if height < 1 or width < 1:
        raise ValueError(f"the image is empty ({height}x{width}); it needs at least 1x1 pixels")
    if mask_size < 1:
        raise ValueError(f"mask size must be at least 1, got {mask_size}")
    if mask_size % 2 == 0:
        raise ValueError(f"mask size must be odd (it has a centre), got {mask_size}")
    if mask_size > MAX_CONSTANT_MASK:
        raise ValueError(
            f"mask size {mask_size} is over the limit {MAX_CONSTANT_MASK}: a K x K float32 "
            f"mask must fit constant memory"
        )
    if tile < 1:
        raise ValueError(f"tile must be at least 1, got {tile}")
    if strategy in ("register", *WIDE_STRATEGIES) and tile % REGISTER_ROWS:
        raise ValueError(
            f"tile must be a multiple of REGISTER_ROWS ({REGISTER_ROWS}) for {strategy!r}, got {tile}"
        )
    if strategy in TENSOR_STRATEGIES and tile % TENSOR_WARP_ROWS:
        raise ValueError(
            f"tile must be a multiple of {TENSOR_WARP_ROWS} (the MMA's rows) for {strategy!r}, got {tile}"
        )


_Pair = tuple[int, int]


def _layout(strategy: str, tile: int, radius: int) -> tuple[_Pair, _Pair, _Pair, _Pair]:
    """``(tile, block, shared_tile, outputs_per_thread)`` of one strategy."""
    side = tile + 2 * radius
    square = (tile, tile)
    if strategy in ("naive", "constant"):
        return square, square, (0, 0), (1, 1)
    if strategy == "input_tile":
        return square, (side, side), (side, side), (1, 1)
    if strategy == "cached_halo":
        return square, square, square, (1, 1)
    if strategy == "register":
        return square, (tile // REGISTER_ROWS, tile), (side, side), (REGISTER_ROWS, 1)
    if strategy in WIDE_STRATEGIES:
        cols = REGISTER2D_WIDTH + 2 * _halo_cols(strategy, radius)
        return (
            (tile, REGISTER2D_WIDTH),
            (tile // REGISTER_ROWS, REGISTER2D_WIDTH // REGISTER2D_COLS),
            (side, cols),
            (REGISTER_ROWS, REGISTER2D_COLS),
        )
    if strategy in TENSOR_STRATEGIES:
        halo2 = 2 * _halo_cols(strategy, radius)
        cols = TENSOR_WIDTH + halo2 + (8 - halo2) % 16  # 8 mod 16 floats a row
        warps = (tile // TENSOR_WARP_ROWS) * (TENSOR_WIDTH // TENSOR_WARP_COLS)
        return (tile, TENSOR_WIDTH), (warps, 32), (side, cols), (2, 2 * TENSOR_WARP_COLS // _MMA_K)
    return square, square, (side, side), (1, 1)  # output_tile


def tensorcore_offset(mask_size: int) -> int:
    """tensorcore: ``d = r - h`` (``h`` = r rounded up to 4), so that tap ``l = 8s + c - n + d`` for input
    column ``c`` of MMA step ``s`` and output column ``n`` of an MMA tile (``-3 <= d <= 0``)."""
    radius = (mask_size - 1) // 2
    return radius - _halo_cols("tensorcore", radius)


def tensorcore_steps(mask_size: int) -> int:
    """tensorcore: MMA steps (chunks of 8 input columns) per mask row for one 16 x 8 output tile.

    Step ``s`` pairs output columns ``n = 0..7`` with input chunk ``s`` (columns ``c = 0..7``), taps
    ``l = 8s + c - n + d``; the last step with any tap ``l <= K - 1`` has ``8s - 7 + d <= K - 1``.
    """
    return (mask_size + 6 - tensorcore_offset(mask_size)) // _MMA_K + 1


def tensorcore_band_row(mask_size: int) -> int:
    """tensorcore: 16-byte band records per mask row (engine.conv_mma.band_records). Lane ``4g + t``
    reads record ``7 + 2t - g + 8s`` at step ``s``: at most ``8 steps + 5``, so ``8 steps + 8`` covers
    every read with the row a multiple of 8 records."""
    return _MMA_K * tensorcore_steps(mask_size) + _MMA_K


def geometry(
    height: int, width: int, mask_size: int, strategy: str = "output_tile", tile: int = 16
) -> TileGeometry:
    """Geometry of ``strategy`` on an ``(height, width)`` image with a ``mask_size`` square mask.

    Any tile >= 1 is accepted, even one smaller than the mask, as long as the block fits
    ``MAX_THREADS_PER_BLOCK`` threads and the shared tile ``SHARED_LIMIT_BYTES``. In practice:
    naive, constant, output_tile and cached_halo need ``T <= 32``; input_tile needs ``T + 2r <= 32``;
    register needs ``T`` a multiple of 4 with ``T <= 64``; output_tile and register need
    ``T + 2r <= 110`` (110 * 110 * 4 B <= 48 KiB). register2d's tile is ``T`` rows by 128 columns; it
    needs ``T`` a multiple of 4 and ``(T + 2r) * (128 + 2h) * 4 B <= 48 KiB``: T = 64 up to K = 17,
    T = 32 up to K = 41. tma's shared tile is ``(T + 2r) x (128 + 2 h8)`` plus the ``T * 128 * 4`` B
    staging tile: T = 32 up to K = 19, T = 16 up to K = 43. tensorcore needs ``T`` a multiple of 16;
    its two ``(T + 2r) x (64 + 2h + p)`` tiles and split mask fit 96 KiB with T = 64 up to K = 33.

    Raises
    ------
    ValueError
        Unknown strategy, empty image, mask size < 1, even or over ``MAX_CONSTANT_MASK``, tile < 1,
        register tile not a multiple of ``REGISTER_ROWS``, too many threads, too much shared memory.
    """
    height, width = _as_int("height", height), _as_int("width", width)
    mask_size, tile = _as_int("mask_size", mask_size), _as_int("tile", tile)
    _check_sizes(height, width, mask_size, strategy, tile)
    radius = (mask_size - 1) // 2
    tiles, block, shared_tile, per_thread = _layout(strategy, tile, radius)
    threads = block[0] * block[1]
    if threads > MAX_THREADS_PER_BLOCK:
        raise ValueError(
            f"{strategy!r} with tile {tile} and mask {mask_size} needs {threads} threads per "
            f"block ({block[0]}x{block[1]}); the limit is {MAX_THREADS_PER_BLOCK}"
        )
    parts = _shared_parts(strategy, shared_tile, tiles)
    shared_bytes = sum(n for _, n in parts) if parts else shared_tile[0] * shared_tile[1] * _FLOAT_BYTES
    limit = TENSOR_SHARED_LIMIT_BYTES if strategy in TENSOR_STRATEGIES else SHARED_LIMIT_BYTES
    if shared_bytes > limit:
        what = f"{shared_tile[0]}x{shared_tile[1]} float32"
        if strategy in BULK_STRATEGIES:
            what += f" and a {tiles[0]}x{tiles[1]} float32 staging tile for the tensor store"
        raise ValueError(
            f"{strategy!r} with tile {tile} and mask {mask_size} needs {shared_bytes} bytes of "
            f"shared memory ({what}); the limit is {limit}"
        )
    grid = (-(-height // tiles[0]), -(-width // tiles[1]))
    return TileGeometry(
        height, width, mask_size, radius, strategy, tiles, block, grid, shared_tile, shared_bytes, per_thread
    )
