"""The Behaviour explorer's view: the capability x test-type table with failure rates as bars, and the
failing cases of the selected cell.

The view paints what the controller (``app/behaviour_controller.py``) gives it; ``set_*`` methods
never emit signals. Case texts come from the suite and are shown as plain text.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.display._behaviour import TEST_TYPES, TYPE_MEANINGS, BehaviourTable, FailureRow

__all__ = ["BehaviourView", "FailureTable"]

_ERROR = "color: #b00020;"
RATE = Qt.ItemDataRole.UserRole + 1  # a cell's failure rate, 0..1 (absent: the capability has no such test)
_BAR = QColor("#d95f02")  # the colour-blind-safe orange of the app's diverging map
FAILURE_COLUMNS = ("test", "expected", "predicted", "confidence", "text")


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class _RateBar(QStyledItemDelegate):
    """Paints a cell's failure rate as a bar from the left edge (full width = 100%) under its text; a
    selected cell gets a frame, so that its bar stays visible."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        rate = index.data(RATE)
        if rate is None:
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        r = rect.adjusted(4, 5, -4, -5)
        painter.fillRect(r, QColor(0, 0, 0, 22))
        painter.fillRect(QRect(r.left(), r.top(), round(r.width() * float(rate)), r.height()), _BAR)
        if selected:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3)
            painter.setPen(pen)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, str(index.data(Qt.ItemDataRole.DisplayRole)))
        painter.restore()


class FailureTable(QTableWidget):
    """The failing cases; Enter or a double-click opens one.

    Signals
    -------
    row_activated(int)
    """

    row_activated = Signal(int)

    def __init__(self) -> None:
        super().__init__(0, len(FAILURE_COLUMNS))
        self.setHorizontalHeaderLabels([c.capitalize() for c in FAILURE_COLUMNS])
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        h = self.horizontalHeader()
        fit, drag = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Interactive
        for c, mode in enumerate((drag, drag, fit, fit, QHeaderView.ResizeMode.Stretch)):
            h.setSectionResizeMode(c, mode)
        # test names and DIR expectations are long: a width a reader may drag, the detail box has all
        em = self.fontMetrics().horizontalAdvance("m")
        self.setColumnWidth(0, 10 * em)
        self.setColumnWidth(1, 6 * em)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.itemDoubleClicked.connect(lambda item: self.row_activated.emit(item.row()))

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentRow() >= 0:
            self.row_activated.emit(self.currentRow())
            return
        super().keyPressEvent(e)


