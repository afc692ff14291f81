"""A length histogram with its quantile cut as a line the user drags.

Bars up to the cut are drawn in colour (what training keeps), bars past it in grey (what it cuts).
The line snaps to whole lengths while dragged; ``set_cut`` moves it without emitting.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.display import HistogramData

__all__ = ["LengthHistogram"]

KEPT = (33, 113, 181)
CUT = (190, 190, 190)
LINE = (215, 48, 31)


class LengthHistogram(QWidget):
    """A histogram (pyqtgraph) with a draggable cut and a line of text below it.

    Signals
    -------
    cut_moved(float)
        The user dragged the cut to this length (emitted while dragging, snapped to integers).
    """

    cut_moved = Signal(float)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: HistogramData | None = None
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.setTitle(title, size="10pt")
        item.getAxis("left").setWidth(44)
        self.kept = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(*KEPT, 200), pen=pg.mkPen(KEPT))
        self.cut = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(*CUT, 200), pen=pg.mkPen(CUT))
        self.plot.addItem(self.kept)
        self.plot.addItem(self.cut)
        self.line = pg.InfiniteLine(
            pos=1,
            angle=90,
            movable=True,
            pen=pg.mkPen(LINE, width=2),
            hoverPen=pg.mkPen(LINE, width=4),
            label="",
            labelOpts={"position": 0.88, "color": LINE, "fill": (255, 255, 255, 210), "movable": True},
        )
        self.line.setZValue(10)
        self.line.setToolTip("Drag to choose the cut; its quantile becomes the training setting")
        self.plot.addItem(self.line)
        self.line.sigDragged.connect(self._on_line_dragged)
        self._dragged = -1
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self.set_data(None)

    # -- model -> view (no signals) -------------------------------------------------------------------
    def set_data(self, data: HistogramData | None) -> None:
        self.data = data
        self.line.setVisible(data is not None)
        if data is None or not data.counts.size:
            self.kept.setData([], [])
            self.cut.setData([], [])
            self.note.setText("")
            return
        item = self.plot.getPlotItem()
        item.setLabel("bottom", data.unit)
        item.setLabel("left", data.items)
        top = max(2, data.quantile_length(0.995))
        self.plot.setXRange(0, top * 1.15 + 1, padding=0)
        self.line.setBounds((0.5, max(len(data.counts), 2)))
        self._draw(self.cut_length)

    def set_cut(self, limit: int, label: str, note: str) -> None:
        """Place the cut at ``limit`` (a whole length); ``label`` sits on the line, ``note`` below."""
        with QSignalBlocker(self.line):
            self.line.setValue(limit + 0.5)  # between the last kept bar and the first cut one
        self._dragged = limit
        self.line.label.setFormat(label)
        self.note.setText(note)
        self._draw(limit)

    def _draw(self, limit: int) -> None:
        d = self.data
        if d is None:
            return
        n = d.counts.size
        edges = np.arange(n + 1) - 0.5  # bar n spans (n - 0.5, n + 0.5)
        k = min(max(limit, 0), n - 1) + 1  # bars 0..limit are kept
        self.kept.setData(edges[: k + 1], d.counts[:k].astype(float))
        if k < n:
            self.cut.setData(edges[k:], d.counts[k:].astype(float))
        else:
            self.cut.setData([], [])
        self.plot.setYRange(0, max(1.0, float(d.counts.max())) * 1.08, padding=0)

    @property
    def cut_length(self) -> int:
        """The length the line stands at (the last kept length)."""
        return int(np.floor(self.line.value()))

    # -- view -> model --------------------------------------------------------------------------------
    def _on_line_dragged(self, *_: object) -> None:
        limit = max(1, int(np.floor(self.line.value())))
        with QSignalBlocker(self.line):
            self.line.setValue(limit + 0.5)
        if limit != self._dragged:
            self._dragged = limit
            self._draw(limit)
            self.cut_moved.emit(float(limit))
