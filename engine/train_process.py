"""Run :func:`engine.train.train` in a child process and read its records in this one.

A front end that must stay responsive (the desktop app) cannot train in one of its own threads: the
training thread holds the GIL for most of each step, and when the OS preempts it there, or a full
garbage collection runs, the GUI thread waits 100-300 ms. In a child process training shares no GIL
with it; a thread of the parent waits on a pipe, which does not hold the GIL either.

* :func:`train_to_pipe` is the child's target: it sends ``("record", Progress)`` for each record,
  ``("error", exception)`` on failure, and always ``("end", None)`` last. After each record it
  checks a stop event; once set, the generator is closed at that yield, the same cancel as closing
  it in-process, with the same guarantees (last checkpoint and best model intact).
* :class:`TrainingProcess` is the parent's side: ``records()`` starts the child and yields its
  records, re-raising its error; ``stop()`` asks it to stop at its next step; ``end()`` stops it
  and waits (terminating it after a timeout).

Children come from a fork server that has imported the engine once, so a run starts in
milliseconds after the first; where there is none, from spawn. Never from a plain fork of a parent
that runs Qt and torch threads.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

from engine._child import child_context, reporting, settle, start_server
from engine.train import Progress, TrainConfig, train

if TYPE_CHECKING:
    pass

__all__ = ["TrainingProcess", "train_to_pipe"]


class _Sender(Protocol):
    def send(self, obj: Any) -> None: ...
    def close(self) -> None: ...


class _Flag(Protocol):
    def is_set(self) -> bool: ...


def train_to_pipe(
    cfg: TrainConfig, probe: str | None, conn: _Sender, stop: _Flag, threads: int | None = None, nice: int = 0
) -> None:
    """Run :func:`train` here and send what it yields through ``conn`` (see the module docstring).

    ``threads``: torch threads for this process (None: torch's default). ``nice``: lower this
    process's CPU priority by that much (where the OS allows), so an interactive parent is
    scheduled first when they compete for a core.
    """
    with reporting(conn):
        settle(threads, nice)
        gen = train(cfg, probe)
        try:
            for rec in gen:
                conn.send(("record", rec))
                if stop.is_set():
                    break
        finally:
            gen.close()


class TrainingProcess:
    """One training run in a child process (see the module docstring)."""

    def __init__(
        self, cfg: TrainConfig, probe: str | None = None, threads: int | None = None, nice: int = 0
    ) -> None:
        self.cfg, self.probe, self.threads, self.nice = cfg, probe, threads, nice
        self.ctx = child_context()
        self.stop_event = self.ctx.Event()
        self.process: Any = None
        self._join_lock = threading.Lock()  # two joiners would race for the exit code

    def records(self) -> Generator[Progress, None, None]:
        """Start the child and yield its records until it ends; re-raise its error, if any.

        Starting may wait for the fork server to import the engine (seconds, the first time): call
        this off the GUI thread.
        """
        start_server(self.nice)  # at the child's priority, if this is the first child
        receiver, sender = self.ctx.Pipe(duplex=False)
        self.process = self.ctx.Process(
            target=train_to_pipe,
            name="han-explorer training",
            args=(self.cfg, self.probe, sender, self.stop_event, self.threads, self.nice),
        )
        self.process.start()
        sender.close()
        error: Exception | None = None
        try:
            while True:
                try:
                    kind, value = receiver.recv()
                except EOFError:
                    raise ChildProcessError("the training process ended unexpectedly") from None
                if kind == "record":
                    yield value
                elif kind == "error":
                    error = value  # raised once the child has said "end"
                else:
                    break
        finally:
            receiver.close()
        self.join(None)
        if error is not None:
            raise error

    def join(self, timeout_s: float | None) -> None:
        with self._join_lock:
            if self.process is not None and self.process.pid is not None:
                self.process.join(timeout_s)

    def stop(self) -> None:
        """Ask the child to stop at its next step (it then closes its generator and exits)."""
        self.stop_event.set()

    def end(self, timeout_s: float) -> None:
        """Stop the child and wait for it; terminate it if it has not stopped by then."""
        self.stop_event.set()
        self.join(timeout_s)
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.join(5)
