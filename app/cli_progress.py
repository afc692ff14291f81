"""Progress for ``han-explorer train`` on a terminal: what it waits for, and for how long.

Preparing data (tokenizing, the vocabulary) is one blocking call in the engine, so a ticking line
says what is being prepared and the seconds so far; word2vec gets a bar of its epochs, training a
bar of its steps. Nothing of this goes to a pipe or appears with ``--quiet``: there, only the
messages are printed, one line each, to standard error. Standard library and tqdm only.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["Progress", "start_ticker", "wants_bars"]

_W2V = re.compile(r"word2vec epoch (\d+)/(\d+): loss ([0-9.]+)")


def wants_bars(quiet: bool, stream: TextIO | None = None) -> bool:
    """Bars only on a terminal, never with ``--quiet``."""
    stream = stream or sys.stderr
    return not quiet and stream.isatty()


class Progress:
    """Shows the records of a training run (see the module docstring)."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bars = wants_bars(quiet, self.stream)
        self._ticker: _Ticker | None = None
        self._w2v: Any = None
        self._steps: Any = None

    def _tqdm(self, **kw: Any) -> Any:
        from tqdm import tqdm

        return tqdm(file=self.stream, dynamic_ncols=True, **kw)

    def line(self, text: str, out: TextIO | None = None) -> None:
        """A message line (to the progress stream, or ``out``), printed above any bar."""
        out = out or self.stream
        if self._steps is not None:
            self._steps.write(text, file=out)
        else:
            self._stop_ticker()
            print(text, file=out, flush=True)

    def setup(self, message: str, total_steps: int | None = None) -> None:
        m = _W2V.fullmatch(message)
        if m and self.bars:
            self._stop_ticker()
            epoch, epochs, loss = int(m.group(1)), int(m.group(2)), m.group(3)
            if self._w2v is None:
                self._w2v = self._tqdm(total=epochs, desc="word2vec", unit="epoch")
            self._w2v.set_postfix(loss=loss, refresh=False)
            self._w2v.update(epoch - self._w2v.n)
            return
        self._close_w2v()
        self.line(message)
        if total_steps:
            self._stop_ticker()
            if self.bars and self._steps is None:
                self._steps = self._tqdm(total=total_steps, unit="step")
        elif self.bars and message.startswith("tokenizing"):
            self._ticker = _Ticker(self._tqdm, "preparing (tokenizing, vocabulary, embedding)")

    def step(self, postfix: dict[str, Any]) -> None:
        if self._steps is not None:
            self._steps.update(1)
            self._steps.set_postfix(refresh=False, **postfix)

    def _close_w2v(self) -> None:
        if self._w2v is not None:
            self._w2v.close()
            self._w2v = None

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def close(self) -> None:
        self._stop_ticker()
        self._close_w2v()
        if self._steps is not None:
            self._steps.close()
            self._steps = None


class _Ticker:
    """A line that counts seconds while the engine works in one blocking call."""

    def __init__(self, make: Any, what: str) -> None:
        self.bar = make(total=None, desc=what, bar_format="{desc}: {elapsed}")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.5):
            self.bar.refresh()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        self.bar.close()


@contextlib.contextmanager
def start_ticker(what: str, stream: TextIO | None = None) -> Iterator[None]:
    """Count seconds on ``stream`` (standard error) while the ``with`` body runs."""
    from tqdm import tqdm

    ticker = _Ticker(lambda **kw: tqdm(file=stream or sys.stderr, dynamic_ncols=True, **kw), what)
    try:
        yield
    finally:
        ticker.stop()
