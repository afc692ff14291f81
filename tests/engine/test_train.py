"""Tests for engine.train on the toy dataset: progress records, learning, reproducibility, resume."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from engine.batching import choose_limits
from engine.bundle import ModelError, load_bundle
from engine.data import DatasetError, load_dataset
from engine.preprocess import doc_words, encode_words
from engine.train import Progress, TrainConfig, evaluate_docs, split_dev, train
from tests.toy_data import toy_rows, write_toy

ToyConfig = Callable[..., TrainConfig]


def _run(cfg: TrainConfig) -> list[Progress]:
    return list(train(cfg))


def _digest(records: list[Progress]) -> str:
    assert records[-1].kind == "done"
    return str(records[-1].extra["weights_sha256"])


def _write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy_run(
    tmp_path_factory: pytest.TempPathFactory, toy_config: ToyConfig
) -> tuple[TrainConfig, list[Progress]]:
    """One 4-epoch run on 400 toy documents, shared by the tests that only inspect its results."""
    root = tmp_path_factory.mktemp("toy_run")
    cfg = toy_config(write_toy(root / "toy.jsonl", 400, seed=0), root / "out", epochs=4)
    return cfg, _run(cfg)


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "small.jsonl", 120, seed=1)


# -- progress records ---------------------------------------------------------------------------------


def test_progress_records(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = toy_run
    kinds = [r.kind for r in records]
    assert kinds[0] == "setup"
    assert kinds[-1] == "done"
    assert set(kinds) == {"setup", "step", "eval", "done"}
    last_setup = max(i for i, k in enumerate(kinds) if k == "setup")
    assert last_setup < kinds.index("step")

    steps = [r for r in records if r.kind == "step"]
    assert [r.step for r in steps] == list(range(1, len(steps) + 1))
    total = records[last_setup].total_steps
    assert total == len(steps) > 0
    for r in steps:
        assert isinstance(r.loss, float) and math.isfinite(r.loss)
        assert r.docs_per_s is not None and r.docs_per_s > 0
        assert r.lr == cfg.lr
        assert r.total_steps == total
        assert 1 <= r.epoch <= cfg.epochs

    evals = [r for r in records if r.kind == "eval"]
    assert [r.epoch for r in evals] == list(range(1, cfg.epochs + 1))
    for r in evals:
        assert r.dev_accuracy is not None and 0.0 <= r.dev_accuracy <= 1.0
    # each epoch's eval directly follows that epoch's last step
    for r in evals:
        previous = records[records.index(r) - 1]
        assert previous.kind == "step"
        assert (previous.epoch, previous.step) == (r.epoch, r.step)

    done = records[-1]
    sha = done.extra["weights_sha256"]
    assert isinstance(sha, str) and len(sha) == 64 and int(sha, 16) >= 0
    assert done.best_dev_accuracy == max(r.dev_accuracy for r in evals if r.dev_accuracy is not None)


def test_progress_log_file(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = toy_run
    lines = (Path(cfg.out) / "logs" / "rank0.jsonl").read_text(encoding="utf-8").splitlines()
    logged = [json.loads(line) for line in lines]
    assert [x["kind"] for x in logged] == [r.kind for r in records if r.kind != "setup"]


def test_toy_run_learns(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    _, records = toy_run
    evals = [r for r in records if r.kind == "eval"]
    assert max(r.dev_accuracy or 0.0 for r in evals) >= 0.95
    assert records[-1].best_dev_accuracy is not None and records[-1].best_dev_accuracy >= 0.95
    first_loss, last_loss = evals[0].loss, evals[-1].loss
    assert first_loss is not None and last_loss is not None
    assert last_loss < first_loss


# -- the written model and checkpoint --------------------------------------------------------------------


def test_model_written_with_metadata(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = toy_run
    out = Path(cfg.out)
    bundle = load_bundle(out / "model")
    meta = bundle.metadata
    data_bytes = Path(cfg.data).read_bytes()
    assert meta["dataset"]["sha256"] == hashlib.sha256(data_bytes).hexdigest()
    assert meta["dataset"]["rows"] == 400
    assert meta["dataset"]["train_documents"] + meta["dataset"]["dev_documents"] == 400
    assert meta["dev_accuracy"] == records[-1].best_dev_accuracy
    assert meta["train_config"] == asdict(cfg)
    assert meta["command"] == cfg.command
    assert bundle.label_names == ("neg", "pos")
    assert bundle.config.embed_dim == cfg.embed_dim
    assert bundle.config.word_hidden == cfg.word_hidden
    assert bundle.config.sentence_hidden == cfg.sentence_hidden
    assert len(meta["history"]) == meta["best_epoch"]


def test_saved_model_is_the_best_epoch(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, _ = toy_run
    bundle = load_bundle(Path(cfg.out) / "model")
    ds = load_dataset(cfg.data)
    _, dev_idx = split_dev(ds.labels, cfg.dev_fraction, cfg.seed)
    docs = encode_words([doc_words(ds.texts[i]) for i in dev_idx], bundle.vocab)
    correct, n = evaluate_docs(bundle.model, docs, [ds.labels[i] for i in dev_idx], torch.device("cpu"))
    assert n == bundle.metadata["dataset"]["dev_documents"]
    assert correct / n == bundle.metadata["dev_accuracy"]


def test_early_stopping(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    records = _run(toy_config(small_data, tmp_path / "out", epochs=8, patience=1))
    devs = [r.dev_accuracy or 0.0 for r in records if r.kind == "eval"]
    for i in range(1, len(devs)):
        if devs[i] <= max(devs[:i]):
            assert i == len(devs) - 1, "training must stop after the first epoch without improvement"
    assert len(devs) == 8 or devs[-1] <= max(devs[:-1])
    assert records[-1].extra["history"][-1]["epoch"] == len(devs)


def test_limits_come_from_training_quantiles(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = toy_run
    setup_limits = [r.extra["limits"] for r in records if r.kind == "setup" and "limits" in r.extra]
    assert len(setup_limits) == 1
    model_json = json.loads((Path(cfg.out) / "model" / "model.json").read_text(encoding="utf-8"))
    assert model_json["limits"] == setup_limits[0]
    # recompute independently from the training part of the split
    ds = load_dataset(cfg.data)
    train_idx, _ = split_dev(ds.labels, cfg.dev_fraction, cfg.seed)
    docs: Any = [doc_words(ds.texts[i]) for i in train_idx]
    expected = choose_limits(docs, cfg.word_quantile, cfg.sentence_quantile)
    assert setup_limits[0] == asdict(expected)
    assert load_bundle(Path(cfg.out) / "model").limits == expected


def test_checkpoint_written_atomically(toy_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = toy_run
    out = Path(cfg.out)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "logs", "model"]
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == ["state.json", "state.safetensors"]
    assert sorted(p.name for p in (out / "model").iterdir()) == ["model.json", "model.safetensors"]
    assert not list(out.rglob(".*")), "temporary files or directories were left behind"
    # the checkpoint holds the final weights
    tensors = load_file(str(out / "checkpoint" / "state.safetensors"))
    h = hashlib.sha256()
    for k in sorted(k for k in tensors if k.startswith("model.")):
        h.update(k[len("model.") :].encode())
        h.update(tensors[k].contiguous().numpy().tobytes())
    assert h.hexdigest() == _digest(records)
    state = json.loads((out / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    assert state["state"]["epoch"] == cfg.epochs


# -- reproducibility and resume -------------------------------------------------------------------------


def test_same_seed_same_weights(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    a = _digest(_run(toy_config(small_data, tmp_path / "a", epochs=1)))
    b = _digest(_run(toy_config(small_data, tmp_path / "b", epochs=1)))
    c = _digest(_run(toy_config(small_data, tmp_path / "c", epochs=1, seed=14)))
    assert a == b
    assert a != c


def test_init_seed_changes_the_run_but_not_the_dev_split(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.train

    splits: list[tuple[int, ...]] = []
    real = engine.train.split_dev

    def recording(labels: tuple[int, ...], fraction: float, seed: int) -> tuple[list[int], list[int]]:
        train_idx, dev_idx = real(labels, fraction, seed)
        splits.append(tuple(dev_idx))
        return train_idx, dev_idx

    monkeypatch.setattr(engine.train, "split_dev", recording)
    base = _digest(_run(toy_config(small_data, tmp_path / "a", epochs=1)))
    same = _digest(_run(toy_config(small_data, tmp_path / "b", epochs=1, init_seed=13)))
    other = _digest(_run(toy_config(small_data, tmp_path / "c", epochs=1, init_seed=14)))
    assert base == same != other
    assert len(splits) == 3 and splits[0] == splits[1] == splits[2]
    with pytest.raises(ValueError, match="init seed"):
        toy_config(small_data, tmp_path / "d", init_seed=-1)


def test_word2vec_start_is_reported_and_reproducible(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig
) -> None:
    a = _run(toy_config(small_data, tmp_path / "a", epochs=1, word2vec_epochs=2))
    b = _run(toy_config(small_data, tmp_path / "b", epochs=1, word2vec_epochs=2))
    plain = _run(toy_config(small_data, tmp_path / "c", epochs=1, word2vec_epochs=0))
    messages = [r.message for r in a if r.kind == "setup"]
    assert sum(m.startswith("word2vec epoch") for m in messages) == 2
    assert _digest(a) == _digest(b) != _digest(plain)


@pytest.fixture(scope="module")
def resume_runs(
    tmp_path_factory: pytest.TempPathFactory, toy_config: ToyConfig
) -> tuple[Path, list[Progress], list[Progress], list[Progress]]:
    """An uninterrupted 4-epoch run, and a 2-epoch run resumed to 4 epochs, on the same data."""
    root = tmp_path_factory.mktemp("resume")
    data = write_toy(root / "small.jsonl", 120, seed=1)
    straight = _run(toy_config(data, root / "straight", epochs=4))
    first = _run(toy_config(data, root / "resumed", epochs=2))
    second = _run(toy_config(data, root / "resumed", epochs=4, resume=True))
    return root, straight, first, second


def test_resume_equals_uninterrupted(
    resume_runs: tuple[Path, list[Progress], list[Progress], list[Progress]],
) -> None:
    root, straight, first, second = resume_runs
    assert [r.epoch for r in first if r.kind == "eval"] == [1, 2]
    assert [r.epoch for r in second if r.kind == "eval"] == [3, 4]
    steps = [r.step for r in second if r.kind == "step"]
    assert steps[0] == max(r.step for r in first if r.kind == "step") + 1
    assert _digest(second) == _digest(straight)
    dev = [r.dev_accuracy for r in straight if r.kind == "eval"]
    assert [r.dev_accuracy for r in first + second if r.kind == "eval"] == dev
    assert [h["epoch"] for h in second[-1].extra["history"]] == [1, 2, 3, 4]
    a = load_bundle(root / "straight" / "model").metadata
    b = load_bundle(root / "resumed" / "model").metadata
    for key in ("dataset", "dev_accuracy", "best_epoch"):
        assert a[key] == b[key], key
    assert a["best_epoch"] > 2, "the test needs a best model saved after the resume"


def test_resume_keeps_truncation_record(
    resume_runs: tuple[Path, list[Progress], list[Progress], list[Progress]],
) -> None:
    root = resume_runs[0]
    a = load_bundle(root / "straight" / "model").metadata["truncation_in_training"]
    b = load_bundle(root / "resumed" / "model").metadata["truncation_in_training"]
    assert a["words"] > 0
    assert b == a


def test_resume_mid_epoch_equals_uninterrupted(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig
) -> None:
    straight = _run(toy_config(small_data, tmp_path / "straight", epochs=2))
    gen = train(toy_config(small_data, tmp_path / "cut", epochs=2, checkpoint_every=3))
    for rec in gen:
        if rec.kind == "step" and rec.step == 5:  # checkpoint was written after step 3
            break
    gen.close()
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text(encoding="utf-8"))
    assert (state["state"]["step"], state["state"]["step_in_epoch"]) == (3, 3)
    resumed = _run(toy_config(small_data, tmp_path / "cut", epochs=2, resume=True))
    assert next(r.step for r in resumed if r.kind == "step") == 4
    assert _digest(resumed) == _digest(straight)


def test_resume_with_changed_setting_raises(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    _run(toy_config(small_data, tmp_path / "out", epochs=1))
    with pytest.raises(ValueError, match="embed_dim"):
        _run(toy_config(small_data, tmp_path / "out", epochs=2, resume=True, embed_dim=16))
    with pytest.raises(ValueError, match="lr"):
        _run(toy_config(small_data, tmp_path / "out", epochs=2, resume=True, lr=0.02))
    # settings that may change (epochs, patience, workers, ...) do not raise
    _run(toy_config(small_data, tmp_path / "out", epochs=1, resume=True, patience=5, command="again"))


def test_resume_with_changed_data_raises(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    _run(toy_config(small_data, tmp_path / "out", epochs=1))
    write_toy(small_data, 120, seed=2)
    with pytest.raises(ValueError, match="dataset changed"):
        _run(toy_config(small_data, tmp_path / "out", epochs=2, resume=True))


def test_resume_without_checkpoint_raises(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    with pytest.raises(ModelError, match="no checkpoint"):
        _run(toy_config(small_data, tmp_path / "out", resume=True))


def test_resume_with_corrupt_checkpoint_raises(
    tmp_path: Path, small_data: Path, toy_config: ToyConfig
) -> None:
    _run(toy_config(small_data, tmp_path / "out", epochs=1))
    weights = tmp_path / "out" / "checkpoint" / "state.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match="corrupt checkpoint"):
        _run(toy_config(small_data, tmp_path / "out", epochs=2, resume=True))


# -- cancelling ------------------------------------------------------------------------------------------


def _open_fds() -> set[str]:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():  # pragma: no cover - not Linux
        return set()
    found = set()
    for fd in os.listdir(fd_dir):
        with contextlib.suppress(OSError):  # an fd closed while listing
            found.add(os.readlink(fd_dir / fd))
    return found


def test_cancel_closes_cleanly(tmp_path: Path, small_data: Path, toy_config: ToyConfig) -> None:
    out = tmp_path / "out"
    before = _open_fds()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen = train(toy_config(small_data, out, epochs=3))
        n_steps = 0
        for rec in gen:
            n_steps += rec.kind == "step"
            if n_steps == 3:
                break
        gen.close()
        del gen
        gc.collect()
    leaked = {p for p in _open_fds() - before if str(tmp_path) in p}
    assert not leaked
    assert not list(out.rglob(".*"))
    assert not (out / "model").exists()  # cancelled before the first epoch ended


# -- the dev split and bad datasets ----------------------------------------------------------------------


def test_split_dev_is_stratified_disjoint_and_seeded() -> None:
    labels = tuple([0] * 50 + [1] * 30 + [2] * 20)
    train_idx, dev_idx = split_dev(labels, 0.2, seed=3)
    assert not set(train_idx) & set(dev_idx)
    assert sorted(train_idx + dev_idx) == list(range(100))
    assert train_idx == sorted(train_idx) and dev_idx == sorted(dev_idx)
    dev_counts = [sum(labels[i] == c for i in dev_idx) for c in range(3)]
    assert dev_counts == [10, 6, 4]
    assert split_dev(labels, 0.2, seed=3) == (train_idx, dev_idx)
    assert split_dev(labels, 0.2, seed=4) != (train_idx, dev_idx)


def test_split_dev_fraction_zero_and_one() -> None:
    labels = (0, 1, 0, 1)
    assert split_dev(labels, 0.0, 0) == ([0, 1, 2, 3], [])
    assert split_dev(labels, 1.0, 0) == ([], [0, 1, 2, 3])


def test_one_class_dataset_raises(tmp_path: Path, toy_config: ToyConfig) -> None:
    rows = [r for r in toy_rows(40, 0) if r["label"] == "pos"]
    data = _write_rows(tmp_path / "one.jsonl", rows)
    with pytest.raises(DatasetError, match="single class"):
        _run(toy_config(data, tmp_path / "out"))


def test_one_class_dataset_with_limit_raises(tmp_path: Path, toy_config: ToyConfig) -> None:
    rows = toy_rows(80, 0)
    rows = [r for r in rows if r["label"] == "pos"] + [r for r in rows if r["label"] == "neg"]
    data = _write_rows(tmp_path / "sorted.jsonl", rows)
    with pytest.raises(ValueError, match="class"):
        _run(toy_config(data, tmp_path / "out", epochs=1, limit=30))


def test_dataset_too_small_to_split_raises(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = _write_rows(tmp_path / "tiny.jsonl", toy_rows(2, 0))
    with pytest.raises(ValueError, match="too small"):
        _run(toy_config(data, tmp_path / "out"))
