"""Pictures of the Attention explorer's explanations on the tricky review (resources/samples/
negations.txt): every shading mode, side by side, and a counterfactual edit with its pin, at
1366 x 768 and 1024 x 700, drawn by Qt's xcb platform on an Xvfb (offscreen where Xvfb is missing).

    python scripts/explain_screenshots.py [OUT_DIR]     (default docs/screenshots/explain)

Each picture is taken after every job is done, and the layout is checked for clipped widgets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((1366, 768), (1024, 700))
# name -> (mode, side-by-side mode or None, counterfactual: sentences left out)
SHOTS: dict[str, tuple[str, str | None, tuple[int, ...]]] = {
    "attention-product": ("product", None, ()),
    "attention-word": ("word", None, ()),
    "integrated-gradients": ("ig", None, ()),
    "leave-one-out": ("occlusion", None, ()),
    "side-by-side": ("product", "ig", ()),
    "edited-pinned": ("occlusion", None, (0, 1)),
}


def _xvfb() -> subprocess.Popen[bytes] | None:
    if shutil.which("Xvfb") is None:
        return None
    from app._platform import start_xvfb

    proc, display = start_xvfb(max(w for w, _ in SIZES), max(h for _, h in SIZES))
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def main(out_dir: str = "docs/screenshots/explain") -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    server = _xvfb()
    try:
        from PySide6.QtCore import QCoreApplication

        from app import gui
        from app._png import png_bytes
        from engine import atomic
        from resources import sample_texts
        from tests.realwindow._layout import layout_problems

        QCoreApplication.setOrganizationName("han-explorer-screenshots")  # not the user's settings
        app = gui.application()
        text = sample_texts()["negations"].read_text(encoding="utf-8")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        problems = 0
        for w, h in SIZES:
            for name, (mode, compare, removed) in SHOTS.items():
                window = gui.build_window(None, None, asynchronous=False)
                window.setGeometry(0, 0, w, h)
                window.show()
                c = window.attention
                c.view.set_mode(mode)  # type: ignore[arg-type]
                c.view.set_compare(compare)  # type: ignore[arg-type]
                c.set_text(text)
                for s in removed:
                    c.toggle_sentence(s)
                c.request_attributions()
                c.wait_idle(120_000)
                for _ in range(20):
                    app.processEvents()
                found = layout_problems(c.view, window)
                problems += len(found)
                path = out / f"{name}-{w}x{h}.png"
                atomic.write_bytes(path, png_bytes(window.grab().toImage()))
                print(
                    f"wrote {path} ({'xcb' if server else 'offscreen'}){'; layout: ' if found else ''}"
                    f"{'; '.join(found)}"
                )
                for ctl in window.controllers.values():
                    ctl.shutdown()
                window.close()
                window.deleteLater()
        return 1 if problems else 0
    finally:
        if server is not None:
            server.terminate()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
