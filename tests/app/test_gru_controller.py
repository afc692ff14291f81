"""The GRU stepper on the shipped model: engine numbers reach the view, off the GUI thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.gru_controller import GRUController
from engine.analyze import analyze
from engine.gru import GRUWeights, trace, trace_text
from resources import sample_texts

TIMEOUT = 20_000
SENTENCE = "The acting was wonderful but the plot felt thin."


@pytest.fixture
def sync(context: Any, qtbot: Any) -> GRUController:
    c = GRUController(context, asynchronous=False)
    qtbot.addWidget(c.widget)
    yield c
    c.shutdown()


@pytest.fixture
def live(context: Any, qtbot: Any) -> GRUController:
    """Asynchronous, like the app, with its view shown."""
    c = GRUController(context)
    qtbot.addWidget(c.widget)
    c.widget.resize(1300, 850)
    c.widget.show()
    qtbot.waitExposed(c.widget)
    assert c.wait_idle(TIMEOUT)
    yield c
    c.shutdown()
    c.wait_idle(TIMEOUT)


def test_trace_matches_the_engine(sync: GRUController, shipped_bundle: Any) -> None:
    sync.set_text(SENTENCE)
    d = sync.display
    want = trace_text(shipped_bundle, SENTENCE)
    assert (
        d.tokens
        == want.tokens
        == ("The", "acting", "was", "wonderful", "but", "the", "plot", "felt", "thin", ".")
    )
    np.testing.assert_array_equal(d.h, want.h)
    np.testing.assert_array_equal(d.z, want.z)
    words = analyze(shipped_bundle, SENTENCE).sentences[0].words
    np.testing.assert_allclose(d.attention, [w.weight for w in words])
    assert sync.view.strip.labels == d.tokens
    # the flow arrived too (synchronous): GRU against the plain RNN, one value per step
    assert sync.flow is not None and sync.flow.gru.shape == sync.flow.rnn.shape == (10,)
    assert sync.flow.gru[-1] == pytest.approx(np.sqrt(d.hidden_size))


def test_gate_terms_add_up_to_the_pre_activations(sync: GRUController, shipped_bundle: Any) -> None:
    sync.set_text(SENTENCE)
    d, tr = sync.display, trace_text(shipped_bundle, SENTENCE)
    for g in ("r", "z"):
        t = d.terms[g]
        np.testing.assert_allclose(
            t.input + t.bias_input + t.hidden + t.bias_hidden, getattr(tr, f"{g}_pre"), atol=1e-5
        )
    n = d.terms["n"]
    np.testing.assert_allclose(n.hidden + n.bias_hidden, tr.hn, atol=1e-5)
    np.testing.assert_allclose(n.input + n.bias_input + tr.r * tr.hn, tr.n_pre, atol=1e-5)


def test_inspector_shows_the_update_with_real_numbers(sync: GRUController) -> None:
    from tests.app.widgets.test_gru_view import plain

    sync.set_text(SENTENCE)
    v, d = sync.view, sync.display
    v.set_step(4)
    v.set_unit(7)
    text = plain(v.inspector.equations.html())
    z, h_prev, n, h = d.z[4, 7], d.h_prev[4, 7], d.n[4, 7], d.h[4, 7]
    assert z * h_prev + (1 - z) * n == pytest.approx(h, abs=1e-6)
    assert f"= {z:.3f}" in text
    assert text.rstrip().endswith(f"= {h:.3f}")


def test_encoder_direction_and_sentence(sync: GRUController, shipped_bundle: Any) -> None:
    text = sample_texts()["mixed_feelings"].read_text(encoding="utf-8")
    sync.set_text(text)
    v = sync.view
    assert sync.display.n_sentences == 5 and v.sentence_box.isEnabled()
    v.sentence_box.setValue(3)  # the user picks sentence 3 (1-based)
    assert sync.display.tokens == trace_text(shipped_bundle, text, sentence=2).tokens
    v.direction_box.setCurrentIndex(v.direction_box.findData("backward"))
    want = trace_text(shipped_bundle, text, "word", "backward", 2)
    assert sync.display.direction == "backward" and sync.display.tokens == want.tokens
    np.testing.assert_array_equal(sync.display.h, want.h)
    assert sync.display.text_index[0] == len(want) - 1  # the last word is read first
    v.encoder_box.setCurrentIndex(v.encoder_box.findData("sentence"))
    want = trace_text(shipped_bundle, text, "sentence", "backward")
    assert sync.display.encoder == "sentence" and sync.display.n_steps == 5
    np.testing.assert_allclose(sync.display.h, want.h, atol=1e-6)
    weights = [s.weight for s in analyze(shipped_bundle, text).sentences]
    np.testing.assert_allclose(sync.display.attention, weights[::-1])
    assert not v.sentence_box.isEnabled()
    assert v.strip.labels[0].startswith("S5: Flawed")


def test_what_if_sliders_change_the_trace(live: GRUController, qtbot: Any, shipped_bundle: Any) -> None:
    live.set_text(SENTENCE)
    qtbot.waitUntil(lambda: live.flow is not None and not live.busy, timeout=TIMEOUT)
    base, base_flow = live.display, live.flow
    live.view.set_step(5)
    w = live.view.what_if
    w.setChecked(True)
    for value in (5, 15, 30):  # a drag: throttled, the last one wins
        w.sliders["z"].setValue(value)
    qtbot.waitUntil(
        lambda: (
            live.display.offsets == {"z": 3.0} and live.flow is not None and live.flow.offsets == {"z": 3.0}
        ),
        timeout=TIMEOUT,
    )
    d = live.display
    weights = GRUWeights.from_gru(shipped_bundle.model.word_gru)
    inputs = torch.from_numpy(np.array(trace_text(shipped_bundle, SENTENCE).x))  # forward: text order
    want = trace(weights, inputs, base.tokens, bias_offsets={"z": 3.0})
    np.testing.assert_allclose(d.z, want.z, atol=1e-6)
    assert d.z.mean() > base.z.mean() + 0.2  # the update gate opens: memory is kept
    assert live.view.step == 5  # a re-run keeps the step
    assert live.flow.gru[0] > base_flow.gru[0]  # and the gradient reaches further back
    w.setChecked(False)
    qtbot.waitUntil(lambda: live.display.offsets == {} and not live.busy, timeout=TIMEOUT)
    np.testing.assert_array_equal(live.display.z, base.z)


def test_newest_text_wins(live: GRUController, qtbot: Any) -> None:
    for text in ("First one.", "A second sentence here.", SENTENCE):
        live.view.editor.setPlainText(text)  # typing: debounced
    qtbot.waitUntil(lambda: not live.busy, timeout=TIMEOUT)
    assert live.display.text == SENTENCE
    assert live.generation == live.applied_generation


def test_hidden_view_computes_when_shown(context: Any, qtbot: Any) -> None:
    c = GRUController(context)
    qtbot.addWidget(c.widget)
    c.set_text(SENTENCE)
    assert not c.busy and c.display is None  # nothing is computed out of sight
    c.widget.show()
    qtbot.waitUntil(lambda: c.display is not None and c.display.text == SENTENCE, timeout=TIMEOUT)
    c.shutdown()
    c.wait_idle(TIMEOUT)


def test_empty_text(sync: GRUController) -> None:
    sync.set_text("   ")
    assert sync.display is None and "Type a sentence" in sync.view.message.text()


def test_sentence_from_the_attention_view(window: Any, qtbot: Any) -> None:
    att, gru = window.attention, window.controllers["gru"]
    with qtbot.waitSignal(att.display_applied, timeout=TIMEOUT):
        att.load_sample("mixed_feelings")
    att.select_sentence(2)
    button = att.view.gru_button
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(gru.widget.isVisible)  # the stepper's tab is in front
    words = tuple(w.text for w in att.analysis.sentences[2].words)
    qtbot.waitUntil(lambda: gru.display is not None and gru.display.tokens == words, timeout=TIMEOUT)
    assert gru.view.strip.labels == words and gru.view.encoder == "word"
    assert gru.view.text() == att.analysis.sentences[2].text
    # the keys work as soon as the tab is shown: the stepper has the focus, not its sentence box
    gru.view.activateWindow()
    qtbot.waitUntil(gru.view.isActiveWindow)
    assert window.focusWidget() is gru.view
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_End)
    assert gru.view.step == len(words) - 1
    qtbot.waitUntil(lambda: not gru.busy, timeout=TIMEOUT)


def test_model_changed_retraces(sync: GRUController, context: Any) -> None:
    sync.set_text(SENTENCE)
    gen = sync.applied_generation
    context.model_changed.emit(context.bundle)
    assert sync.applied_generation > gen and sync.display.tokens[0] == "The"


def test_screenshot_writes_a_png(tmp_path: Path, capsys: Any) -> None:
    from app.cli import main

    out = tmp_path / "gru.png"
    sample = str(sample_texts()["mixed_feelings"])
    assert main(["--screenshot", str(out), "--view", "gru", "--text", sample]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1366, 768)
    # the heatmaps are there: plenty of distinct colours, not a blank window
    colors = {img.pixel(x, y) for x in range(0, 1366, 7) for y in range(150, 700, 7)}
    assert len(colors) > 500


def test_choices_persist_in_settings(qtbot: Any, shipped_bundle: Any) -> None:
    from PySide6.QtCore import QSettings

    from app.context import AppContext

    first = GRUController(AppContext(shipped_bundle, QSettings()), asynchronous=False)
    qtbot.addWidget(first.widget)
    v = first.view
    v.direction_box.setCurrentIndex(v.direction_box.findData("backward"))
    v.transport.speed.setValue(v.transport.speed.maximum())
    second = GRUController(AppContext(shipped_bundle, QSettings()), asynchronous=False)
    qtbot.addWidget(second.widget)
    assert second.view.direction == "backward" and second.view.transport.steps_per_s == 16.0
    assert second.view.timer.interval() == 62
