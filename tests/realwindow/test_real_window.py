"""The app as people meet it: a real X server, Qt's xcb platform, real clicks and key presses.

Launch tests start the real program (``python -m app.cli``) on an Xvfb screen of a given size and read
its window from outside with xdotool; the other tests drive an in-process window with xdotool's
X events (not Qt's synthetic ones), so focus and shortcuts go through the same path as a user's.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit

from app._platform import start_xvfb
from app.explorers import explorer_names
from tests.realwindow._layout import layout_problems

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1280, 720), (1366, 768), (1024, 700)]
TIMEOUT = 20_000


# -- launching the real program ----------------------------------------------------------------------
class Launched:
    """``han-explorer`` running on its own Xvfb screen, seen from outside with xdotool."""

    def __init__(self, home: Path, screen: tuple[int, int]) -> None:
        self.xvfb, self.display = start_xvfb(*screen)
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "DISPLAY": self.display,
            "QT_QPA_PLATFORM": "xcb",
            "LANG": "C.UTF-8",
        }
        self.log = home / f"app-{self.display[1:]}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.window = self._xdo("search", "--sync", "--onlyvisible", "--name", "HAN Explorer", timeout=120)
        self.window = self.window.split()[0]

    def _xdo(self, *args: str, timeout: float = 30) -> str:
        r = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"xdotool {' '.join(args)}: {r.stderr}; app: {self.stderr()}")
        return r.stdout

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def geometry(self) -> QRect:
        """The window's frame on the screen, as the X server has it (settled: two equal reads)."""
        last = None
        for _ in range(50):
            shell = dict(
                line.split("=", 1) for line in self._xdo("getwindowgeometry", "--shell", self.window).split()
            )
            rect = QRect(int(shell["X"]), int(shell["Y"]), int(shell["WIDTH"]), int(shell["HEIGHT"]))
            if rect == last:
                return rect
            last = rect
            time.sleep(0.2)
        return last

    def move(self, x: int, y: int) -> None:
        self._xdo("windowmove", self.window, str(x), str(y))
        time.sleep(0.5)

    def focused(self) -> bool:
        """Whether the window has the keyboard (the app asks for it when it opens)."""
        r = subprocess.run(
            ["xdotool", "getwindowfocus"], env=self.env, capture_output=True, text=True, timeout=30
        )
        return r.returncode == 0 and r.stdout.strip() == self.window

    def quit(self) -> int:
        """Ctrl+Q typed into the window, as a user would."""
        if not self.focused():  # what a window manager does when the window is clicked
            self._xdo("windowfocus", "--sync", self.window)
        self._xdo("key", "ctrl+q")
        try:
            return self.proc.wait(60)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.xvfb.terminate()
        self.xvfb.wait(10)


@pytest.fixture
def launch(home: Path) -> Iterator[Any]:
    started: list[Launched] = []

    def run(screen: tuple[int, int]) -> Launched:
        started.append(Launched(home, screen))
        return started[-1]

    yield run
    for app in started:
        app.close()


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 700), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_launch_fills_most_of_the_screen(launch: Any, screen: tuple[int, int]) -> None:
    """No saved settings: the window takes most of the screen, centred, all of it on the screen."""
    app = launch(screen)
    frame = app.geometry()
    width, height = screen
    assert QRect(0, 0, width, height).contains(frame), frame
    assert frame.width() >= 0.75 * width and frame.height() >= 0.75 * height, frame
    assert abs(frame.center().x() - width / 2) <= 2 and abs(frame.center().y() - height / 2) <= 2, frame
    deadline = time.monotonic() + 10
    while not app.focused() and time.monotonic() < deadline:  # typing goes to the new window at once
        time.sleep(0.2)
    assert app.focused()
    assert app.quit() == 0


