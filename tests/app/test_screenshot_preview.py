"""``--screenshot`` of any view is drawn on the numpy preview of the model (:mod:`engine.preview`,
:mod:`engine.preview_gru`) and never imports torch (``import torch`` alone takes about a second);
only attributions (``--mode ig``/``occlusion``) need it. The window it draws says and shows what
the torch model's window does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

from app.display import ATTRIBUTION_MODES, MODES
from app.explorers import EXPLORERS, explorer_names
from app.gui import TORCH_MODES, build_window, needs_torch

ROOT = Path(__file__).resolve().parents[2]
PREVIEW_VIEWS = explorer_names()

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
    assert set(result) == {spec.name for spec in EXPLORERS} and {"attention", "gru"} <= set(result)
    for view, (code, width, height, torch_loaded) in result.items():
        assert (code, width, height) == (0, 1366, 768), view
        assert not torch_loaded, f"--screenshot --view {view} imported torch"


def test_only_attributions_need_torch() -> None:
    assert TORCH_MODES == ATTRIBUTION_MODES  # gui keeps its own copy: deciding must not import numpy
    for mode in MODES:
        assert needs_torch("attention", mode) == (mode in ATTRIBUTION_MODES)
    assert not needs_torch("attention") and not any(needs_torch(v) for v in PREVIEW_VIEWS)


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
    for w in windows:  # the GRU stepper: traced in numpy on the preview, with torch on the bundle
        w.show_view("gru")
        w.controllers["gru"].request()
    g, h = (w.controllers["gru"] for w in windows)
    assert g.display is not None and h.display is not None
    assert g.display.tokens == h.display.tokens and g.display.keys == h.display.keys
    for k in ("z", "r", "n", "h", "h_prev", "attention"):
        np.testing.assert_allclose(getattr(g.display, k), getattr(h.display, k), rtol=0, atol=1e-5, err_msg=k)
    assert g.display.suggested_units == h.display.suggested_units
    assert g.flow is None and h.flow is not None  # the gradient flow needs autograd: torch's only
    for w in windows:
        for c in w.controllers.values():
            c.shutdown()
        w.close()
