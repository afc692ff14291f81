"""The Training explorer's view: dataset and its lengths, settings, and the run as it goes.

Three columns: *Data* (the dataset's statistics and two length histograms with draggable cuts),
*Settings* (every training setting, the output folder, Start and Cancel) and *Training* (progress,
live curves, the probe review's attention with a scrubber, Save and "Use in Attention view").
The view paints what the controller (``app/training_controller.py``) gives it and reports what the
user does; ``set_*`` methods never emit signals.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.display import CutSummary, DatasetSummary, HistogramData, RunProgress
from app.widgets._adaptive import AdaptivePanes
from app.widgets._dataset_picker import DATASET_FORMATS, DatasetPicker
from app.widgets._training_curves import TrainingCurves
from app.widgets._training_form import SettingsForm
from app.widgets._training_histogram import LengthHistogram
from app.widgets._training_probe import ProbePanel

__all__ = ["DATASET_FORMATS", "TrainingView", "fixed_lines"]
_ERROR, _NOTE = "color: #b00020;", "color: #8a5300;"  # an error; a warning (rows skipped)


def fixed_lines(label: QLabel, lines: int) -> None:
    """Give ``label`` the height of ``lines`` lines, whatever its text (longer text is cut)."""
    label.setFixedHeight(label.fontMetrics().lineSpacing() * lines + 2)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)


class TrainingView(QWidget):
    """Signals
    -------
    dataset_chosen(str)
        The user picked a dataset file or folder (or pressed Return in the path field).
    format_changed(str)
    cut_moved(str, float)
        A histogram's cut was dragged: ``"words"`` or ``"sentences"``, and the length.
    setting_changed(str)
        The user changed a training setting (its name).
    start_requested(), cancel_requested(), use_requested()
    save_requested(str)
        Save the trained model to this folder.
    """

    dataset_chosen = Signal(str)
    format_changed = Signal(str)
    cut_moved = Signal(str, float)
    setting_changed = Signal(str)
    start_requested = Signal()
    cancel_requested = Signal()
    save_requested = Signal(str)
    use_requested = Signal()

    def __init__(self, defaults: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = SettingsForm(defaults)
        self.words_histogram = LengthHistogram("Words per sentence")
        self.sentences_histogram = LengthHistogram("Sentences per document")
        self.curves = TrainingCurves()
        self.probe = ProbePanel()
        self._build()
        self._wire()
        self.set_running(False)
        self.set_can_start(False)
        self.set_model_ready(False)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.picker = DatasetPicker(
            "A dataset: JSON Lines, CSV or Yelp file (may be .gz), or an aclImdb folder of pos/ and neg/"
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
        # On a narrow screen the data and the settings become two tabs beside the run.
        self.panes = AdaptivePanes(
            [
                ("Data", self._data_column()),
                ("Settings", self._settings_column()),
                ("Training", self._run_column()),
            ],
            main=2,
            sizes=[420, 330, 650],
        )
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.panes, 1)

    def _data_column(self) -> QWidget:
        box = QGroupBox("Data")
        col = QVBoxLayout(box)
        self.stats = QLabel("Pick a dataset to see its documents, classes and lengths.")
        self.stats.setWordWrap(True)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report = QLabel()
        self.report.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.report.setWordWrap(True)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cut_summary = QLabel()
        self.cut_summary.setWordWrap(True)
        col.addWidget(self.stats)
        col.addWidget(self.report)
        col.addWidget(self.words_histogram, 1)
        col.addWidget(self.sentences_histogram, 1)
        col.addWidget(self.cut_summary)
        box.setMinimumWidth(340)
        return box

    def _settings_column(self) -> QWidget:
        box = QGroupBox("Settings")
        col = QVBoxLayout(box)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        col.addWidget(scroll, 1)
        self.out = QLineEdit()
        self.out.setToolTip("The run writes model/, checkpoint/ and logs/ here")
        self.out_button = QPushButton("…")
        self.out_button.setToolTip("Choose the output folder")
        row = QHBoxLayout()
        row.addWidget(QLabel("Output:"))
        row.addWidget(self.out, 1)
        row.addWidget(self.out_button)
        col.addLayout(row)
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop at the next step; the last checkpoint and best model stay")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)
        col.addLayout(buttons)
        box.setMinimumWidth(300)
        return box

    def _run_column(self) -> QWidget:
        box = QGroupBox("Training")
        box.setMinimumWidth(480)  # two curves side by side and a readable probe
        col = QVBoxLayout(box)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.rate = QLabel()
        self.rate.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton("Save model…")
        self.save_button.setToolTip(
            "Copy the best model of this run to a folder of your choice "
            "(model.safetensors + model.json, as han-explorer train writes)"
        )
        self.use_button = QPushButton("Use in Attention view")
        self.use_button.setToolTip("Open this run's best model and show it in the Attention view")
        fixed_lines(self.rate, 1)  # text that changes while training must not re-lay out the plots
        fixed_lines(self.status, 2)
        col.addWidget(self.progress)
        col.addWidget(self.rate)
        col.addWidget(self.status)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.curves)
        splitter.addWidget(self.probe)
        splitter.setSizes([260, 340])
        col.addWidget(splitter, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        row.addWidget(self.use_button)
        col.addLayout(row)
        return box

    def _wire(self) -> None:
        self.picker.chosen.connect(self.dataset_chosen)
        self.out_button.clicked.connect(self._browse_out)
        self.format_box.currentTextChanged.connect(self.format_changed)
        self.words_histogram.cut_moved.connect(lambda v: self.cut_moved.emit("words", v))
        self.sentences_histogram.cut_moved.connect(lambda v: self.cut_moved.emit("sentences", v))
        self.form.value_changed.connect(self.setting_changed)
        self.start_button.clicked.connect(self.start_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.save_button.clicked.connect(self._ask_save)
        self.use_button.clicked.connect(self.use_requested)

    # -- dialogs ------------------------------------------------------------------------------------
    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder for the run", self.out.text())
        if path:
            self.out.setText(path)

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the model as a new folder", "han-model")
        if path:
            self.save_requested.emit(path)

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_dataset_path(self, path: str) -> None:
        with QSignalBlocker(self.path):
            self.path.setText(path)

    def set_format(self, fmt: str) -> None:
        with QSignalBlocker(self.format_box):
            self.format_box.setCurrentText(fmt)

    @property
    def dataset_format(self) -> str:
        return self.format_box.currentText()

    def set_stats(self, summary: DatasetSummary | None, report: str = "", error: bool = False) -> None:
        """The dataset's statistics, and a report line (skipped rows, or why it cannot be used)."""
        rows = summary.rows() if summary is not None else []
        cells = "".join(
            f"<tr><td style='padding-right:8px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        self.stats.setText(f"<table>{cells}</table>" if rows else "")
        self.stats.setVisible(bool(rows))
        self.report.setText(report)
        self.report.setStyleSheet(_ERROR if error else _NOTE)
        self.report.setVisible(bool(report))

    def set_histograms(self, words: HistogramData | None, sentences: HistogramData | None) -> None:
        self.words_histogram.set_data(words)
        self.sentences_histogram.set_data(sentences)
        if words is None:
            self.cut_summary.setText("")

    def set_cuts(self, cut: CutSummary) -> None:
        self.words_histogram.set_cut(*cut.words_cut())
        self.sentences_histogram.set_cut(*cut.sentences_cut())
        self.cut_summary.setText(cut.summary())

    def confirm(self, title: str, text: str) -> bool:
        """Ask a yes/no question (No is the default); True for Yes."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)  # it quotes folder names
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def out_dir(self) -> str:
        return self.out.text().strip()

    def set_out_dir(self, path: str) -> None:
        self.out.setText(path)

    def set_running(self, running: bool) -> None:
        self.running = running
        self.cancel_button.setEnabled(running)
        for w in (
            self.path,
            self.file_button,
            self.folder_button,
            self.format_box,
            self.out,
            self.out_button,
        ):
            w.setEnabled(not running)
        self.form.set_enabled(not running)
        self.probe.set_editable(not running)
        self.words_histogram.line.setMovable(not running)
        self.sentences_histogram.line.setMovable(not running)
        self._update_start()

    def set_can_start(self, can_start: bool) -> None:
        self.can_start = can_start
        self._update_start()

    def _update_start(self) -> None:
        if hasattr(self, "can_start"):
            self.start_button.setEnabled(self.can_start and not self.running)

    def set_progress(self, progress: RunProgress | None) -> None:
        if progress is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("")
            self.rate.setText("")
            return
        top = max(1, progress.total)
        self.progress.setRange(0, top)
        self.progress.setValue(min(progress.step, top))
        self.progress.setFormat("step %v of %m (%p%)")
        self.rate.setText(progress.text())

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(_ERROR if error else "")

    def set_model_ready(self, ready: bool) -> None:
        self.save_button.setEnabled(ready)
        self.use_button.setEnabled(ready)
