"""GUI fixtures: isolated QSettings, the shipped model loaded once, a main window per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture
def context(qapp: Any, shipped_bundle: Any) -> Any:
    from app.context import AppContext

    return AppContext(shipped_bundle, settings=None)


@pytest.fixture
def window(qtbot: Any, shipped_bundle: Any) -> Iterator[Any]:
    """The main window on the shipped model, asynchronous like the real app, with QSettings."""
    from PySide6.QtCore import QSettings

    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, QSettings()))
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    for c in w.controllers.values():
        c.shutdown()
