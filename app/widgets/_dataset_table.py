"""The review table: a virtual item model over numpy columns, filtered by a mask, sorted with numpy.

Only the rows in view are ever asked for (``data``), so 25,000 rows cost one index array. Sorting is a
stable numpy argsort of one column (:func:`app.display._dataset.sort_order`), not a proxy's Python
``lessThan`` per comparison; filtering is a boolean mask the controller computes.
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

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.beginResetModel()
        self._mask = mask
        self._recompute()
        self.endResetModel()

    def _recompute(self) -> None:
        rows = np.arange(len(self.table)) if self._mask is None else np.flatnonzero(self._mask)
        if self.sort_column >= 0:
            rows = sort_order(self.table, rows, self.sort_column, self.descending)
        self.visible = rows

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
        if not index.isValid():
            return None
        r, c = self.visible[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.table.cell(int(r), c)
        if role == self.ROW_ROLE:
            return int(self.table.row[r])
        if role == Qt.ItemDataRole.TextAlignmentRole and c in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and c in (2, 7) and not self.table.correct[r]:
            return _WRONG
        return None

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
