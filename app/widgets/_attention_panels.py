"""Small painted widgets of the attention view: class probabilities and the colour legend."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.colormaps import color, diverging_color

__all__ = ["ColorLegend", "ProbabilityBars"]

_ROW = 22


class ProbabilityBars(QWidget):
    """One bar per class with its probability; the predicted class in bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.probabilities: tuple[tuple[str, float], ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_probabilities(self, probabilities: tuple[tuple[str, float], ...]) -> None:
        self.probabilities = probabilities
        self.setFixedHeight(max(1, len(probabilities)) * _ROW + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, max(1, len(self.probabilities)) * _ROW + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.probabilities:
            return
        p = QPainter(self)
        best = max(range(len(self.probabilities)), key=lambda i: self.probabilities[i][1])
        fm = p.fontMetrics()
        name_w = min(self.width() // 3, max(fm.horizontalAdvance(n) for n, _ in self.probabilities) + 8)
        num_w = fm.horizontalAdvance("100.0%") + 6
        for i, (name, prob) in enumerate(self.probabilities):
            y = 2 + i * _ROW
            font = QFont(self.font())
            font.setBold(i == best)
            p.setFont(font)
            p.setPen(self.palette().windowText().color())
            p.drawText(QRect(0, y, name_w, _ROW - 4), Qt.AlignmentFlag.AlignVCenter, name)
            track = QRect(name_w, y + 3, self.width() - name_w - num_w, _ROW - 10)
            p.fillRect(track, QColor(230, 230, 230))
            p.fillRect(
                QRect(track.left(), track.top(), round(track.width() * prob), track.height()),
                QColor(33, 113, 181) if i == best else QColor(140, 140, 140),
            )
            p.drawText(
                QRect(self.width() - num_w, y, num_w, _ROW - 4),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{prob:.1%}",
            )


class ColorLegend(QWidget):
    """The colour ramp with its scale: what a word's shade means, in numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colormap = ""
        self.title = ""
        self.low_label = "0"
        self.high_label = "1"
        self.diverging = False
        self.setMinimumHeight(58)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scale(self, colormap: str, title: str, high_label: str, low_label: str = "0") -> None:
        self.colormap, self.title, self.high_label, self.low_label = colormap, title, high_label, low_label
        self.diverging = False
        self.update()

    def set_diverging(self, title: str, low_label: str, high_label: str) -> None:
        """A signed scale: orange (left, away from the class) – white (0) – purple (right, towards)."""
        self.colormap, self.title, self.high_label, self.low_label = "diverging", title, high_label, low_label
        self.diverging = True
        self.update()

    def ramp_color(self, t: float) -> tuple[int, int, int]:
        """The colour the ramp shows at fraction ``t`` (0 = left end, 1 = right end)."""
        return diverging_color(2 * t - 1) if self.diverging else color(self.colormap, t)

    def sizeHint(self) -> QSize:
        return QSize(220, 58)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.colormap:
            return
        p = QPainter(self)
        fm = p.fontMetrics()
        h = fm.height()
        p.setPen(self.palette().windowText().color())
        p.drawText(QRect(0, 0, self.width(), h), Qt.AlignmentFlag.AlignLeft, self.title)
        ramp = QRect(0, h + 4, self.width() - 1, 16)
        grad = QLinearGradient(ramp.left(), 0, ramp.right(), 0)
        for k in range(17):
            grad.setColorAt(k / 16, QColor(*self.ramp_color(k / 16)))
        p.fillRect(ramp, grad)
        p.setPen(QColor(120, 120, 120))
        p.drawRect(ramp)
        p.setPen(self.palette().windowText().color())
        y = ramp.bottom() + 2
        p.drawText(QRect(0, y, self.width(), h), Qt.AlignmentFlag.AlignLeft, self.low_label)
        p.drawText(QRect(0, y, self.width(), h), Qt.AlignmentFlag.AlignHCenter, "0" if self.diverging else "")
        p.drawText(QRect(0, y, self.width(), h), Qt.AlignmentFlag.AlignRight, self.high_label)
