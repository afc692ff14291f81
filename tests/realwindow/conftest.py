"""The real-window lane: an X server (Xvfb), Qt's xcb platform, real clicks and keys (xdotool).

Run by ``make test`` as a second pytest (``HAN_REALWINDOW=1``): a QApplication's platform is fixed
for the life of the process, and the main lane's is ``offscreen``. Without Xvfb and xdotool the
lane is skipped with the command that installs them, unless ``HAN_REQUIRE_REALWINDOW=1`` (CI),
where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app._platform import start_xvfb

SCREEN = (1920, 1200)  # in-process tests size the window; the screen only has to hold it
INSTALL = "bash scripts/install-system-deps.sh --test"
_servers: list[subprocess.Popen[bytes]] = []


def missing_tools() -> list[str]:
    return [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]


def pytest_configure(config: pytest.Config) -> None:
    if missing_tools():
        return
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    proc, display = start_xvfb(*SCREEN)
    _servers.append(proc)
    os.environ["DISPLAY"] = display


def pytest_unconfigure(config: pytest.Config) -> None:
    for proc in _servers:
        proc.terminate()
        proc.wait(10)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = missing_tools()
    if not missing:
        return
    if os.environ.get("HAN_REQUIRE_REALWINDOW") == "1":
        raise pytest.UsageError(f"the real-window lane needs {', '.join(missing)}: {INSTALL}")
    skip = pytest.mark.skip(reason=f"no {', '.join(missing)} here ({INSTALL})")
    for item in items:
        item.add_marker(skip)


@pytest.fixture
def xdo() -> Any:
    """Run xdotool on the lane's display (real X input events)."""

    def run(*args: str) -> str:
        r = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30, check=True)
        return r.stdout

    return run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh HOME and config folder: a first launch, with no saved settings."""
    (tmp_path / "config").mkdir()
    return tmp_path


@pytest.fixture
def big_window(qtbot: Any, shipped_bundle: Any) -> Iterator[Any]:
    """The main window on the shipped model, synchronous, no settings, shown on the X server."""
    from app.context import AppContext
    from app.main_window import MainWindow

    w = MainWindow(AppContext(shipped_bundle, None), asynchronous=False)
    qtbot.addWidget(w)
    w.attention.load_sample("mixed_feelings")
    w.show()
    qtbot.waitExposed(w)
    yield w
    for c in w.controllers.values():
        c.shutdown()
