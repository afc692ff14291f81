"""What the GRU stepper writes out at each step: the current token and the unit inspector.

Both change on every step, so they are painted from a ``QTextDocument`` (:class:`RichText`):
new text only repaints the widget. A ``QLabel`` would ask the window's layout again on every
``setText``, which costs more than painting the whole step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.display import step_info

if TYPE_CHECKING:
    from app.display import GRUDisplay

__all__ = ["RichText", "ShareBar", "StepBox", "UnitInspector"]


class RichText(QWidget):
    """Rich text painted from a document; its height follows the text, its layout is left alone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = QTextDocument(self)
        self.doc.setDocumentMargin(0)
        self.doc.setDefaultFont(self.font())
        self._html = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(1)

    def set_html(self, html: str) -> None:
        if html != self._html:
            self._html = html
            self.doc.setHtml(html)
            self._fit()
            self.update()

    def html(self) -> str:
        return self._html

    def text(self) -> str:
        return self.doc.toPlainText()

    def _fit(self) -> None:
        self.doc.setTextWidth(max(self.width(), 50))
        height = max(1, math.ceil(self.doc.size().height()))
        if height != self.height():  # the only case that needs the layout
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette = self.palette()
        self.doc.documentLayout().draw(p, ctx)


class ShareBar(QWidget):
    """A thin bar filled to a share in [0, 1] (a QProgressBar repaints synchronously on every value)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.share = 0.0
        self.setFixedHeight(8)

    def set_share(self, share: float) -> None:
        if share != self.share:
            self.share = share
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(230, 230, 230))
        p.fillRect(QRect(0, 0, round(self.width() * self.share), self.height()), QColor(230, 85, 13))


class StepBox(QGroupBox):
    """The current step: its token, where it sits in the text, and its HAN attention weight."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Current step", parent)
        self.readout = RichText()
        self.attention_bar = ShareBar()
        col = QVBoxLayout(self)
        col.addWidget(self.readout)
        col.addWidget(self.attention_bar)
        self.set_step(None, 0)

    def set_step(self, d: GRUDisplay | None, t: int) -> None:
        if d is None:
            self.readout.set_html("<span style='font-size:15pt; font-weight:600'>–</span>")
            self.attention_bar.set_share(0.0)
            return
        token = " ".join(d.tokens[t].split())
        token = token if len(token) <= 48 else token[:47] + "…"
        kind = "word" if d.encoder == "word" else "sentence"
        w, top = float(d.attention[t]), float(d.attention.max())
        self.readout.set_html(
            f"<div style='font-size:15pt; font-weight:600'>“{_escape(token)}”</div>"
            f"<div>{step_info(d, t)}</div>"
            f"<div>HAN {kind} attention <b>{w:.3f}</b> (uniform {1 / d.n_steps:.3f}, top {top:.3f})</div>"
        )
        self.attention_bar.set_share(w / top if top > 0 else 0.0)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class UnitInspector(QGroupBox):
    """The chosen unit and its gate equations with the numbers of the current step.

    Signals
    -------
    unit_changed(int)
        The user picked another unit in the spin box.
    plot_clicked()
        Add the unit to (or remove it from) the line plots.
    """

    unit_changed = Signal(int)
    plot_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Unit inspector", parent)
        top = QHBoxLayout()
        top.addWidget(QLabel("Unit:"))
        self.unit_box = QSpinBox()
        self.unit_box.setRange(0, 0)
        self.unit_box.valueChanged.connect(self.unit_changed)
        top.addWidget(self.unit_box)
        self.plot_button = QPushButton("Add to lines")
        self.plot_button.setToolTip("Add this unit to the line plots (or remove it)")
        self.plot_button.clicked.connect(self.plot_clicked)
        top.addWidget(self.plot_button)
        top.addStretch(1)
        self.equations = RichText()
        col = QVBoxLayout(self)
        col.addLayout(top)
        col.addWidget(self.equations, 0, Qt.AlignmentFlag.AlignTop)

    def set_units(self, hidden_size: int, unit: int) -> None:
        with QSignalBlocker(self.unit_box):
            self.unit_box.setRange(0, max(hidden_size - 1, 0))
            self.unit_box.setValue(unit)

    def set_plotted(self, plotted: bool) -> None:
        text = "Remove from lines" if plotted else "Add to lines"
        if self.plot_button.text() != text:
            self.plot_button.setText(text)

    def set_equations(self, html: str) -> None:
        self.equations.set_html(html)
