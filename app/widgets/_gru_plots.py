"""pyqtgraph items of the GRU stepper: the gate heatmaps with the unit lines, and the gradient flow.

Each heatmap is an ``ImageItem`` (row-major: units down, steps across) in a ``PlotItem`` with an
inverted y axis and half-pixel offset, and a ``ColorBarItem``: viridis for the gates in [0, 1],
Kovesi's diverging CET-D1 for the candidate and the state in [−1, 1] (both perceptually uniform).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QWidget

from app.display import QUANTITIES

if TYPE_CHECKING:
    from app.display import FlowDisplay, GRUDisplay

__all__ = ["LINE_COLORS", "GatePlots", "GradientFlowPlot", "decade_ticks", "step_ticks"]

# Okabe & Ito's palette (distinguishable with any colour vision), black left out
LINE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
_AXIS = QColor(60, 60, 60)
_LEVELS = {"z": (0.0, 1.0), "r": (0.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}
_MAPS = {"z": "viridis", "r": "viridis", "n": "CET-D1", "h": "CET-D1"}
_LEFT_AXIS_WIDTH = 58
# Moving a step cursor repaints whatever lies under it; cached items are blitted, not redrawn.
_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache


def _cache_curves(*items: pg.PlotDataItem) -> None:
    for it in items:
        it.curve.setCacheMode(_CACHE)
        it.scatter.setCacheMode(_CACHE)


def step_ticks(labels: tuple[str, ...], max_ticks: int = 18, max_chars: int = 9) -> list[tuple[float, str]]:
    """Tick labels for the step axis: every token when few, else every k-th; long ones elided."""
    k = max(1, -(-len(labels) // max(1, max_ticks)))
    return [
        (float(t), s if len(s) <= max_chars else s[: max_chars - 1] + "…")
        for t, s in enumerate(labels)
        if t % k == 0
    ]


def decade_ticks(lo: int, hi: int, most: int = 6) -> list[tuple[float, str]]:
    """Ticks at powers of ten from 10^lo to 10^hi (log10 positions), at most ``most`` of them."""
    k = max(1, -(-(hi - lo) // (most - 1)))
    names = {-1: "0.1", 0: "1", 1: "10"}
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return [(float(e), names.get(e, "10" + str(e).translate(sup))) for e in range(hi, lo - 1, -k)]


def _style(plot: pg.PlotItem) -> None:
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    for name in ("left", "bottom", "top"):
        axis = plot.getAxis(name)
        axis.setPen(_AXIS)
        axis.setTextPen(_AXIS)
        axis.enableAutoSIPrefix(False)  # steps and units are counts: never "(x0.001)"
    plot.getAxis("left").setWidth(_LEFT_AXIS_WIDTH)


def _cosmetic(color: str | QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width)
    pen.setCosmetic(True)
    pen.setStyle(style)
    return pen


class _StepCursor:
    """A black-and-white outline around one step's column (visible on every colour of both maps)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.items = [QGraphicsRectItem(), QGraphicsRectItem()]
        self.items[0].setPen(_cosmetic("black", 3.0))
        self.items[1].setPen(_cosmetic("white", 1.2))
        for it in self.items:
            it.setZValue(10)
            plot.addItem(it)

    def place(self, step: int, height: int) -> None:
        rect = QRectF(step - 0.5, -0.5, 1.0, height)
        for it in self.items:
            it.setRect(rect)
            it.setVisible(height > 0)


