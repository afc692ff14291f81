"""Controller of the Training explorer.

Wiring:

* **Dataset.** ``set_dataset`` (the view's path field, File… or Folder…) runs
  :func:`engine.dataset_stats.dataset_stats_steps` in a generator worker. Requests carry a
  generation number; a newer one quits the older worker and stale results are dropped. A dataset
  the readers refuse shows the engine's one-line message.
* **Cuts.** The training part (dev fraction, seed and first-rows settings) gives a
  :class:`~engine.dataset_stats.LengthProfile`, cached per setting; its ``cut`` is exactly the
  limits training will choose. A dragged histogram line asks the profile for the quantile that
  gives that length and writes it into the form; a changed quantile moves the line.
* **Run.** ``start`` builds a :class:`~engine.train.TrainConfig` from the form (whose defaults are
  ``TrainConfig``'s) and runs :func:`engine.train.train`, with the probe review, in a child process
  (:class:`engine.train_process.TrainingProcess`: in a thread of this process it stalled the event
  loop for 100-300 ms); a superqt generator worker relays the records. They land in plain buffers,
  and a 10 Hz timer pushes them to the curves and the progress bar, so a fast run cannot flood the
  event loop; records of an older run are dropped. ``cancel`` asks the child to stop at its next
  step (its generator is closed there: the last checkpoint and best model stay as they were); the
  run is finished once the child has exited. ``shutdown`` also terminates it after a timeout.
* **Model.** Save loads the run's best model and writes it with :func:`engine.bundle.save_bundle`;
  "Use in Attention view" opens it through the context and brings the Attention view to the front.
"""

from __future__ import annotations

import os
import shlex
import tempfile
import time
from dataclasses import MISSING, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QThreadPool, QTimer, Signal
from superqt.utils import create_worker

from app._idle import process_events_until
from app.present import attention_display as to_display
from app.display import CutSummary, DatasetSummary, HistogramData, ProbeSnapshot, RunProgress
from app.widgets import TrainingView
from engine.train import TrainConfig

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from app.context import AppContext
    from engine.dataset_stats import DatasetStats, LengthCut, LengthProfile
    from engine.train import Progress
    from engine.train_process import TrainingProcess

__all__ = ["RUNS_DIR", "TrainingController", "TrainingError", "command_line"]

RUNS_DIR = Path(tempfile.gettempdir()) / "han-explorer" / "runs"
REFRESH_MS = 100              # curves and progress bar are redrawn at most this often
NICE = 10                     # CPU priority the training process gives up to the window
CUT_DEBOUNCE_MS = 60
_CUT_FIELDS = {"word_quantile", "sentence_quantile", "dev_fraction", "seed", "limit"}


class TrainingError(Exception):
    """A RuntimeError raised by the engine, re-raised as a type superqt reports through ``errored``
    (it treats a RuntimeError from a generator as a deleted worker and drops it)."""


