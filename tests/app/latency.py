"""Event-loop latency for GUI tests: how long the GUI thread could not run, and whose fault it was."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer

__all__ = ["EventLoopLatency"]


class EventLoopLatency:
    """Ticks of a 10 ms QTimer: a gap between ticks is how long the event loop could not run.

    Each tick also reads the GUI thread's CPU time. A gap in which the thread computed for at least a
    fifth of it was (at least partly) the app's own work: those must stay under ``OURS_MS``. A gap in
    which it hardly computed was a wait: for the OS to schedule the thread (a shared 2-core box shows
    stalls of ~100 ms even in an idle Qt app), or a blocking call. Those are reported; there may be
    a few, each under ``WAIT_MS``, which a blocking call on the GUI thread (joining the training
    process, say) would exceed.
    """

    OURS_MS, WAIT_MS, WAITS = 100, 250, 2

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.thread_time())

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @property
    def gaps(self) -> np.ndarray:
        return np.diff(self.wall)

    def _computing(self) -> np.ndarray:
        return np.diff(self.cpu) >= 0.2 * self.gaps

    def ours(self) -> float:
        """The largest gap in which the GUI thread was computing (s)."""
        g = self.gaps[self._computing()]
        return float(g.max()) if g.size else 0.0

    def waits(self) -> np.ndarray:
        """Gaps of ``OURS_MS`` or more in which the GUI thread was not computing (s)."""
        g = self.gaps
        return g[(g >= self.OURS_MS / 1000) & ~self._computing()]

    def check(self, min_ticks: int = 100) -> None:
        assert self.gaps.size > min_ticks, self.report()
        assert self.ours() < self.OURS_MS / 1000, self.report()
        waits = self.waits()
        assert waits.size <= self.WAITS and (waits < self.WAIT_MS / 1000).all(), self.report()

    def report(self) -> str:
        g = self.gaps
        waits = [
            f"{x * 1000:.0f} ms at {self.wall[i] - self.wall[0]:.2f} s"
            for i, x in enumerate(g)
            if x >= self.OURS_MS / 1000 and not self._computing()[i]
        ]
        return (
            f"largest gap {g.max() * 1000:.1f} ms over {g.size} ticks of 10 ms; 99th percentile "
            f"{np.percentile(g, 99) * 1000:.1f} ms; largest gap with the GUI thread computing "
            f"{self.ours() * 1000:.1f} ms; waits of >= {self.OURS_MS} ms with it idle: {waits}"
        )
