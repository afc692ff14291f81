"""Controller of the Training explorer.

Wiring:

* **Dataset.** ``set_dataset`` (the view's path field, File… or Folder…) runs
  :func:`engine.dataset_stats.dataset_stats_steps` through the job runner (:mod:`app.jobs`): a newer
  dataset stops the older reading and only the newest answer is shown. A dataset the readers refuse
  shows the engine's one-line message.
* **Cuts.** The training part (dev fraction, seed and first-rows settings) gives a
  :class:`~engine.dataset_stats.LengthProfile`, cached per setting; its ``cut`` is exactly the
  limits training will choose. A dragged histogram line asks the profile for the quantile that
  gives that length and writes it into the form; a changed quantile moves the line.
* **Run.** ``start`` builds a :class:`~engine.train.TrainConfig` from the form (whose defaults are
  ``TrainConfig``'s) and runs :func:`engine.train.train`, with the probe review, in a child process
  (:class:`engine.train_process.TrainingProcess`: in a thread of this process it stalled the event
  loop for 100-300 ms); the job runner relays the records. They land in plain buffers,
  and a 10 Hz timer pushes them to the curves and the progress bar, so a fast run cannot flood the
  event loop; records of an older run are dropped. ``cancel`` asks the child to stop at its next
  step (its generator is closed there: the last checkpoint and best model stay as they were); the
  run is finished once the child has exited. ``shutdown`` also terminates it after a timeout.
* **Model.** Save loads the run's best model and writes it with :func:`engine.bundle.save_bundle`
  (atomically), after :func:`engine.runs.check_model_dir`: the shipped model is never written, and
  a folder that holds a model is replaced only when the user confirms. A run folder that already
  holds a run is likewise replaced only on confirmation. "Use in Attention view" opens the model
  through the context and brings the Attention view to the front.

New runs go to the user's own data folder (``runs_root()``), never a shared temporary path.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from dataclasses import MISSING, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QStandardPaths, QThreadPool, QTimer, Signal
from superqt.utils import QSignalDebouncer

from app.display import CutSummary, DatasetSummary, HistogramData, ProbeSnapshot, RunProgress
from app.jobs import Jobs
from app.present import attention_display
from app.widgets import TrainingView
from app.widgets._training_form import FIELDS
from engine.train_config import TrainConfig

if TYPE_CHECKING:
    from collections.abc import Generator

    from app.context import AppContext
    from engine.dataset_stats import DatasetStats, LengthCut, LengthProfile
    from engine.train import Progress
    from engine.train_process import TrainingProcess

__all__ = ["TrainingController", "command_line", "runs_root"]

REFRESH_MS = 100  # curves and progress bar are redrawn at most this often
NICE = 10  # CPU priority the training process gives up to the window
CUT_DEBOUNCE_MS = 60
_CUT_FIELDS = {"word_quantile", "sentence_quantile", "dev_fraction", "seed", "limit"}
_FLAGS = {"resume", "force"}  # TrainConfig booleans that are command-line switches


def _setting_value(spec: Any, value: Any) -> Any:
    """``value`` as the form's field ``spec`` takes it, or None if it does not fit."""
    if value is None or isinstance(value, dict | list):
        return None
    if spec.kind == "bool":
        return value if isinstance(value, bool) else None
    if spec.kind == "choice":
        return value if isinstance(value, str) and value in spec.choices else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not spec.minimum <= value <= spec.maximum:
        return None
    return int(value) if spec.kind in ("int", "limit") else float(value)


