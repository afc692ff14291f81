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
from app.main_window import Building, MainWindow

if TYPE_CHECKING:
    from engine.bundle import ModelBundle
    from engine.preview import Preview

__all__ = ["GuiError", "build_window", "has_display", "open_model", "run", "screenshot"]

ORGANIZATION, APPLICATION = "HAN Explorer", "han-explorer"
SCREENSHOT_SIZE = (1366, 768)  # a common laptop screen: what the docs show
START_SAMPLE = "mixed_feelings"
FIRST_FRAME_WAIT_MS = 2000  # a window not shown (or very slow to paint) still gets its model


SCREENSHOT_FORMATS = (".png", ".jpg", ".jpeg", ".svg")


def _picture(window: MainWindow, suffix: str) -> bytes:
    """The window as PNG or JPEG pixels, or as SVG (Qt paints the widgets into it: text stays text)."""
    from app._export import encode_image, painted_svg

    if suffix != ".svg":
        return encode_image(window.grab().toImage(), suffix)
    from PySide6.QtCore import QPoint

    from app.provenance import provenance

    stamp = provenance(window.context.shown_model)
    return painted_svg(
        window.size(), lambda p: window.render(p, QPoint()), "HAN Explorer", "\n".join(stamp.lines())
    )


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


def open_model(model: str | Path | None, last: str | None) -> tuple[ModelBundle, str]:
    """The model to start with: ``model``, else ``last`` (the last one used), else the shipped one.

    Returns ``(bundle, note)``; ``note`` says why ``last`` was passed over ("" when it was not).
    Runs in a worker at launch (it imports torch), so it touches no Qt object.
    """
    from engine.bundle import load_bundle
    from resources import model_dir

    if model is not None:
        return load_bundle(model), ""  # ModelError: the user asked for this one, it is not replaced
    if last:
        try:
            return load_bundle(last), ""
        except Exception as e:  # whatever a folder changed since does, the app still starts
            from app.jobs import error_message

            return load_bundle(model_dir()), f"{NOTE_LAST}({error_message(e)}); using the shipped one."
    return load_bundle(model_dir()), ""


NOTE_LAST = "The last model could not be opened "


def open_preview(model: str | Path | None, last: str | None) -> Preview:
    """The model :func:`open_model` will most likely load, read into numpy (no torch): ``model``,
    else ``last``, else the shipped one. Raises whatever reading it raises (the caller goes on)."""
    from engine.preview import load_preview
    from resources import model_dir

    return load_preview(model if model is not None else last or model_dir())


def build_window(
    model: str | Path | None = None,
    settings: QSettings | None = None,
    asynchronous: bool = True,
    text: str | None = None,
    explorers: Building = "all",
    preview_only: bool = False,
) -> MainWindow:
    """The main window on ``model`` (or the last/shipped one) showing ``text`` (or a sample).

    ``asynchronous``: the window is built at once and the model loads in a worker (torch is
    imported there); the explorers say "Loading the model…" until it arrives, and a model that
    cannot be loaded is reported in the window. Otherwise the model is loaded first (a bad
    ``model`` raises :class:`GuiError`) and every job runs inline (tests, ``--screenshot``).
    ``explorers``: when the explorers other than Attention are built (:class:`MainWindow`).
    ``preview_only`` (with ``asynchronous=False``): the model is read into numpy and torch is never
    imported (:func:`needs_torch` says where that shows the same window).
    """
    application()
    last = settings.value("model/path") if settings is not None and model is None else None
    last = str(last) if last else None
    if asynchronous:
        context = AppContext(None, settings)
        window = MainWindow(context, asynchronous=True, explorers=explorers)
        window.when_built("attention", lambda _: _show_text(window, text))  # "later": after 1st frame
        _load_after_first_frame(window, model, last, settings)
        return window
    from engine.model_files import ModelError

    try:
        if preview_only:
            bundle, note, preview = None, "", open_preview(model, last)
        else:
            (bundle, note), preview = open_model(model, last), None
    except ModelError as e:
        raise GuiError(str(e)) from None
    gc.collect()  # once, before the window freezes the heap (MainWindow: freeze_heap)
    context = AppContext(bundle, settings, preview=preview)
    window = MainWindow(context, asynchronous=False, explorers=explorers)
    _show_text(window, text)
    _noted(window, settings, note)
    return window


