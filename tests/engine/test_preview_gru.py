"""engine.preview_gru: the GRU stepper's trace in numpy (``--screenshot --view gru`` without torch)
against engine.gru's torch trace, on the shipped model and on random small ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import resources
from engine import gru, preview_gru
from engine.bundle import ModelBundle, load_bundle, save_bundle
from engine.gru_trace import GATES, TRACE_ARRAYS
from engine.preview import load_preview
from tests.engine.test_bundle import _bundle

TOL = 1e-5  # float32 in another summation order (tests/engine/test_preview.py); measured ~4e-6


def _same(a: gru.Prepared, b: preview_gru.PreviewPrepared) -> None:
    """Two prepared cells agree: tokens, keys, sentence exactly; inputs, attention, trace to TOL."""
    for f in ("text", "encoder", "direction", "sentence", "n_sentences", "tokens", "keys"):
        assert getattr(a, f) == getattr(b, f), f
    np.testing.assert_array_equal(a.known, b.known)
    np.testing.assert_allclose(a.inputs.numpy(), b.inputs, rtol=0, atol=TOL)
    np.testing.assert_allclose(a.attention, b.attention, rtol=0, atol=TOL)
    _same_trace(a.base, b.base)


def _same_trace(s: gru.Trace, t: gru.Trace) -> None:
    assert (s.tokens, s.direction, dict(s.offsets)) == (t.tokens, t.direction, dict(t.offsets))
    for k in TRACE_ARRAYS:
        x, y = getattr(s, k), getattr(t, k)
        assert x.dtype == y.dtype == np.float32 and not y.flags.writeable, k
        np.testing.assert_allclose(x, y, rtol=0, atol=TOL, err_msg=k)
    for g in GATES:
        for part in ("input", "b_i", "hidden", "b_h"):
            x, y = getattr(s.terms[g], part), getattr(t.terms[g], part)
            np.testing.assert_allclose(x, y, rtol=0, atol=TOL, err_msg=f"{g}.{part}")


@pytest.mark.parametrize("encoder", ["word", "sentence"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_the_numpy_trace_of_the_shipped_model_is_torchs(
    shipped: ModelBundle, encoder: str, direction: str
) -> None:
    preview = load_preview(resources.model_dir())
    text = resources.sample_texts()["mixed_feelings"].read_text(encoding="utf-8")
    for sentence in (0, 2, 4):
        a = gru.prepare(shipped, text, encoder, direction, sentence)
        b = preview_gru.prepare(preview, text, encoder, direction, sentence)
        _same(a, b)
        offsets = {"z": 1.5, "n": -0.5}  # what-if: traced again, with the offsets
        _same_trace(gru.retrace(a, offsets), preview_gru.retrace(b, offsets))
        assert preview_gru.retrace(b, {}) is b.base


@pytest.mark.parametrize("seed", [0, 1])
def test_the_numpy_trace_of_random_models_is_torchs(tmp_path: Path, seed: int) -> None:
    """Random, saturating weights and unknown words: the same cell, the same gates."""
    torch.manual_seed(seed)
    bundle = _bundle(word_hidden=5 + seed)
    with torch.no_grad():
        for p in bundle.model.parameters():
            p.mul_(3.0)
    directory = save_bundle(bundle, tmp_path / "m", embedding_dtype="float16" if seed else "float32")
    loaded, preview = load_bundle(directory), load_preview(directory)
    text = "W1 w2 w3 zorblax w4. W5 w6! W7 w8 w9 w10 w11 w12 w13 w14 w15"  # > max_words: cut the same way
    for encoder in ("word", "sentence"):
        for direction in ("forward", "backward"):
            _same(
                gru.prepare(loaded, text, encoder, direction, 1),
                preview_gru.prepare(preview, text, encoder, direction, 1),
            )


def test_the_numpy_prepare_refuses_what_torchs_refuses(shipped: ModelBundle) -> None:
    preview = load_preview(resources.model_dir())
    for args in (("A film.", "char"), ("A film.", "word", "upward"), ("A film. Two.", "word", "forward", 2)):
        with pytest.raises(ValueError) as torch_err:
            gru.prepare(shipped, *args)  # type: ignore[arg-type]
        with pytest.raises(ValueError) as numpy_err:
            preview_gru.prepare(preview, *args)  # type: ignore[arg-type]
        assert str(numpy_err.value) == str(torch_err.value)
    b = preview_gru.prepare(preview, "A film. Two.", "word", "forward", 9, clamp_sentence=True)
    assert b.sentence == 1


def test_the_numpy_trace_runs_without_torch() -> None:
    code = (
        "import sys, resources\n"
        "from engine.preview import load_preview\n"
        "from engine.preview_gru import prepare\n"
        "p = prepare(load_preview(resources.model_dir()), 'A fine, moving film. Too long.', 'sentence')\n"
        "assert len(p.base) == 2 and p.base.h.shape == (2, 100), p.base.h.shape\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad[:3]\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
