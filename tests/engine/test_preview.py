"""engine.preview: the model in numpy (what the app shows before torch has loaded) against the
torch model, on the shipped model and on random small ones; the same refusals as load_bundle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import resources
from engine.analyze import analyze
from engine.bundle import ModelBundle, ModelError, load_bundle, save_bundle
from engine.preview import load_preview
from tests.engine.test_bundle import _bundle

# float32 through two GRUs, two softmaxes: numpy and torch round differently (BLAS sums in another
# order, their own exp/tanh); measured differences are ~1e-7, the tolerance leaves room.
TOL = 1e-5

REVIEWS = [
    "Great.",
    "I didn't expect much. The movie is not bad at all, and it was never boring! The acting isn't great.",
    "zorbflaxian quuxish blorp. Words the model never saw, then some it did: a dull, tedious plot.",
    " ".join(["The first half drags and the jokes fall flat."] * 3 + ["But the last act is superb!"]),
]


def _same(a: object, b: object) -> None:
    """Two analyses agree: label, spans and unknown flags exactly; numbers to TOL."""
    assert a.label == b.label and a.text == b.text  # type: ignore[attr-defined]
    for k, p in a.probabilities.items():  # type: ignore[attr-defined]
        assert p == pytest.approx(b.probabilities[k], abs=TOL)  # type: ignore[attr-defined]
    assert len(a.sentences) == len(b.sentences)  # type: ignore[attr-defined]
    for s, t in zip(a.sentences, b.sentences, strict=True):  # type: ignore[attr-defined]
        assert (s.text, s.start, s.end) == (t.text, t.start, t.end)
        assert s.weight == pytest.approx(t.weight, abs=TOL)
        assert [(w.text, w.start, w.end, w.known) for w in s.words] == [
            (w.text, w.start, w.end, w.known) for w in t.words
        ]
        np.testing.assert_allclose([w.weight for w in s.words], [w.weight for w in t.words], rtol=0, atol=TOL)


@pytest.mark.parametrize("text", REVIEWS)
def test_preview_of_the_shipped_model_equals_the_torch_model(shipped: ModelBundle, text: str) -> None:
    preview = load_preview(resources.model_dir())
    _same(preview.analyze(text), analyze(shipped, text))


def test_preview_of_a_long_review(shipped: ModelBundle) -> None:
    sample = resources.sample_texts()["negations"].read_text(encoding="utf-8")
    text = " ".join([sample] * 6)  # many sentences of many lengths
    _same(load_preview(resources.model_dir()).analyze(text), analyze(shipped, text))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_preview_of_random_models_equals_torch(tmp_path: Path, seed: int) -> None:
    """Random weights (not the trained ones, whose gates may sit in easy ranges), float16 and
    float32 embeddings, three classes: the numpy network is the torch network."""
    torch.manual_seed(seed)
    bundle = _bundle(word_hidden=5 + seed)
    with torch.no_grad():
        for p in bundle.model.parameters():
            p.mul_(3.0)  # saturating gates too
    directory = save_bundle(bundle, tmp_path / "m", embedding_dtype="float16" if seed % 2 else "float32")
    loaded = load_bundle(directory)
    preview = load_preview(directory)
    gen = np.random.default_rng(seed)
    for _ in range(5):
        words = [f"w{gen.integers(0, 198)}" for _ in range(gen.integers(1, 30))]
        text = " ".join(w + ("." if gen.random() < 0.2 else "") for w in words)
        _same(preview.analyze(text), analyze(loaded, text))


def test_preview_refuses_what_load_bundle_refuses(tmp_path: Path) -> None:
    directory = save_bundle(_bundle(), tmp_path / "m")
    data = (directory / "model.safetensors").read_bytes()
    (directory / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"corrupt model\.safetensors") as err:
        load_preview(directory)
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="not a model directory"):
        load_preview(tmp_path / "nothing")


def test_preview_refuses_non_finite_weights(tmp_path: Path) -> None:
    bundle = _bundle()
    with torch.no_grad():
        bundle.model.word_gru.weight_hh_l0[0, 0] = float("nan")
    directory = save_bundle(bundle, tmp_path / "m")
    with pytest.raises(ModelError, match=r"word_gru\.weight_hh_l0 holds NaN"):
        load_preview(directory)


def test_preview_reads_and_scores_without_torch() -> None:
    """The point of the preview: a fresh interpreter scores a review and torch is never imported."""
    code = (
        "import sys, resources\n"
        "from engine.preview import load_preview\n"
        "a = load_preview(resources.model_dir()).analyze('A fine, moving film.')\n"
        "assert a.label in ('neg', 'pos') and a.n_words == 6, a\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad[:3]\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