def test_a_place_saved_on_a_larger_screen_is_not_used(launch: Any, home: Path) -> None:
    """Saved at the bottom right of a 2560 x 1440 screen, reopened on 1024 x 700: it opens on screen."""
    big = launch((2560, 1440))
    big.move(1900, 1000)
    assert big.geometry().topLeft() == QRect(1900, 1000, 1, 1).topLeft()
    assert big.quit() == 0
    assert "geometry" in (home / "config" / "HAN Explorer" / "han-explorer.conf").read_text()
    small = launch((1024, 700))
    frame = small.geometry()
    assert QRect(0, 0, 1024, 700).contains(frame), frame
    assert frame.width() >= 0.75 * 1024, frame
    assert small.quit() == 0


# -- an in-process window driven by X events ---------------------------------------------------------
@pytest.fixture
def window(qtbot: Any, shipped_bundle: Any) -> Iterator[Any]:
    """The main window as the app builds it (asynchronous workers), no settings, on the lane's screen."""
    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, None))
    qtbot.addWidget(w)
    w.setGeometry(0, 0, 1366, 768)
    w.attention.load_sample("mixed_feelings")
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: w.attention.display is not None and not w.attention.busy, timeout=TIMEOUT)
    yield w
    for c in w.controllers.values():
        c.shutdown()
    for c in w.controllers.values():
        with contextlib.suppress(Exception):
            c.wait_idle(5_000)


def settle(qtbot: Any, ms: int = 300) -> None:
    qtbot.wait(ms)


def click(xdo: Any, widget: Any, point: QPoint) -> None:
    """A real mouse click (X events) at ``point`` of ``widget``."""
    g = widget.mapToGlobal(point)
    xdo("mousemove", "--sync", str(g.x()), str(g.y()))
    xdo("click", "1")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("view", explorer_names())
def test_every_view_is_whole_at_laptop_sizes(
    qtbot: Any, window: Any, view: str, size: tuple[int, int]
) -> None:
    """Nothing cut off, no panel off-screen, no two labels on top of each other, no page scrolling."""
    window.setGeometry(0, 0, *size)
    window.show_view(view)
    controller = window.controllers[view]
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT)
    settle(qtbot)
    assert window.geometry().size().toTuple() == size
    assert layout_problems(window._pages[view], window) == []


def test_clicking_a_word_then_typing_edits_the_review(qtbot: Any, window: Any, xdo: Any) -> None:
    att = window.attention
    editor = att.view.editor
    gru_text = window.controllers["gru"].view.text()
    text = att.view.text()
    at = text.index("quiet") + 2  # inside the word "quiet"
    rect = editor.char_rect(at)
    click(xdo, editor.viewport(), rect.center())
    qtbot.waitUntil(lambda: editor.textCursor().position() in (at, at + 1), timeout=TIMEOUT)
    assert QApplication.focusWidget() is editor
    xdo("type", "--delay", "30", "ZZ")
    qtbot.waitUntil(lambda: "ZZ" in att.view.text(), timeout=TIMEOUT)
    assert "quZZiet" in att.view.text() or "quiZZet" in att.view.text()
    assert window.current_view == "attention"  # no tab changed
    assert window.controllers["gru"].view.text() == gru_text  # the stepper was left alone
    assert editor.selected_sentence == 0 and "sentence 1 of" in att.view.selection_label.text()
    # the review is scored again, from the typed text
    qtbot.waitUntil(lambda: att.display is not None and "ZZ" in att.display.text, timeout=TIMEOUT)


def test_step_through_sends_the_sentence_only_when_asked(qtbot: Any, window: Any, xdo: Any) -> None:
    att, gru = window.attention, window.controllers["gru"]
    second = att.analysis.sentences[1]
    click(xdo, att.view.editor.viewport(), att.view.editor.char_rect(second.start + 3).center())
    qtbot.waitUntil(lambda: att.view.editor.selected_sentence == 1, timeout=TIMEOUT)
    assert window.current_view == "attention"
    xdo("key", "ctrl+Return")
    qtbot.waitUntil(lambda: window.current_view == "gru", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: gru.display is not None and gru.view.text() == second.text, timeout=TIMEOUT)


