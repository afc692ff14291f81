"""The review editor that shades every word by its attention.

The shading lives in the document's layout through a ``QSyntaxHighlighter``: painting costs the
same with 10 or 10,000 shaded words, so a long review scrolls at full speed. The text itself is
never rewritten. While the user types, the word and sentence spans of the last analysis are
moved with every edit (:func:`shift_spans`), so the old shading stays on its words until the new
analysis replaces it, and hover keeps giving the weights of the word under the pointer.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QHelpEvent,
    QMouseEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from app.colormaps import DIVERGING, color, diverging_color, text_color
from app.display import is_attribution

if TYPE_CHECKING:
    from PySide6.QtGui import QTextDocument

    from app.display import AttentionDisplay, Mode

__all__ = ["AttentionTextEdit", "shift_spans"]


def shift_spans(
    start: np.ndarray, end: np.ndarray, pos: int, removed: int, added: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move character spans through an edit that replaced ``removed`` characters at ``pos`` by ``added``.

    Spans after the edit shift; spans before it stay; a span the edit falls inside grows or
    shrinks with it; a span wholly removed becomes empty (start == end).
    """
    delta, cut = added - removed, pos + removed
    s = np.where(start < pos, start, np.where(start >= cut, start + delta, pos + added))
    e = np.where(end <= pos, end, np.where(end >= cut, end + delta, pos))
    return s, np.maximum(e, s)


