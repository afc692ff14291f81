"""Run a callback-driven computation as a generator that yields between its pieces.

Captum's ``attribute`` runs all its internal batches in one call; its only window to the outside is
the forward function it calls once per batch. A GUI worker, though, needs a generator that yields
progress and stops when asked (``engine.steps``). :func:`in_lockstep` bridges the two: the work runs
in a helper thread, and each ``pause()`` it calls hands control back to the generator, which yields;
the work goes on only when the generator is resumed. Exactly one of the two threads runs at any
time, so the result is the one a plain call would give, bit for bit.

Closing the generator (or its being collected) makes the pending ``pause()`` raise
:class:`Cancelled` in the helper thread, which unwinds the work (Captum removes its hooks in
``finally``) before ``close()`` returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

__all__ = ["Cancelled", "in_lockstep"]

R = TypeVar("R")


class Cancelled(Exception):
    """Raised by ``pause()`` in the helper thread when the generator was closed."""


def in_lockstep(work: Callable[[Callable[[], None]], R], name: str = "lockstep") -> Generator[None, None, R]:
    """Run ``work(pause)`` in a helper thread; yield once for every ``pause()`` it calls.

    Returns ``work``'s return value; an exception ``work`` raises is raised here.
    """
    to_worker: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: go on; False: stop
    to_caller: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def pause() -> None:
        to_caller.put(("pause", None))
        if not to_worker.get():
            raise Cancelled

    def main() -> None:
        try:
            to_caller.put(("done", work(pause)))
        except BaseException as e:  # every one goes back to the caller's thread
            to_caller.put(("error", e))

    thread = threading.Thread(target=main, name=name, daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            kind, value = to_caller.get()
            if kind != "pause":
                finished = True
                if kind == "error":
                    raise value
                result: R = value
                return result
            yield
            to_worker.put(True)
    finally:
        if not finished:  # closed (or an error in the caller): stop the work and wait for it
            to_worker.put(False)
            while to_caller.get()[0] == "pause":
                to_worker.put(False)
        thread.join()
