"""The review table: a virtual item model over numpy columns, filtered by a mask, sorted with numpy.

Only the rows in view are ever asked for (``data``), so 25,000 rows cost one index array. Sorting is a
stable numpy argsort of one column (:func:`app.display._dataset.sort_order`), not a proxy's Python
``lessThan`` per comparison; filtering is a boolean mask the controller computes. Rows that arrive
while a dataset is scored are inserted (:meth:`ReviewTableModel.add_rows`), never a reset, so the
selection and the scroll position stay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.display._dataset import COLUMNS, ReviewTable, sort_order

__all__ = ["ReviewTableModel", "ReviewTableView"]

_Index = QModelIndex | QPersistentModelIndex
_WRONG = QColor("#b00020")
_NUMERIC = {0, 3, 4, 5, 6}
# the roles answered, as ints: a view asks ~7 roles per painted cell, most of them answered None, and
# rejecting those before any other work keeps a repaint of the table cheap
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_ROW = int(Qt.ItemDataRole.UserRole.value)
_ROLES = frozenset({_DISPLAY, _ALIGN, _FOREGROUND, _ROW})
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


class ReviewTableModel(QAbstractTableModel):
    """Rows are the table's reviews that pass the mask, in the current sort order.

    ``Qt.UserRole`` of any cell is the review's dataset row (what opening it needs).
    """

    ROW_ROLE = Qt.ItemDataRole.UserRole

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = ReviewTable.empty()
        self._mask: np.ndarray | None = None
        self.visible = np.zeros(0, dtype=np.int64)  # indices into ``table``, in display order
        self.sort_column = -1
        self.descending = False

    # -- content ------------------------------------------------------------------------------------
    def set_table(self, table: ReviewTable, mask: np.ndarray | None = None) -> None:
        self.beginResetModel()
        self.table, self._mask = table, mask
        self._recompute()
        self.endResetModel()

    def add_rows(self, table: ReviewTable, mask: np.ndarray | None = None) -> None:
        """Show ``table``, which holds this table's reviews and more, under the same filter ``mask``.

        The new reviews are inserted (``rowsInserted`` at the end, then one ``layoutChanged`` that
        moves them to their sorted places), never a reset: the selection, the current row and the
        scroll position stay while rows arrive. Anything else (a review gone, or shown in another
        order) falls back to :meth:`set_table`.
        """
        shown = self.table.row[self.visible]  # dataset rows on screen, in display order
        order = self._order(table, mask)
        is_old = np.isin(table.row[order], shown, assume_unique=True)
        if int(is_old.sum()) != len(shown) or not np.array_equal(table.row[order[is_old]], shown):
            self.set_table(table, mask)
            return
        old_at, new_at = np.flatnonzero(is_old), np.flatnonzero(~is_old)
        if not len(new_at):  # nothing new on screen: the same rows, indexed into the new table
            self.table, self._mask, self.visible = table, mask, order
            return
        n = len(shown)
        self.beginInsertRows(QModelIndex(), n, n + len(new_at) - 1)
        self.table, self._mask = table, mask
        self.visible = np.concatenate([order[old_at], order[new_at]])
        self.endInsertRows()
        self.layoutAboutToBeChanged.emit()
        moved_to = np.concatenate([old_at, new_at])  # row p of the appended order goes to moved_to[p]
        self.visible = order
        persistent = self.persistentIndexList()
        if persistent:
            self.changePersistentIndexList(
                persistent, [self.index(int(moved_to[p.row()]), p.column()) for p in persistent]
            )
        self.layoutChanged.emit()

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.beginResetModel()
        self._mask = mask
        self._recompute()
        self.endResetModel()

    def _recompute(self) -> None:
        self.visible = self._order(self.table, self._mask)

    def _order(self, table: ReviewTable, mask: np.ndarray | None) -> np.ndarray:
        """Indices into ``table`` of the rows ``mask`` keeps, in display order."""
        rows = np.arange(len(table)) if mask is None else np.flatnonzero(mask)
        if self.sort_column >= 0:
            rows = sort_order(table, rows, self.sort_column, self.descending)
        return rows

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.visible
        self.sort_column, self.descending = column, order == Qt.SortOrder.DescendingOrder
        self._recompute()
        persistent = self.persistentIndexList()
        if persistent:
            where = np.empty(len(self.table), dtype=np.int64)
            where[self.visible] = np.arange(len(self.visible))
            new = [self.index(int(where[old[p.row()]]), p.column()) for p in persistent]
            self.changePersistentIndexList(persistent, new)
        self.layoutChanged.emit()

    def dataset_row(self, r: int) -> int:
        return int(self.table.row[self.visible[r]])

    # -- QAbstractItemModel -------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.visible)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        role = int(role)
        if role not in _ROLES or not index.isValid():
            return None
        c = index.column()
        if role == _ALIGN:
            return _RIGHT if c in _NUMERIC else None
        r = int(self.visible[index.row()])
        if role == _DISPLAY:
            return self.table.cell(r, c)
        if role == _ROW:
            return int(self.table.row[r])
        return _WRONG if c in (2, 7) and not self.table.correct[r] else None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None


class ReviewTableView(QTableView):
    """The table: sortable by header click, fixed row heights (smooth 25,000-row scrolling), Enter or
    double-click opens a review (``activated``)."""

    def __init__(self, model: ReviewTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        vh.hide()
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for c, w in enumerate((64, 80, 80, 84, 70, 64, 76, 60)):
            self.setColumnWidth(c, w)
        # Enter on the focused row opens it, as a double-click does (platforms differ on ``activated``)
        for key in ("Return", "Enter"):
            QShortcut(
                QKeySequence(key), self, self._activate_current, context=Qt.ShortcutContext.WidgetShortcut
            )

    def _activate_current(self) -> None:
        index = self.currentIndex()
        if index.isValid():
            self.activated.emit(index)