def test_stepper_keys_and_a_text_box(qtbot: Any, window: Any, xdo: Any) -> None:
    gru = window.controllers["gru"]
    xdo("key", "ctrl+2")
    qtbot.waitUntil(lambda: window.current_view == "gru", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: gru.display is not None and not gru.busy, timeout=TIMEOUT)
    view = gru.view
    # the tab is shown: plain keys step, wherever the focus is
    xdo("key", "End")
    qtbot.waitUntil(lambda: view.step == gru.display.n_steps - 1, timeout=TIMEOUT)
    xdo("key", "Home")
    qtbot.waitUntil(lambda: view.step == 0, timeout=TIMEOUT)
    xdo("key", "Right")
    qtbot.waitUntil(lambda: view.step == 1, timeout=TIMEOUT)
    # typing in the sentence box: the arrows move its cursor, not the stepper
    box: QPlainTextEdit = view.editor
    click(xdo, box.viewport(), QPoint(8, 8))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is box, timeout=TIMEOUT)
    before = box.textCursor().position()
    xdo("key", "Right")
    qtbot.waitUntil(lambda: box.textCursor().position() == before + 1, timeout=TIMEOUT)
    assert view.step == 1
    # Alt+arrows step even while typing; Escape hands the plain keys back
    xdo("key", "alt+Right")
    qtbot.waitUntil(lambda: view.step == 2, timeout=TIMEOUT)
    assert QApplication.focusWidget() is box
    xdo("key", "Escape")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not box, timeout=TIMEOUT)
    xdo("key", "Right")
    qtbot.waitUntil(lambda: view.step == 3, timeout=TIMEOUT)
    # the stepper's keys are dead while another tab is shown
    xdo("key", "ctrl+1")
    qtbot.waitUntil(lambda: window.current_view == "attention", timeout=TIMEOUT)
    xdo("key", "End")
    settle(qtbot)
    assert view.step == 3


