"""Run ``han-explorer`` (the desktop app) from the code in argv[1], timing what the user sees.

    python bench/_launch_probe.py CODE_DIR OUT.json        # run by bench_launch.py, on an X server

Used by :mod:`bench_launch` for today's code and an older commit alike, so it needs no hook in
the app: before the app starts, ``QApplication.exec`` is wrapped to install an event filter that
records (``time.time()``, to compare with the parent's clock taken just before it started this
process):

* ``expose``: the main window's first Expose event with the window exposed (the X server mapped
  it); the frame is painted while that event is handled;
* ``frame``: a zero-delay timer posted at that moment fires, so that frame has been painted and
  flushed to the X server (what the user sees);
* ``scored``: a 5 ms timer finds the Attention view showing its review's analysis with every word
  shaded (the controller has a display and nothing pending).

Then the times go to OUT.json and the process ends at once (no settings are saved).
"""

from __future__ import annotations

import json
import os
import sys
import time

T_START = time.time()
CODE, OUT = sys.argv[1], sys.argv[2]
sys.path.insert(0, CODE)
sys.argv = ["han-explorer", *sys.argv[3:]]

from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PySide6.QtGui import QWindow  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

times: dict[str, float] = {"probe_start": T_START}


def _finish() -> None:
    import app

    times["code"] = os.path.dirname(os.path.dirname(os.path.abspath(app.__file__)))  # type: ignore[assignment]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(times, f)
    os._exit(0)


class _Watch(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            "expose" not in times
            and event.type() == QEvent.Type.Expose
            and isinstance(obj, QWindow)
            and obj.isExposed()
            and obj.title().startswith("HAN Explorer")
        ):
            times["expose"] = time.time()
            QTimer.singleShot(0, lambda: times.setdefault("frame", time.time()))
        return False


def _poll() -> None:
    app = QApplication.instance()
    for w in app.topLevelWidgets() if app is not None else []:
        # not ``w.attention``: it builds the explorer where the window defers it to after the first frame
        c = getattr(w, "controllers", {}).get("attention")
        if c is not None and c.display is not None and not c.busy and "frame" in times:
            times["scored"] = time.time()
            _finish()


_exec = QApplication.exec
_watch = _Watch()
_timer = QTimer()


def _patched_exec(self: QApplication) -> int:
    self.installEventFilter(_watch)
    _timer.timeout.connect(_poll)
    _timer.start(5)
    QTimer.singleShot(120_000, _finish)  # never hang a benchmark
    return _exec()  # a static method in PySide6


QApplication.exec = _patched_exec  # type: ignore[method-assign]

from app.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
