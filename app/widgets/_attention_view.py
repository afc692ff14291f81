"""The Attention explorer's view: review editor with shading, sentence strip, prediction and legend.

It paints an :class:`AttentionDisplay` and reports what the user does; the controller
(``app/attention_controller.py``) decides what happens. ``set_*`` methods never emit signals.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QImage, QKeySequence, QPainter, QRegion, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.colormaps import COLORMAPS
from app.display import (
    ATTRIBUTION_MEANINGS,
    MODES,
    AttentionDisplay,
    AttributionValues,
    Mode,
    count,
    is_attribution,
)
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
    target_changed(str)
        The class the attributions explain ("" = the predicted class).
    compare_changed()
        Side by side switched on or off, or its right-hand mode changed.
    word_toggled(int), sentence_toggled(int), restore_requested()
        Counterfactual edits: leave a word (a sentence) out of what the model reads, or bring every
        word back. The text itself is never changed.
    pin_requested(), unpin_requested()
    """

    text_edited = Signal()
    sample_requested = Signal(str)
    open_requested = Signal()
    files_dropped = Signal(list)
    mode_changed = Signal(str)
    colormap_changed = Signal(str)
    sentence_selected = Signal(int)
    gru_requested = Signal(int)
    target_changed = Signal(str)
    compare_changed = Signal()
    word_toggled = Signal(int)
    sentence_toggled = Signal(int)
    restore_requested = Signal()
    pin_requested = Signal()
    unpin_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = AttentionTextEdit()
        self.strip = SentenceStrip(self.editor)
        self.mirror = AttentionTextEdit()  # side by side: the same text, shaded another way
        self.mirror.setReadOnly(True)
        self.mirror.setObjectName("attention_mirror")
        self.mirror.setPlaceholderText("")
        self.probabilities = ProbabilityBars()
        self.legend = ColorLegend()
        self._build()
        self._text = ""
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.files_dropped.connect(self.files_dropped)
        self.editor.sentence_clicked.connect(self.sentence_selected)
        self.mirror.sentence_clicked.connect(self.sentence_selected)
        self.strip.sentence_clicked.connect(self.sentence_selected)
        for ed in (self.editor, self.mirror):
            ed.word_toggled.connect(self.word_toggled)
            ed.sentence_toggled.connect(self.sentence_toggled)
            ed.restore_requested.connect(self.restore_requested)
        self.target_box.currentIndexChanged.connect(lambda _: self.target_changed.emit(self.target))
        self.compare_check.toggled.connect(self._on_compare_toggled)
        self.compare_box.currentIndexChanged.connect(lambda _: self._on_compare_toggled())
        self.restore_button.clicked.connect(self.restore_requested)
        self.pin_button.clicked.connect(self._on_pin_clicked)
        self._link_scrollbars()
        # what the user just did decides which side tab is in front
        self.mode_changed.connect(lambda m: self._show_explain(is_attribution(m)))
        self.compare_check.toggled.connect(self._show_explain)
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
        self.mirror_box = QWidget()
        mcol = QVBoxLayout(self.mirror_box)
        mcol.setContentsMargins(0, 0, 0, 0)
        mcol.setSpacing(2)
        self.mirror_title = QLabel()
        self.mirror_title.setTextFormat(Qt.TextFormat.PlainText)
        mcol.addWidget(self.mirror_title)
        mcol.addWidget(self.mirror, 1)
        self.mirror_box.hide()
        row.addWidget(self.mirror_box, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(text_side)
        # The side column scrolls where the screen is too short for it (1024 x 700), never squeezes.
        side = QScrollArea()
        side.setWidget(self._side_panel())
        side.setWidgetResizable(True)
        side.setFrameShape(QFrame.Shape.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumWidth(280)
        side.setMaximumWidth(440)
        self.side_scroll = side
        splitter.addWidget(side)
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
        self.edit_label = QLabel()
        self.edit_label.setObjectName("edit_label")
        self.edit_label.setStyleSheet("color: #8a4b00;")
        self.edit_label.hide()
        pcol.addWidget(self.edit_label)
        pcol.addWidget(self.probabilities)
        self.pin_label = QLabel()
        self.pin_label.setTextFormat(Qt.TextFormat.PlainText)  # class names come from model files
        self.pin_label.setWordWrap(True)
        self.pin_label.setObjectName("pin_label")
        self.pin_label.hide()
        pcol.addWidget(self.pin_label)
        prow = QHBoxLayout()
        self.pin_button = QPushButton("Pin")
        self.pin_button.setToolTip(
            "Keep this result beside the next ones, with the change in each class's probability"
        )
        self.pin_button.setCheckable(True)
        prow.addWidget(self.pin_button)
        self.restore_button = QPushButton("Bring back every word")
        self.restore_button.setToolTip(
            "Undo every counterfactual edit (Ctrl+click a word to leave it out, Ctrl+Shift+click "
            "for its sentence)"
        )
        self.restore_button.setEnabled(False)
        prow.addWidget(self.restore_button)
        pcol.addLayout(prow)
        col.addWidget(pred)
        leg = QGroupBox("Colour scale")
        lcol = QVBoxLayout(leg)
        lcol.addWidget(self.legend)
        self.legend_note = QLabel()
        self.legend_note.setWordWrap(True)
        lcol.addWidget(self.legend_note)
        col.addWidget(leg)
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(self._explain_panel(), "Explain")
        sel = QWidget()
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
        self.side_tabs.addTab(sel, "Selected sentence")
        col.addWidget(self.side_tabs)
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

    def _explain_panel(self) -> QWidget:
        box = QWidget()
        grid = QVBoxLayout(box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Class:"))
        self.target_box = QComboBox()
        self.target_box.setToolTip(
            "Attributions are signed for this class: purple pushes towards it, orange away from it"
        )
        self.target_box.addItem("predicted", "")
        row.addWidget(self.target_box, 1)
        grid.addLayout(row)
        row2 = QHBoxLayout()
        self.compare_check = QCheckBox("Side by side:")
        self.compare_check.setToolTip("Show the review twice, scrolled together, shaded two ways")
        row2.addWidget(self.compare_check)
        self.compare_box = QComboBox()
        for key, title in _SHORT.items():
            self.compare_box.addItem(title, key)
            self.compare_box.setItemData(
                self.compare_box.count() - 1, MODES[key], Qt.ItemDataRole.ToolTipRole
            )
        self.compare_box.setCurrentIndex(self.compare_box.findData("ig"))
        row2.addWidget(self.compare_box, 1)
        grid.addLayout(row2)
        self.agreement = QLabel()
        self.agreement.setTextFormat(Qt.TextFormat.PlainText)
        self.agreement.setWordWrap(True)
        self.agreement.setObjectName("agreement")
        grid.addWidget(self.agreement)
        self.explain_status = QLabel()
        self.explain_status.setTextFormat(Qt.TextFormat.PlainText)
        self.explain_status.setWordWrap(True)
        self.explain_status.setObjectName("explain_status")
        grid.addWidget(self.explain_status)
        grid.addStretch(1)
        return box

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
        self._update_mirror()
        if display is None:
            self.label.setText("–")
            self.edit_label.hide()
            self.probabilities.set_probabilities(())
            self.info.setText("")
            self.warning.hide()
            self.restore_button.setEnabled(False)
        else:
            words, sentences = display.n_removed
            self.label.setText(display.label)
            self.edit_label.setText(f"Edited: {_left_out(words, sentences)}" if words or sentences else "")
            self.edit_label.setVisible(bool(words or sentences))
            self.probabilities.set_probabilities(display.probabilities)
            self.info.setText(f"{display.summary()}. Scored in {display.seconds * 1000:.0f} ms.")
            warning = display.warning()
            self.warning.setText(warning)
            self.warning.setVisible(bool(warning))
            self.restore_button.setEnabled(bool(words or sentences))
        self._update_legend()
        self._update_selection()
        self.strip.update()

    def set_targets(self, labels: list[str]) -> None:
        """The classes an attribution can explain (the model's labels); keeps the choice if it stays."""
        current = self.target
        with QSignalBlocker(self.target_box):
            self.target_box.clear()
            self.target_box.addItem("predicted", "")
            for name in labels:
                self.target_box.addItem(name, name)
            i = self.target_box.findData(current)
            self.target_box.setCurrentIndex(max(0, i))

    @property
    def target(self) -> str:
        """The class the attributions explain; "" = the predicted class."""
        return self.target_box.currentData() or ""

    def set_target(self, target: str) -> None:
        with QSignalBlocker(self.target_box):
            self.target_box.setCurrentIndex(max(0, self.target_box.findData(target)))

    @property
    def compare_mode(self) -> Mode | None:
        """The right-hand pane's mode while side by side is on, else None."""
        return self.compare_box.currentData() if self.compare_check.isChecked() else None

    def set_compare(self, mode: Mode | None) -> None:
        with QSignalBlocker(self.compare_check), QSignalBlocker(self.compare_box):
            self.compare_check.setChecked(mode is not None)
            if mode is not None:
                self.compare_box.setCurrentIndex(max(0, self.compare_box.findData(mode)))
        self._on_compare_toggled(emit=False)

    def set_explain_status(self, text: str, error: bool = False) -> None:
        self.explain_status.setText(text)
        self.explain_status.setStyleSheet("color: #b00020;" if error else "")

    def set_pinned(self, text: str | None) -> None:
        """The pinned result beside the current one (``None``: nothing pinned)."""
        with QSignalBlocker(self.pin_button):
            self.pin_button.setChecked(text is not None)
        self.pin_button.setText("Unpin" if text is not None else "Pin")
        self.pin_label.setText(text or "")
        self.pin_label.setVisible(text is not None)

    def set_selected_sentence(self, index: int) -> None:
        """Mark sentence ``index`` (-1: none); its tab comes to the front beside the review."""
        if index >= 0:
            self.side_tabs.setCurrentIndex(1)
        self.editor.set_selected_sentence(index)
        self.mirror.set_selected_sentence(index)
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
        self._update_mirror()
        self._update_legend()
        self.strip.update()

    def _on_compare_toggled(self, *_: object, emit: bool = True) -> None:
        mode = self.compare_mode
        self.mirror_box.setVisible(mode is not None)
        self._update_mirror()
        self._update_legend()
        if emit:
            self.compare_changed.emit()

    def _update_mirror(self) -> None:
        mode = self.compare_mode
        if mode is None:
            return
        d = self.editor.display
        if d is not None and self.mirror.toPlainText() != d.text:
            self.mirror.setPlainText(d.text)
        self.mirror.set_display(d, mode, self.colormap)
        self.mirror.set_selected_sentence(self.editor.selected_sentence)
        self.mirror_title.setText(f"{MODES[mode]}  |  left: {MODES[self.mode]}")

    def _link_scrollbars(self) -> None:
        """Side by side, the two panes scroll together (by fraction: their wrapping may differ)."""
        a, b = self.editor.verticalScrollBar(), self.mirror.verticalScrollBar()
        busy = [False]

        def follow(src: object, dst: object) -> None:
            if busy[0] or not self.mirror_box.isVisible():
                return
            busy[0] = True
            try:
                s_max, d_max = src.maximum(), dst.maximum()  # type: ignore[attr-defined]
                value = src.value()  # type: ignore[attr-defined]
                dst.setValue(round(value * d_max / s_max) if s_max else 0)  # type: ignore[attr-defined]
            finally:
                busy[0] = False

        a.valueChanged.connect(lambda _: follow(a, b))
        b.valueChanged.connect(lambda _: follow(b, a))

    def _show_explain(self, yes: bool) -> None:
        if yes:
            self.side_tabs.setCurrentIndex(0)

    def _on_pin_clicked(self, checked: bool) -> None:
        (self.pin_requested if checked else self.unpin_requested).emit()

    def _update_legend(self) -> None:
        d = self.editor.display
        mode = self.mode
        if not is_attribution(mode) and self.compare_mode is not None and is_attribution(self.compare_mode):
            mode = self.compare_mode  # side by side: the legend explains the signed pane
        if is_attribution(mode):
            a = d.attributions.get(mode) if d is not None else None
            target = a.target if a is not None else (self.target or "the predicted class")
            top = a.top if a is not None else 0.0
            self.legend.set_diverging(
                f"{MODES[mode].split(': ', 1)[-1]}, for {target}",
                f"away −{top:.3g}",
                f"towards +{top:.3g}",
            )
            note = ATTRIBUTION_MEANINGS[mode]
            if a is not None and a.gap is not None:
                note += f" Gap here: {a.gap:.1g} ({a.steps} steps)."
            self.legend_note.setText(note)
            self._update_agreement(a)
            return
        self._update_agreement(None)
        self._update_attention_legend(d)

    def legend_image(self, width: int = 420) -> QImage:
        """The colour legend as shown now (scale and title) at ``width`` pixels, with its note under
        it: what an exported picture needs so that its colours can be read."""
        copy = ColorLegend()
        src = self.legend
        copy.colormap, copy.title, copy.diverging = src.colormap, src.title, src.diverging
        copy.low_label, copy.high_label = src.low_label, src.high_label
        copy.setFont(self.font())
        copy.resize(width, copy.sizeHint().height())
        note = QLabel(self.legend_note.text())
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        note.setFont(self.font())
        note.setFixedWidth(width)
        note.adjustSize()
        image = QImage(width, copy.height() + 4 + note.height(), QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.white)
        p = QPainter(image)
        flags = QWidget.RenderFlag.DrawChildren  # no window background: white, as the export
        copy.render(p, QPoint(0, 0), QRegion(), flags)
        note.render(p, QPoint(0, copy.height() + 4), QRegion(), flags)
        p.end()
        return image

    def _update_agreement(self, a: AttributionValues | None) -> None:
        """How far attention agrees with the attribution shown, each number's meaning on hover."""
        if a is None or not a.agreement:
            self.agreement.setText("")
            self.agreement.setToolTip("")
            return
        values = " · ".join(f"{name} {value:+.2f}" for name, value, _ in a.agreement)
        self.agreement.setText(f"Agreement with attention: {values} (hover: what they mean)")
        self.agreement.setToolTip("\n\n".join(f"{name}: {meaning}" for name, _, meaning in a.agreement))

    def _update_attention_legend(self, d: AttentionDisplay | None) -> None:
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


_SHORT: dict[Mode, str] = {
    "word": "attention: word",
    "product": "attention: word × sentence",
    "ig": "integrated gradients",
    "occlusion": "leave one out (Δp)",
}


def _left_out(words: int, sentences: int) -> str:
    parts = []
    if sentences:
        parts.append(count(sentences, "sentence"))
    if words:
        parts.append(count(words, "word"))
    return " and ".join(parts) + " left out"
