"""Controls of the GRU stepper: the transport bar and the what-if sliders."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets._gru_readout import RichText

__all__ = ["BIAS_RANGE", "DIRECTIONS", "ENCODERS", "SPEEDS", "SentenceBar", "Transport", "WhatIfPanel"]

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # steps per second the speed slider offers
BIAS_RANGE = 6.0  # what-if offsets run from −6 to +6 (σ(±6) ≈ 0.0025 / 0.9975)
_TICKS_PER_UNIT = 10  # slider resolution 0.1
ENCODERS = {"word": "Word GRU (a sentence's words)", "sentence": "Sentence GRU (the review's sentences)"}
DIRECTIONS = {"forward": "Forward (first {item} first)", "backward": "Backward (last {item} first)"}
_ITEM = {"word": "word", "sentence": "sentence"}  # what one step reads, by encoder


def _combo(items: dict[str, str]) -> QComboBox:
    box = QComboBox()
    for key, title in items.items():
        box.addItem(title, key)
    return box


class SentenceBar(QWidget):
    """The text to trace, which GRU reads it and in which direction, which sentence, and a message line.

    Signals
    -------
    text_edited()
    encoder_changed(str), direction_changed(str)
    sentence_changed(int)
        Sentence ``i`` (0-based) of a longer text for the word GRU.
    """

    text_edited = Signal()
    encoder_changed = Signal(str)
    direction_changed = Signal(str)
    sentence_changed = Signal(int)
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(
            "Type a sentence, or select one in the Attention view and click "
            "“Step through it in the GRU stepper”."
        )
        # Three lines show a long sentence whole; a longer text scrolls inside the box.
        self.editor.setFixedHeight(self.editor.fontMetrics().lineSpacing() * 3 + 14)
        self.editor.installEventFilter(self)
        self.encoder_box, self.direction_box = _combo(ENCODERS), _combo(DIRECTIONS)
        self.sentence_box = QSpinBox()
        self.sentence_box.setRange(1, 1)
        self.sentence_box.setPrefix("sentence ")
        self.sentence_box.setToolTip("Which sentence of the text the word GRU reads")
        self.message = RichText()  # wraps without height-for-width, so the tab never outgrows the window
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.editor, 0, 0, 2, 1)
        grid.addWidget(self.encoder_box, 0, 1)
        grid.addWidget(self.direction_box, 0, 2)
        row = QHBoxLayout()
        row.addWidget(self.sentence_box)
        row.addWidget(self.message, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.addLayout(row, 1, 1, 1, 2)
        grid.setColumnStretch(0, 1)
        self.editor.textChanged.connect(self.text_edited)
        self._relabel_directions()
        self.encoder_box.currentIndexChanged.connect(lambda _: self._relabel_directions())
        self.encoder_box.currentIndexChanged.connect(lambda _: self.encoder_changed.emit(self.encoder))
        self.direction_box.currentIndexChanged.connect(lambda _: self.direction_changed.emit(self.direction))
        self.sentence_box.valueChanged.connect(lambda v: self.sentence_changed.emit(v - 1))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter or Escape in the sentence box hands the keys back to the stepper (Shift+Enter: new line)."""
        if watched is self.editor and isinstance(event, QKeyEvent):
            key, mods = event.key(), event.modifiers()
            if key == Qt.Key.Key_Escape or (
                key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods & Qt.KeyboardModifier.ShiftModifier
            ):
                self.left.emit()
                return True
        return super().eventFilter(watched, event)

    def text(self) -> str:
        return self.editor.toPlainText()

    @property
    def encoder(self) -> str:
        return self.encoder_box.currentData()

    @property
    def direction(self) -> str:
        return self.direction_box.currentData()

    @property
    def sentence(self) -> int:
        return self.sentence_box.value() - 1

    def set_text(self, text: str) -> None:
        with QSignalBlocker(self.editor):
            self.editor.setPlainText(text)

    def set_encoder(self, encoder: str) -> None:
        with QSignalBlocker(self.encoder_box):
            self.encoder_box.setCurrentIndex(max(self.encoder_box.findData(encoder), 0))
        self._relabel_directions()

    def _relabel_directions(self) -> None:
        item = _ITEM.get(self.encoder, "word")
        for i, title in enumerate(DIRECTIONS.values()):
            self.direction_box.setItemText(i, title.format(item=item))

    def set_direction(self, direction: str) -> None:
        with QSignalBlocker(self.direction_box):
            self.direction_box.setCurrentIndex(max(self.direction_box.findData(direction), 0))

    def set_sentence(self, sentence: int, n_sentences: int | None = None) -> None:
        with QSignalBlocker(self.sentence_box):
            if n_sentences is not None:
                self.sentence_box.setRange(1, max(n_sentences, 1))
                self.sentence_box.setSuffix(f" of {max(n_sentences, 1)}")
            self.sentence_box.setValue(sentence + 1)
        self.sentence_box.setEnabled(self.encoder == "word" and self.sentence_box.maximum() > 1)

    def set_message(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#666666"
        self.message.set_html(f"<span style='color:{color}'>{html.escape(text)}</span>")


class Transport(QWidget):
    """Jump to start, step back, play/pause, step forward, jump to end, and the speed.

    Signals
    -------
    start_clicked(), back_clicked(), play_clicked(), forward_clicked(), end_clicked()
    speed_changed(float)
        The user moved the speed slider (steps per second).
    """

    start_clicked = Signal()
    back_clicked = Signal()
    play_clicked = Signal()
    forward_clicked = Signal()
    end_clicked = Signal()
    speed_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        sp = QStyle.StandardPixmap
        self.buttons: dict[str, QToolButton] = {}
        for name, icon, tip, signal in (
            ("start", sp.SP_MediaSkipBackward, "Jump to the first step (Home)", self.start_clicked),
            ("back", sp.SP_MediaSeekBackward, "One step back (←)", self.back_clicked),
            ("play", sp.SP_MediaPlay, "Play / pause (Space)", self.play_clicked),
            ("forward", sp.SP_MediaSeekForward, "One step forward (→)", self.forward_clicked),
            ("end", sp.SP_MediaSkipForward, "Jump to the last step (End)", self.end_clicked),
        ):
            b = QToolButton()
            b.setIcon(self.style().standardIcon(icon))
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the arrows belong to the stepper
            b.clicked.connect(signal)
            row.addWidget(b)
            self.buttons[name] = b
        self.step_label = RichText()  # changes on every step: painted, no relayout
        self.step_label.setFixedWidth(92)
        row.addWidget(self.step_label, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addSpacing(8)
        row.addWidget(QLabel("Speed:"))
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setFixedWidth(90)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.valueChanged.connect(lambda i: self.speed_changed.emit(SPEEDS[i]))
        self.speed.valueChanged.connect(self._show_speed)
        row.addWidget(self.speed)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(70)
        row.addWidget(self.speed_label)
        self.set_speed(2.0)

    def set_speed(self, steps_per_s: float) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - steps_per_s))
        with QSignalBlocker(self.speed):
            self.speed.setValue(i)
        self._show_speed(i)

    @property
    def steps_per_s(self) -> float:
        return SPEEDS[self.speed.value()]

    def _show_speed(self, i: int) -> None:
        self.speed_label.setText(f"{SPEEDS[i]:g} steps/s")

    def set_playing(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        icon = sp.SP_MediaPause if playing else sp.SP_MediaPlay
        self.buttons["play"].setIcon(self.style().standardIcon(icon))

    def set_position(self, step: int, n_steps: int) -> None:
        self.step_label.set_html(f"step {step + 1} of {n_steps}" if n_steps else "step –")
        for names, enabled in (
            (("start", "back"), step > 0),
            (("forward", "end"), step < n_steps - 1),
            (("play",), n_steps > 1),
        ):
            for name in names:
                if self.buttons[name].isEnabled() != enabled:
                    self.buttons[name].setEnabled(enabled)


class WhatIfPanel(QGroupBox):
    """Offsets on the three gate biases; unchecked means the trained cell.

    Signals
    -------
    offsets_changed()
        A slider moved, the box was (un)checked, or Reset was clicked.
    """

    offsets_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What-if: shift the gate biases", parent)
        self.setCheckable(True)
        self.setChecked(False)
        form = QFormLayout()
        self.sliders: dict[str, QSlider] = {}
        self.value_labels: dict[str, QLabel] = {}
        for gate, title in (("z", "update z"), ("r", "reset r"), ("n", "candidate n")):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(-round(BIAS_RANGE * _TICKS_PER_UNIT), round(BIAS_RANGE * _TICKS_PER_UNIT))
            s.setToolTip(f"Added to the pre-activation of the {title.split()[0]} gate at every step")
            s.valueChanged.connect(self._on_slider)
            label = QLabel()
            label.setMinimumWidth(48)
            line = QHBoxLayout()
            line.addWidget(s, 1)
            line.addWidget(label)
            form.addRow(f"Δb {title}:", line)
            self.sliders[gate], self.value_labels[gate] = s, label
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self._on_reset)
        note = RichText()
        note.set_html("A high Δb on z makes the cell keep its memory (z → 1, h ≈ h<sub>prev</sub>).")
        col = QVBoxLayout(self)
        col.addLayout(form)
        bottom = QHBoxLayout()
        bottom.addWidget(note, 1)
        bottom.addWidget(self.reset_button)
        col.addLayout(bottom)
        self.toggled.connect(lambda _: self.offsets_changed.emit())
        self._show()

    @property
    def offsets(self) -> dict[str, float]:
        """The offsets in force (all 0 while the box is unchecked)."""
        on = self.isChecked()
        return {g: (s.value() / _TICKS_PER_UNIT if on else 0.0) for g, s in self.sliders.items()}

    def set_offsets(self, offsets: dict[str, float], enabled: bool | None = None) -> None:
        with QSignalBlocker(self):
            if enabled is not None:
                self.setChecked(enabled)
            for g, s in self.sliders.items():
                with QSignalBlocker(s):
                    s.setValue(round(offsets.get(g, 0.0) * _TICKS_PER_UNIT))
        self._show()

    def _show(self) -> None:
        for g, s in self.sliders.items():
            self.value_labels[g].setText(f"{s.value() / _TICKS_PER_UNIT:+.1f}")

    def _on_slider(self) -> None:
        self._show()
        self.offsets_changed.emit()

    def _on_reset(self) -> None:
        self.set_offsets({})
        self.offsets_changed.emit()