def runs_root() -> Path:
    """The user's own folder for training runs (``~/.local/share/HAN Explorer/han-explorer/runs`` on
    Linux), created private. A shared temporary folder let another user plant a symlink there."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    root = Path(base or Path.home() / ".han-explorer") / "runs"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise OSError(f"{root} is not a folder of yours: remove it or choose an output folder")
    return root


def _relay(records: Generator[Progress, None, Any]) -> Generator[Progress, None, Any]:
    """A run's records, passed on; the probe check's error says it is about the probe."""
    from engine.analyze import InputError

    try:
        return (yield from records)
    except InputError as e:  # train() reads the probe before anything else
        raise InputError(f"Probe review: {e}") from None


def command_line(cfg: TrainConfig) -> str:
    """The ``han-explorer train`` command that runs ``cfg`` (settings left at their default omitted)."""
    args = ["han-explorer", "train", "--data", cfg.data, "--out", cfg.out]
    for f in fields(TrainConfig):
        value = getattr(cfg, f.name)
        if f.name not in ("data", "out", "command", *_FLAGS) and value != f.default:
            args += [f"--{f.name.replace('_', '-')}", str(value)]
    args += [f"--{flag}" for flag in sorted(_FLAGS) if getattr(cfg, flag)]
    return shlex.join(args)


class _Run:
    """What one training run has reported so far (plain buffers the timer draws from)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.steps: list[tuple[float, float]] = []  # (epoch position, loss)
        self.evals: list[tuple[int, float, float]] = []  # (epoch, mean loss, dev accuracy)
        self.snapshots: list[ProbeSnapshot] = []
        self.total = 0
        self.last: Progress | None = None
        self.first_step: Progress | None = None
        self.best_epoch = 0
        self.drawn = (0, 0)  # (steps, evals) already on the curves
        self.outcome = ""  # done, cancelled, failed
        self.message = ""

    @property
    def steps_per_epoch(self) -> float:
        return self.total / self.cfg.epochs if self.total else 1.0

    @property
    def model_dir(self) -> Path:
        return Path(self.cfg.out) / "model"


