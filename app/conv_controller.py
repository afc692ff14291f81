"""Controller of the Convolution tiles explorer.

Wiring: the view's parameter edits (debounced) are checked by :func:`engine.tiling.geometry`; its
``ValueError`` message is shown inline and nothing else changes. A valid configuration becomes a
``GridDisplay``; the selected block becomes a ``BlockDisplay`` built from the geometry's output
tile, input tile, ghost mask, load plan and thread-to-output map, so the view draws exactly what the
kernels and the emulator use. Everything slow runs as a generator in a superqt worker, one kind at a
time ("image", "counters", "run", "compare", "hardware"): each request carries a generation number,
a newer request quits the older worker at its next yield, and stale results are dropped. With
``asynchronous=False`` (screenshots, tests) the same generators run inline.

Runs use the GPU (PyCUDA) when :func:`engine.conv_cuda.cuda_available` says so, else the CPU emulator,
which runs in bands of block rows (aligned to the tile grid, with the halo's rows around them) so it
can report progress and stop between bands.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog
from superqt.utils import create_worker

from app._idle import process_events_until
from app.display import (
    BlockDisplay,
    CompareDisplay,
    ConvParams,
    CountersDisplay,
    GridDisplay,
    LoadTable,
    RunDisplay,
)
from app.present import (
    benchmark_choices,
    benchmark_registers,
    compare_from_benchmark,
    load_benchmark,
    newest_benchmark,
)
from app.widgets import ConvView
from app.widgets._conv_params import CUSTOM_MASK
from engine import conv_cuda, occupancy, tiling
from engine.conv_emulator import Counters, emulate, validate_inputs
from engine.images import (
    MASKS,
    PATTERNS,
    ImageFileError,
    make_mask,
    make_pattern,
    read_image,
    resized,
)

if TYPE_CHECKING:
    from app.context import AppContext
    from engine.tiling import TileGeometry

__all__ = ["AUTO_RUN_PIXELS", "ConvController", "block_display", "counters_display", "emulate_bands",
           "grid_display", "shared_parts"]

DEBOUNCE_MS = 120
AUTO_RUN_PIXELS = 512 * 512      # the emulator runs by itself up to here (well under a second)
INLINE_IMAGE_PIXELS = 1 << 20    # larger patterns are drawn in a worker
BAND_PIXELS = 1 << 18            # emulator progress steps
_BENCH_DIR = Path(__file__).resolve().parents[1] / "bench" / "results"


def emulate_bands(image: np.ndarray, mask: np.ndarray, strategy: str, tile: int,
                  band_pixels: int = BAND_PIXELS) -> Generator[float, None, np.ndarray]:
    """The emulator's output, computed a band of block rows at a time; yields the fraction done.

    Each band is emulated on the rows it needs: its own blocks plus ``q = ceil(r / T)`` block rows
    above and below, cut at block boundaries, so the band's blocks see the same grid, the same
    input and the same index arithmetic as in one big :func:`emulate` call.
    """
    img, msk, _ = validate_inputs(image, mask)
    geom = tiling.geometry(img.shape[0], img.shape[1], msk.shape[0], strategy, tile)
    t, h = geom.tile[0], geom.height
    q = -(-geom.radius // t)
    per_band = max(1, band_pixels // (t * geom.width))
    out = np.empty(img.shape, np.float32)                                       # (H, W)
    for b0 in range(0, geom.grid[0], per_band):
        b1 = min(geom.grid[0], b0 + per_band)
        c0, c1 = max(0, b0 - q) * t, min(h, (b1 + q) * t)
        part = emulate(img[c0:c1], msk, strategy, tile)[0]
        out[b0 * t : min(b1 * t, h)] = part[b0 * t - c0 : min(b1 * t, h) - c0]
        yield b1 / geom.grid[0]
    return out


def _drain(steps: Generator[Any, None, Any], progress: Callable[[Any], None] | None = None) -> Any:
    try:
        while True:
            value = next(steps)
            if progress is not None:
                progress(value)
    except StopIteration as done:
        return done.value


# -- engine values -> display values ------------------------------------------------------------------
def grid_display(geom: TileGeometry) -> GridDisplay:
    return GridDisplay(geom.height, geom.width, geom.tile, geom.grid)


def block_display(geom: TileGeometry, by: int, bx: int,
                  records: dict[str, np.ndarray] | None = None) -> BlockDisplay:
    """Block ``(by, bx)`` of ``geom``; ``records`` (one block of ``CudaResult.load_records``) replaces
    the geometry's load plan with what the instrumented kernel did."""
    rows, cols = geom.block_output(by, bx)
    y0, x0 = geom.out_origin(by, bx)
    iy, ix = geom.input_origin(by, bx)
    sy, sx = geom.input_shape()
    plan = geom.load_plan(by, bx)
    table = LoadTable(plan.thread_y, plan.thread_x, plan.phase, plan.smem_y, plan.smem_x, plan.in_y,
                      plan.in_x, plan.ghost, np.ones(len(plan), bool))
    source, note = "geometry", ""
    if records is not None:
        table, source = _recorded_table(records, table), "hardware"
        note = _compare_tables(table, plan)
    origin = geom.shared_origin(by, bx) if geom.shared_bytes else None
    (sh, sw) = geom.shared_tile
    shared = None if origin is None else (origin[0], origin[1], origin[0] + sh, origin[1] + sw)
    ty, tx, oy, ox = geom.thread_outputs(by, bx)
    return BlockDisplay(
        block=(by, bx), strategy=geom.strategy, mask_size=geom.mask_size, radius=geom.radius,
        output=(rows.start, cols.start, rows.stop, cols.stop),
        tile_rect=(y0, x0, y0 + geom.tile[0], x0 + geom.tile[1]),
        input=(iy, ix, iy + sy, ix + sx), ghost=geom.ghost_mask(by, bx), threads=geom.block,
        shared_tile=geom.shared_tile, shared_origin=origin, load_phases=geom.load_phases, loads=table,
        out_thread_y=ty, out_thread_x=tx, out_y=oy, out_x=ox, source=source, note=note, shared=shared,
        load_width=geom.load_width, outputs_per_thread=geom.outputs_per_thread,
        bulk=geom.strategy in tiling.BULK_STRATEGIES, staging=geom.staging_tile,
        shared_parts=shared_parts(geom))


