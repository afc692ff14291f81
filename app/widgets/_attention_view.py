"""The Attention explorer's view: review editor with shading, sentence strip, prediction and legend.

It paints an :class:`AttentionDisplay` and reports what the user does; the controller
(``app/attention_controller.py``) decides what happens. ``set_*`` methods never emit signals.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.colormaps import COLORMAPS
from app.display import MODES, AttentionDisplay, Mode, count
from app.widgets._attention_panels import ColorLegend, ProbabilityBars
from app.widgets._attention_text import AttentionTextEdit
from app.widgets._sentence_strip import SentenceStrip

__all__ = ["AttentionView"]


class AttentionView(QWidget):
    """Signals
    -------
    text_edited()
        The user changed the review text.
    sample_requested(str)
        A sample button was clicked (its name).
    open_requested()
        The "Open…" button.
    files_dropped(list)
        Local files dropped on the editor.
    mode_changed(str), colormap_changed(str)
    sentence_selected(int)
        The user clicked a sentence (in the text or in the strip).
    gru_requested(int)
        "Step through it in the GRU stepper" for the selected sentence.
    """

    text_edited = Signal()
    sample_requested = Signal(str)
    open_requested = Signal()
    files_dropped = Signal(list)
    mode_changed = Signal(str)
    colormap_changed = Signal(str)
    sentence_selected = Signal(int)
    gru_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = AttentionTextEdit()
        self.strip = SentenceStrip(self.editor)
        self.probabilities = ProbabilityBars()
        self.legend = ColorLegend()
        self._build()
        self._text = ""
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.files_dropped.connect(self.files_dropped)
        self.editor.sentence_clicked.connect(self.sentence_selected)
        self.strip.sentence_clicked.connect(self.sentence_selected)
        self.mode_box.currentIndexChanged.connect(
            lambda _: self.mode_changed.emit(self.mode_box.currentData())
        )
        self.colormap_box.currentTextChanged.connect(self.colormap_changed)
        self.open_button.clicked.connect(self.open_requested)
        self.gru_button.clicked.connect(self._request_gru)
        step = QShortcut(
            QKeySequence("Ctrl+Return"),
            self,
            self._request_gru,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        step.setObjectName("step_through_shortcut")

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Samples:"))
        self.samples_row = QHBoxLayout()
        top.addLayout(self.samples_row)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a .txt file (or drop one on the window)")
        top.addWidget(self.open_button)
        top.addStretch(1)
        top.addWidget(QLabel("Shade by:"))
        self.mode_box = QComboBox()
        for key, title in MODES.items():
            self.mode_box.addItem(title, key)
        top.addWidget(self.mode_box)
        top.addWidget(QLabel("Colours:"))
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(list(COLORMAPS))
        self.colormap_box.setToolTip("Every map runs light to dark, readable with any colour vision")
        top.addWidget(self.colormap_box)

        text_side = QWidget()
        row = QHBoxLayout(text_side)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.strip)
        row.addWidget(self.editor, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(text_side)
        splitter.addWidget(self._side_panel())
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        splitter.setSizes([900, 300])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    def _side_panel(self) -> QWidget:
        panel = QWidget()
        panel.setMinimumWidth(260)
        panel.setMaximumWidth(420)
        col = QVBoxLayout(panel)
        col.setContentsMargins(4, 0, 0, 0)
        pred = QGroupBox("Prediction")
        pcol = QVBoxLayout(pred)
        self.label = QLabel("–")
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names from files
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.label.setFont(font)
        pcol.addWidget(self.label)
        pcol.addWidget(self.probabilities)
        col.addWidget(pred)
        leg = QGroupBox("Colour scale")
        lcol = QVBoxLayout(leg)
        lcol.addWidget(self.legend)
        self.legend_note = QLabel()
        self.legend_note.setWordWrap(True)
        lcol.addWidget(self.legend_note)
        col.addWidget(leg)
        sel = QGroupBox("Selected sentence")
        scol = QVBoxLayout(sel)
        self.selection_label = QLabel("Click a sentence (or its bar) to select it.")
        self.selection_label.setTextFormat(Qt.TextFormat.PlainText)  # quotes the review
        self.selection_label.setWordWrap(True)
        self.selection_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scol.addWidget(self.selection_label)
        self.gru_button = QPushButton("Step through it in the GRU stepper")
        self.gru_button.setToolTip("Open this sentence in the GRU stepper (Ctrl+Enter)")
        self.gru_button.setEnabled(False)
        self.gru_button.hide()
        scol.addWidget(self.gru_button)
        col.addWidget(sel)
        self.info = QLabel()
        self.info.setWordWrap(True)
        col.addWidget(self.info)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.setStyleSheet("color: #8a4b00; font-weight: bold;")
        self.warning.hide()
        col.addWidget(self.warning)
        self.message = QLabel()
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file names
        self.message.setWordWrap(True)
        self.message.setFrameShape(QFrame.Shape.NoFrame)
        col.addWidget(self.message)
        col.addStretch(1)
        return panel

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_samples(self, names: list[str]) -> None:
        while self.samples_row.count():
            item = self.samples_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for name in names:
            b = QToolButton()
            b.setText(name.replace("_", " "))
            b.setToolTip(f"Load the sample review “{name}”")
            b.clicked.connect(lambda _=False, n=name: self.sample_requested.emit(n))
            self.samples_row.addWidget(b)

    def set_text(self, text: str) -> None:
        """Replace the review; emits ``text_edited`` like typing does (the text did change)."""
        self.editor.setPlainText(text)

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_mode(self, mode: Mode) -> None:
        with QSignalBlocker(self.mode_box):
            self.mode_box.setCurrentIndex(self.mode_box.findData(mode))
        self._restyle()

    def set_colormap(self, name: str) -> None:
        with QSignalBlocker(self.colormap_box):
            self.colormap_box.setCurrentText(name)
        self._restyle()

    @property
    def mode(self) -> Mode:
        return self.mode_box.currentData()

    @property
    def colormap(self) -> str:
        return self.colormap_box.currentText()

    def set_display(self, display: AttentionDisplay | None) -> None:
        self.editor.set_display(display, self.mode, self.colormap)
        if display is None:
            self.label.setText("–")
            self.probabilities.set_probabilities(())
            self.info.setText("")
            self.warning.hide()
        else:
            self.label.setText(display.label)
            self.probabilities.set_probabilities(display.probabilities)
            self.info.setText(f"{display.summary()}. Scored in {display.seconds * 1000:.0f} ms.")
            warning = display.warning()
            self.warning.setText(warning)
            self.warning.setVisible(bool(warning))
        self._update_legend()
        self._update_selection()
        self.strip.update()

    def set_selected_sentence(self, index: int) -> None:
        self.editor.set_selected_sentence(index)
        self._update_selection()
        self.strip.update()

    def set_gru_available(self, available: bool) -> None:
        self.gru_button.setVisible(available)

    def set_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: palette(mid);")

    # -- helpers ------------------------------------------------------------------------------------
    def _request_gru(self) -> None:
        if self.gru_button.isVisible() and self.gru_button.isEnabled():
            self.gru_requested.emit(self.editor.selected_sentence)

    def _on_editor_text_changed(self) -> None:
        # Qt also says "text changed" when only the shading (the layout's formats) changed.
        text = self.editor.toPlainText()
        if text != self._text:
            self._text = text
            self.text_edited.emit()

    def _restyle(self) -> None:
        self.editor.set_display(self.editor.display, self.mode, self.colormap)
        self._update_legend()
        self.strip.update()

    def _update_legend(self) -> None:
        d = self.editor.display
        if self.mode == "word":
            self.legend.set_scale(self.colormap, "Share of its sentence's top word", "100%", "0%")
            self.legend_note.setText(
                "Each sentence's words sum to 1; the darkest word of every sentence "
                "is its heaviest. Bars on the left: sentence weights."
            )
        else:
            top = d.scale_max("product") if d is not None else 1.0
            self.legend.set_scale(self.colormap, "Word weight × sentence weight", f"{top:.4f}", "0")
            self.legend_note.setText(
                "Darkest = the heaviest word in the whole review (its product is "
                "shown on the right). Hover a word for its exact weights."
            )

    def _update_selection(self) -> None:
        d, s = self.editor.display, self.editor.selected_sentence
        if d is None or not 0 <= s < d.n_sentences:
            self.selection_label.setText("Click a sentence (or its bar) to select it.")
            self.gru_button.setEnabled(False)
            return
        words = d.words_of(s)
        n = int(d.word_is_word[words].sum())
        top = ""
        if words.stop > words.start:
            i = words.start + int(d.word_weight[words].argmax())
            top = f"; heaviest word “{d.text[d.word_start[i] : d.word_end[i]]}” ({d.word_weight[i]:.3f})"
        snippet = " ".join(d.text[d.sentence_start[s] : d.sentence_end[s]].split())
        if len(snippet) > 160:
            snippet = snippet[:157] + "…"
        self.selection_label.setText(f"{d.describe_sentence(s)}, {count(n, 'word')}{top}.\n“{snippet}”")
        self.gru_button.setEnabled(True)
