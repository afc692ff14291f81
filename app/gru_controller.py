"""Controller of the GRU stepper.

Wiring: the view's sentence, encoder, direction, sentence number and what-if offsets make a
:class:`~app.present.TraceRequest`. Typing pokes a debouncer and the what-if sliders a throttler
(superqt). Work goes through the job runner (:mod:`app.jobs`) in two queued lanes, each running one
job at a time and keeping only the newest waiting one:

1. *trace* (tens of ms): :func:`engine.gru.prepare` tokenizes the text once and traces the trained
   cell; the prepared inputs are kept, so a what-if change only steps the cell again
   (:func:`engine.gru.retrace`).
2. *flow* (up to a second): :func:`engine.gru.prepared_flow`, the GRU against a plain tanh RNN,
   shown when it arrives.

The presenter (:mod:`app.present`) turns both into display values. Stepping and playing need no
engine call: the view does them on the display it holds. Nothing is traced before the view is first
shown, nor, in asynchronous mode, while it is hidden; it catches up when shown.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import QSignalDebouncer, QSignalThrottler

from app.context import LOADING, setting_number
from app.display import count
from app.jobs import Jobs
from app.present import TraceRequest, flow_job, has_flow, trace_job
from app.widgets import GRUView

if TYPE_CHECKING:
    from pathlib import Path

    from app.context import AppContext
    from app.display import FlowDisplay, GRUDisplay
    from engine.gru import Prepared
    from engine.preview_gru import PreviewPrepared

__all__ = ["GRUController"]

DEBOUNCE_MS = 250  # typing pauses longer than this re-trace
THROTTLE_MS = 40  # what-if sliders re-trace at most this often
DEFAULT_SAMPLE = "mixed_feelings"


class GRUController(QObject):
    """Owns the GRU stepper's view, its requests to the engine and the prepared inputs.

    Signals
    -------
    display_applied(int)
        The view now shows the trace of request ``generation``.
    flow_applied(int)
        The view now shows the gradient flow of request ``generation``.
    request_failed(int, str)
    """

    name = "gru"
    title = "GRU stepper"
    display_applied = Signal(int)
    flow_applied = Signal(int)
    request_failed = Signal(int, str)

    def __init__(self, context: AppContext, view: GRUView | None = None, asynchronous: bool = True) -> None:
        super().__init__()
        self.context = context
        self.view = view or GRUView()
        self.widget = self.view
        self.jobs = Jobs(asynchronous, self)
        self.display: GRUDisplay | None = None
        self.flow: FlowDisplay | None = None
        self.applied_generation = 0
        # the engine inputs of the last trace, reused by what-if runs
        self._prepared: Prepared | PreviewPrepared | None = None
        self._dirty = False  # a request waits until the view is shown
        self._typed = False  # typed text waits for the debouncer
        self._debounce = QSignalDebouncer(parent=self)
        self._debounce.setTimeout(DEBOUNCE_MS)
        self._debounce.triggered.connect(self._on_debounced)
        self._throttle = QSignalThrottler(parent=self)
        self._throttle.setTimeout(THROTTLE_MS)
        self._throttle.triggered.connect(self.request)
        self._wire()
        self._restore()
        self.view.set_text(context.selected_sentence or _default_text())
        self._dirty = True  # traced when the view is first shown, or by set_text

    @property
    def asynchronous(self) -> bool:
        return self.jobs.asynchronous

    @property
    def generation(self) -> int:
        return self.jobs.generation("trace")

    @property
    def dropped(self) -> int:
        return self.jobs.dropped

    def _wire(self) -> None:
        v = self.view
        v.text_edited.connect(self._on_text_edited)
        v.encoder_changed.connect(lambda e: self._on_choice("gru/encoder", e))
        v.direction_changed.connect(lambda d: self._on_choice("gru/direction", d))
        v.sentence_changed.connect(lambda _: self.request())
        v.offsets_changed.connect(self._on_offsets_changed)
        v.speed_changed.connect(lambda s: self._save("gru/speed", s))
        v.shown.connect(self._on_shown)
        self.context.sentence_selected.connect(self.open_sentence)
        self.context.model_changed.connect(self._on_model_changed)
        self.context.model_status_changed.connect(self._on_model_status)

    def _restore(self) -> None:
        s = self.context.settings
        if s is None:
            return
        self.view.set_encoder(str(s.value("gru/encoder", "word")))
        self.view.set_direction(str(s.value("gru/direction", "forward")))
        self.view.set_speed(setting_number(s.value("gru/speed"), 2.0))  # a hand-edited file: 2.0

    def _save(self, key: str, value: Any) -> None:
        if self.context.settings is not None:
            self.context.settings.setValue(key, value)

    # -- text in ------------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Trace ``text`` (its first sentence for the word GRU)."""
        self.view.set_text(text)
        self.view.set_sentence(0)
        self.request()

    def open_sentence(self, text: str) -> None:
        """A sentence sent from the Attention view: step through its words."""
        self.view.set_encoder("word")
        self._save("gru/encoder", "word")
        self.set_text(text)

    def _on_text_edited(self) -> None:
        self.jobs.invalidate("trace")  # whatever is running now is stale
        if self.asynchronous:
            self._typed = True
            self._debounce.throttle()
        else:
            self.request()

    def _on_debounced(self) -> None:
        if self._typed:
            self.request()

    def _on_choice(self, key: str, value: str) -> None:
        self._save(key, value)
        self.request()

    def _on_offsets_changed(self) -> None:
        if self.asynchronous:
            self._throttle.throttle()  # at once, then at most every THROTTLE_MS while dragged
        else:
            self.request()

    def _on_model_changed(self, _bundle: Any) -> None:
        self._prepared = None
        self.request()

    def _on_model_status(self, _status: str) -> None:
        if self.context.bundle is None:
            self.request()

    def _on_shown(self) -> None:
        if self._dirty:
            self.request()

    # -- requests -----------------------------------------------------------------------------------
    def request(self) -> None:
        """Trace the view's text with its choices (off-thread unless synchronous)."""
        self._typed = False
        if self.asynchronous and not self.view.isVisible():
            self.jobs.invalidate("trace")
            self._dirty = True  # computed when the view is shown
            return
        self._dirty = False
        v = self.view
        req = TraceRequest(
            self.context.shown_model,  # None while loading; a window without torch: the numpy preview
            v.text(),
            v.encoder,
            v.direction,
            v.sentence,
            tuple(sorted(v.offsets.items())),
            self._prepared,
        )
        if not req.text.strip():
            self.jobs.cancel("trace")
            self.jobs.cancel("flow")
            self._apply(self.generation, None)
            self.view.set_message("Type a sentence to step through.")
            return
        if req.bundle is None:  # loading (traced on model_changed), or none could be loaded
            self.jobs.cancel("trace")
            self.jobs.cancel("flow")
            self._apply(self.generation, None)
            self.view.set_message(self.context.model_status, error=self.context.model_status != LOADING)
            return
        self.jobs.submit(
            "trace", trace_job, req, on_result=self._on_trace, on_error=self._fail, policy="queue"
        )

    def _on_trace(self, gen: int, result: tuple[Prepared | PreviewPrepared, GRUDisplay]) -> None:
        prepared, display = result
        self._prepared = prepared
        self._apply(gen, display)
        self.view.set_message(
            f"{count(display.n_steps, 'step')}, {count(display.hidden_size, 'unit')}; "
            f"traced in {display.seconds * 1000:.0f} ms."
        )
        if not has_flow(prepared):  # traced by the numpy preview (--screenshot): no autograd
            return
        self.jobs.submit(
            "flow",
            flow_job,
            prepared,
            tuple(sorted(display.offsets.items())),
            on_result=partial(self._on_flow, gen),
            on_error=self._fail_flow,
            policy="queue",
        )

    def _apply(self, gen: int, display: GRUDisplay | None) -> None:
        self.display, self.flow = display, None
        self.view.set_display(display)
        self.view.set_flow(None)
        self.applied_generation = gen
        self.display_applied.emit(gen)

    def _on_flow(self, gen: int, _flow_gen: int, flow: FlowDisplay) -> None:
        if gen != self.generation:  # the trace it belongs to was superseded meanwhile
            return
        self.flow = flow
        self.view.set_flow(flow)
        self.flow_applied.emit(gen)

    def _fail(self, gen: int, message: str) -> None:
        self._apply(gen, None)
        self.view.set_message(message, error=True)
        self.request_failed.emit(gen, message)

    def _fail_flow(self, _gen: int, message: str) -> None:
        self.view.set_message(f"Gradient flow: {message}", error=True)

    @property
    def busy(self) -> bool:
        return self._typed or self.jobs.busy

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return self.jobs.wait_idle(timeout_ms, also=lambda: self.busy)

    # -- exports (File → Export; app.explorers.Exportable) ------------------------------------------
    def export_formats(self) -> list[tuple[str, str]]:
        from app.exports import GRU_FORMATS

        return list(GRU_FORMATS)

    def save(self, path: str | Path) -> Path:
        from app.exports import save_gru

        return save_gru(self, path)

    def shutdown(self) -> None:
        self._typed = False  # running workers finish; their results are dropped
        self._debounce.cancel()
        self._throttle.cancel()
        self.jobs.shutdown()
        self.view.pause()


def _default_text() -> str:
    """What the stepper shows before anything is chosen: a shipped sample review."""
    from resources import sample_texts

    path = sample_texts().get(DEFAULT_SAMPLE)
    return path.read_text(encoding="utf-8").strip() if path is not None else ""