def shared_parts(geom: TileGeometry) -> tuple[tuple[str, int], ...]:
    """``(what, bytes)`` of each piece of ``geom.shared_bytes`` when there is more than the shared tile
    (tma: the tile, its padding to a 128-byte boundary, the output staging tile, the mbarrier); else ()."""
    return geom.shared_parts


def _recorded_table(rec: dict[str, np.ndarray], plan: LoadTable) -> LoadTable:
    """The instrumented kernel's slots (flat slot order) as a LoadTable; -1 marks a slot never written."""
    writes = np.asarray(rec.get("writes", np.ones(len(plan), np.int32)))
    loaded = (writes > 0) & (np.asarray(rec["thread_y"]) >= 0)
    fields = [np.where(loaded, np.asarray(rec[f]), fallback).astype(np.int32)
              for f, fallback in (("thread_y", plan.thread_y), ("thread_x", plan.thread_x),
                                  ("phase", plan.phase), ("smem_y", plan.smem_y), ("smem_x", plan.smem_x),
                                  ("in_y", plan.in_y), ("in_x", plan.in_x))]
    return LoadTable(*fields, np.asarray(rec["ghost"], bool) & loaded, loaded)


def _compare_tables(hw: LoadTable, plan: Any) -> str:
    cols = ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x", "ghost")
    same = np.ones(len(hw), bool)
    for c in cols:
        same &= getattr(hw, c) == getattr(plan, c)
    same &= hw.loaded
    bad = int((~same).sum())
    if not bad:
        return f"All {len(hw):,} recorded slots match the engine's load plan."
    return f"{bad:,} of {len(hw):,} recorded slots differ from the engine's load plan (never written: " \
           f"{int((~hw.loaded).sum()):,})."


def counters_display(geom: TileGeometry, c: Counters, occ: occupancy.Occupancy, registers: int,
                     registers_note: str) -> CountersDisplay:
    k2 = geom.mask_size ** 2
    (sh, sw), (th, tw), (ph, pw) = geom.shared_tile, geom.tile, geom.outputs_per_thread
    bulk, slots, lw = geom.strategy in tiling.BULK_STRATEGIES, sh * sw, geom.load_width
    shared = f"{sh}×{sw} floats × 4 B" if geom.shared_bytes else "this strategy uses no shared memory"
    if geom.shared_bytes and geom.halo_cols != geom.radius:
        m = tiling.halo_multiple(geom.strategy)
        why = (f"so each row of the tensor copy starts on a {4 * m}-byte boundary" if bulk else
               f"so every group of {lw} slots is one aligned {4 * lw}-byte load")
        shared += (f": the {th}×{tw} tile, r = {geom.radius} rows above and below, {geom.halo_cols} columns "
                   f"left and right (r rounded up to {m}, {why})")
    if parts := shared_parts(geom):      # tma: more than the input tile
        align = tiling.STAGING_ALIGN_BYTES
        why = {"input tile": f"{sh}×{sw}", "padding": f"the staging tile starts on a {align}-byte boundary",
               "output staging tile": f"{th}×{tw} floats; the tensor store reads it",
               "mbarrier": "the copy signals it"}
        shared = (" + ".join(f"{n:,} B {what} ({why[what]})" for what, n in parts)
                  + f". The input tile: {shared}")
    if bulk:
        plan = geom.load_plan(0, 0)           # one thread issues the copy: the plan says which
        phases = (f"one bulk tensor copy (TMA) issued by thread ({plan.thread_y[0]}, {plan.thread_x[0]}) "
                  f"fills all {slots:,} slots ({4 * slots:,} B); the copy engine zero-fills the ghost slots "
                  f"and reads nothing for them; the other {geom.threads_per_block - 1} threads load nothing "
                  f"and wait on the mbarrier")
    elif geom.shared_bytes:
        phases = (f"⌈{slots:,} slots / ({geom.threads_per_block} threads × {lw} slot{'s' if lw > 1 else ''} "
                  f"per load)⌉" + (f"; each load is one {4 * lw}-byte group" if lw > 1 else ""))
    else:
        phases = "no shared tile to fill"
    reuse = (f"{c.reuse:.2f}", f"{c.shared_loads:,} shared reads / {c.shared_stores:,} shared stores")
    if bulk:
        reuse = (reuse[0], reuse[1] + " (the slots the tensor copies write; the staging tile's writes and "
                                      "the tensor store's reads are not counted)")
    if not c.shared_stores:
        reuse = ("–", "no shared tile: every tap is a global (cached) read")
    rows = (
        ("Grid", f"{geom.grid[0]}×{geom.grid[1]} = {geom.grid[0] * geom.grid[1]:,} blocks",
         f"⌈{geom.height}/{geom.tile[0]}⌉ × ⌈{geom.width}/{geom.tile[1]}⌉"),
        ("Block", f"{geom.block[0]}×{geom.block[1]} = {geom.threads_per_block} threads",
         f"{ph}×{pw} = {ph * pw} output(s) per thread; the output tile is {th}×{tw}"
         + ("; the outputs are staged in shared memory and leave by one tensor store" if bulk else "")),
        ("Shared memory per block", f"{geom.shared_bytes:,} B", shared),
        ("Load phases", f"{geom.load_phases}", phases),
        ("Global loads per output", f"{c.loads_per_output:.3f}",
         f"{c.global_loads:,} global reads / {c.outputs:,} outputs (ghost cells are never read; "
         f"a naive kernel reads up to K² = {k2})"),
        ("Reuse factor", *reuse),
        ("Mask reads", f"{c.mask_loads:,}", "one per multiply-add, from constant memory (naive: global)"),
        ("Occupancy", f"{occ.occupancy:.0%}", f"{occ.blocks_per_sm} blocks × {occ.warps_per_block} warps per "
                                              f"SM on the {occ.card.name} ({occ.limiter} limit)"
                                              + _cannot_run(geom, occ.card)),
    )
    return CountersDisplay(rows, occ.derivation, occ.card.name, registers, registers_note)


