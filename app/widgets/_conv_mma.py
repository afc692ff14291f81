"""The "Tensor cores" tab: one MMA's A, B and D matrices with lane ownership, and the roofline."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.display import MmaDisplay, RooflineDisplay

__all__ = ["MmaPanel"]

_CELL_W, _CELL_H, _SMALL_W = 34, 26, 24
_GAP, _TITLE_H = 18, 18


def lane_color(lane: int) -> QColor:
    """Lanes 4g + t: hue by group g (8 hues), lightness by t, so a lane's four A elements share a colour."""
    g, t = divmod(int(lane), 4)
    return QColor.fromHsv((g * 45) % 360, 90 + 30 * t, 245 - 18 * t)


class MatrixCanvas(QWidget):
    """A (16 x 8, input coordinates), the BF16 MMA's A (16 x 16, which part of which column), D (16 x 8,
    lanes) and B of every step (8 x 8, taps), coloured by the lane that holds each element."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mma: MmaDisplay | None = None
        self.setMouseTracking(True)
        self.setMinimumWidth(8 * _CELL_W + 4)

    def set_mma(self, mma: MmaDisplay | None) -> None:
        self.mma = mma
        self.updateGeometry()
        self.update()

    def _layout(self, width: int | None = None) -> list[tuple[str, float, float, int, int, float]]:
        """(what, x, y, rows, cols, cell width) of each matrix: A, D, then B of each step, left to right,
        wrapping to a new row where ``width`` (default: the widget's) runs out."""
        if self.mma is None:
            return []
        limit = max(8 * _CELL_W, self.width() if width is None else width)
        items = [("A", 16, 8, float(_CELL_W)), ("A16", 16, 16, _CELL_W / 2)]  # as wide as A
        items += [("D", 16, 8, float(_SMALL_W))]
        items += [(f"B{s}", 8, 8, float(_SMALL_W)) for s in range(self.mma.b_taps.shape[0])]
        out: list[tuple[str, float, float, int, int, float]] = []
        x, y, row_h = 0.0, float(_TITLE_H), 0.0
        for what, rows, cols, w in items:
            if x > 0 and x + cols * w > limit:
                x, y, row_h = 0.0, y + row_h + _TITLE_H + 4, 0.0
            out.append((what, x, y, rows, cols, w))
            x += cols * w + _GAP
            row_h = max(row_h, rows * _CELL_H)
        return out

    def needed_height(self, width: int) -> int:
        parts = self._layout(width)
        return int(max((y + rows * _CELL_H for _, _, y, rows, _, _ in parts), default=40)) + 2

    def sizeHint(self) -> QSize:
        return QSize(8 * _CELL_W + 8 * _SMALL_W + _GAP, self.needed_height(self.width()))

    def resizeEvent(self, event: Any) -> None:
        self.setMinimumHeight(self.needed_height(self.width()))
        super().resizeEvent(event)

    def _cell(self, x: float, y: float) -> tuple[str, int, int] | None:
        for what, x0, y0, rows, cols, w in self._layout():
            c, r = int((x - x0) // w), int((y - y0) // _CELL_H)
            if 0 <= r < rows and 0 <= c < cols and x >= x0 and y >= y0:
                return what, r, c
        return None

    def mouseMoveEvent(self, event: object) -> None:
        m, pos = self.mma, event.position()  # type: ignore[attr-defined]
        hit = self._cell(pos.x(), pos.y())
        if m is None or hit is None:
            self.setToolTip("")
            return
        what, r, c = hit
        if what == "A":
            where = "outside the image: 0" if m.a_ghost[r, c] else "input"
            tip = (
                f"A[{r}, {c}] = {where} ({m.a_in_y[r, c]}, {m.a_in_x[r, c]}); chunk column "
                f"{m.kk_column[c]}; lane {m.a_lane[r, c]}, register a{m.a_reg[r, c]}"
            )
        elif what == "A16":
            col, kk = int(m.a16_column[c]), int(m.a16_kk[c])
            part = "l = x − tf32(x)" if c < 8 else "x"
            tip = (
                f"BF16 A[{r}, {c}] = {part} of input ({m.a_in_y[r, kk]}, {m.a_in_x[r, kk]}), chunk column "
                f"{col}, in BF16; lane {m.a16_lane[r, c]}, half a{m.a16_reg[r, c]} (the lane that holds "
                f"it in the TF32 A: {m.a_lane[r, kk]})"
            )
        elif what == "D":
            tip = f"D[{r}, {c}]: lane {m.c_lane[r, c]}, register c{m.c_reg[r, c]}"
        else:
            s = int(what[1:])
            tap = int(m.b_taps[s, r, c])
            value = f"M[{m.mask_row}, {tap}]" if tap >= 0 else "0 (outside the band)"
            tip = f"B step {s}: B[{r}, {c}] = {value}; lane {m.b_lane[r, c]}, register b{m.b_reg[r, c]}"
        self.setToolTip(tip)

    def paintEvent(self, _event: object) -> None:
        m = self.mma
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        p.fillRect(self.rect(), pal.window())
        if m is None:
            p.drawText(
                self.rect(), Qt.AlignmentFlag.AlignLeft, "Choose the tensorcore strategy to see its MMAs."
            )
            return
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.72))
        serving = {s for _, s in m.serves}
        for what, x0, y0, rows, cols, w in self._layout():
            p.setFont(self.font())
            p.setPen(pal.windowText().color())
            if what == "A":
                title = "A: input (row, col)"
            elif what == "A16":
                title = "BF16 A: [l | x]"
            elif what == "D":
                title = "D: lanes"
            else:
                s = int(what[1:])
                title = f"B step {s}" + (" ←" if s in serving else "")
            p.drawText(
                QRectF(x0, y0 - _TITLE_H, cols * w + _GAP, _TITLE_H), Qt.AlignmentFlag.AlignLeft, title
            )
            p.setFont(small)
            for r in range(rows):
                for c in range(cols):
                    rect = QRectF(x0 + c * w, y0 + r * _CELL_H, w, _CELL_H)
                    if what == "A":
                        lane, text = int(m.a_lane[r, c]), f"{m.a_in_y[r, c]}\n{m.a_in_x[r, c]}"
                        fill = QColor(220, 220, 220) if m.a_ghost[r, c] else lane_color(lane)
                    elif what == "A16":  # grey where the TF32 A is: the input lies outside the image
                        lane, text = int(m.a16_lane[r, c]), ("l" if c < 8 else "x")
                        fill = QColor(220, 220, 220) if m.a_ghost[r, m.a16_kk[c]] else lane_color(lane)
                    elif what == "D":
                        lane, text = int(m.c_lane[r, c]), str(int(m.c_lane[r, c]))
                        fill = lane_color(lane)
                    else:
                        tap = int(m.b_taps[int(what[1:]), r, c])
                        lane, text = int(m.b_lane[r, c]), (str(tap) if tap >= 0 else "")
                        fill = lane_color(lane) if tap >= 0 else QColor(245, 245, 245)
                    p.fillRect(rect, fill)
                    p.setPen(QPen(QColor(150, 150, 150), 0.5))
                    p.drawRect(rect)
                    p.setPen(QColor(20, 20, 20))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        p.end()


