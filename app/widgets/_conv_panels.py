"""Counters with their derivation, and the "what the hardware did" switch."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.display import CountersDisplay

__all__ = ["CountersPanel", "HardwarePanel"]


def _label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return label


class CountersPanel(QWidget):
    """Signals
    -------
    card_changed(str)
    registers_changed(int)
        Registers per thread assumed for the occupancy estimate.
    """

    card_changed = Signal(str)
    registers_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card_box = QComboBox()
        self.registers_box = QSpinBox()
        self.registers_box.setRange(1, 255)
        self.registers_box.setKeyboardTracking(False)
        self.registers_note = _label()
        self.table = _label("–")
        self.occupancy = _label()
        form = QFormLayout()
        form.addRow("Card", self.card_box)
        form.addRow("Registers per thread", self.registers_box)
        inner = QWidget()
        col = QVBoxLayout(inner)
        col.addWidget(self.table)
        col.addLayout(form)
        col.addWidget(self.registers_note)
        col.addWidget(self.occupancy)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.card_box.textActivated.connect(self.card_changed)
        self.registers_box.valueChanged.connect(self.registers_changed)

    def set_cards(self, names: list[str]) -> None:
        with QSignalBlocker(self.card_box):
            self.card_box.clear()
            self.card_box.addItems(names)

    def set_counters(self, c: CountersDisplay | None, busy: bool = False) -> None:
        if c is None:
            self.table.setText("Counting…" if busy else "–")
            self.occupancy.setText("")
            self.registers_note.setText("")
            return
        rows = "".join(
            f"<tr><td><b>{escape(name)}</b></td><td><b>{escape(value)}</b></td></tr>"
            f"<tr><td></td><td style='color: #555;'>{escape(how)}</td></tr>"
            for name, value, how in c.rows
        )
        self.table.setText(f"<table cellspacing='1'>{rows}</table>")
        with QSignalBlocker(self.card_box):
            self.card_box.setCurrentText(c.card)
        with QSignalBlocker(self.registers_box):
            self.registers_box.setValue(c.registers)
        self.registers_note.setText(f"<span style='color: #555;'>{escape(c.registers_note)}</span>")
        lines = "<br>".join(escape(line) for line in c.occupancy_lines)
        self.occupancy.setText(f"<b>Occupancy on the {escape(c.card)}</b><br>{lines}")


class HardwarePanel(QWidget):
    """Signals
    -------
    toggled(bool)
        Show the loads the instrumented kernel recorded instead of the geometry's plan.
    record_requested()
        Run the instrumented kernel for the selected block.
    """

    toggled = Signal(bool)
    record_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Show what the hardware did (the instrumented kernel's load map)")
        self.record = QPushButton("Record the selected block on the GPU")
        self.reason = _label()
        self.result = _label()
        col = QVBoxLayout(self)
        col.addWidget(self.check)
        col.addWidget(self.record)
        col.addWidget(self.reason)
        col.addWidget(self.result)
        col.addStretch(1)
        self.check.toggled.connect(self.toggled)
        self.record.clicked.connect(self.record_requested)

    def set_available(self, available: bool, reason: str) -> None:
        """Enabled only with a GPU; ``reason`` says why not (or what it does)."""
        self.check.setEnabled(available)
        self.record.setEnabled(available)
        self.reason.setText(escape(reason))

    def set_checked(self, on: bool) -> None:
        with QSignalBlocker(self.check):
            self.check.setChecked(on)

    def set_result(self, text: str) -> None:
        self.result.setText(escape(text))
