"""``--ema-decay``: dev sees, and the run saves, a moving average of the weights (issue 17).

The reference is computed here by hand from the weights the run checkpointed after every step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.bundle import load_bundle
from engine.train import Progress, TrainConfig, evaluate_docs, train
from tests.toy_data import TINY_TRAIN_ARGS, write_toy

ToyConfig = Callable[..., TrainConfig]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "small.jsonl", 120, seed=1)


def _weights(directory: Path, prefix: str) -> dict[str, torch.Tensor]:
    tensors = load_file(str(directory / "checkpoint" / "state.safetensors"))
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def test_the_decay_must_be_in_0_to_1() -> None:
    assert TrainConfig(data="x").ema_decay == 0
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="ema decay must be in"):
            TrainConfig(data="x", ema_decay=bad)


def test_the_saved_model_is_the_moving_average_of_every_step(
    tmp_path: Path, data: Path, toy_config: ToyConfig
) -> None:
    decay = 0.8
    out = tmp_path / "ema"
    steps: list[dict[str, torch.Tensor]] = []  # the raw weights after steps 1, 2, ...
    records: list[Progress] = []
    for rec in train(toy_config(data, out, epochs=1, ema_decay=decay, checkpoint_every=1)):
        records.append(rec)
        # the checkpoint of step k is written when the run goes on after yielding step k
        if (rec.kind == "step" and rec.step >= 2) or rec.kind == "eval":
            steps.append(_weights(out, "model."))
    n = records[-1].step
    assert n >= 5 and len(steps) == n
    expected = {k: v.clone() for k, v in steps[0].items()}
    for w in steps[1:]:
        for k in expected:
            expected[k] = decay * expected[k] + (1 - decay) * w[k]
    saved = load_bundle(out / "model").model.state_dict()
    assert saved.keys() == expected.keys()
    for k in expected:
        torch.testing.assert_close(saved[k], expected[k], rtol=1e-5, atol=1e-6, msg=k)
    # an average, not the last weights (the toy's lr moves them well beyond the tolerance)
    assert any(not torch.allclose(saved[k], steps[-1][k], atol=1e-4) for k in expected)
    assert int(_weights(out, "ema.")["n_averaged"]) == n
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["train_config"]["ema_decay"] == decay
    ev = next(r for r in records if r.kind == "eval")
    assert meta["dev_accuracy"] == ev.dev_accuracy


def test_the_average_leaves_training_itself_unchanged(
    tmp_path: Path, data: Path, toy_config: ToyConfig
) -> None:
    plain = list(train(toy_config(data, tmp_path / "plain", epochs=2)))
    ema = list(train(toy_config(data, tmp_path / "ema", epochs=2, ema_decay=0.9)))
    assert ema[-1].extra["weights_sha256"] == plain[-1].extra["weights_sha256"]
    assert [r.loss for r in ema if r.kind == "step"] == [r.loss for r in plain if r.kind == "step"]
    assert ema[-1].extra["ema_weights_sha256"] != ema[-1].extra["weights_sha256"]
    assert "ema_weights_sha256" not in plain[-1].extra


def test_dev_accuracy_is_that_of_the_average(tmp_path: Path, data: Path, toy_config: ToyConfig) -> None:
    from engine.data import load_dataset
    from engine.preprocess import doc_words, encode_words
    from engine.train import split_dev

    out = tmp_path / "ema"
    records = list(train(toy_config(data, out, epochs=1, ema_decay=0.95)))
    bundle = load_bundle(out / "model")
    ds = load_dataset(data, "jsonl")
    _, dev_idx = split_dev(ds.labels, 0.1, 13)
    docs = encode_words([doc_words(ds.texts[i]) for i in dev_idx], bundle.vocab)
    correct, n = evaluate_docs(bundle.model, docs, [ds.labels[i] for i in dev_idx], torch.device("cpu"))
    assert next(r.dev_accuracy for r in records if r.kind == "eval") == correct / n


def test_a_run_with_the_average_resumes_mid_epoch_exactly(
    tmp_path: Path, data: Path, cut_and_resume: Callable[..., tuple[list[Progress], list[Progress]]]
) -> None:
    straight, resumed = cut_and_resume(data, tmp_path, ema_decay=0.9, splice_fraction=0.2)
    assert resumed[-1].extra["weights_sha256"] == straight[-1].extra["weights_sha256"]
    assert resumed[-1].extra["ema_weights_sha256"] == straight[-1].extra["ema_weights_sha256"]
    a = load_bundle(tmp_path / "straight" / "model").model.state_dict()
    b = load_bundle(tmp_path / "cut" / "model").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_without_the_average_does_not_resume_with_it(
    tmp_path: Path, data: Path, toy_config: ToyConfig
) -> None:
    list(train(toy_config(data, tmp_path / "out", epochs=1)))
    with pytest.raises(ValueError, match="ema_decay"):
        list(train(toy_config(data, tmp_path / "out", epochs=2, resume=True, ema_decay=0.9)))


def test_the_cli_flag_reaches_the_run_and_its_command(tmp_path: Path) -> None:
    from app.cli import main

    data = write_toy(tmp_path / "toy.jsonl", 60, seed=2)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet", "--device", "cpu"]
    assert main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", "--ema-decay", "0.99"]) == 0
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert "--ema-decay 0.99" in meta["command"] and meta["train_config"]["ema_decay"] == 0.99
    assert "ema.n_averaged" in load_file(str(out / "checkpoint" / "state.safetensors"))