def _cannot_run(geom: TileGeometry, card: occupancy.Card) -> str:
    """Why ``card`` cannot run ``geom``'s kernel at all ("" when it can): tma needs Hopper's TMA."""
    digits = "".join(ch for ch in card.arch if ch.isdigit())
    major, minor = tiling.BULK_MIN_COMPUTE_CAPABILITY
    if geom.strategy not in tiling.BULK_STRATEGIES or not digits or int(digits) >= 10 * major + minor:
        return ""
    return (f". But {geom.strategy} needs compute capability {major}.{minor}+ "
            f"(the Tensor Memory Accelerator): the {card.name} ({card.arch}) cannot run it at all")


# -- the work done off the GUI thread (generators: progress out, cancel at each yield) ---------------
def _image_job(source: str, pattern: str, file_values: np.ndarray | None, height: int,
               width: int) -> Iterator[None]:
    yield
    if source == "file" and file_values is not None:
        return resized(file_values, height, width)
    return make_pattern(pattern, height, width)


def _counters_job(p: ConvParams) -> Iterator[None]:
    yield
    return occupancy.launch_counters(p.height, p.width, p.mask_size, p.strategy, p.tile)


def _run_job(image: np.ndarray, mask: np.ndarray, strategy: str, tile: int, gpu: bool,
             gpu_text: str) -> Generator[tuple[float | None, str], None, tuple[RunDisplay, int | None]]:
    t0 = time.perf_counter()
    _, _, notes = validate_inputs(image, mask)
    if gpu:
        yield None, f"Running {strategy} on the GPU (the first run of a configuration compiles it)…"
        res = conv_cuda.run_cuda(image, mask, strategy, tile)
        said = f"{res.kernel}: {res.registers} registers per thread, {len(res.times_ms)} timed launches"
        run = RunDisplay(image, res.output, "gpu", gpu_text, strategy, time.perf_counter() - t0,
                         res.median_ms, (*notes, said))
        return run, res.registers
    yield 0.0, f"Emulating {strategy} on the CPU…"
    steps = emulate_bands(image, mask, strategy, tile)
    while True:
        try:
            fraction = next(steps)
        except StopIteration as done:
            out = done.value
            break
        yield fraction, f"Emulating {strategy} on the CPU… {fraction:.0%}"
    run = RunDisplay(image, out, "emulator", "CPU emulator", strategy, time.perf_counter() - t0, None,
                     tuple(notes))
    return run, None


def _compare_job(image: np.ndarray, mask: np.ndarray, tile: int, strategies: list[str],
                 gpu: bool) -> Generator[tuple[float, str], None, tuple[dict[str, float], list[str]]]:
    times: dict[str, float] = {}
    skipped: list[str] = []
    n = len(strategies)
    for i, s in enumerate(strategies):
        yield i / n, f"Timing {s} ({i + 1} of {n})…"
        try:
            tiling.geometry(image.shape[0], image.shape[1], mask.shape[0], s, tile)
            if gpu:
                times[s] = conv_cuda.run_cuda(image, mask, s, tile).median_ms
                continue
            t0 = time.perf_counter()
            for f in emulate_bands(image, mask, s, tile):
                yield (i + f) / n, f"Timing {s} ({i + 1} of {n})… {f:.0%}"
            times[s] = (time.perf_counter() - t0) * 1000
        except (ValueError, KeyError, RuntimeError) as e:
            skipped.append(f"{s}: {e}")
    return times, skipped


