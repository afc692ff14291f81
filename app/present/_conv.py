"""The Convolution tiles explorer's presenters and jobs: engine values in, display values out.

The geometry is built once (:func:`engine.tiling.geometry`) and passed down: the block, counters and
runs below read it, never rebuild it. The jobs are generators the controllers run through
:mod:`app.jobs` (progress out, cancel at each yield).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from app.display import BlockDisplay, CompareDisplay, CountersDisplay, GridDisplay, LoadTable, RunDisplay
from engine import conv_cuda, occupancy, tiling
from engine.conv_emulator import Counters, emulate_in_bands, validate_inputs
from engine.images import make_pattern, resized

if TYPE_CHECKING:
    from engine.tiling import TileGeometry

BAND_PIXELS = 1 << 18  # emulator progress steps: a band of block rows this large, or one row

__all__ = [
    "block_display",
    "compare_display",
    "compare_job",
    "counters_display",
    "counters_job",
    "grid_display",
    "hardware_job",
    "image_job",
    "run_job",
    "shared_parts",
]


def grid_display(geom: TileGeometry) -> GridDisplay:
    return GridDisplay(geom.height, geom.width, geom.tile, geom.grid)


def block_display(
    geom: TileGeometry, by: int, bx: int, records: dict[str, np.ndarray] | None = None
) -> BlockDisplay:
    """Block ``(by, bx)`` of ``geom``; ``records`` (one block of ``CudaResult.load_records``) replaces
    the geometry's load plan with what the instrumented kernel did."""
    rows, cols = geom.block_output(by, bx)
    y0, x0 = geom.out_origin(by, bx)
    iy, ix = geom.input_origin(by, bx)
    sy, sx = geom.input_shape()
    plan = geom.load_plan(by, bx)
    table = LoadTable(
        plan.thread_y,
        plan.thread_x,
        plan.phase,
        plan.smem_y,
        plan.smem_x,
        plan.in_y,
        plan.in_x,
        plan.ghost,
        np.ones(len(plan), bool),
    )
    source, note = "geometry", ""
    if records is not None:
        table, source = _recorded_table(records, table), "hardware"
        note = _compare_tables(table, plan)
    origin = geom.shared_origin(by, bx) if geom.shared_bytes else None
    (sh, sw) = geom.shared_tile
    shared = None if origin is None else (origin[0], origin[1], origin[0] + sh, origin[1] + sw)
    ty, tx, oy, ox = geom.thread_outputs(by, bx)
    return BlockDisplay(
        block=(by, bx),
        strategy=geom.strategy,
        mask_size=geom.mask_size,
        radius=geom.radius,
        output=(rows.start, cols.start, rows.stop, cols.stop),
        tile_rect=(y0, x0, y0 + geom.tile[0], x0 + geom.tile[1]),
        input=(iy, ix, iy + sy, ix + sx),
        ghost=geom.ghost_mask(by, bx),
        threads=geom.block,
        shared_tile=geom.shared_tile,
        shared_origin=origin,
        load_phases=geom.load_phases,
        loads=table,
        out_thread_y=ty,
        out_thread_x=tx,
        out_y=oy,
        out_x=ox,
        source=source,
        note=note,
        shared=shared,
        load_width=geom.load_width,
        outputs_per_thread=geom.outputs_per_thread,
        bulk=geom.strategy in tiling.BULK_STRATEGIES,
        staging=geom.staging_tile,
        shared_parts=shared_parts(geom),
    )


def shared_parts(geom: TileGeometry) -> tuple[tuple[str, int], ...]:
    """``(what, bytes)`` of each piece of ``geom.shared_bytes`` when there is more than the shared tile
    (tma: the tile, its padding to a 128-byte boundary, the output staging tile, the mbarrier); else ()."""
    return geom.shared_parts


def _recorded_table(rec: dict[str, np.ndarray], plan: LoadTable) -> LoadTable:
    """The instrumented kernel's slots (flat slot order) as a LoadTable; -1 marks a slot never written."""
    writes = np.asarray(rec.get("writes", np.ones(len(plan), np.int32)))
    loaded = (writes > 0) & (np.asarray(rec["thread_y"]) >= 0)

    def field(name: str) -> np.ndarray:
        return np.where(loaded, np.asarray(rec[name]), getattr(plan, name)).astype(np.int32)

    return LoadTable(
        field("thread_y"),
        field("thread_x"),
        field("phase"),
        field("smem_y"),
        field("smem_x"),
        field("in_y"),
        field("in_x"),
        np.asarray(rec["ghost"], bool) & loaded,
        loaded,
    )


