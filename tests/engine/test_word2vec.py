"""Tests for engine.word2vec: output contract and that shared contexts give similar vectors."""

from __future__ import annotations

import math
import random

import torch

from engine.vocab import UNK_ID
from engine.word2vec import train_word2vec

TWIN_A, TWIN_B, LONER = 2, 3, 4
CONTEXT_1 = list(range(5, 15))  # the twins' neighbours
CONTEXT_2 = list(range(15, 25))  # the loner's neighbours
VOCAB = 25


def _corpus(n_sentences: int = 300, seed: int = 0) -> list[list[list[int]]]:
    """Documents where TWIN_A and TWIN_B always sit among CONTEXT_1 words, LONER among CONTEXT_2."""
    rng = random.Random(seed)
    docs = []
    for i in range(n_sentences):
        kind = i % 3
        context = CONTEXT_2 if kind == 2 else CONTEXT_1
        centre = (TWIN_A, TWIN_B, LONER)[kind]
        words = rng.sample(context, 4)
        docs.append([[*words[:2], centre, *words[2:]], [UNK_ID]])
    return docs


def _train(**kw: object) -> list[tuple[int, float, torch.Tensor | None]]:
    args: dict[str, object] = {
        "dim": 16,
        "epochs": 4,
        "window": 2,
        "negatives": 3,
        "batch_size": 256,
        "lr": 0.02,
        "subsample": 1.0,
        "seed": 0,
    }
    args.update(kw)
    return list(train_word2vec(_corpus(), VOCAB, **args))  # type: ignore[arg-type]


def test_yields_epoch_losses_then_vectors() -> None:
    out = _train(epochs=3)
    assert len(out) == 4
    assert [e for e, _, _ in out[:3]] == [1, 2, 3]
    assert all(v is None for _, _, v in out[:3])
    assert all(math.isfinite(loss) and loss > 0 for _, loss, _ in out)
    epoch, loss, vectors = out[-1]
    assert epoch == 3 and loss == out[2][1]
    assert isinstance(vectors, torch.Tensor)
    assert vectors.shape == (VOCAB, 16)
    assert vectors.dtype == torch.float32 and vectors.device.type == "cpu"
    assert out[2][1] < out[0][1]  # the loss goes down


def test_shared_contexts_give_close_vectors() -> None:
    vectors = _train()[-1][2]
    assert vectors is not None

    def cos(a: int, b: int) -> float:
        return float(torch.nn.functional.cosine_similarity(vectors[a], vectors[b], dim=0))

    assert cos(TWIN_A, TWIN_B) > cos(TWIN_A, LONER) + 0.2
    assert cos(TWIN_A, TWIN_B) > cos(TWIN_B, LONER) + 0.2


def test_reproducible_from_the_global_seed() -> None:
    torch.manual_seed(5)
    a = _train(epochs=1)[-1][2]
    torch.manual_seed(5)
    b = _train(epochs=1)[-1][2]
    assert a is not None and b is not None
    assert torch.equal(a, b)


def test_seed_argument_alone_determines_vectors() -> None:
    a = _train(epochs=1, seed=3)[-1][2]
    b = _train(epochs=1, seed=3)[-1][2]  # same seed, global RNG has moved on
    assert a is not None and b is not None
    assert torch.equal(a, b)
