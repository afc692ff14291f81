"""The image with the block grid and the selected block over it, plus the colour legend.

Click a pixel to select its block (and that output pixel); arrow keys move the selection by one
block, Shift+arrows move the chosen output pixel. The canvas only reports these; the controller
decides what is selected.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.display import COLORS, LEGEND, OPTIONAL_LEGEND, BlockDisplay, GridDisplay
from app.widgets._conv_items import BlockOverlayItem, TileGridItem

__all__ = ["ConvCanvas", "ConvPlot", "Legend"]

_KEYS = {Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0), Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1)}


class ConvPlot(pg.PlotWidget):
    """A plot that turns arrow keys into steps.

    Signals
    -------
    step_requested(int, int, bool)
        Arrow key ``(dy, dx)``; True with Shift (move the output pixel, not the block).
    """

    step_requested = Signal(int, int, bool)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        step = _KEYS.get(Qt.Key(e.key()))
        if step is None:
            super().keyPressEvent(e)
            return
        shift = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.step_requested.emit(step[0], step[1], shift)
        e.accept()


_OUTLINED = {"patch": "dashed"}  # layers drawn as an outline only: an outlined swatch


class Legend(QWidget):
    """Coloured swatches naming every layer of the overlay (the optional ones only when drawn)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        self.labels: dict[str, QLabel] = {}
        self._swatches: dict[str, QLabel] = {}
        for i, (key, text) in enumerate(LEGEND):
            swatch = QLabel()
            swatch.setFixedSize(14, 14)
            style = (
                f"border: 2px {_OUTLINED[key]} {COLORS[key]};"
                if key in _OUTLINED
                else f"background: {COLORS[key]}; border: 1px solid #333;"
            )
            swatch.setStyleSheet(style)
            label = QLabel(text)
            label.setWordWrap(True)  # two columns of long names fit a narrow canvas
            self.labels[key], self._swatches[key] = label, swatch
            grid.addWidget(swatch, i // 2, (i % 2) * 2)
            grid.addWidget(label, i // 2, (i % 2) * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.set_drawn(())

    def set_drawn(self, keys: tuple[str, ...] | list[str]) -> None:
        """Show the optional entries (``OPTIONAL_LEGEND``) that are among ``keys``; the rest always."""
        for key in OPTIONAL_LEGEND:
            self.labels[key].setVisible(key in keys)
            self._swatches[key].setVisible(key in keys)


class ConvCanvas(QWidget):
    """Signals
    -------
    pixel_clicked(int, int)
        A click on image pixel ``(y, x)``.
    step_requested(int, int, bool)
        Arrow keys (see :class:`ConvPlot`).
    """

    pixel_clicked = Signal(int, int)
    step_requested = Signal(int, int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = ConvPlot()
        self.plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.invertY(True)
        item.setAspectLocked(True)
        item.showAxes(True, showValues=(True, True, False, False))
        item.hideButtons()
        self.view_box = item.getViewBox()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(True)  # a zoomed-out 4096² image is drawn from a smaller copy
        self.grid_item = TileGridItem()
        self.overlay = BlockOverlayItem()
        for z, it in enumerate((self.image, self.grid_item, self.overlay)):
            it.setZValue(z)
            item.addItem(it)
        self.hover = QLabel(" ")
        self.thinned = QLabel()
        self.thinned.setStyleSheet("color: palette(mid);")
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoom_block = QPushButton("Zoom to block")
        self.zoom_all = QPushButton("Whole image")
        self.legend = Legend()
        self._values: np.ndarray | None = None
        self.grid: GridDisplay | None = None
        self._build()
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_move)
        self.plot.step_requested.connect(self.step_requested)
        self.zoom_block.clicked.connect(self.zoom_to_block)
        self.zoom_all.clicked.connect(self.zoom_to_image)
        self.view_box.sigRangeChanged.connect(self._show_thinning)

    def _show_thinning(self, *_: object) -> None:
        sy, sx = self.grid_item.steps()
        every = max(sy, sx)
        nth = f"{every}{'nd' if every % 10 == 2 and every % 100 != 12 else 'th'}"  # 2nd, 4th, ..., 32nd
        self.thinned.setText("" if every == 1 else f"grid: every {nth} block line (zoom in for all)")

    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.hover, 1)
        bar.addWidget(self.thinned)
        bar.addWidget(self.zoom_block)
        bar.addWidget(self.zoom_all)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.plot, 1)
        col.addLayout(bar)
        col.addWidget(self.legend)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_image(self, values: np.ndarray | None) -> None:
        self._values = values
        if values is None:
            self.image.clear()
            return
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        self.image.setImage(values, levels=(lo, hi if hi > lo else lo + 1.0))
        self.image.setRect(0, 0, values.shape[1], values.shape[0])

    def set_grid(self, grid: GridDisplay | None) -> None:
        resize = (
            grid is None
            or self.grid is None
            or (grid.height, grid.width) != (self.grid.height, self.grid.width)
        )
        self.grid = grid
        self.grid_item.set_grid(grid)
        if resize:
            self.zoom_to_image()

    def set_block(self, block: BlockDisplay | None, pixel: tuple[int, int] | None) -> None:
        self.overlay.set_block(block, pixel)
        self.legend.set_drawn([k for k, shapes in self.overlay.shapes.items() if shapes])

    def set_highlight(self, ys: np.ndarray, xs: np.ndarray) -> None:
        self.overlay.set_highlight(ys, xs)

    def zoom_to_image(self) -> None:
        if self.grid is not None:
            self.view_box.setRange(xRange=(0, self.grid.width), yRange=(0, self.grid.height), padding=0.02)

    def zoom_to_block(self, margin: float = 1.5) -> None:
        """Show the selected block's input tile with ``margin`` tiles of context around it."""
        b = self.overlay.block
        if b is None:
            return
        y0, x0, y1, x1 = _extent(b)
        pad = margin * min(y1 - y0, x1 - x0)  # a wide tile (register2d, tma: T x 128) keeps a useful zoom
        self.view_box.setRange(xRange=(x0 - pad, x1 + pad), yRange=(y0 - pad, y1 + pad), padding=0)

    def ensure_visible(self) -> None:
        """Pan (not zoom) so the selected block's input tile is in view."""
        b = self.overlay.block
        if b is None:
            return
        (vx0, vx1), (vy0, vy1) = self.view_box.viewRange()
        y0, x0, y1, x1 = _extent(b)
        dx = min(0.0, x0 - vx0) + max(0.0, x1 - vx1)
        dy = min(0.0, y0 - vy0) + max(0.0, y1 - vy1)
        if dx or dy:
            self.view_box.translateBy(x=dx, y=dy)

    # -- events -------------------------------------------------------------------------------------
    def _pixel_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self.grid is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view_box.mapSceneToView(scene_pos)
        y, x = math.floor(p.y()), math.floor(p.x())
        if 0 <= y < self.grid.height and 0 <= x < self.grid.width:
            return y, x
        return None

    def _on_click(self, ev: object) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        hit = self._pixel_at(ev.scenePos())  # type: ignore[attr-defined]
        if hit is not None:
            self.plot.setFocus()
            self.pixel_clicked.emit(*hit)

    def _on_move(self, pos: QPointF) -> None:
        hit = self._pixel_at(pos)
        if hit is None or self.grid is None:
            self.hover.setText(" ")
            return
        y, x = hit
        value = ""
        if self._values is not None and self._values.shape == (self.grid.height, self.grid.width):
            value = f" = {self._values[y, x]:.4g}"
        self.hover.setText(
            f"pixel ({y}, {x}){value}, block ({y // self.grid.tile[0]}, {x // self.grid.tile[1]})"
        )


def _extent(b: BlockDisplay) -> tuple[int, int, int, int]:
    """The input tile, grown to the shared tile where that reaches further."""
    if b.shared is None:
        return b.input
    (a0, a1, a2, a3), (s0, s1, s2, s3) = b.input, b.shared
    return min(a0, s0), min(a1, s1), max(a2, s2), max(a3, s3)
