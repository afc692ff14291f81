"""The window a user sees before the model is there, and when none could be loaded, on a real X server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app.context import LOADING, AppContext
from app.main_window import MainWindow
from engine.bundle import ModelError
from tests.realwindow._layout import layout_problems

LONG = "/home/someone/models/imdb-run-3/model.json: field 'vocab' missing or not a list of strings"


@pytest.fixture
def held() -> Iterator[threading.Event]:
    release = threading.Event()
    yield release
    release.set()


def _window(qtbot: Any, size: tuple[int, int], opener: Any) -> MainWindow:
    w = MainWindow(AppContext(None, None), explorers="later")
    qtbot.addWidget(w)
    w.setGeometry(0, 0, *size)
    w.attention.load_sample("mixed_feelings")
    w.show()
    qtbot.waitExposed(w)
    w.context.open_first(opener, on_note=w.show_error)
    return w


@pytest.mark.parametrize("size", [(1366, 768), (1024, 700)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_loading_and_failed_states_are_whole_and_say_so(
    qtbot: Any, held: threading.Event, size: tuple[int, int]
) -> None:
    def hold() -> Any:
        held.wait(30)
        raise ModelError(LONG)

    w = _window(qtbot, size, hold)
    try:
        for view in ("attention", "gru"):
            w.show_view(view)
            qtbot.wait(200)
            assert layout_problems(w._pages[view], w) == [], view
        w.show_view("attention")
        assert w.attention.view.message.isVisible() and w.attention.view.message.text() == LOADING
        with qtbot.waitSignal(w.context.model_failed, timeout=10_000):
            held.set()
        for view in ("attention", "gru"):
            w.show_view(view)
            qtbot.wait(200)
            assert layout_problems(w._pages[view], w) == [], view
        assert w.attention.view.message.text() == f"No model: {LONG}"
    finally:
        w.close()
