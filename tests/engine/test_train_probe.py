"""The probe review that train() re-scores at each evaluation, and cancelling a run part-way."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import checkpoint
from engine.analyze import Analysis, InputError, analyze
from engine.bundle import load_bundle
from engine.data import DatasetError
from engine.train import Progress, TrainConfig, train
from engine.train_process import TrainingProcess, train_to_pipe
from tests.toy_data import write_toy

ToyConfig = Callable[..., TrainConfig]

# one sentiment keyword ("wonderful"), the rest filler the toy data uses in both classes
PROBE = "The film was a story about some people. It had scenes and it was wonderful in a town."


def _keyword_share(a: Analysis, word: str = "wonderful") -> float:
    """The keyword's word weight times its sentence's weight."""
    return sum(w.weight * s.weight for s in a.sentences for w in s.words if w.text == word)


@pytest.fixture(scope="module")
def probe_run(
    tmp_path_factory: pytest.TempPathFactory, toy_config: ToyConfig
) -> tuple[TrainConfig, list[Progress]]:
    root = tmp_path_factory.mktemp("probe_run")
    cfg = toy_config(write_toy(root / "toy.jsonl", 400, seed=0), root / "out", epochs=4)
    return cfg, list(train(cfg, probe=PROBE))


def test_probe_scored_before_training_and_at_every_eval(
    probe_run: tuple[TrainConfig, list[Progress]],
) -> None:
    _, records = probe_run
    with_probe = [r for r in records if "probe" in r.extra]
    setups = [r for r in records if r.kind == "setup"]
    evals = [r for r in records if r.kind == "eval"]
    assert with_probe == [setups[-1], *evals]  # the setup record that opens training, then evals
    assert setups[-1].total_steps > 0
    assert not any("probe" in r.extra for r in records if r.kind in ("step", "done"))
    for r in with_probe:
        a = r.extra["probe"]
        assert isinstance(a, Analysis)
        assert a.text == PROBE
        assert a.label in ("neg", "pos")
        assert math.isclose(sum(a.probabilities.values()), 1.0, abs_tol=1e-6)
        assert math.isclose(sum(s.weight for s in a.sentences), 1.0, abs_tol=1e-6)
        for s in a.sentences:
            assert math.isclose(sum(w.weight for w in s.words), 1.0, abs_tol=1e-6)


def test_probe_attention_forms_on_the_keyword(probe_run: tuple[TrainConfig, list[Progress]]) -> None:
    _, records = probe_run
    snaps = [r.extra["probe"] for r in records if "probe" in r.extra]
    before, after = snaps[0], snaps[-1]
    n_words = before.n_words
    assert _keyword_share(before) < 2.0 / n_words  # near uniform before training
    assert _keyword_share(after) > 0.5  # the model learned where the label is
    assert after.label == "pos" and after.probabilities["pos"] > 0.9
    heaviest = max((w for s in after.sentences for w in s.words), key=lambda w: w.weight)
    assert heaviest.text == "wonderful"


def test_last_snapshot_is_what_the_saved_model_says(probe_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = probe_run
    bundle = load_bundle(Path(cfg.out) / "model")
    best = bundle.metadata["best_epoch"]
    snap = next(r.extra["probe"] for r in records if r.kind == "eval" and r.epoch == best)
    again = analyze(bundle, PROBE)
    assert again.label == snap.label
    for s0, s1 in zip(snap.sentences, again.sentences, strict=True):
        assert s0.weight == pytest.approx(s1.weight, abs=1e-5)
        assert [w.weight for w in s0.words] == pytest.approx([w.weight for w in s1.words], abs=1e-5)


def test_probe_is_in_the_log(probe_run: tuple[TrainConfig, list[Progress]]) -> None:
    cfg, records = probe_run
    lines = (Path(cfg.out) / "logs" / "rank0.jsonl").read_text(encoding="utf-8").splitlines()
    logged = [json.loads(x) for x in lines if json.loads(x)["kind"] == "eval"]
    assert len(logged) == sum(r.kind == "eval" for r in records)
    assert logged[-1]["extra"]["probe"]["text"] == PROBE
    assert logged[-1]["extra"]["probe"]["label"] == records[-2].extra["probe"].label


def test_probe_changes_nothing_in_training(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 120, seed=1)
    plain = list(train(toy_config(data, tmp_path / "a", epochs=2, dropout=0.3, embed_dropout=0.2)))
    probed = list(
        train(toy_config(data, tmp_path / "b", epochs=2, dropout=0.3, embed_dropout=0.2), probe=PROBE)
    )
    assert plain[-1].extra["weights_sha256"] == probed[-1].extra["weights_sha256"]
    assert [r.loss for r in plain if r.kind == "step"] == [r.loss for r in probed if r.kind == "step"]


def test_blank_probe_means_none(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 60, seed=1)
    records = list(train(toy_config(data, tmp_path / "out", epochs=1), probe="  \n "))
    assert not any("probe" in r.extra for r in records)


def test_probe_without_words_fails_before_reading_data(tmp_path: Path, toy_config: ToyConfig) -> None:
    gen = train(toy_config(tmp_path / "missing.jsonl", tmp_path / "out"), probe="<br /><br />")
    with pytest.raises(InputError, match="no words"):
        next(gen)
    assert not (tmp_path / "out").exists()


# -- cancelling: the last good checkpoint stays as it was ------------------------------------------------


def _file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cancel_mid_epoch_keeps_the_last_checkpoint(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 120, seed=1)
    cfg = toy_config(data, tmp_path / "out", epochs=3)
    out = Path(cfg.out)
    gen = train(cfg, probe=PROBE)
    saved: dict[str, dict[str, str]] = {}
    steps_after_eval = 0
    for rec in gen:
        if rec.kind == "eval":
            saved = {"checkpoint": _file_hashes(out / "checkpoint"), "model": _file_hashes(out / "model")}
        elif rec.kind == "step" and saved:
            steps_after_eval += 1
            if steps_after_eval == 2:
                break
    gen.close()  # what a GUI cancel amounts to
    assert saved, "the run never reached its first evaluation"
    assert _file_hashes(out / "checkpoint") == saved["checkpoint"]
    assert _file_hashes(out / "model") == saved["model"]
    assert not list(out.rglob(".*")), "temporary files or directories were left behind"
    state = json.loads((out / "checkpoint" / "state.json").read_text(encoding="utf-8"))["state"]
    assert (state["epoch"], state["step_in_epoch"]) == (1, 0)
    load_bundle(out / "model")
    resumed_from = checkpoint.load(out / "checkpoint", toy_config(data, out, epochs=3, resume=True))
    assert resumed_from.state.epoch == 1
    # and the run can be finished from there
    rest = list(train(toy_config(data, out, epochs=3, resume=True)))
    assert [r.epoch for r in rest if r.kind == "eval"] == [2, 3]


# -- the same run in a child process: records through a pipe, cancel by an event --------------------------


class _Conn:
    """Records what train_to_pipe sends; sets ``stop`` once it has sent the step ``stop_at``."""

    def __init__(self, stop: threading.Event, stop_at: int | None = None) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.stop, self.stop_at = stop, stop_at
        self.closed = False

    def send(self, obj: tuple[str, Any]) -> None:
        pickle.dumps(obj)  # it must be able to cross a real pipe
        self.sent.append(obj)
        kind, rec = obj
        if kind == "record" and rec.kind == "step" and rec.step == self.stop_at:
            self.stop.set()

    def close(self) -> None:
        self.closed = True


def test_train_to_pipe_sends_every_record_then_end(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 60, seed=1)
    direct = list(train(toy_config(data, tmp_path / "a", epochs=1), probe=PROBE))
    conn = _Conn(threading.Event())
    train_to_pipe(toy_config(data, tmp_path / "b", epochs=1), PROBE, conn, conn.stop)
    assert conn.closed
    assert [k for k, _ in conn.sent] == ["record"] * len(direct) + ["end"]
    piped = [r for _, r in conn.sent[:-1]]
    assert [(r.kind, r.step, r.loss) for r in piped] == [(r.kind, r.step, r.loss) for r in direct]
    assert piped[-1].extra["weights_sha256"] == direct[-1].extra["weights_sha256"]
    assert [r.extra["probe"].label for r in piped if "probe" in r.extra] == [
        r.extra["probe"].label for r in direct if "probe" in r.extra
    ]


def test_train_to_pipe_stops_right_after_the_record_it_was_stopped_on(
    tmp_path: Path, toy_config: ToyConfig
) -> None:
    data = write_toy(tmp_path / "small.jsonl", 120, seed=1)
    out = tmp_path / "out"
    conn = _Conn(threading.Event(), stop_at=9)  # epoch 1 has 7 steps: this is inside epoch 2
    train_to_pipe(toy_config(data, out, epochs=3), None, conn, conn.stop)
    kinds = [(k, getattr(r, "kind", None), getattr(r, "step", None)) for k, r in conn.sent]
    assert kinds[-2:] == [("record", "step", 9), ("end", None, None)]
    assert not list(out.rglob(".*"))
    state = json.loads((out / "checkpoint" / "state.json").read_text(encoding="utf-8"))["state"]
    assert (state["epoch"], state["step_in_epoch"]) == (1, 0)
    load_bundle(out / "model")


def test_train_to_pipe_reports_errors(tmp_path: Path, toy_config: ToyConfig) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{nope\n", encoding="utf-8")
    conn = _Conn(threading.Event())
    train_to_pipe(toy_config(bad, tmp_path / "out"), None, conn, conn.stop)
    assert [k for k, _ in conn.sent] == ["error", "end"]
    err = conn.sent[0][1]
    assert isinstance(err, DatasetError) and "no usable rows" in str(err)
    conn = _Conn(threading.Event())
    train_to_pipe(toy_config(bad, tmp_path / "out"), "<br />", conn, conn.stop)
    assert isinstance(conn.sent[0][1], InputError)


def test_training_process_trains_in_a_child(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 60, seed=1)
    child = TrainingProcess(toy_config(data, tmp_path / "child", epochs=1), PROBE, threads=1, nice=5)
    records = list(child.records())
    assert child.process.pid != os.getpid() and child.process.exitcode == 0
    direct = list(train(toy_config(data, tmp_path / "here", epochs=1), probe=PROBE))
    assert [r.kind for r in records] == [r.kind for r in direct]
    assert records[-1].extra["weights_sha256"] == direct[-1].extra["weights_sha256"]
    assert records[-2].extra["probe"].label == direct[-2].extra["probe"].label


def test_training_process_stops_and_reports_errors(tmp_path: Path, toy_config: ToyConfig) -> None:
    data = write_toy(tmp_path / "small.jsonl", 120, seed=1)
    out = tmp_path / "out"
    child = TrainingProcess(toy_config(data, out, epochs=50), threads=1)
    got = []
    for rec in child.records():  # ends by itself once the child has stopped
        got.append(rec)
        if rec.kind == "eval":
            child.stop()
    assert child.process.exitcode == 0
    assert not any(r.kind == "done" for r in got)
    assert max(r.epoch for r in got) <= 2  # it stopped within a step of being asked
    assert not list(out.rglob(".*"))
    load_bundle(out / "model")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{nope\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no usable rows"):
        list(TrainingProcess(toy_config(bad, tmp_path / "bad")).records())
