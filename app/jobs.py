"""One runner for the explorers' off-thread work: generations, superseding, errors, busy.

Every engine call the GUI makes goes through :class:`Jobs`. A request is a *kind* ("trace", "run",
"stats"...) and a callable (a plain function or an engine generator that yields progress). The
runner gives each submission a generation number; only the newest submission of a kind may reach
the controller, so a view never shows the answer to a question that is no longer asked.

Two ways a newer submission treats the one running (``policy``):

- ``"supersede"`` (the default): the running job is asked to stop (``quit()``: a generator stops at
  its next ``yield``), its result is dropped, and the new one starts at once.
- ``"queue"``: the running job finishes (a cell being stepped cannot stop halfway), the new one
  waits, and a still newer one takes its place: a dragged slider never piles up threads.

Every exception a job raises, ``RuntimeError`` and ``MemoryError`` included, reaches ``on_error`` as
one line (superqt only *warns* about a ``RuntimeError`` ending a generator worker, so the job is
wrapped before superqt sees it). ``asynchronous=False`` runs each job inline, for tests and
screenshots; ``wait_idle`` runs the event loop until nothing is pending.

Modelled on ndv's ``_request_data``/``_on_data_response_ready`` and napari's layer slicer; the
threads are superqt's ``GeneratorWorker``.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal

from app._idle import process_events_until
from engine.steps import run_to_end

__all__ = ["Jobs", "error_message"]

Policy = Literal["supersede", "queue"]
_USER_ERRORS = (ValueError, OSError, MemoryError)  # their messages are written for the user


def error_message(e: BaseException, limit: int = 400) -> str:
    """One line for the user: the message's first line (engine messages are one line already).

    Unexpected exceptions (a bug) also print their traceback on stderr, for whoever reports it.
    """
    text = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
    if isinstance(e, MemoryError):
        text = "not enough memory for this request" + (f" ({text})" if text else "")
    elif not isinstance(e, _USER_ERRORS):
        traceback.print_exception(e, file=sys.stderr)
        text = f"unexpected error: {text or type(e).__name__}"
    elif not text:
        text = type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None


def _guarded(fn: Callable[..., Any], args: tuple[Any, ...]) -> Generator[Any, None, _Outcome]:
    """Run ``fn(*args)`` (a generator's yields passed on) and return its value or its exception."""
    try:
        result = fn(*args)
        if inspect.isgenerator(result):
            result = yield from result
        return _Outcome(value=result)
    except Exception as e:  # every one: the controller decides what the user sees
        return _Outcome(error=e)


@dataclass
class _Job:
    generation: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    on_result: Callable[[int, Any], None]
    on_error: Callable[[int, str], None] | None
    on_progress: Callable[[int, Any], None] | None


@dataclass
class _Lane:
    generation: int = 0
    running: tuple[int, Any] | None = None  # (generation, worker)
    waiting: _Job | None = None


class Jobs(QObject):
    """Runs a controller's requests off the GUI thread, newest first.

    Signals
    -------
    busy_changed(bool)
        Work started (True) or the last pending job ended (False).
    failed(str, int, str)
        A current job of ``kind`` (first) and ``generation`` raised; the one-line message (third).
    """

    busy_changed = Signal(bool)
    failed = Signal(str, int, str)

    def __init__(self, asynchronous: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.asynchronous = asynchronous
        self.dropped = 0  # results of stale generations that were not applied (tests read it)
        self._lanes: dict[str, _Lane] = {}
        self._closed = False
        self._was_busy = False

    # -- generations --------------------------------------------------------------------------------
    def _lane(self, kind: str) -> _Lane:
        return self._lanes.setdefault(kind, _Lane())

    def generation(self, kind: str) -> int:
        return self._lane(kind).generation

    def is_current(self, kind: str, generation: int) -> bool:
        return not self._closed and self._lane(kind).generation == generation

    def invalidate(self, kind: str) -> int:
        """Make whatever ``kind`` has running or waiting stale (the input changed); returns the new
        generation. The running job is not stopped: a newer submission will supersede it."""
        lane = self._lane(kind)
        lane.generation += 1
        lane.waiting = None
        return lane.generation

    # -- submitting ---------------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callable[[int, Any], None],
        on_error: Callable[[int, str], None] | None = None,
        on_progress: Callable[[int, Any], None] | None = None,
        policy: Policy = "supersede",
        inline: bool = False,
    ) -> int:
        """Run ``fn(*args)`` for ``kind``; returns its generation.

        ``on_result(generation, value)``, ``on_error(generation, message)`` and
        ``on_progress(generation, yielded)`` are called on the GUI thread, and only while the
        generation is the newest of its kind. ``inline``: run now on this thread (cheap work).
        """
        lane = self._lane(kind)
        lane.generation += 1
        job = _Job(lane.generation, fn, args, on_result, on_error, on_progress)
        if self._closed:
            return job.generation
        if inline or not self.asynchronous:
            self._stop(lane)
            self._run_inline(kind, job)
            return job.generation
        if lane.running is not None and policy == "queue":
            lane.waiting = job  # replaces an older waiting one
            self._notify()
            return job.generation
        self._stop(lane)
        self._start(kind, lane, job)
        return job.generation

    def cancel(self, kind: str) -> None:
        """Stop ``kind``'s running job at its next yield and forget the waiting one; no result arrives."""
        lane = self._lane(kind)
        lane.generation += 1
        lane.waiting = None
        self._stop(lane)
        self._notify()

    def _run_inline(self, kind: str, job: _Job) -> None:
        progress = None if job.on_progress is None else (lambda v: self._progress(kind, job, v))
        outcome = run_to_end(_guarded(job.fn, job.args), progress)
        self._finish(kind, job, outcome)

    def _start(self, kind: str, lane: _Lane, job: _Job) -> None:
        # imported with the first thread started, not with the module: importing superqt takes
        # ~0.17 s, and the main window (which holds a Jobs) must appear before that (app.gui.run)
        from superqt.utils import create_worker

        worker = create_worker(_guarded, job.fn, job.args, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(partial(self._progress, kind, job))
        worker.returned.connect(partial(self._finish, kind, job))
        worker.finished.connect(partial(self._ended, kind, job.generation))
        lane.running = (job.generation, worker)
        worker.start()
        self._notify()

    def _stop(self, lane: _Lane) -> None:
        if lane.running is not None:
            lane.running[1].quit()  # a generator stops at its next yield; its result is dropped
            lane.running = None

    # -- responses (GUI thread) ---------------------------------------------------------------------
    def _progress(self, kind: str, job: _Job, value: Any) -> None:
        if job.on_progress is not None and self.is_current(kind, job.generation):
            job.on_progress(job.generation, value)

    def _finish(self, kind: str, job: _Job, outcome: _Outcome) -> None:
        if not self.is_current(kind, job.generation):
            self.dropped += 1
            return
        if outcome.error is None:
            job.on_result(job.generation, outcome.value)
            return
        message = error_message(outcome.error)
        if job.on_error is not None:
            job.on_error(job.generation, message)
        self.failed.emit(kind, job.generation, message)

    def _ended(self, kind: str, generation: int) -> None:
        lane = self._lane(kind)
        if lane.running is not None and lane.running[0] == generation:
            lane.running = None
        if lane.running is None and lane.waiting is not None and not self._closed:
            job, lane.waiting = lane.waiting, None
            if job.generation == lane.generation:
                self._start(kind, lane, job)
        self._notify()

    # -- state --------------------------------------------------------------------------------------
    def worker(self, kind: str) -> Any:
        """The superqt worker running ``kind`` now, or None (tests watch it being told to stop)."""
        lane = self._lanes.get(kind)
        return lane.running[1] if lane is not None and lane.running is not None else None

    def busy_with(self, kind: str) -> bool:
        lane = self._lanes.get(kind)
        return lane is not None and (lane.running is not None or lane.waiting is not None)

    @property
    def busy(self) -> bool:
        return any(self.busy_with(k) for k in self._lanes)

    def _notify(self) -> None:
        busy = self.busy
        if busy != self._was_busy:
            self._was_busy = busy
            self.busy_changed.emit(busy)

    def wait_idle(self, timeout_ms: int = 10_000, also: Callable[[], bool] | None = None) -> bool:
        """Run the event loop until no job is pending (and ``also()`` is false), or the timeout."""
        return process_events_until(lambda: not self.busy and not (also and also()), timeout_ms)

    def shutdown(self) -> None:
        """Stop everything; results still on their way are dropped."""
        self._closed = True
        for lane in self._lanes.values():
            lane.generation += 1
            lane.waiting = None
            self._stop(lane)
        self._notify()
