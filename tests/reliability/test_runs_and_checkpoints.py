"""Runs and checkpoints (issue 13, items 4, 7, 10, 11): nothing is overwritten unasked, the shipped
model is read-only, a diverging run stops and keeps its last good model, and a checkpoint whose
state.json holds wrong content is refused in one line.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resources
from engine import checkpoint
from engine.bundle import ModelError, load_bundle
from engine.train import TrainConfig, train
from tests.reliability.helpers import TINY, assert_one_line, call, copy_model, tree_bytes


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data, out) of a one-epoch toy run by the CLI: out holds model/, checkpoint/ and logs/."""
    from app.cli import main
    from tests.toy_data import write_toy

    folder = tmp_path_factory.mktemp("run")
    data = write_toy(folder / "toy.jsonl", 120)
    assert main(["train", "--data", str(data), "--out", str(folder / "out"), *TINY, "--epochs", "1"]) == 0
    return data, folder / "out"


def _cfg(data: Path, out: Path, **kw: Any) -> TrainConfig:
    """The settings ``TINY`` gives on the command line, as a TrainConfig."""
    settings_ = {
        "data": str(data),
        "out": str(out),
        "epochs": 1,
        "batch_size": 16,
        "lr": 0.01,
        "lr_schedule": "constant",
        "min_count": 1,
        "embed_dim": 16,
        "word_hidden": 8,
        "sentence_hidden": 8,
        "dropout": 0.0,
        "embed_dropout": 0.0,
        "word2vec_epochs": 0,
        "workers": 1,
        "device": "cpu",
    }
    return TrainConfig(**{**settings_, **kw})