def _compare_tables(hw: LoadTable, plan: Any) -> str:
    cols = ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x", "ghost")
    same = np.ones(len(hw), bool)
    for c in cols:
        same &= getattr(hw, c) == getattr(plan, c)
    same &= hw.loaded
    bad = int((~same).sum())
    if not bad:
        return f"All {len(hw):,} recorded slots match the engine's load plan."
    return (
        f"{bad:,} of {len(hw):,} recorded slots differ from the engine's load plan (never written: "
        f"{int((~hw.loaded).sum()):,})."
    )


def counters_display(
    geom: TileGeometry, c: Counters, occ: occupancy.Occupancy, registers: int, registers_note: str
) -> CountersDisplay:
    k2 = geom.mask_size**2
    (sh, sw), (th, tw), (ph, pw) = geom.shared_tile, geom.tile, geom.outputs_per_thread
    bulk, slots, lw = geom.strategy in tiling.BULK_STRATEGIES, sh * sw, geom.load_width
    shared = f"{sh}×{sw} floats × 4 B" if geom.shared_bytes else "this strategy uses no shared memory"
    if geom.shared_bytes and geom.halo_cols != geom.radius:
        m = tiling.halo_multiple(geom.strategy)
        why = (
            f"so each row of the tensor copy starts on a {4 * m}-byte boundary"
            if bulk
            else f"so every group of {lw} slots is one aligned {4 * lw}-byte load"
        )
        shared += (
            f": the {th}×{tw} tile, r = {geom.radius} rows above and below, {geom.halo_cols} columns "
            f"left and right (r rounded up to {m}, {why})"
        )
    if parts := shared_parts(geom):  # tma: more than the input tile
        align = tiling.STAGING_ALIGN_BYTES
        reasons = {
            "input tile": f"{sh}×{sw}",
            "padding": f"the staging tile starts on a {align}-byte boundary",
            "output staging tile": f"{th}×{tw} floats; the tensor store reads it",
            "mbarrier": "the copy signals it",
        }
        shared = (
            " + ".join(f"{n:,} B {what} ({reasons[what]})" for what, n in parts)
            + f". The input tile: {shared}"
        )
    if bulk:
        plan = geom.load_plan(0, 0)  # one thread issues the copy: the plan says which
        phases = (
            f"one bulk tensor copy (TMA) issued by thread ({plan.thread_y[0]}, {plan.thread_x[0]}) "
            f"fills all {slots:,} slots ({4 * slots:,} B); the copy engine zero-fills the ghost slots "
            f"and reads nothing for them; the other {geom.threads_per_block - 1} threads load nothing "
            f"and wait on the mbarrier"
        )
    elif geom.shared_bytes:
        phases = (
            f"⌈{slots:,} slots / ({geom.threads_per_block} threads × {lw} slot{'s' if lw > 1 else ''} "
            f"per load)⌉" + (f"; each load is one {4 * lw}-byte group" if lw > 1 else "")
        )
    else:
        phases = "no shared tile to fill"
    reuse = (f"{c.reuse:.2f}", f"{c.shared_loads:,} shared reads / {c.shared_stores:,} shared stores")
    if bulk:
        reuse = (
            reuse[0],
            reuse[1] + " (the slots the tensor copies write; the staging tile's writes and "
            "the tensor store's reads are not counted)",
        )
    if not c.shared_stores:
        reuse = ("–", "no shared tile: every tap is a global (cached) read")
    rows: tuple[tuple[str, str, str], ...] = (
        (
            "Grid",
            f"{geom.grid[0]}×{geom.grid[1]} = {geom.grid[0] * geom.grid[1]:,} blocks",
            f"⌈{geom.height}/{geom.tile[0]}⌉ × ⌈{geom.width}/{geom.tile[1]}⌉",
        ),
        (
            "Block",
            f"{geom.block[0]}×{geom.block[1]} = {geom.threads_per_block} threads",
            f"{ph}×{pw} = {ph * pw} output(s) per thread; the output tile is {th}×{tw}"
            + ("; the outputs are staged in shared memory and leave by one tensor store" if bulk else ""),
        ),
        ("Shared memory per block", f"{geom.shared_bytes:,} B", shared),
        ("Load phases", f"{geom.load_phases}", phases),
        (
            "Global loads per output",
            f"{c.loads_per_output:.3f}",
            f"{c.global_loads:,} global reads / {c.outputs:,} outputs (ghost cells are never read; "
            f"a naive kernel reads up to K² = {k2})",
        ),
        ("Reuse factor", *reuse),
        ("Mask reads", f"{c.mask_loads:,}", "one per multiply-add, from constant memory (naive: global)"),
        (
            "Occupancy",
            f"{occ.occupancy:.0%}",
            f"{occ.blocks_per_sm} blocks × {occ.warps_per_block} warps per "
            f"SM on the {occ.card.name} ({occ.limiter} limit)" + _cannot_run(geom, occ.card),
        ),
    )
    if geom.strategy in tiling.TENSOR_STRATEGIES:
        rows = rows[:-2] + _tensor_rows(geom) + rows[-1:]
    return CountersDisplay(rows, occ.derivation, occ.card.name, registers, registers_note)


