"""The valence lexicon (`train --lexicon-weight`): reading it, the loss against an independent
least-squares reference, and what training records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.lexicon as L
from engine.vocab import Vocab
from tests.toy_data import TINY_TRAIN_ARGS

TEXT = (
    "adore\t2.6\t0.9\t[3, 3, 1, 2, 3, 3, 3, 4, 1, 3]\n"
    "loathe\t-2.2\t2.1\t[-1, -4, -3, -2, -4, 2, 1, -3, -4, -4]\n"
    ":)\t2.0\t1.2\t[2, 2, 1, 1, 1, 1, 4, 3, 4, 1]\n"  # an emoticon: skipped
    "can't stand\t-2.0\t0.6\t[-2]\n"  # two words: skipped
    "Yes\t1.0\t0\t[1]\n"  # not lower case: skipped
    "\n"
    "superlative\t5.5\t0\t[5]\n"  # beyond the scale: clipped to 1
    "unseen\t-1.0\t0\t[-1]\n"  # not in the vocabulary below
)


def test_parse_keeps_lower_case_words_scaled_to_one() -> None:
    assert L.parse(TEXT) == {"adore": 0.65, "loathe": -0.55, "superlative": 1.0, "unseen": -0.25}


@pytest.mark.parametrize("bad", ["adore 2.6\n", "adore\tlots\t0\n", ":)\t1\n"])
def test_parse_refuses_a_file_that_is_not_a_lexicon(bad: str) -> None:
    with pytest.raises(L.LexiconError, match="lexicon"):
        L.parse(bad)


def test_load_keeps_the_vocabulary_words_in_id_order() -> None:
    vocab = Vocab(("<pad>", "<unk>", "superlative", "the", "loathe", "adore"))
    lex = L.load_lexicon(vocab, TEXT)
    assert lex.ids.tolist() == [2, 4, 5]
    np.testing.assert_allclose(lex.values, [1.0, -0.55, 0.65], rtol=0, atol=1e-7)
    assert lex.record()["entries"] == 4 and lex.record()["words_in_vocabulary"] == 3
    assert len(lex.sha256) == 64


def test_the_installed_lexicon_rates_the_suites_feeling_verbs_as_a_reader_would() -> None:
    assert L.check_lexicon().startswith("vaderSentiment ")
    words = ("love", "adore", "enjoy", "loathe", "despise", "dislike", "hate")  # VADER lacks "detest"
    vocab = Vocab(("<pad>", "<unk>", *words))
    lex = L.load_lexicon(vocab)
    value = dict(zip((vocab.itos[i] for i in lex.ids), lex.values.tolist(), strict=True))
    assert all(value[w] > 0.3 for w in words[:3]) and all(value[w] < -0.3 for w in words[3:])
    assert lex.entries > 7000  # VADER 3.3.2: 7,209 word entries


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "LEXICON_PACKAGE", "no_such_lexicon_package")
    with pytest.raises(L.LexiconError, match="pip install no_such_lexicon_package"):
        L.check_lexicon()


def _reference(x: np.ndarray, v: np.ndarray) -> float:
    """The same ridge fit by numpy's least squares on an augmented system (an independent path)."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    lam = L.RIDGE * float(np.mean(np.sum(xb * xb, axis=0)))
    a = np.vstack([xb, np.sqrt(lam) * np.eye(xb.shape[1])])
    b = np.concatenate([v, np.zeros(xb.shape[1])])
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    return float(np.mean((xb @ w - v) ** 2))


def test_the_loss_is_the_residual_of_the_ridge_fit() -> None:
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(50, 8, generator=g, dtype=torch.float64)
    ids = torch.arange(3, 43)
    values = torch.rand(40, generator=g, dtype=torch.float64) * 2 - 1
    got = float(L.valence_loss(emb, ids, values))
    # float32 inside the loss: agreement to 1e-5 of the values' variance (about 0.33)
    assert got == pytest.approx(_reference(emb[ids].numpy(), values.numpy()), abs=1e-5)
    assert got > 0.05  # 40 random values from 9 numbers a row cannot be fitted
    # values that are a linear function of the rows are read almost exactly (only the ridge's pull)
    exact = emb[ids] @ torch.randn(8, generator=g, dtype=torch.float64) + 0.3
    assert float(L.valence_loss(emb, ids, exact)) < 1e-4 * float(exact.var())


def test_descending_the_loss_moves_only_lexicon_rows_and_makes_valence_readable() -> None:
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(200, 16, generator=g).requires_grad_(True)
    ids = torch.arange(10, 150)
    values = torch.where(torch.rand(140, generator=g) < 0.5, -0.6, 0.6)
    before = L.valence_loss(emb, ids, values).item()
    start = emb.detach().clone()
    opt = torch.optim.SGD([emb], lr=5.0)
    for _ in range(300):
        opt.zero_grad()
        L.valence_loss(emb, ids, values).backward()
        opt.step()
    after = L.valence_loss(emb, ids, values).item()
    assert after < 0.1 * before
    moved = (emb.detach() - start).abs().sum(1) > 0
    assert moved[ids].all() and not moved[:10].any() and not moved[150:].any()


