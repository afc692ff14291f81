"""The token strip: what the cell reads, one chip per step, in the order it reads them.

The current step is filled, the steps already read are tinted, words the vocabulary does not know
are italic with a dashed border (the model read ``<unk>``), and a bar under each chip shows the
HAN's attention weight of that word (or sentence).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

__all__ = ["TokenStrip"]

_PAD_X, _PAD_Y, _GAP, _BAR = 6, 3, 4, 4
_MAX_CHIP = 230  # px; sentence chips (sentence encoder) are elided to this
_CURRENT = QColor(33, 113, 181)
_READ = QColor(222, 235, 247)
_ATTENTION = QColor(230, 85, 13)
_UNKNOWN = QColor(179, 0, 0)


class TokenStrip(QWidget):
    """Chips that wrap onto as many lines as the width needs.

    Signals
    -------
    step_clicked(int)
        The user clicked the chip of step ``t``.
    """

    step_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: tuple[str, ...] = ()
        self.known: tuple[bool, ...] = ()
        self.attention: tuple[float, ...] = ()
        self.tips: tuple[str, ...] = ()
        self.step = 0
        self._rects: list[QRect] = []
        self._elided: list[str] = []
        self._laid_out_width = -1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_tokens(
        self,
        labels: tuple[str, ...],
        known: tuple[bool, ...],
        attention: tuple[float, ...],
        tips: tuple[str, ...],
    ) -> None:
        """One chip per step: its label, whether the word is known, its attention, its tooltip."""
        self.labels, self.known, self.attention, self.tips = labels, known, attention, tips
        self.step = min(self.step, max(len(labels) - 1, 0))
        self._layout(self.width())
        self.update()

    def set_step(self, step: int) -> None:
        if step == self.step:
            return
        lo, hi = sorted((self.step, step))
        self.step = step
        rects = self._rects
        if lo >= 0 and hi < len(rects) and rects[lo].top() == rects[hi].top():
            self.update(rects[lo].united(rects[hi]))  # the chips from the old to the new step change tint
        else:
            self.update()

    # -- geometry -----------------------------------------------------------------------------------
    def _layout(self, width: int) -> None:
        fm = self.fontMetrics()
        h = fm.height() + 2 * _PAD_Y + _BAR + 2
        x = y = 0
        rects = []
        width = max(width, 50)
        for label in self.labels:
            w = min(fm.horizontalAdvance(label) + 2 * _PAD_X + 4, _MAX_CHIP, width)
            if x > 0 and x + w > width:
                x, y = 0, y + h + _GAP
            rects.append(QRect(x, y, w, h))
            x += w + _GAP
        self._rects = rects
        self._elided = [
            fm.elidedText(label, Qt.TextElideMode.ElideRight, r.width() - 2 * _PAD_X - 2)
            for label, r in zip(self.labels, rects, strict=True)
        ]
        self._laid_out_width = width
        height = (rects[-1].bottom() + 2) if rects else fm.height() + 2 * _PAD_Y
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if event.size().width() != self._laid_out_width:
            self._layout(event.size().width())
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(600, self.height())

    def chip_rect(self, step: int) -> QRect:
        return self._rects[step]

    def step_at(self, pos: QPoint) -> int:
        for i, r in enumerate(self._rects):
            if r.contains(pos):
                return i
        return -1

    # -- painting -----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._rects:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fonts = {True: QFont(self.font()), False: QFont(self.font())}
        fonts[False].setItalic(True)
        top = max(self.attention) if self.attention else 0.0
        text_color = self.palette().windowText().color()
        clip = event.rect()
        for i, r in enumerate(self._rects):
            if not r.intersects(clip):
                continue
            chip = r.adjusted(0, 0, 0, -_BAR - 2)
            known = self.known[i]
            if i == self.step:
                p.setBrush(_CURRENT)
            elif i < self.step:
                p.setBrush(_READ)
            else:
                p.setBrush(Qt.BrushStyle.NoBrush)
            pen = QPen(_UNKNOWN if not known else QColor(150, 150, 150), 1.2)
            pen.setStyle(Qt.PenStyle.SolidLine if known else Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawRoundedRect(chip.adjusted(1, 1, -1, -1), 4, 4)
            p.setFont(fonts[known])
            p.setPen(QColor("white") if i == self.step else (text_color if known else _UNKNOWN))
            p.drawText(chip.adjusted(_PAD_X, 0, -_PAD_X, 0), Qt.AlignmentFlag.AlignCenter, self._elided[i])
            if top > 0:
                w = round((chip.width() - 2) * self.attention[i] / top)
                p.fillRect(QRect(r.left() + 1, r.bottom() - _BAR, w, _BAR), _ATTENTION)

    # -- input --------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self.step_at(event.position().toPoint())
        if i >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.step_clicked.emit(i)
        super().mousePressEvent(event)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            i = self.step_at(e.pos())
            if i >= 0 and i < len(self.tips):
                QToolTip.showText(e.globalPos(), self.tips[i], self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)