def _tensor_rows(geom: TileGeometry) -> tuple[tuple[str, str, str], ...]:
    """tensorcore's MMA work: instructions, tensor-core FLOPs against the convolution's, split passes."""
    from engine import conv_mma

    m = conv_mma.mma_counts(geom)
    return (
        (
            "Tensor-core MMAs",
            f"{m.mmas:,}",
            f"mma.sync, TF32 m16n8k8 + BF16 m16n8k16: {geom.block[0]} warps × {geom.mask_size} mask rows × "
            f"{conv_mma.N_TILES} tiles of 16×8 × {m.steps} steps × {m.split_passes} MMAs per block",
        ),
        (
            "Tensor-core FLOPs",
            f"{m.tensor_flops / 1e9:,.3f} GFLOP",
            f"2·16·8·8 per TF32 MMA, 2·16·8·16 per BF16 MMA (twice the FLOPs at twice the rate: the same "
            f"time); the convolution itself needs {m.useful_flops / 1e9:,.3f} GFLOP (2K² per output): "
            f"{m.tensor_flops / max(1, m.useful_flops):.1f}× as much, from the split and the band's zeros",
        ),
        (
            "MMA slots per product",
            f"{m.split_passes}",
            "x·M ≈ h·H (TF32, exact products) + l·H + x·L (BF16: the corrections are ~2⁻¹¹ of the product, "
            "so BF16's 8 bits leave them ~2⁻²⁰ off), accumulated in fp32; 3xTF32 would need 3",
        ),
        (
            "Band efficiency",
            f"{m.band_efficiency:.0%}",
            f"K / (8 × steps) = {geom.mask_size} / {8 * m.steps}: of each mask-row band's 8 × {m.steps} "
            f"entries per output column, {geom.mask_size} are taps, the rest zeros the MMA multiplies too",
        ),
        (
            "Mask reads",
            f"{m.steps * 4} per lane and mask row",
            "one 16-byte band record per step (TF32 H, H′ and BF16 pairs of H and L), from global "
            "memory through L1, made on the host",
        ),
    )


def _cannot_run(geom: TileGeometry, card: occupancy.Card) -> str:
    """Why ``card`` cannot run ``geom``'s kernel at all ("" when it can): tma needs Hopper's TMA."""
    digits = "".join(ch for ch in card.arch if ch.isdigit())
    if geom.strategy in tiling.TENSOR_STRATEGIES:
        major, minor = tiling.TENSOR_MIN_COMPUTE_CAPABILITY
        if not digits or int(digits) >= 10 * major + minor:
            return ""
        return (
            f". But {geom.strategy} needs compute capability {major}.{minor}+ (TF32 tensor cores): "
            f"the {card.name} ({card.arch}) cannot run it at all"
        )
    major, minor = tiling.BULK_MIN_COMPUTE_CAPABILITY
    if geom.strategy not in tiling.BULK_STRATEGIES or not digits or int(digits) >= 10 * major + minor:
        return ""
    return (
        f". But {geom.strategy} needs compute capability {major}.{minor}+ "
        f"(the Tensor Memory Accelerator): the {card.name} ({card.arch}) cannot run it at all"
    )


# -- the work done off the GUI thread (generators: progress out, cancel at each yield) ---------------
def image_job(
    source: str, pattern: str, file_values: np.ndarray | None, height: int, width: int
) -> Generator[None, None, np.ndarray]:
    yield
    if source == "file" and file_values is not None:
        return resized(file_values, height, width)
    return make_pattern(pattern, height, width)


