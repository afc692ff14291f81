"""Help → About and Help → Keyboard: plain rows in, every string shown as plain text."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.shortcuts import SECTIONS

__all__ = ["AboutDialog", "KeyboardDialog", "plain_label"]


def plain_label(text: str, wrap: bool = True, selectable: bool = True) -> QLabel:
    """A label that never interprets its text as HTML (text from files is shown as written)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class _RowsDialog(QDialog):
    def __init__(
        self, title: str, sections: list[tuple[str, list[tuple[str, str]]]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        body = QWidget()
        col = QVBoxLayout(body)
        for heading, rows in sections:
            box = QGroupBox(heading)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for key, value in rows:
                form.addRow(plain_label(key, wrap=False, selectable=False), plain_label(value))
            col.addWidget(box)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(640, 560)


class AboutDialog(_RowsDialog):
    """Version, model and licences, as (heading, rows) built by the main window."""

    def __init__(
        self, sections: list[tuple[str, list[tuple[str, str]]]], parent: QWidget | None = None
    ) -> None:
        super().__init__("About HAN Explorer", sections, parent)


class KeyboardDialog(_RowsDialog):
    """Every shortcut in :data:`app.shortcuts.SECTIONS`, in the platform's own key names."""

    def __init__(self, parent: QWidget | None = None) -> None:
        def native(keys: str) -> str:
            seq = QKeySequence(keys)
            text = seq.toString(QKeySequence.SequenceFormat.NativeText)
            return text if text and seq.count() else keys

        sections = [
            (title, [(" or ".join(native(k) for k in s.keys), s.what) for s in shortcuts])
            for title, shortcuts in SECTIONS
        ]
        super().__init__("Keyboard", sections, parent)
