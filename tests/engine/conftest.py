"""Shared fixtures for the engine tests: seeding, one CPU thread, toy training settings."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.bundle import ModelBundle, load_bundle
from engine.train import Progress, TrainConfig, train

# ``tests`` is a package at the repository root (tests/toy_data.py); pytest only puts tests/engine on
# sys.path while collecting, so make ``from tests.toy_data import ...`` work in test modules.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Every test starts from the same random state."""
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    """Tiny models run far faster on one thread on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _toy_config(data: Path, out: Path, **overrides: Any) -> TrainConfig:
    """Toy training settings that reach dev accuracy 1.0 in a few epochs on ``write_toy`` data.

    Every setting that matters is spelled out, so changes of the library defaults do not change
    what the tests run.
    """
    settings: dict[str, Any] = {
        "data": str(data),
        "out": str(out),
        "format": "jsonl",
        "epochs": 3,
        "batch_size": 16,
        "lr": 0.01,
        "lr_schedule": "constant",
        "weight_decay": 0.0,
        "clip": 5.0,
        "dev_fraction": 0.1,
        "patience": 100,
        "seed": 13,
        "device": "cpu",
        "min_count": 1,
        "max_vocab": 1000,
        "word_quantile": 0.95,
        "sentence_quantile": 0.95,
        "embed_dim": 32,
        "word_hidden": 16,
        "sentence_hidden": 16,
        "dropout": 0.0,
        "embed_dropout": 0.0,
        "word2vec_epochs": 0,
        "freeze_embedding_epochs": 0,
        "embedding_dtype": "float32",
        "checkpoint_every": 0,
        "resume": False,
        "limit": None,
        "workers": 1,
        "cache_dir": None,
        "command": "test",
    }
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="session")
def toy_config() -> Callable[..., TrainConfig]:
    """``toy_config(data, out, **overrides)`` -> a small, fully specified :class:`TrainConfig`."""
    return _toy_config


def _cut_and_resume(data: Path, root: Path, **settings: Any) -> tuple[list[Progress], list[Progress]]:
    """Train 2 epochs straight, and again cut at step 15 (checkpoint at 13) then resumed: both runs'
    records. On 120 toy rows with extra documents, epoch 2 runs steps 12-22."""
    straight = list(train(_toy_config(data, root / "straight", epochs=2, **settings)))
    gen = train(_toy_config(data, root / "cut", epochs=2, checkpoint_every=13, **settings))
    for rec in gen:
        if rec.kind == "step" and rec.step == 15:
            break
    gen.close()
    resumed = list(train(_toy_config(data, root / "cut", epochs=2, resume=True, **settings)))
    return straight, resumed


@pytest.fixture(scope="session")
def cut_and_resume() -> Callable[..., tuple[list[Progress], list[Progress]]]:
    """``cut_and_resume(data, root, **settings)`` -> (straight, resumed) records; see the function."""
    return _cut_and_resume


@pytest.fixture(scope="session")
def shipped() -> ModelBundle:
    """The model that ships in resources/model, loaded once."""
    import resources

    return load_bundle(resources.model_dir())