def _records(records: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    """Drive ``records`` in a worker: its yields and its return value pass through."""
    try:
        return (yield from records)
    except RuntimeError as e:
        raise TrainingError(str(e)) from e


def command_line(cfg: TrainConfig) -> str:
    """The ``han-explorer train`` command that runs ``cfg`` (settings left at their default omitted)."""
    args = ["han-explorer", "train", "--data", cfg.data, "--out", cfg.out]
    for f in fields(TrainConfig):
        value = getattr(cfg, f.name)
        if f.name not in ("data", "out", "command", "resume") and value != f.default:
            args += [f"--{f.name.replace('_', '-')}", str(value)]
    return shlex.join([*args, "--resume"] if cfg.resume else args)


class _Run:
    """What one training run has reported so far (plain buffers the timer draws from)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.steps: list[tuple[float, float]] = []          # (epoch position, loss)
        self.evals: list[tuple[int, float, float]] = []     # (epoch, mean loss, dev accuracy)
        self.snapshots: list[ProbeSnapshot] = []
        self.total = 0
        self.last: Progress | None = None
        self.first_step: Progress | None = None
        self.best_epoch = 0
        self.drawn = (0, 0)                                 # (steps, evals) already on the curves
        self.outcome = ""                                   # done, cancelled, failed
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

    def __init__(self, context: AppContext, asynchronous: bool = True, view: TrainingView | None = None
                 ) -> None:
        super().__init__()
        self.context = context
        self.asynchronous = asynchronous  # False: compute inline (screenshots, some tests)
        self.defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
        self.view = view or TrainingView(self.defaults)
        self.widget = self.view
        self.stats: DatasetStats | None = None
        self.cut: LengthCut | None = None
        self._profiles: dict[tuple[Any, ...], LengthProfile] = {}
        self._histogram_key: tuple[Any, ...] | None = None
        self.generation = self.applied_generation = self.dropped = 0
        self._stats_worker: Any = None
        self.run: _Run | None = None
        self.saved_path: Path | None = None
        self._run_id = 0
        self._gen: Iterator[Progress] | None = None
        self._child: TrainingProcess | None = None
        self._worker: Any = None
        self._running = False
        self._probe_follows_attention = True
        self._restored = False
        self._auto_out = self._new_run_dir()
        self.view.set_out_dir(str(self._auto_out))
        self._refresh = QTimer(self, interval=REFRESH_MS)
        self._refresh.timeout.connect(self._flush)
        self._cut_timer = QTimer(self, singleShot=True, interval=CUT_DEBOUNCE_MS)
        self._cut_timer.timeout.connect(self.update_cut)
        self._wire()
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
        self.generation += 1
        gen = self.generation
        if self._stats_worker is not None:
            self._stats_worker.quit()
            self._stats_worker = None
        self.stats, self.cut, self._histogram_key = None, None, None
        self._profiles.clear()
        self.view.set_can_start(False)
        self.view.set_histograms(None, None)
        if not path:
            self.view.set_stats(None, "")
            return
        self.view.set_stats(None, f"Reading {Path(path).name}…")
        steps = dataset_stats_steps(path, self.view.dataset_format)
        if not self.asynchronous:
            try:
                while True:
                    next(steps)
            except StopIteration as done:
                self._on_stats(gen, done.value)
            except Exception as e:  # every failure becomes the view's report
                self._on_stats_error(gen, e)
            return
        worker = create_worker(_records, steps, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(lambda line, g=gen: self._on_stats_progress(g, line))
        worker.returned.connect(lambda stats, g=gen: self._on_stats(g, stats))
        worker.errored.connect(lambda e, g=gen: self._on_stats_error(g, e))
        self._stats_worker = worker
        worker.start()

    def _on_stats_progress(self, gen: int, line: str) -> None:
        if gen == self.generation:
            self.view.set_stats(None, f"Reading {Path(self.view.path.text()).name}: {line}…")

    def _on_stats(self, gen: int, stats: DatasetStats) -> None:
        if gen != self.generation:
            self.dropped += 1
            return
        self._stats_worker = None
        self.stats = stats
        self.update_cut()
        self.applied_generation = gen
        if self.context.settings is not None:
            self.context.settings.setValue("training/dataset", stats.source)
            self.context.settings.setValue("training/format", self.view.dataset_format)
        self.stats_applied.emit(gen)

    def _on_stats_error(self, gen: int, e: BaseException) -> None:
        if gen != self.generation:
            self.dropped += 1
            return
        self._stats_worker = None
        message = str(e) if isinstance(e, ValueError | OSError) else f"{type(e).__name__}: {e}"
        self.view.set_stats(None, f"This dataset cannot be used: {message}", error=True)
        self.stats_failed.emit(gen, message)

    def _summary(self, part: LengthProfile) -> DatasetSummary:
        st = self.stats
        assert st is not None
        return DatasetSummary(st.documents, st.format, tuple(st.class_counts().items()), st.balance,
                              st.skipped, tuple(st.skipped_reasons.items()), st.empty_documents, st.words,
                              int(st.lengths.sentence_lengths.size), part.documents)

    # -- length cuts --------------------------------------------------------------------------------
    def _profile(self) -> LengthProfile:
        assert self.stats is not None
        v = self.view.form.values()
        key = (v["dev_fraction"], v["seed"], v["limit"])
        if key not in self._profiles:
            self._profiles[key] = self.stats.training_part(*key)
        return self._profiles[key]

    def update_cut(self) -> None:
        """Recompute the cuts from the form's settings and show them."""
        self._cut_timer.stop()
        if self.stats is None:
            return
        v = self.view.form.values()
        part = self._profile()
        key = (v["dev_fraction"], v["seed"], v["limit"])
        if key != self._histogram_key:
            self._histogram_key = key
            self.view.set_histograms(
                HistogramData(np.bincount(part.sentence_lengths), "words", "sentences"),
                HistogramData(np.bincount(part.document_lengths), "sentences", "documents"))
        self.view.set_stats(self._summary(part), self.stats.skipped_summary)
        if part.documents == 0:
            self.view.set_can_start(False)
            self.view.set_status("The training part has no documents with these settings.", error=True)
            return
        cut = self.cut = part.cut(v["word_quantile"], v["sentence_quantile"])
        lim, t = cut.limits, cut.truncation
        self.view.set_cuts(CutSummary(lim.max_words, v["word_quantile"], cut.sentences_within,
                                      lim.max_sentences, v["sentence_quantile"], cut.documents_within,
                                      cut.words_kept, cut.documents, t.documents, t.sentences, t.words))
        self.view.set_can_start(True)

    def move_cut(self, kind: str, length: float) -> None:
        """A histogram line was dragged to ``length``: set the quantile that gives that limit."""
        if self.stats is None:
            return
        q = self._profile().quantile_for("words" if kind == "words" else "sentences", length)
        self.view.form.set_values({"word_quantile" if kind == "words" else "sentence_quantile": q})
        self._cut_timer.start()

    def _on_setting_changed(self, name: str) -> None:
        if name in _CUT_FIELDS:
            self._cut_timer.start()

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

    def _new_run_dir(self) -> Path:
        base = RUNS_DIR / f"run-{datetime.now():%Y%m%d-%H%M%S}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path

    def config(self) -> TrainConfig:
        """The settings in the view as a TrainConfig; ValueError (one line) if they are not valid."""
        if self.stats is None:
            raise ValueError("pick a dataset first")
        out, values = self.view.out_dir(), self.view.form.values()
        if not out or (out == str(self._auto_out) and self._auto_out.exists() and not values["resume"]):
            self._auto_out = self._new_run_dir()  # a fresh default folder for every run
            out = str(self._auto_out)
            self.view.set_out_dir(out)
        cfg = TrainConfig(data=self.stats.source, out=out, format=self.stats.format, **values)
        return replace(cfg, command=command_line(cfg))

    def start(self) -> bool:
        """Start training with the view's settings and probe; False (and a message) if it cannot."""
        from engine.train import train

        if self.running:
            return False
        try:
            cfg = self.config()
        except ValueError as e:
            self.view.set_status(f"Cannot start: {e}", error=True)
            return False
        self._run_id += 1
        self.run = _Run(cfg)
        self.saved_path = None
        probe = self.view.probe.probe_text()
        probe = probe if probe.strip() else None
        self.view.curves.clear_curves()
        self.view.curves.set_epochs(cfg.epochs)
        self.view.probe.set_snapshots([], -1)
        self.view.set_progress(None)
        self.view.set_status(f"Starting: {cfg.command}")
        self.view.set_model_ready(False)
        self.view.set_running(True)
        self._running = True
        if not self.asynchronous:
            self._gen = train(cfg, probe=probe)
            self._run_inline(self._run_id, self._gen)
            return True
        from engine.train_process import TrainingProcess

        # a core and the first turn on the CPU are left to the window
        self._child = TrainingProcess(cfg, probe, threads=max(1, (os.cpu_count() or 2) - 1), nice=NICE)
        self.view.set_status("Starting the training process…")
        worker = create_worker(_records, self._child.records(), _start_thread=False,
                               _ignore_errors=True)  # errors go to _on_error, not re-raised
        rid = self._run_id
        worker.yielded.connect(lambda rec, r=rid: self._on_record(r, rec))
        worker.errored.connect(lambda e, r=rid: self._on_error(r, e))
        worker.finished.connect(lambda r=rid: self._on_finished(r))
        self._worker = worker
        self._refresh.start()
        worker.start()
        return True

    def _run_inline(self, rid: int, records: Iterator[Progress]) -> None:
        try:
            for rec in _records(records):
                self._on_record(rid, rec)
        except Exception as e:  # shown like a worker's error
            self._on_error(rid, e)
        self._on_finished(rid)

    def cancel(self) -> None:
        """Stop at the next step; the last checkpoint and the best model so far stay."""
        if self.run is not None and self.running:
            self.run.outcome = "cancelled"
            if self._child is not None:
                self._child.stop()           # the run reports finished once the child has stopped
            self.view.set_status("Cancelling at the next step…")

    def _on_record(self, rid: int, rec: Progress) -> None:
        run = self.run
        if run is None or rid != self._run_id:
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
            self._add_snapshot(run, ProbeSnapshot("before training", 0.0, rec.step, None,
                                                  to_display(rec.extra["probe"])))

    def _on_eval(self, run: _Run, rec: Progress) -> None:
        acc = rec.dev_accuracy or 0.0
        if not run.evals or acc > max(e[2] for e in run.evals):
            run.best_epoch = rec.epoch
        run.evals.append((rec.epoch, rec.loss or 0.0, acc))
        run.last = rec
        best = rec.best_dev_accuracy or 0.0
        self.view.set_status(f"Epoch {rec.epoch}: dev accuracy {acc:.2%} "
                             f"(best {best:.2%}, epoch {run.best_epoch}).")
        if "probe" in rec.extra:
            self._add_snapshot(run, ProbeSnapshot(f"epoch {rec.epoch}", float(rec.epoch), rec.step, acc,
                                                  to_display(rec.extra["probe"])))

    def _add_snapshot(self, run: _Run, snap: ProbeSnapshot) -> None:
        panel = self.view.probe
        following = panel.index >= len(run.snapshots) - 1   # at the newest one: keep following
        run.snapshots.append(snap)
        index = len(run.snapshots) - 1 if following else panel.index
        saved = next((i for i, s in enumerate(run.snapshots)
                      if s.dev_accuracy is not None and s.epoch == run.best_epoch), -1)
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
        self.view.set_progress(RunProgress(last.step, run.total, last.epoch, run.cfg.epochs, last.elapsed_s,
                                           left, rate))

    def _on_error(self, rid: int, e: BaseException) -> None:
        from engine.analyze import InputError

        if self.run is None or rid != self._run_id:
            return
        self.run.outcome = "failed"
        text = str(e) if isinstance(e, ValueError | OSError | TrainingError) else f"{type(e).__name__}: {e}"
        self.run.message = f"Probe review: {text}" if isinstance(e, InputError) else text
        self.view.set_status(f"Training failed: {self.run.message}", error=True)

    def _on_finished(self, rid: int) -> None:
        run = self.run
        if run is None or rid != self._run_id:
            return
        self._refresh.stop()
        self._close_generator()
        self._worker = self._child = None
        self._running = False
        self._flush()
        self.view.set_running(False)
        has_model = (run.model_dir / "model.json").is_file()
        self.view.set_model_ready(has_model)
        if run.outcome == "cancelled":
            at = f"at step {run.last.step} of {run.total}" if run.last else "before the first step"
            kept = (f"The best model so far (epoch {run.best_epoch}) and the last checkpoint are in "
                    f"{run.cfg.out}." if has_model else "No evaluation had finished: no model was saved.")
            self.view.set_status(f"Cancelled {at}. {kept}")
        elif run.outcome == "done":
            self.view.set_status(f"Done: {run.message}.")
        elif run.outcome != "failed":
            run.outcome = "cancelled"
        self.run_finished.emit(run.outcome)

    def _close_generator(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None:
            gen.close()  # runs train()'s finally blocks; it stopped at a yield, between writes

    # -- the trained model --------------------------------------------------------------------------
    @property
    def model_dir(self) -> Path | None:
        run = self.run
        return run.model_dir if run is not None and (run.model_dir / "model.json").is_file() else None

    def save_model(self, path: str | Path) -> Path | None:
        """Write the run's best model to the new folder ``path`` (the engine's model format)."""
        from engine.bundle import ModelError, load_bundle, save_bundle

        src, dest = self.model_dir, Path(path)
        if src is None or self.run is None:
            self.view.set_status("There is no trained model to save yet.", error=True)
            return None
        if dest.exists() and not (dest / "model.json").is_file() and (dest.is_file() or any(dest.iterdir())):
            self.view.set_status(f"{dest} already exists and is not a model folder: choose a new name.",
                                 error=True)
            return None
        try:
            save_bundle(load_bundle(src), dest, self.run.cfg.embedding_dtype)
        except (ModelError, OSError) as e:
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
        return self._stats_worker is not None or self.running or self._cut_timer.isActive()

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Process events until no dataset is being read and no run goes on (tests, screenshots)."""
        return process_events_until(lambda: not self.busy, timeout_ms)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Cancel a run and wait for its thread to stop (the window is closing)."""
        self._cut_timer.stop()
        self._refresh.stop()
        if self._stats_worker is not None:
            self._stats_worker.quit()
            self._stats_worker = None
        worker, child = self._worker, self._child
        self._worker = self._child = None
        self._running = False
        self._run_id += 1                     # records still queued from the old run are dropped
        if child is not None:
            child.end(timeout_s)
        if worker is not None:
            worker.quit()
            deadline = time.monotonic() + 5
            while worker.is_running and time.monotonic() < deadline:
                time.sleep(0.01)