class _Shader(QSyntaxHighlighter):
    """Gives each word its background; reads spans and formats from the editor."""

    def __init__(self, editor: AttentionTextEdit, document: QTextDocument) -> None:
        super().__init__(document)
        self.editor = editor

    def highlightBlock(self, text: str) -> None:
        ed = self.editor
        if ed.display is None or ed.word_start.size == 0:
            return
        pos = self.currentBlock().position()
        n = len(text)
        i0 = int(np.searchsorted(ed.word_end, pos, side="right"))
        i1 = int(np.searchsorted(ed.word_start, pos + n, side="left"))
        if i1 <= i0:
            return
        starts = ed.word_start[i0:i1].tolist()
        ends = ed.word_end[i0:i1].tolist()
        keys = ed.format_keys[i0:i1].tolist()
        formats = _formats(ed.colormap)
        for a, b, k in zip(starts, ends, keys, strict=True):
            a, b = max(a, pos) - pos, min(b, pos + n) - pos
            if b > a:
                fmt = formats.get(k)
                if fmt is None:
                    fmt = formats[k] = _word_format(ed.colormap, k // 2, not k % 2)
                self.setFormat(a, b - a, fmt)


class AttentionTextEdit(QPlainTextEdit):
    """Plain-text editor with per-word attention shading and exact weights on hover.

    Signals
    -------
    files_dropped(list)
        Local files dropped on the editor (paths as ``str``); they are not inserted as text.
    sentence_clicked(int)
        The user clicked inside sentence ``i`` of the current analysis.
    spans_moved()
        An edit moved the spans (the sentence strip repaints).
    shading_finished()
        Every block carries the current display's shading.
    word_toggled(int), sentence_toggled(int)
        Ctrl+click on a word (Ctrl+Shift+click: its sentence), or the context menu: leave it out of
        what the model reads, or bring it back (a counterfactual edit; the text is not changed).
    restore_requested()
        The context menu's "Bring back every word".
    """

    files_dropped = Signal(list)
    sentence_clicked = Signal(int)
    word_toggled = Signal(int)
    sentence_toggled = Signal(int)
    restore_requested = Signal()
    spans_moved = Signal()
    shading_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display: AttentionDisplay | None = None
        self.mode: Mode = "product"
        self.colormap = ""
        self.selected_sentence = -1
        empty = np.zeros(0, dtype=np.int64)
        self.word_start = self.word_end = self.sentence_start = self.sentence_end = empty
        self.format_keys = empty
        self._shade_generation = 0
        self._shade_pending = False
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.0) * 1.15)
        self.setFont(font)
        self.setPlaceholderText(
            "Type or paste a review here, open a .txt file, drop one on the window, or pick a sample above."
        )
        # Connected before the highlighter exists, so spans are moved before it re-shades the block.
        self.document().contentsChange.connect(self._on_contents_change)
        self._shader = _Shader(self, self.document())
        self.viewport().installEventFilter(self)

    # -- shading ------------------------------------------------------------------------------------
    def set_display(self, display: AttentionDisplay | None, mode: Mode, colormap: str) -> None:
        self.display, self.mode, self.colormap = display, mode, colormap
        empty = np.zeros(0, dtype=np.int64)
        if display is None:
            self.word_start = self.word_end = self.sentence_start = self.sentence_end = empty
            self.format_keys = empty
        else:
            self.word_start, self.word_end = display.word_start.copy(), display.word_end.copy()
            self.sentence_start = display.sentence_start.copy()
            self.sentence_end = display.sentence_end.copy()
            v = display.intensities(mode)
            if is_attribution(mode):  # signed: 0..254, 127 = 0, on the diverging map
                self.colormap = DIVERGING
                levels = np.rint((v + 1) * 127).astype(np.int64)
            else:
                levels = np.rint(v * 255).astype(np.int64)
            self.format_keys = levels * 2 + (~display.word_known)  # (N,) key of _formats()
        if self.selected_sentence >= self.sentence_start.size:
            self.selected_sentence = -1
        self._update_marks()
        self._shade_progressively()

    SHADE_SLICE_S = 0.008  # GUI-thread time per slice of re-shading; the event loop runs in between

    def _shade_progressively(self) -> None:
        """Re-shade the blocks in view now and the rest in slices, so a long review never blocks."""
        self._shade_generation += 1
        self._shade_pending = True
        doc = self.document()
        first = self.firstVisibleBlock().blockNumber()
        order = list(range(first, doc.blockCount())) + list(range(first))
        self._shade_next(self._shade_generation, order, 0)

    def _shade_next(self, generation: int, order: list[int], i: int) -> None:
        if generation != self._shade_generation:
            return  # a newer display took over
        doc = self.document()
        t0 = time.perf_counter()
        while i < len(order) and time.perf_counter() - t0 < self.SHADE_SLICE_S:
            block = doc.findBlockByNumber(order[i])
            if block.isValid():
                self._shader.rehighlightBlock(block)
            i += 1
        if i < len(order):
            QTimer.singleShot(0, lambda: self._shade_next(generation, order, i))
        else:
            self._shade_pending = False
            self.shading_finished.emit()

    @property
    def shading_pending(self) -> bool:
        return self._shade_pending

    def set_selected_sentence(self, index: int) -> None:
        if index != self.selected_sentence:
            self.selected_sentence = index
            self._update_marks()

    def removed_spans(self) -> list[tuple[int, int]]:
        """(start, end) of every word and sentence the model did not read (a counterfactual edit)."""
        d = self.display
        if d is None:
            return []
        spans: list[tuple[int, int]] = []
        if d.removed_sentence is not None:
            for s in np.flatnonzero(d.removed_sentence).tolist():
                spans.append((int(self.sentence_start[s]), int(self.sentence_end[s])))
        if d.removed_word is not None:
            whole = d.removed_sentence if d.removed_sentence is not None else np.zeros(d.n_sentences, bool)
            for i in np.flatnonzero(d.removed_word).tolist():
                if not whole[d.word_sentence[i]]:
                    spans.append((int(self.word_start[i]), int(self.word_end[i])))
        return spans

    def _selection(self, start: int, end: int, fmt: QTextCharFormat) -> QTextEdit.ExtraSelection:
        cursor = QTextCursor(self.document())
        n = self.document().characterCount() - 1
        cursor.setPosition(max(0, min(start, n)))
        cursor.setPosition(max(0, min(end, n)), QTextCursor.MoveMode.KeepAnchor)
        sel = QTextEdit.ExtraSelection()
        sel.cursor, sel.format = cursor, fmt
        return sel

    def _update_marks(self) -> None:
        """The selected sentence's underline and the strike-through of left-out words (the text is
        never changed: these are extra selections drawn over it)."""
        marks = []
        strike = QTextCharFormat()
        strike.setFontStrikeOut(True)
        strike.setForeground(QColor(120, 120, 120))
        strike.setBackground(QColor(238, 238, 238))
        for a, b in self.removed_spans():
            marks.append(self._selection(a, b, strike))
        s = self.selected_sentence
        if 0 <= s < self.sentence_start.size:
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(QColor(30, 90, 200))
            marks.append(self._selection(int(self.sentence_start[s]), int(self.sentence_end[s]), fmt))
        self.setExtraSelections(marks)

    def _on_contents_change(self, pos: int, removed: int, added: int) -> None:
        if self.display is None or removed == added == 0:
            return
        self.word_start, self.word_end = shift_spans(self.word_start, self.word_end, pos, removed, added)
        self.sentence_start, self.sentence_end = shift_spans(
            self.sentence_start, self.sentence_end, pos, removed, added
        )
        self.spans_moved.emit()

    @property
    def is_fresh(self) -> bool:
        """The shading belongs to the text as it is now (no edit since the analysis)."""
        return self.display is not None and self.display.text == self.toPlainText()

    def shaded_words(self) -> list[tuple[int, int, QColor]]:
        """(start, end, background) of every shaded word, read back from the document's layout."""
        out = []
        block = self.document().begin()
        while block.isValid():
            for r in block.layout().formats():
                if r.format.background().style() != Qt.BrushStyle.NoBrush:
                    out.append(
                        (
                            block.position() + r.start,
                            block.position() + r.start + r.length,
                            r.format.background().color(),
                        )
                    )
            block = block.next()
        return out

    # -- hover and click ----------------------------------------------------------------------------
    def word_index_at(self, pos: int) -> int:
        i = int(np.searchsorted(self.word_start, pos, side="right")) - 1
        return i if i >= 0 and pos < self.word_end[i] else -1

    def sentence_index_at(self, pos: int) -> int:
        i = int(np.searchsorted(self.sentence_start, pos, side="right")) - 1
        return i if i >= 0 and pos <= self.sentence_end[i] else -1

    def word_at_point(self, point: QPoint) -> int:
        """Index of the word under viewport point ``point``, or -1."""
        if self.display is None:
            return -1
        pos = self.cursorForPosition(point).position()
        for p in (pos, pos - 1):  # the cursor lands on the nearer edge of the character
            i = self.word_index_at(p)
            if i >= 0:
                r = self.char_rect(p)
                if r.left() - 1 <= point.x() and abs(r.center().y() - point.y()) <= r.height():
                    return i
        return -1

    def tooltip_at(self, point: QPoint) -> str:
        i = self.word_at_point(point)
        if i < 0 or self.display is None:
            return ""
        text = self.display.describe_word(i)
        return text if self.is_fresh else text + "\n(updating: the text changed)"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        super().mouseReleaseEvent(e)
        ctrl = bool(e.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if e.button() == Qt.MouseButton.LeftButton and ctrl and self.is_fresh:
            i = self.word_at_point(e.position().toPoint())
            if i >= 0 and self.display is not None:
                if e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.sentence_toggled.emit(int(self.display.word_sentence[i]))
                else:
                    self.word_toggled.emit(i)
                return
        if e.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            s = self.sentence_index_at(self.textCursor().position())
            if s >= 0:
                self.sentence_clicked.emit(s)

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(e.pos())
        d = self.display
        i = self.word_at_point(e.pos()) if d is not None and self.is_fresh else -1
        if d is not None and self.is_fresh:
            menu.addSeparator()
            if i >= 0:
                word = d.text[d.word_start[i] : d.word_end[i]]
                off = d.removed_word is not None and bool(d.removed_word[i])
                a = menu.addAction(("Bring back “{}”" if off else "Leave out “{}”").format(word[:30]))
                a.setToolTip("Score the review without this word (Ctrl+click)")
                a.triggered.connect(lambda: self.word_toggled.emit(i))
                s = int(d.word_sentence[i])
                off_s = d.removed_sentence is not None and bool(d.removed_sentence[s])
                b = menu.addAction(f"{'Bring back' if off_s else 'Leave out'} sentence {s + 1}")
                b.triggered.connect(lambda: self.sentence_toggled.emit(s))
            if any(d.n_removed):
                c = menu.addAction("Bring back every word")
                c.triggered.connect(self.restore_requested)
        menu.exec(e.globalPos())
        menu.deleteLater()

    # -- drops --------------------------------------------------------------------------------------
    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = [u.toLocalFile() for u in source.urls() if u.isLocalFile()] if source.hasUrls() else []
        if files:
            self.files_dropped.emit(files)
        else:
            super().insertFromMimeData(source)

    # -- geometry for the strip ---------------------------------------------------------------------
    def char_rect(self, pos: int) -> QRect:
        """The rectangle of the line that holds character ``pos``, at its x (viewport coordinates).

        Read from the block's layout (a QTextCursor per call costs ~40 µs on a long review).
        """
        block = self.document().findBlock(max(0, pos))
        if not block.isValid():
            block = self.document().lastBlock()
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        layout = block.layout()
        line = layout.lineForTextPosition(max(0, min(pos - block.position(), block.length() - 1)))
        if not line.isValid():
            return QRect(0, round(top), 1, self.fontMetrics().height())
        cursor_x = line.cursorToX(pos - block.position())
        x = float(cursor_x[0] if isinstance(cursor_x, tuple) else cursor_x)  # type: ignore[arg-type]
        return QRect(round(x + layout.position().x()), round(top + line.y()), 1, round(line.height()))

    def line_span(self, pos: int) -> tuple[int, int]:
        """``(top, bottom)`` of the line that holds character ``pos`` (viewport coordinates): the rows
        of :meth:`char_rect`, without the x it also measures."""
        block = self.document().findBlock(max(0, pos))
        if not block.isValid():
            block = self.document().lastBlock()
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        line = block.layout().lineForTextPosition(max(0, min(pos - block.position(), block.length() - 1)))
        if not line.isValid():
            r = QRect(0, round(top), 1, self.fontMetrics().height())
        else:
            r = QRect(0, round(top + line.y()), 1, round(line.height()))
        return r.top(), r.bottom()

    def visible_range(self) -> tuple[int, int]:
        """Character positions at the top-left and bottom-right of the viewport."""
        vp = self.viewport().rect()
        return (
            self.cursorForPosition(vp.topLeft()).position(),
            self.cursorForPosition(vp.bottomRight()).position(),
        )


@cache
def _formats(colormap: str) -> dict[int, QTextCharFormat]:
    """Formats by key (level * 2 + unknown) for one colour map, filled as keys are first used."""
    return {}


def _word_format(colormap: str, level: int, known: bool) -> QTextCharFormat:
    rgb = diverging_color(level / 127 - 1) if colormap == DIVERGING else color(colormap, level / 255)
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(*rgb))
    fmt.setForeground(QColor(*text_color(rgb)))
    if not known:
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
    return fmt
