"""Controller of the GRU stepper.

Wiring: the view's sentence, encoder, direction and sentence number feed a request (generation
number, model, text, choices, what-if offsets). Typing restarts a short debounce timer; what-if
sliders are throttled. Work runs in two stages, each in its own superqt worker queue that runs one
job at a time and keeps only the newest waiting one:

1. *trace* (tens of ms): the HAN's attention on the text (``engine.analyze.analyze``) and the
   engine's GRU trace (``engine.gru.trace_text``, re-run with ``engine.gru.trace`` for bias
   offsets), converted here into a :class:`GRUDisplay`. The tokenized inputs and weights are kept,
   so a what-if re-run only steps the cell again.
2. *flow* (up to a second): ``engine.gru.gradient_flow`` for the GRU (with the offsets folded into
   its biases) against a plain tanh RNN, shown when it arrives.

A response whose generation is not the latest is dropped. Stepping and playing need no engine
call: the view does them on the display it holds. Nothing is traced before the view is first
shown, nor, in asynchronous mode, while it is hidden; it catches up when shown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app._idle import process_events_until
from app.display import FlowDisplay, GateTerms, GRUDisplay, count
from app.widgets import GRUView

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.context import AppContext

__all__ = ["FlowRequest", "GRUController", "Prepared", "TraceRequest", "compute_flow", "compute_trace"]

DEBOUNCE_MS = 250      # typing pauses longer than this re-trace
THROTTLE_MS = 40       # what-if sliders re-trace at most this often
DEFAULT_SAMPLE = "mixed_feelings"



# --------------------------------------------------------------------------------------------------
# Off the GUI thread: engine calls and their conversion into display data
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Prepared:
    """The engine's inputs for one (model, text, encoder, direction, sentence), kept for what-if runs.

    ``weights`` is an ``engine.gru.GRUWeights``, ``inputs`` a (T, I) tensor and ``base`` the
    ``engine.gru.Trace`` of the trained cell. ``tokens``, ``keys``, ``known`` and ``attention``
    are (T,) in text order.
    """

    key: tuple[Any, ...]
    weights: Any
    inputs: Any
    base: Any
    tokens: tuple[str, ...]
    keys: tuple[str, ...]
    known: np.ndarray
    attention: np.ndarray
    sentence: int
    n_sentences: int

    @property
    def encoder(self) -> str:
        return str(self.key[2])


@dataclass(frozen=True, eq=False)
class TraceRequest:
    generation: int
    bundle: Any
    text: str
    encoder: str
    direction: str
    sentence: int
    offsets: tuple[tuple[str, float], ...] = ()
    prepared: Prepared | None = None   # reused when its key matches

    @property
    def key(self) -> tuple[Any, ...]:
        return (id(self.bundle), self.text, self.encoder, self.direction, self.sentence)


@dataclass(frozen=True, eq=False)
class FlowRequest:
    generation: int
    prepared: Prepared
    offsets: tuple[tuple[str, float], ...] = ()


def _prepare(req: TraceRequest) -> Prepared:
    import torch

    from engine.analyze import analyze
    from engine.gru import GRUWeights, trace_text
    from engine.text import normalize

    analysis = analyze(req.bundle, req.text)           # InputError (a ValueError) for empty text
    n = len(analysis.sentences)
    sentence = min(max(req.sentence, 0), n - 1)
    base = trace_text(req.bundle, req.text, req.encoder, req.direction, sentence)
    model = req.bundle.model
    weights = GRUWeights.from_gru(model.word_gru if req.encoder == "word" else model.sentence_gru,
                                  0, req.direction)
    x = torch.from_numpy(np.array(base.x)).to(weights.W_ir.device)     # (T, I), stepped order
    inputs = x.flip(0) if req.direction == "backward" else x           # (T, I), text order
    if req.encoder == "word":
        items = analysis.sentences[sentence].words
        keys = tuple(normalize(w.text) if w.known else "<unk>" for w in items)
        known = np.array([w.known for w in items], dtype=bool)
    else:
        items = analysis.sentences
        keys, known = ("",) * n, np.ones(n, dtype=bool)
    return Prepared(req.key, weights, inputs, base, tuple(i.text for i in items), keys, known,
                    np.array([i.weight for i in items], dtype=np.float64), sentence, n)


def compute_trace(req: TraceRequest) -> tuple[Prepared, GRUDisplay]:
    """Trace ``req`` (reusing ``req.prepared`` when it fits) and convert it for the view."""
    from engine.gru import trace

    t0 = time.perf_counter()
    prep = req.prepared if req.prepared is not None and req.prepared.key == req.key else _prepare(req)
    offsets = {g: float(v) for g, v in req.offsets if v}
    tr = trace(prep.weights, prep.inputs, prep.tokens, bias_offsets=offsets) if offsets else prep.base
    return prep, to_display(req.text, prep, tr, offsets, time.perf_counter() - t0)


def to_display(text: str, prep: Prepared, tr: Any, offsets: dict[str, float], seconds: float) -> GRUDisplay:
    """An engine ``Trace`` (stepped order) and its weights as the arrays the view draws."""
    T = len(tr)
    order = np.arange(T)[::-1] if tr.direction == "backward" else np.arange(T)   # text index of each step
    w = {f.name: getattr(prep.weights, f.name).detach().cpu().double().numpy()
         for f in dataclasses.fields(prep.weights) if f.name.startswith(("W_", "b_"))}
    x, h_prev = tr.x.astype(np.float64), tr.h_prev.astype(np.float64)                # (T, I), (T, H)
    terms = {g: GateTerms(x @ w[f"W_i{g}"].T, w[f"b_i{g}"], h_prev @ w[f"W_h{g}"].T, w[f"b_h{g}"],
                          offsets.get(g, 0.0)) for g in ("r", "z", "n")}
    moved = np.abs(tr.h - tr.h_prev).sum(axis=0)                                      # (H,)
    return GRUDisplay(
        text=text, encoder=prep.encoder, direction=tr.direction,
        sentence=prep.sentence, n_sentences=prep.n_sentences, tokens=tuple(tr.tokens),
        keys=tuple(prep.keys[i] for i in order), known=prep.known[order], text_index=order,
        attention=prep.attention[order], z=tr.z, r=tr.r, n=tr.n, h=tr.h, h_prev=tr.h_prev, terms=terms,
        offsets=dict(offsets), suggested_units=tuple(int(u) for u in np.argsort(-moved, kind="stable")[:3]),
        seconds=seconds)


def compute_flow(req: FlowRequest) -> FlowDisplay:
    """``engine.gru.gradient_flow`` on the prepared inputs; offsets are folded into the input biases.

    Adding an offset to ``b_i*`` is exactly adding it to the gate's pre-activation, as
    ``engine.gru.step`` does with ``bias_offsets``.
    """
    from engine.gru import gradient_flow

    t0 = time.perf_counter()
    w, off = req.prepared.weights, dict(req.offsets)
    if any(off.values()):
        w = dataclasses.replace(w, b_ir=w.b_ir + off.get("r", 0.0), b_iz=w.b_iz + off.get("z", 0.0),
                                b_in=w.b_in + off.get("n", 0.0))
    flow = gradient_flow(w, req.prepared.inputs)
    return FlowDisplay(flow.gru, flow.rnn, off, time.perf_counter() - t0)


class _Queue:
    """Runs one job at a time in a superqt worker; a newer submission replaces a waiting one.

    Dragging a slider thus never piles up threads: at most one job runs and one waits.
    """

    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous
        self._worker: Any = None
        self._waiting: tuple[Any, ...] | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._waiting is not None

    def submit(self, fn: Callable[[Any], Any], arg: Any, done: Callable[[Any], None],
               failed: Callable[[BaseException], None]) -> None:
        if not self.asynchronous:
            try:
                result = fn(arg)
            except ValueError as e:
                failed(e)
            else:
                done(result)
            return
        if self._worker is not None:
            self._waiting = (fn, arg, done, failed)
            return
        self._start(fn, arg, done, failed)

    def _start(self, fn: Callable[[Any], Any], arg: Any, done: Callable[[Any], None],
               failed: Callable[[BaseException], None]) -> None:
        from superqt.utils import create_worker

        worker = create_worker(fn, arg, _start_thread=False)
        worker.returned.connect(done)
        worker.errored.connect(failed)
        worker.finished.connect(self._next)
        self._worker = worker
        worker.start()

    def _next(self) -> None:
        self._worker = None
        if self._waiting is not None:
            job, self._waiting = self._waiting, None
            self._start(*job)

    def clear(self) -> None:
        self._waiting = None


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
        self.asynchronous = asynchronous  # False: compute inline (screenshots, some tests)
        self.display: GRUDisplay | None = None
        self.flow: FlowDisplay | None = None
        self.generation = 0
        self.applied_generation = 0
        self.dropped = 0                  # stale responses dropped (tests read it)
        self._prepared: Any = None        # engine inputs of the last trace, reused by what-if re-runs
        self._dirty = False               # a request waits until the view is shown
        self._closed = False
        self._traces, self._flows = _Queue(asynchronous), _Queue(asynchronous)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.request)
        self._throttle = QTimer(self, singleShot=True, interval=THROTTLE_MS)
        self._throttle.timeout.connect(self._on_throttle)
        self._throttled = False
        self._wire()
        self._restore()
        self.view.set_text(context.selected_sentence or _default_text())
        self._dirty = True                # traced when the view is first shown, or by set_text

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

    def _restore(self) -> None:
        s = self.context.settings
        if s is None:
            return
        self.view.set_encoder(str(s.value("gru/encoder", "word")))
        self.view.set_direction(str(s.value("gru/direction", "forward")))
        with contextlib.suppress(TypeError, ValueError):  # a hand-edited settings file
            self.view.set_speed(float(s.value("gru/speed", 2.0)))

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
        self.generation += 1              # whatever is running now is stale
        if self.asynchronous:
            self._debounce.start()
        else:
            self.request()

    def _on_choice(self, key: str, value: str) -> None:
        self._save(key, value)
        self.request()

    def _on_offsets_changed(self) -> None:
        if not self.asynchronous:
            self.request()
        elif self._throttle.isActive():
            self._throttled = True        # one more run when the interval is over
        else:
            self.request()
            self._throttle.start()

    def _on_throttle(self) -> None:
        if self._throttled:
            self._throttled = False
            self.request()
            self._throttle.start()

    def _on_model_changed(self, _bundle: Any) -> None:
        self._prepared = None
        self.request()

    def _on_shown(self) -> None:
        if self._dirty:
            self.request()

    # -- requests -----------------------------------------------------------------------------------
    def request(self) -> None:
        """Trace the view's text with its choices (off-thread unless synchronous)."""
        self._debounce.stop()
        self.generation += 1
        if self.asynchronous and not self.view.isVisible():
            self._dirty = True            # computed when the view is shown
            return
        self._dirty = False
        v = self.view
        req = TraceRequest(self.generation, self.context.bundle, v.text(), v.encoder, v.direction,
                           v.sentence, tuple(sorted(v.offsets.items())), self._prepared)
        if not req.text.strip():
            self._apply(req.generation, None)
            self.view.set_message("Type a sentence to step through.")
            return
        self._traces.submit(compute_trace, req, lambda r, g=req.generation: self._on_trace(g, r),
                            lambda e, g=req.generation: self._fail(g, e))

    def _on_trace(self, gen: int, result: tuple[Any, GRUDisplay]) -> None:
        if self._closed or gen != self.generation:
            self.dropped += 1
            return
        prepared, display = result
        self._prepared = prepared
        self._apply(gen, display)
        self.view.set_message(f"{count(display.n_steps, 'step')}, {count(display.hidden_size, 'unit')}; "
                              f"traced in "
                              f"{display.seconds * 1000:.0f} ms.")
        req = FlowRequest(gen, prepared, tuple(sorted(display.offsets.items())))
        self._flows.clear()               # an older flow still waiting is stale now
        self._flows.submit(compute_flow, req, lambda r, g=gen: self._on_flow(g, r),
                           lambda e, g=gen: self._fail(g, e))

    def _apply(self, gen: int, display: GRUDisplay | None) -> None:
        self.display, self.flow = display, None
        self.view.set_display(display)
        self.view.set_flow(None)
        self.applied_generation = gen
        self.display_applied.emit(gen)

    def _on_flow(self, gen: int, flow: FlowDisplay) -> None:
        if self._closed or gen != self.generation:
            self.dropped += 1
            return
        self.flow = flow
        self.view.set_flow(flow)
        self.flow_applied.emit(gen)

    def _fail(self, gen: int, error: BaseException) -> None:
        if self._closed or gen != self.generation:
            self.dropped += 1
            return
        message = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        self._apply(gen, None)
        self.view.set_message(message, error=True)
        self.request_failed.emit(gen, message)

    @property
    def busy(self) -> bool:
        return (self._debounce.isActive() or self._throttled or self._traces.busy or self._flows.busy)

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no request is pending (tests, screenshots)."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self) -> None:
        self._closed = True               # running workers finish; their results are dropped
        self._debounce.stop()
        self._throttle.stop()
        self._throttled = False
        self._traces.clear()
        self._flows.clear()
        self.view.pause()


def _default_text() -> str:
    """What the stepper shows before anything is chosen: a shipped sample review."""
    from resources import sample_texts

    path = sample_texts().get(DEFAULT_SAMPLE)
    return path.read_text(encoding="utf-8").strip() if path is not None else ""
