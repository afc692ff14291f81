"""Regenerate every picture the docs show (``make screenshots``): each explorer at 1366 x 768.

On an X server (an Xvfb this script starts when ``Xvfb`` is installed) the window is drawn by Qt's
xcb platform, as a user sees it; otherwise offscreen. Run from the repository root, so the status
bar shows the model's path relative to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1366, 768)
SHOTS = {  # file name -> (view, text file or None)
    "attention.png": ("attention", None),
    "gru.png": ("gru", None),
    "training.png": ("training", None),
    "conv.png": ("conv", None),
}


def _xvfb() -> subprocess.Popen[bytes] | None:
    """An Xvfb of the pictures' size, when Xvfb is installed; DISPLAY and the xcb platform set."""
    if shutil.which("Xvfb") is None:
        return None
    from app._platform import start_xvfb

    proc, display = start_xvfb(*SIZE)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def main(out_dir: str = "docs/screenshots") -> int:
    os.chdir(ROOT)
    server = _xvfb()
    try:
        from app.gui import screenshot

        out = Path(out_dir)
        for name, (view, text) in SHOTS.items():
            path = screenshot(out / name, view, text, size=SIZE)
            print(f"wrote {path} ({view}, {'xcb' if server else 'offscreen'})")
    finally:
        if server is not None:
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
