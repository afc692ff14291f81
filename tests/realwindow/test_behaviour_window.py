"""The Behaviour tab in a real window (xcb): whole at laptop sizes with a result shown, and a real
double-click on a failing case opens it in the Attention view."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realwindow._layout import layout_problems

SIZES = [(1366, 768), (1024, 700)]


@pytest.fixture
def ran(big_window: Any, qtbot: Any) -> Any:
    """The main window with the suite run on the shipped model (30 cases a test: a few seconds)."""
    w = big_window
    w.setGeometry(0, 0, 1366, 768)
    w.show_view("behaviour")
    c = w.controllers["behaviour"]
    c.view.cases_box.setValue(30)
    c.view.run_button.click()  # synchronous window: the run ends before click() returns
    assert c.result is not None and len(c.result.tests) == 18
    return w


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_behaviour_tab_with_a_result_is_whole(ran: Any, qtbot: Any, size: tuple[int, int]) -> None:
    ran.setGeometry(0, 0, *size)
    qtbot.wait(300)
    assert ran.geometry().size().toTuple() == size
    view = ran.controllers["behaviour"].view
    assert view.failures.rowCount() > 0 and view.table.rowCount() == 8
    assert layout_problems(ran._pages["behaviour"], ran) == []


def test_a_real_double_click_opens_a_failure(ran: Any, qtbot: Any, xdo: Any) -> None:
    view = ran.controllers["behaviour"].view
    rect = view.failures.visualItemRect(view.failures.item(1, 4))
    g = view.failures.viewport().mapToGlobal(rect.center())
    xdo("mousemove", "--sync", str(g.x()), str(g.y()))
    xdo("click", "--repeat", "2", "--delay", "80", "1")
    qtbot.waitUntil(lambda: ran.current_view == "attention", timeout=10_000)
    assert ran.attention.view.text() == view.rows[1].text