class _ScrollThroughPlot(pg.PlotWidget):
    """A plot that hands the mouse wheel to the scroll area it sits in (pyqtgraph would zoom it, or eat the
    event with zooming off), so the wheel scrolls the tab wherever the pointer is."""

    def wheelEvent(self, ev: QWheelEvent) -> None:
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            ev.ignore()
            return
        QApplication.sendEvent(area.verticalScrollBar(), ev)


class MmaPanel(QWidget):
    """Signals
    -------
    selection_changed(int, int, int)
        Warp, mask row and chunk chosen.
    """

    selection_changed = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.warp, self.row, self.chunk = QSpinBox(), QSpinBox(), QSpinBox()
        for box in (self.warp, self.row, self.chunk):
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._emit)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.canvas = MatrixCanvas()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.plot = _ScrollThroughPlot()
        self.plot.setLogMode(x=True, y=True)
        self.plot.setLabel("bottom", "FLOP per DRAM byte")
        self.plot.setLabel("left", "TFLOP/s")
        self.plot.setMinimumHeight(220)
        self.plot.setMinimumWidth(240)
        self.plot.setMouseEnabled(x=False, y=False)  # fixed decades: no dragging or zooming
        self.plot.addLegend(offset=(-5, -5))
        self.roof_text = QLabel()
        self.roof_text.setWordWrap(True)
        self.roof_text.setTextFormat(Qt.TextFormat.PlainText)
        form = QHBoxLayout()
        for name, box in (("Warp", self.warp), ("Mask row", self.row), ("Chunk", self.chunk)):
            f = QFormLayout()
            f.addRow(name, box)
            form.addLayout(f)
        form.addStretch(1)
        inner = QWidget()
        col = QVBoxLayout(inner)
        col.addLayout(form)
        col.addWidget(self.title)
        col.addWidget(self.canvas)
        col.addWidget(self.text)
        roof_title = QLabel("Roofline of every strategy on the chosen card (Counters tab)")
        roof_title.setWordWrap(True)  # unwrapped, it set the panel's width and cut every line at 1024 px
        col.addWidget(roof_title)
        col.addWidget(self.plot)
        col.addWidget(self.roof_text)
        col.addStretch(1)
        self.scroller = QScrollArea()
        self.scroller.setWidget(inner)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroller)

    def _emit(self) -> None:
        self.selection_changed.emit(self.warp.value(), self.row.value(), self.chunk.value())

    def set_mma(self, mma: MmaDisplay | None) -> None:
        for box, hi in (
            (self.warp, 0 if mma is None else mma.warps - 1),
            (self.row, 0 if mma is None else mma.mask_size - 1),
            (self.chunk, 0 if mma is None else mma.chunks - 1),
        ):
            with QSignalBlocker(box):
                box.setRange(0, int(hi))
            box.setEnabled(mma is not None)
        if mma is not None:
            for box, value in ((self.warp, mma.warp), (self.row, mma.mask_row), (self.chunk, mma.chunk)):
                with QSignalBlocker(box):
                    box.setValue(value)
        self.title.setText("" if mma is None else mma.title)
        self.text.setText(
            "The MMA matrices exist for the tensorcore strategy only: choose it in Parameters."
            if mma is None
            else mma.text
        )
        self.canvas.set_mma(mma)
        self.canvas.setVisible(mma is not None)
        self.canvas.setMinimumHeight(self.canvas.needed_height(self.canvas.width()))

    def set_roofline(self, roof: RooflineDisplay | None) -> None:
        self.plot.clear()
        if roof is None:
            self.roof_text.setText("No roofs known for this card.")
            return
        xs = np.logspace(-1, 4, 200)
        bw = roof.bandwidth_tb_s  # TB/s x FLOP/B = TFLOP/s
        self.plot.plot(
            xs, np.minimum(bw * xs, roof.fp32_tflops), pen=pg.mkPen("#e0e0e0", width=2), name="FP32 FMA"
        )
        if roof.tf32_tflops is not None:
            self.plot.plot(
                xs,
                np.minimum(bw * xs, roof.tf32_tflops),
                pen=pg.mkPen("#1f77b4", width=2),
                name="TF32 tensor",
            )
        if roof.tensorcore_tflops is not None:
            self.plot.plot(
                xs,
                np.minimum(bw * xs, roof.tensorcore_tflops),
                pen=pg.mkPen("#1f77b4", width=1, style=Qt.PenStyle.DashLine),
                name=f"TF32+BF16 split, K={roof.mask}",
            )
        if roof.measured_tensorcore_tflops is not None:  # the flat part only: the slope is the memory roof's
            flat = xs[bw * xs >= roof.measured_tensorcore_tflops]
            self.plot.plot(
                flat,
                np.full_like(flat, roof.measured_tensorcore_tflops),
                pen=pg.mkPen("#f0a030", width=2),
                name=f"split at mma.sync's measured rate, K={roof.mask}",
            )
        marks = ["o", "s", "t", "d", "+", "x", "star", "p", "h"]
        for i, pt in enumerate(roof.points):
            color = pg.intColor(i, hues=max(3, len(roof.points)))
            self.plot.plot(
                [pt.intensity],
                [pt.tflops],
                pen=None,
                symbol=marks[i % len(marks)],
                symbolBrush=color,
                symbolSize=10,
                name=f"{pt.name} {pt.median_ms:.3f} ms",
            )
        self.plot.setXRange(math.log10(0.1), math.log10(1e4))
        self.plot.setYRange(math.log10(0.05), math.log10(1000))
        self.roof_text.setText(roof.text)