class BehaviourView(QWidget):
    """Signals
    -------
    run_requested()
        Run the suite with :meth:`settings` (seed, cases per test).
    cancel_requested()
    cell_selected(int, int)
        A cell of the table (capability row, test-type column) became current.
    failure_activated(int, bool)
        Open failure ``row`` in the Attention view: its text (False) or, for INV/DIR, its original (True).
    """

    run_requested = Signal()
    cancel_requested = Signal()
    cell_selected = Signal(int, int)
    failure_activated = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: tuple[FailureRow, ...] = ()
        self._build()
        self._wire()
        self.set_running(False)
        self.set_table(None)
        self.set_failures("Run the suite, then pick a cell of the table to see its failing cases.", ())

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Generate the cases and score them with the current model")
        self.cancel_button = QPushButton("Cancel")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 1_000_000)
        self.seed_box.setPrefix("seed ")
        self.seed_box.setToolTip("The same seed generates the same cases")
        self.cases_box = QSpinBox()
        self.cases_box.setRange(10, 2000)
        self.cases_box.setSingleStep(50)
        self.cases_box.setValue(200)
        self.cases_box.setSuffix(" cases a test")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.status = _plain()  # wraps: a narrow window shows the whole message on two lines
        bar = QHBoxLayout()
        for w in (self.run_button, self.cancel_button, self.seed_box, self.cases_box, self.progress):
            bar.addWidget(w)
        bar.addWidget(self.status, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self._table_column())
        self.splitter.addWidget(self._failures_column())
        self.splitter.setSizes([380, 760])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

    def _table_column(self) -> QWidget:
        box = QGroupBox("Failure rate by capability and test type")
        col = QVBoxLayout(box)
        self.table = QTableWidget(0, len(TEST_TYPES))
        for c, kind in enumerate(TEST_TYPES):
            header = QTableWidgetItem(kind)
            header.setToolTip(TYPE_MEANINGS[kind])
            self.table.setHorizontalHeaderItem(c, header)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegate(_RateBar(self.table))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 14)
        self.table.setMinimumWidth(340)
        col.addWidget(self.table, 1)
        self.legend = _plain(
            "MFT: the label is wrong. INV: a harmless change flips the prediction. DIR: a change moves "
            "the confidence the wrong way by more than 0.1. Bars: share of cases failed."
        )
        col.addWidget(self.legend)
        return box

    def _failures_column(self) -> QWidget:
        box = QGroupBox("Failing cases")
        col = QVBoxLayout(box)
        self.cell_label = _plain()
        col.addWidget(self.cell_label)
        self.failures = FailureTable()
        col.addWidget(self.failures, 3)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumBlockCount(200)
        col.addWidget(self.detail, 2)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open in Attention view")
        self.open_button.setToolTip("Show this case's text in the Attention view (Enter, double-click)")
        self.open_original_button = QPushButton("Open the original")
        self.open_original_button.setToolTip("Show the unperturbed text of an INV or DIR case")
        buttons.addStretch(1)
        buttons.addWidget(self.open_original_button)
        buttons.addWidget(self.open_button)
        col.addLayout(buttons)
        box.setMinimumWidth(460)
        return box

    def _wire(self) -> None:
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.table.currentCellChanged.connect(
            lambda r, c, *_: self.cell_selected.emit(r, c) if r >= 0 else None
        )
        self.failures.currentCellChanged.connect(lambda r, *_: self._show_detail(r))
        self.failures.row_activated.connect(lambda r: self.failure_activated.emit(r, False))
        self.open_button.clicked.connect(lambda: self._activate(False))
        self.open_original_button.clicked.connect(lambda: self._activate(True))

    def _activate(self, original: bool) -> None:
        row = self.failures.currentRow()
        if 0 <= row < len(self.rows):
            self.failure_activated.emit(row, original)

    # -- painting -----------------------------------------------------------------------------------
    def settings(self) -> tuple[int, int]:
        """(seed, cases per test)."""
        return self.seed_box.value(), self.cases_box.value()

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.seed_box.setEnabled(not running)
        self.cases_box.setEnabled(not running)

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.set_status(text)

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(_ERROR if error else "")

    def set_table(self, table: BehaviourTable | None) -> None:
        """The capability x test-type table (None: nothing run yet)."""
        with QSignalBlocker(self.table):
            self.table.clearContents()
            self.table.setRowCount(0 if table is None else len(table))
            if table is None:
                return
            for r in range(len(table)):
                header = QTableWidgetItem(table.titles[r])
                header.setToolTip(table.descriptions[r])
                self.table.setVerticalHeaderItem(r, header)
                for c, cell in enumerate(table.cells[r]):
                    item = QTableWidgetItem("—" if cell is None else cell.text)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    if cell is None:
                        item.setFlags(Qt.ItemFlag.NoItemFlags)
                        item.setToolTip("no test of this type for this capability")
                    else:
                        item.setData(RATE, cell.rate)
                        item.setToolTip(f"{cell.failures:,} of {cell.n:,} cases failed\n{cell.tip}")
                    self.table.setItem(r, c, item)

    def select_cell(self, row: int, col: int) -> None:
        with QSignalBlocker(self.table):
            self.table.setCurrentCell(row, col)

    def set_failures(self, title: str, rows: tuple[FailureRow, ...]) -> None:
        """The selected cell's failing cases (``title`` says which cell and how many)."""
        self.rows = rows
        self.cell_label.setText(title)
        with QSignalBlocker(self.failures):
            self.failures.clearContents()
            self.failures.setRowCount(len(rows))
            for i, f in enumerate(rows):
                text = " ".join(f.text.split())
                for c, value in enumerate((f.test, f.expected, f.predicted, f.confidence, text)):
                    # a table item's text is never rich text; no tooltip (one could be): the detail box
                    self.failures.setItem(i, c, QTableWidgetItem(value))
            if rows:
                self.failures.setCurrentCell(0, 0)
        self._show_detail(0 if rows else -1)

    def _show_detail(self, row: int) -> None:
        ok = 0 <= row < len(self.rows)
        self.detail.setPlainText(self.rows[row].detail if ok else "")
        self.open_button.setEnabled(ok)
        self.open_original_button.setEnabled(ok and self.rows[row].original is not None)
