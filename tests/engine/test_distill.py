"""``train --distill-from``: a student trained on what trained HANs say about each review (issue 17).

References are independent of :mod:`engine.distill`: the loss against ``torch.nn.functional.kl_div``
and the analytic gradient ``softmax(z) - target``; the teachers' targets against each teacher
scored text by text through the behaviour suite's predictor (another path through the model).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import engine.train as train_module
from engine.behaviour._run import BundlePredictor
from engine.bundle import load_bundle, save_bundle
from engine.distill import DataRows, check_teachers, distill_loss, parse_teachers, teacher_targets
from engine.evaluate import predict_labels, predict_logits
from engine.train import TrainConfig, train
from tests.toy_data import TINY_TRAIN_ARGS, toy_rows, write_toy

ToyConfig = Callable[..., TrainConfig]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory, toy_config_module: ToyConfig) -> Path:
    """A HAN trained on the toy reviews (it reads their sentiment words)."""
    root = tmp_path_factory.mktemp("teacher")
    data = write_toy(root / "toy.jsonl", 240, seed=5)
    list(train(toy_config_module(data, root / "run", epochs=4)))
    return root / "run" / "model"


@pytest.fixture(scope="module")
def toy_config_module() -> ToyConfig:
    from tests.engine.conftest import _toy_config

    return _toy_config


def _flipped(path: Path, n: int, seed: int) -> Path:
    """Toy reviews, every one labelled wrong."""
    rows = toy_rows(n, seed)
    for r in rows:
        r["label"] = "neg" if r["label"] == "pos" else "pos"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_the_teacher_list_is_parsed_strictly() -> None:
    assert parse_teachers(None) == [] and parse_teachers("") == []
    assert parse_teachers("a, b") == ["a", "b"]
    with pytest.raises(ValueError, match="empty folder name"):
        parse_teachers("a,,b")
    with pytest.raises(ValueError, match="named twice"):
        parse_teachers("a,a")


def test_settings_are_range_checked() -> None:
    cfg = TrainConfig(data="x")
    assert cfg.distill_from is None and cfg.distill_weight == 1.0 and cfg.distill_temperature == 1.0
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="distill weight"):
            TrainConfig(data="x", distill_weight=bad)
    for bad in (0.0, -1.0, float("nan"), 1000.0):
        with pytest.raises(ValueError, match="distill temperature"):
            TrainConfig(data="x", distill_temperature=bad)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_the_loss_mixes_label_and_teachers_on_taught_rows_only(temperature: float) -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    targets = torch.softmax(torch.randn(6, 3, generator=g, dtype=torch.float64), -1)
    taught = torch.tensor([True, True, False, True, False, True])
    w = 0.3
    got = distill_loss(logits, labels, targets, taught, w, temperature, label_smoothing=0.1)
    ce = F.cross_entropy(logits, labels, label_smoothing=0.1, reduction="none")
    kl = F.kl_div(F.log_softmax(logits / temperature, -1), targets, reduction="none").sum(-1)
    ref = torch.where(taught, (1 - w) * ce + w * temperature**2 * kl, ce).mean()
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    # untaught rows ignore their targets entirely (even nonsense ones)
    junk = targets.clone()
    junk[~taught] = torch.tensor([5.0, -3.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(distill_loss(logits, labels, junk, taught, w, temperature, 0.1), got)


def test_with_weight_1_the_gradient_pulls_the_softmax_to_the_target() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.softmax(torch.randn(4, 2, generator=g, dtype=torch.float64), -1)
    labels = torch.tensor([0, 1, 1, 0])
    distill_loss(logits, labels, targets, torch.ones(4, dtype=torch.bool), 1.0).backward()
    assert logits.grad is not None
    expected = (torch.softmax(logits.detach(), -1) - targets) / 4  # d/dz KL(t || softmax z), batch mean
    torch.testing.assert_close(logits.grad, expected, rtol=1e-10, atol=1e-12)
    # weight 0 is the labels' cross-entropy, whatever the targets
    plain = distill_loss(logits, labels, targets, torch.ones(4, dtype=torch.bool), 0.0)
    torch.testing.assert_close(plain, F.cross_entropy(logits, labels))


def test_predict_logits_match_the_model_read_text_by_text(teacher: Path) -> None:
    bundle = load_bundle(teacher)
    texts = [r["text"] for r in toy_rows(30, seed=9)] + [" "]  # the last: no word at all
    logits = predict_logits(bundle, texts, batch_size=7, workers=1)
    assert np.isnan(logits[-1]).all() and not np.isnan(logits[:-1]).any()
    probs = BundlePredictor(bundle).predict_proba(texts[:-1])
    e = np.exp(logits[:-1] - logits[:-1].max(1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(1, keepdims=True), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.argmax(logits[:-1], 1), predict_labels(bundle, texts[:-1], workers=1))


def test_targets_are_the_teachers_mean_softmax(teacher: Path, tmp_path: Path) -> None:
    # a second teacher: the first with its classes listed the other way round (and its classifier
    # rows swapped), so it says the same thing; the targets must come back in this run's order
    b = load_bundle(teacher)
    with torch.no_grad():
        b.model.classifier.weight.copy_(b.model.classifier.weight.flip(0))
        b.model.classifier.bias.copy_(b.model.classifier.bias.flip(0))
    b.label_names = tuple(reversed(b.label_names))
    save_bundle(b, tmp_path / "reversed")
    rows = toy_rows(40, seed=11)
    texts = [r["text"] for r in rows] + [" "]
    names = ["neg", "pos"]
    labels = [names.index(r["label"]) for r in rows] + [1]
    got = teacher_targets([str(teacher), str(tmp_path / "reversed")], texts, labels, names, temperature=2.0)
    bundle = load_bundle(teacher)
    z = predict_logits(bundle, texts[:-1], workers=1)[:, [bundle.label_names.index(n) for n in names]]
    ref = torch.softmax(torch.tensor(z) / 2.0, -1).numpy()
    np.testing.assert_allclose(got.targets[:-1].numpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.targets[-1].numpy(), [0.0, 1.0])  # no word read: its label
    rec = got.record
    assert rec["label_kept_for_no_words"] == 1 and rec["reviews"] == 41 and rec["temperature"] == 2.0
    assert [t["path"] for t in rec["teachers"]] == [str(teacher), str(tmp_path / "reversed")]
    assert all(len(t["weights_sha256"]) == 64 for t in rec["teachers"])


def test_scoring_teachers_leaves_the_random_stream_alone(teacher: Path) -> None:
    torch.manual_seed(3)
    expected = torch.rand(5)
    torch.manual_seed(3)
    teacher_targets([str(teacher)], ["great film"], [1], ["neg", "pos"])
    torch.testing.assert_close(torch.rand(5), expected)


def test_bad_teachers_are_refused_by_name(teacher: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot distil from .*nowhere"):
        teacher_targets([str(tmp_path / "nowhere")], ["a"], [0], ["neg", "pos"])
    with pytest.raises(ValueError, match="its classes"):
        teacher_targets([str(teacher)], ["a"], [0], ["bad", "good"])


def test_with_weight_1_the_student_learns_the_teacher_not_the_labels(
    teacher: Path, tmp_path: Path, toy_config: ToyConfig
) -> None:
    """Every label is wrong, dev's too; the teacher reads the reviews right. Taught by the teacher
    alone, the student ends up reading them as the teacher does (dev accuracy near 0 against the
    wrong labels); taught by the labels, the other way (near 1)."""
    data = _flipped(tmp_path / "flipped.jsonl", 240, seed=6)
    last: dict[str, float] = {}
    for name, extra in (("kd", {"distill_from": str(teacher)}), ("plain", {})):
        cfg = toy_config(data, tmp_path / name, epochs=4, patience=10, **extra)
        acc = [r for r in train(cfg) if r.kind == "eval"][-1].dev_accuracy
        assert acc is not None
        last[name] = acc
    assert last["kd"] <= 0.1 and last["plain"] >= 0.9, last
    meta = json.loads((tmp_path / "kd" / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["distillation"]["weight"] == 1.0
    assert meta["distillation"]["teachers"][0]["path"] == str(teacher)
    assert meta["distillation"]["ensemble_train_accuracy"] <= 0.1  # it disagrees with the wrong labels


def test_written_reviews_keep_their_labels(
    teacher: Path, tmp_path: Path, toy_config: ToyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of the training split are taught with their own targets; the run's spliced reviews
    (indices past the split) are not taught."""
    seen: list[dict[str, Any]] = []

    def spy(
        logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor, taught: torch.Tensor, *a: Any
    ) -> torch.Tensor:
        seen.append({"labels": labels.clone(), "targets": targets.clone(), "taught": taught.clone()})
        return distill_loss(logits, labels, targets, taught, *a)

    monkeypatch.setattr(train_module, "distill_loss", spy)
    data = write_toy(tmp_path / "toy.jsonl", 120, seed=7)
    cfg = toy_config(data, tmp_path / "run", epochs=1, distill_from=str(teacher), splice_fraction=0.5)
    list(train(cfg))
    assert seen
    taught = torch.cat([s["taught"] for s in seen])
    assert int((~taught).sum()) > 0 and int(taught.sum()) > 0
    n_train = int(taught.sum())  # one epoch sees every training review once
    assert int((~taught).sum()) == round(0.5 * n_train)
    # each taught row's target is the teacher's reading of that review: a distribution, not a label
    t = torch.cat([s["targets"] for s in seen])[taught]
    torch.testing.assert_close(t.sum(-1), torch.ones(len(t)))
    assert ((t > 0.001) & (t < 0.999)).any()


