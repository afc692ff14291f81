"""Driving the engine's step generators to the end, for callers that do not need to stop early.

Long engine calls are generators that yield progress (a stage name, a fraction) and *return* their
result, so a GUI worker can cancel between steps. A caller without a GUI drains them with
:func:`run_to_end` instead of a hand-written ``while True: next(gen)``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

__all__ = ["run_to_end"]

Y = TypeVar("Y")
R = TypeVar("R")


def run_to_end(gen: Generator[Y, None, R], on_yield: Callable[[Y], object] | None = None) -> R:
    """Run ``gen`` to its end and return its return value, calling ``on_yield`` with each yielded value.

    An exception raised by ``gen`` (or by ``on_yield``) propagates; in the latter case ``gen`` is
    closed first, so its ``finally`` blocks run at once rather than when it is collected.
    """
    try:
        while True:
            value = next(gen)
            if on_yield is not None:
                try:
                    on_yield(value)
                except BaseException:
                    gen.close()
                    raise
    except StopIteration as done:
        result: R = done.value
        return result
