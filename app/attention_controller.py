"""Controller of the Attention explorer.

Wiring: the view's ``text_edited`` restarts a short debounce timer; when it fires, the controller
builds a request (generation number, text, model) and runs :func:`engine.analyze.analyze_steps`
in a superqt generator worker. A newer request quits the running worker at its next stage and any
response whose generation is not the latest is dropped, so the view never shows weights of text
that is no longer there. Results become an :class:`AttentionDisplay` here; the view never sees the
engine. Exports render the same display (HTML through :mod:`app.render`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QMimeData, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage
from superqt.utils import create_worker

from app._idle import process_events_until
from app.colormaps import COLORMAPS, DEFAULT_COLORMAP
from app.widgets import AttentionDisplay, AttentionView
from engine.textio import TextFileError, read_text_file

if TYPE_CHECKING:
    from app.context import AppContext
    from engine.analyze import Analysis

__all__ = ["MAX_CHARS", "MAX_FILE_BYTES", "AttentionController", "TextFileError", "read_text_file"]

MAX_CHARS = 1_000_000         # ~170,000 words: far beyond any review, still scored in seconds
MAX_FILE_BYTES = 4 * MAX_CHARS
DEBOUNCE_MS = 20              # typing pauses longer than this start a computation (a newer one cancels it)


def to_display(analysis: Analysis, seconds: float = 0.0) -> AttentionDisplay:
    """Flatten an engine ``Analysis`` into the arrays the view draws."""
    words = [(w, i) for i, s in enumerate(analysis.sentences) for w in s.words]
    ss = analysis.sentences
    return AttentionDisplay(
        text=analysis.text,
        label=analysis.label,
        probabilities=tuple(analysis.probabilities.items()),
        word_start=np.array([w.start for w, _ in words], dtype=np.int64),
        word_end=np.array([w.end for w, _ in words], dtype=np.int64),
        word_weight=np.array([w.weight for w, _ in words], dtype=np.float64),
        word_sentence=np.array([i for _, i in words], dtype=np.int64),
        word_known=np.array([w.known for w, _ in words], dtype=bool),
        sentence_start=np.array([s.start for s in ss], dtype=np.int64),
        sentence_end=np.array([s.end for s in ss], dtype=np.int64),
        sentence_weight=np.array([s.weight for s in ss], dtype=np.float64),
        seconds=seconds,
    )


def _run(bundle: Any, text: str):  # a generator, for superqt's GeneratorWorker
    from engine.analyze import analyze_steps

    t0 = time.perf_counter()
    analysis = yield from analyze_steps(bundle, text)
    return analysis, time.perf_counter() - t0


class AttentionController(QObject):
    """Owns the attention view, the requests to the engine and the last analysis.

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

    def __init__(self, context: AppContext, view: AttentionView | None = None,
                 asynchronous: bool = True) -> None:
        super().__init__()
        self.context = context
        self.view = view or AttentionView()
        self.widget = self.view
        self.asynchronous = asynchronous  # False: compute inline (screenshots, some tests)
        self.analysis: Analysis | None = None
        self.display: AttentionDisplay | None = None
        self.generation = 0
        self.applied_generation = 0
        self.dropped = 0               # stale responses dropped (tests read it)
        self._worker: Any = None
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.request)
        self._wire()
        self._restore()
        from resources import sample_texts

        self._samples = sample_texts()
        self.view.set_samples(list(self._samples))

    def _wire(self) -> None:
        v = self.view
        v.text_edited.connect(self._on_text_edited)
        v.sample_requested.connect(self.load_sample)
        v.files_dropped.connect(lambda files: self.open_file(files[0]))
        v.mode_changed.connect(lambda m: self._save("attention/mode", m))
        v.colormap_changed.connect(lambda c: self._save("attention/colormap", c))
        v.mode_changed.connect(lambda _: v.set_mode(v.mode))          # restyle + legend
        v.colormap_changed.connect(lambda _: v.set_colormap(v.colormap))
        v.sentence_selected.connect(self.select_sentence)
        v.gru_requested.connect(self.step_through)
        self.context.model_changed.connect(lambda _: self.request())

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
        self.generation += 1               # whatever is running now is stale
        if self.asynchronous:
            self._timer.start()

    # -- requests -----------------------------------------------------------------------------------
    def request(self) -> None:
        """Score the current text with the current model (off-thread unless synchronous)."""
        self._timer.stop()
        self.generation += 1
        gen, text = self.generation, self.view.text()
        self.context.review_text = text
        if self._worker is not None:
            self._worker.quit()            # stops at the engine's next stage; its result is dropped
            self._worker = None
        if not text.strip():
            self._apply_empty(gen)
            return
        if len(text) > MAX_CHARS:
            self._fail(gen, f"The text has {len(text):,} characters; up to {MAX_CHARS:,} can be scored.")
            return
        if not self.asynchronous:
            gen_ = _run(self.context.bundle, text)
            try:
                while True:
                    next(gen_)
            except StopIteration as done:
                self._on_result(gen, done.value)
            except ValueError as e:
                self._fail(gen, str(e))
            return
        worker = create_worker(_run, self.context.bundle, text, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result, g=gen: self._on_result(g, result))
        worker.errored.connect(lambda e, g=gen: self._fail(g, str(e)))
        self._worker = worker
        self.view.set_message("Scoring…")
        worker.start()

    def _on_result(self, gen: int, result: tuple[Analysis, float]) -> None:
        if gen != self.generation or result is None:
            self.dropped += 1
            return
        self._worker = None
        analysis, seconds = result
        self.analysis = analysis
        self.display = to_display(analysis, seconds)
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
        if gen != self.generation:
            self.dropped += 1
            return
        self._worker = None
        self.analysis = self.display = None
        self.view.set_display(None)
        self.view.set_message(message, error=True)
        self.request_failed.emit(gen, message)

    @property
    def busy(self) -> bool:
        return self._timer.isActive() or self._worker is not None or self.view.editor.shading_pending

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    # -- selection ----------------------------------------------------------------------------------
    def select_sentence(self, index: int) -> None:
        """Mark sentence ``index`` in this view only: focus, text and the other tabs stay as they are."""
        self.view.set_selected_sentence(index)

    def step_through(self, index: int) -> None:
        """The user asked to step through sentence ``index``: the GRU stepper opens it, in front."""
        d = self.display
        if d is None or not 0 <= index < d.n_sentences:
            return
        self.context.select_sentence(d.text[d.sentence_start[index]:d.sentence_end[index]])
        self.context.view_requested.emit("gru")

    # -- exports ------------------------------------------------------------------------------------
    def export_json(self) -> dict[str, Any]:
        if self.analysis is None:
            raise ValueError("nothing to export: there is no scored review")
        bundle = self.context.bundle
        return {"model": str(bundle.path) if bundle.path else None, "text": self.analysis.text,
                "view": {"mode": self.view.mode, "colormap": self.view.colormap},
                **self.analysis.to_dict()}

    def export_html(self) -> str:
        from app.render import render_html

        if self.analysis is None:
            raise ValueError("nothing to export: there is no scored review")
        return render_html(self.analysis, mode=self.view.mode, colormap=self.view.colormap)

    def export_image(self) -> QImage:
        return self.view.grab().toImage()

    def save(self, path: str | Path) -> Path:
        """Export by suffix: .html, .json or .png."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix in (".html", ".htm"):
            p.write_text(self.export_html(), encoding="utf-8")
        elif suffix == ".json":
            data = json.dumps(self.export_json(), ensure_ascii=False, indent=1)
            p.write_text(data + "\n", encoding="utf-8")
        elif suffix == ".png":
            if not self.export_image().save(str(p), "PNG"):
                raise OSError(f"could not write {p}")
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
        self._timer.stop()
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
