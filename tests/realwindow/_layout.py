"""What a user would call a broken layout, read from widget geometry in a real window.

``layout_problems(page, window)`` lists, for the visible widgets of one tab:

- a control cut off by the window or by any widget it sits in (scroll areas excepted: what lies in an
  inner scroll area is reached by scrolling it; the area itself must be whole);
- a label whose text does not fit it (wider than the label, or wrapped taller than it);
- a button whose text does not fit it;
- two labels or controls that overlap;
- a page that scrolls (the tab is larger than the window).
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QScrollArea,
    QSplitterHandle,
    QTabBar,
    QWidget,
)

__all__ = ["controls", "layout_problems", "window_rect"]

CONTROLS = (
    QAbstractButton,
    QComboBox,
    QAbstractSpinBox,
    QLineEdit,
    QAbstractSlider,
    QLabel,
    QTabBar,
    QProgressBar,
    QAbstractScrollArea,
)


def window_rect(w: QWidget, window: QWidget) -> QRect:
    return QRect(w.mapTo(window, w.rect().topLeft()), w.size())


def _name(w: QWidget) -> str:
    text = ""
    for attr in ("text", "title", "currentText", "placeholderText"):
        f = getattr(w, attr, None)
        if callable(f):
            try:
                t = f()
            except TypeError:
                continue
            if isinstance(t, str) and t:
                text = t
                break
    text = " ".join(text.split())
    return f"{type(w).__name__}{'(' + repr(text[:40]) + ')' if text else ''}"


def _inner_scroll(w: QWidget, page: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area holding ``w`` below ``page`` (``w``'s own viewport excluded)."""
    p = w.parentWidget()
    while p is not None and p is not page:
        if isinstance(p, QAbstractScrollArea) and p.viewport() is not w:
            return p
        p = p.parentWidget()
    return None


def _visible(w: QWidget, window: QWidget) -> bool:
    return w.isVisible() and w.width() > 0 and w.height() > 0 and w.window() is window


def controls(page: QWidget, window: QWidget) -> list[QWidget]:
    """The visible controls of ``page`` that are not inside an inner scroll area."""
    out = []
    for w in page.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or not _visible(w, window) or isinstance(w, QSplitterHandle):
            continue
        if isinstance(w, QLabel) and not w.text() and w.pixmap().isNull():
            continue
        if _inner_scroll(w, page) is not None:
            continue
        if w.objectName().startswith("qt_"):  # Qt's own parts (spin box line edit, scroll bars...)
            continue
        out.append(w)
    return out


def _clip(w: QWidget, window: QWidget) -> QRect:
    """What of ``w`` can be seen: its rectangle cut by every ancestor's, in window coordinates."""
    r = window_rect(w, window)
    p = w.parentWidget()
    while p is not None:
        r = r.intersected(window_rect(p, window))
        if p is window:
            break
        p = p.parentWidget()
    return r


def layout_problems(page: QWidget, window: QWidget) -> list[str]:
    problems: list[str] = []
    if isinstance(page, QScrollArea):
        for bar, side in ((page.horizontalScrollBar(), "sideways"), (page.verticalScrollBar(), "down")):
            if bar.isVisible() and bar.maximum() > 0:
                problems.append(f"the page scrolls {side} by {bar.maximum()} px")
    found = controls(page, window)
    for w in found:
        full, seen = window_rect(w, window), _clip(w, window)
        if seen != full:
            problems.append(
                f"{_name(w)} cut: {full.width()}x{full.height()} at ({full.x()},{full.y()}), "
                f"{seen.width()}x{seen.height()} seen"
            )
        if isinstance(w, QLabel) and w.text() and w.pixmap().isNull():
            if w.wordWrap():
                need = w.heightForWidth(
                    w.contentsRect().width() + w.contentsMargins().left() + w.contentsMargins().right()
                )
                if need > w.height() + 1:
                    problems.append(f"{_name(w)} wraps to {need} px in {w.height()} px")
            elif w.minimumSizeHint().width() > w.width() + 1:
                problems.append(f"{_name(w)} needs {w.minimumSizeHint().width()} px, has {w.width()}")
        elif (
            isinstance(w, QAbstractButton)
            and w.text()
            and w.fontMetrics().horizontalAdvance(w.text().replace("&", "")) + 6 > w.width()
        ):
            problems.append(
                f"{_name(w)} text needs {w.fontMetrics().horizontalAdvance(w.text())} px, has {w.width()}"
            )
        elif isinstance(w, QGroupBox) and w.title() and w.minimumSizeHint().width() > w.width() + 1:
            problems.append(f"{_name(w)} title cut")
    boxes = [(w, _clip(w, window)) for w in found if not isinstance(w, QAbstractScrollArea)]
    for (a, ra), (b, rb) in itertools.combinations(boxes, 2):
        if a.isAncestorOf(b) or b.isAncestorOf(a):
            continue
        shared = ra.intersected(rb)
        if shared.width() > 1 and shared.height() > 1:
            problems.append(f"{_name(a)} overlaps {_name(b)} ({shared.width()}x{shared.height()} px)")
    return problems
