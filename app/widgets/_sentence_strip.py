"""The strip beside the review: one bar per sentence, coloured by its sentence attention."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QToolTip, QWidget

from app.colormaps import DIVERGING, color, diverging_color, text_color
from app.display import is_attribution
from app.widgets._attention_text import AttentionTextEdit

__all__ = ["SentenceStrip"]


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """Greedy lane per (top, bottom) span, in order, so that spans in one lane do not overlap."""
    ends: list[int] = []
    lanes = []
    for top, bottom in spans:
        lane = next((k for k, e in enumerate(ends) if e < top), len(ends))
        if lane == len(ends):
            ends.append(bottom)
        else:
            ends[lane] = bottom
        lanes.append(lane)
    return lanes


class SentenceStrip(QWidget):
    """A strip beside the editor: one bar per sentence, as tall as its text, coloured by its weight.

    In an attribution mode the bar is the sentence's signed score instead (leave one out: Δp when
    the whole sentence is removed), on the diverging map. Ctrl+click a bar to leave its sentence
    out (a counterfactual edit). Otherwise the colour is the sentence weight relative to the
    heaviest sentence, on the view's colour map;
    the number is the exact weight (where it fits). Sentences sharing a line stand side by side.
    Click a bar to select its sentence; hover for its weight.

    Signals
    -------
    sentence_clicked(int)
    """

    sentence_clicked = Signal(int)
    WIDTH = 84

    def __init__(self, editor: AttentionTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.setFixedWidth(self.WIDTH)
        self.setMouseTracking(True)
        self._bars_key: tuple[object, ...] | None = None
        self._bars_cache: list[tuple[int, QRect]] = []
        editor.updateRequest.connect(lambda *_: self.update())
        editor.verticalScrollBar().valueChanged.connect(lambda *_: self.update())
        editor.spans_moved.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(self.WIDTH, 100)

    def _bars(self) -> list[tuple[int, QRect]]:
        """(sentence, rectangle) for the sentences in view, in strip coordinates.

        Sentences that share a line overlap vertically; they are put side by side in lanes. The
        answer is kept until the text, its spans, its layout, the scroll position or the sizes change:
        the strip repaints with every update of the editor (a new shading, the cursor), and measuring
        each sentence's lines costs ~6 ms on a 500-word review.
        """
        ed, d = self.editor, self.editor.display
        if d is None or ed.sentence_start.size == 0:
            return []
        parent = self.parentWidget()
        if parent is None:
            return []
        dy = ed.viewport().mapTo(parent, QPoint(0, 0)).y() - self.y()
        doc = ed.document()
        key = (
            doc.revision(),
            doc.documentLayout().documentSize().toTuple(),
            ed.sentence_start.tobytes(),
            ed.sentence_end.tobytes(),
            ed.verticalScrollBar().value(),
            ed.contentOffset().toTuple(),
            ed.viewport().size().toTuple(),
            ed.font().key(),
            dy,
            self.width(),
        )
        if key != self._bars_key:
            self._bars_key, self._bars_cache = key, self._measure(dy)
        return list(self._bars_cache)

    def _measure(self, dy: int) -> list[tuple[int, QRect]]:
        ed = self.editor
        lo, hi = ed.visible_range()
        first = max(0, int(np.searchsorted(ed.sentence_end, lo, side="left")))
        last = min(ed.sentence_start.size - 1, int(np.searchsorted(ed.sentence_start, hi, side="right")))
        spans = []
        for s in range(first, last + 1):
            top = ed.line_span(int(ed.sentence_start[s]))[0] + dy
            bottom = ed.line_span(int(ed.sentence_end[s]))[1] + dy
            spans.append((s, top, max(top + 4, bottom)))
        lanes = _lanes([(t, b) for _, t, b in spans])
        n = max(lanes, default=0) + 1
        width = (self.width() - 2) // n
        return [
            (s, QRect(1 + lane * width, t + 1, width - 1, b - t - 1))
            for (s, t, b), lane in zip(spans, lanes, strict=True)
        ]

    def sentence_at(self, y: int) -> int:
        for s, r in self._bars():
            if r.top() <= y <= r.bottom():
                return s
        return -1

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        d = self.editor.display
        bars = self._bars()
        if d is None or not bars:
            return
        mode = self.editor.mode
        signed = is_attribution(mode)
        values = d.sentence_values(mode)
        top = float(np.abs(values).max()) or 1.0
        removed = d.removed_sentence
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        for s, r in bars:
            w = float(values[s])
            if signed:
                rgb = diverging_color(w / top)
            else:
                rgb = color(self.editor.colormap if self.editor.colormap != DIVERGING else "Greys", w / top)
            if removed is not None and removed[s]:
                rgb = (238, 238, 238)
            p.fillRect(r, QColor(*rgb))
            p.setPen(QColor(150, 150, 150))
            p.drawRect(r.adjusted(0, 0, -1, -1))
            if s == self.editor.selected_sentence:
                p.setPen(QColor(30, 90, 200))
                p.drawRect(r.adjusted(0, 0, -1, -1))
                p.drawRect(r.adjusted(1, 1, -2, -2))
            label = f"{w:+.3f}" if signed else f"{w:.3g}"
            if removed is not None and removed[s]:
                label = "left out"
            fm = p.fontMetrics()
            if r.height() >= fm.height() and r.width() > fm.horizontalAdvance(label):
                p.setPen(QColor(*text_color(rgb)))
                p.drawText(
                    r.adjusted(2, 0, -1, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, label
                )

    def mousePressEvent(self, e: QMouseEvent) -> None:
        s = self.sentence_at(int(e.position().y()))
        if s >= 0:
            if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.editor.sentence_toggled.emit(s)
            else:
                self.sentence_clicked.emit(s)

    def event(self, e: QEvent) -> bool:
        if isinstance(e, QHelpEvent):
            s = self.sentence_at(e.pos().y())
            d = self.editor.display
            if s >= 0 and d is not None:
                QToolTip.showText(e.globalPos(), d.describe_sentence(s), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)