def test_help_pages(qtbot: Any, window: Any, xdo: Any) -> None:
    from app.widgets import AboutDialog, KeyboardDialog

    xdo("key", "F1")
    qtbot.waitUntil(
        lambda: any(isinstance(w, KeyboardDialog) and w.isVisible() for w in QApplication.topLevelWidgets()),
        timeout=TIMEOUT,
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, KeyboardDialog))
    texts = [w.text() for w in dialog.findChildren(QLabel)]
    assert any("Alt+Right" in t for t in texts)
    assert any("Ctrl+Enter" in t or "Ctrl+Return" in t for t in texts)
    dialog.close()
    about = window.show_about()
    labels = [w.text() for w in about.findChildren(QLabel)]
    assert any("Maas" in t for t in labels) and any("shipped model" in t for t in labels)
    assert isinstance(about, AboutDialog)
    about.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_explain_with_real_clicks(qtbot: Any, window: Any, xdo: Any, size: tuple[int, int]) -> None:
    """Shade by leave-one-out from the combo box, Ctrl+click a word out, side by side: all with X
    events, and the view whole at every step."""
    from resources import sample_texts

    window.setGeometry(0, 0, *size)
    att = window.attention
    view = att.view
    text = sample_texts()["negations"].read_text(encoding="utf-8")
    att.set_text(text)
    qtbot.waitUntil(
        lambda: att.display is not None and att.display.text == text and not att.busy, timeout=TIMEOUT
    )
    # "Shade by": open the list with a click, pick leave-one-out with the keyboard
    box = view.mode_box
    click(xdo, box, box.rect().center())
    settle(qtbot)
    steps = box.findData("occlusion") - box.currentIndex()
    for _ in range(abs(steps)):
        xdo("key", "Down" if steps > 0 else "Up")
    xdo("key", "Return")
    qtbot.waitUntil(lambda: view.mode == "occlusion", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "occlusion" in att.explained and not att.busy, timeout=60_000)
    settle(qtbot)
    assert view.legend.diverging and layout_problems(window._pages["attention"], window) == []
    # Ctrl+click "masterpiece": it is left out (struck through), the text stays
    ed = view.editor
    at = text.index("masterpiece") + 3
    ed.centerCursor()
    g = ed.viewport().mapToGlobal(ed.char_rect(at).center())
    xdo("mousemove", "--sync", str(g.x()), str(g.y()))
    xdo("keydown", "ctrl")
    xdo("click", "1")
    xdo("keyup", "ctrl")
    qtbot.waitUntil(lambda: bool(att.edit.words) and not att.busy, timeout=TIMEOUT)
    start = text.index("masterpiece")
    assert ed.removed_spans() == [(start, start + len("masterpiece"))]
    assert view.text() == text and view.edit_label.text() == "Edited: 1 word left out"
    assert "Pinned (original" in view.pin_label.text()
    # side by side, with a real click on the check box (scrolled to first, as a user would on a short
    # screen: the side column scrolls rather than squeeze)
    check = view.compare_check
    view.side_scroll.ensureWidgetVisible(check)
    settle(qtbot)
    click(xdo, check, QPoint(8, check.height() // 2))
    qtbot.waitUntil(lambda: view.mirror.isVisible() and not att.busy, timeout=60_000)
    settle(qtbot)
    assert view.mirror.toPlainText() == text
    assert layout_problems(window._pages["attention"], window) == []


def _toy_dataset(path: Path) -> Path:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("_toy", ROOT / "tests" / "toy_data.py")
    assert spec is not None and spec.loader is not None
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    path.write_text("".join(json.dumps(r) + "\n" for r in toy.toy_rows(120)), encoding="utf-8")
    return path


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dataset_tab_with_scores_is_whole(
    qtbot: Any, window: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    """The Dataset tab holding a scored corpus (table, metrics, corpus attention) fits the laptop sizes."""
    c = window.controllers["dataset"]
    c.cache_dir = tmp_path / "cache"
    window.setGeometry(0, 0, *size)
    window.open_dataset(_toy_dataset(tmp_path / "toy.jsonl"))
    qtbot.waitUntil(lambda: c.result is not None and c.result.complete and not c.busy, timeout=60_000)
    settle(qtbot)
    assert c.view.model.rowCount() == 120
    assert layout_problems(window._pages["dataset"], window) == []
    c.view.panes.show_pane(c.view.panes.panes[2][1])  # folded: the corpus attention tab too
    settle(qtbot)
    assert layout_problems(window._pages["dataset"], window) == []


def test_dataset_row_opens_in_attention_and_alt_left_comes_back(
    qtbot: Any, window: Any, xdo: Any, tmp_path: Path
) -> None:
    """Real keys: Enter on a row shows it in the Attention view; Alt+Left returns to the row."""
    c = window.controllers["dataset"]
    c.cache_dir = tmp_path / "cache"
    window.open_dataset(_toy_dataset(tmp_path / "toy.jsonl"))
    qtbot.waitUntil(lambda: c.result is not None and c.result.complete and not c.busy, timeout=60_000)
    table = c.view.table
    table.setFocus()
    table.setCurrentIndex(c.view.model.index(3, 0))
    settle(qtbot)
    row = c.view.model.dataset_row(3)
    xdo("key", "Return")
    qtbot.waitUntil(lambda: window.current_view == "attention", timeout=TIMEOUT)
    assert window.attention.view.text() == c.dataset.texts[row]
    qtbot.waitUntil(window.back_button.isVisible, timeout=TIMEOUT)
    xdo("key", "alt+Left")
    qtbot.waitUntil(lambda: window.current_view == "dataset", timeout=TIMEOUT)
    assert table.currentIndex().row() == 3 and not window.back_button.isVisible()
