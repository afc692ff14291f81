"""What the engine's child processes share: training (:mod:`engine.train_process`) and dataset
scoring (:mod:`engine.corpus_process`) each run one generator in a child and stream its records back
through a pipe, ending with ``("error", exception)`` when it failed and always with ``("end", None)``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["child_context", "portable", "reporting", "settle", "start_server"]

# Imported once by the fork server, so that each child starts with torch and the engine loaded. One
# list for both kinds of child: the fork server is shared, and the first to start it fixes its list.
PRELOAD = ["engine.train", "engine.corpus_process"]


class _Sender(Protocol):
    def send(self, obj: Any) -> None: ...
    def close(self) -> None: ...


def child_context() -> ForkServerContext | SpawnContext:
    """Fork server where the OS has one (children start in milliseconds), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def start_server(nice: int) -> None:
    """Start the fork server now, if it is the start method and not running, at CPU priority lowered
    by ``nice``: it imports torch and the engine (seconds of CPU), which then takes no turn from the
    window on a machine with few cores; its children start from that priority (see :func:`settle`).

    Linux keeps a priority per thread and a process forked by a thread starts with that thread's: so
    the server is started from a short-lived thread that lowers its own. Elsewhere, or when ``nice``
    is 0, the server starts as it would anyway (with the first child)."""
    if not nice or not sys.platform.startswith("linux"):
        return
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return
    from multiprocessing import forkserver

    errors: list[BaseException] = []

    def run() -> None:
        try:
            os.nice(nice)  # this thread only
            forkserver.ensure_running()
        except BaseException as e:  # reported on the caller's thread
            errors.append(e)

    child_context()  # its preload list, before the server starts
    t = threading.Thread(target=run, name="han-explorer fork server start", daemon=True)
    t.start()
    t.join()
    if errors:
        raise errors[0]


def portable(e: Exception) -> Exception:
    """``e`` if it survives pickling (to cross the pipe), else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e


def settle(threads: int | None, nice: int) -> None:
    """In the child: ``threads`` torch threads (None: torch's default), and CPU priority ``nice``
    (the niceness, not an increment: a child of a fork server started by :func:`start_server` is
    there already) where the OS allows, so an interactive parent is scheduled first on a shared core."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if nice and hasattr(os, "nice"):
        now = os.nice(0)
        if nice > now:
            os.nice(nice - now)


@contextlib.contextmanager
def reporting(conn: _Sender) -> Iterator[None]:
    """Around a child's work: an exception goes to the parent as ``("error", e)`` (the child has no
    one else to tell), and ``("end", None)`` is always sent last, before the pipe is closed."""
    try:
        yield
    except Exception as e:
        with contextlib.suppress(OSError):  # the parent may be gone
            conn.send(("error", portable(e)))
    finally:
        with contextlib.suppress(OSError):
            conn.send(("end", None))
        conn.close()
