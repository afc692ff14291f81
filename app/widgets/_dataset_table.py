"""The review table: a virtual item model over numpy columns, filtered by a mask, sorted with numpy.

Only the rows in view are ever asked for (``data``), so 25,000 rows cost one index array. Sorting is a
stable numpy argsort of one column (:func:`app.display._dataset.sort_order`), not a proxy's Python
``lessThan`` per comparison; filtering is a boolean mask the controller computes. Rows that arrive
while a dataset is scored are inserted (:meth:`ReviewTableModel.append_rows`: a binary search each
into the sort keys of the rows shown, so a refresh costs what arrived, not the table's size), never a
reset, so the selection and the scroll position stay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.display._dataset import COLUMNS, ReviewTable, sort_keys

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


def _columns(t: ReviewTable) -> list[np.ndarray]:
    return [t.row, t.true, t.pred, t.confidence, t.margin, t.words, t.sentences, t.correct]


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
        self._keys = np.zeros(0, dtype=np.uint64)  # their sort keys (ascending: display order)
        self._capacity: tuple[ReviewTable, list[np.ndarray]] | None = None  # append_rows' columns
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
        order) falls back to :meth:`set_table`. This re-reads the whole table (O(n log n)); reviews
        that arrive while a dataset is scored go through :meth:`append_rows` instead.
        """
        shown = self.table.row[self.visible]  # dataset rows on screen, in display order
        order, keys = self._order(table, mask)
        is_old = np.isin(table.row[order], shown, assume_unique=True)
        if int(is_old.sum()) != len(shown) or not np.array_equal(table.row[order[is_old]], shown):
            self.set_table(table, mask)
            return
        old_at, new_at = np.flatnonzero(is_old), np.flatnonzero(~is_old)
        if not len(new_at):  # nothing new on screen: the same rows, indexed into the new table
            self.table, self._mask, self.visible, self._keys = table, mask, order, keys
            self._capacity = None
            return
        self._insert(table, mask, old_at, new_at, order, keys)

    def append_rows(self, part: ReviewTable, mask: np.ndarray | None = None) -> None:
        """Add reviews ``part`` (none of them shown yet; ``mask``: which pass the filter) to the table.

        The work is the new reviews' (O(k log n) for k new of n shown: their keys, a binary search
        each, two copies of the index): the table's columns grow in place (capacity doubles), the
        reviews shown keep their sorted keys. Signals as :meth:`add_rows`. The table is then in
        arrival order, not dataset order (``dataset_row`` and the ``Qt.UserRole`` say which review
        a row is).
        """
        n0, k = len(self.table), len(part)
        if not k:
            return
        table = self._extended(part)
        full_mask = self._mask
        if mask is not None or self._mask is not None:
            old = self._mask if self._mask is not None else np.ones(n0, dtype=bool)
            new = mask if mask is not None else np.ones(k, dtype=bool)
            full_mask = np.concatenate([old, np.asarray(new, dtype=bool)])
        new_idx = np.arange(n0, n0 + k, dtype=np.int64)
        if mask is not None:
            new_idx = new_idx[np.asarray(mask, dtype=bool)]
        keys = sort_keys(table, new_idx, self.sort_column, self.descending)
        o = np.argsort(keys, kind="stable")
        new_idx, keys = new_idx[o], keys[o]
        if not len(new_idx):
            self.table, self._mask = table, full_mask
            return
        pos = np.searchsorted(self._keys, keys, side="right")  # where each goes among those shown
        n = len(self.visible)
        new_at = pos + np.arange(len(pos))  # its place once all are in
        old_at = np.arange(n) + np.searchsorted(pos, np.arange(n), side="right")
        order = np.insert(self.visible, pos, new_idx)
        self._insert(table, full_mask, old_at, new_at, order, np.insert(self._keys, pos, keys))

    def _insert(
        self,
        table: ReviewTable,
        mask: np.ndarray | None,
        old_at: np.ndarray,
        new_at: np.ndarray,
        order: np.ndarray,
        keys: np.ndarray,
    ) -> None:
        """Rows shown now go to ``old_at`` and new ones to ``new_at`` of ``order`` (the new display
        order, with its sort ``keys``): inserted at the end, then moved there in one layout change."""
        n = len(self.visible)
        self.beginInsertRows(QModelIndex(), n, n + len(new_at) - 1)
        self.table, self._mask = table, mask
        self.visible = np.concatenate([order[old_at], order[new_at]])
        self.endInsertRows()
        self.layoutAboutToBeChanged.emit()
        moved_to = np.concatenate([old_at, new_at])  # row p of the appended order goes to moved_to[p]
        self.visible, self._keys = order, keys
        persistent = self.persistentIndexList()
        if persistent:
            self.changePersistentIndexList(
                persistent, [self.index(int(moved_to[p.row()]), p.column()) for p in persistent]
            )
        self.layoutChanged.emit()

    def _extended(self, part: ReviewTable) -> ReviewTable:
        """This table with ``part``'s reviews after its own, in columns that grow in place."""
        n, k = len(self.table), len(part)
        old, new = _columns(self.table), _columns(part)
        buffers = self._capacity
        if buffers is None or buffers[0] is not self.table or len(buffers[1][0]) < n + k:
            size = max(n + k, 2 * n, 256)
            cols = []
            for a, b in zip(old, new, strict=True):
                col = np.empty(size, dtype=np.result_type(a.dtype, b.dtype))
                col[:n] = a
                cols.append(col)
        else:
            cols = buffers[1]
        for col, b in zip(cols, new, strict=True):
            col[n : n + k] = b
        table = ReviewTable(part.label_names, *(col[: n + k] for col in cols))
        self._capacity = (table, cols)
        return table

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.beginResetModel()
        self._mask = mask
        self._recompute()
        self.endResetModel()

    def _recompute(self) -> None:
        self.visible, self._keys = self._order(self.table, self._mask)

    def _order(self, table: ReviewTable, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Indices into ``table`` of the rows ``mask`` keeps, in display order, and their sort keys."""
        rows = np.arange(len(table)) if mask is None else np.flatnonzero(mask)
        keys = sort_keys(table, rows, self.sort_column, self.descending)
        o = np.argsort(keys, kind="stable")
        return rows[o], keys[o]

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