def test_training_with_a_lexicon_weight_records_the_lexicon_and_its_loss(tmp_path: Path) -> None:
    from app.cli import main

    rows = []
    words = {"pos": ["adore", "superb", "wonderful", "love"], "neg": ["loathe", "awful", "dreadful", "hate"]}
    for i in range(80):
        label = "pos" if i % 2 else "neg"
        text = " ".join(f"I {words[label][(i + k) % 4]} film{i % 7}." for k in range(6))
        rows.append({"text": text, "label": label})
    data = tmp_path / "lex.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "3", "--quiet", "--device", "cpu"]
    assert main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", "--lexicon-weight", "2"]) == 0
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["train_config"]["lexicon_weight"] == 2 and "--lexicon-weight 2" in meta["command"]
    assert meta["lexicon"]["source"].startswith("vaderSentiment ")
    assert meta["lexicon"]["words_in_vocabulary"] == 8  # the eight rated words above; "film" is not rated
    losses = [h["lexicon_loss"] for h in meta["history"]]
    assert len(losses) == len(meta["history"]) >= 1 and all(np.isfinite(losses))


def test_training_without_the_package_stops_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    monkeypatch.setattr(L, "LEXICON_PACKAGE", "no_such_lexicon_package")
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "good film.", "label": "pos"}\n{"text": "bad film.", "label": "neg"}\n')
    out = tmp_path / "run"
    code = main(["train", "--data", str(data), "--out", str(out), "--quiet", "--lexicon-weight", "1"])
    assert code != 0
    assert "pip install no_such_lexicon_package" in capsys.readouterr().err
    assert not (out / "model").exists()


def test_a_lexicon_weight_out_of_range_is_refused() -> None:
    from engine.train_config import TrainConfig

    for bad in (-0.1, 101.0, float("nan")):
        with pytest.raises(ValueError, match="lexicon weight"):
            TrainConfig(data="x", lexicon_weight=bad)


def test_retrofit_plans_the_nearest_rated_frequent_words_ties_to_the_more_frequent() -> None:
    # ids 2..7 are under the rank 8; 8 and 9 are rare
    lex = L.Lexicon(
        ids=np.arange(2, 10),
        values=np.array([0.5, -0.5, 0.5, 0.1, -0.4, 0.9, -0.45, 0.45], dtype=np.float32),
        entries=8,
        source="test",
        sha256="0" * 64,
    )
    plan = L.plan_retrofit(lex, rank=8, neighbours=2)
    assert plan.targets.tolist() == [8, 9]
    # -0.45: -0.4 (id 6, 0.05 away) and -0.5 (id 3, 0.05 away); 0.45: 0.5 at ids 2 and 4 (0.05), not 0.1
    assert sorted(plan.sources[0].tolist()) == [3, 6] and plan.sources[1].tolist() == [2, 4]
    emb = torch.arange(40, dtype=torch.float32).reshape(10, 4)
    before = emb.clone()
    plan.apply(emb)
    assert torch.equal(emb[8], (before[3] + before[6]) / 2) and torch.equal(
        emb[9], (before[2] + before[4]) / 2
    )
    assert torch.equal(emb[:8], before[:8])
    with pytest.raises(L.LexiconError, match="only 1 rated words are more frequent"):
        L.plan_retrofit(lex, rank=3, neighbours=2)


@pytest.mark.parametrize("ema", [(), ("--ema-decay", "0.9")], ids=["weights", "moving-average"])
def test_training_with_retrofit_saves_rare_rated_words_as_their_neighbours_mean(
    tmp_path: Path, ema: tuple[str, ...]
) -> None:
    from app.cli import main
    from engine.bundle import load_bundle

    rows = []
    common = {
        "pos": ["good", "great", "nice", "fine", "lovely", "happy"],
        "neg": ["bad", "awful", "poor", "sad", "ugly", "boring"],
    }
    rare = {"pos": "adore", "neg": "loathe"}
    for i in range(80):
        label = "pos" if i % 2 else "neg"
        words = [common[label][(i + k) % 6] for k in range(5)] + ([rare[label]] if i < 8 else [])
        rows.append({"text": " ".join(f"it was {w}." for w in words), "label": label})
    data = tmp_path / "lex.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "2", "--quiet", "--device", "cpu"]
    assert (
        main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", "--lexicon-retrofit-rank", "17", *ema]) == 0
    )
    bundle = load_bundle(out / "model")
    meta = bundle.metadata
    assert meta["lexicon"]["retrofit_rank"] == 17 and meta["lexicon"]["weight"] == 0
    assert "lexicon_loss" not in meta["history"][0]
    lex = L.load_lexicon(bundle.vocab)
    # "it", "was", "." and the twelve common words are ids 2..16, the rare words after
    assert max(bundle.vocab.id(w) for ws in common.values() for w in ws) < 17
    assert min(bundle.vocab.id(w) for w in rare.values()) >= 17
    plan = L.plan_retrofit(lex, 17)
    assert meta["lexicon"]["retrofitted_words"] == len(plan.targets) == 2
    emb = bundle.model.embedding.weight.detach()
    for target, sources in zip(plan.targets, plan.sources, strict=True):
        torch.testing.assert_close(emb[target], emb[torch.from_numpy(sources)].mean(0), rtol=0, atol=1e-6)
