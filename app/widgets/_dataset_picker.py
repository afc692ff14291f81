"""The one row every view that reads a dataset starts with: path, File…, Folder…, Format.

Used by the Training and the Dataset explorers, so both accept the same formats, offer the same
dialogs and say the same things.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

__all__ = ["DATASET_FILTER", "DATASET_FORMATS", "DatasetPicker"]

DATASET_FORMATS = ("auto", "jsonl", "csv", "aclimdb", "yelp")  # engine.data's formats, and auto-detect
DATASET_FILTER = "Datasets (*.jsonl *.json *.csv *.gz *.txt);;All files (*)"


class DatasetPicker(QWidget):
    """``Dataset: [path] [File…] [Folder…] Format: [auto]``.

    Signals
    -------
    chosen(str)
        Enter in the path box, or a file or folder picked in a dialog (the path box shows it).
    """

    chosen = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = QLineEdit()
        self.path.setPlaceholderText(placeholder)
        self.file_button = QPushButton("File…")
        self.folder_button = QPushButton("Folder…")
        self.format_box = QComboBox()
        self.format_box.addItems(list(DATASET_FORMATS))
        self.format_box.setToolTip("auto: a folder is aclImdb; a file is told apart by its first line")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (
            QLabel("Dataset:"),
            self.path,
            self.file_button,
            self.folder_button,
            QLabel("Format:"),
            self.format_box,
        ):
            row.addWidget(w, 1 if w is self.path else 0)
        self.path.returnPressed.connect(lambda: self.chosen.emit(self.path.text().strip()))
        self.file_button.clicked.connect(self._browse_file)
        self.folder_button.clicked.connect(self._browse_folder)

    def set_path(self, path: str) -> None:
        """Show ``path`` (no signal)."""
        with QSignalBlocker(self.path):
            self.path.setText(path)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", "", DATASET_FILTER)
        if path:
            self.set_path(path)
            self.chosen.emit(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open an aclImdb folder (pos/ and neg/ inside)")
        if path:
            self.set_path(path)
            self.chosen.emit(path)
