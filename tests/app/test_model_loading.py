"""The window comes before the model: "Loading the model…" until it arrives, and a model that cannot
be loaded says why in the window.

The model load is held on a :class:`threading.Event`, so each test looks at the window while the
worker is really still loading.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from app.context import LOADING, AppContext
from app.main_window import MainWindow
from engine.bundle import ModelError
from resources import sample_texts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def loading(qtbot: Any, shipped_bundle: Any) -> Iterator[tuple[MainWindow, threading.Event]]:
    """A window whose model waits for ``release.set()`` (then loads the shipped one)."""
    release = threading.Event()

    def opener() -> tuple[Any, str]:
        assert release.wait(30)
        return shipped_bundle, ""

    window = MainWindow(AppContext(None, settings=None))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    window.attention.load_sample("mixed_feelings")
    window.context.open_first(opener, on_note=window.show_error)
    yield window, release
    release.set()
    for c in window.controllers.values():
        c.shutdown()


def test_window_says_loading_until_the_model_arrives(qtbot: Any, loading: Any) -> None:
    window, release = loading
    qtbot.wait(100)  # debouncers fire; nothing may be computed without a model
    assert window.context.bundle is None
    assert "loading the model" in window.windowTitle().lower()
    assert window.statusBar().currentMessage() == LOADING
    assert window.attention.view.message.text() == LOADING
    assert window.attention.display is None
    assert not window._card_action.isEnabled()
    window.show_view("gru")
    qtbot.waitUntil(lambda: LOADING in window.controllers["gru"].view.sentence_bar.message.text())

    with qtbot.waitSignal(window.attention.display_applied, timeout=30_000):
        release.set()
    assert window.context.bundle is not None
    assert window.attention.display is not None and window.attention.display.n_sentences > 0
    assert window.attention.view.message.text() == ""
    assert "shipped model" in window.windowTitle()
    assert window._card_action.isEnabled()
    gru = window.controllers["gru"]
    qtbot.waitUntil(lambda: gru.display is not None, timeout=30_000)


def test_clicking_around_while_loading_breaks_nothing(qtbot: Any, loading: Any) -> None:
    window, release = loading
    for name in window.controllers:
        window.show_view(name)
        qtbot.wait(20)
    window.attention.set_text("Typed while the model loads. It gets scored once it is there.")
    window.controllers["gru"].set_text("A sentence typed early.")
    assert window.show_model_card() is None  # a shortcut reaching the disabled action
    window.show_about().close()
    window._guard(window.attention.copy_html)  # what File → Copy as HTML runs
    assert "nothing to export" in window.last_error
    window.show_view("attention")
    with qtbot.waitSignal(window.attention.display_applied, timeout=30_000):
        release.set()
    assert window.attention.analysis is not None
    assert window.attention.analysis.text.startswith("Typed while the model loads.")
    gru = window.controllers["gru"]
    window.show_view("gru")
    qtbot.waitUntil(lambda: gru.display is not None, timeout=30_000)
    assert gru.view.text() == "A sentence typed early."


def test_a_model_that_cannot_be_loaded_says_why(qtbot: Any) -> None:
    def opener() -> tuple[Any, str]:
        raise ModelError("model.json: config.embed_dim must be a whole number")

    window = MainWindow(AppContext(None, settings=None))
    qtbot.addWidget(window)
    window.show()
    window.attention.set_text(sample_texts()["rave"].read_text(encoding="utf-8"))
    try:
        with qtbot.waitSignal(window.context.model_failed, timeout=10_000):
            window.context.open_first(opener, on_note=window.show_error)
        qtbot.wait(50)
        why = "No model: model.json: config.embed_dim must be a whole number"
        assert window.context.model_status == why
        assert window.attention.view.message.text() == why
        assert "embed_dim" in window.last_error and "Open model" in window.last_error
        assert window.statusBar().currentMessage() == why
        assert window.attention.display is None
    finally:
        for c in window.controllers.values():
            c.shutdown()


def test_a_model_opened_later_replaces_the_failed_one(qtbot: Any, shipped_bundle: Any) -> None:
    from resources import model_dir

    window = MainWindow(AppContext(None, settings=None))
    qtbot.addWidget(window)
    window.show()
    window.attention.load_sample("rave")
    try:
        with qtbot.waitSignal(window.context.model_failed, timeout=10_000):
            window.context.open_first(_raise_model_error, on_note=window.show_error)
        with qtbot.waitSignal(window.attention.display_applied, timeout=30_000):
            window.context.load_model(model_dir())
        assert window.context.model_status == ""
        assert window.attention.view.message.text() == ""
    finally:
        for c in window.controllers.values():
            c.shutdown()


def _raise_model_error() -> tuple[Any, str]:
    raise ModelError("model.safetensors is missing")


def test_the_window_is_built_before_torch_is_imported(tmp_path: Path) -> None:
    """The app's window path (build_window) must not import torch on the GUI thread: torch is first
    imported by the model's worker, which starts once the window is built."""
    probe = (
        "import sys\n"
        "from app import context, gui\n"
        "seen = []\n"
        "start = context.AppContext.open_first\n"
        "def open_first(self, *a, **k):\n"
        "    seen.append('torch' in sys.modules)\n"
        "    start(self, *a, **k)\n"
        "context.AppContext.open_first = open_first\n"
        "w = gui.build_window(None, None, asynchronous=True, explorers='later')\n"
        "w.show()\n"
        "from app._idle import process_events_until\n"
        "first = []\n"
        "w.attention.display_applied.connect(lambda g: first.append(w.context.bundle is None))\n"
        "both = lambda: w.attention.display is not None and w.context.bundle is not None\n"
        "ok = process_events_until(both, 120_000)\n"
        "print(seen, ok, w.context.model_status == '', first[:1])\n"
        "for c in w.controllers.values(): c.shutdown()\n"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert r.returncode == 0, r.stderr
    # the first review shaded came from the numpy preview, before the torch model was there
    assert r.stdout.split() == ["[False]", "True", "True", "[True]"]


def test_the_first_frame_is_painted_before_numpy_pyqtgraph_superqt_or_torch_are_imported(
    tmp_path: Path,
) -> None:
    """The launch path (``han-explorer``: gui.run) paints its first frame with Qt alone: the explorers'
    modules (numpy, pyqtgraph, superqt: ~0.3 s on a small machine) are imported after it, and the
    window then shades the review as before."""
    probe = (
        "import sys\n"
        "from app import gui, main_window\n"
        "HEAVY = ('numpy', 'pyqtgraph', 'superqt', 'qtpy', 'torch')\n"
        "seen = []\n"
        "paint = main_window.MainWindow.paintEvent\n"
        "def first_paint(self, e):\n"
        "    if not seen:\n"
        "        seen.append(sorted(m for m in HEAVY if m in sys.modules))\n"
        "        seen.append(sorted(self.controllers))\n"
        "    paint(self, e)\n"
        "main_window.MainWindow.paintEvent = first_paint\n"
        "from app._idle import process_events_until\n"
        "w = gui.build_window(None, None, asynchronous=True, explorers='later')\n"
        "w.show()\n"
        "done = lambda: 'attention' in w.controllers and w.controllers['attention'].display is not None\n"
        "ok = process_events_until(done, 120_000)\n"
        "print(repr(seen), ok)\n"
        "for c in w.controllers.values(): c.shutdown()\n"
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[[], []] True"


def test_deferred_explorers_are_built_after_the_first_frame_or_when_shown(
    qtbot: Any, shipped_bundle: Any
) -> None:
    release = threading.Event()

    def opener() -> tuple[Any, str]:
        assert release.wait(30)
        return shipped_bundle, ""

    from PySide6.QtWidgets import QLabel

    window = MainWindow(AppContext(None, settings=None), explorers="later")
    qtbot.addWidget(window)
    try:
        # the first frame: the tabs and "Loading the model…", no explorer (their imports take ~0.3 s)
        assert window.controllers == {}
        placeholder = window._pages["attention"].widget()
        assert isinstance(placeholder, QLabel) and placeholder.text() == LOADING
        window.show_view("behaviour")  # before the first frame: the tab changes, nothing is built
        assert window.controllers == {} and window.current_view == "behaviour"
        window.context.open_first(opener, on_note=window.show_error)
        window.show()
        # right after the first frame: Attention and the tab on screen
        qtbot.waitUntil(lambda: len(window.controllers) == 2, timeout=10_000)
        assert list(window.controllers) == ["attention", "behaviour"]
        window.attention.load_sample("rave")
        qtbot.wait(200)  # painted, but the model is still loading: nothing else is built yet
        assert list(window.controllers) == ["attention", "behaviour"]
        window.show_view("conv")  # asked for: built at once
        assert "conv" in window.controllers and window.current_view == "conv"
        release.set()
        qtbot.waitUntil(lambda: len(window.controllers) == len(window._pages), timeout=30_000)
        assert window.context.bundle is not None
        window.show_view("gru")
        gru = window.controllers["gru"]
        qtbot.waitUntil(lambda: gru.display is not None, timeout=30_000)
    finally:
        release.set()
        for c in window.controllers.values():
            c.shutdown()


def test_the_numpy_preview_shades_the_review_while_torch_loads(qtbot: Any, shipped_bundle: Any) -> None:
    """At launch the Attention view scores with the model read into numpy (engine.preview) while the
    torch model loads; then the torch model takes over with the same numbers, and what needs torch
    (attributions) waits for it and says so."""
    from app.gui import open_preview

    release = threading.Event()

    def opener() -> tuple[Any, str]:
        assert release.wait(30)
        return shipped_bundle, ""

    window = MainWindow(AppContext(None, settings=None))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    c = window.attention
    c.load_sample("mixed_feelings")
    try:
        with qtbot.waitSignal(c.display_applied, timeout=30_000):
            window.context.open_preview(
                open_preview,
                None,
                None,
                then=lambda: window.context.open_first(opener, on_note=window.show_error),
            )
        assert window.context.bundle is None and window.context.preview is not None
        early = c.display
        assert early is not None and early.n_sentences > 0
        assert c.view.message.text() == ""
        assert window.statusBar().currentMessage() == LOADING  # the torch model is still on its way
        c._set_edit(frozenset({0}), frozenset())  # a counterfactual needs torch: refused, and said
        assert not c.edit and "still loading" in c.view.message.text()
        assert c.display is early  # what is shown stays
        box = c.view.mode_box
        box.setCurrentIndex(box.findData("ig"))  # needs torch: waits, and says so
        qtbot.waitUntil(lambda: "once the model has loaded" in c.view.explain_status.text(), timeout=10_000)
        assert "ig" not in c.explained
        with qtbot.waitSignal(c.display_applied, timeout=30_000):
            release.set()
        assert window.context.bundle is not None and window.context.preview is None
        assert c.view.message.text() == ""
        late = c.analysis
        assert late is not None and early.text == late.text
        qtbot.waitUntil(lambda: "ig" in c.explained and not c.busy, timeout=60_000)
        from engine.analyze import analyze

        expected = analyze(shipped_bundle, late.text)
        assert late.label == expected.label
        for k, p in late.probabilities.items():
            assert abs(p - expected.probabilities[k]) < 1e-9  # the torch model's own numbers now
    finally:
        release.set()
        for ctl in window.controllers.values():
            ctl.shutdown()
