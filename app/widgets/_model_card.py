"""The model card: what the current model is, what it was trained on, and how well it did."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QVBoxLayout, QWidget

from app.widgets._help import plain_label

__all__ = ["ModelCardDialog"]


class ModelCardDialog(QDialog):
    """Shows rows of (field, value) built by the controller from the model's JSON."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model card")
        self.rows = rows
        form = QFormLayout()
        for key, value in rows:  # values come from the model's JSON: shown as plain text, never HTML
            form.addRow(plain_label(f"{key}:", wrap=False, selectable=False), plain_label(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