def _load_after_first_frame(
    window: MainWindow, model: str | Path | None, last: str | None, settings: QSettings | None
) -> None:
    """Start loading the model once the window's first frame is out (or after FIRST_FRAME_WAIT_MS,
    for a window not shown): importing torch in a worker holds the GIL for long stretches, and the
    first paint must not wait for it."""
    started = False

    def start() -> None:
        nonlocal started
        if not started:
            started = True
            window.context.open_preview(
                open_preview,
                model,
                last,
                then=lambda: window.context.open_first(
                    open_model, model, last, on_note=lambda note: _noted(window, settings, note)
                ),
            )

    window.first_frame.connect(start)
    QTimer.singleShot(FIRST_FRAME_WAIT_MS, window, start)


TORCH_MODES = ("ig", "occlusion")  # app.display.ATTRIBUTION_MODES (a test checks), without numpy


def needs_torch(view: str, mode: str | None = None) -> bool:
    """Whether a window showing ``view`` (the Attention view shaded by ``mode``) computes with the
    torch model: only attributions do (autograd); every view's first picture is drawn the same on
    the numpy preview of the model (engine.preview, engine.preview_gru)."""
    return view == "attention" and mode in TORCH_MODES


def _look(window: MainWindow, mode: str | None, colormap: str | None) -> None:
    """The Attention view's shading mode and colour map, as ``--mode`` and ``--colormap`` ask."""
    view = window.attention.view
    if mode is not None:
        view.set_mode(mode)  # type: ignore[arg-type]  # the CLI offers only the view's modes
    if colormap is not None:
        view.set_colormap(colormap)
    window.attention.request_attributions()  # an attribution mode computes its scores (inline here)


def _show_text(window: MainWindow, text: str | None) -> None:
    """``text`` (given on the command line), else the review of last time, else a sample."""
    if text is None:
        text = window.attention.saved_text()
    if text is None:
        window.attention.load_sample(START_SAMPLE)
    else:
        window.attention.set_text(text)


def _noted(window: MainWindow, settings: QSettings | None, note: str) -> None:
    if not note:
        return
    if settings is not None and note.startswith(NOTE_LAST):
        settings.remove("model/path")  # not tried again next time
    window.show_error("Model", note)


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
    if model is not None and not Path(model).is_dir():  # the rest is checked as the model loads
        raise GuiError(f"{model}: not a model folder (model.safetensors + model.json)")
    window = build_window(model, QSettings(), text=_read(text_file), explorers="later")
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
    mode: str | None = None,
    colormap: str | None = None,
) -> Path:
    """Render the window offscreen with ``view`` (and ``text_file``) to ``out``: PNG, JPEG or SVG by
    its suffix (:data:`SCREENSHOT_FORMATS`; another suffix is refused before any work).

    Settings are neither read nor written, so the picture depends only on the arguments.
    """
    suffix = Path(out).suffix.lower()
    if suffix not in SCREENSHOT_FORMATS:
        kind = f"a {suffix} file" if suffix else "a file without a suffix"
        raise GuiError(f"--screenshot cannot write {kind}: use {', '.join(SCREENSHOT_FORMATS)}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = application()
    text = _read(text_file)
    window = build_window(
        model,
        None,
        asynchronous=False,
        text=text if view == "attention" else None,
        explorers="shown",
        preview_only=not needs_torch(view, mode),
    )
    window.show_view(view)  # the only explorer built besides Attention
    _look(window, mode, colormap)
    controller: Any = window.controllers[view]
    if text is not None and view != "attention":
        controller.set_text(text)
    window.resize(*size)
    window.show()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # let layouts settle and workers finish
        app.processEvents()
        if controller.wait_idle(100):
            break
    app.processEvents()
    from engine import atomic

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(out, _picture(window, suffix))  # a failed write keeps the old file
    except OSError as e:
        raise GuiError(f"could not write {out}: {e}") from None
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return out
