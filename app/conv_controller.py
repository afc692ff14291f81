"""Controller of the Convolution tiles explorer: parameters, image, mask, the selected block, counters.

Wiring: the view's parameter edits (debounced, superqt) are checked by :func:`engine.tiling.geometry`;
its ``ValueError`` message is shown inline and nothing else changes. A valid configuration's geometry
is built once and passed down: the presenters (:mod:`app.present`) turn it into a ``GridDisplay``,
the selected block into a ``BlockDisplay`` (output tile, input tile, ghost mask, load plan,
thread-to-output map), so the view draws exactly what the kernels and the emulator use. The tabs with
work of their own (Run, Compare, Hardware) are controllers in :mod:`app.conv_tabs`; all slow work goes
through one job runner (:mod:`app.jobs`), one lane per kind ("image", "counters", "run", "compare",
"hardware"), a newer request stopping the older at its next yield. With ``asynchronous=False``
(screenshots, tests) the same generators run inline.

Runs use the GPU (PyCUDA) when :func:`engine.conv_cuda.cuda_available` says so, else the CPU
emulator, in bands of block rows so it can report progress and stop between bands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog
from superqt.utils import QSignalDebouncer

from app.context import setting_number
from app.conv_tabs import AUTO_RUN_PIXELS, CompareTab, HardwareTab, RunTab
from app.display import BlockDisplay, ConvParams
from app.jobs import Jobs
from app.present import (
    benchmark_registers,
    block_display,
    counters_display,
    counters_job,
    grid_display,
    image_job,
    mma_display,
    roofline_display,
)
from app.widgets import ConvView
from app.widgets._conv_params import CUSTOM_MASK
from engine import conv_cuda, occupancy, tiling
from engine.conv_emulator import Counters
from engine.images import MASKS, PATTERNS, ImageFileError, check_image_size, make_mask, read_image

if TYPE_CHECKING:
    from app.context import AppContext
    from app.display import RunDisplay
    from engine.tiling import TileGeometry

__all__ = ["AUTO_RUN_PIXELS", "ConvController"]

DEBOUNCE_MS = 120
INLINE_IMAGE_PIXELS = 1 << 20  # larger patterns are drawn in a worker


class ConvController(QObject):
    """Owns the convolution view, its parameters, image, mask and selection, and the tab controllers.

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
        self.jobs = Jobs(asynchronous, self)
        self.strategies = list(tiling.ALL_STRATEGIES)  # read at run time: strategies get added
        self.params = ConvParams()
        self.geometry: TileGeometry | None = None
        self.error = ""
        self.source, self.pattern = "pattern", "circles"
        self.file_values: np.ndarray | None = None
        self.file_name = ""
        self.image: np.ndarray | None = None
        self.mask_kind = "Gaussian"
        self.mask = make_mask(self.mask_kind, self.params.mask_size)
        self.block: tuple[int, int] | None = None  # None: start on the middle block
        self.pixel: tuple[int, int] | None = None
        self._pixel_offset: tuple[int, int] | None = None  # the chosen pixel's place in its tile
        self.block_view: BlockDisplay | None = None
        self.card = occupancy.DEFAULT_CARD
        self.registers_override: int | None = None
        self.mma_choice = (0, 0, 0)  # Tensor cores tab: warp, mask row, chunk
        self.kernel_registers: dict[tuple[str, int, int], int] = {}
        self.counters: Counters | None = None
        self._counters_cache: dict[ConvParams, Counters] = {}
        self._edited = False
        self._debounce = QSignalDebouncer(parent=self)
        self._debounce.setTimeout(DEBOUNCE_MS)
        self._debounce.triggered.connect(self._on_debounced)
        self.gpu = conv_cuda.cuda_available()
        self.gpu_text = self._describe_gpu()
        self.runs, self.compare, self.hardware = RunTab(self), CompareTab(self), HardwareTab(self)
        self._restore()
        self.view.set_choices(self.strategies, list(PATTERNS), list(MASKS), list(occupancy.CARDS))
        self.view.set_pattern(self.pattern)
        self.view.set_mask(self.mask_kind, self.mask)
        self.view.set_backend(self._backend_text())
        self.view.set_hardware(self.gpu, self.hardware.reason())
        self._wire()
        self.compare.load_packaged()
        self.apply_params(self.params, new_image=True)

    # -- what the tabs and tests read ---------------------------------------------------------------
    @property
    def asynchronous(self) -> bool:
        return self.jobs.asynchronous

    @property
    def run(self) -> RunDisplay | None:
        return self.runs.run

    @property
    def hardware_on(self) -> bool:
        return self.hardware.on

    @property
    def compare_state(self) -> tuple[Any, ...] | None:
        return self.compare.state

    # -- wiring and settings ------------------------------------------------------------------------
    def _wire(self) -> None:
        v = self.view
        v.params_changed.connect(self._on_params_edited)
        v.pattern_selected.connect(self.set_pattern)
        v.open_image_requested.connect(self._open_image_dialog)
        v.mask_kind_selected.connect(self.set_mask_kind)
        v.mask_edited.connect(self.set_mask_values)
        v.pixel_clicked.connect(self.select_pixel)
        v.step_requested.connect(self.step)
        v.run_requested.connect(self.run_convolution)
        v.cancel_requested.connect(self.cancel)
        v.compare_run_requested.connect(self.time_strategies)
        v.benchmark_open_requested.connect(self.compare.open_dialog)
        v.benchmark_filter_changed.connect(self.show_benchmark)
        v.card_changed.connect(self.set_card)
        v.registers_changed.connect(self.set_registers)
        v.hardware_toggled.connect(self.set_hardware)
        v.hardware_record_requested.connect(lambda: self.set_hardware(True))
        v.mma_selection_changed.connect(self.select_mma)

    def _restore(self) -> None:
        """The last session's settings, each checked as a user's input is: a hand-edited or stale
        file (a 100000 x 100000 image) falls back to the defaults instead of allocating gigabytes."""
        s = self.context.settings
        if s is None:
            return
        try:
            defaults = (("height", 100), ("width", 150), ("mask_size", 5), ("tile", 16))
            height, width, mask_size, tile = (
                int(setting_number(s.value(f"conv/{k}"), d)) for k, d in defaults
            )
            p = ConvParams(height, width, mask_size, tile, str(s.value("conv/strategy", "output_tile")))
            tiling.geometry(p.height, p.width, p.mask_size, p.strategy, p.tile)
            check_image_size(p.height, p.width)
            self.params = p
        except (TypeError, ValueError):
            self.params = ConvParams()
        pattern, kind, card = (
            str(s.value(f"conv/{k}", d))
            for k, d in (("pattern", "circles"), ("mask_kind", "Gaussian"), ("card", self.card))
        )
        self.pattern = pattern if pattern in PATTERNS else "circles"
        self.mask_kind = kind if kind in MASKS else "Gaussian"
        self.card = card if card in occupancy.CARDS else occupancy.DEFAULT_CARD
        self.mask = make_mask(self.mask_kind, self.params.mask_size)

    def _save(self) -> None:
        s = self.context.settings
        if s is None:
            return
        p = self.params
        for key, value in (
            ("height", p.height),
            ("width", p.width),
            ("mask_size", p.mask_size),
            ("tile", p.tile),
            ("strategy", p.strategy),
            ("pattern", self.pattern),
            ("mask_kind", self.mask_kind if self.mask_kind in MASKS else "Gaussian"),
            ("card", self.card),
        ):
            s.setValue(f"conv/{key}", value)

    def _describe_gpu(self) -> str:
        if not self.gpu:
            return ""
        try:
            return f"GPU: {conv_cuda.describe_gpu()}"
        except (conv_cuda.NoGPUError, RuntimeError) as e:
            return f"GPU ({e})"

    def no_gpu_reason(self) -> str:
        try:
            conv_cuda.describe_gpu()
        except Exception as e:
            return str(e)
        return "the GPU could not be used"

    def _backend_text(self) -> str:
        if self.gpu:
            return f"Runs on the {self.gpu_text} (PyCUDA kernels from kernels/conv2d.cu)."
        reason = self.no_gpu_reason()
        return (
            f"Runs on the CPU emulator (each strategy's index arithmetic in numpy, block by block): "
            f"no GPU here ({reason.split(';')[0]})."
        )

    # -- parameters, image, mask --------------------------------------------------------------------
    def _on_params_edited(self, _params: Any) -> None:
        if self.asynchronous:
            self._edited = True
            self._debounce.throttle()
        else:
            self.apply_params(self.view.params.params())

    def _on_debounced(self) -> None:
        if self._edited:
            self.apply_params(self.view.params.params())

    def apply_params(self, p: ConvParams, new_image: bool = False) -> bool:
        """Check ``p`` with the engine; show the grid (or the engine's message). True when valid."""
        self._edited = False
        old, self.params = self.params, p
        self.view.set_params(p)
        try:
            geom = tiling.geometry(p.height, p.width, p.mask_size, p.strategy, p.tile)
            check_image_size(p.height, p.width)
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
        self.compare.refresh()
        if new_image or self.image is None or self.image.shape != (p.height, p.width):
            self._request_image()
        else:
            self.runs.auto_run()
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
        self.apply_params(
            ConvParams(values.shape[0], values.shape[1], p.mask_size, p.tile, p.strategy), new_image=True
        )
        return True

    def set_mask_kind(self, kind: str) -> None:
        if kind == CUSTOM_MASK or kind not in MASKS:
            return
        self.mask_kind = kind
        self._remake_mask()
        self._save()
        self.runs.auto_run()

    def set_mask_values(self, values: np.ndarray) -> None:
        self.mask_kind, self.mask = CUSTOM_MASK, np.asarray(values, np.float32)
        self.view.set_mask(CUSTOM_MASK, self.mask)
        self.runs.auto_run()

    def _remake_mask(self) -> None:
        k = self.params.mask_size
        if k < 1:
            return
        if self.mask_kind in MASKS:
            self.mask = make_mask(self.mask_kind, k)
        else:  # a typed mask keeps its centre: crop or pad with zeros
            old, new = self.mask, np.zeros((k, k), np.float32)
            n = min(k, old.shape[0])
            a, b = (k - n) // 2, (old.shape[0] - n) // 2
            new[a : a + n, a : a + n] = old[b : b + n, b : b + n]
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
        self.jobs.submit(
            "image",
            image_job,
            self.source,
            self.pattern,
            self.file_values,
            p.height,
            p.width,
            on_result=self._on_image,
            on_error=self._on_error,
            inline=inline,
        )

    def _on_image(self, _gen: int, values: np.ndarray) -> None:
        self.image = values
        self.view.set_image(values)
        self.view.set_message("")
        self.runs.run = None
        self.runs.auto_run()

    def _on_error(self, _gen: int, message: str) -> None:
        self.view.set_message(message, error=True)

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
        elif self._pixel_offset is not None:  # the same place in the next tile
            pixel = (rows.start + self._pixel_offset[0], cols.start + self._pixel_offset[1])
        else:
            pixel = ((rows.start + rows.stop - 1) // 2, (cols.start + cols.stop - 1) // 2)
        self.block = (by, bx)
        self.pixel = (
            min(max(rows.start, pixel[0]), rows.stop - 1),
            min(max(cols.start, pixel[1]), cols.stop - 1),
        )
        self.show_block()

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

    def show_block(self) -> None:
        geom = self.geometry
        if geom is None or self.block is None:
            return
        records = self.hardware.recorded()
        self.block_view = block_display(geom, *self.block, records)
        self.view.set_block(self.block_view, self.pixel)
        if self.hardware.on:
            if records is None:
                self.hardware.request()
            else:
                self.view.set_hardware_result(self.block_view.note)
        self.show_mma()
        self.block_applied.emit(*self.block)

    # -- tensor cores tab ---------------------------------------------------------------------------
    def select_mma(self, warp: int, row: int, chunk: int) -> None:
        """Tensor cores tab: show warp ``warp``'s MMAs for mask row ``row`` and input chunk ``chunk``."""
        self.mma_choice = (int(warp), int(row), int(chunk))
        self.show_mma()

    def show_mma(self) -> None:
        """The selected block's MMA matrices (tensorcore only) and the roofline for the card and mask."""
        geom = self.geometry
        mma = None
        if geom is not None and self.block is not None:
            mma = mma_display(geom, *self.block, *self.mma_choice)
        self.view.set_mma(mma, roofline_display(self.card, self.params.mask_size))

    # -- counters -----------------------------------------------------------------------------------
    def _request_counters(self) -> None:
        p = self.params
        if p in self._counters_cache:
            self.counters = self._counters_cache[p]
            self.show_counters()
            return
        self.counters = None
        self.view.set_counters(None, busy=True)
        self.jobs.submit(
            "counters",
            counters_job,
            self.geometry,
            on_result=self._on_counters,
            on_error=self._on_counters_error,
        )

    def _on_counters(self, _gen: int, counters: Counters) -> None:
        self._counters_cache[self.params] = counters
        self.counters = counters
        self.show_counters()

    def _on_counters_error(self, _gen: int, message: str) -> None:
        self.view.set_message(message, error=True)
        self.view.set_counters(None)

    def _registers(self) -> tuple[int, str]:
        p = self.params
        if self.registers_override is not None:
            return self.registers_override, f"{self.registers_override} registers per thread: set by you."
        if (regs := self.kernel_registers.get((p.strategy, p.mask_size, p.tile))) is not None:
            return regs, f"{regs} registers per thread: from the kernel compiled for the last GPU run."
        regs = benchmark_registers(self.compare.benchmark, p.strategy, p.mask_size, p.tile)
        if regs is not None and self.compare.benchmark_path is not None:
            return regs, (
                f"{regs} registers per thread: what nvcc gave {p.strategy} (mask {p.mask_size}, "
                f"tile {p.tile}) in {self.compare.benchmark_path.name}."
            )
        d = occupancy.DEFAULT_REGISTERS
        return d, (
            f"{d} registers per thread: assumed (no compiled kernel of this configuration seen yet; "
            f"a GPU run or a benchmark JSON tells)."
        )

    def show_counters(self) -> None:
        if self.geometry is None or self.counters is None:
            return
        regs, note = self._registers()
        occ = occupancy.occupancy(self.geometry, self.card, regs)
        self.view.set_counters(counters_display(self.geometry, self.counters, occ, regs, note))
        self.counters_applied.emit()

    def kernel_registers_seen(self, strategy: str, registers: int) -> None:
        """A GPU run compiled ``strategy`` for this mask and tile with ``registers`` per thread."""
        self.kernel_registers[(strategy, self.params.mask_size, self.params.tile)] = registers
        self.show_counters()

    def set_card(self, name: str) -> None:
        if name in occupancy.CARDS:
            self.card = name
            self._save()
            self.show_counters()
            self.show_mma()

    def set_registers(self, registers: int) -> None:
        self.registers_override = int(registers)
        self.show_counters()

    # -- the tabs' actions, as the view and the tests call them -------------------------------------
    def run_convolution(self) -> None:
        self.runs.start()

    def cancel(self) -> None:
        """Stop the run and the strategy timing at their next step; their results are dropped."""
        self.jobs.cancel("run")
        self.jobs.cancel("compare")
        self.view.set_busy(False, text="Cancelled.")
        self.view.compare.set_busy(False, text="Cancelled.")

    def load_benchmark_file(self, path: str | Path) -> bool:
        return self.compare.load(path)

    def show_benchmark(self, size: int | None = None, mask: int | None = None) -> None:
        self.compare.show_benchmark(size, mask)

    def time_strategies(self) -> None:
        self.compare.time_strategies()

    def set_hardware(self, on: bool) -> None:
        self.hardware.set_on(on)

    # -- the rest of the explorer protocol ----------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._edited or self.jobs.busy

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return self.jobs.wait_idle(timeout_ms, also=lambda: self.busy)

    def set_text(self, text: str) -> None:
        """This explorer has no text: accepted and ignored (the main window offers text to every view)."""

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.view, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)"
        )
        if path:
            self.open_image(path)

    # -- exports (File → Export; app.explorers.Exportable) ------------------------------------------
    def export_formats(self) -> list[tuple[str, str]]:
        from app.exports import CONV_FORMATS

        return list(CONV_FORMATS)

    def save(self, path: str | Path) -> Path:
        from app.exports import save_conv

        return save_conv(self, path)

    def shutdown(self) -> None:
        self._edited = False
        self._debounce.cancel()
        self.jobs.shutdown()