def test_a_missing_teacher_is_told_before_any_work(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "toy.jsonl", 60, seed=2)
    gen = train(toy_config(data, tmp_path / "run", distill_from=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match="cannot distil from"):
        next(gen)  # the first record would be "read N documents"
    assert not (tmp_path / "run" / "model").exists()


def test_the_cli_flags_reach_the_run_and_its_command(teacher: Path, tmp_path: Path) -> None:
    from app.cli import main

    data = write_toy(tmp_path / "toy.jsonl", 60, seed=2)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--quiet", "--device", "cpu"]
    flags = ["--distill-from", str(teacher), "--distill-weight", "0.5", "--distill-temperature", "2"]
    assert main([*args, *TINY_TRAIN_ARGS, "--word2vec-epochs", "0", *flags]) == 0
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert f"--distill-from {teacher}" in meta["command"] and "--distill-weight 0.5" in meta["command"]
    assert meta["train_config"]["distill_temperature"] == 2.0
    assert meta["distillation"]["temperature"] == 2.0 and meta["distillation"]["weight"] == 0.5


def _probabilities(model: Path, data: Path, out: Path) -> Path:
    from app.cli import main

    args = ["evaluate", "--data", str(data), "--model", str(model), "--probabilities", str(out)]
    assert main([*args, "--device", "cpu", "--quiet"]) == 0
    return out


def test_a_probability_file_teaches_what_its_model_does(teacher: Path, tmp_path: Path) -> None:
    from engine.data import load_dataset

    data = write_toy(tmp_path / "toy.jsonl", 90, seed=12)
    ds = load_dataset(str(data))
    probs = _probabilities(teacher, data, tmp_path / "t.safetensors")
    assert probs.stat().st_size < 10_000
    rows = list(range(3, 90, 2))
    texts, labels = [ds.texts[i] for i in rows], [ds.labels[i] for i in rows]
    where = DataRows(ds.sha256, len(ds), rows)
    for t in (1.0, 3.0):
        by_model = teacher_targets([str(teacher)], texts, labels, ds.label_names, t)
        by_file = teacher_targets([str(probs)], texts, labels, ds.label_names, t, data=where)
        np.testing.assert_allclose(by_file.targets.numpy(), by_model.targets.numpy(), rtol=1e-5, atol=1e-6)
    assert by_file.record["teachers"][0]["model"]["path"] == str(teacher)
    assert len(by_file.record["teachers"][0]["file_sha256"]) == 64
    # a file of other data, or no file of probabilities at all, is refused by name
    other = write_toy(tmp_path / "other.jsonl", 90, seed=13)
    wrong = _probabilities(teacher, other, tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="written for other data"):
        teacher_targets([str(wrong)], texts, labels, ds.label_names, data=where)
    for bad in (teacher / "model.safetensors", data):
        with pytest.raises(ValueError, match="not a probability file"):
            check_teachers(str(bad))


def test_a_run_distils_from_a_probability_file(teacher: Path, tmp_path: Path, toy_config: ToyConfig) -> None:
    data = _flipped(tmp_path / "flipped.jsonl", 240, seed=6)
    probs = _probabilities(teacher, data, tmp_path / "t.safetensors")
    cfg = toy_config(data, tmp_path / "kd", epochs=4, patience=10, distill_from=str(probs))
    last = [r for r in train(cfg) if r.kind == "eval"][-1].dev_accuracy
    assert last is not None and last <= 0.1  # it reads as the teacher, against the wrong labels
    meta = json.loads((tmp_path / "kd" / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["distillation"]["teachers"][0]["path"] == str(probs)


def test_evaluate_refuses_probabilities_of_part_of_the_data(teacher: Path, tmp_path: Path) -> None:
    from app.cli import main

    data = write_toy(tmp_path / "toy.jsonl", 60, seed=2)
    out = tmp_path / "p.safetensors"
    for part in (["--limit", "10"], ["--sample", "10"]):
        args = ["evaluate", "--data", str(data), "--model", str(teacher), "--probabilities", str(out), *part]
        assert main(args) != 0
    assert not out.exists()


def test_evaluate_replaces_a_probability_file_and_nothing_else(teacher: Path, tmp_path: Path) -> None:
    from app.cli import main

    data = write_toy(tmp_path / "toy.jsonl", 60, seed=2)
    out = _probabilities(teacher, data, tmp_path / "p.safetensors")
    _probabilities(teacher, data, out)  # an earlier probability file is replaced
    weights = teacher / "model.safetensors"
    before = weights.read_bytes()
    args = ["evaluate", "--data", str(data), "--model", str(teacher), "--probabilities", str(weights)]
    assert main([*args, "--device", "cpu", "--quiet"]) != 0
    assert weights.read_bytes() == before
