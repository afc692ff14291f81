"""The Training explorer end to end: dataset statistics and cuts, a short run in a child process
(curves, progress, probe snapshots, event-loop latency), cancel, save, and use in the Attention view."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("PySide6")

import torch
from PySide6.QtGui import QImage

from app.training_controller import TrainingController, command_line
from engine import checkpoint
from engine.bundle import load_bundle
from engine.data import DatasetError, load_dataset
from engine.dataset_stats import dataset_stats
from engine.train import Progress, TrainConfig
from tests.app.latency import EventLoopLatency
from tests.toy_data import toy_rows, write_toy

# small enough to train in a few seconds, and the toy data is learned in 2-3 epochs
TINY = {
    "epochs": 3,
    "batch_size": 16,
    "lr": 0.01,
    "lr_schedule": "constant",
    "min_count": 1,
    "max_vocab": 1000,
    "embed_dim": 16,
    "word_hidden": 8,
    "sentence_hidden": 8,
    "dropout": 0.0,
    "embed_dropout": 0.0,
    "word2vec_epochs": 0,
    "patience": 100,
    "device": "cpu",
}
PROBE = "The film was a story about some people. It had scenes and it was wonderful in a town."
RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "toy.jsonl", 320, seed=0)


def _controller(qtbot: Any, context: Any, asynchronous: bool = True) -> TrainingController:
    c = TrainingController(context, asynchronous=asynchronous)
    qtbot.addWidget(c.view)
    c.view.resize(1400, 860)
    c.view.show()
    qtbot.waitExposed(c.view)
    return c


@pytest.fixture
def controller(qtbot: Any, context: Any) -> Iterator[TrainingController]:
    c = _controller(qtbot, context)
    yield c
    c.shutdown()


@pytest.fixture
def sync_controller(qtbot: Any, context: Any) -> TrainingController:
    return _controller(qtbot, context, asynchronous=False)


def _prepare(qtbot: Any, c: TrainingController, data: Path, out: Path, **settings: Any) -> None:
    if c.asynchronous:
        with qtbot.waitSignal(c.stats_applied, timeout=30_000):
            c.set_dataset(data)
    else:
        c.set_dataset(data)
    c.view.form.set_values({**TINY, **settings})
    c.update_cut()
    c.view.set_out_dir(str(out))
    c.set_text(PROBE)


def _records(c: TrainingController) -> list[Progress]:
    got: list[Progress] = []
    c.record_received.connect(got.append)
    return got


# -- settings and dataset -------------------------------------------------------------------------------


def test_form_defaults_are_the_engines(controller: TrainingController) -> None:
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    values = controller.view.form.values()
    assert values == {k: defaults[k] for k in values}
    assert {"epochs", "lr", "word_quantile", "sentence_quantile", "embed_dim", "device"} <= set(values)
    assert all(controller.view.form.inputs[k].toolTip() for k in values)
    with pytest.raises(ValueError, match="pick a dataset"):
        controller.config()
    assert not controller.view.start_button.isEnabled()


def test_dataset_statistics_and_histograms(sync_controller: TrainingController, toy: Path) -> None:
    c = sync_controller
    c.set_dataset(toy)
    stats = dataset_stats(toy)
    text = c.view.stats.text()
    assert "320 (jsonl)" in text and "neg 160 (50%)" in text and "pos 160 (50%)" in text
    assert "1.00" in text and "none" in text  # balance, no malformed rows
    part = stats.training_part(0.1, 13)
    words = c.view.words_histogram.data
    assert words is not None
    assert words.counts.tolist() == np.bincount(part.sentence_lengths).tolist()
    cut = part.cut(0.95, 0.95)
    assert c.cut == cut
    assert c.view.words_histogram.cut_length == cut.limits.max_words
    assert c.view.sentences_histogram.cut_length == cut.limits.max_sentences
    assert f"{cut.sentences_within:.1%}" in c.view.words_histogram.note.text()
    assert f"{cut.words_kept:.1%} of the words" in c.view.cut_summary.text()
    assert c.view.start_button.isEnabled()


def test_dragging_a_cut_sets_the_training_quantile(
    qtbot: Any, sync_controller: TrainingController, toy: Path
) -> None:
    c = sync_controller
    c.set_dataset(toy)
    before = c.cut
    assert before is not None
    target = before.limits.max_words - 1
    c.view.words_histogram.cut_moved.emit(float(target))  # what a drag of the line emits
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    q = c.view.form.value("word_quantile")
    assert q < 0.95
    assert c.cut is not None and c.cut.limits.max_words <= target
    assert c.view.words_histogram.cut_length == c.cut.limits.max_words
    assert c.cut.words_kept < before.words_kept
    assert f"{c.cut.words_kept:.1%}" in c.view.cut_summary.text()
    assert c.config().word_quantile == q  # the training setting follows
    # and the other way: typing a quantile moves the line
    c.view.form.inputs["sentence_quantile"].setValue(0.5)
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    part = dataset_stats(toy).training_part(0.1, 13)
    assert c.view.sentences_histogram.cut_length == part.cut(q, 0.5).limits.max_sentences


def test_malformed_dataset_shows_the_engines_report(
    sync_controller: TrainingController, tmp_path: Path
) -> None:
    c = sync_controller
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "", "label": "pos"}\n{nope\n', encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_dataset(broken)
    c.set_dataset(broken)
    assert c.view.report.text() == f"This dataset cannot be used: {err.value}"
    assert "b00020" in c.view.report.styleSheet()
    assert c.stats is None and not c.view.start_button.isEnabled() and not c.start()
    empty_folder = tmp_path / "imdb"
    empty_folder.mkdir()
    c.set_dataset(empty_folder)
    assert "no class folders" in c.view.report.text()
    # a dataset with some bad rows is usable, and says what it skipped
    rows = [json.dumps(r) for r in toy_rows(40, 0)]
    rows[2], rows[5] = "{oops", json.dumps({"text": "x", "label": None})
    partly = tmp_path / "partly.jsonl"
    partly.write_text("\n".join(rows) + "\n", encoding="utf-8")
    c.set_dataset(partly)
    assert c.view.report.text() == load_dataset(partly).skipped_summary()
    assert "2 skipped (invalid JSON 1, missing label 1)" in c.view.stats.text()
    assert c.view.start_button.isEnabled()


def test_command_line_runs_the_same_config(tmp_path: Path) -> None:
    from app.cli import _parser

    cfg = TrainConfig(
        data=str(tmp_path / "my data.jsonl"),
        out=str(tmp_path / "run"),
        epochs=4,
        lr=0.0035,
        word_quantile=0.875,
        limit=100,
        device="cpu",
        resume=True,
        embedding_dtype="float16",
    )
    cmd = command_line(cfg)
    assert "--embed-dim" not in cmd  # defaults are left out
    a = _parser().parse_args(shlex.split(cmd)[1:])
    kw = {
        f.name: getattr(a, f.name)
        for f in fields(TrainConfig)
        if getattr(a, f.name, None) is not None and f.name != "command"
    }
    assert TrainConfig(**kw) == replace(cfg, command="")


# -- a run ----------------------------------------------------------------------------------------------


def test_training_run_live(qtbot: Any, controller: TrainingController, toy: Path, tmp_path: Path) -> None:
    """Curves get points, progress advances, probe snapshots arrive, the window stays responsive."""
    c = controller
    _prepare(qtbot, c, toy, tmp_path / "out")
    records = _records(c)
    progress: list[int] = []
    c.view.progress.valueChanged.connect(progress.append)
    latency = EventLoopLatency()
    latency.start()
    with qtbot.waitSignal(c.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        assert c.start()
        assert c.running and c.view.cancel_button.isEnabled()
    latency.stop()
    print(f"\nevent-loop latency while training: {latency.report()}")
    assert finished.args == ["done"], c.view.status.text()
    latency.check()

    steps = [r for r in records if r.kind == "step"]
    evals = [r for r in records if r.kind == "eval"]
    total = next(r.total_steps for r in records if r.kind == "setup" and r.total_steps)
    assert len(steps) == total and len(evals) == TINY["epochs"] and records[-1].kind == "done"
    # progress advanced in order and reached the end
    assert len(progress) > 3 and progress == sorted(progress) and progress[-1] == total
    assert c.view.progress.maximum() == total
    assert c.view.rate.text().endswith("(epoch 3 of 3)")
    # the curves received every point
    x, y = c.view.curves.raw.getData()
    assert len(y) == total and y.tolist() == pytest.approx([r.loss for r in steps])
    assert c.view.curves.acc.getData()[1].tolist() == pytest.approx([r.dev_accuracy for r in evals])
    assert x[-1] == pytest.approx(TINY["epochs"])
    # one probe snapshot before training and one per evaluation; the scrubber goes back through them
    panel = c.view.probe
    assert len(panel.snapshots) == len(evals) + 1 and panel.scrubber.maximum() == len(evals)
    assert panel.index == len(evals)  # it followed the newest one
    seen = []
    for i in range(len(panel.snapshots) - 1, -1, -1):
        panel.scrubber.setValue(i)
        d = panel.editor.display
        assert d is not None and d.text == PROBE
        kw = int(
            np.flatnonzero(
                [PROBE[a:b] == "wonderful" for a, b in zip(d.word_start, d.word_end, strict=True)]
            )[0]
        )
        seen.append(float(d.product()[kw]))
        assert c.view.curves.markers[0].value() == panel.snapshots[i].epoch
    assert seen[-1] < 0.2 < seen[0], "the keyword should gain attention from the first to the last snapshot"
    assert "before training" in panel.caption.text()
    # the run's model is ready
    assert c.view.save_button.isEnabled() and c.view.use_button.isEnabled()
    assert c.view.status.text().startswith("Done:")
    assert not c.running and c.view.start_button.isEnabled()


def test_cancel_stops_and_leaves_a_loadable_checkpoint(
    qtbot: Any, controller: TrainingController, toy: Path, tmp_path: Path
) -> None:
    c = controller
    out = tmp_path / "out"
    _prepare(qtbot, c, toy, out, epochs=40)
    records = _records(c)
    assert c.start()
    qtbot.waitUntil(lambda: any(r.kind == "eval" for r in records), timeout=RUN_TIMEOUT_MS)
    seen_at_cancel = max(r.step for r in records)
    t0 = time.perf_counter()
    with qtbot.waitSignal(c.run_finished, timeout=30_000) as finished:
        c.cancel()
    took = time.perf_counter() - t0
    assert finished.args == ["cancelled"]
    total = next(r.total_steps for r in records if r.total_steps)
    last = max(r.step for r in records if r.kind == "step")
    assert last < total and last - seen_at_cancel < total // 4, (seen_at_cancel, last, total)
    assert took < 10
    assert not any(r.kind == "done" for r in records)
    assert "Cancelled at step" in c.view.status.text()
    # the child has exited; nothing half-written is left; checkpoint and model load
    assert not list(out.rglob(".*")), "temporary files or directories were left behind"
    cfg = replace(c.run.cfg, resume=True) if c.run else None
    assert cfg is not None
    resumed = checkpoint.load(out / "checkpoint", cfg)
    assert resumed.state.epoch >= 1 and resumed.state.step_in_epoch == 0
    assert resumed.state.step <= last
    bundle = load_bundle(out / "model")
    assert bundle.metadata["best_epoch"] <= resumed.state.epoch
    assert c.view.use_button.isEnabled()


def test_shutdown_mid_run_stops_the_child(qtbot: Any, context: Any, toy: Path, tmp_path: Path) -> None:
    c = _controller(qtbot, context)
    _prepare(qtbot, c, toy, tmp_path / "out", epochs=40)
    records = _records(c)
    assert c.start()
    qtbot.waitUntil(lambda: sum(r.kind == "step" for r in records) >= 5, timeout=RUN_TIMEOUT_MS)
    child = c._child
    assert child is not None and child.process is not None and child.process.is_alive()
    t0 = time.perf_counter()
    c.shutdown()
    assert time.perf_counter() - t0 < 15
    assert not child.process.is_alive() and child.process.exitcode == 0
    assert not c.running
    assert not list((tmp_path / "out").rglob(".*"))


def test_engine_errors_are_shown(
    qtbot: Any, controller: TrainingController, toy: Path, tmp_path: Path
) -> None:
    c = controller
    _prepare(qtbot, c, toy, tmp_path / "out")
    c.set_text("<br /><br />")  # a probe without a word
    with qtbot.waitSignal(c.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        c.start()
    assert finished.args == ["failed"]
    assert "Probe review: the text has no words" in c.view.status.text()
    assert not c.running and c.view.start_button.isEnabled() and not c.view.use_button.isEnabled()
    if torch.cuda.is_available():
        return
    c.set_text(PROBE)
    c.view.form.set_values({"device": "cuda"})  # a RuntimeError in the child
    with qtbot.waitSignal(c.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        c.start()
    assert finished.args == ["failed"]
    assert "torch sees no CUDA GPU" in c.view.status.text()


def test_inline_run_for_screenshots(sync_controller: TrainingController, tmp_path: Path) -> None:
    c = sync_controller
    data = write_toy(tmp_path / "small.jsonl", 60, seed=2)
    c.set_dataset(data)
    c.view.form.set_values({**TINY, "epochs": 1})
    c.view.set_out_dir(str(tmp_path / "out"))
    c.set_text(PROBE)
    assert c.start()
    assert not c.running and c.run is not None and c.run.outcome == "done"
    assert len(c.view.probe.snapshots) == 2
    assert c.model_dir == tmp_path / "out" / "model"


# -- the trained model in the app --------------------------------------------------------------------------


def test_save_and_use_in_attention_view(qtbot: Any, window: Any, toy: Path, tmp_path: Path) -> None:
    c = window.controllers["training"]
    window.show_view("training")
    _prepare(qtbot, c, toy, tmp_path / "out")
    with qtbot.waitSignal(c.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        c.start()
    assert finished.args == ["done"]
    # a folder that is not a model is never overwritten
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    assert c.save_model(taken) is None and (taken / "notes.txt").is_file()
    saved = c.save_model(tmp_path / "saved")
    assert saved == tmp_path / "saved"
    a, b = load_bundle(saved), load_bundle(tmp_path / "out" / "model")
    for k, v in b.model.state_dict().items():
        torch.testing.assert_close(a.model.state_dict()[k], v, rtol=0, atol=0)
    assert a.metadata["train_config"]["data"] == str(toy)
    assert a.metadata["dev_accuracy"] == b.metadata["dev_accuracy"]
    # one click: the Attention view shows the new model's reading of its review
    attention = window.attention
    with qtbot.waitSignal(window.context.model_changed, timeout=30_000):
        c.view.use_button.click()
    assert window.current_view == "attention"
    assert window.context.bundle.path == saved
    assert window.context.bundle.vocab == a.vocab
    attention.set_text(PROBE)
    assert attention.wait_idle(20_000)
    assert attention.display is not None and attention.display.label == "pos"


def test_probe_follows_the_attention_view(qtbot: Any, window: Any) -> None:
    c = window.controllers["training"]
    window.attention.set_text("A review typed in the Attention view.")
    assert window.attention.wait_idle(20_000)
    window.show_view("training")
    assert c.view.probe.probe_text() == "A review typed in the Attention view."
    c.set_text("My own probe.")
    window.show_view("attention")
    window.attention.set_text("Another review.")
    assert window.attention.wait_idle(20_000)
    window.show_view("training")
    assert c.view.probe.probe_text() == "My own probe."
    c.view.probe.from_attention.click()
    assert c.view.probe.probe_text() == "Another review."


def test_screenshot_of_the_training_view(tmp_path: Path) -> None:
    from app import gui

    out = gui.screenshot(tmp_path / "training.png", "training")
    image = QImage(str(out))
    assert (image.width(), image.height()) == gui.SCREENSHOT_SIZE


# -- nothing of the user's is overwritten unasked (issue 13) ------------------------------------------


def _trained(sync_controller: TrainingController, tmp_path: Path) -> TrainingController:
    c = sync_controller
    c.set_dataset(write_toy(tmp_path / "small.jsonl", 60, seed=2))
    c.view.form.set_values({**TINY, "epochs": 1})
    c.view.set_out_dir(str(tmp_path / "out"))
    assert c.start() and c.run is not None and c.run.outcome == "done"
    return c


def test_save_never_writes_the_shipped_model(
    sync_controller: TrainingController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resources import model_dir

    c = _trained(sync_controller, tmp_path)
    shipped = Path(model_dir())
    before = {p.name: p.stat().st_mtime_ns for p in shipped.iterdir()}
    monkeypatch.setattr(c.view, "confirm", lambda *a: True)  # even a "yes" changes nothing
    assert c.save_model(shipped) is None
    assert "shipped model" in c.view.status.text() and "read-only" in c.view.status.text()
    assert {p.name: p.stat().st_mtime_ns for p in shipped.iterdir()} == before


def test_save_over_a_model_asks_first(
    sync_controller: TrainingController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _trained(sync_controller, tmp_path)
    first = c.save_model(tmp_path / "mine")
    assert first is not None
    before = (first / "model.safetensors").read_bytes()
    asked: list[str] = []
    monkeypatch.setattr(c.view, "confirm", lambda title, text: asked.append(text) or False)
    assert c.save_model(first) is None  # "No": the model stays as it was
    assert asked and "already holds a model" in asked[0]
    assert (first / "model.safetensors").read_bytes() == before
    monkeypatch.setattr(c.view, "confirm", lambda title, text: True)
    assert c.save_model(first) == first


def test_save_on_a_full_disk_says_so_and_keeps_the_old_model(
    sync_controller: TrainingController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import engine.bundle

    c = _trained(sync_controller, tmp_path)
    target = c.save_model(tmp_path / "mine")
    assert target is not None
    before = (target / "model.json").read_bytes()

    def no_space(*a: Any, **k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(c.view, "confirm", lambda *a: True)
    monkeypatch.setattr(engine.bundle, "save_file", no_space)
    assert c.save_model(target) is None
    status = c.view.status.text()
    assert "Could not save" in status and "space" in status and "\n" not in status
    assert (target / "model.json").read_bytes() == before


def test_new_runs_go_to_a_private_folder_of_the_user(sync_controller: TrainingController) -> None:
    import stat

    from app.training_controller import runs_root

    root = runs_root()
    assert not str(root).startswith("/tmp/han-explorer")
    assert stat.S_IMODE(root.stat().st_mode) & 0o077 == 0
    assert Path(sync_controller.view.out_dir()).parent == root


def test_a_planted_symlink_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any
) -> None:
    from app.training_controller import runs_root

    data = tmp_path / "data"
    (data / "HAN Explorer" / "han-explorer").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (data / "HAN Explorer" / "han-explorer" / "runs").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    with pytest.raises(OSError, match="not a folder of yours"):
        runs_root()


def test_starting_into_a_folder_with_a_run_asks_first(
    sync_controller: TrainingController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _trained(sync_controller, tmp_path)
    model = (tmp_path / "out" / "model" / "model.safetensors").read_bytes()
    monkeypatch.setattr(c.view, "confirm", lambda *a: False)
    assert not c.start()
    assert "already holds a run" in c.view.status.text()
    assert (tmp_path / "out" / "model" / "model.safetensors").read_bytes() == model
    monkeypatch.setattr(c.view, "confirm", lambda *a: True)
    assert c.start() and c.run is not None and c.run.cfg.force and c.run.outcome == "done"
    assert "--force" in c.run.cfg.command
