"""The Dataset explorer's view: every review of a corpus with its prediction, the metrics, the attention.

Columns: *Reviews* (filters and the table), *Metrics* (accuracy, per-class precision/recall/F1, the
confusion matrix whose cells filter the table, the reliability diagram) and *Corpus attention* (the
most attended words per predicted class; a click filters the table). Narrow windows fold the two side
columns into tabs (:class:`AdaptivePanes`). The view paints what the controller
(``app/dataset_controller.py``) gives it; ``set_*`` methods never emit signals.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.display._dataset import DatasetMetrics
from app.widgets._adaptive import AdaptivePanes
from app.widgets._dataset_charts import ConfusionMatrix, LastSentenceBar, ReliabilityPlot
from app.widgets._dataset_picker import DatasetPicker
from app.widgets._dataset_table import ReviewTableModel, ReviewTableView

__all__ = ["DatasetView"]

_ERROR = "color: #b00020;"


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # it quotes file names and words from files
    return label


def _small_table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 4)
    return t


def _item(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class DatasetView(QWidget):
    """Signals
    -------
    dataset_chosen(str)
        Open this dataset file or folder (the path field's Return, or a dialog).
    cancel_requested()
        Stop scoring; the rows scored so far stay.
    filters_changed()
        A filter control changed: read :meth:`filter_values`.
    clear_filters_requested()
    cell_clicked(int, int)
        A confusion-matrix cell (true, predicted) was clicked.
    word_clicked(str)
        A word of the corpus-attention lists was clicked.
    review_activated(int)
        The user opened a review (Enter / double-click): its dataset row.
    export_table_requested(str), export_weights_requested(str)
        Export to this path.
    """

    dataset_chosen = Signal(str)
    cancel_requested = Signal()
    filters_changed = Signal()
    clear_filters_requested = Signal()
    cell_clicked = Signal(int, int)
    word_clicked = Signal(str)
    review_activated = Signal(int)
    export_table_requested = Signal(str)
    export_weights_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ReviewTableModel(self)
        self.table = ReviewTableView(self.model)
        self.confusion = ConfusionMatrix()
        self.reliability = ReliabilityPlot()
        self.last_sentence = LastSentenceBar()
        self._staged = 0  # generation of the metrics being painted a part per turn
        self._build()
        self._wire()
        self.set_scoring(False)
        self.set_has_result(False)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.picker = DatasetPicker(
            "A labelled dataset: JSON Lines, CSV or Yelp file (may be .gz), or an aclImdb folder"
        )
        p = self.picker
        self.path, self.file_button, self.folder_button, self.format_box = (
            p.path,
            p.file_button,
            p.folder_button,
            p.format_box,
        )
        top = QHBoxLayout()
        top.addWidget(p, 1)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(260)
        self.status = _plain()
        self.status.setMinimumWidth(120)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop scoring; the reviews scored so far stay in the table")
        self.export_table_button = QPushButton("Export table…")
        self.export_table_button.setToolTip("The rows shown (filtered, in their order) as CSV or JSON Lines")
        self.export_weights_button = QPushButton("Export weights…")
        self.export_weights_button.setToolTip(
            "Every attention weight of the rows shown, one JSON line per review (the predict --json schema)"
        )
        bar = QHBoxLayout()
        bar.addWidget(self.progress)
        bar.addWidget(self.status, 1)
        for b in (self.cancel_button, self.export_table_button, self.export_weights_button):
            bar.addWidget(b)
        self.panes = AdaptivePanes(
            [
                ("Reviews", self._reviews_column()),
                ("Metrics", self._metrics_column()),
                ("Corpus attention", self._words_column()),
            ],
            main=0,
            sizes=[640, 330, 300],
        )
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.panes, 1)

    def _reviews_column(self) -> QWidget:
        box = QGroupBox("Reviews")
        box.setMinimumWidth(520)
        col = QVBoxLayout(box)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the reviews' text")
        self.search.setClearButtonEnabled(True)
        self.misclassified = QCheckBox("Misclassified only")
        self.label_box = QComboBox()
        self.label_box.setToolTip("Only reviews of this true or predicted class")
        self.label_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.conf_lo, self.conf_hi = QDoubleSpinBox(), QDoubleSpinBox()
        for spin, value in ((self.conf_lo, 0.0), (self.conf_hi, 1.0)):
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)
            spin.setValue(value)
            spin.setKeyboardTracking(False)
        row1 = QHBoxLayout()
        row1.addWidget(self.search, 1)
        row1.addWidget(self.misclassified)
        row1.addWidget(self.label_box)
        self.chip = _plain()
        self.chip.setStyleSheet("color: #8a5300;")
        self.clear_button = QPushButton("Clear filters")
        self.count = _plain()
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Confidence"))
        row2.addWidget(self.conf_lo)
        row2.addWidget(QLabel("to"))
        row2.addWidget(self.conf_hi)
        row2.addWidget(self.chip, 1)
        row2.addWidget(self.clear_button)
        col.addLayout(row1)
        col.addLayout(row2)
        col.addWidget(self.count)
        col.addWidget(self.table, 1)
        hint = _plain("Enter or double-click opens a review in the Attention view (Alt+Left comes back).")
        hint.setStyleSheet("color: palette(mid);")
        col.addWidget(hint)
        return box

    def _metrics_column(self) -> QWidget:
        box = QGroupBox("Metrics")
        box.setMinimumWidth(280)
        col = QVBoxLayout(box)
        self.accuracy = _plain("—")
        self.accuracy.setStyleSheet("font-weight: bold;")
        self.per_class = _small_table(["class", "prec.", "recall", "F1", "n"])
        self.per_class.setToolTip("prec.: precision, the share of a predicted class that is right")
        self.per_class.setMaximumHeight((self.per_class.fontMetrics().height() + 4) * 3 + 8)
        col.addWidget(self.accuracy)
        col.addWidget(self.per_class)
        col.addWidget(self.confusion, 3)
        col.addWidget(self.reliability, 4)
        return box

    def _words_column(self) -> QWidget:
        box = QGroupBox("Corpus attention")
        box.setMinimumWidth(250)
        col = QVBoxLayout(box)
        self.rank_box = QComboBox()
        self.rank_box.addItems(["attention mass", "frequency in top words"])
        self.rank_box.setToolTip(
            "Mass: the sum of a word's attention (sentence weight × word weight) over the class's reviews.\n"
            "Frequency: in how many of them the word is among the 10 most attended."
        )
        rank = QHBoxLayout()
        rank.addWidget(QLabel("Rank by"))
        rank.addWidget(self.rank_box, 1)
        col.addLayout(rank)
        self.words_tables: list[QTableWidget] = []
        self.words_titles: list[QLabel] = []
        self._words_box = QVBoxLayout()
        col.addLayout(self._words_box, 1)
        col.addWidget(_plain("Attention on the last sentence:"))
        col.addWidget(self.last_sentence)
        return box

    def _wire(self) -> None:
        self.picker.chosen.connect(self.dataset_chosen)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.export_table_button.clicked.connect(self._choose_table_export)
        self.export_weights_button.clicked.connect(self._choose_weights_export)
        self.search.textChanged.connect(lambda _: self.filters_changed.emit())
        self.misclassified.toggled.connect(lambda _: self.filters_changed.emit())
        self.label_box.currentIndexChanged.connect(lambda _: self.filters_changed.emit())
        self.conf_lo.valueChanged.connect(lambda _: self.filters_changed.emit())
        self.conf_hi.valueChanged.connect(lambda _: self.filters_changed.emit())
        self.clear_button.clicked.connect(self.clear_filters_requested)
        self.confusion.cell_clicked.connect(self.cell_clicked)
        self.table.activated.connect(
            lambda index: self.review_activated.emit(self.model.dataset_row(index.row()))
        )
        self.rank_box.currentIndexChanged.connect(lambda _: self._fill_words())

    # -- dialogs ------------------------------------------------------------------------------------
    def _choose_table_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the table (the rows shown)", "reviews.csv", "CSV (*.csv);;JSON Lines (*.jsonl)"
        )
        if path:
            self.export_table_requested.emit(path)

    def _choose_weights_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export every weight of the rows shown", "weights.jsonl", "JSON Lines (*.jsonl)"
        )
        if path:
            self.export_weights_requested.emit(path)

    # -- state in -----------------------------------------------------------------------------------
    @property
    def dataset_format(self) -> str:
        return self.format_box.currentText()

    def set_dataset_path(self, path: str) -> None:
        with QSignalBlocker(self.path):
            self.path.setText(path)

    def set_scoring(self, scoring: bool) -> None:
        self.cancel_button.setEnabled(scoring)
        self.progress.setVisible(True)

    def set_has_result(self, has: bool) -> None:
        self.export_table_button.setEnabled(has)
        self.export_weights_button.setEnabled(has)

    def set_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.set_status(text)

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(_ERROR if error else "")

    def set_labels(self, names: tuple[str, ...]) -> None:
        """The label filter's choices for a model's classes (keeps the choice when it still exists)."""
        items = ["all classes"] + [f"true: {n}" for n in names] + [f"predicted: {n}" for n in names]
        current = self.label_box.currentText()
        with QSignalBlocker(self.label_box):
            self.label_box.clear()
            self.label_box.addItems(items)
            self.label_box.setCurrentIndex(max(0, self.label_box.findText(current)))

    def filter_values(self) -> tuple[str, bool, str, tuple[float, float]]:
        """(query, misclassified only, "" or "true:NAME"/"pred:NAME", (min, max confidence))."""
        text = self.label_box.currentText()
        label = ""
        if text.startswith("true: "):
            label = "true:" + text.removeprefix("true: ")
        elif text.startswith("predicted: "):
            label = "pred:" + text.removeprefix("predicted: ")
        return (
            self.search.text(),
            self.misclassified.isChecked(),
            label,
            (self.conf_lo.value(), self.conf_hi.value()),
        )

    def clear_filter_controls(self) -> None:
        for w in (self.search, self.misclassified, self.label_box, self.conf_lo, self.conf_hi):
            w.blockSignals(True)
        self.search.clear()
        self.misclassified.setChecked(False)
        self.label_box.setCurrentIndex(0)
        self.conf_lo.setValue(0.0)
        self.conf_hi.setValue(1.0)
        for w in (self.search, self.misclassified, self.label_box, self.conf_lo, self.conf_hi):
            w.blockSignals(False)

    def set_chip(self, text: str) -> None:
        """The filters that came from a click (a confusion cell, a word), shown beside Clear."""
        self.chip.setText(text)

    def set_count(self, shown: int, scored: int, total: int) -> None:
        more = "" if scored == total else f" (of {total:,} in the dataset)"
        self.count.setText(f"{shown:,} of {scored:,} scored reviews shown{more}")

    def set_metrics(self, m: DatasetMetrics | None) -> None:
        self._staged += 1  # a staged painting still under way is out of date
        self._set_numbers(m)
        if m is not None:
            self._set_reliability(m)
        self._fill_words()

    def set_metrics_staged(self, m: DatasetMetrics) -> None:
        """:meth:`set_metrics` a part per event-loop turn (numbers and confusion, the reliability
        plot, the word tables), so no turn holds the GUI thread for all of it; a newer call (or
        :meth:`set_metrics`) drops what is left of an older one."""
        self._staged += 1
        gen = self._staged
        self._set_numbers(m)

        def words() -> None:
            if gen == self._staged:
                self._fill_words()

        def plot() -> None:
            if gen == self._staged:
                self._set_reliability(m)
                QTimer.singleShot(0, self, words)

        QTimer.singleShot(0, self, plot)

    def _set_numbers(self, m: DatasetMetrics | None) -> None:
        self._metrics = m
        if m is None:
            self.accuracy.setText("—")
            self.per_class.setRowCount(0)
            self.confusion.set_matrix((), self.confusion.counts[:0, :0])
            self.last_sentence.set_share(math.nan, math.nan)
            return
        # while scoring, short enough for the narrow metrics column (the count line says "of N")
        if m.complete:
            self.accuracy.setText(f"Accuracy {m.accuracy:.2%} on {m.n:,} reviews")
        else:
            self.accuracy.setText(f"Accuracy {m.accuracy:.2%} ({m.n:,} scored)")
        self.accuracy.setToolTip("" if m.complete else f"Partial: {m.n:,} of {m.total:,} reviews scored")
        self.per_class.setRowCount(len(m.per_class))
        for i, (name, p, r, f1, n) in enumerate(m.per_class):
            cells = [_item(name), *(_item(f"{x:.3f}", True) for x in (p, r, f1)), _item(f"{n:,}", True)]
            for j, item in enumerate(cells):
                self.per_class.setItem(i, j, item)
        self.confusion.set_matrix(m.label_names, m.confusion)
        self.last_sentence.set_share(m.last_share, m.uniform_share)

    def _set_reliability(self, m: DatasetMetrics) -> None:
        self.reliability.set_bins(m.bin_edges, m.bin_confidence, m.bin_accuracy, m.ece)

    def _fill_words(self) -> None:
        m = getattr(self, "_metrics", None)
        rankings = m.words if m is not None else ()
        while len(self.words_tables) < len(rankings):
            title = _plain()
            table = _small_table(["word", "value"])
            table.cellClicked.connect(lambda r, _c, t=table: self.word_clicked.emit(t.item(r, 0).text()))
            table.setToolTip("Click a word to list the reviews where it is heavily attended")
            self._words_box.addWidget(title)
            self._words_box.addWidget(table, 1)
            self.words_tables.append(table)
            self.words_titles.append(title)
        by_mass = self.rank_box.currentIndex() == 0
        for k, (title, table) in enumerate(zip(self.words_titles, self.words_tables, strict=True)):
            visible = k < len(rankings)
            title.setVisible(visible)
            table.setVisible(visible)
            if not visible:
                continue
            w = rankings[k]
            title.setText(f"predicted {w.name} ({w.reviews:,} reviews)")
            pairs = w.mass if by_mass else w.frequency
            table.setHorizontalHeaderLabels(["word", "mass" if by_mass else "reviews"])
            table.setRowCount(len(pairs))
            for i, (word, value) in enumerate(pairs):
                table.setItem(i, 0, _item(word))
                table.setItem(i, 1, _item(f"{value:.2f}" if by_mass else f"{value:,}", True))
