"""Waiting, with the event loop running, for a controller's off-thread work (tests, screenshots)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtGui import QGuiApplication

__all__ = ["process_events_until"]


def process_events_until(done: Callable[[], bool], timeout_ms: int) -> bool:
    """Run the event loop until ``done()`` or ``timeout_ms`` passes; returns ``done()``."""
    deadline = time.monotonic() + timeout_ms / 1000
    app = QGuiApplication.instance()
    assert app is not None, "no QApplication"
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    return done()
