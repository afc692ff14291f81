"""Regenerate every picture the docs show (``make screenshots``): each explorer at 1366 x 768.

The Behaviour tab is shown after a run of the default suite on the shipped model (1366 x 768 and
1024 x 700). The Dataset tab is shown on a scored corpus (``--dataset``, default the IMDB test set;
its scores come from the app's cache, or ``--cache DIR``, and are computed first when missing), at
1366 x 768 and at 1024 x 700; any layout problem (tests/realwindow/_layout.py) is printed.

On an X server (an Xvfb this script starts when ``Xvfb`` is installed) the window is drawn by Qt's
xcb platform, as a user sees it; otherwise offscreen. Run from the repository root, so the status
bar shows the model's path relative to it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1366, 768)
SHOTS = {  # file name -> (view, text file or None)
    "attention.png": ("attention", None),
    "gru.png": ("gru", None),
    "training.png": ("training", None),
    "conv.png": ("conv", None),
}
DATASET_SHOTS = {"dataset.png": (1366, 768), "dataset-1024x700.png": (1024, 700)}
BEHAVIOUR_SHOTS = {"behaviour.png": (1366, 768), "behaviour-1024x700.png": (1024, 700)}
IMDB_TEST = ROOT.parent / "shared" / "data" / "aclimdb" / "test.jsonl.gz"


def _xvfb() -> subprocess.Popen[bytes] | None:
    """An Xvfb of the pictures' size, when Xvfb is installed; DISPLAY and the xcb platform set."""
    if shutil.which("Xvfb") is None:
        return None
    from app._platform import start_xvfb

    proc, display = start_xvfb(*SIZE)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def dataset_shots(out: Path, data: Path, cache: Path | None, platform: str) -> None:
    """The Dataset tab on ``data``: the misclassified reviews, most confident first (1366 x 768), and
    the whole table beside the folded side panes (1024 x 700)."""
    from PySide6.QtCore import Qt

    from app._png import png_bytes
    from app.gui import application, build_window
    from engine import atomic
    from tests.realwindow._layout import layout_problems

    out.mkdir(parents=True, exist_ok=True)
    app = application()
    window = build_window(None, None, asynchronous=True)
    c = window.controllers["dataset"]
    if cache is not None:
        c.cache_dir = cache
    window.show_view("dataset")
    window.resize(*SIZE)
    window.show()
    c.open_dataset(data)
    t0 = time.monotonic()
    while c.busy or c.result is None or not c.result.complete:
        app.processEvents()
        time.sleep(0.02)
    print(f"{len(c.result):,} reviews ready in {time.monotonic() - t0:.1f} s (cached: {c.result.cached})")
    for name, size in DATASET_SHOTS.items():
        c.clear_filters()
        if size == SIZE:
            c.view.misclassified.setChecked(True)
            c.view.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        else:
            c.view.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        window.resize(*size)
        for _ in range(30):  # let the layout settle (folding panes, pyqtgraph)
            app.processEvents()
            time.sleep(0.02)
        problems = layout_problems(window._pages["dataset"], window)
        print(f"{name}: {size[0]}x{size[1]}, layout problems: {problems or 'none'}")
        atomic.write_bytes(out / name, png_bytes(window.grab().toImage()))
        print(f"wrote {out / name} (dataset, {platform})")
    for controller in window.controllers.values():
        controller.shutdown()
    window.close()


def behaviour_shots(out: Path, platform: str) -> None:
    """The Behaviour tab after a run of the default suite on the shipped model, its worst cell
    selected (the verdict turns at 1024 x 700: their groups by number of sentences)."""
    from app._png import png_bytes
    from app.gui import application, build_window
    from engine import atomic
    from tests.realwindow._layout import layout_problems

    out.mkdir(parents=True, exist_ok=True)
    app = application()
    window = build_window(None, None, asynchronous=True)
    window.show_view("behaviour")
    window.resize(*SIZE)
    window.show()
    c = window.controllers["behaviour"]
    while c.context.bundle is None:  # the model loads in a worker
        app.processEvents()
        time.sleep(0.02)
    c.run()
    while c.busy or c.result is None:
        app.processEvents()
        time.sleep(0.02)
    print(f"suite scored in {c.result.seconds:.1f} s")
    for name, size in BEHAVIOUR_SHOTS.items():
        if size != SIZE:
            c.view.table.setCurrentCell(c.result.capabilities().index("verdict"), 0)
        window.resize(*size)
        for _ in range(30):
            app.processEvents()
            time.sleep(0.02)
        problems = layout_problems(window._pages["behaviour"], window)
        print(f"{name}: {size[0]}x{size[1]}, layout problems: {problems or 'none'}")
        atomic.write_bytes(out / name, png_bytes(window.grab().toImage()))
        print(f"wrote {out / name} (behaviour, {platform})")
    for controller in window.controllers.values():
        controller.shutdown()
    window.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", nargs="?", default="docs/screenshots")
    p.add_argument("--dataset", type=Path, default=IMDB_TEST, help="the dataset the Dataset tab shows")
    p.add_argument("--cache", type=Path, default=None, help="its scores' cache folder (default: the app's)")
    p.add_argument("--only", choices=["dataset", "behaviour"], default=None, help="only these pictures")
    a = p.parse_args(argv)
    os.chdir(ROOT)
    server = _xvfb()
    platform = "xcb" if server else "offscreen"
    try:
        from app.gui import screenshot

        out = Path(a.out_dir)
        if a.only is None:
            for name, (view, text) in SHOTS.items():
                path = screenshot(out / name, view, text, size=SIZE)
                print(f"wrote {path} ({view}, {platform})")
        if a.only in (None, "behaviour"):
            behaviour_shots(out, platform)
        if a.only in (None, "dataset"):
            if a.dataset.exists():
                dataset_shots(out, a.dataset, a.cache, platform)
            else:
                print(f"skipped the Dataset tab: no {a.dataset}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
