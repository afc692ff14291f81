"""The GRU stepper's view: sentence, token strip, transport, gate heatmaps, inspector, gradient flow.

It paints a :class:`GRUDisplay` (and a :class:`FlowDisplay` when it arrives) and reports what the
user does; the controller (``app/gru_controller.py``) decides what to compute. Stepping, playing,
the chosen unit and the plotted units are the view's own state: they need no engine call. ``set_*``
methods never emit signals.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.display import (
    QUANTITIES,
    FlowDisplay,
    GRUDisplay,
    axis_labels,
    chip_labels,
    chip_tip,
    equations_html,
    parse_units,
    read_unit,
)
from app.shortcuts import GRU_STEPPER
from app.widgets._gru_controls import SentenceBar, Transport, WhatIfPanel
from app.widgets._gru_plots import LINE_COLORS, GatePlots, GradientFlowPlot
from app.widgets._gru_readout import RichText, StepBox, UnitInspector
from app.widgets._gru_strip import TokenStrip

__all__ = ["GRUView"]


class GRUView(QWidget):
    """Signals
    -------
    text_edited()
        The user changed the sentence.
    encoder_changed(str), direction_changed(str)
        ``"word" | "sentence"`` and ``"forward" | "backward"``.
    sentence_changed(int)
        The user picked sentence ``i`` (0-based) of a longer text for the word GRU.
    offsets_changed()
        A what-if slider moved (read :attr:`offsets`).
    speed_changed(float)
        Steps per second while playing.
    step_changed(int)
        The current step moved because of the user or the play timer.
    shown()
        The view became visible (the controller computes only what is seen).
    """

    text_edited = Signal()
    encoder_changed = Signal(str)
    direction_changed = Signal(str)
    sentence_changed = Signal(int)
    offsets_changed = Signal()
    speed_changed = Signal(float)
    step_changed = Signal(int)
    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.display: GRUDisplay | None = None
        self.flow: FlowDisplay | None = None
        self.step = 0
        self.unit = 0
        self.picked_units: list[int] = []
        self._user_picked = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_tick)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()
        self._wire()
        self.set_speed(self.transport.steps_per_s)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.sentence_bar = SentenceBar()
        sb = self.sentence_bar  # its parts, for the controller and the tests
        self.editor, self.encoder_box, self.direction_box = sb.editor, sb.encoder_box, sb.direction_box
        self.sentence_box, self.message = sb.sentence_box, sb.message
        self.strip = TokenStrip()
        self.transport = Transport()
        self.quantity_box = QComboBox()
        for key, title in QUANTITIES.items():
            self.quantity_box.addItem(title, key)
        self.quantity_box.setCurrentIndex(list(QUANTITIES).index("h"))
        self.units_edit = QLineEdit()
        self.units_edit.setPlaceholderText("units, e.g. 3, 17")
        self.units_edit.setMaximumWidth(120)
        lines_bar = QHBoxLayout()  # under the plots: what the line plot at their foot shows
        lines_bar.addWidget(QLabel("Lines:"))
        lines_bar.addWidget(self.quantity_box)
        lines_bar.addWidget(QLabel("of"))
        lines_bar.addWidget(self.units_edit)
        self.units_key = QLabel()  # the colour of each plotted unit (the plot has no legend to hide data)
        lines_bar.addWidget(self.units_key)
        lines_bar.addStretch(1)
        self.plots = GatePlots()
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        lcol.addWidget(self.strip)
        lcol.addWidget(self.transport)
        lcol.addWidget(self.plots, 1)
        lcol.addLayout(lines_bar)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self._side_panel())
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        splitter.setSizes([950, 420])
        layout = QVBoxLayout(self)
        layout.addWidget(self.sentence_bar)
        layout.addWidget(splitter, 1)

    def _side_panel(self) -> QWidget:
        """The current step, then one tab each: the unit's equations, the gradient flow, what-if."""
        panel = QWidget()
        panel.setMinimumWidth(300)
        panel.setMaximumWidth(480)
        col = QVBoxLayout(panel)
        col.setContentsMargins(4, 0, 0, 0)
        self.step_box = StepBox()
        col.addWidget(self.step_box)
        self.inspector = UnitInspector()
        flow_page = QWidget()
        flow_page.setToolTip(
            "‖∂h_T/∂h_t‖: the Frobenius norm of the Jacobian of the last state with respect "
            "to the state after step t, by autograd (inputs and weights fixed, h0 = 0).\n"
            "A curve that drops towards the first steps is a vanishing gradient: the last "
            "state has forgotten them."
        )
        fcol = QVBoxLayout(flow_page)
        flow_title = QLabel("How much the last state depends on each step: GRU against a plain RNN")
        flow_title.setWordWrap(True)
        fcol.addWidget(flow_title)
        self.flow_plot = GradientFlowPlot()
        self.flow_plot.setMinimumHeight(120)
        self.flow_caption = RichText()
        fcol.addWidget(self.flow_plot, 1)
        fcol.addWidget(self.flow_caption)
        self.what_if = WhatIfPanel()
        self.side_tabs = QTabWidget()
        pages = ((self.inspector, "Unit"), (flow_page, "Gradient flow"), (self.what_if, "What-if"))
        for page, title in pages:
            self.side_tabs.addTab(page, title)
        col.addWidget(self.side_tabs, 1)
        return panel

    def _wire(self) -> None:
        sb = self.sentence_bar
        sb.text_edited.connect(self.text_edited)
        sb.encoder_changed.connect(self.encoder_changed)
        sb.direction_changed.connect(self.direction_changed)
        sb.sentence_changed.connect(self.sentence_changed)
        self.what_if.offsets_changed.connect(self.offsets_changed)
        t = self.transport
        t.start_clicked.connect(self.go_start)
        t.back_clicked.connect(self.step_back)
        t.play_clicked.connect(self.toggle_play)
        t.forward_clicked.connect(self.step_forward)
        t.end_clicked.connect(self.go_end)
        t.speed_changed.connect(self._on_speed_changed)
        self.strip.step_clicked.connect(self._go)
        self.plots.cell_clicked.connect(self._on_cell_clicked)
        self.inspector.unit_changed.connect(self._on_unit_changed)
        self.inspector.plot_clicked.connect(self._on_plot_clicked)
        self.quantity_box.currentIndexChanged.connect(lambda _: self._redraw_lines())
        self.units_edit.editingFinished.connect(self._on_units_edited)
        # Window shortcuts owned by this view are live only while it is visible (its tab is shown),
        # wherever the focus is. A text box claims plain keys first (ShortcutOverride), so typing
        # is never stolen; the Alt forms step even then. The table is Help → Keyboard's too.
        self.shortcuts = [
            QShortcut(
                QKeySequence(key), self, getattr(self, s.action), context=Qt.ShortcutContext.WindowShortcut
            )
            for s in GRU_STEPPER
            for key in s.keys
        ]
        self.sentence_bar.left.connect(self.setFocus)

    # -- what the controller reads ------------------------------------------------------------------
    def text(self) -> str:
        return self.sentence_bar.text()

    @property
    def encoder(self) -> str:
        return self.sentence_bar.encoder

    @property
    def direction(self) -> str:
        return self.sentence_bar.direction

    @property
    def sentence(self) -> int:
        return self.sentence_bar.sentence

    @property
    def offsets(self) -> dict[str, float]:
        return self.what_if.offsets

    @property
    def n_steps(self) -> int:
        return self.display.n_steps if self.display is not None else 0

    @property
    def is_playing(self) -> bool:
        return self.timer.isActive()

    # -- setters (no signals) -----------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        self.sentence_bar.set_text(text)

    def set_encoder(self, encoder: str) -> None:
        self.sentence_bar.set_encoder(encoder)

    def set_direction(self, direction: str) -> None:
        self.sentence_bar.set_direction(direction)

    def set_sentence(self, sentence: int, n_sentences: int | None = None) -> None:
        self.sentence_bar.set_sentence(sentence, n_sentences)

    def set_offsets(self, offsets: dict[str, float], enabled: bool | None = None) -> None:
        self.what_if.set_offsets(offsets, enabled)

    def set_speed(self, steps_per_s: float) -> None:
        self.transport.set_speed(steps_per_s)
        self.timer.setInterval(round(1000 / self.transport.steps_per_s))

    def set_message(self, text: str, error: bool = False) -> None:
        self.sentence_bar.set_message(text, error)

    def set_display(self, d: GRUDisplay | None) -> None:
        """Show a new trace; a what-if re-run of the same steps keeps the step, unit and lines."""
        same = d is not None and d.same_steps(self.display)
        self.display = d
        if d is None:
            self.pause()
            self.strip.set_tokens((), (), (), ())
            self.plots.set_display(None)
            self.set_flow(None)
            self._show_step()
            return
        if not same:
            self.pause()
            self.step = 0
            self.unit = d.suggested_units[0] if d.suggested_units else 0
            if not self._user_picked:
                self.picked_units = list(d.suggested_units[:3])
        self.step = min(self.step, d.n_steps - 1)
        self.unit = min(self.unit, d.hidden_size - 1)
        self.picked_units = [u for u in self.picked_units if u < d.hidden_size]
        self.set_encoder(d.encoder)
        self.set_direction(d.direction)
        self.set_sentence(d.sentence, d.n_sentences)
        self.strip.set_tokens(
            chip_labels(d),
            tuple(d.known.tolist()),
            tuple(d.attention.tolist()),
            tuple(chip_tip(d, t) for t in range(d.n_steps)),
        )
        self.plots.set_display(d, axis_labels(d))
        self.inspector.set_units(d.hidden_size, self.unit)
        self._redraw_lines()
        self._show_step()

    def set_flow(self, flow: FlowDisplay | None) -> None:
        self.flow = flow
        self.flow_plot.set_flow(flow)
        if flow is None:
            self.flow_caption.set_html("Computing the gradient flow…" if self.display is not None else "")
            return
        g0, r0 = float(flow.gru[0]), float(flow.rnn[0])
        self.flow_caption.set_html(
            f"<span style='color:{LINE_COLORS[0]}'>●—</span> GRU&nbsp;&nbsp;"
            f"<span style='color:{LINE_COLORS[1]}'>■ - -</span> plain tanh RNN, same size, random weights"
            f"<br>How much the last state depends on step t; at step 1: GRU <b>{g0:.2g}</b>, "
            f"RNN <b>{r0:.2g}</b> (√H = {flow.gru[-1]:.0f} at the last step)."
        )

    def set_step(self, step: int) -> None:
        if self.display is None:
            return
        self.step = max(0, min(step, self.display.n_steps - 1))
        self._show_step()

    def set_unit(self, unit: int) -> None:
        if self.display is None:
            return
        self.unit = max(0, min(unit, self.display.hidden_size - 1))
        self.inspector.set_units(self.display.hidden_size, self.unit)
        self._show_step()

    def set_picked_units(self, units: list[int]) -> None:
        self.picked_units = list(dict.fromkeys(units))
        self._user_picked = True
        self._redraw_lines()

    def _go(self, step: int) -> None:
        if self.display is None:
            return
        old = self.step
        self.set_step(step)
        if self.step != old:
            self.step_changed.emit(self.step)

    def step_forward(self) -> None:
        self._go(self.step + 1)

    def step_back(self) -> None:
        self._go(self.step - 1)

    def go_start(self) -> None:
        self._go(0)

    def go_end(self) -> None:
        self._go(self.n_steps - 1)

    def play(self) -> None:
        if self.n_steps < 2:
            return
        if self.step >= self.n_steps - 1:
            self._go(0)
        self.timer.start()
        self.transport.set_playing(True)

    def pause(self) -> None:
        self.timer.stop()
        self.transport.set_playing(False)

    def toggle_play(self) -> None:
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def _on_tick(self) -> None:
        self._go(self.step + 1)
        if self.step >= self.n_steps - 1:
            self.pause()

    def _on_speed_changed(self, speed: float) -> None:
        self.timer.setInterval(round(1000 / speed))
        self.speed_changed.emit(speed)

    # -- other user actions -------------------------------------------------------------------------
    def _on_cell_clicked(self, step: int, unit: int) -> None:
        if unit >= 0:
            self.set_unit(unit)
        self._go(step)

    def _on_unit_changed(self, unit: int) -> None:
        self.set_unit(unit)

    def _on_plot_clicked(self) -> None:
        units = [u for u in self.picked_units if u != self.unit]
        self.set_picked_units(units if len(units) < len(self.picked_units) else [*units, self.unit])

    def _on_units_edited(self) -> None:
        self.set_picked_units(parse_units(self.units_edit.text()))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        focus = QApplication.focusWidget()
        if focus is None or not (focus is self or self.isAncestorOf(focus)):
            self.setFocus()  # so → ← Space Home End work as soon as the tab is shown
        self.shown.emit()

    # -- drawing ------------------------------------------------------------------------------------
    def _redraw_lines(self) -> None:
        self.plots.set_lines(self.display, self.picked_units, self.quantity_box.currentData())
        with QSignalBlocker(self.units_edit):
            self.units_edit.setText(", ".join(str(u) for u in self.picked_units))
        self.units_key.setText(
            " ".join(
                f"<span style='color:{LINE_COLORS[i % len(LINE_COLORS)]}'>■</span>{u}"
                for i, u in enumerate(self.picked_units)
            )
        )
        self.inspector.set_plotted(self.unit in self.picked_units)

    def _show_step(self) -> None:
        d, t = self.display, self.step
        self.transport.set_position(t, self.n_steps)
        if d is None:
            self.step_box.set_step(None, 0)
            self.inspector.set_equations("")
            return
        self.strip.set_step(t)
        self.plots.set_step(t)
        self.plots.set_unit(self.unit)
        self.flow_plot.set_step(t)
        self.inspector.set_plotted(self.unit in self.picked_units)
        self.step_box.set_step(d, t)
        self.inspector.set_equations(equations_html(read_unit(d, t, self.unit)))