def counters_job(geom: TileGeometry) -> Generator[None, None, Counters]:
    yield
    return occupancy.launch_counters_geometry(geom)


def run_job(
    image: np.ndarray, mask: np.ndarray, geom: TileGeometry, gpu: bool, gpu_text: str
) -> Generator[tuple[float | None, str], None, tuple[RunDisplay, int | None]]:
    """Convolve on the GPU (when ``gpu``) or on the emulator, a band of block rows at a time."""
    t0 = time.perf_counter()
    _, _, notes = validate_inputs(image, mask)
    strategy = geom.strategy
    if gpu:
        yield None, f"Running {strategy} on the GPU (the first run of a configuration compiles it)…"
        res = conv_cuda.run_cuda_geometry(image, mask, geom)
        said = f"{res.kernel}: {res.registers} registers per thread, {len(res.times_ms)} timed launches"
        run = RunDisplay(
            image,
            res.output,
            "gpu",
            gpu_text,
            strategy,
            time.perf_counter() - t0,
            res.median_ms,
            (*notes, said),
        )
        return run, res.registers
    yield 0.0, f"Emulating {strategy} on the CPU…"
    out = yield from _with_text(
        emulate_in_bands(image, mask, geom, BAND_PIXELS), f"Emulating {strategy} on the CPU…"
    )
    run = RunDisplay(
        image, out, "emulator", "CPU emulator", strategy, time.perf_counter() - t0, None, tuple(notes)
    )
    return run, None


def _with_text(
    steps: Generator[float, None, np.ndarray], text: str
) -> Generator[tuple[float, str], None, np.ndarray]:
    """``steps``' fractions as ``(fraction, "text 42%")``; returns what ``steps`` returns."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration as done:
            return done.value
        yield fraction, f"{text} {fraction:.0%}"


def compare_job(
    image: np.ndarray, mask: np.ndarray, tile: int, strategies: list[str], gpu: bool
) -> Generator[tuple[float, str], None, tuple[dict[str, float], list[str]]]:
    """Time every strategy in ``strategies`` that ``tile`` allows; the others are listed with why."""
    times: dict[str, float] = {}
    skipped: list[str] = []
    n = len(strategies)
    for i, s in enumerate(strategies):
        yield i / n, f"Timing {s} ({i + 1} of {n})…"
        try:
            geom = tiling.geometry(image.shape[0], image.shape[1], mask.shape[0], s, tile)
            if gpu:
                times[s] = conv_cuda.run_cuda_geometry(image, mask, geom).median_ms
                continue
            t0 = time.perf_counter()
            for f in emulate_in_bands(image, mask, geom, BAND_PIXELS):
                yield (i + f) / n, f"Timing {s} ({i + 1} of {n})… {f:.0%}"
            times[s] = (time.perf_counter() - t0) * 1000
        except (ValueError, KeyError, RuntimeError) as e:
            skipped.append(f"{s}: {e}")
    return times, skipped


def hardware_job(
    image: np.ndarray, mask: np.ndarray, geom: TileGeometry, block: tuple[int, int]
) -> Generator[None, None, dict[str, np.ndarray]]:
    """One instrumented launch: what the kernel wrote into block ``block``'s shared slots."""
    yield
    res = conv_cuda.run_cuda_geometry(image, mask, geom, repeats=1, record_blocks=[block])
    return res.load_records[block]


def compare_display(
    times: dict[str, float], skipped: list[str], gpu: bool, sizes: tuple[int, int, int, int], current: str
) -> CompareDisplay:
    """Strategy times measured here, fastest first; ``current`` is marked."""
    h, w, k, t = sizes
    order = sorted(times, key=times.__getitem__)
    what = "median kernel time (CUDA events)" if gpu else "emulator wall time on this CPU"
    note = (
        ""
        if gpu
        else "The emulator's times show what numpy pays for each strategy's index "
        "arithmetic, not how fast the kernels run on a GPU. "
    )
    skip = f"Skipped: {'; '.join(skipped)}." if skipped else ""
    return CompareDisplay(
        f"{'GPU' if gpu else 'CPU emulator'}: {h}×{w}, mask {k}, tile {t}, {what}",
        tuple(order),
        tuple(times[s] for s in order),
        tuple("current" if s == current else "ours" for s in order),
        f"Timed here. {note}{skip}",
    )
