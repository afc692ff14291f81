"""The probe review during training: its attention at each evaluation, and a scrubber through them.

The text is shaded exactly as in the Attention view (the same editor and sentence strip), by word
weight × sentence weight. Before training the text can be edited; while a run goes on it is read
only, so every snapshot lines up with it.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.colormaps import DEFAULT_COLORMAP
from app.display import ProbeSnapshot
from app.widgets._attention_text import AttentionTextEdit
from app.widgets._sentence_strip import SentenceStrip

__all__ = ["ProbePanel"]

IDLE_CAPTION = "Its attention is re-scored at every evaluation once training starts."


class ProbePanel(QWidget):
    """Signals
    -------
    probe_edited()
        The user changed the probe text.
    from_attention_requested()
        "Use the Attention view's review" was clicked.
    snapshot_selected(int)
        The user moved the scrubber to snapshot ``i``.
    """

    probe_edited = Signal()
    from_attention_requested = Signal()
    snapshot_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.snapshots: list[ProbeSnapshot] = []
        self.saved_index = -1
        self.editor = AttentionTextEdit()
        self.editor.setPlaceholderText(
            "A review to watch while the model learns: type or paste one, or take "
            "the one in the Attention view."
        )
        self.strip = SentenceStrip(self.editor)
        self.from_attention = QPushButton("Use the Attention view's review")
        self.from_attention.setToolTip("Watch the review that is open in the Attention view")
        self.prediction = QLabel()
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setRange(0, 0)
        self.scrubber.setPageStep(1)
        self.scrubber.setEnabled(False)
        self.scrubber.setToolTip("Go back through the probe's attention at each evaluation")
        self.caption = QLabel(IDLE_CAPTION)
        self.caption.setWordWrap(True)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() * 2 + 2)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._build()
        self._text = ""  # textChanged also fires when shading changes: compare the text itself
        self.editor.textChanged.connect(self._on_text_changed)
        self.from_attention.clicked.connect(self.from_attention_requested)
        self.scrubber.valueChanged.connect(self._on_scrubbed)

    def _build(self) -> None:
        top = QHBoxLayout()
        title = QLabel("<b>Probe review</b>")
        title.setToolTip(
            "Shading: word weight × sentence weight, darkest = the heaviest word; "
            "bars on the left: sentence weights"
        )
        top.addWidget(title)
        top.addWidget(self.from_attention)
        top.addStretch(1)
        top.addWidget(self.prediction)
        text = QHBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.strip)
        text.addWidget(self.editor, 1)
        scrub = QHBoxLayout()
        scrub.addWidget(QLabel("Snapshot (shade: word × sentence weight):"))
        scrub.addWidget(self.scrubber, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(text, 1)
        layout.addLayout(scrub)
        layout.addWidget(self.caption)

    # -- model -> view (no signals) -------------------------------------------------------------------
    def set_probe_text(self, text: str) -> None:
        if text != self.editor.toPlainText():
            self._text = text  # no signal blocker: the editor's own wiring must run
            self.editor.setPlainText(text)
            self._text = self.editor.toPlainText()
            self.editor.set_display(None, "product", DEFAULT_COLORMAP)

    def probe_text(self) -> str:
        return self.editor.toPlainText()

    def set_editable(self, editable: bool) -> None:
        self.editor.setReadOnly(not editable)
        self.from_attention.setEnabled(editable)

    def set_snapshots(self, snapshots: list[ProbeSnapshot], index: int, saved_index: int = -1) -> None:
        """All snapshots so far, showing number ``index``; ``saved_index`` is the saved (best) model's."""
        self.snapshots = list(snapshots)
        self.saved_index = saved_index
        with QSignalBlocker(self.scrubber):
            self.scrubber.setRange(0, max(0, len(snapshots) - 1))
            self.scrubber.setValue(max(0, index))
        self.scrubber.setEnabled(len(snapshots) > 1)
        self._show(index)

    @property
    def index(self) -> int:
        return self.scrubber.value() if self.snapshots else -1

    def _show(self, index: int) -> None:
        if not 0 <= index < len(self.snapshots):
            self.editor.set_display(None, "product", DEFAULT_COLORMAP)
            self.prediction.setText("")
            self.caption.setText(IDLE_CAPTION)
            self.strip.update()
            return
        snap = self.snapshots[index]
        self.editor.set_display(snap.display, "product", DEFAULT_COLORMAP)
        self.strip.update()
        prob = dict(snap.display.probabilities).get(snap.display.label, 0.0)
        self.prediction.setText(f"predicts <b>{snap.display.label}</b> ({prob:.1%})")
        saved = " · the saved model (best dev accuracy so far)" if index == self.saved_index else ""
        self.caption.setText(f"{index + 1} of {len(self.snapshots)}: {snap.describe()}{saved}")

    # -- view -> model --------------------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        text = self.editor.toPlainText()
        if text != self._text:
            self._text = text
            self.probe_edited.emit()

    def _on_scrubbed(self, index: int) -> None:
        self._show(index)
        self.snapshot_selected.emit(index)
