"""pyqtgraph items of the Convolution tiles canvas: the block grid and the selected block's overlay.

Both cache their drawing in ``QPicture``s (pyqtgraph's customGraphicsItem pattern) and pad
``boundingRect`` by a few screen pixels, so the cosmetic pens drawn on the outermost edges are
repainted too. The grid draws only what can be seen apart, and only where it is exposed:

- one line per block boundary (not one rectangle per block), thinned to every 2nd, 4th, ...
  boundary when blocks are closer than ``MIN_SPACING_PX`` on screen;
- cut into chunks of ``CHUNK_LINES`` lines each way, one cached picture per (thinning, chunk), and
  only the chunks that meet the exposed area are replayed (a zoomed-in view replays one or four);
- pixel lines only where a pixel is at least ``PIXEL_GRID_PX`` wide, only inside the exposed area.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPicture
from PySide6.QtWidgets import QGraphicsItem

from app.display import COLORS, BlockDisplay, GridDisplay

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

__all__ = ["BlockOverlayItem", "TileGridItem", "cell_runs"]

MIN_SPACING_PX = 6.0  # block lines closer than this on screen are thinned
CHUNK_LINES = 32  # block lines per cached picture, each way
MAX_PICTURES = 4096  # cached chunk pictures; beyond this the cache starts again
PIXEL_GRID_PX = 14.0  # pixel lines appear when a pixel is at least this wide on screen
_PAD_PX = 3.0  # the widest pen is 3 px


def _color(name: str, alpha: int = 255) -> QColor:
    c = QColor(COLORS[name])
    c.setAlpha(alpha)
    return c


def _pen(color: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # the same width at every zoom
    return pen


def cell_runs(ys: np.ndarray, xs: np.ndarray) -> list[QRectF]:
    """Rectangles covering the pixels ``(ys[i], xs[i])``: one per run of neighbours along a row."""
    if len(ys) == 0:
        return []
    cells = np.unique(np.stack([np.asarray(ys, np.int64), np.asarray(xs, np.int64)], axis=1), axis=0)
    y, x = cells[:, 0], cells[:, 1]
    start = np.ones(len(y), bool)
    start[1:] = (y[1:] != y[:-1]) | (x[1:] != x[:-1] + 1)
    first = np.flatnonzero(start)
    last = np.append(first[1:], len(y)) - 1
    return [
        QRectF(float(x[a]), float(y[a]), float(x[b] - x[a] + 1), 1.0)
        for a, b in zip(first, last, strict=True)
    ]


class _Padded(pg.GraphicsObject):
    """A bounding rectangle padded by ``_PAD_PX`` screen pixels, recomputed when the view zooms."""

    def __init__(self) -> None:
        super().__init__()
        self._extent = QRectF()

    def boundingRect(self) -> QRectF:
        if self._extent.isNull():
            return QRectF()
        pw, ph = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        return self._extent.adjusted(-_PAD_PX * pw, -_PAD_PX * ph, _PAD_PX * pw, _PAD_PX * ph)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()  # the padding is in screen pixels
        super().viewTransformChanged()


class TileGridItem(_Padded):
    """The block grid over the image: block boundaries, and pixel lines when zoomed in."""

    def __init__(self) -> None:
        super().__init__()
        self.grid: GridDisplay | None = None
        self._pictures: dict[tuple[int, int, int, int], QPicture] = {}
        self._chunk_lines: dict[tuple[int, int, int, int], int] = {}
        self._pen = _pen(_color("grid", 230))
        self._pixel_pen = _pen(QColor(255, 255, 255, 70))
        self.last_lines = 0  # block lines drawn by the last paint (the benchmark reads it)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_grid(self, grid: GridDisplay | None) -> None:
        self.prepareGeometryChange()
        self.grid = grid
        self._pictures.clear()
        self._chunk_lines.clear()
        self._extent = QRectF() if grid is None else QRectF(0, 0, grid.width, grid.height)
        self.update()

    def steps(self) -> tuple[int, int]:
        """Every how many block boundaries a line is drawn, (rows, cols), at the current zoom."""
        if self.grid is None:
            return 1, 1
        pw, ph = self.pixelWidth() or 1.0, self.pixelHeight() or 1.0
        return (_thin(self.grid.tile[0] / ph), _thin(self.grid.tile[1] / pw))

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        g = self.grid
        if g is None:
            return
        sy, sx = self.steps()
        ch, cw = CHUNK_LINES * sy * g.tile[0], CHUNK_LINES * sx * g.tile[1]  # chunk size, pixels
        area = opt.exposedRect.intersected(QRectF(0, 0, g.width, g.height))
        if area.isEmpty():
            return
        if len(self._pictures) > MAX_PICTURES:
            self._pictures.clear()
        self.last_lines = 0
        for i in range(int(area.top() // ch), min(int(area.bottom() // ch), (g.height - 1) // ch) + 1):
            for j in range(int(area.left() // cw), min(int(area.right() // cw), (g.width - 1) // cw) + 1):
                key = (sy, sx, i, j)
                picture = self._pictures.get(key)
                if picture is None:
                    picture = self._pictures[key] = self._record(sy, sx, i, j)
                self.last_lines += self._chunk_lines[key]
                p.drawPicture(0, 0, picture)
        pw = self.pixelWidth() or 1.0
        if 1.0 / pw >= PIXEL_GRID_PX:
            self._paint_pixel_lines(p, area)

    def _record(self, sy: int, sx: int, i: int, j: int) -> QPicture:
        """Chunk ``(i, j)``'s block lines at thinning ``(sy, sx)``; the image's last edge is drawn too."""
        g = self.grid
        assert g is not None
        dy, dx = g.tile[0] * sy, g.tile[1] * sx
        y0, y1 = i * CHUNK_LINES * dy, min((i + 1) * CHUNK_LINES * dy, g.height)
        x0, x1 = j * CHUNK_LINES * dx, min((j + 1) * CHUNK_LINES * dx, g.width)
        ys = [*range(y0, y1, dy)] + ([g.height] if y1 == g.height else [])
        xs = [*range(x0, x1, dx)] + ([g.width] if x1 == g.width else [])
        lines = [QLineF(x0, y, x1, y) for y in ys] + [QLineF(x, y0, x, y1) for x in xs]
        self._chunk_lines[(sy, sx, i, j)] = len(lines)
        picture = QPicture()
        painter = QPainter(picture)
        painter.setPen(self._pen)
        painter.drawLines(lines)
        painter.end()
        return picture

    def _paint_pixel_lines(self, p: QPainter, area: QRectF) -> None:
        g = self.grid
        assert g is not None
        x0, x1 = math.floor(area.left()), math.ceil(area.right())
        y0, y1 = math.floor(area.top()), math.ceil(area.bottom())
        lines = [QLineF(x, y0, x, y1) for x in range(x0, x1 + 1) if x % g.tile[1]]
        lines += [QLineF(x0, y, x1, y) for y in range(y0, y1 + 1) if y % g.tile[0]]
        p.setPen(self._pixel_pen)
        p.drawLines(lines)


def _thin(spacing_px: float) -> int:
    """1, 2, 4, ...: the smallest power of two that spaces lines at least MIN_SPACING_PX apart."""
    if spacing_px >= MIN_SPACING_PX or spacing_px <= 0:
        return 1
    return 2 ** math.ceil(math.log2(MIN_SPACING_PX / spacing_px))


class BlockOverlayItem(_Padded):
    """The selected block: output tile, input tile with halo, ghost cells, shared-tile padding, footprint,
    the chosen pixel's thread's outputs, highlights.

    ``shapes`` holds the rectangles it draws, by layer (tests compare them with the engine).
    """

    LAYERS = ("input", "padding", "shared", "loads", "ghost", "tile", "output", "footprint", "patch", "pixel")

    def __init__(self) -> None:
        super().__init__()
        self.block: BlockDisplay | None = None
        self.pixel: tuple[int, int] | None = None
        self.shapes: dict[str, list[QRectF]] = {name: [] for name in self.LAYERS}
        self._highlight: tuple[np.ndarray, np.ndarray] = (np.zeros(0, int), np.zeros(0, int))
        self._picture = QPicture()
        self._styles = {
            "input": (_pen(_color("input"), 2, Qt.PenStyle.DashLine), QBrush(_color("input", 45))),
            "padding": (QPen(Qt.PenStyle.NoPen), QBrush(_color("padding", 170))),
            "shared": (_pen(_color("padding"), 1.5, Qt.PenStyle.DashDotLine), QBrush(Qt.BrushStyle.NoBrush)),
            "ghost": (QPen(Qt.PenStyle.NoPen), QBrush(_color("ghost", 160))),
            "tile": (_pen(_color("output"), 2, Qt.PenStyle.DotLine), QBrush(Qt.BrushStyle.NoBrush)),
            "output": (_pen(_color("output"), 2), QBrush(_color("output", 80))),
            "loads": (QPen(Qt.PenStyle.NoPen), QBrush(_color("loads", 190))),
            "footprint": (_pen(_color("footprint"), 2), QBrush(_color("footprint", 70))),
            "patch": (_pen(_color("patch"), 2, Qt.PenStyle.DashLine), QBrush(Qt.BrushStyle.NoBrush)),
            "pixel": (_pen(QColor("black"), 2), QBrush(_color("pixel", 230))),
        }

    def set_block(self, block: BlockDisplay | None, pixel: tuple[int, int] | None = None) -> None:
        self.block, self.pixel = block, pixel
        self._rebuild()

    def set_highlight(self, ys: np.ndarray, xs: np.ndarray) -> None:
        """Mark input elements ``(ys[i], xs[i])`` (a hovered thread's loads, a load phase)."""
        self._highlight = (np.asarray(ys), np.asarray(xs))
        self._rebuild()

    def _rebuild(self) -> None:
        self.shapes = {name: [] for name in self.LAYERS}
        b = self.block
        if b is not None:
            self.shapes["input"] = [_rect(b.input)]
            self._shared_layers(b)
            if b.tile_rect != b.output:
                self.shapes["tile"] = [_rect(b.tile_rect)]
            self.shapes["output"] = [_rect(b.output)]
            self.shapes["loads"] = cell_runs(*self._highlight)
            if self.pixel is not None:
                y, x, r = self.pixel[0], self.pixel[1], b.radius
                self.shapes["footprint"] = [_rect((y - r, x - r, y + r + 1, x + r + 1))]
                self.shapes["pixel"] = [_rect((y, x, y + 1, x + 1))]
                self.shapes["patch"] = self._patch(b, self.pixel)
        self._record()

    def _shared_layers(self, b: BlockDisplay) -> None:
        """Ghost cells (the input tile's, and any shared slot that gets 0) and the shared tile where it
        reaches past the input tile (register2d's and tma's aligned padding columns)."""
        t = b.loads
        gy, gx = np.nonzero(b.ghost)
        gy, gx = gy + b.input[0], gx + b.input[1]
        zero = t.ghost & t.loaded
        self.shapes["ghost"] = cell_runs(
            np.concatenate([gy, t.in_y[zero]]), np.concatenate([gx, t.in_x[zero]])
        )
        outside = t.loaded & ~t.ghost & ~b.in_input(t.in_y, t.in_x)
        self.shapes["padding"] = cell_runs(t.in_y[outside], t.in_x[outside])
        if b.shared is not None and not _inside(b.shared, b.input):
            self.shapes["shared"] = [_rect(b.shared)]

    @staticmethod
    def _patch(b: BlockDisplay, pixel: tuple[int, int]) -> list[QRectF]:
        """The bounding box of every output the chosen pixel's thread writes, when it writes several."""
        who = b.thread_of_output(*pixel)
        outs = b.outputs_of_thread(*who) if who is not None else []
        if len(outs) < 2:
            return []
        ys, xs = zip(*outs, strict=True)
        return [_rect((min(ys), min(xs), max(ys) + 1, max(xs) + 1))]

    def _record(self) -> None:
        self.prepareGeometryChange()
        self._picture = QPicture()
        p = QPainter(self._picture)
        extent = QRectF()
        for name in self.LAYERS:
            pen, brush = self._styles[name]
            p.setPen(pen)
            p.setBrush(brush)
            for r in self.shapes[name]:
                p.drawRect(r)
                extent = extent.united(r)
        p.end()
        self._extent = extent
        self.update()

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        p.drawPicture(0, 0, self._picture)


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether rectangle ``a`` lies in ``b`` (both ``(y0, x0, y1, x1)``)."""
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _rect(r: tuple[int, int, int, int]) -> QRectF:
    y0, x0, y1, x1 = r
    return QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