def _hardware_job(image: np.ndarray, mask: np.ndarray, strategy: str, tile: int,
                  block: tuple[int, int]) -> Iterator[None]:
    yield
    res = conv_cuda.run_cuda(image, mask, strategy, tile, repeats=1, record_blocks=[block])
    return res.load_records[block]


class ConvController(QObject):
    """Owns the convolution view, its parameters, image, mask and selection, and the engine calls.

    Signals
    -------
    block_applied(int, int)
        The view shows block ``(by, bx)`` (after a selection or a parameter change).
    params_rejected(str)
        The engine refused the parameters; its message is shown inline.
    counters_applied()
    run_finished(int)
        The view shows run ``generation``.
    run_failed(int, str)
    compare_applied(str)
        The bar chart shows "benchmark" times or times from a "run".
    hardware_applied(int, int)
        The view shows the load map the GPU recorded for block ``(by, bx)``.
    """

    name = "conv"
    title = "Convolution tiles"
    block_applied = Signal(int, int)
    params_rejected = Signal(str)
    counters_applied = Signal()
    run_finished = Signal(int)
    run_failed = Signal(int, str)
    compare_applied = Signal(str)
    hardware_applied = Signal(int, int)

    def __init__(self, context: AppContext, view: ConvView | None = None, asynchronous: bool = True) -> None:
        super().__init__()
        self.context = context
        self.view = view or ConvView()
        self.widget = self.view
        self.asynchronous = asynchronous   # False: compute inline (screenshots, some tests)
        self.strategies = list(tiling.ALL_STRATEGIES)       # read at run time: strategies get added
        self.params = ConvParams()
        self.geometry: TileGeometry | None = None
        self.error = ""
        self.source, self.pattern = "pattern", "circles"
        self.file_values: np.ndarray | None = None
        self.file_name = ""
        self.image: np.ndarray | None = None
        self.mask_kind = "Gaussian"
        self.mask = make_mask(self.mask_kind, self.params.mask_size)
        self.block: tuple[int, int] | None = None      # None: start on the middle block
        self.pixel: tuple[int, int] | None = None
        self._pixel_offset: tuple[int, int] | None = None   # the chosen pixel's place in its tile
        self.block_view: BlockDisplay | None = None
        self.card = occupancy.DEFAULT_CARD
        self.registers_override: int | None = None
        self.kernel_registers: dict[tuple[str, int, int], int] = {}
        self.counters: Counters | None = None
        self._counters_cache: dict[ConvParams, Counters] = {}
        self.run: RunDisplay | None = None
        self.benchmark: dict[str, Any] | None = None
        self.benchmark_path: Path | None = None
        self.compare_state: tuple[Any, ...] | None = None
        self.hardware_on = False
        self.records: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
        self.generation = dict.fromkeys(("image", "counters", "run", "compare", "hardware"), 0)
        self.dropped = 0
        self._workers: dict[str, Any] = {}
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.apply_params(self.view.params.params()))
        self.gpu = conv_cuda.cuda_available()
        self.gpu_text = self._describe_gpu()
        self._restore()
        self.view.set_choices(self.strategies, list(PATTERNS), list(MASKS), list(occupancy.CARDS))
        self.view.set_pattern(self.pattern)
        self.view.set_mask(self.mask_kind, self.mask)
        self.view.set_backend(self._backend_text())
        self.view.set_hardware(self.gpu, self._hardware_reason())
        self._wire()
        if (path := newest_benchmark(_BENCH_DIR)) is not None:
            self.load_benchmark_file(path)
        self.apply_params(self.params, new_image=True)

    # -- wiring and settings ------------------------------------------------------------------------
    def _wire(self) -> None:
        v = self.view
        v.params_changed.connect(lambda _: self._timer.start() if self.asynchronous else
                                 self.apply_params(v.params.params()))
        v.pattern_selected.connect(self.set_pattern)
        v.open_image_requested.connect(self._open_image_dialog)
        v.mask_kind_selected.connect(self.set_mask_kind)
        v.mask_edited.connect(self.set_mask_values)
        v.pixel_clicked.connect(self.select_pixel)
        v.step_requested.connect(self.step)
        v.run_requested.connect(self.run_convolution)
        v.cancel_requested.connect(self.cancel)
        v.compare_run_requested.connect(self.time_strategies)
        v.benchmark_open_requested.connect(self._open_benchmark_dialog)
        v.benchmark_filter_changed.connect(self.show_benchmark)
        v.card_changed.connect(self.set_card)
        v.registers_changed.connect(self.set_registers)
        v.hardware_toggled.connect(self.set_hardware)
        v.hardware_record_requested.connect(lambda: self.set_hardware(True))

    def _restore(self) -> None:
        s = self.context.settings
        if s is None:
            return
        try:
            self.params = ConvParams(int(s.value("conv/height", 100)), int(s.value("conv/width", 150)),
                                     int(s.value("conv/mask_size", 5)), int(s.value("conv/tile", 16)),
                                     str(s.value("conv/strategy", "output_tile")))
        except (TypeError, ValueError):
            self.params = ConvParams()
        pattern, kind, card = (str(s.value(f"conv/{k}", d)) for k, d in
                               (("pattern", "circles"), ("mask_kind", "Gaussian"), ("card", self.card)))
        self.pattern = pattern if pattern in PATTERNS else "circles"
        self.mask_kind = kind if kind in MASKS else "Gaussian"
        self.card = card if card in occupancy.CARDS else occupancy.DEFAULT_CARD
        if self.params.mask_size >= 1 and self.params.mask_size % 2:
            self.mask = make_mask(self.mask_kind, self.params.mask_size)

    def _save(self) -> None:
        s = self.context.settings
        if s is None:
            return
        p = self.params
        for key, value in (("height", p.height), ("width", p.width), ("mask_size", p.mask_size),
                           ("tile", p.tile), ("strategy", p.strategy), ("pattern", self.pattern),
                           ("mask_kind", self.mask_kind if self.mask_kind in MASKS else "Gaussian"),
                           ("card", self.card)):
            s.setValue(f"conv/{key}", value)

    def _describe_gpu(self) -> str:
        if not self.gpu:
            return ""
        try:
            return f"GPU: {conv_cuda.describe_gpu()}"
        except (conv_cuda.NoGPUError, RuntimeError) as e:
            return f"GPU ({e})"

    def _no_gpu_reason(self) -> str:
        try:
            conv_cuda.describe_gpu()
        except Exception as e:
            return str(e)
        return "the GPU could not be used"

    def _backend_text(self) -> str:
        if self.gpu:
            return f"Runs on the {self.gpu_text} (PyCUDA kernels from kernels/conv2d.cu)."
        reason = self._no_gpu_reason()
        return (f"Runs on the CPU emulator (each strategy's index arithmetic in numpy, block by block): "
                f"no GPU here ({reason.split(';')[0]}).")

    def _hardware_reason(self) -> str:
        if self.gpu:
            return ("Runs the instrumented kernel once for the selected block and shows the slots each "
                    "thread actually wrote, checked against the engine's plan.")
        return ("Needs an NVIDIA GPU with PyCUDA, and there is none here, so the view shows the engine's "
                f"load plan (what the emulator executes). Reason: {self._no_gpu_reason()}")

    # -- parameters, image, mask --------------------------------------------------------------------
    def apply_params(self, p: ConvParams, new_image: bool = False) -> bool:
        """Check ``p`` with the engine; show the grid (or the engine's message). True when valid."""
        self._timer.stop()
        old, self.params = self.params, p
        self.view.set_params(p)
        try:
            geom = tiling.geometry(p.height, p.width, p.mask_size, p.strategy, p.tile)
        except (ValueError, TypeError) as e:
            self.geometry, self.error = None, str(e)
            self.view.set_error(self.error)
            self.view.set_counters(None)
            self.params_rejected.emit(self.error)
            return False
        self.error = ""
        self.view.set_error("")
        self._save()
        if (old.strategy, old.mask_size, old.tile) != (p.strategy, p.mask_size, p.tile):
            self.registers_override = None
        if self.mask.shape[0] != p.mask_size:
            self._remake_mask()
        self.geometry = geom
        self.view.set_grid(grid_display(geom))
        self.select_block(*(self.block or (geom.grid[0] // 2, geom.grid[1] // 2)))
        self._request_counters()
        self._refresh_compare()
        if new_image or self.image is None or self.image.shape != (p.height, p.width):
            self._request_image()
        else:
            self._auto_run()
        return True

    def set_params(self, **changes: Any) -> bool:
        """Change some parameters (``height=``, ``tile=``, ``strategy=``, ...) as the user would."""
        return self.apply_params(ConvParams(**{**self.params.__dict__, **changes}))

    def set_pattern(self, name: str) -> None:
        self.source, self.pattern = "pattern", name
        self.view.set_pattern(name)
        self._save()
        if self.geometry is not None:
            self._request_image()

    def open_image(self, path: str | Path) -> bool:
        """Use an image file (grey levels); the image size becomes the file's. False: see the message."""
        try:
            values = read_image(path)
        except ImageFileError as e:
            self.view.set_message(str(e), error=True)
            return False
        self.source, self.file_values, self.file_name = "file", values, Path(path).name
        self.view.set_message(f"Opened {self.file_name} ({values.shape[0]}×{values.shape[1]}).")
        p = self.params
        self.apply_params(ConvParams(values.shape[0], values.shape[1], p.mask_size, p.tile, p.strategy),
                          new_image=True)
        return True

    def set_mask_kind(self, kind: str) -> None:
        if kind == CUSTOM_MASK or kind not in MASKS:
            return
        self.mask_kind = kind
        self._remake_mask()
        self._save()
        self._auto_run()

    def set_mask_values(self, values: np.ndarray) -> None:
        self.mask_kind, self.mask = CUSTOM_MASK, np.asarray(values, np.float32)
        self.view.set_mask(CUSTOM_MASK, self.mask)
        self._auto_run()

    def _remake_mask(self) -> None:
        k = self.params.mask_size
        if k < 1:
            return
        if self.mask_kind in MASKS:
            self.mask = make_mask(self.mask_kind, k)
        else:          # a typed mask keeps its centre: crop or pad with zeros
            old, new = self.mask, np.zeros((k, k), np.float32)
            n = min(k, old.shape[0])
            a, b = (k - n) // 2, (old.shape[0] - n) // 2
            new[a:a + n, a:a + n] = old[b:b + n, b:b + n]
            self.mask = new
        self.view.set_mask(self.mask_kind, self.mask)

    def _request_image(self) -> None:
        p = self.params
        if self.source == "file" and self.file_values is not None:
            h, w = self.file_values.shape
            resized = "" if (h, w) == (p.height, p.width) else f", {h}×{w} resized to {p.height}×{p.width}"
            self.view.set_source(f"File: {self.file_name}{resized}")
        else:
            self.view.set_source(f"Pattern: {self.pattern}")
        inline = p.height * p.width <= INLINE_IMAGE_PIXELS
        if not inline:
            self.view.set_message(f"Drawing a {p.height}×{p.width} image…")
        self._submit("image", _image_job, (self.source, self.pattern, self.file_values, p.height, p.width),
                     self._on_image, inline=inline)

    def _on_image(self, gen: int, values: np.ndarray) -> None:
        self.image = values
        self.view.set_image(values)
        self.view.set_message("")
        self.run = None
        self._auto_run()

    # -- selection ----------------------------------------------------------------------------------
    def select_block(self, by: int, bx: int, pixel: tuple[int, int] | None = None) -> None:
        """Select block ``(by, bx)`` (clamped to the grid) and an output pixel inside it."""
        geom = self.geometry
        if geom is None:
            return
        by, bx = min(max(0, by), geom.grid[0] - 1), min(max(0, bx), geom.grid[1] - 1)
        rows, cols = geom.block_output(by, bx)
        if pixel is not None:
            self._pixel_offset = (pixel[0] - rows.start, pixel[1] - cols.start)
        elif self._pixel_offset is not None:              # the same place in the next tile
            pixel = (rows.start + self._pixel_offset[0], cols.start + self._pixel_offset[1])
        else:
            pixel = ((rows.start + rows.stop - 1) // 2, (cols.start + cols.stop - 1) // 2)
        self.block = (by, bx)
        self.pixel = (min(max(rows.start, pixel[0]), rows.stop - 1),
                      min(max(cols.start, pixel[1]), cols.stop - 1))
        self._show_block()

    def select_pixel(self, y: int, x: int) -> None:
        """Select output pixel ``(y, x)`` and the block that writes it."""
        if self.geometry is not None:
            t = self.geometry.tile
            self.select_block(y // t[0], x // t[1], (y, x))

    def step(self, dy: int, dx: int, move_pixel: bool = False) -> None:
        """Arrow keys: the next block, or (Shift) the next output pixel, crossing into the next block."""
        if self.geometry is None or self.pixel is None or self.block is None:
            return
        if move_pixel:
            y = min(max(0, self.pixel[0] + dy), self.geometry.height - 1)
            x = min(max(0, self.pixel[1] + dx), self.geometry.width - 1)
            self.select_pixel(y, x)
        else:
            self.select_block(self.block[0] + dy, self.block[1] + dx)
        self.view.canvas.ensure_visible()

    def _record_key(self) -> tuple[Any, ...]:
        p = self.params
        return p.height, p.width, p.mask_size, p.strategy, p.tile, self.block or (0, 0)

    def _show_block(self) -> None:
        geom = self.geometry
        if geom is None or self.block is None:
            return
        records = self.records.get(self._record_key()) if self.hardware_on else None
        self.block_view = block_display(geom, *self.block, records)
        self.view.set_block(self.block_view, self.pixel)
        if self.hardware_on:
            if records is None:
                self._request_hardware()
            else:
                self.view.set_hardware_result(self.block_view.note)
        self.block_applied.emit(*self.block)

    # -- counters -----------------------------------------------------------------------------------
    def _request_counters(self) -> None:
        p = self.params
        if p in self._counters_cache:
            self.counters = self._counters_cache[p]
            self._show_counters()
            return
        self.counters = None
        self.view.set_counters(None, busy=True)
        self._submit("counters", _counters_job, (p,), self._on_counters)

    def _on_counters(self, gen: int, counters: Counters) -> None:
        self._counters_cache[self.params] = counters
        self.counters = counters
        self._show_counters()

    def _registers(self) -> tuple[int, str]:
        p = self.params
        if self.registers_override is not None:
            return self.registers_override, f"{self.registers_override} registers per thread: set by you."
        if (regs := self.kernel_registers.get((p.strategy, p.mask_size, p.tile))) is not None:
            return regs, f"{regs} registers per thread: from the kernel compiled for the last GPU run."
        regs = benchmark_registers(self.benchmark, p.strategy, p.mask_size, p.tile)
        if regs is not None and self.benchmark_path is not None:
            return regs, (f"{regs} registers per thread: what nvcc gave {p.strategy} (mask {p.mask_size}, "
                          f"tile {p.tile}) in {self.benchmark_path.name}.")
        d = occupancy.DEFAULT_REGISTERS
        return d, (f"{d} registers per thread: assumed (no compiled kernel of this configuration seen yet; "
                   f"a GPU run or a benchmark JSON tells).")

    def _show_counters(self) -> None:
        if self.geometry is None or self.counters is None:
            return
        regs, note = self._registers()
        occ = occupancy.occupancy(self.geometry, self.card, regs)
        self.view.set_counters(counters_display(self.geometry, self.counters, occ, regs, note))
        self.counters_applied.emit()

    def set_card(self, name: str) -> None:
        if name in occupancy.CARDS:
            self.card = name
            self._save()
            self._show_counters()

    def set_registers(self, registers: int) -> None:
        self.registers_override = int(registers)
        self._show_counters()

    # -- runs ---------------------------------------------------------------------------------------
    def _auto_run(self) -> None:
        if self.geometry is None or self.image is None:
            return
        if self.gpu or self.image.size <= AUTO_RUN_PIXELS:
            self.run_convolution()
        else:
            self.view.set_run(None, f"Press Run: the emulator takes a while on {self.image.shape[0]}×"
                                    f"{self.image.shape[1]} pixels (progress shown, Cancel stops it).")

    def run_convolution(self) -> None:
        """Convolve the image with the mask: on the GPU when there is one, else on the emulator."""
        p = self.params
        if self.geometry is None or self.image is None:
            return
        if self.image.shape != (p.height, p.width):
            self.view.set_run(None, "The image is still being drawn; run again in a moment.")
            return
        self.view.set_busy(True, 0.0, "Starting…")
        self._submit("run", _run_job, (self.image, self.mask, p.strategy, p.tile, self.gpu, self.gpu_text),
                     self._on_run, on_progress=lambda g, v: self.view.set_busy(True, v[0], v[1]))

    def _on_run(self, gen: int, result: tuple[RunDisplay, int | None]) -> None:
        run, registers = result
        self.run = run
        self.view.set_busy(False)
        self.view.set_run(run)
        if registers:
            self.kernel_registers[(run.strategy, self.params.mask_size, self.params.tile)] = registers
            self._show_counters()
        self.run_finished.emit(gen)

    def cancel(self) -> None:
        """Stop the run and the strategy timing at their next step; their results are dropped."""
        for kind in ("run", "compare"):
            if kind in self._workers:
                self.generation[kind] += 1
                self._stop(kind)
        self.view.set_busy(False, text="Cancelled.")
        self.view.compare.set_busy(False, text="Cancelled.")

    # -- comparing strategies -----------------------------------------------------------------------
    def load_benchmark_file(self, path: str | Path) -> bool:
        try:
            data = load_benchmark(path)
        except ValueError as e:
            self.view.set_compare(None, str(e))
            self.view.set_message(str(e), error=True)
            return False
        self.benchmark, self.benchmark_path = data, Path(path)
        self.show_benchmark()
        self._show_counters()
        return True

    def show_benchmark(self, size: int | None = None, mask: int | None = None) -> None:
        if self.benchmark is None or self.benchmark_path is None:
            return
        sizes, masks = benchmark_choices(self.benchmark)
        if not sizes:
            return
        side = max(self.params.height, self.params.width)
        size = size if size in sizes else min(sizes, key=lambda s: (abs(s - side), s))
        k = self.params.mask_size
        if mask not in masks:
            mask = k if k in masks else (5 if 5 in masks else (masks[0] if masks else 0))
        self.compare_state = ("benchmark", size, mask)
        b = self.benchmark
        source = (f"From {self.benchmark_path.name} ({b.get('benchmark', 'benchmark')}, "
                  f"{str(b.get('timestamp', ''))[:10]}). Orange: the strategy chosen here.")
        self.view.set_compare(compare_from_benchmark(b, source, size, mask, self.params.strategy))
        self.compare_applied.emit("benchmark")

    def time_strategies(self) -> None:
        """Time every strategy the current tile allows on the current image and backend."""
        p = self.params
        if self.geometry is None or self.image is None or self.image.shape != (p.height, p.width):
            return
        self.view.compare.set_busy(True, 0.0, "Timing…")
        self._submit("compare", _compare_job, (self.image, self.mask, self.params.tile, list(self.strategies),
                                               self.gpu), self._on_times,
                     on_progress=lambda g, v: self.view.compare.set_busy(True, v[0], v[1]))

    def _on_times(self, gen: int, result: tuple[dict[str, float], list[str]]) -> None:
        times, skipped = result
        p = self.params
        self.compare_state = ("run", times, skipped, self.gpu, (p.height, p.width, p.mask_size, p.tile))
        self.view.compare.set_busy(False)
        self._refresh_compare()
        self.compare_applied.emit("run")

    def _refresh_compare(self) -> None:
        state = self.compare_state
        if state is None:
            return
        if state[0] == "benchmark":
            self.show_benchmark(state[1], state[2])
            return
        _, times, skipped, gpu, (h, w, k, t) = state
        order = sorted(times, key=times.__getitem__)
        what = "median kernel time (CUDA events)" if gpu else "emulator wall time on this CPU"
        note = ("" if gpu else "The emulator's times show what numpy pays for each strategy's index "
                "arithmetic, not how fast the kernels run on a GPU. ")
        skip = f"Skipped: {'; '.join(skipped)}." if skipped else ""
        self.view.set_compare(CompareDisplay(
            f"{'GPU' if gpu else 'CPU emulator'}: {h}×{w}, mask {k}, tile {t}, {what}", tuple(order),
            tuple(times[s] for s in order),
            tuple("current" if s == self.params.strategy else "ours" for s in order),
            f"Timed here. {note}{skip}"))

    # -- what the hardware did ----------------------------------------------------------------------
    def set_hardware(self, on: bool) -> None:
        self.hardware_on = bool(on) and self.gpu
        self.view.set_hardware(self.gpu, self._hardware_reason(), self.hardware_on)
        if not self.hardware_on:
            self.view.set_hardware_result("")
        self._show_block()

    def _request_hardware(self) -> None:
        p = self.params
        if p.strategy not in tiling.SHARED_STRATEGIES:
            self.view.set_hardware_result(
                f"{p.strategy} loads nothing into shared memory, so there is no load map to record; it works "
                f"with {', '.join(tiling.SHARED_STRATEGIES)}.")
            return
        if self.image is None or self.image.shape != (p.height, p.width):
            return
        self.view.set_hardware_result(f"Recording block {self.block} on the GPU…")
        key = self._record_key()
        self._submit("hardware", _hardware_job, (self.image, self.mask, p.strategy, p.tile, self.block),
                     lambda g, rec: self._on_records(key, rec))

    def _on_records(self, key: tuple[Any, ...], records: dict[str, np.ndarray]) -> None:
        self.records[key] = records
        if key == self._record_key():
            self._show_block()
            self.hardware_applied.emit(*self.block)

    # -- workers ------------------------------------------------------------------------------------
    def _submit(self, kind: str, job: Callable[..., Generator[Any, None, Any]], args: tuple[Any, ...],
                on_result: Callable[[int, Any], None], on_progress: Callable[[int, Any], None] | None = None,
                inline: bool = False) -> int:
        """Run ``job(*args)`` (a generator) for ``kind``; a newer request of that kind drops this one."""
        self.generation[kind] += 1
        gen = self.generation[kind]
        self._stop(kind)
        if inline or not self.asynchronous:
            try:
                result = _drain(job(*args), None if on_progress is None else (lambda v: on_progress(gen, v)))
            except Exception as e:   # shown to the user, as a worker's error would be
                self._on_error(kind, gen, e)
            else:
                on_result(gen, result)
            return gen
        worker = create_worker(job, *args, _start_thread=False)
        if on_progress is not None:
            worker.yielded.connect(lambda v, g=gen: on_progress(g, v) if g == self.generation[kind] else None)
        worker.returned.connect(lambda r, g=gen: self._on_returned(kind, g, on_result, r))
        worker.errored.connect(lambda e, g=gen: self._on_error(kind, g, e))
        worker.finished.connect(lambda g=gen: self._release(kind, g))
        self._workers[kind] = (gen, worker)
        worker.start()
        return gen

    def _on_returned(self, kind: str, gen: int, on_result: Callable[[int, Any], None], result: Any) -> None:
        if gen != self.generation[kind]:
            self.dropped += 1
            return
        self._release(kind, gen)
        on_result(gen, result)

    def _on_error(self, kind: str, gen: int, e: BaseException) -> None:
        if gen != self.generation[kind]:
            self.dropped += 1
            return
        self._release(kind, gen)
        message = str(e) if isinstance(e, ValueError | RuntimeError) else f"{type(e).__name__}: {e}"
        if kind == "run":
            self.view.set_busy(False)
            self.view.set_run(None, f"The run failed: {message}")
            self.run_failed.emit(gen, message)
        elif kind == "compare":
            self.view.compare.set_busy(False, text=f"Timing failed: {message}")
        elif kind == "hardware":
            self.view.set_hardware_result(f"Recording failed: {message}")
        else:
            self.view.set_message(message, error=True)
            if kind == "counters":
                self.view.set_counters(None)

    def _release(self, kind: str, gen: int) -> None:
        if kind in self._workers and self._workers[kind][0] == gen:
            del self._workers[kind]

    def _stop(self, kind: str) -> None:
        entry = self._workers.pop(kind, None)
        if entry is not None:
            entry[1].quit()           # stops at the job's next yield; its result is dropped

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or bool(self._workers)

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    # -- the rest of the explorer protocol ----------------------------------------------------------
    def set_text(self, text: str) -> None:
        """This explorer has no text: accepted and ignored (the main window offers text to every view)."""

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.view, "Open an image", "",
                                              "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)")
        if path:
            self.open_image(path)

    def _open_benchmark_dialog(self) -> None:
        start = str(_BENCH_DIR) if _BENCH_DIR.is_dir() else ""
        path, _ = QFileDialog.getOpenFileName(self.view, "Open a convolution benchmark", start,
                                              "JSON (*.json);;All files (*)")
        if path:
            self.load_benchmark_file(path)

    def shutdown(self) -> None:
        self._timer.stop()
        for kind in list(self._workers):
            self.generation[kind] += 1
            self._stop(kind)
