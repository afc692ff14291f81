"""Start the desktop app, or render one of its views to a PNG (``--screenshot``).

Imported only when the GUI is asked for: ``han-explorer train`` and the other commands never load Qt.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.context import AppContext
from app.main_window import MainWindow

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = ["GuiError", "build_window", "has_display", "run", "screenshot"]

ORGANIZATION, APPLICATION = "HAN Explorer", "han-explorer"
SCREENSHOT_SIZE = (1366, 768)  # a common laptop screen: what the docs show
START_SAMPLE = "mixed_feelings"


class GuiError(Exception):
    """The GUI cannot start (no display, bad model, bad file); one line for the user."""


def has_display() -> bool:
    from app._platform import display_problem

    return display_problem() is None


def check_platform() -> None:
    """Raise :class:`GuiError` (one line) where ``QApplication()`` would abort the process."""
    from app._platform import display_problem, platform_problem

    problem = platform_problem() or display_problem()
    if problem is not None:
        raise GuiError(problem)


def application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app


def _load(model: str | Path | None, settings: QSettings | None) -> tuple[ModelBundle, str]:
    """The model to start with: ``model``, else the last one used, else the shipped one."""
    from engine.bundle import ModelError, load_bundle
    from resources import model_dir

    if model is not None:
        try:
            return load_bundle(model), ""
        except ModelError as e:
            raise GuiError(str(e)) from None
    last = settings.value("model/path") if settings is not None else None
    if last:
        try:
            return load_bundle(str(last)), ""
        except Exception as e:  # whatever a folder changed since does, the app still starts
            from app.jobs import error_message

            assert settings is not None
            settings.remove("model/path")
            note = f"The last model could not be opened ({error_message(e)}); using the shipped one."
            return load_bundle(model_dir()), note
    return load_bundle(model_dir()), ""


def build_window(
    model: str | Path | None = None,
    settings: QSettings | None = None,
    asynchronous: bool = True,
    text: str | None = None,
) -> MainWindow:
    """The main window on ``model`` (or the last/shipped one) showing ``text`` (or a sample)."""
    application()
    bundle, note = _load(model, settings)
    gc.collect()  # once, before the window freezes the heap (MainWindow: freeze_heap)
    window = MainWindow(AppContext(bundle, settings), asynchronous=asynchronous)
    if text is None:
        window.attention.load_sample(START_SAMPLE)
    else:
        window.attention.set_text(text)
    if note:
        window.show_error("Model", note)
    return window


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    from app.attention_controller import TextFileError, read_text_file

    try:
        return read_text_file(path)
    except TextFileError as e:
        raise GuiError(str(e)) from None


def run(
    model: str | None = None,
    view: str | None = None,
    text_file: str | None = None,
    quit_after_ms: int | None = None,
) -> int:
    """Open the main window and run the event loop until it closes."""
    if QApplication.instance() is None:
        check_platform()
    app = application()
    window = build_window(model, QSettings(), text=_read(text_file))
    if view is not None:
        window.show_view(view)
    window.show()
    window.raise_()
    window.activateWindow()  # typing goes to the new window, even where no window manager gives focus
    if quit_after_ms is not None:
        QTimer.singleShot(quit_after_ms, window.close)
    return app.exec()


def screenshot(
    out: str | Path,
    view: str = "attention",
    text_file: str | None = None,
    model: str | None = None,
    size: tuple[int, int] = SCREENSHOT_SIZE,
) -> Path:
    """Render the window offscreen with ``view`` (and ``text_file``) to the PNG ``out``.

    Settings are neither read nor written, so the picture depends only on the arguments.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    text = _read(text_file)
    window = build_window(model, None, asynchronous=False, text=text if view == "attention" else None)
    controller: Any = window.controllers[view]
    if text is not None and view != "attention":
        controller.set_text(text)
    window.show_view(view)
    window.resize(*size)
    window.show()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # let layouts settle and workers finish
        app.processEvents()
        if controller.wait_idle(100):
            break
    app.processEvents()
    from app._png import png_bytes
    from engine import atomic

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(out, png_bytes(window.grab().toImage()))  # a failed write keeps the old file
    except OSError as e:
        raise GuiError(f"could not write {out}: {e}") from None
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return out