def _copy_run(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(run, out)
    return out


# -------------------------------------------------------------------------------------------- overwrite


def test_train_refuses_an_out_that_holds_a_run(
    finished_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, run = finished_run
    out = _copy_run(run, tmp_path)
    before = tree_bytes(out)
    rc, stdout, err = call(capsys, "train", "--data", str(data), "--out", str(out), *TINY, "--epochs", "1")
    assert_one_line(rc, stdout, err, "--resume", "--force")
    assert tree_bytes(out) == before  # model, checkpoint and log untouched


def test_train_force_replaces_the_run(
    finished_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, run = finished_run
    out = _copy_run(run, tmp_path)
    rc, _, err = call(
        capsys, "train", "--data", str(data), "--out", str(out), *TINY, "--epochs", "1", "--force"
    )
    assert rc == 0, err
    assert load_bundle(out / "model").metadata["command"].endswith("--force")


@pytest.mark.parametrize("out", ["resources", "resources/model", "resources/model/inner"])
def test_train_never_writes_into_the_shipped_model(
    toy_data: Path, out: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = resources.model_dir()
    before = tree_bytes(shipped)
    target = str(shipped.parent.parent / out)
    rc, stdout, err = call(
        capsys, "train", "--data", str(toy_data), "--out", target, *TINY, "--epochs", "1", "--force"
    )
    assert_one_line(rc, stdout, err, "shipped model", "read-only")
    assert tree_bytes(shipped) == before


def test_evaluate_record_without_model_refuses_and_keeps_the_shipped_figure(
    toy_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_bytes(resources.model_dir())
    rc, out, err = call(capsys, "evaluate", "--data", str(toy_data), "--record", "test")
    assert_one_line(rc, out, err, "--model", "read-only")
    rc, out, err = call(
        capsys, "evaluate", "--data", str(toy_data), "--record", "test", "--model", str(resources.model_dir())
    )
    assert_one_line(rc, out, err, "shipped model")
    assert tree_bytes(resources.model_dir()) == before


def test_evaluate_record_with_limit_is_refused(
    finished_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, run = finished_run
    model = copy_model(run / "model", tmp_path / "model")
    before = tree_bytes(model)
    rc, out, err = call(
        capsys, "evaluate", "--data", str(data), "--model", str(model), "--record", "test", "--limit", "10"
    )
    assert_one_line(rc, out, err, "--limit")
    assert tree_bytes(model) == before


def test_evaluate_record_on_a_read_only_model_is_one_line(
    finished_run: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A write refused by the system (root ignores chmod, so the refusal is injected at os.open)."""
    import engine.atomic

    data, run = finished_run
    model = copy_model(run / "model", tmp_path / "model")
    before = tree_bytes(model)
    real_open = engine.atomic.os.open

    def read_only(path: Any, flags: int, *args: Any) -> int:
        if flags & engine.atomic.os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(engine.atomic.os, "open", read_only)
    rc, out, err = call(capsys, "evaluate", "--data", str(data), "--model", str(model), "--record", "test")
    assert_one_line(rc, out, err, "cannot write", "permission denied")
    assert tree_bytes(model) == before


def test_guards_the_gui_can_reuse(finished_run: tuple[Path, Path], tmp_path: Path) -> None:
    from engine.runs import RunDirError, check_model_dir, check_run_dir, is_shipped_model

    _, run = finished_run
    assert is_shipped_model(resources.model_dir()) and is_shipped_model(resources.model_dir() / "model.json")
    assert not is_shipped_model(run / "model")
    with pytest.raises(RunDirError, match="shipped model"):
        check_model_dir(resources.model_dir(), force=True)
    with pytest.raises(RunDirError, match="--force"):
        check_model_dir(run / "model")
    assert check_model_dir(run / "model", force=True) == run / "model"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "diary.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RunDirError, match="not a model"):
        check_model_dir(tmp_path / "notes", force=True)  # saving replaces the whole folder
    assert check_run_dir(run, resume=True) == run
    with pytest.raises(RunDirError):
        check_run_dir(run)


# -------------------------------------------------------------------------------------------- divergence


def test_infinite_learning_rate_exits_2_and_saves_nothing(
    toy_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc, stdout, err = call(
        capsys,
        "train",
        "--data",
        str(toy_data),
        "--out",
        str(out),
        *TINY[:-1],
        "--epochs",
        "1",
        "--lr",
        "inf",
    )
    assert_one_line(rc, stdout, err, "learning rate")
    assert not (out / "model").exists()


def test_a_diverging_run_stops_and_keeps_the_last_good_model(
    toy_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loss turns NaN in epoch 2: training stops with one line; epoch 1's model stays, finite."""
    import engine.train
    from engine.train import Diverged

    out = tmp_path / "out"
    real = torch.nn.CrossEntropyLoss
    steps = {"n": 0}

    class NaNLater(real):  # type: ignore[misc, valid-type]
        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            steps["n"] += 1
            loss = super().forward(logits, target)
            return loss * math.nan if steps["n"] > 8 else loss

    monkeypatch.setattr(engine.train.nn, "CrossEntropyLoss", NaNLater)
    records = []
    with pytest.raises(Diverged) as err:
        for rec in train(_cfg(toy_data, out, epochs=3)):
            records.append(rec)
    msg = str(err.value)
    assert "\n" not in msg and "loss became nan" in msg and str(out / "model") in msg
    assert [r.kind for r in records].count("eval") == 1
    model = load_bundle(out / "model")
    assert all(bool(torch.isfinite(p).all()) for p in model.model.parameters())
    assert model.metadata["best_epoch"] == 1


# -------------------------------------------------------------------------------------------- state.json


STATE_EDITS: list[tuple[str, Any]] = [
    ("state", "not an object"),
    ("state.epoch", "three"),
    ("state.step", -5),
    ("state.best_dev_accuracy", 7.5),
    ("state.history", {"a": 1}),
    ("state.surprise", 1),
    ("vocab", 12),
    ("vocab", ["<pad>", "<pad>"]),
    ("limits", {"max_words": "x", "max_sentences": 3}),
    ("limits", []),
    ("data_sha256", 42),
    ("param_groups", []),
    ("param_groups", [{"lr": 0.1}]),
    ("config", ["not", "a", "dict"]),
]


def _edit_state(out: Path, field: str, value: Any) -> None:
    path = out / "checkpoint" / "state.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    *parents, last = field.split(".")
    target = meta
    for p in parents:
        target = target[p]
    target[last] = value
    path.write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize(("field", "value"), STATE_EDITS)
def test_resume_from_a_checkpoint_with_wrong_content_is_one_line(
    finished_run: tuple[Path, Path],
    tmp_path: Path,
    field: str,
    value: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, run = finished_run
    out = _copy_run(run, tmp_path)
    _edit_state(out, field, value)
    rc, stdout, err = call(
        capsys, "train", "--data", str(data), "--out", str(out), *TINY, "--epochs", "2", "--resume"
    )
    assert_one_line(rc, stdout, err, "cannot resume", "state.json")


def test_resume_with_weights_of_the_wrong_shape_is_one_line(
    finished_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """load_state_dict's 25-line complaint becomes one line."""
    from safetensors.torch import load_file, save_file

    data, run = finished_run
    out = _copy_run(run, tmp_path)
    path = out / "checkpoint" / "state.safetensors"
    tensors = load_file(str(path))
    tensors["model.classifier.weight"] = torch.zeros(5, 3)
    save_file(tensors, str(path))
    rc, stdout, err = call(
        capsys, "train", "--data", str(data), "--out", str(out), *TINY, "--epochs", "2", "--resume"
    )
    assert_one_line(rc, stdout, err, "model.classifier.weight")


SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=5)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        [
            "state",
            "state.epoch",
            "state.step_in_epoch",
            "state.best_epoch",
            "state.bad_epochs",
            "state.best_dev_accuracy",
            "state.history",
            "vocab",
            "limits",
            "data_sha256",
            "param_groups",
            "config",
        ]
    ),
    value=JSON,
)
def test_any_state_json_content_loads_or_is_refused_in_one_line(
    finished_run: tuple[Path, Path], tmp_path: Path, field: str, value: Any
) -> None:
    data, run = finished_run
    out = tmp_path / "prop"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(run, out)
    _edit_state(out, field, value)
    cfg = _cfg(data, out, resume=True)
    try:
        resumed = checkpoint.load(out / "checkpoint", cfg)
    except (ModelError, ValueError) as e:
        assert "\n" not in str(e)
    else:
        assert resumed.state.epoch >= 0
