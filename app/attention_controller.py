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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage
from superqt.utils import QSignalDebouncer

from app._export import Composed, encode_image, export_suffix
from app.colormaps import COLORMAPS, DEFAULT_COLORMAP
from app.context import LOADING
from app.display import ATTENTION_MODES, ATTRIBUTION_MODES, MODES
from app.jobs import Jobs
from app.present import (
    Edit,
    Explained,
    attention_display,
    attention_json,
    attribution_values,
    explain_job,
    pin_text,
    preview_job,
    score_job,
)
from app.provenance import provenance
from app.widgets import AttentionView
from engine.limits import MAX_TEXT_CHARS
from engine.textio import TextFileError, read_text_file

if TYPE_CHECKING:
    from app.context import AppContext
    from app.display import AttentionDisplay
    from engine.analyze import Analysis

__all__ = ["AttentionController", "TextFileError", "read_text_file"]

# Pauses longer than this start a computation (a newer one cancels it). Keys come ~100 ms apart, so it
# only merges bursts (a paste, a key held down).
DEBOUNCE_MS = 10
IG_STEPS = 50  # integrated gradients: points on the path from the padding baseline
EXPORT_FORMATS = (
    (".html", "HTML page"),
    (".png", "PNG image of the whole review"),
    (".svg", "SVG image of the whole review"),
    (".jpg", "JPEG image of the whole review"),
    (".json", "JSON, all weights"),
)
_METHOD_TITLES = {"ig": "Integrated gradients", "occlusion": "Leave one out"}


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
        self.edit = Edit()  # counterfactual: what the model does not read (the text is untouched)
        self.explained: dict[str, Explained] = {}  # attributions of self.analysis, by method
        self.pinned: tuple[str, dict[str, float], str] | None = None  # label, probabilities, what
        self._seconds = 0.0
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
        v.mode_changed.connect(lambda _: self.request_attributions())
        v.compare_changed.connect(self._on_compare_changed)
        v.target_changed.connect(lambda _: self._apply_attributions())
        v.word_toggled.connect(self.toggle_word)
        v.sentence_toggled.connect(self.toggle_sentence)
        v.restore_requested.connect(self.restore_all)
        v.pin_requested.connect(self.pin)
        v.unpin_requested.connect(self.unpin)
        self.context.model_changed.connect(lambda _: self._on_model_changed())
        self.context.model_status_changed.connect(self._on_model_status)
        self.context.preview_changed.connect(lambda: self._on_model_status(""))

    def _restore(self) -> None:
        s = self.context.settings
        mode = s.value("attention/mode", "product") if s is not None else "product"
        cmap = s.value("attention/colormap", DEFAULT_COLORMAP) if s is not None else DEFAULT_COLORMAP
        self.view.set_mode(mode if mode in MODES else "product")
        self.view.set_colormap(cmap if cmap in COLORMAPS else DEFAULT_COLORMAP)
        compare = s.value("attention/compare", "") if s is not None else ""
        self.view.set_compare(compare if compare in MODES else None)
        if self.context.shown_model is not None:
            self.view.set_targets(list(self.context.shown_model.label_names))

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
        self.jobs.cancel("explain")
        if self.edit:  # its indices name words of the text as it was
            self.edit = Edit()
            self.view.set_message("The text changed: the words left out are back.")
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
            if self.context.preview is not None and not self.edit:  # the model in numpy, meanwhile
                self.jobs.cancel("explain")
                self.jobs.submit(
                    "score",
                    preview_job,
                    self.context.preview,
                    text,
                    on_result=self._on_result,
                    on_error=self._on_score_failed,
                )
                return
            self.jobs.cancel("score")
            self.view.set_message(self.context.model_status, error=self.context.model_status != LOADING)
            return
        if self.asynchronous:
            self.view.set_message("Scoring…")
        self.jobs.cancel("explain")
        self.jobs.submit(
            "score",
            score_job,
            self.context.bundle,
            text,
            self.edit,
            on_result=self._on_result,
            on_error=self._on_score_failed,
        )

    def _on_model_status(self, _status: str) -> None:
        if self.context.bundle is None:
            self.request()

    def _on_result(self, gen: int, result: tuple[Analysis, float]) -> None:
        analysis, self._seconds = result
        self.analysis = analysis
        self.explained = {}
        self.display = attention_display(analysis, self._seconds, self.edit)
        self.view.set_display(self.display)
        self.view.set_message("")  # while the numpy preview scores, the status bar says the model loads
        self._show_pin()
        self.applied_generation = gen
        self.display_applied.emit(gen)
        self.request_attributions()  # after the prediction is on screen: it never waits for them

    def _on_score_failed(self, gen: int, message: str) -> None:
        if self.edit and self.analysis is not None and self.view.editor.is_fresh:
            # An edit the model cannot read (every word left out): undo it, keep what is shown.
            self.edit = self._undo_edit
            self.view.set_message(f"Cannot score that edit: {message}", error=True)
            return
        self._fail(gen, message)

    # -- counterfactual edits -----------------------------------------------------------------------
    _undo_edit = Edit()

    def _word_address(self, i: int) -> tuple[int, int] | None:
        d = self.display
        if d is None or not 0 <= i < d.n_words:
            return None
        s = int(d.word_sentence[i])
        return s, i - d.words_of(s).start

    def toggle_word(self, index: int) -> None:
        """Leave display word ``index`` out of what the model reads, or bring it back."""
        address = self._word_address(index)
        if address is not None:
            self._set_edit(self.edit.sentences, self.edit.words ^ {address})

    def toggle_sentence(self, index: int) -> None:
        """Leave sentence ``index`` out, or bring it back (its own left-out words stay out)."""
        d = self.display
        if d is not None and 0 <= index < d.n_sentences:
            self._set_edit(self.edit.sentences ^ {index}, self.edit.words)

    def restore_all(self) -> None:
        if self.edit:
            self._set_edit(frozenset(), frozenset())

    def _set_edit(self, sentences: frozenset[int], words: frozenset[tuple[int, int]]) -> None:
        if self.analysis is None or self.display is None or not self.view.editor.is_fresh:
            return
        if self.context.bundle is None:  # the numpy preview scores the whole text only
            self.view.set_message("Leaving words out needs the model, which is still loading.")
            return
        if self.pinned is None and not self.edit:
            self.pin("original")  # the first edit keeps the original result beside the edited ones
        self._undo_edit = self.edit
        self.edit = Edit(frozenset(sentences), frozenset(words))
        self.request()

    # -- pin ----------------------------------------------------------------------------------------
    def pin(self, what: str | None = None) -> None:
        """Keep the current result beside the next ones, with each class's change in probability."""
        if self.analysis is None:
            self.view.set_pinned(None)
            return
        if what is None:
            w, s = self.display.n_removed if self.display is not None else (0, 0)
            what = "edited" if w or s else "original"
        self.pinned = (self.analysis.label, dict(self.analysis.probabilities), what)
        self._show_pin()

    def unpin(self) -> None:
        self.pinned = None
        self._show_pin()

    def _show_pin(self) -> None:
        if self.pinned is None or self.analysis is None:
            self.view.set_pinned(None)
        else:
            self.view.set_pinned(pin_text(self.pinned, self.analysis.probabilities))

    # -- attributions -------------------------------------------------------------------------------
    def needed_methods(self) -> list[str]:
        """The attribution methods the view shows now (its mode, and side by side its other pane)."""
        modes = [self.view.mode, self.view.compare_mode]
        return [m for m in ATTRIBUTION_MODES if m in modes]

    def request_attributions(self) -> None:
        """Compute the attributions the view shows and does not have yet, off the GUI thread."""
        missing = [m for m in self.needed_methods() if m not in self.explained]
        if missing and self.analysis is not None and self.context.bundle is None:  # the numpy preview
            self.view.set_explain_status("Attributions follow once the model has loaded.")
            return
        if self.analysis is None or not missing:
            if not self.needed_methods():
                self.view.set_explain_status("")
            return
        analysis = self.analysis
        titles = ", ".join(_METHOD_TITLES[m].lower() for m in missing)
        self.view.set_explain_status(f"Computing {titles}…")
        self.jobs.submit(
            "explain",
            explain_job,
            self.context.bundle,
            analysis,
            missing,
            self.edit,
            IG_STEPS,
            on_result=lambda gen, res: self._on_explained(analysis, res),
            on_error=lambda gen, msg: self.view.set_explain_status(f"Attribution failed: {msg}", True),
            on_progress=self._on_explain_progress,
        )

    def _on_explain_progress(self, gen: int, value: tuple[str, float]) -> None:
        method, fraction = value
        self.view.set_explain_status(f"{_METHOD_TITLES[method]}: {fraction:.0%}…")

    def _on_explained(self, analysis: Analysis, result: dict[str, Explained]) -> None:
        if analysis is not self.analysis:
            return  # the review was scored again since: these belong to an older text
        self.explained.update(result)
        times = "; ".join(f"{_METHOD_TITLES[m]} in {e.seconds:.2f} s" for m, e in result.items())
        self.view.set_explain_status(times + ".")
        self._apply_attributions()

    @property
    def target(self) -> str:
        """The class attributions explain: the view's choice, else the predicted class."""
        t = self.view.target
        return t if t else (self.analysis.label if self.analysis is not None else "")

    def _apply_attributions(self) -> None:
        if self.analysis is None or self.display is None:
            return
        target = self.target
        values = {m: attribution_values(self.analysis, e, target) for m, e in self.explained.items()}
        self.display = attention_display(self.analysis, self._seconds, self.edit, values)
        self.view.set_display(self.display)

    def _on_compare_changed(self) -> None:
        mode = self.view.compare_mode
        self._save("attention/compare", mode or "")
        self.request_attributions()

    def _on_model_changed(self) -> None:
        if self.context.shown_model is not None:
            self.view.set_targets(list(self.context.shown_model.label_names))
        self.edit = Edit()
        self.pinned = None
        self.request()

    def _apply_empty(self, gen: int) -> None:
        self.explained = {}
        self.edit = Edit()
        self.analysis = self.display = None
        self.view.set_display(None)
        self.view.set_message("")
        self.applied_generation = gen
        self.display_applied.emit(gen)

    def _fail(self, gen: int, message: str) -> None:
        self.explained = {}
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
        return attention_json(
            analysis,
            str(path) if path else None,
            self.view.mode,
            self.view.colormap,
            self.explained,
            self.target,
            self.edit,
        )

    def export_html(self) -> str:
        """The page of what the view shows: attention shading, or in an attribution mode (or side
        by side with one) the signed attributions computed so far, on the same diverging colours.
        It ends with the model and program that made it (:mod:`app.provenance`)."""
        analysis = self._scored()
        stamp = provenance(self.context.bundle)
        shown = [m for m in self.needed_methods() if m in self.explained]
        if shown:
            from app.render_explain import render_explain_html
            from engine.explain import AGREEMENT_MEANINGS

            target = self.target
            return render_explain_html(
                analysis,
                {m: self.explained[m].attribution for m in shown},
                {m: self.explained[m].agreement[target] for m in shown},
                target,
                AGREEMENT_MEANINGS,
                provenance=stamp,
            )
        from app.render import render_html

        mode = self.view.mode if self.view.mode in ATTENTION_MODES else "product"
        return render_html(analysis, mode=mode, colormap=self.view.colormap, provenance=stamp)

    def export_image(self) -> QImage:
        """The whole review as the view shades it (not the viewport), under the prediction and
        the model and program that made it."""
        return self._composed().image()

    def _composed(self) -> Composed:
        """The header (prediction, colour map, model, program) over each pane the view shows: one,
        or side by side two, each titled with its mode."""
        analysis = self._scored()
        p = analysis.probabilities.get(analysis.label, 0.0)
        modes = [self.view.mode, self.view.compare_mode]
        if all(m is None or m in ATTRIBUTION_MODES for m in modes):  # signed scores: one diverging map
            head = f"{analysis.label} (probability {p:.4f})"
        else:
            head = f"{analysis.label} (probability {p:.4f}) · colour map {self.view.colormap}"
        panes = [(self.view.editor, MODES.get(self.view.mode, self.view.mode))]
        compare = self.view.compare_mode
        if compare is not None:
            panes.append((self.view.mirror, MODES.get(compare, compare)))
        width = 900 if len(panes) == 1 else 1400
        lines = [head, *provenance(self.context.bundle).lines()]
        return Composed(lines, panes, width, legend=self.view.legend_image())

    def export_formats(self) -> list[tuple[str, str]]:
        return list(EXPORT_FORMATS)

    def save(self, path: str | Path) -> Path:
        """Export by suffix (:data:`EXPORT_FORMATS`), written atomically: a failed write leaves the
        file that was there whole."""
        from engine import atomic

        p = Path(path)
        suffix = export_suffix(p, EXPORT_FORMATS)
        if suffix == ".html":
            atomic.write_text(p, self.export_html())
        elif suffix == ".json":
            data = self.export_json() | {"provenance": provenance(self.context.bundle).to_dict()}
            atomic.write_text(p, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        elif suffix == ".svg":
            stamp = provenance(self.context.bundle)
            svg = self._composed().svg("HAN Explorer: attention", "\n".join(stamp.lines()))
            atomic.write_bytes(p, svg)
        else:
            atomic.write_bytes(p, encode_image(self.export_image(), suffix))
        return p

    def copy_html(self) -> None:
        mime = QMimeData()
        mime.setHtml(self.export_html())
        mime.setText(self.analysis.text if self.analysis else "")
        QGuiApplication.clipboard().setMimeData(mime)

    def copy_image(self) -> None:
        image = self.export_image() if self.analysis is not None else self.view.grab().toImage()
        QGuiApplication.clipboard().setImage(image)

    # -- the review of last time --------------------------------------------------------------------
    def saved_text(self) -> str | None:
        """The review shown when the app last closed (None: none, or not one the app can score)."""
        s = self.context.settings
        text = s.value("attention/text", "") if s is not None else ""
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            return None
        return text

    def _save_text(self) -> None:
        """Kept on closing (not as one types: a long review would be written at every pause)."""
        s = self.context.settings
        if s is not None:
            text = self.view.text()
            s.setValue("attention/text", text if len(text) <= MAX_TEXT_CHARS else "")
            s.sync()  # the window synced its own settings before the explorers shut down

    def shutdown(self) -> None:
        self._save_text()
        self._edited = False
        self.jobs.cancel("explain")
        self._debounce.cancel()
        self.jobs.shutdown()
