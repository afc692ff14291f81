"""The Behaviour explorer: the suite runs off the GUI thread (a stub model, fast), the table shows
its failure rates, Cancel stops it, and a failing case opens in the Attention view."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.behaviour_controller import BehaviourController
from app.display._behaviour import TEST_TYPES
from app.present._behaviour import behaviour_table, failure_rows

CASES = 20  # per test: 18 tests, a few hundred texts


class Stub:
    """A model answering ``rule(text)`` = (P(neg), P(pos)) for every text; ``gate`` (if set) holds each
    batch until it is released (tests of Cancel)."""

    label_names = ("neg", "pos")

    def __init__(
        self, rule: Callable[[str], tuple[float, float]], gate: threading.Event | None = None
    ) -> None:
        self.rule = rule
        self.gate = gate
        self.batches = 0

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.batches += 1
        if self.gate is not None:
            self.gate.wait(10)
        return np.array([self.rule(t) for t in texts], dtype=np.float64)


def always_pos(_text: str) -> tuple[float, float]:
    return (0.1, 0.9)


def apostrophes_are_negative(text: str) -> tuple[float, float]:
    return (0.8, 0.2) if "'" in text else (0.3, 0.7)


@pytest.fixture
def controller(qtbot: Any, context: Any) -> Any:
    c = BehaviourController(context, asynchronous=False)
    qtbot.addWidget(c.view)
    c.view.cases_box.setValue(CASES)
    yield c
    c.shutdown()


def _row(c: BehaviourController, capability: str) -> int:
    assert c.result is not None
    return c.result.capabilities().index(capability)


def test_run_fills_the_table_with_the_stub_models_failure_rates(controller: Any) -> None:
    c = controller
    c.predictor = lambda _bundle: Stub(always_pos)
    c.view.run_button.click()
    assert c.result is not None and len(c.result.tests) == 18
    t = c.view.table
    assert t.rowCount() == 8 and t.columnCount() == 3
    titles = [t.verticalHeaderItem(r).text() for r in range(t.rowCount())]
    assert titles[:3] == ["Vocabulary", "Negation", "Verdict turns"]
    # every MFT capability has one positive-labelled and one negative-labelled test: half fails
    for cap in ("vocabulary", "negation", "verdict", "temporal"):
        item = t.item(_row(c, cap), TEST_TYPES.index("MFT"))
        assert item.text() == "50.0%", cap
        assert t.item(_row(c, cap), TEST_TYPES.index("INV")).text() == "—"
    for cap, kind in (("robustness", "INV"), ("entities", "INV"), ("neutral", "INV"), ("intensity", "DIR")):
        assert t.item(_row(c, cap), TEST_TYPES.index(kind)).text() == "0.0%", cap
    assert c.view.run_button.isEnabled() and not c.view.cancel_button.isEnabled()
    assert f"{5 * CASES:,} of {18 * CASES:,} cases failed" in c.view.status.text()  # the 5 neg-labelled MFTs


def test_a_cell_lists_its_failures_and_shows_one_in_full(controller: Any) -> None:
    c = controller
    c.predictor = lambda _bundle: Stub(always_pos)
    c.view.run_button.click()
    c.view.table.setCurrentCell(_row(c, "negation"), 0)  # as a click does
    rows = c.view.rows
    assert len(rows) == CASES and c.view.failures.rowCount() == CASES
    assert {r.test for r in rows} == {"negated positive"} and {r.expected for r in rows} == {"neg"}
    assert {r.predicted for r in rows} == {"pos"} and rows[0].confidence == "P(pos) 0.90"
    assert "Negation · MFT: 20 of 40 cases failed (50.0%)" in c.view.cell_label.text()
    assert "negated negative: 0.0% of 20" in c.view.cell_label.text()
    c.view.failures.setCurrentCell(3, 0)
    assert rows[3].text in c.view.detail.toPlainText()
    assert c.view.open_button.isEnabled() and not c.view.open_original_button.isEnabled()  # an MFT case
    c.view.table.setCurrentCell(_row(c, "neutral"), TEST_TYPES.index("INV"))
    assert c.view.rows == () and c.view.failures.rowCount() == 0 and not c.view.open_button.isEnabled()


def test_the_worst_cell_is_selected_after_a_run(controller: Any) -> None:
    c = controller
    c.predictor = lambda _bundle: Stub(apostrophes_are_negative)
    c.view.run_button.click()
    # contractions: every case has an apostrophe on one side only; nothing else fails as often
    assert c.view.table.currentRow() == _row(c, "robustness")
    assert c.view.table.currentColumn() == TEST_TYPES.index("INV")
    assert {r.test for r in c.view.rows} >= {"contractions"}


def test_cancel_stops_the_run_and_keeps_the_previous_table(qtbot: Any, context: Any) -> None:
    c = BehaviourController(context, asynchronous=True)
    qtbot.addWidget(c.view)
    c.view.cases_box.setValue(CASES)
    gate = threading.Event()
    stub = Stub(always_pos, gate)
    c.predictor = lambda _bundle: stub
    try:
        c.view.run_button.click()
        assert c.view.cancel_button.isEnabled() and not c.view.run_button.isEnabled()
        qtbot.waitUntil(lambda: stub.batches == 1, timeout=10_000)  # inside the first batch
        c.view.cancel_button.click()
        gate.set()
        assert c.wait_idle(10_000)
        assert c.result is None and c.view.table.rowCount() == 0
        assert stub.batches == 1  # stopped at the next yield, not after every batch
        assert c.view.status.text() == "Cancelled."
        assert c.view.run_button.isEnabled() and not c.view.cancel_button.isEnabled()
    finally:
        gate.set()
        c.shutdown()


def test_a_model_without_sentiment_labels_is_a_one_line_status(controller: Any) -> None:
    c = controller
    stub = Stub(always_pos)
    stub.label_names = ("bad", "good")  # type: ignore[assignment]
    c.predictor = lambda _bundle: stub
    c.view.run_button.click()
    assert c.result is None
    assert c.view.status.text().startswith("the behaviour suite tests sentiment")
    assert "\n" not in c.view.status.text() and c.view.run_button.isEnabled()


def test_presenters_pool_the_tests_of_a_cell(controller: Any) -> None:
    c = controller
    c.predictor = lambda _bundle: Stub(apostrophes_are_negative)
    c.view.run_button.click()
    r = c.result
    table = behaviour_table(r)
    robustness = table.cells[table.names.index("robustness")]
    assert robustness[0] is None and robustness[2] is None
    cell = robustness[1]
    typos, contractions = (t for t in r.tests if t.capability == "robustness")
    assert cell is not None and cell.n == typos.n + contractions.n
    assert cell.failures == typos.failure_count + contractions.failure_count
    assert cell.rate == pytest.approx(cell.failures / cell.n)
    rows = failure_rows(r, "robustness", "INV")
    assert len(rows) == cell.failures and all(row.original is not None for row in rows)
    assert all(("'" in row.text) != ("'" in row.original) for row in rows)  # type: ignore[operator]


def test_a_failure_opens_in_the_attention_view_and_back(window: Any, qtbot: Any) -> None:
    w = window
    w.show_view("behaviour")
    c = w.controllers["behaviour"]
    c.view.cases_box.setValue(CASES)
    c.predictor = lambda _bundle: Stub(apostrophes_are_negative)
    c.view.run_button.click()
    qtbot.waitUntil(lambda: c.result is not None and not c.busy, timeout=30_000)
    v = c.view
    assert v.table.currentRow() == _row(c, "robustness")
    w.activateWindow()
    v.failures.setFocus()
    v.failures.setCurrentCell(2, 4)
    failure = v.rows[2]
    qtbot.keyClick(v.failures, Qt.Key.Key_Return)  # Enter opens the perturbed text
    assert w.current_view == "attention"
    assert w.attention.view.text() == failure.text
    assert w.back.isEnabled() and "Behaviour" in w.back.text()
    assert w.attention.wait_idle(30_000) and w.attention.analysis is not None
    assert w.attention.analysis.text == failure.text
    w.go_back()
    assert w.current_view == "behaviour" and v.failures.currentRow() == 2
    v.open_original_button.click()  # an INV case: its original opens too
    assert w.current_view == "attention" and w.attention.view.text() == failure.original
    w.go_back()
    item = v.failures.item(5, 4)
    rect = v.failures.visualItemRect(item)
    qtbot.mouseClick(v.failures.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # the press a
    qtbot.mouseDClick(v.failures.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # dclick follows
    assert w.current_view == "attention" and w.attention.view.text() == v.rows[5].text


def test_export_writes_the_check_json_schema(controller: Any, tmp_path: Any) -> None:
    import json

    c = controller
    with pytest.raises(ValueError, match="run the suite first"):
        c.save(tmp_path / "b.json")
    c.predictor = lambda _bundle: Stub(always_pos)
    c.view.run_button.click()
    with pytest.raises(ValueError, match=r"use \.json"):
        c.save(tmp_path / "b.csv")
    d = json.loads((c.save(tmp_path / "b.json")).read_text(encoding="utf-8"))
    assert d["schema"] == "han-explorer/behaviour/1" and d["cases_per_test"] == CASES
    assert sum(len(t["examples"]) for t in d["tests"]) == 5 * CASES  # every failure: 5 neg MFTs


def test_case_texts_are_shown_as_plain_text(qtbot: Any) -> None:
    from app.display._behaviour import FailureRow
    from app.widgets._behaviour_view import BehaviourView

    view = BehaviourView()
    qtbot.addWidget(view)
    assert not view.open_button.isEnabled() and not view.open_original_button.isEnabled()  # nothing yet
    html = "<b>bold</b> &amp; <i>tags</i>"
    row = FailureRow("t", "pos", "neg", "P(neg) 0.9", html, html + " (orig)", f"Text:\n{html}")
    view.set_failures(f"cell {html}", (row,))
    assert view.cell_label.textFormat() == Qt.TextFormat.PlainText and html in view.cell_label.text()
    assert view.failures.item(0, 4).text() == html
    assert html in view.detail.toPlainText()
    assert view.open_button.isEnabled() and view.open_original_button.isEnabled()


def test_a_new_model_marks_the_table_as_the_previous_models(controller: Any, context: Any) -> None:
    c = controller
    c.predictor = lambda _bundle: Stub(always_pos)
    c.view.run_button.click()
    assert c.result is not None
    context.set_bundle(context.bundle)  # what opening another model does, once it has loaded
    assert c.view.status.text().startswith("The model changed: the table shows the previous model")
    assert c.view.table.rowCount() == 8  # the old table stays to compare with, marked as such
