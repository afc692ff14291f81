"""``--screenshot`` of a view that computes nothing with torch is drawn on the numpy preview of the
model (:mod:`engine.preview`) and never imports torch (``import torch`` alone takes about a second);
the window it draws says and shows what the torch model's window does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from app.explorers import EXPLORERS
from app.gui import build_window, needs_torch

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_VIEWS = [spec.name for spec in EXPLORERS if not spec.torch]

_PROBE = """
import json, sys
from PySide6.QtGui import QImage
from app.cli import main
out = {}
for view in sys.argv[2:]:
    png = f"{sys.argv[1]}/{view}.png"
    code = main(["--screenshot", png, "--view", view])
    image = QImage(png)
    out[view] = [code, image.width(), image.height(), "torch" in sys.modules]
print(json.dumps(out))
"""


def test_views_without_torch_are_screenshotted_without_importing_it(tmp_path: Path) -> None:
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path), *PREVIEW_VIEWS],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert set(result) == set(PREVIEW_VIEWS) and "attention" in result
    for view, (code, width, height, torch_loaded) in result.items():
        assert (code, width, height) == (0, 1366, 768), view
        assert not torch_loaded, f"--screenshot --view {view} imported torch"


def test_which_windows_need_torch() -> None:
    assert needs_torch("gru")  # the stepper traces with the torch model
    assert needs_torch("attention", "ig") and needs_torch("attention", "occlusion")
    assert not needs_torch("attention") and not needs_torch("attention", "word")
    assert not any(needs_torch(v) for v in PREVIEW_VIEWS)


def test_the_preview_window_shows_what_the_torch_window_shows(qapp: Any, shipped_bundle: Any) -> None:
    windows = [
        build_window(None, None, asynchronous=False, explorers="shown", preview_only=p) for p in (True, False)
    ]
    preview, torch_ = windows
    assert preview.context.bundle is None and preview.context.preview is not None
    assert torch_.context.bundle is not None
    assert preview.windowTitle() == torch_.windowTitle() and "shipped model" in preview.windowTitle()
    assert preview.statusBar().currentMessage() == torch_.statusBar().currentMessage()
    assert "test accuracy" in preview.statusBar().currentMessage()
    a, b = (w.attention for w in windows)
    assert a.view.message.text() == b.view.message.text() == ""
    assert a.display is not None and b.display is not None
    assert a.analysis is not None and b.analysis is not None
    assert (
        a.analysis.label == b.analysis.label
        and a.analysis.probabilities.keys() == b.analysis.probabilities.keys()
    )
    for k, p in a.analysis.probabilities.items():
        assert p == pytest.approx(b.analysis.probabilities[k], abs=1e-5)
    for field in ("word_start", "word_end", "word_sentence", "word_known", "sentence_start", "sentence_end"):
        np.testing.assert_array_equal(getattr(a.display, field), getattr(b.display, field))
    np.testing.assert_allclose(a.display.word_weight, b.display.word_weight, atol=1e-5)
    np.testing.assert_allclose(a.display.sentence_weight, b.display.sentence_weight, atol=1e-5)
    boxes = [[w.view.target_box.itemText(i) for i in range(w.view.target_box.count())] for w in (a, b)]
    assert boxes[0] == boxes[1] == ["predicted", "neg", "pos"]
    for w in windows:
        for c in w.controllers.values():
            c.shutdown()
        w.close()
