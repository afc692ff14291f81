"""The convolution kernels' index arithmetic, executed on the CPU block by block.

For every block of :func:`engine.tiling.geometry` the emulator fills a shared tile from the block's
:class:`~engine.tiling.LoadPlan` (ghost slots get 0; slots no load writes stay NaN, as uninitialised
shared memory would be garbage), then computes each thread's outputs from shared memory (or global
memory for naive, constant and cached_halo's halo) with the indices the CUDA kernel uses,
vectorised over the threads of the block. Values are float32 in and out; sums accumulate in float64.

Counting rules (exact, per strategy), one count per element access:

- ``global_loads``: input reads from global memory. Shared-memory strategies: one per non-ghost load
  slot. naive/constant: one per in-image tap of every output (out-of-image taps are skipped).
  cached_halo: its non-ghost interior loads plus every in-image tap outside the block's tile.
- ``shared_loads``: shared-memory reads while computing. input_tile/output_tile: K*K per output.
  cached_halo: every tap inside the block's tile (ghost slots included: they hold 0).
  register: every thread of every block reads its ``(R + K - 1) x K`` window once, keeping the values
  in registers for its ``R = REGISTER_ROWS`` sums; like the CUDA kernel (kernels/conv2d.cu), threads
  whose outputs fall past the image edge still read and compute, and only the writes are skipped.
  register2d: every thread of every block reads, for each of its ``R + K - 1`` shared rows, the
  ``4 * Q`` floats of its 16-byte-aligned window (``Q`` float4 reads covering its ``4 + K - 1``
  columns; the kernel's ``WIN_Q``), for its ``R x 4`` sums; edge threads as for register.
- ``mask_loads``: one per multiply-add the kernel performs (register: ``R * K * K`` per thread;
  register2d: ``R * 4 * K * K`` per thread).
- ``shared_stores``: one per load-plan slot (ghost slots store 0). register2d's float4 groups count
  4 stores (and up to 4 global loads) each, so the counts stay per element for every strategy.
- tma computes as register2d and counts by the same rules. Its one tensor copy writes every slot of its
  wider tile (halo columns r rounded up to 8; the copy engine zero-fills ghost slots and reads nothing
  for them); the outputs it stages in shared memory for the tensor store are not counted (no strategy
  counts its output writes).
- tensorcore loads as register2d (float4 groups) and computes with MMAs (engine.conv_mma): every warp of
  every block (edge warps too) reads, per mask row, ``chunks`` A fragments of 4 floats per lane
  (``shared_loads``; each lane splits them in registers) and, per step, one 16-byte band record per lane
  (4 words: ``mask_loads``, from global memory through L1). ``shared_stores`` are the tile's slots.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from engine.tiling import (
    MAX_CONSTANT_MASK,
    LoadPlan,
    TileGeometry,
    geometry,
    tensorcore_steps,
)

__all__ = [
    "BAND_PIXELS",
    "Counters",
    "LoadMap",
    "emulate",
    "emulate_geometry",
    "emulate_in_bands",
    "reference",
    "validate_inputs",
]

BAND_PIXELS = 1 << 18  # output pixels per band of emulate_in_bands: a fraction of a second each


@dataclass(frozen=True)
class Counters:
    """Memory traffic of one emulated launch (see the module docstring for the counting rules)."""

    global_loads: int  # input elements read from global memory (ghost slots excluded)
    shared_loads: int  # reads from shared memory during compute
    mask_loads: int  # mask reads (global for naive, constant otherwise)
    outputs: int
    shared_stores: int = 0  # shared-memory slots written (ghost slots included)

    @property
    def loads_per_output(self) -> float:
        return self.global_loads / max(1, self.outputs)

    @property
    def reuse(self) -> float:
        """Shared reads per shared store: how often each loaded element is used."""
        return self.shared_loads / max(1, self.shared_stores)

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.global_loads + other.global_loads,
            self.shared_loads + other.shared_loads,
            self.mask_loads + other.mask_loads,
            self.outputs + other.outputs,
            self.shared_stores + other.shared_stores,
        )


@dataclass(frozen=True, eq=False)
class LoadMap:
    """Which block and thread loaded each input element, for chosen blocks.

    blocks : the recorded blocks ``(by, bx)``, duplicates dropped
    count : ``(H, W)`` int32, how many times these blocks read each input element from global memory
    plans : each recorded block's shared-memory loads (empty plans for naive and constant)
    """

    blocks: tuple[tuple[int, int], ...]
    count: np.ndarray
    plans: dict[tuple[int, int], LoadPlan] = field(default_factory=dict)


def validate_inputs(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(image, mask, notes)``: C-contiguous float32 copies and what was converted.

    NaN and infinity are allowed (they propagate, and a note says so).

    Raises
    ------
    ValueError
        Not 2-D, empty, not real numbers, a mask that is not square, has an even side or is larger
        than ``MAX_CONSTANT_MASK``.
    """
    notes: list[str] = []
    image = _as_float32("input", image, notes)
    mask = _as_float32("mask", mask, notes)
    if mask.shape[0] != mask.shape[1]:
        raise ValueError(f"the mask must be square, got shape {mask.shape}")
    if mask.shape[0] % 2 == 0:
        raise ValueError(f"the mask side must be odd (it has a centre), got {mask.shape[0]}")
    if mask.shape[0] > MAX_CONSTANT_MASK:
        raise ValueError(f"the mask side {mask.shape[0]} is over the limit {MAX_CONSTANT_MASK}")
    return image, mask, notes


