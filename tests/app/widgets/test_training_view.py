"""The Training view on plain data: the settings form, the histograms' cuts, the curves, the probe."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox

from app.display import (
    AttentionDisplay,
    CutSummary,
    DatasetSummary,
    HistogramData,
    ProbeSnapshot,
    RunProgress,
    duration,
)
from app.widgets import TrainingView
from app.widgets._training_curves import smooth
from app.widgets._training_form import FIELDS, SettingsForm
from app.widgets._training_histogram import LengthHistogram

# defaults chosen to differ from any input's own initial value
DEFAULTS: dict[str, Any] = {
    "epochs": 7,
    "batch_size": 48,
    "lr": 0.0025,
    "lr_schedule": "constant",
    "weight_decay": 0.0001,
    "clip": 2.5,
    "patience": 4,
    "dev_fraction": 0.15,
    "seed": 99,
    "word_quantile": 0.9,
    "sentence_quantile": 0.85,
    "min_count": 2,
    "max_vocab": 5000,
    "limit": None,
    "embed_dim": 64,
    "word_hidden": 24,
    "sentence_hidden": 20,
    "dropout": 0.25,
    "embed_dropout": 0.1,
    "word2vec_epochs": 2,
    "freeze_embedding_epochs": 1,
    "device": "cpu",
    "embedding_dtype": "float16",
    "checkpoint_every": 50,
    "resume": True,
}


@pytest.fixture
def form(qtbot: Any) -> SettingsForm:
    f = SettingsForm(DEFAULTS)
    qtbot.addWidget(f)
    return f


def test_form_shows_its_defaults_with_a_tooltip_each(form: SettingsForm) -> None:
    assert form.values() == DEFAULTS
    for spec in FIELDS:
        tip = form.inputs[spec.name].toolTip()
        assert spec.tooltip in tip and "Default:" in tip, spec.name
    assert "Default: 0.0025" in form.inputs["lr"].toolTip()
    assert form.inputs["lr"].text() == "0.0025"  # no trailing zeros
    assert form.inputs["weight_decay"].text() == "0.0001"
    assert form.inputs["limit"].text() == "all rows"


def test_form_both_ways(qtbot: Any, form: SettingsForm) -> None:
    changed: list[str] = []
    form.value_changed.connect(changed.append)
    form.set_values({"epochs": 3, "lr_schedule": "cosine", "resume": False, "limit": 500})
    assert changed == []  # set_values never writes back
    assert (form.value("epochs"), form.value("lr_schedule"), form.value("resume"), form.value("limit")) == (
        3,
        "cosine",
        False,
        500,
    )
    form.inputs["epochs"].setValue(12)  # the user's edits are reported
    combo = form.inputs["device"]
    assert isinstance(combo, QComboBox)
    combo.setCurrentText("auto")
    box = form.inputs["resume"]
    assert isinstance(box, QCheckBox)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(4, box.height() // 2))
    assert changed == ["epochs", "device", "resume"]
    assert (form.value("epochs"), form.value("device"), form.value("resume")) == (12, "auto", True)
    form.inputs["limit"].setValue(0)
    assert form.value("limit") is None


# -- histogram ------------------------------------------------------------------------------------------


@pytest.fixture
def histogram(qtbot: Any) -> LengthHistogram:
    h = LengthHistogram("Words per sentence")
    qtbot.addWidget(h)
    h.resize(420, 260)
    h.show()
    qtbot.waitExposed(h)
    counts = np.array([0, 0, 1, 3, 8, 12, 9, 5, 2, 1, 0, 1], dtype=np.int64)
    h.set_data(HistogramData(counts, "words", "sentences"))
    h.set_cut(6, "≤ 6 words", "note")
    return h


def test_histogram_splits_kept_and_cut_bars(histogram: LengthHistogram) -> None:
    x_kept, y_kept = histogram.kept.getData()
    x_cut, y_cut = histogram.cut.getData()
    assert y_kept.tolist() == [0, 0, 1, 3, 8, 12, 9]  # lengths 0..6 kept
    assert y_cut.tolist() == [5, 2, 1, 0, 1]  # lengths 7..11 cut
    assert x_kept[-1] == x_cut[0] == 6.5  # they meet at the line
    assert histogram.line.value() == 6.5
    assert histogram.cut_length == 6
    assert histogram.note.text() == "note"


def test_set_cut_does_not_emit(qtbot: Any, histogram: LengthHistogram) -> None:
    with qtbot.assertNotEmitted(histogram.cut_moved):
        histogram.set_cut(9, "≤ 9 words", "")
    assert histogram.cut_length == 9


def _drag(widget: Any, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """A left-button drag from ``start`` to ``end`` in ``widget`` coordinates."""

    def send(kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> None:
        ev = QMouseEvent(
            kind,
            pos,
            widget.mapToGlobal(pos),
            Qt.MouseButton.LeftButton,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, ev)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, start, left)
    for i in range(1, steps + 1):
        send(QEvent.Type.MouseMove, start + (end - start) * (i / steps), left)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def test_dragging_the_line_emits_whole_lengths(qtbot: Any, histogram: LengthHistogram) -> None:
    vb = histogram.plot.getPlotItem().getViewBox()
    to_view = histogram.plot.mapFromScene
    y = vb.viewRect().center().y()
    start = QPointF(to_view(vb.mapViewToScene(QPointF(6.5, y))))
    end = QPointF(to_view(vb.mapViewToScene(QPointF(3.7, y))))
    moved: list[float] = []
    histogram.cut_moved.connect(moved.append)
    _drag(histogram.plot.viewport(), start, end)
    assert moved, "dragging the line emitted nothing"
    assert all(v == int(v) for v in moved)
    assert moved[-1] == 3.0
    assert histogram.line.value() == 3.5  # snapped between bars
    assert histogram.kept.getData()[1].tolist() == [0, 0, 1, 3]


# -- curves -----------------------------------------------------------------------------------------------


def test_smooth_is_a_running_mean() -> None:
    y = np.array([4.0, 2.0, 6.0, 0.0, 8.0])
    assert smooth(y, 2).tolist() == [4.0, 3.0, 4.0, 3.0, 4.0]
    assert smooth(np.zeros(0), 3).size == 0


# -- the probe and the whole view -------------------------------------------------------------------------


def _display(text: str, weights: list[float], label: str) -> AttentionDisplay:
    """One sentence of space-separated words."""
    starts, pos = [], 0
    for w in text.split(" "):
        starts.append(pos)
        pos += len(w) + 1
    n = len(starts)
    ends = [s + len(w) for s, w in zip(starts, text.split(" "), strict=True)]
    return AttentionDisplay(
        text=text,
        label=label,
        probabilities=(("neg", 0.3), ("pos", 0.7)),
        word_start=np.array(starts),
        word_end=np.array(ends),
        word_weight=np.array(weights),
        word_sentence=np.zeros(n, dtype=np.int64),
        word_known=np.ones(n, dtype=bool),
        sentence_start=np.array([0]),
        sentence_end=np.array([len(text)]),
        sentence_weight=np.array([1.0]),
    )


TEXT = "it was wonderful"


def _snapshots() -> list[ProbeSnapshot]:
    return [
        ProbeSnapshot("before training", 0.0, 0, None, _display(TEXT, [0.33, 0.33, 0.34], "neg")),
        ProbeSnapshot("epoch 1", 1.0, 10, 0.75, _display(TEXT, [0.2, 0.2, 0.6], "pos")),
        ProbeSnapshot("epoch 2", 2.0, 20, 0.9, _display(TEXT, [0.05, 0.05, 0.9], "pos")),
    ]


@pytest.fixture
def view(qtbot: Any) -> TrainingView:
    v = TrainingView(DEFAULTS)
    qtbot.addWidget(v)
    v.resize(1400, 860)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_scrubber_moves_through_snapshots(qtbot: Any, view: TrainingView) -> None:
    panel = view.probe
    panel.set_probe_text(TEXT)
    with qtbot.assertNotEmitted(panel.snapshot_selected):
        panel.set_snapshots(_snapshots(), 2, saved_index=2)
    assert panel.scrubber.maximum() == 2 and panel.scrubber.isEnabled()
    assert panel.editor.display is not None and panel.editor.display.word_weight.tolist() == [0.05, 0.05, 0.9]
    assert "3 of 3: epoch 2" in panel.caption.text() and "saved model" in panel.caption.text()
    assert "heaviest: “wonderful” 0.90" in panel.caption.text()
    seen = []
    for i in (1, 0):
        with qtbot.waitSignal(panel.snapshot_selected) as sig:
            panel.scrubber.setValue(i)
        assert sig.args == [i]
        seen.append((panel.editor.display.label, float(panel.editor.display.word_weight[2])))
    assert seen == [("pos", 0.6), ("neg", 0.34)]
    assert "1 of 3: before training" in panel.caption.text()
    assert "predicts <b>neg</b>" in panel.prediction.text()


def test_probe_text_setter_is_silent_and_edits_are_reported(qtbot: Any, view: TrainingView) -> None:
    with qtbot.assertNotEmitted(view.probe.probe_edited):
        view.probe.set_probe_text("A probe.")
    assert view.probe.probe_text() == "A probe."
    with qtbot.waitSignal(view.probe.probe_edited):
        qtbot.keyClicks(view.probe.editor, "!")
    view.set_running(True)
    assert view.probe.editor.isReadOnly()


def test_running_state_locks_the_inputs(view: TrainingView) -> None:
    view.set_can_start(True)
    assert view.start_button.isEnabled() and not view.cancel_button.isEnabled()
    view.set_running(True)
    assert not view.start_button.isEnabled() and view.cancel_button.isEnabled()
    assert not view.form.inputs["epochs"].isEnabled() and not view.path.isEnabled()
    assert not view.words_histogram.line.movable
    view.set_running(False)
    assert view.start_button.isEnabled() and view.form.inputs["epochs"].isEnabled()
    view.set_can_start(False)
    assert not view.start_button.isEnabled()


def test_user_actions_become_signals(qtbot: Any, view: TrainingView) -> None:
    view.set_can_start(True)
    view.set_model_ready(True)
    with qtbot.waitSignal(view.start_requested):
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.use_requested):
        qtbot.mouseClick(view.use_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.dataset_chosen) as sig:
        view.path.setText("/data/reviews.jsonl")
        qtbot.keyClick(view.path, Qt.Key.Key_Return)
    assert sig.args == ["/data/reviews.jsonl"]
    with qtbot.waitSignal(view.setting_changed) as sig:
        view.form.inputs["seed"].setValue(5)
    assert sig.args == ["seed"]


def test_stats_cuts_and_report(view: TrainingView) -> None:
    summary = DatasetSummary(
        400,
        "jsonl",
        (("neg", 100), ("pos", 300)),
        1 / 3,
        2,
        (("invalid JSON", 1), ("empty text", 1)),
        1,
        12_345,
        1_200,
        359,
    )
    view.set_stats(summary, "skipped 2 malformed rows (a.jsonl lines 3, 9)")
    text = view.stats.text()
    for part in (
        "400 (jsonl)",
        "neg 100 (25%), pos 300 (75%)",
        "0.33",
        "2 skipped (invalid JSON 1, empty text 1)",
        "1 document (training leaves it out)",
        "12,345 words in 1,200 sentences",
        "359 documents",
    ):
        assert part in text, part
    assert view.report.text().startswith("skipped 2") and "b00020" not in view.report.styleSheet()
    view.set_stats(None, "no usable rows in x.jsonl", error=True)
    assert view.stats.isHidden() and "b00020" in view.report.styleSheet()
    counts = np.array([0, 2, 5, 9, 4, 1], dtype=np.int64)
    view.set_histograms(
        HistogramData(counts, "words", "sentences"), HistogramData(counts, "sentences", "documents")
    )
    view.set_cuts(CutSummary(3, 0.9, 0.76, 4, 0.95, 0.95, 0.981, 359, 40, 12, 230))
    assert view.words_histogram.cut_length == 3 and view.sentences_histogram.cut_length == 4
    assert view.words_histogram.note.text() == "Sentences are cut at 3 words: 76.0% of them fit whole."
    assert view.words_histogram.line.label.format == "≤ 3 words (q 0.900)"
    assert "Training sees 98.1% of the words" in view.cut_summary.text()
    assert "40 of 359 documents lose text: 12 whole sentences and 230 words" in view.cut_summary.text()


def test_progress(view: TrainingView) -> None:
    view.set_progress(RunProgress(120, 400, 2, 4, 75.0, 190.0, 812.4))
    assert (view.progress.value(), view.progress.maximum()) == (120, 400)
    assert view.rate.text() == "Epoch 2 of 4 · 812 documents/s · 1 min 15 s so far · about 3 min 10 s left"
    view.set_progress(RunProgress(400, 400, 4, 4, 3725.0))
    assert view.rate.text() == "400 steps in 1 h 02 min (epoch 4 of 4)"
    view.set_progress(None)
    assert view.rate.text() == "" and view.progress.value() == 0
    assert (duration(0.4), duration(59.6), duration(61)) == ("0 s", "1 min 00 s", "1 min 01 s")


def test_curves_take_plain_arrays(view: TrainingView) -> None:
    c = view.curves
    c.set_epochs(4)
    c.set_steps(np.array([0.25, 0.5, 0.75]), np.array([0.7, 0.6, 0.5]))
    c.set_evals(np.array([1.0, 2.0]), np.array([0.6, 0.3]), np.array([0.8, 0.95]))
    c.set_marker(1.0)
    assert c.raw.getData()[1].tolist() == [0.7, 0.6, 0.5]
    assert c.acc.getData()[1].tolist() == [0.8, 0.95]
    assert c.best.getData()[0].tolist() == [2.0]
    assert all(m.isVisible() and m.value() == 1.0 for m in c.markers)
    c.clear_curves()
    assert c.raw.getData()[0] is None or len(c.raw.getData()[0]) == 0
    assert not any(m.isVisible() for m in c.markers)