class TrainingController(QObject):
    """Owns the training view, the dataset statistics, the run and its worker.

    Signals
    -------
    stats_applied(int)
        The view shows the statistics of dataset request ``generation``.
    stats_failed(int, str)
    record_received(object)
        A Progress record of the current run, on the GUI thread.
    run_finished(str)
        The run ended: "done", "cancelled" or "failed".
    """

    name = "training"
    title = "Training"
    stats_applied = Signal(int)
    stats_failed = Signal(int, str)
    record_received = Signal(object)
    run_finished = Signal(str)

    def __init__(
        self, context: AppContext, asynchronous: bool = True, view: TrainingView | None = None
    ) -> None:
        super().__init__()
        self.context = context
        self.defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
        self.view = view or TrainingView(self.defaults)
        self.widget = self.view
        self.stats: DatasetStats | None = None
        self.cut: LengthCut | None = None
        self._profiles: dict[tuple[Any, ...], LengthProfile] = {}
        self._histogram_key: tuple[Any, ...] | None = None
        self.jobs = Jobs(asynchronous, self)
        self.applied_generation = 0
        self.run: _Run | None = None
        self.saved_path: Path | None = None
        self._child: TrainingProcess | None = None
        self._running = False
        self._probe_follows_attention = True
        self._restored = False
        self._auto_out = self._new_run_dir()
        self.view.set_out_dir(str(self._auto_out) if self._auto_out else "")
        self._refresh = QTimer(self, interval=REFRESH_MS)
        self._refresh.timeout.connect(self._flush)
        self._cut_pending = False
        self._cut_debounce = QSignalDebouncer(parent=self)
        self._cut_debounce.setTimeout(CUT_DEBOUNCE_MS)
        self._cut_debounce.triggered.connect(self._on_cut_debounced)
        self._wire()
        self._restore_settings()
        self.view.installEventFilter(self)
        pool = QThreadPool.globalInstance()  # a long run takes a thread; keep others for scoring
        pool.setMaxThreadCount(max(pool.maxThreadCount(), 4))

    def _wire(self) -> None:
        v = self.view
        v.dataset_chosen.connect(self.set_dataset)
        v.format_changed.connect(lambda _: self.set_dataset(v.path.text().strip()))
        v.cut_moved.connect(self.move_cut)
        v.setting_changed.connect(self._on_setting_changed)
        v.start_requested.connect(self.start)
        v.cancel_requested.connect(self.cancel)
        v.save_requested.connect(self.save_model)
        v.use_requested.connect(self.use_in_attention)
        v.probe.probe_edited.connect(self._on_probe_edited)
        v.probe.from_attention_requested.connect(self._probe_from_attention)
        v.probe.snapshot_selected.connect(self._on_snapshot_selected)

    @property
    def generation(self) -> int:
        return self.jobs.generation("stats")

    @property
    def dropped(self) -> int:
        return self.jobs.dropped

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Show:
            self._on_shown()
        return False

    def _on_shown(self) -> None:
        if self._probe_follows_attention and not self.running and self.context.review_text:
            self.view.probe.set_probe_text(self.context.review_text)
        s = self.context.settings
        if not self._restored and s is not None and self.stats is None and not self.view.path.text():
            self._restored = True
            last = str(s.value("training/dataset", "") or "")
            if last and Path(last).exists():
                self.set_dataset(last, str(s.value("training/format", "auto")))

    # -- dataset ------------------------------------------------------------------------------------
    def set_dataset(self, path: str | Path, fmt: str | None = None) -> None:
        """Read ``path`` and show its statistics (off-thread unless synchronous)."""
        from engine.dataset_stats import dataset_stats_steps

        if fmt is not None:
            self.view.set_format(fmt)
        path = str(path)
        self.view.set_dataset_path(path)
        self.jobs.cancel("stats")
        self.stats, self.cut, self._histogram_key = None, None, None
        self._profiles.clear()
        self.view.set_can_start(False)
        self.view.set_histograms(None, None)
        if not path:
            self.view.set_stats(None, "")
            return
        self.view.set_stats(None, f"Reading {Path(path).name}…")
        self.jobs.submit(
            "stats",
            dataset_stats_steps,
            path,
            self.view.dataset_format,
            on_result=self._on_stats,
            on_error=self._on_stats_error,
            on_progress=self._on_stats_progress,
        )

    @property
    def asynchronous(self) -> bool:
        return self.jobs.asynchronous

    def _on_stats_progress(self, gen: int, line: str) -> None:
        self.view.set_stats(None, f"Reading {Path(self.view.path.text()).name}: {line}…")

    def _on_stats(self, gen: int, stats: DatasetStats) -> None:
        self.stats = stats
        self.update_cut()
        self.applied_generation = gen
        if self.context.settings is not None:
            self.context.settings.setValue("training/dataset", stats.source)
            self.context.settings.setValue("training/format", self.view.dataset_format)
        self.stats_applied.emit(gen)

    def _on_stats_error(self, gen: int, message: str) -> None:
        self.view.set_stats(None, f"This dataset cannot be used: {message}", error=True)
        self.stats_failed.emit(gen, message)

    def _summary(self, part: LengthProfile) -> DatasetSummary:
        st = self.stats
        assert st is not None
        return DatasetSummary(
            st.documents,
            st.format,
            tuple(st.class_counts().items()),
            st.balance,
            st.skipped,
            tuple(st.skipped_reasons.items()),
            st.empty_documents,
            st.words,
            int(st.lengths.sentence_lengths.size),
            part.documents,
        )

    # -- length cuts --------------------------------------------------------------------------------
    def _profile(self) -> LengthProfile:
        assert self.stats is not None
        v = self.view.form.values()
        key = (v["dev_fraction"], v["seed"], v["limit"])
        if key not in self._profiles:
            self._profiles[key] = self.stats.training_part(*key)
        return self._profiles[key]

    def _schedule_cut(self) -> None:
        self._cut_pending = True
        self._cut_debounce.throttle()

    def _on_cut_debounced(self) -> None:
        if self._cut_pending:
            self.update_cut()

    def update_cut(self) -> None:
        """Recompute the cuts from the form's settings and show them."""
        self._cut_pending = False
        if self.stats is None:
            return
        v = self.view.form.values()
        part = self._profile()
        key = (v["dev_fraction"], v["seed"], v["limit"])
        if key != self._histogram_key:
            self._histogram_key = key
            self.view.set_histograms(
                HistogramData(np.bincount(part.sentence_lengths), "words", "sentences"),
                HistogramData(np.bincount(part.document_lengths), "sentences", "documents"),
            )
        self.view.set_stats(self._summary(part), self.stats.skipped_summary)
        if part.documents == 0:
            self.view.set_can_start(False)
            self.view.set_status("The training part has no documents with these settings.", error=True)
            return
        cut = self.cut = part.cut(v["word_quantile"], v["sentence_quantile"])
        lim, t = cut.limits, cut.truncation
        self.view.set_cuts(
            CutSummary(
                lim.max_words,
                v["word_quantile"],
                cut.sentences_within,
                lim.max_sentences,
                v["sentence_quantile"],
                cut.documents_within,
                cut.words_kept,
                cut.documents,
                t.documents,
                t.sentences,
                t.words,
            )
        )
        self.view.set_can_start(True)

    def move_cut(self, kind: str, length: float) -> None:
        """A histogram line was dragged to ``length``: set the quantile that gives that limit."""
        if self.stats is None:
            return
        q = self._profile().quantile_for("words" if kind == "words" else "sentences", length)
        self.view.form.set_values({"word_quantile" if kind == "words" else "sentence_quantile": q})
        self._schedule_cut()

    def _on_setting_changed(self, name: str) -> None:
        if name in _CUT_FIELDS:
            self._schedule_cut()
        self._save_settings()

    # -- settings kept between sessions --------------------------------------------------------------
    def _save_settings(self) -> None:
        """The form's settings that differ from the defaults, as JSON under ``training/settings``."""
        if self.context.settings is None:
            return
        values = self.view.form.values()
        changed = {k: v for k, v in values.items() if v != self.defaults.get(k)}
        self.context.settings.setValue("training/settings", json.dumps(changed, sort_keys=True))

    def _restore_settings(self) -> None:
        """The settings saved last time; a value that no longer fits (hand-edited, another version)
        is left at its default."""
        s = self.context.settings
        raw = s.value("training/settings", "") if s is not None else ""
        try:
            saved = json.loads(str(raw)) if raw else {}
        except ValueError:
            return
        if not isinstance(saved, dict):
            return
        for spec in FIELDS:
            value = _setting_value(spec, saved.get(spec.name))
            if value is not None:
                self.view.form.set_values({spec.name: value})

    # -- the probe ----------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Use ``text`` as the probe review (it no longer follows the Attention view's review)."""
        self._probe_follows_attention = False
        self.view.probe.set_probe_text(text)

    def _on_probe_edited(self) -> None:
        self._probe_follows_attention = False

    def _probe_from_attention(self) -> None:
        self._probe_follows_attention = True
        self.view.probe.set_probe_text(self.context.review_text)

    def _on_snapshot_selected(self, index: int) -> None:
        snaps = self.run.snapshots if self.run else []
        self.view.curves.set_marker(snaps[index].epoch if 0 <= index < len(snaps) else None)

    # -- the run ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def _new_run_dir(self) -> Path | None:
        """A new folder name under :func:`runs_root` (None where that folder cannot be made)."""
        try:
            root = runs_root()
        except OSError:
            return None
        base = root / f"run-{datetime.now():%Y%m%d-%H%M%S}"
        path, n = base, 1
        while path.exists() or path.is_symlink():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path

    def config(self, force: bool = False) -> TrainConfig:
        """The settings in the view as a TrainConfig; ValueError (one line) if they are not valid."""
        from engine.runs import check_run_dir

        if self.stats is None:
            raise ValueError("pick a dataset first")
        out, values = self.view.out_dir(), self.view.form.values()
        auto = str(self._auto_out) if self._auto_out else None
        if not out or (out == auto and Path(out).exists() and not values["resume"]):
            self._auto_out = self._new_run_dir()  # a fresh default folder for every run
            if self._auto_out is None:
                raise ValueError("no folder of yours for runs could be made: choose an output folder")
            out = str(self._auto_out)
            self.view.set_out_dir(out)
        cfg = TrainConfig(data=self.stats.source, out=out, format=self.stats.format, force=force, **values)
        check_run_dir(cfg.out, cfg.resume, cfg.force)  # RunDirError is a ValueError
        return replace(cfg, command=command_line(cfg))

    def _confirmed_config(self) -> TrainConfig:
        """:meth:`config`, asking before a run already in the output folder is replaced."""
        from engine.runs import RunDirError

        try:
            return self.config()
        except RunDirError as refused:
            try:
                cfg = self.config(force=True)
            except ValueError:
                raise refused from None
            if not self.view.confirm(
                "Replace the run?",
                f"{cfg.out} already holds a training run. "
                "Replace its model, checkpoint and logs with a new run?\n\n(Tick "
                "“Resume” instead to continue it.)",
            ):
                raise ValueError("the output folder already holds a run: kept it") from None
            return cfg

    def start(self) -> bool:
        """Start training with the view's settings and probe; False (and a message) if it cannot."""
        from engine.train import train

        if self.running:
            return False
        try:
            cfg = self._confirmed_config()
        except ValueError as e:
            self.view.set_status(f"Cannot start: {e}", error=True)
            return False
        self.run = _Run(cfg)
        self.saved_path = None
        typed = self.view.probe.probe_text()
        probe = typed if typed.strip() else None
        self.view.curves.clear_curves()
        self.view.curves.set_epochs(cfg.epochs)
        self.view.probe.set_snapshots([], -1)
        self.view.set_progress(None)
        self.view.set_status(f"Starting: {cfg.command}")
        self.view.set_model_ready(False)
        self.view.set_running(True)
        self._running = True
        if not self.asynchronous:  # train() itself, inline (tests): the same records
            self.jobs.submit(
                "run",
                lambda: _relay(train(cfg, probe=probe)),
                on_result=self._on_finished,
                on_error=self._on_error,
                on_progress=self._on_record,
            )
            return True
        from engine.train_process import TrainingProcess

        # a core and the first turn on the CPU are left to the window
        self._child = TrainingProcess(cfg, probe, threads=max(1, (os.cpu_count() or 2) - 1), nice=NICE)
        self.view.set_status("Starting the training process…")
        self._refresh.start()
        child = self._child
        self.jobs.submit(
            "run",
            lambda: _relay(child.records()),
            on_result=self._on_finished,
            on_error=self._on_error,
            on_progress=self._on_record,
        )
        return True

    def cancel(self) -> None:
        """Stop at the next step; the last checkpoint and the best model so far stay."""
        if self.run is not None and self.running:
            self.run.outcome = "cancelled"
            if self._child is not None:
                self._child.stop()  # the run reports finished once the child has stopped
            self.view.set_status("Cancelling at the next step…")

    def _on_record(self, _gen: int, rec: Progress) -> None:
        run = self.run
        if run is None:
            return
        if rec.kind == "step":
            run.first_step = run.first_step or rec
            run.last = rec
            run.steps.append((rec.step / run.steps_per_epoch, rec.loss or 0.0))
        elif rec.kind == "setup":
            self._on_setup(run, rec)
        elif rec.kind == "eval":
            self._on_eval(run, rec)
        elif rec.kind == "done":
            run.outcome, run.message = "done", rec.message
        self.record_received.emit(rec)

    def _on_setup(self, run: _Run, rec: Progress) -> None:
        self.view.set_status(rec.message)
        if rec.total_steps:
            run.total = rec.total_steps
        if "probe" in rec.extra:
            self._add_snapshot(
                run,
                ProbeSnapshot("before training", 0.0, rec.step, None, attention_display(rec.extra["probe"])),
            )

    def _on_eval(self, run: _Run, rec: Progress) -> None:
        acc = rec.dev_accuracy or 0.0
        if not run.evals or acc > max(e[2] for e in run.evals):
            run.best_epoch = rec.epoch
        run.evals.append((rec.epoch, rec.loss or 0.0, acc))
        run.last = rec
        best = rec.best_dev_accuracy or 0.0
        self.view.set_status(
            f"Epoch {rec.epoch}: dev accuracy {acc:.2%} (best {best:.2%}, epoch {run.best_epoch})."
        )
        if "probe" in rec.extra:
            self._add_snapshot(
                run,
                ProbeSnapshot(
                    f"epoch {rec.epoch}",
                    float(rec.epoch),
                    rec.step,
                    acc,
                    attention_display(rec.extra["probe"]),
                ),
            )

    def _add_snapshot(self, run: _Run, snap: ProbeSnapshot) -> None:
        panel = self.view.probe
        following = panel.index >= len(run.snapshots) - 1  # at the newest one: keep following
        run.snapshots.append(snap)
        index = len(run.snapshots) - 1 if following else panel.index
        saved = next(
            (
                i
                for i, s in enumerate(run.snapshots)
                if s.dev_accuracy is not None and s.epoch == run.best_epoch
            ),
            -1,
        )
        panel.set_snapshots(run.snapshots, index, saved)
        self._on_snapshot_selected(index)

    def _flush(self) -> None:
        run = self.run
        if run is None:
            return
        if len(run.steps) > run.drawn[0]:
            xy = np.asarray(run.steps, dtype=float)
            self.view.curves.set_steps(xy[:, 0], xy[:, 1])
        if len(run.evals) > run.drawn[1]:
            ev = np.asarray(run.evals, dtype=float)
            self.view.curves.set_evals(ev[:, 0], ev[:, 1], ev[:, 2])
        run.drawn = (len(run.steps), len(run.evals))
        last, first = run.last, run.first_step
        if last is None or first is None:
            return
        per_step = last.elapsed_s / max(last.step - first.step + 1, 1)
        left = None if run.outcome else per_step * max(run.total - last.step, 0)
        rate = last.docs_per_s if last.kind == "step" else None
        self.view.set_progress(
            RunProgress(last.step, run.total, last.epoch, run.cfg.epochs, last.elapsed_s, left, rate)
        )

    def _on_error(self, gen: int, message: str) -> None:
        if self.run is not None:
            self.run.outcome = "failed"
            self.run.message = message
            self.view.set_status(f"Training failed: {message}", error=True)
        self._on_finished(gen)

    def _on_finished(self, _gen: int, _result: Any = None) -> None:
        run = self.run
        if run is None or not self._running:
            return
        self._refresh.stop()
        self._child = None
        self._running = False
        self._flush()
        self.view.set_running(False)
        has_model = (run.model_dir / "model.json").is_file()
        self.view.set_model_ready(has_model)
        if run.outcome == "cancelled":
            at = f"at step {run.last.step} of {run.total}" if run.last else "before the first step"
            kept = (
                f"The best model so far (epoch {run.best_epoch}) and the last checkpoint are in "
                f"{run.cfg.out}."
                if has_model
                else "No evaluation had finished: no model was saved."
            )
            self.view.set_status(f"Cancelled {at}. {kept}")
        elif run.outcome == "done":
            self.view.set_status(f"Done: {run.message}.")
        elif run.outcome != "failed":
            run.outcome = "cancelled"
        self.run_finished.emit(run.outcome)

    # -- the trained model --------------------------------------------------------------------------
    @property
    def model_dir(self) -> Path | None:
        run = self.run
        return run.model_dir if run is not None and (run.model_dir / "model.json").is_file() else None

    def save_model(self, path: str | Path) -> Path | None:
        """Write the run's best model to the folder ``path`` (the engine's model format, atomically).

        Never the shipped model; a folder holding another model is replaced only if the user says so.
        """
        from engine.bundle import ModelError, load_bundle, save_bundle
        from engine.runs import RunDirError, check_model_dir

        src, dest = self.model_dir, Path(path)
        if src is None or self.run is None:
            self.view.set_status("There is no trained model to save yet.", error=True)
            return None
        try:
            check_model_dir(dest)
        except RunDirError as refused:
            try:
                check_model_dir(dest, force=True)
            except RunDirError:
                self.view.set_status(f"Not saved: {refused}", error=True)
                return None
            if not self.view.confirm(
                "Replace the model?",
                f"{dest} already holds a model. Replace it "
                f"with this run's best model (epoch {self.run.best_epoch})?",
            ):
                self.view.set_status(f"Not saved: {dest} keeps its model.")
                return None
        try:
            save_bundle(load_bundle(src), dest, self.run.cfg.embedding_dtype)
        except (ModelError, OSError) as e:  # WriteError (full disk, read-only) is an OSError
            self.view.set_status(f"Could not save the model: {e}", error=True)
            return None
        self.saved_path = dest
        self.view.set_status(f"Saved the best model (epoch {self.run.best_epoch}) to {dest}.")
        return dest

    def use_in_attention(self) -> None:
        """Open the saved (or this run's best) model and show it in the Attention view."""
        from engine.bundle import ModelError, load_bundle

        path = self.saved_path or self.model_dir
        if path is None:
            self.view.set_status("There is no trained model to use yet.", error=True)
            return
        if self.asynchronous:
            self.context.load_model(path)
        else:
            try:
                self.context.set_bundle(load_bundle(path))
            except ModelError as e:
                self.view.set_status(str(e), error=True)
                return
        self.context.view_requested.emit("attention")

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.jobs.busy or self.running or self._cut_pending

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no dataset is being read and no run goes on (tests, screenshots)."""
        return self.jobs.wait_idle(timeout_ms, also=lambda: self.busy)

    # -- exports (File → Export; app.explorers.Exportable) ------------------------------------------
    def export_formats(self) -> list[tuple[str, str]]:
        from app.exports import TRAINING_FORMATS

        return list(TRAINING_FORMATS)

    def save(self, path: str | Path) -> Path:
        from app.exports import save_training

        return save_training(self, path)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Cancel a run and wait for the training process to stop (the window is closing)."""
        self._cut_pending = False
        self._cut_debounce.cancel()
        self._refresh.stop()
        child, self._child = self._child, None
        self._running = False
        self.jobs.shutdown()  # records still queued from the run are dropped
        if child is not None:
            child.end(timeout_s)
