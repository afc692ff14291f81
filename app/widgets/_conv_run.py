"""Running the convolution (input and output side by side) and comparing strategies' times."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.display import COLORS, CompareDisplay, RunDisplay

__all__ = ["ComparePanel", "RunPanel"]

_BAR_COLORS = {"ours": COLORS["output"], "current": COLORS["input"], "reference": "#999999"}


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # file names and benchmark fields are shown as written
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class RunPanel(QWidget):
    """Signals
    -------
    run_requested()
    cancel_requested()
    """

    run_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.backend = _wrapped()
        self.result = _wrapped("Not run yet.")
        self.images = pg.GraphicsLayoutWidget()
        self.boxes: list[pg.ViewBox] = []
        self.items: list[pg.ImageItem] = []
        for i, title in enumerate(("Input", "Output")):
            self.images.addLabel(title, row=0, col=i)
            box = self.images.addViewBox(row=1, col=i, lockAspect=True, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="row-major")
            item.setAutoDownsample(True)
            box.addItem(item)
            self.boxes.append(box)
            self.items.append(item)
        self.boxes[1].setXLink(self.boxes[0])
        self.boxes[1].setYLink(self.boxes[0])
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        col = QVBoxLayout(self)
        col.addWidget(self.backend)
        col.addLayout(row)
        col.addWidget(self.images, 1)
        col.addWidget(self.result)
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)

    def set_backend(self, text: str) -> None:
        self.backend.setText(text)

    def set_runnable(self, ok: bool) -> None:
        self.run_button.setEnabled(ok)

    def set_busy(self, busy: bool, fraction: float | None = None, text: str = "") -> None:
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        elif fraction is None:
            self.progress.setRange(0, 0)  # busy indicator: no fraction known
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * fraction))
        if text:
            self.result.setText(text)

    def set_run(self, run: RunDisplay | None, message: str = "") -> None:
        if run is None:
            for item in self.items:
                item.clear()
            self.result.setText(message or "Not run yet.")
            return
        for item, values in zip(self.items, (run.input, run.output), strict=True):
            finite = values[np.isfinite(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            item.setImage(values, levels=(lo, hi if hi > lo else lo + 1.0))
        self.boxes[0].autoRange(padding=0.02)
        h, w = run.input.shape
        timing = f"{run.seconds:.3f} s wall"
        if run.kernel_ms is not None:
            timing = f"kernel {run.kernel_ms:.4f} ms (median of CUDA events), {timing}"
        notes = "".join(f"\n{n}" for n in run.notes)
        self.result.setText(f"{run.strategy} on the {run.backend_text}: {h}×{w}, {timing}.{notes}")


class ComparePanel(QWidget):
    """Signals
    -------
    run_requested()
        Time every strategy on the current image.
    open_requested()
        Open a benchmark JSON.
    filter_changed(int, int)
        The benchmark's image side and mask size to show.
    cancel_requested()
    """

    run_requested = Signal()
    open_requested = Signal()
    filter_changed = Signal(int, int)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Time every strategy")
        self.open_button = QPushButton("Open benchmark JSON…")
        self.size_box, self.mask_box = QComboBox(), QComboBox()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button.hide()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(side)
            axis.setPen("#444")
            axis.setTextPen("#222")
        self.plot.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.bars: pg.BarGraphItem | None = None
        self.source = _wrapped("Time the strategies here, or open a benchmark JSON (bench/results).")
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.open_button)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Benchmark image side"))
        filters.addWidget(self.size_box)
        filters.addWidget(QLabel("mask"))
        filters.addWidget(self.mask_box)
        filters.addStretch(1)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        col = QVBoxLayout(self)
        col.addLayout(row)
        col.addLayout(filters)
        col.addLayout(busy)
        col.addWidget(self.title)
        col.addWidget(self.plot, 1)
        col.addWidget(self.source)
        self.run_button.clicked.connect(self.run_requested)
        self.open_button.clicked.connect(self.open_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.size_box.activated.connect(self._on_filter)
        self.mask_box.activated.connect(self._on_filter)

    def _on_filter(self, *_: object) -> None:
        if self.size_box.currentData() is not None and self.mask_box.currentData() is not None:
            self.filter_changed.emit(int(self.size_box.currentData()), int(self.mask_box.currentData()))

    def set_busy(self, busy: bool, fraction: float | None = None, text: str = "") -> None:
        self.cancel_button.setEnabled(busy)
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)
        self.progress.setValue(round(1000 * (fraction or 0.0)))
        if text:
            self.source.setText(text)

    def set_compare(self, c: CompareDisplay | None, message: str = "") -> None:
        item = self.plot.getPlotItem()
        if self.bars is not None:
            item.removeItem(self.bars)
            self.bars = None
        for text in [i for i in item.items if isinstance(i, pg.TextItem)]:
            item.removeItem(text)
        self._set_filters(c)
        if c is None or not c.labels:
            self.title.setText("")
            self.source.setText(message or "No times to compare yet.")
            return
        n = len(c.labels)
        ys = np.arange(n)[::-1]  # first label on top
        brushes = [pg.mkBrush(_BAR_COLORS.get(k, COLORS["output"])) for k in c.kinds]
        self.bars = pg.BarGraphItem(x0=0, y=ys, height=0.7, width=list(c.times_ms), brushes=brushes)
        item.addItem(self.bars)
        for y, t in zip(ys, c.times_ms, strict=True):
            label = pg.TextItem(f" {t:.3g}", anchor=(0, 0.5), color="#222")
            label.setPos(t, y)
            item.addItem(label)
        item.getAxis("left").setTicks([[(int(y), lab) for y, lab in zip(ys, c.labels, strict=True)]])
        item.setLabel("bottom", f"time ({c.unit})")
        self.title.setText(f"<b>{c.title}</b>")
        item.setXRange(0, max(c.times_ms) * 1.25, padding=0)
        item.setYRange(-0.6, n - 0.4, padding=0)
        self.source.setText(message or c.source)

    def _set_filters(self, c: CompareDisplay | None) -> None:
        for box, values, current in (
            (self.size_box, c.sizes if c else (), c.size if c else None),
            (self.mask_box, c.masks if c else (), c.mask if c else None),
        ):
            with QSignalBlocker(box):
                box.clear()
                for v in values:
                    box.addItem(str(v), v)
                if current is not None:
                    box.setCurrentIndex(max(0, box.findData(current)))
            box.setEnabled(bool(values))
