"""Tests for engine.model: masked attention, padding invariance, the attention formula, learning."""

from __future__ import annotations

import random

import pytest
import torch
from torch.testing import assert_close

from engine.batching import collate
from engine.model import HAN, Attention, HANConfig, HANOutput
from engine.vocab import PAD_ID

VOCAB = 40


def _config(**kw: object) -> HANConfig:
    base: dict[str, object] = {
        "vocab_size": VOCAB,
        "num_classes": 3,
        "embed_dim": 16,
        "word_hidden": 8,
        "sentence_hidden": 8,
        "word_attention_dim": 12,
        "sentence_attention_dim": 10,
        "dropout": 0.5,
        "embed_dropout": 0.2,
    }
    base.update(kw)
    return HANConfig(**base)  # type: ignore[arg-type]


def _random_doc(rng: random.Random, max_sents: int = 4, max_words: int = 6) -> list[list[int]]:
    return [
        [rng.randrange(2, VOCAB) for _ in range(rng.randint(1, max_words))]
        for _ in range(rng.randint(1, max_sents))
    ]


@pytest.fixture
def model() -> HAN:
    return HAN(_config()).eval()


def test_output_shapes_and_masked_attention(model: HAN) -> None:
    docs = [[[5, 6, 7], [8]], [[9, 10, 11, 12, 13]], [[2], [3, 4], [5, 6, 7, 8], [9]]]
    ids, _ = collate(docs)
    B, S, W = ids.shape
    assert (B, S, W) == (3, 4, 5)
    with torch.no_grad():
        out = model(ids)
    assert isinstance(out, HANOutput)
    assert out.logits.shape == (B, 3)
    assert out.word_attention.shape == (B, S, W)
    assert out.sentence_attention.shape == (B, S)

    word_real = ids != PAD_ID
    sent_real = word_real.any(-1)
    for b in range(B):
        for s in range(S):
            row = out.word_attention[b, s]
            if sent_real[b, s]:
                n = int(word_real[b, s].sum())
                assert float(row[:n].sum()) == pytest.approx(1.0, abs=1e-6)
                assert bool((row[:n] > 0).all())
                assert bool((row[n:] == 0.0).all()), "padding tokens must get exactly zero weight"
            else:
                assert bool((row == 0.0).all()), "padded sentences must get exactly zero weight"
        s_row = out.sentence_attention[b]
        n_s = int(sent_real[b].sum())
        assert float(s_row[:n_s].sum()) == pytest.approx(1.0, abs=1e-6)
        assert bool((s_row[n_s:] == 0.0).all())


@pytest.mark.parametrize("seed", range(5))
def test_result_does_not_depend_on_batch_padding(model: HAN, seed: int) -> None:
    rng = random.Random(seed)
    doc = _random_doc(rng, max_sents=3, max_words=5)
    # companions with more sentences and longer sentences force padding around `doc`
    longer = [
        _random_doc(rng, max_sents=3, max_words=5) + [[rng.randrange(2, VOCAB) for _ in range(9)]] * 3
        for _ in range(3)
    ]
    position = rng.randrange(len(longer) + 1)
    batch = [*longer[:position], doc, *longer[position:]]
    alone_ids, _ = collate([doc])
    batch_ids, _ = collate(batch)
    _, S, W = alone_ids.shape
    assert batch_ids.shape[1] > S and batch_ids.shape[2] > W
    with torch.no_grad():
        alone = model(alone_ids)
        together = model(batch_ids)
    assert_close(together.logits[position], alone.logits[0], atol=1e-5, rtol=0)
    assert_close(together.word_attention[position, :S, :W], alone.word_attention[0], atol=1e-5, rtol=0)
    assert_close(together.sentence_attention[position, :S], alone.sentence_attention[0], atol=1e-5, rtol=0)
    assert bool((together.word_attention[position, S:] == 0).all())
    assert bool((together.word_attention[position, :, W:] == 0).all())
    assert bool((together.sentence_attention[position, S:] == 0).all())


def test_attention_matches_hand_computation() -> None:
    att = Attention(in_dim=6, att_dim=4)
    with torch.no_grad():
        att.proj.weight.normal_()
        att.proj.bias.normal_()
        att.context.normal_()
    h = torch.randn(3, 5, 6)
    lengths = [5, 2, 1]
    mask = torch.tensor([[t < n for t in range(5)] for n in lengths])
    pooled, weights = att(h, mask)

    W = att.proj.weight.detach().double()
    b = att.proj.bias.detach().double()
    u_w = att.context.detach().double()
    hd = h.double()
    exp_weights = torch.zeros(3, 5, dtype=torch.float64)
    exp_pooled = torch.zeros(3, 6, dtype=torch.float64)
    for i, n in enumerate(lengths):
        scores = [float(torch.tanh(W @ hd[i, t] + b) @ u_w) for t in range(n)]
        top = max(scores)
        exps = [torch.exp(torch.tensor(s - top, dtype=torch.float64)) for s in scores]
        total = sum(exps)
        for t in range(n):
            exp_weights[i, t] = exps[t] / total
            exp_pooled[i] += exp_weights[i, t] * hd[i, t]
    assert_close(weights.double(), exp_weights, atol=1e-6, rtol=1e-5)
    assert_close(pooled.double(), exp_pooled, atol=1e-6, rtol=1e-5)
    assert bool((weights[~mask] == 0.0).all())


def test_empty_first_sentence_raises(model: HAN) -> None:
    ids = torch.zeros(2, 2, 3, dtype=torch.long)
    ids[0, 0, :2] = torch.tensor([4, 5])
    ids[1, 1, :3] = torch.tensor([6, 7, 8])  # document 1: first sentence is all padding
    with pytest.raises(ValueError, match="first sentence"):
        model(ids)


def test_padding_embedding_gets_no_gradient() -> None:
    model = HAN(_config(dropout=0.0, embed_dropout=0.0))
    ids, _ = collate([[[3, 4, 5], [6]], [[7]]])
    model(ids).logits.sum().backward()
    grad = model.embedding.weight.grad
    assert grad is not None
    assert bool((grad[PAD_ID] == 0).all())
    assert bool((model.embedding.weight[PAD_ID] == 0).all())


def test_can_overfit_tiny_random_labels() -> None:
    rng = random.Random(1)
    docs = [_random_doc(rng, max_sents=3, max_words=5) for _ in range(8)]
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    ids, _ = collate(docs)
    model = HAN(_config(num_classes=2, dropout=0.0, embed_dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(100):
        loss = loss_fn(model(ids).logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(ids).logits.argmax(-1)
    assert pred.tolist() == labels.tolist()
    assert loss.item() < 0.1


def test_config_round_trip_and_unknown_fields() -> None:
    cfg = _config()
    assert HANConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model config fields"):
        HANConfig.from_dict({**cfg.to_dict(), "layers": 2})


@pytest.mark.parametrize(
    "sizes",
    [
        {},
        {"embed_dim": 7, "word_hidden": 3, "sentence_hidden": 5, "word_attention_dim": 2},
        {"word_hidden": 1, "sentence_hidden": 9, "sentence_attention_dim": 11},
    ],
)
def test_weight_shapes_are_those_of_the_built_model(sizes: dict[str, int]) -> None:
    """Validation checks files against weight_shapes without building a HAN: it must agree."""
    from engine.model import weight_shapes

    config = HANConfig(vocab_size=37, num_classes=3, **sizes)
    built = {k: tuple(v.shape) for k, v in HAN(config).state_dict().items()}
    assert weight_shapes(config) == built
