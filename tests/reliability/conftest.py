"""Fixtures for the reliability suite (helpers live in ``tests/reliability/helpers.py``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shipped() -> Any:
    import resources
    from engine.bundle import load_bundle

    return load_bundle(resources.model_dir())


@pytest.fixture
def toy_data(tmp_path: Path) -> Path:
    from tests.toy_data import write_toy

    return write_toy(tmp_path / "toy.jsonl", 120)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model folder saved by the engine (copy it before changing it)."""
    from engine.batching import LengthLimits
    from engine.bundle import ModelBundle, save_bundle
    from engine.model import HAN, HANConfig
    from engine.vocab import PAD, UNK, Vocab

    words = ("the", "film", "great", "awful", "was", "a")
    cfg = HANConfig(
        vocab_size=len(words) + 2,
        num_classes=2,
        embed_dim=8,
        word_hidden=4,
        sentence_hidden=4,
        word_attention_dim=8,
        sentence_attention_dim=8,
    )
    bundle = ModelBundle(
        HAN(cfg).eval(), Vocab((PAD, UNK, *words)), ("neg", "pos"), LengthLimits(10, 5), {"command": "test"}
    )
    return save_bundle(bundle, tmp_path_factory.mktemp("tiny") / "model")