class GatePlots(pg.GraphicsLayoutWidget):
    """Heatmaps (units × steps) of z, r, n and h, and a line plot of the picked units, one step axis.

    Signals
    -------
    cell_clicked(int, int)
        The user clicked step ``t`` (first) and unit ``u`` (second; -1 on the line plot).
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.ci.layout.setHorizontalSpacing(2)
        self.ci.layout.setVerticalSpacing(10)
        self.images: dict[str, pg.ImageItem] = {}
        self.heatmaps: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.ColorBarItem] = {}
        self._cursors: list[_StepCursor] = []
        self._unit_lines: list[pg.InfiniteLine] = []
        self._hidden = 0
        self._labels: tuple[str, ...] = ()
        for row, q in enumerate(QUANTITIES):
            plot = self.addPlot(row=row, col=0)
            _style(plot)
            plot.invertY(True)
            plot.setLabel("left", f"{q}: unit", color=_AXIS.name())
            plot.getAxis("bottom").setStyle(showValues=False)
            if row == 0:  # the tokens over the first map: each column is named where it starts
                plot.showAxis("top")
                plot.getAxis("top").setStyle(showValues=True)
            img = pg.ImageItem(axisOrder="row-major")
            img.setCacheMode(_CACHE)  # a step's cursor moves over it: blit, do not rescale the image
            plot.addItem(img)
            bar = pg.ColorBarItem(
                values=_LEVELS[q],
                colorMap=pg.colormap.get(_MAPS[q]),
                interactive=False,
                width=11,
                colorMapMenu=False,
            )
            bar.getAxis("right").setPen(_AXIS)
            bar.getAxis("right").setTextPen(_AXIS)
            bar.getAxis("right").setLabel(q, color=_AXIS.name())  # short: a map may be 80 px tall
            bar.setToolTip(QUANTITIES[q])
            bar.setImageItem(img)
            self.addItem(bar, row=row, col=1)
            for color, style in (("white", Qt.PenStyle.SolidLine), ("black", Qt.PenStyle.DashLine)):
                line = pg.InfiniteLine(angle=0, pen=_cosmetic(color, 1.0, style))  # seen on any colour
                line.setZValue(9)
                plot.addItem(line)
                self._unit_lines.append(line)
            self.images[q], self.heatmaps[q], self.bars[q] = img, plot, bar
            self._cursors.append(_StepCursor(plot))
        self.lines = self.addPlot(row=len(QUANTITIES), col=0)
        _style(self.lines)
        self.lines.showGrid(x=False, y=True, alpha=0.25)
        self.lines.getAxis("left").setCacheMode(_CACHE)  # it draws the grid under the cursor
        self.line_cursor = pg.InfiniteLine(angle=90, pen=_cosmetic("#333333", 1.0, Qt.PenStyle.DashLine))
        self.lines.addItem(self.line_cursor)
        for plot in (*self.heatmaps.values(), self.lines):
            if plot is not self.lines:
                plot.setXLink(self.lines)
        self.scene().sigMouseClicked.connect(self._on_click)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_display(self, d: GRUDisplay | None, labels: tuple[str, ...] = ()) -> None:
        """Draw every heatmap of ``d`` (None clears them); ``labels`` name the steps on the axis."""
        if d is None:
            for img in self.images.values():
                img.clear()
            self._hidden = 0
            self.lines.clear()
            self._labels = ()
            self._tick_steps()
            return
        T, H = d.n_steps, d.hidden_size
        for q, img in self.images.items():
            img.setImage(np.ascontiguousarray(d.values(q).T), autoLevels=False, levels=_LEVELS[q])
            img.setRect(QRectF(-0.5, -0.5, T, H))
            self.heatmaps[q].setYRange(-0.5, H - 0.5, padding=0)
        self.lines.setXRange(-0.5, T - 0.5, padding=0)
        self._labels = labels or d.tokens
        self._hidden = H
        self._tick_steps()

    def _tick_steps(self) -> None:
        """Every k-th token label, k the smallest for which no two neighbouring labels overlap."""
        ticks = None
        if self._labels:
            column = self.lines.vb.width() / len(self._labels) if self.lines.vb.width() > 0 else 20.0
            metrics = self.fontMetrics()
            every = 1
            while every < len(self._labels):
                shown = step_ticks(self._labels, -(-len(self._labels) // every))
                widths = [metrics.horizontalAdvance(s) for _, s in shown]
                gap = (shown[1][0] - shown[0][0]) * column if len(shown) > 1 else float("inf")
                if all((a + b) / 2 + 8 <= gap for a, b in itertools.pairwise(widths)):
                    break
                every += 1
            ticks = [step_ticks(self._labels, -(-len(self._labels) // every))]
        self.lines.getAxis("bottom").setTicks(ticks)
        self.heatmaps[next(iter(self.heatmaps))].getAxis("top").setTicks(ticks)

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        if hasattr(self, "lines"):  # pyqtgraph resizes once inside __init__, before the plots exist
            self._tick_steps()

    def set_step(self, step: int) -> None:
        for c in self._cursors:
            c.place(step, self._hidden)
        self.line_cursor.setPos(step)

    def set_unit(self, unit: int) -> None:
        if self._unit_lines[0].value() != unit:
            for line in self._unit_lines:
                line.setPos(unit)

    def set_lines(self, d: GRUDisplay | None, units: list[int], quantity: str) -> None:
        """Line plots of ``quantity`` over the steps for each unit in ``units``."""
        self.lines.clear()
        self.lines.addItem(self.line_cursor)
        self.lines.setLabel("left", f"{quantity} of units", color=_AXIS.name())
        low, high = _LEVELS[quantity]
        self.lines.setYRange(low, high, padding=0.05)
        if d is None:
            return
        x = np.arange(d.n_steps, dtype=float)
        values = d.values(quantity)
        for i, u in enumerate(units):
            if 0 <= u < d.hidden_size:
                color = LINE_COLORS[i % len(LINE_COLORS)]
                item = self.lines.plot(
                    x,
                    values[:, u],
                    pen=pg.mkPen(color, width=2),
                    symbol="o",
                    symbolSize=5,
                    symbolBrush=color,
                    symbolPen=None,
                    name=f"unit {u}",
                )
                _cache_curves(item)

    # -- input --------------------------------------------------------------------------------------
    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        for plot, is_map in ((*self.heatmaps.values(),), True), ((self.lines,), False):
            for p in plot:
                if p.vb.sceneBoundingRect().contains(pos):
                    pt = p.vb.mapSceneToView(pos)
                    self.cell_clicked.emit(round(pt.x()), round(pt.y()) if is_map else -1)
                    return


class GradientFlowPlot(pg.PlotWidget):
    """``‖∂h_T/∂h_t‖`` against the step t on a log scale, GRU and plain tanh RNN."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        plot = self.getPlotItem()
        _style(plot)
        plot.getAxis("left").setWidth(70)
        plot.setLogMode(False, True)
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.setLabel("left", "‖∂h<sub>T</sub> / ∂h<sub>t</sub>‖", color=_AXIS.name())
        plot.setLabel("bottom", "step t", color=_AXIS.name())
        self.gru = plot.plot(
            [],
            [],
            pen=pg.mkPen(LINE_COLORS[0], width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=LINE_COLORS[0],
            symbolPen=None,
            name="GRU (trained)",
        )
        self.rnn = plot.plot(
            [],
            [],
            pen=pg.mkPen(LINE_COLORS[1], width=2, style=Qt.PenStyle.DashLine),
            symbol="s",
            symbolSize=5,
            symbolBrush=LINE_COLORS[1],
            symbolPen=None,
            name="plain tanh RNN (random)",
        )
        _cache_curves(self.gru, self.rnn)
        self.cursor = pg.InfiniteLine(angle=90, pen=_cosmetic("#333333", 1.0, Qt.PenStyle.DashLine))
        plot.addItem(self.cursor)
        self.flow: FlowDisplay | None = None

    def set_flow(self, flow: FlowDisplay | None) -> None:
        self.flow = flow
        if flow is None:
            self.gru.setData([], [])
            self.rnn.setData([], [])
            return
        x = np.arange(len(flow.gru), dtype=float)
        tiny = 1e-30  # an RNN's gradient can underflow to 0, which a log axis cannot show
        gru, rnn = np.maximum(flow.gru, tiny), np.maximum(flow.rnn, tiny)
        self.gru.setData(x, gru)
        self.rnn.setData(x, rnn)
        plot = self.getPlotItem()
        plot.setXRange(-0.5, len(x) - 0.5, padding=0)
        values = np.concatenate([gru, rnn])
        lo, hi = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
        lo = min(lo, hi - 1)
        plot.setYRange(lo, hi, padding=0.08)  # log10 units in log mode
        plot.getAxis("left").setTicks([decade_ticks(int(lo), int(hi))])
        every = max(1, len(x) // 8)
        plot.getAxis("bottom").setTicks([[(float(t), str(t + 1)) for t in range(0, len(x), every)]])

    def set_step(self, step: int) -> None:
        self.cursor.setPos(step)
