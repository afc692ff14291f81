"""Settings for every test: Qt renders offscreen (CI has no display), QSettings are isolated.

The real-window lane (``HAN_REALWINDOW=1``, tests/realwindow) runs in its own pytest process on
Qt's xcb platform and an Xvfb server; the main lane does not collect it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

if os.environ.get("HAN_REALWINDOW") == "1":
    collect_ignore: list[str] = []
else:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    collect_ignore = ["realwindow"]


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """QSettings and the app's data folder (training runs) are temporary, never the user's own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # the CLI tests also run where Qt is absent (a GPU machine)
        yield
        return

    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield


@pytest.fixture(scope="session")
def shipped_bundle() -> Any:
    from engine.bundle import load_bundle
    from resources import model_dir

    return load_bundle(model_dir())
