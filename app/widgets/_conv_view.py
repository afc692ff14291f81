"""The Convolution tiles explorer's view: parameters | image with the block grid | block, counters, runs.

It paints plain data (``_conv_data``) and reports what the user does; the controller
(``app/conv_controller.py``) validates with the engine and decides what happens. ``set_*`` methods
never emit signals. Hovering threads and slots and stepping the phases is display state, kept here.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.display import (
    BlockDisplay,
    CompareDisplay,
    ConvParams,
    CountersDisplay,
    GridDisplay,
    MmaDisplay,
    RooflineDisplay,
    RunDisplay,
)
from app.widgets._adaptive import AdaptivePanes
from app.widgets._conv_block import ThreadsPanel
from app.widgets._conv_canvas import ConvCanvas
from app.widgets._conv_mma import MmaPanel
from app.widgets._conv_panels import CountersPanel, HardwarePanel
from app.widgets._conv_params import ParamsPanel
from app.widgets._conv_run import ComparePanel, RunPanel

__all__ = ["ConvView"]


class ConvView(QWidget):
    """Signals
    -------
    params_changed(object)
        A :class:`ConvParams` (size, mask size, tile or strategy edited).
    pattern_selected(str), open_image_requested(), mask_kind_selected(str), mask_edited(object)
        Image and mask sources (see :class:`ParamsPanel`).
    pixel_clicked(int, int)
        Image pixel ``(y, x)`` clicked: select its block and that output pixel.
    step_requested(int, int, bool)
        Arrow keys ``(dy, dx)``; True with Shift (move the output pixel).
    run_requested(), cancel_requested()
    compare_run_requested(), benchmark_open_requested(), benchmark_filter_changed(int, int)
    card_changed(str), registers_changed(int)
    hardware_toggled(bool), hardware_record_requested()
    thread_hovered(int, int), phase_changed(int)
        Display-only interactions, for whoever wants to follow them.
    mma_selection_changed(int, int, int)
        Tensor cores tab: warp, mask row and chunk chosen.
    """

    params_changed = Signal(object)
    pattern_selected = Signal(str)
    open_image_requested = Signal()
    mask_kind_selected = Signal(str)
    mask_edited = Signal(object)
    pixel_clicked = Signal(int, int)
    step_requested = Signal(int, int, bool)
    run_requested = Signal()
    cancel_requested = Signal()
    compare_run_requested = Signal()
    benchmark_open_requested = Signal()
    benchmark_filter_changed = Signal(int, int)
    card_changed = Signal(str)
    registers_changed = Signal(int)
    hardware_toggled = Signal(bool)
    hardware_record_requested = Signal()
    thread_hovered = Signal(int, int)
    phase_changed = Signal(int)
    mma_selection_changed = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.params = ParamsPanel()
        self.canvas = ConvCanvas()
        self.threads = ThreadsPanel()
        self.counters = CountersPanel()
        self.run_panel = RunPanel()
        self.compare = ComparePanel()
        self.hardware = HardwarePanel()
        self.mma = MmaPanel()
        self.tabs = QTabWidget()
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.message.setWordWrap(True)
        self._build()
        self._forward()
        for sig in (self.threads.thread_hovered, self.threads.slot_hovered, self.threads.step_changed):
            sig.connect(self._update_highlight)

    def _build(self) -> None:
        left = QScrollArea()
        left.setWidget(self.params)
        left.setWidgetResizable(True)
        left.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left.setMinimumWidth(270)
        left.setMaximumWidth(360)
        for widget, title in (
            (self.counters, "Counters"),
            (self.run_panel, "Run"),
            (self.compare, "Compare"),
            (self.hardware, "Hardware"),
            (self.mma, "Tensor cores"),
        ):
            self.tabs.addTab(widget, title)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.threads)
        right.addWidget(self.tabs)
        right.setSizes([470, 370])  # the counters tab scrolls; the threads need the room
        right.setMinimumWidth(380)
        center = QWidget()
        center.setMinimumWidth(420)  # below this the image is too small to click a block in
        col = QVBoxLayout(center)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.canvas, 1)
        col.addWidget(self.message)
        # Narrower than the three columns need (a 1024 px laptop), the parameters and the block's
        # panels become two tabs beside the image.
        self.panes = AdaptivePanes(
            [("Parameters", left), ("Image", center), ("Block", right)], main=1, sizes=[300, 620, 460]
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.panes)

    def _forward(self) -> None:
        p, c = self.params, self.canvas
        pairs = [
            (p.params_changed, self.params_changed),
            (p.pattern_selected, self.pattern_selected),
            (p.open_image_requested, self.open_image_requested),
            (p.mask_kind_selected, self.mask_kind_selected),
            (p.mask_edited, self.mask_edited),
            (c.pixel_clicked, self.pixel_clicked),
            (c.step_requested, self.step_requested),
            (self.run_panel.run_requested, self.run_requested),
            (self.run_panel.cancel_requested, self.cancel_requested),
            (self.compare.cancel_requested, self.cancel_requested),
            (self.compare.run_requested, self.compare_run_requested),
            (self.compare.open_requested, self.benchmark_open_requested),
            (self.compare.filter_changed, self.benchmark_filter_changed),
            (self.counters.card_changed, self.card_changed),
            (self.counters.registers_changed, self.registers_changed),
            (self.hardware.toggled, self.hardware_toggled),
            (self.hardware.record_requested, self.hardware_record_requested),
            (self.threads.thread_hovered, self.thread_hovered),
            (self.threads.step_changed, self.phase_changed),
            (self.mma.selection_changed, self.mma_selection_changed),
        ]
        for source, target in pairs:
            source.connect(target)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_choices(
        self, strategies: list[str], patterns: list[str], mask_kinds: list[str], cards: list[str]
    ) -> None:
        self.params.set_choices(strategies, patterns, mask_kinds)
        self.counters.set_cards(cards)

    def set_params(self, params: ConvParams) -> None:
        self.params.set_params(params)

    def set_pattern(self, name: str) -> None:
        self.params.set_pattern(name)

    def set_mask(self, kind: str, values: np.ndarray) -> None:
        self.params.set_mask(kind, values)

    def set_source(self, text: str) -> None:
        self.params.set_source(text)

    def set_error(self, text: str) -> None:
        """The engine's message for invalid parameters ("" when they are valid)."""
        self.params.set_error(text)
        self.run_panel.set_runnable(not text)
        self.compare.run_button.setEnabled(not text)

    def set_image(self, values: np.ndarray | None) -> None:
        self.canvas.set_image(values)

    def set_grid(self, grid: GridDisplay | None) -> None:
        self.canvas.set_grid(grid)

    def set_block(self, block: BlockDisplay | None, pixel: tuple[int, int] | None) -> None:
        self.canvas.set_block(block, pixel)
        self.threads.set_block(block, pixel)
        self._update_highlight()

    def set_counters(self, counters: CountersDisplay | None, busy: bool = False) -> None:
        self.counters.set_counters(counters, busy)

    def set_mma(self, mma: MmaDisplay | None, roofline: RooflineDisplay | None) -> None:
        self.mma.set_mma(mma)
        self.mma.set_roofline(roofline)

    def set_backend(self, text: str) -> None:
        self.run_panel.set_backend(text)

    def set_busy(self, busy: bool, fraction: float | None = None, text: str = "") -> None:
        self.run_panel.set_busy(busy, fraction, text)

    def set_run(self, run: RunDisplay | None, message: str = "") -> None:
        self.run_panel.set_run(run, message)

    def set_compare(self, compare: CompareDisplay | None, message: str = "") -> None:
        self.compare.set_compare(compare, message)

    def set_hardware(self, available: bool, reason: str, checked: bool = False) -> None:
        self.hardware.set_available(available, reason)
        self.hardware.set_checked(checked and available)

    def set_hardware_result(self, text: str) -> None:
        self.hardware.set_result(text)

    def set_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: palette(mid);")

    def _update_highlight(self, *_: object) -> None:
        self.canvas.set_highlight(*self.threads.highlight())