def _as_float32(name: str, values: np.ndarray, notes: list[str]) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"the {name} must be 2-D, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"the {name} is empty (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"the {name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype != np.float32:
        notes.append(f"converted {arr.dtype} {name} to float32")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.dtype.kind == "f" and np.count_nonzero(np.isinf(out)) > np.count_nonzero(np.isinf(arr)):
        notes.append(f"the {name} had values beyond the float32 range; they became infinite")
    n_nan = int(np.count_nonzero(np.isnan(out)))
    if n_nan:
        plural = "s" if n_nan > 1 else ""
        notes.append(f"the {name} holds {n_nan} NaN value{plural}; it spreads to every output that uses it")
    return out


def reference(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32: the convolution by plain numpy, float64 sums, zeros outside the image."""
    img, msk, _ = validate_inputs(image, mask)
    h, w = img.shape
    k = msk.shape[0]
    r = (k - 1) // 2
    padded = np.pad(img.astype(np.float64), r)  # (H + 2r, W + 2r)
    out = np.zeros((h, w), dtype=np.float64)
    for dy in range(k):
        for dx in range(k):
            out += float(msk[dy, dx]) * padded[dy : dy + h, dx : dx + w]
    return out.astype(np.float32)


def emulate(
    image: np.ndarray,
    mask: np.ndarray,
    strategy: str,
    tile: int = 16,
    record_blocks: Sequence[tuple[int, int]] = (),
) -> tuple[np.ndarray, LoadMap, Counters]:
    """Run ``strategy``'s kernel on the CPU: ``(out (H, W) float32, load map, counters)``.

    ``record_blocks`` chooses the blocks whose global loads go into the :class:`LoadMap`. A caller
    that already holds the :class:`~engine.tiling.TileGeometry` passes it to :func:`emulate_geometry`.
    """
    img, msk, _ = validate_inputs(image, mask)
    geom = geometry(img.shape[0], img.shape[1], msk.shape[0], strategy, tile)
    return _emulate(img, msk, geom, record_blocks)


def emulate_geometry(
    image: np.ndarray, mask: np.ndarray, geom: TileGeometry, record_blocks: Sequence[tuple[int, int]] = ()
) -> tuple[np.ndarray, LoadMap, Counters]:
    """:func:`emulate` with the geometry already built (ValueError unless it fits the arrays)."""
    img, msk, _ = validate_inputs(image, mask)
    geom.check_inputs(img.shape, msk.shape[0])
    return _emulate(img, msk, geom, record_blocks)


def _emulate(
    img: np.ndarray, msk: np.ndarray, geom: TileGeometry, record_blocks: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, LoadMap, Counters]:
    """The emulation of checked float32 arrays that ``geom`` fits."""
    recorded = _recorded(geom, record_blocks)
    run = _Run(geom, img.astype(np.float64), msk.astype(np.float64).ravel(), np.zeros(img.shape, np.int32))
    out = np.full(img.shape, np.nan, dtype=np.float32)
    total = Counters(0, 0, 0, 0)
    plans: dict[tuple[int, int], LoadPlan] = {}
    for by, bx in geom.blocks():
        record = (by, bx) in recorded
        oy, ox, values, counters, plan = _KERNELS[geom.strategy](run, by, bx, record)
        out[oy, ox] = values
        total += counters
        if record:
            plans[(by, bx)] = plan
    return out, LoadMap(tuple(recorded), run.count, plans), total


def emulate_in_bands(
    image: np.ndarray, mask: np.ndarray, geom: TileGeometry, band_pixels: int = BAND_PIXELS
) -> Generator[float, None, np.ndarray]:
    """The emulator's output ``(H, W)`` float32, a band of block rows at a time; yields the fraction done.

    Each band is emulated on the rows it needs: its own blocks plus ``q = ceil(r / T)`` block rows
    above and below, cut at block boundaries, so the band's blocks see the same grid, the same input
    and the same index arithmetic as in one :func:`emulate_geometry` call; the output is the same.
    A band holds about ``band_pixels`` output pixels (at least one block row), so a caller can show
    progress and stop between bands.
    """
    img, msk, _ = validate_inputs(image, mask)
    geom.check_inputs(img.shape, msk.shape[0])
    t, h = geom.tile[0], geom.height
    q = -(-geom.radius // t)  # block rows of halo above and below
    per_band = max(1, band_pixels // (t * geom.width))
    out = np.empty(img.shape, np.float32)  # (H, W)
    for b0 in range(0, geom.grid[0], per_band):
        b1 = min(geom.grid[0], b0 + per_band)
        c0, c1 = max(0, b0 - q) * t, min(h, (b1 + q) * t)  # input rows the band's blocks read
        part = _emulate(img[c0:c1], msk, geom.resized(c1 - c0, geom.width), ())[0]
        out[b0 * t : min(b1 * t, h)] = part[b0 * t - c0 : min(b1 * t, h) - c0]
        yield b1 / geom.grid[0]
    return out


def _recorded(geo: TileGeometry, blocks: Sequence[tuple[int, int]]) -> dict[tuple[int, int], None]:
    chosen = {(int(by), int(bx)): None for by, bx in blocks}
    for by, bx in chosen:
        if not (0 <= by < geo.grid[0] and 0 <= bx < geo.grid[1]):
            raise ValueError(f"record block ({by}, {bx}) is outside the grid {geo.grid[0]}x{geo.grid[1]}")
    return chosen


@dataclass(frozen=True, eq=False)
class _Run:
    """What every block of one launch shares: geometry, float64 image, mask, the load counts."""

    geo: TileGeometry
    image: np.ndarray  # (H, W) float64 holding float32 values
    mask: np.ndarray  # (K*K,) float64, row-major
    count: np.ndarray  # (H, W) int32, global reads of recorded blocks

    @cached_property
    def offsets(self) -> np.ndarray:
        """``(K,)`` tap offsets ``-r .. r`` along one axis."""
        return np.arange(-self.geo.radius, self.geo.radius + 1, dtype=np.int32)

    @cached_property
    def shared_taps(self) -> np.ndarray:
        """``(K*K,)`` flat shared-tile offset ``k * shared cols + l`` of every tap ``(k, l)``, row-major."""
        k = np.arange(self.geo.mask_size, dtype=np.int32)
        return (k[:, None] * np.int32(self.geo.shared_tile[1]) + k[None, :]).ravel()

    @cached_property
    def padded(self) -> np.ndarray:
        """``((H + 2r) * (W + 2r),)``: the image with an r-wide zero frame, flat, for fast gathers."""
        return np.pad(self.image, self.geo.radius).ravel()

    def global_reads(
        self, y: np.ndarray, x: np.ndarray, record: bool, skip: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Read ``in[y[n, k], x[n, l]]`` for rows ``y (N, K)`` and columns ``x (N, K)`` (at most r outside).

        Returns ``(values, read)``, both ``(N, K, K)``: what the kernel reads, and where it read from
        global memory. Taps outside the image, or where ``skip`` is set, are not read (value 0).
        """
        h, w, r = self.geo.height, self.geo.width, self.geo.radius
        read = ((y >= 0) & (y < h))[:, :, None] & ((x >= 0) & (x < w))[:, None, :]  # (N, K, K)
        if skip is not None:
            read &= ~skip
        flat = ((y + r) * (w + 2 * r))[:, :, None] + (x + r)[:, None, :]  # (N, K, K) in the frame
        values = np.where(read, self.padded[flat], 0.0)
        if record:
            np.add.at(
                self.count,
                (
                    np.broadcast_to(y[:, :, None], read.shape)[read],
                    np.broadcast_to(x[:, None, :], read.shape)[read],
                ),
                1,
            )
        return values, read

    def shared_tile(self, plan: LoadPlan, record: bool) -> np.ndarray:
        """The shared tile after every thread ran its loads: ghost slots 0, unwritten slots NaN."""
        smem = np.full(self.geo.shared_tile, np.nan)  # (Sy, Sx)
        smem[plan.smem_y[plan.ghost], plan.smem_x[plan.ghost]] = 0.0
        real = ~plan.ghost
        smem[plan.smem_y[real], plan.smem_x[real]] = self.image[plan.in_y[real], plan.in_x[real]]
        if record:
            np.add.at(self.count, (plan.in_y[real], plan.in_x[real]), 1)
        return smem

    def load_counters(self, plan: LoadPlan) -> Counters:
        return Counters(int(np.count_nonzero(~plan.ghost)), 0, 0, 0, len(plan))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """``(N,)`` sums over taps of ``values (N, K, K)`` or ``(N, K*K)`` times the mask."""
        sums: np.ndarray = values.reshape(len(values), -1) @ self.mask  # (N,)
        return sums


_BlockResult = tuple[np.ndarray, np.ndarray, np.ndarray, Counters, LoadPlan]


def _global_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """naive / constant: each thread reads its in-image taps straight from global memory."""
    _, _, oy, ox = run.geo.thread_outputs(by, bx)
    values, read = run.global_reads(oy[:, None] + run.offsets, ox[:, None] + run.offsets, record)
    reads = int(np.count_nonzero(read))
    return oy, ox, run.sums(values), Counters(reads, 0, reads, len(oy)), run.geo.load_plan(by, bx)


def _shared_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """input_tile / output_tile: load the shared tile, then every thread reads its K x K window."""
    plan = run.geo.load_plan(by, bx)
    smem = run.shared_tile(plan, record)
    ty, tx, oy, ox = run.geo.thread_outputs(by, bx)
    shift = run.geo.radius if run.geo.strategy == "input_tile" else 0  # inner threads sit r in
    corner = (ty - shift) * np.int32(smem.shape[1]) + (tx - shift)  # (N,) flat window corner
    window = smem.ravel()[corner[:, None] + run.shared_taps]  # (N, K*K)
    counters = run.load_counters(plan) + Counters(0, window.size, window.size, len(oy))
    return oy, ox, run.sums(window), counters, plan


def _cached_halo_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """cached_halo: taps inside the block's tile come from shared memory, the rest from global."""
    plan = run.geo.load_plan(by, bx)
    smem = run.shared_tile(plan, record)
    ty, tx, oy, ox = run.geo.thread_outputs(by, bx)
    t = run.geo.tile[0]
    sy, sx = ty[:, None] + run.offsets, tx[:, None] + run.offsets  # (N, K) tile-relative taps
    in_tile = ((sy >= 0) & (sy < t))[:, :, None] & ((sx >= 0) & (sx < t))[:, None, :]  # (N, K, K)
    slot = (np.clip(sy, 0, t - 1) * np.int32(t))[:, :, None] + np.clip(sx, 0, t - 1)[:, None, :]
    shared = smem.ravel()[slot]  # (N, K, K)
    halo, read = run.global_reads(oy[:, None] + run.offsets, ox[:, None] + run.offsets, record, skip=in_tile)
    n_shared, n_halo = int(np.count_nonzero(in_tile)), int(np.count_nonzero(read))
    counters = run.load_counters(plan) + Counters(n_halo, n_shared, n_shared + n_halo, len(oy))
    return oy, ox, run.sums(np.where(in_tile, shared, halo)), counters, plan


def _register_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """register: every thread reads its (R + K - 1) x K window once and keeps R sums in registers.

    As in the CUDA kernel, all threads compute all R sums (also past the image edge); only in-image
    outputs are written.
    """
    plan = run.geo.load_plan(by, bx)
    smem = run.shared_tile(plan, record)
    (rows, _), k, cols = run.geo.outputs_per_thread, run.geo.mask_size, smem.shape[1]
    threads = np.arange(run.geo.threads_per_block, dtype=np.int32)
    all_ty, all_tx = np.divmod(threads, np.int32(run.geo.block[1]))
    sr = np.arange(rows + k - 1, dtype=np.int32)[:, None] * np.int32(cols)  # shared rows row0 + sr
    corner = all_ty * np.int32(rows * cols) + all_tx  # (threads,) window corner
    column = smem.ravel()[corner[:, None, None] + sr + np.arange(k, dtype=np.int32)]  # (threads, R+K-1, K)
    acc = np.stack([run.sums(column[:, i : i + k]) for i in range(rows)], axis=1)  # (threads, R)
    ty, tx, oy, ox = run.geo.thread_outputs(by, bx)
    i = oy - np.int32(run.geo.out_origin(by, bx)[0]) - ty * np.int32(rows)  # (N,) accumulator index
    counters = run.load_counters(plan) + Counters(0, column.size, acc.size * k * k, len(oy))
    return oy, ox, acc[ty * np.int32(run.geo.block[1]) + tx, i], counters, plan


def _register2d_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """register2d: every thread reads its rows' aligned float4 windows once and keeps R x 4 sums.

    Thread ``(ty, tx)`` reads shared rows ``ty * R + sr`` (``sr < R + K - 1``), columns ``tx * 4 + 4s`` to
    ``tx * 4 + 4s + 4Q - 1`` where ``(s, c) = divmod(h - r, 4)`` (``h`` =
    :attr:`~engine.tiling.TileGeometry.halo_cols`; ``s`` is 0 for register2d, 1 for tma's sector-wide
    halo at even r); output ``(i, j)`` takes window rows ``i .. i + K - 1`` and columns
    ``c + j .. c + j + K - 1``, as in the CUDA kernel. All threads compute all sums; only in-image
    outputs are written. tma runs this too: only its shared tile and load plan differ.
    """
    geo = run.geo
    plan = geo.load_plan(by, bx)
    smem = run.shared_tile(plan, record)
    (rows, cols), k, r, width = geo.outputs_per_thread, geo.mask_size, geo.radius, smem.shape[1]
    skip, c0 = divmod(geo.halo_cols - r, 4)  # float4s left of the first tap; its column in the window
    quads = (c0 + 2 * r + cols + 3) // 4  # float4 reads per row
    all_ty, all_tx = np.divmod(np.arange(geo.threads_per_block, dtype=np.int32), np.int32(geo.block[1]))
    corner = all_ty * np.int32(rows * width) + all_tx * np.int32(cols) + np.int32(4 * skip)  # (threads,)
    sr = np.arange(rows + k - 1, dtype=np.int32)[:, None] * np.int32(width)  # (R+K-1, 1)
    cols4 = np.arange(4 * quads, dtype=np.int32)  # (4Q,) window columns
    window = smem.ravel()[corner[:, None, None] + sr + cols4]  # (threads, R+K-1, 4Q)
    acc = np.stack(
        [
            np.stack([run.sums(window[:, i : i + k, c0 + j : c0 + j + k]) for j in range(cols)], axis=1)
            for i in range(rows)
        ],
        axis=1,
    )  # (threads, R, 4)
    ty, tx, oy, ox = geo.thread_outputs(by, bx)
    y0, x0 = geo.out_origin(by, bx)
    i, j = oy - np.int32(y0) - ty * np.int32(rows), ox - np.int32(x0) - tx * np.int32(cols)  # (N,) each
    counters = run.load_counters(plan) + Counters(0, window.size, acc.size * k * k, len(oy))
    return oy, ox, acc[ty * np.int32(geo.block[1]) + tx, i, j], counters, plan


def _tensorcore_kernel(run: _Run, by: int, bx: int, record: bool) -> _BlockResult:
    """tensorcore: the block's tile from MMA fragments (engine.conv_mma.block_sums), TF32 + BF16 split."""
    from engine import conv_mma

    geo = run.geo
    plan = geo.load_plan(by, bx)
    smem = run.shared_tile(plan, record)
    k = geo.mask_size
    tile = conv_mma.block_sums(geo, smem, run.mask.reshape(k, k))  # (T, 64)
    _, _, oy, ox = geo.thread_outputs(by, bx)
    y0, x0 = geo.out_origin(by, bx)
    steps, warps = tensorcore_steps(k), geo.block[0]
    a_reads = warps * k * (conv_mma.N_TILES + steps - 1) * 32 * 4
    b_reads = warps * k * steps * 32 * 4
    counters = run.load_counters(plan) + Counters(0, a_reads, b_reads, len(oy))
    return oy, ox, tile[oy - np.int32(y0), ox - np.int32(x0)], counters, plan


_KERNELS = {
    "naive": _global_kernel,
    "constant": _global_kernel,
    "input_tile": _shared_kernel,
    "output_tile": _shared_kernel,
    "cached_halo": _cached_halo_kernel,
    "register": _register_kernel,
    "register2d": _register2d_kernel,
    "tma": _register2d_kernel,
    "tensorcore": _tensorcore_kernel,
}  # tma: register2d's compute
