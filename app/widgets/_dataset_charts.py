"""The Dataset explorer's pictures: the confusion matrix (cells are buttons), the reliability diagram,
and the attention bar of the last sentence against the rest."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["ConfusionMatrix", "LastSentenceBar", "ReliabilityPlot"]

_LABEL_W, _HEAD_H = 64, 36


def _blue(x: float) -> QColor:
    """White (0) to deep blue (1)."""
    x = min(max(x, 0.0), 1.0)
    return QColor.fromRgbF(1 - 0.85 * x, 1 - 0.6 * x, 1 - 0.25 * x)


class ConfusionMatrix(QWidget):
    """True class by row, predicted by column; shade = share of the true class.

    Signals
    -------
    cell_clicked(int, int)
        The user clicked cell (true, predicted).
    """

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: tuple[str, ...] = ()
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.selected: tuple[int, int] | None = None
        self.setMinimumSize(220, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setToolTip("Click a cell to list its reviews; click it again to show all")

    def sizeHint(self) -> QSize:
        return QSize(260, 190)

    def set_matrix(self, names: tuple[str, ...], counts: np.ndarray) -> None:
        self.names, self.counts = names, counts
        self.update()

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def cell_rect(self, i: int, j: int) -> QRectF:
        k = max(len(self.names), 1)
        w = (self.width() - _LABEL_W - 4) / k
        h = (self.height() - _HEAD_H - 4) / k
        return QRectF(_LABEL_W + j * w, _HEAD_H + i * h, w, h)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        for i in range(len(self.names)):
            for j in range(len(self.names)):
                if self.cell_rect(i, j).contains(QPointF(x, y)):
                    return i, j
        return None

    def mousePressEvent(self, e: QMouseEvent) -> None:
        cell = self.cell_at(e.position().x(), e.position().y())
        if cell is not None and e.button() == Qt.MouseButton.LeftButton:
            self.cell_clicked.emit(*cell)

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        k = len(self.names)
        p.setPen(pal.text().color())
        p.drawText(
            QRectF(_LABEL_W, 0, self.width() - _LABEL_W, 16), Qt.AlignmentFlag.AlignCenter, "predicted"
        )
        if not k:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no reviews scored yet")
            return
        rows = self.counts.sum(axis=1)
        for j, name in enumerate(self.names):
            r = self.cell_rect(0, j)
            p.drawText(QRectF(r.left(), 16, r.width(), _HEAD_H - 16), Qt.AlignmentFlag.AlignCenter, name)
        for i, name in enumerate(self.names):
            r = self.cell_rect(i, 0)
            p.drawText(
                QRectF(0, r.top(), _LABEL_W - 6, r.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"true {name}",
            )
            for j in range(k):
                cell = self.cell_rect(i, j).adjusted(1, 1, -1, -1)
                n = int(self.counts[i, j])
                share = n / rows[i] if rows[i] else 0.0
                fill = _blue(share)
                p.fillRect(cell, fill)
                if self.selected == (i, j):
                    p.setPen(QPen(QColor("#e07000"), 3))
                    p.drawRect(cell.adjusted(1, 1, -1, -1))
                p.setPen(QColor("white") if share > 0.55 else QColor("#202020"))
                p.drawText(cell, Qt.AlignmentFlag.AlignCenter, f"{n:,}\n{share:.1%}")
                p.setPen(pal.text().color())


class ReliabilityPlot(pg.PlotWidget):
    """Accuracy per confidence bin (bars) against the diagonal of perfect calibration."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(None)
        item = self.getPlotItem()
        item.setLabel("bottom", "confidence")
        item.setLabel("left", "accuracy")
        item.setMouseEnabled(False, False)
        item.hideButtons()
        item.showGrid(x=True, y=True, alpha=0.2)
        self.setMinimumSize(220, 170)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.05, brush=pg.mkBrush(70, 110, 200, 170))
        self.diagonal = pg.PlotDataItem(
            [0, 1], [0, 1], pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine)
        )
        self.points = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(224, 112, 0), pen=None)
        for it in (self.bars, self.diagonal, self.points):
            item.addItem(it)
        item.setYRange(0, 1, padding=0.02)
        self._lo = math.nan
        self._title: str | None = None

    def set_bins(self, edges: np.ndarray, confidence: np.ndarray, accuracy: np.ndarray, ece: float) -> None:
        filled = ~np.isnan(accuracy)
        centers = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0]) * 0.9 if len(edges) > 1 else 0.05
        self.bars.setOpts(x=centers[filled], height=accuracy[filled], width=width)
        self.points.setData(confidence[filled], accuracy[filled])
        lo = float(edges[0]) if len(edges) else 0.0
        if lo != self._lo:  # the axes and the title re-lay the plot out: only when they change
            self._lo = lo
            self.diagonal.setData([lo, 1], [lo, 1])
            self.getPlotItem().setXRange(lo, 1, padding=0.02)
        title = "" if math.isnan(ece) else f"reliability · ECE {ece:.3f}"
        if title != self._title:
            self._title = title
            self.getPlotItem().setTitle(title, size="9pt")


class LastSentenceBar(QWidget):
    """One bar: the mean share of attention on the last sentence, the rest, and the uniform mark."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.share = self.uniform = float("nan")
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(240, 44)

    def set_share(self, share: float, uniform: float) -> None:
        self.share, self.uniform = share, uniform
        self.setToolTip(
            "Mean sentence attention on a review's last sentence (reviews of 2+ sentences); the mark is "
            "what equal weights for every sentence would give"
        )
        self.update()

    def paintEvent(self, _e: QPaintEvent) -> None:
        p = QPainter(self)
        bar = QRectF(2, 4, self.width() - 4, 18)
        if math.isnan(self.share):
            p.drawText(bar, Qt.AlignmentFlag.AlignLeft, "no review with two or more sentences")
            return
        last = QRectF(bar.left(), bar.top(), bar.width() * self.share, bar.height())
        p.fillRect(bar, QColor("#d8dde6"))
        p.fillRect(last, QColor("#e07000"))
        x = bar.left() + bar.width() * self.uniform
        p.setPen(QPen(QColor("#202020"), 2))
        p.drawLine(QPointF(x, bar.top() - 3), QPointF(x, bar.bottom() + 3))
        p.setPen(self.palette().text().color())
        text = f"last {self.share:.0%} · the rest {1 - self.share:.0%} · equal weights: {self.uniform:.0%}"
        p.drawText(QRectF(2, 24, self.width() - 4, 18), Qt.AlignmentFlag.AlignLeft, text)
