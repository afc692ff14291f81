"""Panes side by side while the window is wide enough, side panes folded into tabs when it is not.

A view of three columns that fits 1366 px cannot fit 1024 px: rather than a horizontal scrollbar
(a panel off-screen), :class:`AdaptivePanes` moves its side panes into one tabbed column next to the
main pane when its width drops below what every pane needs side by side, and back when it grows.
Nothing is hidden for good: every pane stays one click away.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

__all__ = ["AdaptivePanes"]

_HYSTERESIS = 24  # px: a window resized across the threshold does not flip back and forth


class AdaptivePanes(QWidget):
    """Columns ``panes`` (title, widget) left to right; pane ``main`` never folds.

    Side by side, the panes sit in a :class:`QSplitter` with ``sizes``. Narrower than ``fold_below``
    (default: the sum of the panes' minimum widths), the side panes become tabs of one
    :class:`QTabWidget` placed where the first side pane was.

    Signals
    -------
    folded(bool)
        The side panes were folded into tabs (True) or laid out side by side again (False).
    """

    folded = Signal(bool)

    def __init__(
        self,
        panes: list[tuple[str, QWidget]],
        main: int,
        sizes: list[int] | None = None,
        fold_below: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.panes = panes
        self.main = main
        self.fold_below = fold_below
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.is_folded = False
        self._wide_sizes = list(sizes) if sizes is not None else None  # kept across a fold
        self._unfold()

    @property
    def threshold(self) -> int:
        if self.fold_below is not None:
            return self.fold_below
        handles = self.splitter.handleWidth() * (len(self.panes) - 1)
        return sum(max(w.minimumSizeHint().width(), w.minimumWidth()) for _, w in self.panes) + handles

    def minimumSizeHint(self) -> QSize:
        """What the folded layout needs: the main pane and the widest side pane, side by side.

        Reporting the unfolded sum instead would keep a scroll area from ever making the panes narrow
        enough to fold.
        """

        def min_w(w: QWidget) -> int:
            return max(w.minimumSizeHint().width(), w.minimumWidth())

        sides = [min_w(w) for i, (_, w) in enumerate(self.panes) if i != self.main]
        main = self.panes[self.main][1]
        width = min_w(main) + max(sides, default=0) + self.splitter.handleWidth() + 8
        height = max(max(w.minimumSizeHint().height(), w.minimumHeight()) for _, w in self.panes) + 32
        return QSize(width, height)

    def resizeEvent(self, e: QResizeEvent) -> None:
        super().resizeEvent(e)
        width = e.size().width()
        if not self.is_folded and width < self.threshold:
            self.fold(True)
        elif self.is_folded and width >= self.threshold + _HYSTERESIS:
            self.fold(False)

    def fold(self, folded: bool) -> None:
        """Fold the side panes into tabs (True) or lay every pane side by side (False)."""
        if folded == self.is_folded:
            return
        if folded:
            self._fold()
        else:
            self._unfold()
        self.folded.emit(folded)

    def show_pane(self, widget: QWidget) -> None:
        """Bring ``widget`` (a pane) into view: its tab when folded."""
        if self.is_folded and self.tabs.indexOf(widget) >= 0:
            self.tabs.setCurrentWidget(widget)

    def _fold(self) -> None:
        sizes = self.splitter.sizes()
        if len(sizes) == len(self.panes) and all(sizes) and self.splitter.isVisible():
            self._wide_sizes = sizes  # the user's own split, back when it unfolds
        self.is_folded = True
        with QSignalBlocker(self.tabs):
            for i, (title, w) in enumerate(self.panes):
                if i != self.main:
                    self.tabs.addTab(w, title)
        first_side = 0 if self.main != 0 else 1
        self.splitter.insertWidget(first_side, self.tabs)
        self.tabs.show()
        main_w = self.panes[self.main][1]
        side = max(self.tabs.minimumSizeHint().width(), 260)
        total = max(self.width(), 1)
        self.splitter.setSizes([side, total - side] if first_side == 0 else [total - side, side])
        self.splitter.setStretchFactor(self.splitter.indexOf(main_w), 1)
        self.splitter.setStretchFactor(self.splitter.indexOf(self.tabs), 0)

    def _unfold(self) -> None:
        self.is_folded = False
        for i, (_, w) in enumerate(self.panes):
            self.splitter.insertWidget(i, w)
            w.show()
            self.splitter.setStretchFactor(i, 1 if i == self.main else 0)
        self.tabs.setParent(self)  # out of the splitter
        self.tabs.hide()
        if self._wide_sizes is not None:
            self.splitter.setSizes(self._wide_sizes)
