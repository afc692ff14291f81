"""Controller of the Attention explorer.

Wiring: the view's ``text_edited`` pokes a debouncer (superqt); when it fires, the text is scored by
:func:`engine.analyze.analyze_steps` through the job runner (:mod:`app.jobs`): a newer request stops
the running one at its next stage, and only the newest answer is shown, so the view never shows the
weights of text that is no longer there. A failed request clears "Scoring…" and says why. The
presenter (:mod:`app.present`) turns the ``Analysis`` into the arrays the view paints; exports
render the same ``Analysis`` and are written atomically (:mod:`engine.atomic`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage
from superqt.utils import QSignalDebouncer

from app._png import png_bytes
from app.colormaps import COLORMAPS, DEFAULT_COLORMAP
from app.context import LOADING
from app.jobs import Jobs
from app.present import attention_display, attention_json
from app.widgets import AttentionView
from engine.limits import MAX_TEXT_CHARS
from engine.textio import TextFileError, read_text_file

if TYPE_CHECKING:
    from app.context import AppContext
    from app.display import AttentionDisplay
    from engine.analyze import Analysis

__all__ = ["AttentionController", "TextFileError", "read_text_file"]

DEBOUNCE_MS = 20  # typing pauses longer than this start a computation (a newer one cancels it)


def _score(bundle: Any, text: str) -> Generator[str, None, tuple[Analysis, float]]:
    from engine.analyze import analyze_steps

    t0 = time.perf_counter()
    analysis = yield from analyze_steps(bundle, text)
    return analysis, time.perf_counter() - t0


class AttentionController(QObject):
    """Owns the attention view, its requests to the engine and the last analysis.

    Signals
    -------
    display_applied(int)
        The view now shows the analysis of request ``generation``.
    request_failed(int, str)
    """

    name = "attention"
    title = "Attention"
    display_applied = Signal(int)
    request_failed = Signal(int, str)

    def __init__(
        self, context: AppContext, view: AttentionView | None = None, asynchronous: bool = True
    ) -> None:
        super().__init__()
        self.context = context
        self.view = view or AttentionView()
        self.widget = self.view
        self.jobs = Jobs(asynchronous, self)
        self.analysis: Analysis | None = None
        self.display: AttentionDisplay | None = None
        self.applied_generation = 0
        self._edited = False  # typed text waits for the debouncer
        self._debounce = QSignalDebouncer(parent=self)
        self._debounce.setTimeout(DEBOUNCE_MS)
        self._debounce.triggered.connect(self._on_debounced)
        self._wire()
        self._restore()
        from resources import sample_texts

        self._samples = sample_texts()
        self.view.set_samples(list(self._samples))

    @property
    def asynchronous(self) -> bool:
        return self.jobs.asynchronous

    @property
    def generation(self) -> int:
        return self.jobs.generation("score")

    @property
    def dropped(self) -> int:
        return self.jobs.dropped

    def _wire(self) -> None:
        v = self.view
        v.text_edited.connect(self._on_text_edited)
        v.sample_requested.connect(self.load_sample)
        v.files_dropped.connect(lambda files: self.open_file(files[0]))
        v.mode_changed.connect(lambda m: self._save("attention/mode", m))
        v.colormap_changed.connect(lambda c: self._save("attention/colormap", c))
        v.mode_changed.connect(lambda _: v.set_mode(v.mode))  # restyle + legend
        v.colormap_changed.connect(lambda _: v.set_colormap(v.colormap))
        v.sentence_selected.connect(self.select_sentence)
        v.gru_requested.connect(self.step_through)
        self.context.model_changed.connect(lambda _: self.request())
        self.context.model_status_changed.connect(self._on_model_status)

    def _restore(self) -> None:
        s = self.context.settings
        mode = s.value("attention/mode", "product") if s is not None else "product"
        cmap = s.value("attention/colormap", DEFAULT_COLORMAP) if s is not None else DEFAULT_COLORMAP
        self.view.set_mode(mode if mode in ("word", "product") else "product")
        self.view.set_colormap(cmap if cmap in COLORMAPS else DEFAULT_COLORMAP)

    def _save(self, key: str, value: str) -> None:
        if self.context.settings is not None:
            self.context.settings.setValue(key, value)

    # -- text in ------------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        self.view.set_text(text)
        if not self.asynchronous:
            self.request()

    def load_sample(self, name: str) -> None:
        self.set_text(self._samples[name].read_text(encoding="utf-8"))

    def open_file(self, path: str | Path) -> bool:
        """Load a text file into the editor; a bad file keeps the current text and says why."""
        try:
            text = read_text_file(path)
        except TextFileError as e:
            self.view.set_message(str(e), error=True)
            return False
        self.set_text(text)
        self.view.set_message(f"Opened {Path(path).name}.")
        return True

    def _on_text_edited(self) -> None:
        self.jobs.invalidate("score")  # whatever is running now is stale
        if self.asynchronous:
            self._edited = True
            self._debounce.throttle()

    def _on_debounced(self) -> None:
        if self._edited:
            self.request()

    # -- requests -----------------------------------------------------------------------------------
    def request(self) -> None:
        """Score the current text with the current model (off-thread unless synchronous)."""
        self._edited = False
        text = self.view.text()
        self.context.review_text = text
        if not text.strip():
            self.jobs.cancel("score")
            self._apply_empty(self.generation)
            return
        if len(text) > MAX_TEXT_CHARS:
            self.jobs.cancel("score")
            self._fail(
                self.generation,
                f"The text has {len(text):,} characters; up to {MAX_TEXT_CHARS:,} can be scored.",
            )
            return
        if self.context.bundle is None:  # loading (scored on model_changed), or none could be loaded
            self.jobs.cancel("score")
            self.view.set_message(self.context.model_status, error=self.context.model_status != LOADING)
            return
        if self.asynchronous:
            self.view.set_message("Scoring…")
        self.jobs.submit(
            "score", _score, self.context.bundle, text, on_result=self._on_result, on_error=self._fail
        )

    def _on_model_status(self, _status: str) -> None:
        if self.context.bundle is None:
            self.request()

    def _on_result(self, gen: int, result: tuple[Analysis, float]) -> None:
        analysis, seconds = result
        self.analysis = analysis
        self.display = attention_display(analysis, seconds)
        self.view.set_display(self.display)
        self.view.set_message("")
        self.applied_generation = gen
        self.display_applied.emit(gen)

    def _apply_empty(self, gen: int) -> None:
        self.analysis = self.display = None
        self.view.set_display(None)
        self.view.set_message("")
        self.applied_generation = gen
        self.display_applied.emit(gen)

    def _fail(self, gen: int, message: str) -> None:
        self.analysis = self.display = None
        self.view.set_display(None)  # no weights of older text stay on screen
        self.view.set_message(message, error=True)
        self.request_failed.emit(gen, message)

    @property
    def busy(self) -> bool:
        return self._edited or self.jobs.busy or self.view.editor.shading_pending

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return self.jobs.wait_idle(timeout_ms, also=lambda: self.busy)

    # -- selection ----------------------------------------------------------------------------------
    def select_sentence(self, index: int) -> None:
        """Mark sentence ``index`` in this view only: focus, text and the other tabs stay as they are."""
        self.view.set_selected_sentence(index)

    def step_through(self, index: int) -> None:
        """The user asked to step through sentence ``index``: the GRU stepper opens it, in front."""
        d = self.display
        if d is None or not 0 <= index < d.n_sentences:
            return
        self.context.select_sentence(d.text[d.sentence_start[index] : d.sentence_end[index]])
        self.context.view_requested.emit("gru")

    # -- exports ------------------------------------------------------------------------------------
    def _scored(self) -> Analysis:
        if self.analysis is None:
            raise ValueError("nothing to export: there is no scored review")
        return self.analysis

    def export_json(self) -> dict[str, Any]:
        analysis = self._scored()  # a scored review implies a model
        path = self.context.model_path
        return attention_json(analysis, str(path) if path else None, self.view.mode, self.view.colormap)

    def export_html(self) -> str:
        from app.render import render_html

        return render_html(self._scored(), mode=self.view.mode, colormap=self.view.colormap)

    def export_image(self) -> QImage:
        return self.view.grab().toImage()

    def save(self, path: str | Path) -> Path:
        """Export by suffix (.html, .json or .png), written atomically: a failed write leaves the
        file that was there whole."""
        from engine import atomic

        p = Path(path)
        suffix = p.suffix.lower()
        if suffix in (".html", ".htm"):
            atomic.write_text(p, self.export_html())
        elif suffix == ".json":
            atomic.write_text(p, json.dumps(self.export_json(), ensure_ascii=False, indent=1) + "\n")
        elif suffix == ".png":
            atomic.write_bytes(p, png_bytes(self.export_image()))
        else:
            kind = suffix or "a file without a suffix"
            raise ValueError(f"cannot export as {kind}: use .html, .png or .json")
        return p

    def copy_html(self) -> None:
        mime = QMimeData()
        mime.setHtml(self.export_html())
        mime.setText(self.analysis.text if self.analysis else "")
        QGuiApplication.clipboard().setMimeData(mime)

    def copy_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.export_image())

    def shutdown(self) -> None:
        self._edited = False
        self._debounce.cancel()
        self.jobs.shutdown()
