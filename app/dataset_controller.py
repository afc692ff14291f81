"""Controller of the Dataset explorer.

Wiring: opening a dataset reads it off the GUI thread ("load" job) and looks its result up in the
cache (per model fingerprint x dataset content, in the app's AppLocalData/cache); a miss starts the
"score" job: :func:`engine.corpus.score_corpus` in a child process
(:class:`engine.corpus_process.CorpusProcess`; in a thread of this process its tokenizer held the
GIL and stalled the event loop for 100-400 ms), whose progress records carry the rows scored since
the last one. They go into a :class:`~engine.corpus.CorpusBuilder` here; at most every
``REFRESH_MS`` the rows that arrived since the last refresh are inserted into the table (never a
reset: selection and scroll stay). A refresh costs what arrived, not what is shown: the new rows'
table and filter only (a text search reads only the new reviews), a binary search each into the
sorted table (:meth:`ReviewTableModel.append_rows`). The whole partial result (``result``) is built
only when asked for: by the metrics, at most every ``METRICS_MS``, which are computed in a thread
("metrics" job) and painted a part per event-loop turn; by a filter change or an export. Cancel
kills the child and leaves exactly the rows received (not cached). A finished run is cached
("cache" job). Synchronous controllers (tests) score in-process, the same records. Filters are
numpy masks (:mod:`app.present._dataset`); a confusion cell or a word click adds one. Opening a
review emits ``review_opened``: the main window shows it in the Attention view and offers the way
back, to this view as it was (nothing here is reset).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QStandardPaths, QTimer, Signal

from app.jobs import Jobs
from app.present._dataset import (
    FilterState,
    dataset_metrics,
    export_table,
    export_weights,
    filter_mask,
    progress_text,
    review_table,
)
from app.widgets._dataset_view import DatasetView

if TYPE_CHECKING:
    from app.context import AppContext
    from app.display._dataset import DatasetMetrics
    from engine.bundle import ModelBundle
    from engine.corpus import CorpusBuilder, CorpusProgress, CorpusResult
    from engine.corpus_process import CorpusProcess
    from engine.data import Dataset

__all__ = ["DatasetController", "cache_root"]

REFRESH_MS = 500  # while scoring, the table catches up at most this often
METRICS_MS = 1000  # ... and the metrics' pictures at most this often (repainting them is the costly part)
NICE = 10  # CPU priority the scoring process gives up to the window


def cache_root() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".han-explorer") / "cache"


def _load(path: str, fmt: str, bundle: Any, cache_dir: Path) -> tuple[Dataset, str, CorpusResult | None]:
    import engine.corpus_metrics
    import engine.corpus_process  # noqa: F401 (imported here, off the GUI thread, for what follows)
    from engine.corpus import cache_key, load_cached
    from engine.data import load_dataset

    ds = load_dataset(path, fmt, label_names=bundle.label_names)
    key = cache_key(bundle, ds)
    return ds, key, load_cached(cache_dir, key)


class DatasetController(QObject):
    """Owns the dataset, its scoring run, the scored rows and the filters.

    Signals
    -------
    result_applied(int)
        The table and metrics now show ``n`` scored reviews (partial while scoring or cancelled).
    review_opened(str, str)
        Show review text (second) in the Attention view; come back to explorer ``name`` (first).
    export_finished(str)
        An export was written to this path.
    """

    name = "dataset"
    title = "Dataset"
    result_applied = Signal(int)
    review_opened = Signal(str, str)
    export_finished = Signal(str)

    def __init__(
        self,
        context: AppContext,
        asynchronous: bool = True,
        view: DatasetView | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.view = view or DatasetView()
        self.widget = self.view
        self.jobs = Jobs(asynchronous, self)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache_root()
        self.dataset: Dataset | None = None
        self._result: CorpusResult | None = None
        self._stale = False  # the builder holds rows that ``_result`` lacks
        self.builder: CorpusBuilder | None = None
        self._fresh: list[np.ndarray] = []  # dataset rows received since the last refresh
        self._shown_n = 0  # rows in the table while scoring
        self.cell: tuple[int, int] | None = None
        self.word = ""
        self.last_progress: CorpusProgress | None = None
        self._child: CorpusProcess | None = None
        self._dirty = False
        self._metrics_at = 0.0  # time.monotonic() of the last metrics request while scoring
        self._hits: tuple[str, np.ndarray] | None = None  # the text search's answers so far
        self._refresh = QTimer(self, interval=REFRESH_MS)
        self._refresh.timeout.connect(self._flush)
        self._restored = False
        self._wire()
        self.view.installEventFilter(self)

    def _wire(self) -> None:
        v = self.view
        v.dataset_chosen.connect(self.open_dataset)
        v.cancel_requested.connect(self.cancel)
        v.filters_changed.connect(self.refilter)
        v.clear_filters_requested.connect(self.clear_filters)
        v.cell_clicked.connect(self.toggle_cell)
        v.word_clicked.connect(self.toggle_word)
        v.review_activated.connect(self.open_review)
        v.export_table_requested.connect(self.export_table)
        v.export_weights_requested.connect(self.export_weights)
        self.context.model_changed.connect(lambda _: self._on_model_changed())

    @property
    def result(self) -> CorpusResult | None:
        """The scored reviews: while scoring, the rows received so far (built when asked for)."""
        if self._stale and self.builder is not None:
            self._result = self.builder.result()
        self._stale = False
        return self._result

    @result.setter
    def result(self, value: CorpusResult | None) -> None:
        self._result, self._stale = value, False

    @property
    def asynchronous(self) -> bool:
        return self.jobs.asynchronous

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Show and not self._restored:
            self._restored = True
            self._restore()
        return False

    def _restore(self) -> None:
        """The dataset of the last session, when the tab is first shown (its scores are cached)."""
        s = self.context.settings
        if s is None or self.dataset is not None or self.view.path.text():
            return
        last = str(s.value("dataset/path", "") or "")
        if last and Path(last).exists():
            self.open_dataset(last, str(s.value("dataset/format", "auto")))

    # -- open and score -----------------------------------------------------------------------------
    def open_dataset(self, path: str | Path, fmt: str | None = None) -> None:
        """Read ``path`` and show its scored reviews: from the cache, or scored now (cancellable)."""
        path = str(path)
        if fmt is not None:
            self.view.format_box.setCurrentText(fmt)
        self.view.set_dataset_path(path)
        self._stop_scoring()
        if not path:
            return
        if self.context.bundle is None:  # the model is still loading (or failed): open it after
            self._pending = (path, self.view.dataset_format)
            self.view.set_status(f"{self.context.model_status} {Path(path).name} opens when it is ready.")
            return
        self._pending = None
        self.view.set_status(f"Reading {Path(path).name}…")
        self.jobs.submit(
            "load",
            _load,
            path,
            self.view.dataset_format,
            self.context.bundle,
            self.cache_dir,
            on_result=self._on_loaded,
            on_error=self._on_error,
        )

    _pending: tuple[str, str] | None = None  # a dataset asked for while no model was loaded

    def _on_model_changed(self) -> None:
        if self._pending is not None:
            self.open_dataset(*self._pending)
        elif self.dataset is not None:
            self.open_dataset(self.dataset.source, self.dataset.format)

    def _bundle(self) -> ModelBundle:
        bundle = self.context.bundle
        if bundle is None:
            raise ValueError(self.context.model_status or "no model is loaded")
        return bundle

    def _on_loaded(self, _gen: int, loaded: tuple[Dataset, str, CorpusResult | None]) -> None:
        ds, _key, cached = loaded
        self.dataset = ds
        self._hits = None
        if self.context.settings is not None:
            self.context.settings.setValue("dataset/path", ds.source)
            self.context.settings.setValue("dataset/format", self.view.dataset_format)
        self.view.set_labels(self._bundle().label_names)
        if ds.skipped:
            self.view.set_status(ds.skipped_summary(3))
        if cached is not None:
            self._apply(cached)
            self.view.set_progress(len(cached), cached.total, f"{len(cached):,} reviews, from the cache")
            return
        self._score(ds)

    def _score(self, ds: Dataset) -> None:
        from engine.corpus import CorpusBuilder, model_truth, score_corpus

        bundle = self._bundle()
        self.builder = CorpusBuilder(bundle.label_names, model_truth(bundle, ds))
        self._fresh, self._shown_n = [], 0
        self.last_progress = None
        self._apply(self.builder.result())
        self.view.set_scoring(True)
        self.view.set_progress(0, len(ds), f"Scoring {len(ds):,} reviews…")
        if not self.asynchronous:  # in-process (tests): the same records
            self.jobs.submit(
                "score",
                score_corpus,
                bundle,
                ds,
                on_result=self._on_scored,
                on_error=self._on_error,
                on_progress=self._on_progress,
            )
            return
        from engine.corpus_process import CorpusProcess

        # a core and the first turn on the CPU are left to the window
        self._child = child = CorpusProcess(bundle, ds, threads=max(1, (os.cpu_count() or 2) - 1), nice=NICE)
        self._metrics_at = time.monotonic()
        self._refresh.start()
        self.jobs.submit(
            "score",
            child.results,
            on_result=self._on_scored,
            on_error=self._on_error,
            on_progress=self._on_progress,
        )

    def _on_progress(self, _gen: int, p: CorpusProgress) -> None:
        if self.builder is None:
            return
        self.builder.add(p.rows, p.seconds)
        self._fresh.append(p.rows.row)
        self.last_progress = p
        self._stale = self._dirty = True
        self.view.set_progress(p.done, p.total, progress_text(p))

    def _flush(self) -> None:
        """The rows received since the last refresh into the table (their cost only, not the
        table's); the metrics, at most every ``METRICS_MS``, computed off this thread."""
        if not self._dirty or self.builder is None:
            return
        self._dirty = False
        rows, self._fresh = np.sort(np.concatenate(self._fresh)) if self._fresh else None, []
        if rows is not None:
            part = self.builder.result(rows)
            self.view.model.append_rows(review_table(part), self._mask(part))
            self._shown_n += len(rows)
        now = time.monotonic()
        if now - self._metrics_at >= METRICS_MS / 1000:
            self._metrics_at = now
            result = self.result  # the whole partial result: O(n), once every METRICS_MS
            assert result is not None
            self._request_metrics(result, inline=False)
        self.view.set_has_result(self._shown_n > 0)
        self._show_count()
        self.result_applied.emit(self._shown_n)

    def _stop_refresh(self) -> None:
        self._refresh.stop()
        self._dirty = False
        self._fresh = []
        self.view.set_scoring(False)

    def _stop_scoring(self) -> None:
        """No more rows from the running scoring, if any: its job is dropped and its child killed."""
        self.jobs.cancel("score")
        child, self._child = self._child, None
        if child is not None:
            child.kill()
        self._stop_refresh()

    def _on_scored(self, _gen: int, result: CorpusResult) -> None:
        from engine.corpus import save_cached

        self._stop_refresh()
        self._child = None
        self.builder = None
        self._apply(result, incremental=True)
        self.view.set_progress(
            len(result), result.total, f"{len(result):,} reviews scored in {result.seconds:.1f} s"
        )
        self.jobs.submit(
            "cache",
            save_cached,
            self.cache_dir,
            result,
            on_result=lambda *_: None,
            on_error=self._on_cache_error,
        )

    def _on_cache_error(self, _gen: int, message: str) -> None:
        self.view.set_status(f"Scored, but the cache could not be written: {message}", error=True)

    def cancel(self) -> None:
        """Stop scoring now; the reviews received so far stay (and are not cached)."""
        if self.builder is None or not self.jobs.busy_with("score"):
            return
        self._stop_scoring()
        partial = self.builder.result()
        self.builder = None
        self._apply(partial, incremental=True)
        self.view.set_progress(
            len(partial), partial.total, f"Cancelled: {len(partial):,} of {partial.total:,} reviews scored"
        )

    def _on_error(self, _gen: int, message: str) -> None:
        self._stop_refresh()
        self._child = None
        self.view.set_status(message, error=True)

    # -- table and filters --------------------------------------------------------------------------
    def _apply(self, result: CorpusResult, metrics: bool = True, incremental: bool = False) -> None:
        """Show ``result``. ``incremental``: it holds the rows shown and more (rows arriving), which
        are inserted; else the table is replaced (keeping the scroll position)."""
        self.result = result
        table, mask = review_table(result), self._mask(result)
        if incremental:
            self.view.model.add_rows(table, mask)
        else:
            bar = self.view.table.verticalScrollBar()
            scroll = bar.value()
            self.view.model.set_table(table, mask)
            bar.setValue(scroll)
        if metrics:
            self._request_metrics(result, inline=not incremental or self.builder is None)
        self.view.confusion.set_selected(self.cell)
        self.view.set_has_result(len(result) > 0)
        self._show_count()
        self.result_applied.emit(len(result))

    def _request_metrics(self, result: CorpusResult, inline: bool) -> None:
        """Metrics are numpy (a few ms for 25,000 rows) but painting them is not: they are painted
        a part per event-loop turn (all at once when synchronous). While rows arrive they are
        computed off this thread; a final table's (finished, cancelled, cached) here, so numbers
        and confusion matrix agree with the table at once."""
        self.jobs.submit(
            "metrics",
            dataset_metrics,
            result,
            on_result=self._on_metrics,
            on_error=lambda _g, message: self.view.set_status(f"Metrics: {message}", error=True),
            policy="queue",
            inline=inline,
        )

    def _on_metrics(self, _gen: int, m: DatasetMetrics) -> None:
        if self.asynchronous:
            self.view.set_metrics_staged(m)
        else:
            self.view.set_metrics(m)

    def filter_state(self) -> FilterState:
        query, misclassified, label, confidence = self.view.filter_values()
        return FilterState(query, misclassified, label, confidence, self.cell, self.word)

    def _mask(self, result: CorpusResult | None) -> np.ndarray | None:
        """The filters over ``result``'s rows (None: no filter)."""
        if result is None or self.dataset is None:
            return None
        state = self.filter_state()
        if state == FilterState():
            return None
        query = state.query.strip().casefold()
        if self._hits is None or self._hits[0] != query:
            self._hits = (query, np.full(len(self.dataset), -1, dtype=np.int8))
        return filter_mask(result, self.dataset.texts, state, self._hits[1])

    def _in_table(self, result: CorpusResult) -> np.ndarray | None:
        """Where each of the table's reviews is in ``result`` (None: the table is ``result``'s, row
        for row). While scoring the table holds the reviews in the order they arrived."""
        rows = self.view.model.table.row
        if rows is result.row:
            return None
        return np.searchsorted(result.row, rows)

    def refilter(self) -> None:
        result = self.result
        mask = self._mask(result)
        if result is not None and mask is not None:
            where = self._in_table(result)
            mask = mask if where is None else mask[where]
        self.view.model.set_mask(mask)
        chips = []
        if self.cell is not None and self.result is not None:
            names = self.result.label_names
            chips.append(f"true {names[self.cell[0]]} → predicted {names[self.cell[1]]}")
        if self.word:
            chips.append(f"attends to “{self.word}”")
        self.view.set_chip(" · ".join(chips))
        self.view.confusion.set_selected(self.cell)
        self._show_count()

    def _show_count(self) -> None:
        if self.builder is not None:
            total, scored = len(self.builder.truth), self._shown_n
        else:
            total = self._result.total if self._result is not None else 0
            scored = len(self._result) if self._result is not None else 0
        self.view.set_count(self.view.model.rowCount(), scored, total)

    def toggle_cell(self, true: int, predicted: int) -> None:
        """A confusion cell's reviews only; the same cell again shows all."""
        self.cell = None if self.cell == (true, predicted) else (true, predicted)
        self.refilter()

    def toggle_word(self, word: str) -> None:
        """Reviews where ``word`` is heavily attended; the same word again shows all."""
        self.word = "" if self.word == word else word
        self.refilter()

    def clear_filters(self) -> None:
        self.cell, self.word = None, ""
        self.view.clear_filter_controls()
        self.refilter()

    # -- opening a review ---------------------------------------------------------------------------
    def open_review(self, row: int) -> None:
        if self.dataset is not None and 0 <= row < len(self.dataset):
            self.review_opened.emit(self.name, self.dataset.texts[row])

    # -- exports ------------------------------------------------------------------------------------
    def _visible(self) -> np.ndarray:
        """The rows shown, in their order, as indices into ``result``."""
        visible = self.view.model.visible.copy()
        where = None if self.result is None else self._in_table(self.result)
        return visible if where is None else where[visible]

    def export_table(self, path: str | Path) -> None:
        if self.result is None or self.dataset is None:
            return
        self._export(export_table, path, self.result, self.dataset.texts, self._visible())

    def export_weights(self, path: str | Path) -> None:
        if self.result is None or self.dataset is None:
            return
        self._export(export_weights, path, self._bundle(), self.result, self.dataset.texts, self._visible())

    def export_formats(self) -> list[tuple[str, str]]:
        """File → Export: the table as the view shows it (filtered, in its order)."""
        return [(".csv", "CSV, the rows shown"), (".jsonl", "JSON Lines, the rows shown")]

    def save(self, path: str | Path) -> Path:
        if self.result is None or self.dataset is None:
            raise ValueError("nothing to export: open and score a dataset first")
        self.export_table(path)
        return Path(path)

    def _export(self, fn: Any, path: str | Path, *args: Any) -> None:
        n = len(args[-1])
        self.view.set_status(f"Exporting {n:,} reviews to {Path(path).name}…")
        self.jobs.submit(
            "export",
            fn,
            path,
            *args,
            on_result=lambda _g, p: self._on_exported(str(p), n),
            on_error=self._on_error,
            on_progress=lambda _g, done: self.view.set_status(f"Exporting: {done:,} of {n:,} reviews…"),
            policy="queue",
        )

    def _on_exported(self, path: str, n: int) -> None:
        self.view.set_status(f"Exported {n:,} reviews to {path}")
        self.export_finished.emit(path)

    # -- Explorer -----------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """A dataset explorer has no single text."""

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        return self.jobs.wait_idle(timeout_ms)

    def shutdown(self) -> None:
        self._refresh.stop()
        self.jobs.shutdown()
        child, self._child = self._child, None
        if child is not None:
            child.kill()
