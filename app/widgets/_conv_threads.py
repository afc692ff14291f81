"""Who loads what: the block's threads, its shared-memory tile, and a stepper through the phases.

Hover a thread to see every slot it fills (and, on the canvas, the input elements it reads); hover a
slot to see the thread and phase that fill it. The stepper walks the load phases, the barrier and
the compute phase; the grids show what shared memory holds at that point.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

__all__ = ["CellGrid", "PhaseStepper"]


class CellGrid(QWidget):
    """A grid of coloured cells, some outlined.

    Signals
    -------
    cell_hovered(int, int)
        The cell under the mouse ``(row, col)``; ``(-1, -1)`` when it leaves.
    """

    cell_hovered = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.colors = np.zeros((0, 0, 4), np.uint8)  # (R, C, RGBA)
        self.marks: list[tuple[int, int]] = []
        self.strong: list[tuple[int, int]] = []
        self._boxes: tuple[list[tuple[int, int, int, int]], ...] = ([], [])  # the marks as rectangles
        self.group = 1  # columns per load group (lines between them)
        self._image = QImage()
        self._hovered = (-1, -1)

    def sizeHint(self) -> QSize:
        return QSize(260, 260)

    def set_cells(self, colors: np.ndarray) -> None:
        self.colors = np.ascontiguousarray(colors, np.uint8)
        r, c = self.colors.shape[:2]
        self._image = QImage(self.colors.data, c, r, 4 * c, QImage.Format.Format_RGBA8888).copy()
        self.update()

    def set_group(self, columns: int) -> None:
        """Draw a line every ``columns`` columns (a load group) even when cells are too small for lines."""
        self.group = max(1, columns)
        self.update()

    def set_marks(self, marks: list[tuple[int, int]], strong: list[tuple[int, int]] | None = None) -> None:
        """Outline ``marks`` thinly and ``strong`` thickly; neighbouring cells share one outline."""
        self.marks, self.strong = marks, strong or []
        self._boxes = (_boxes(self.marks), _boxes(self.strong))
        self.update()

    def _layout(self) -> tuple[float, float, float]:
        r, c = self.colors.shape[:2]
        if not r or not c:
            return 0.0, 0.0, 0.0
        cell = min(self.width() / c, self.height() / r)
        return cell, (self.width() - cell * c) / 2, (self.height() - cell * r) / 2

    def cell_at(self, x: float, y: float) -> tuple[int, int]:
        cell, ox, oy = self._layout()
        if cell <= 0:
            return -1, -1
        row, col = int((y - oy) // cell), int((x - ox) // cell)
        r, c = self.colors.shape[:2]
        return (row, col) if 0 <= row < r and 0 <= col < c else (-1, -1)

    def paintEvent(self, e: QPaintEvent) -> None:
        cell, ox, oy = self._layout()
        if cell <= 0:
            return
        r, c = self.colors.shape[:2]
        p = QPainter(self)
        target = QRectF(ox, oy, cell * c, cell * r)
        p.drawImage(target, self._image)  # one image, nearest-neighbour scaled
        if cell >= 5:
            p.setPen(QPen(QColor(0, 0, 0, 50), 0))
            for i in range(r + 1):
                p.drawLine(int(ox), int(oy + i * cell), int(ox + c * cell), int(oy + i * cell))
            for j in range(c + 1):
                p.drawLine(int(ox + j * cell), int(oy), int(ox + j * cell), int(oy + r * cell))
        if self.group > 1 and cell * self.group >= 5:
            p.setPen(QPen(QColor(0, 0, 0, 110), 0))
            for j in range(0, c + 1, self.group):
                p.drawLine(int(ox + j * cell), int(oy), int(ox + j * cell), int(oy + r * cell))
        for boxes, width in zip(self._boxes, (1.5, 3.0), strict=True):
            p.setPen(QPen(QColor("black"), width))
            p.setBrush(Qt.BrushStyle.NoBrush)
            for row, col, rows, cols in boxes:  # a 4-slot group, a bulk copy's tile: one outline
                p.drawRect(QRectF(ox + col * cell, oy + row * cell, cols * cell, rows * cell))
        p.end()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        hit = self.cell_at(e.position().x(), e.position().y())
        if hit != self._hovered:
            self._hovered = hit
            self.cell_hovered.emit(*hit)

    def leaveEvent(self, e: object) -> None:
        if self._hovered != (-1, -1):
            self._hovered = (-1, -1)
            self.cell_hovered.emit(-1, -1)


def _runs(cells: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """``(row, first col, length)`` of each run of neighbouring cells along a row."""
    out: list[tuple[int, int, int]] = []
    for row, col in sorted(set(cells)):
        if out and out[-1][0] == row and out[-1][1] + out[-1][2] == col:
            out[-1] = (row, out[-1][1], out[-1][2] + 1)
        else:
            out.append((row, col, 1))
    return out


def _boxes(cells: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """``(row, col, rows, cols)`` rectangles covering ``cells``: runs along a row, stacked where the
    next row has a run of the same columns (a whole shared tile is one rectangle)."""
    out: list[list[int]] = []
    last: dict[tuple[int, int], int] = {}  # (col, cols) -> index in out of the box it may extend
    for row, col, n in _runs(cells):
        i = last.get((col, n))
        if i is not None and out[i][0] + out[i][2] == row:
            out[i][2] += 1
        else:
            last[(col, n)] = len(out)
            out.append([row, col, 1, n])
    return [(a, b, c, d) for a, b, c, d in out]


class PhaseStepper(QWidget):
    """◀ slider ▶ over the phase steps, with the current step's name.

    Signals
    -------
    step_changed(int)
    """

    step_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back = QPushButton("◀")
        self.forward = QPushButton("▶")
        for b in (self.back, self.forward):
            b.setFixedWidth(32)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setPageStep(1)
        self.name = QLabel()
        self.name.setWordWrap(True)
        self.steps: list[str] = []
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Phase:"))
        row.addWidget(self.back)
        row.addWidget(self.slider, 1)
        row.addWidget(self.forward)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(row)
        col.addWidget(self.name)
        self.back.clicked.connect(lambda: self.slider.setValue(self.slider.value() - 1))
        self.forward.clicked.connect(lambda: self.slider.setValue(self.slider.value() + 1))
        self.slider.valueChanged.connect(self._on_slider)

    def set_steps(self, steps: list[str], current: int) -> None:
        self.steps = steps
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(0, len(steps) - 1))
            self.slider.setValue(min(max(0, current), max(0, len(steps) - 1)))
        self._show()

    @property
    def step(self) -> int:
        return self.slider.value()

    def _show(self) -> None:
        i = self.slider.value()
        text = self.steps[i] if 0 <= i < len(self.steps) else ""
        self.name.setText(f"<b>{i + 1}/{len(self.steps)}</b>: {text}" if self.steps else "")
        self.back.setEnabled(i > 0)
        self.forward.setEnabled(i < len(self.steps) - 1)

    def _on_slider(self, value: int) -> None:
        self._show()
        self.step_changed.emit(value)
