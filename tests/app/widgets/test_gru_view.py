"""The GRU stepper's view on synthetic data (no engine): stepping, playing, keys, inspector, what-if."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from app.display import GateTerms, GRUDisplay, equations_html, parse_units, read_unit
from app.widgets import GRUView
from app.widgets._gru_plots import decade_ticks, step_ticks

TOKENS = ("The", "zorblax", "was", "great", "fun", ".")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def make_display(
    tokens: tuple[str, ...] = TOKENS,
    hidden: int = 4,
    inputs: int = 3,
    seed: int = 0,
    offsets: dict[str, float] | None = None,
    direction: str = "forward",
) -> GRUDisplay:
    """A tiny GRU stepped with numpy, so every number of the display is consistent."""
    rng = np.random.default_rng(seed)
    off = dict.fromkeys("rzn", 0.0) | (offsets or {})
    W = {g: rng.normal(size=(hidden, inputs)) for g in "rzn"}
    U = {g: rng.normal(size=(hidden, hidden)) for g in "rzn"}
    bi = {g: rng.normal(size=hidden) for g in "rzn"}
    bh = {g: rng.normal(size=hidden) for g in "rzn"}
    T = len(tokens)
    x = rng.normal(size=(T, inputs))
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("r", "z", "n", "h", "h_prev")}
    h = np.zeros(hidden)
    for t in range(T):
        r = sigmoid(W["r"] @ x[t] + bi["r"] + U["r"] @ h + bh["r"] + off["r"])
        z = sigmoid(W["z"] @ x[t] + bi["z"] + U["z"] @ h + bh["z"] + off["z"])
        n = np.tanh(W["n"] @ x[t] + bi["n"] + r * (U["n"] @ h + bh["n"]) + off["n"])
        for k, v in (("r", r), ("z", z), ("n", n), ("h_prev", h)):
            rows[k].append(v)
        h = z * h + (1 - z) * n
        rows["h"].append(h)
    arr = {k: np.array(v) for k, v in rows.items()}
    terms = {g: GateTerms(x @ W[g].T, bi[g], arr["h_prev"] @ U[g].T, bh[g], off[g]) for g in "rzn"}
    known = np.array([tok != "zorblax" for tok in tokens])
    attention = rng.dirichlet(np.ones(T))
    keys = tuple(t.lower() if k else "<unk>" for t, k in zip(tokens, known, strict=True))
    return GRUDisplay(
        text=" ".join(tokens),
        encoder="word",
        direction=direction,
        sentence=0,
        n_sentences=1,
        tokens=tokens,
        keys=keys,
        known=known,
        text_index=np.arange(T),
        attention=attention,
        terms=terms,
        offsets={g: v for g, v in off.items() if v},
        suggested_units=(2, 0, 1),
        **arr,
    )


@pytest.fixture
def view(qtbot: Any) -> GRUView:
    v = GRUView()
    qtbot.addWidget(v)
    v.resize(1300, 850)
    v.show()
    qtbot.waitExposed(v)
    v.set_display(make_display())
    return v


def plain(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText().replace("\u2212", "-").replace("\xa0", " ")


# -- showing a trace --------------------------------------------------------------------------------
def test_display_fills_strip_heatmaps_and_lines(view: GRUView) -> None:
    d = view.display
    assert view.strip.labels == TOKENS
    assert view.strip.known == (True, False, True, True, True, True)  # the unknown word is marked
    for q, img in view.plots.images.items():
        assert img.image.shape == (d.hidden_size, d.n_steps)  # units down, steps across
        np.testing.assert_allclose(img.image, d.values(q).T)
        assert img.axisOrder == "row-major"
    assert view.picked_units == [2, 0, 1]  # the suggested units
    assert len(view.plots.lines.listDataItems()) == 3
    assert view.step == 0 and view.unit == 2
    assert view.transport.step_label.text() == "step 1 of 6"
    assert view.step_box.readout.text().startswith("“The”")


def test_clear(view: GRUView) -> None:
    view.set_display(None)
    assert view.strip.labels == () and view.n_steps == 0
    assert all(img.image is None for img in view.plots.images.values())


# -- stepping ---------------------------------------------------------------------------------------
def test_buttons_step(qtbot: Any, view: GRUView) -> None:
    b = view.transport.buttons
    with qtbot.waitSignal(view.step_changed) as blocker:
        qtbot.mouseClick(b["forward"], Qt.MouseButton.LeftButton)
    assert blocker.args == [1] and view.step == 1
    qtbot.mouseClick(b["end"], Qt.MouseButton.LeftButton)
    assert view.step == 5 and not b["forward"].isEnabled()
    qtbot.mouseClick(b["back"], Qt.MouseButton.LeftButton)
    assert view.step == 4
    qtbot.mouseClick(b["start"], Qt.MouseButton.LeftButton)
    assert view.step == 0 and not b["back"].isEnabled()
    assert view.strip.step == 0 and view.plots.line_cursor.value() == 0


def test_set_step_is_silent_and_clamped(qtbot: Any, view: GRUView) -> None:
    with qtbot.assertNotEmitted(view.step_changed):
        view.set_step(3)
        view.set_step(99)
    assert view.step == 5
    assert view.plots._cursors[0].items[0].rect().center().x() == pytest.approx(5)


def test_keyboard(qtbot: Any, view: GRUView) -> None:
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.step == 2
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.step == 1
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.step == 5
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.step == 0
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.is_playing
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert not view.is_playing
    # typing in the sentence box moves its cursor, not the stepper
    view.editor.setFocus()
    qtbot.keyClick(view.editor, Qt.Key.Key_Right)
    assert view.step == 0


def test_play_advances_on_a_timer_and_stops_at_the_end(qtbot: Any, view: GRUView) -> None:
    view.set_speed(16)
    assert view.timer.interval() == 62
    seen: list[int] = []
    view.step_changed.connect(seen.append)
    view.play()
    assert view.is_playing and view.step == 0  # play() returns at once: the timer does the work
    qtbot.waitUntil(lambda: not view.is_playing, timeout=5000)
    assert seen == [1, 2, 3, 4, 5] and view.step == 5
    view.play()  # at the end, play starts over
    assert view.step == 0 and view.is_playing
    view.pause()


def test_speed_slider(qtbot: Any, view: GRUView) -> None:
    with qtbot.waitSignal(view.speed_changed) as blocker:
        view.transport.speed.setValue(view.transport.speed.maximum())
    assert blocker.args == [16.0] and view.timer.interval() == 62


def test_clicking_a_chip_or_a_cell(qtbot: Any, view: GRUView) -> None:
    rect = view.strip.chip_rect(3)
    qtbot.mouseClick(view.strip, Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.step == 3
    view.plots.cell_clicked.emit(1, 3)
    assert view.step == 1 and view.unit == 3 and view.inspector.unit_box.value() == 3


# -- unit inspector and line plots ------------------------------------------------------------------
def test_inspector_numbers_satisfy_the_update(view: GRUView) -> None:
    for step, unit in ((0, 0), (3, 1), (5, 3)):
        view.set_step(step)
        view.set_unit(unit)
        text = plain(view.inspector.equations.html())
        num = r"\(?(-?[\d.]+)\)?"
        line = re.search(rf"= {num}·{num} \+ {num}·{num} = (-?[\d.]+)", text)
        assert line, text
        z, h_prev, one_minus_z, n, h = map(float, line.groups())
        d = view.display
        assert z == pytest.approx(d.z[step, unit], abs=5e-4)
        assert h == pytest.approx(d.h[step, unit], abs=5e-4)
        assert one_minus_z == pytest.approx(1 - z, abs=1e-3)
        assert z * h_prev + one_minus_z * n == pytest.approx(h, abs=2e-3)


def test_read_unit_rebuilds_every_pre_activation() -> None:
    d = make_display(offsets={"z": 1.5, "n": -0.5})
    for t in range(d.n_steps):
        for u in range(d.hidden_size):
            r = read_unit(d, t, u)
            assert sigmoid(r.pre["z"]) == pytest.approx(r.gate["z"])
            assert sigmoid(r.pre["r"]) == pytest.approx(r.gate["r"])
            assert np.tanh(r.pre["n"]) == pytest.approx(r.gate["n"])
            assert r.gate["z"] * r.h_prev + (1 - r.gate["z"]) * r.gate["n"] == pytest.approx(r.h)
    html = equations_html(read_unit(d, 2, 1))
    assert "Δb" in html and "+ 1.500" in plain(html)


def test_picking_units(qtbot: Any, view: GRUView) -> None:
    view.set_unit(3)
    qtbot.mouseClick(view.inspector.plot_button, Qt.MouseButton.LeftButton)
    assert view.picked_units == [2, 0, 1, 3]
    assert len(view.plots.lines.listDataItems()) == 4
    qtbot.mouseClick(view.inspector.plot_button, Qt.MouseButton.LeftButton)
    assert view.picked_units == [2, 0, 1]
    view.units_edit.setText("1, 3 x 1")
    view.units_edit.editingFinished.emit()
    assert view.picked_units == [1, 3]
    view.quantity_box.setCurrentIndex(0)  # z
    y = view.plots.lines.listDataItems()[0].yData
    np.testing.assert_allclose(y, view.display.z[:, 1])
    view.set_display(make_display(seed=1))  # the user's choice survives a new trace
    assert view.picked_units == [1, 3]


def test_what_if_sliders(qtbot: Any, view: GRUView) -> None:
    w = view.what_if
    assert view.offsets == {"z": 0.0, "r": 0.0, "n": 0.0}
    with qtbot.waitSignal(view.offsets_changed):
        w.setChecked(True)
    with qtbot.waitSignal(view.offsets_changed):
        w.sliders["z"].setValue(25)
    assert view.offsets == {"z": 2.5, "r": 0.0, "n": 0.0}
    assert w.value_labels["z"].text() == "+2.5"
    with qtbot.waitSignal(view.offsets_changed):
        w.setChecked(False)
    assert view.offsets["z"] == 0.0  # unchecked: the trained cell
    with qtbot.assertNotEmitted(view.offsets_changed):
        view.set_offsets({"r": -1.0}, enabled=True)
    assert view.offsets == {"z": 0.0, "r": -1.0, "n": 0.0}


def test_a_what_if_rerun_keeps_the_step(view: GRUView) -> None:
    view.set_step(4)
    view.set_unit(1)
    view.set_display(make_display(offsets={"z": 2.0}))
    assert view.step == 4 and view.unit == 1
    view.set_display(make_display(tokens=("Another", "one")))
    assert view.step == 0


def test_flow_plot(view: GRUView) -> None:
    from app.display import FlowDisplay

    rnn = np.array([1e-6, 1e-4, 1e-3, 0.1, 1, 2.0])
    view.set_flow(FlowDisplay(np.array([1.0, 2.0, 2.0, 3.0, 5.0, 2.0]), rnn))
    _, y = view.flow_plot.rnn.getOriginalDataset()
    np.testing.assert_allclose(y, [1e-6, 1e-4, 1e-3, 0.1, 1, 2.0])
    assert "1e-06" in view.flow_caption.text()
    view.set_flow(None)
    assert "Computing" in view.flow_caption.text()


def test_helpers() -> None:
    assert parse_units("3, 17 x 3 42") == [3, 17, 42]
    assert [s for _, s in step_ticks(("a", "extraordinarily"))] == ["a", "extraord…"]
    assert len(step_ticks(tuple("abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"))) <= 18
    assert decade_ticks(-3, 1) == [(1.0, "10"), (0.0, "1"), (-1.0, "0.1"), (-2.0, "10⁻²"), (-3.0, "10⁻³")]
