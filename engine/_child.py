"""What the engine's child processes share: training (:mod:`engine.train_process`) and dataset
scoring (:mod:`engine.corpus_process`) each run one generator in a child and stream its records back
through a pipe, ending with ``("error", exception)`` when it failed and always with ``("end", None)``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from multiprocessing.context import ForkServerContext, SpawnContext

__all__ = ["child_context", "portable", "reporting", "settle"]

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


def portable(e: Exception) -> Exception:
    """``e`` if it survives pickling (to cross the pipe), else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e


def settle(threads: int | None, nice: int) -> None:
    """In the child: ``threads`` torch threads (None: torch's default), and CPU priority lowered by
    ``nice`` where the OS allows, so an interactive parent is scheduled first on a shared core."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if nice and hasattr(os, "nice"):
        os.nice(nice)


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
