"""Dataset explorer benchmark: scoring a corpus (docs/s, peak memory), and the GUI while it scores.

Engine part: for each size N (a stratified sample of the IMDB test set, the whole 25,000 last), a
fresh child process loads the data, then scores it with :func:`engine.corpus.score_corpus`; it
reports docs/s and VmHWM (peak resident memory) after loading and after scoring. Memory is bounded
when what scoring adds does not grow with N beyond the table's rows (a few hundred bytes a review).

GUI part (``--gui-n``, CPU): the Dataset controller scores N reviews (in its scoring process) while
a 5 ms QTimer on the GUI thread records the largest gap between its ticks, from opening the file
until a second after the last row arrived (the final table and metrics are painted in that second);
then the table just scored (read back from the cache the controller wrote; rows drawn with replacement
up to 25,000 when it has fewer) is sorted by every column both ways (the time of ``sortByColumn``)
and filtered. ``--trace-gaps MS`` records the GUI thread's Python stack during longer gaps
(``bench/_gap_trace.py``); ``--replay RATE`` sends a result scored before from a thread at RATE
reviews/s instead of a scoring process: the GUI thread's own work, without a child on the cores.
Qt runs offscreen unless ``QT_QPA_PLATFORM`` says otherwise (a real X server:
``xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb python bench/bench_dataset.py``);
the platform is recorded.

    python bench/bench_dataset.py                              # CPU: 5,000 and 25,000, GUI 25,000
    python bench/bench_dataset.py --no-engine --sizes 5000 --gui-n 5000   # the GUI part only
    python bench/bench_dataset.py --no-engine --sizes 25000 --gui-n 25000 --replay 600  # GUI work only
    python bench/bench_dataset.py --device cuda --no-gui       # the GPU figure (name the card)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import IMDB, ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGET_GAP_MS = 50.0
TARGET_SORT_MS = 100.0


def _vm(key: str) -> float:
    """``VmHWM``/``VmRSS`` of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(n: int, device: str, data: Path, cache: Path | None = None) -> dict[str, Any]:
    import torch

    from engine.bundle import load_bundle
    from engine.corpus import save_cached, score_corpus
    from engine.corpus_metrics import metrics, stratified_sample
    from engine.data import load_dataset
    from engine.steps import run_to_end
    from resources import model_dir

    bundle = load_bundle(model_dir(), device)
    ds = load_dataset(data, label_names=bundle.label_names)
    if n < len(ds):
        ds = ds.subset(stratified_sample(ds.labels, n, 0).tolist())
    loaded_mib = _vm("VmHWM")
    t0 = time.perf_counter()
    result = run_to_end(score_corpus(bundle, ds))
    seconds = time.perf_counter() - t0
    peak = _vm("VmHWM")
    if cache is not None:  # the GUI part's sorting table, and the screenshots, read these
        save_cached(cache / "scores", result)
        _write_jsonl(_sample_path(cache, n, data), ds)
    out: dict[str, Any] = {
        "n": len(ds),
        "device": device,
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(ds) / seconds, 1),
        "accuracy": round(metrics(result).accuracy, 4),
        "vmhwm_after_load_mib": round(loaded_mib, 1),
        "vmhwm_after_scoring_mib": round(peak, 1),
        "scoring_adds_mib": round(peak - loaded_mib, 1),
        "torch_threads": torch.get_num_threads(),
    }
    if device.startswith("cuda"):
        out["card"] = torch.cuda.get_device_name(0)
        out["cuda_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def _sample_path(cache: Path, n: int, data: Path) -> Path:
    return cache / f"imdb-{n}.jsonl"


def _write_jsonl(path: Path, ds: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps({"text": t, "label": ds.label_names[y]}) + "\n"
            for t, y in zip(ds.texts, ds.labels, strict=True)
        ),
        encoding="utf-8",
    )


def run_child(n: int, device: str, data: Path, cache: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__)), "--child", str(n), "--device", device, "--data", str(data)]
    cmd += ["--cache", str(cache)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child for n={n} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class _Replay:
    """Stands in for :class:`engine.corpus_process.CorpusProcess` (``--replay RATE``): the rows of a
    result scored before, sent from a thread of this process in a shuffled order, ``RATE`` reviews a
    second in records of ``CHUNK_S`` each (as the scoring process sends them). No child takes the CPU,
    so the gaps are the GUI thread's own work, and a fast rate packs a 25,000-review run into a minute."""

    rate = 600.0
    result: Any = None
    chunk_s = 0.25

    def __init__(self, bundle: Any, ds: Any, **_: Any) -> None:
        self.killed = False

    def results(self) -> Any:
        import dataclasses

        import numpy as np

        from engine.corpus import CorpusProgress, _Rows

        r = self.result
        n = len(r)
        order = np.random.default_rng(0).permutation(n)
        per = max(1, int(self.rate * self.chunk_s))
        t0 = time.perf_counter()
        for k in range(0, n, per):
            if self.killed:
                break
            time.sleep(max(0.0, t0 + (k + per) / self.rate - time.perf_counter()))
            idx = order[k : k + per]
            words = tuple(tuple(r.word_list[w] for w in r.top_words[i] if w >= 0) for i in idx.tolist())
            cols = (r.row, r.pred, r.probs, r.words, r.sentences, r.last_share)
            rows = _Rows(*(col[idx] for col in cols), words, r.top_weights[idx])
            yield CorpusProgress(min(n, k + per), n, time.perf_counter() - t0, rows)
        return dataclasses.replace(r, cached=False, seconds=time.perf_counter() - t0)

    def kill(self) -> None:
        self.killed = True


def _replay_result(bundle: Any, path: Path, folder: Path) -> Any:
    """The scored result of ``path`` for ``--replay``: from ``folder``, or scored now (once)."""
    from engine.corpus import cache_key, load_cached, save_cached, score_corpus
    from engine.data import load_dataset
    from engine.steps import run_to_end

    ds = load_dataset(path, label_names=bundle.label_names)
    result = load_cached(folder, cache_key(bundle, ds))
    if result is None:
        print(f"scoring {len(ds):,} reviews once for the replay…", file=sys.stderr, flush=True)
        result = run_to_end(score_corpus(bundle, ds))
        save_cached(folder, result)
    return result


def _gui_sample(n: int, data: Path, cache: Path) -> tuple[Any, Path]:
    """The shipped model and a stratified sample of ``n`` reviews of ``data`` (all of them when ``n`` is
    as large), written to ``cache`` as the file the GUI benchmarks open."""
    from engine.bundle import load_bundle
    from engine.corpus_metrics import stratified_sample
    from engine.data import load_dataset
    from resources import model_dir

    bundle = load_bundle(model_dir())
    ds = load_dataset(data, label_names=bundle.label_names)
    path = cache / f"gui-{n}.jsonl"
    _write_jsonl(path, ds.subset(stratified_sample(ds.labels, n, 1).tolist()) if n < len(ds) else ds)
    return bundle, path


def gui(
    n: int, data: Path, cache: Path, table_n: int, trace_ms: float = 0.0, replay: float = 0.0
) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.context import AppContext
    from app.dataset_controller import DatasetController
    from app.main_window import freeze_heap

    bundle, path = _gui_sample(n, data, cache)
    if replay:
        import engine.corpus_process

        _Replay.rate, _Replay.result = replay, _replay_result(bundle, path, cache / "replay")
        engine.corpus_process.CorpusProcess = _Replay  # type: ignore[misc,assignment]
    c = DatasetController(AppContext(bundle, None), asynchronous=True, cache_dir=cache / "gui-cache")
    for f in (cache / "gui-cache").glob("*.npz"):
        f.unlink()  # score, do not read a cache
    c.view.resize(1366, 700)
    c.view.show()
    freeze_heap()  # as the main window does once it is built (app.main_window.freeze_heap)
    clock = QElapsedTimer()
    gaps: list[float] = []
    cpu: list[float] = []  # the GUI thread's CPU time in each gap: computing (ours) or waiting for the OS
    last = [0]
    last_cpu = [time.thread_time()]
    probe = QTimer(interval=5)
    tracer = None
    if trace_ms:
        from _gap_trace import GapTracer

        tracer = GapTracer(after_ms=trace_ms)

    def tick() -> None:
        if tracer is not None:
            tracer.beat()
        now = clock.elapsed()
        gaps.append(float(now - last[0]))
        t = time.thread_time()
        cpu.append((t - last_cpu[0]) * 1000)
        last_cpu[0] = t
        if os.environ.get("HAN_BENCH_TRACE") and gaps[-1] > 30:
            print(f"gap {gaps[-1]:.0f} ms at {time.perf_counter():.3f}", file=sys.stderr, flush=True)
        last[0] = now

    probe.timeout.connect(tick)
    clock.start()
    probe.start()
    if tracer is not None:
        tracer.start()
    t0 = time.perf_counter()
    c.open_dataset(path)
    while c.busy or c.result is None or not c.result.complete:
        app.processEvents()
        time.sleep(0.001)
    wall = time.perf_counter() - t0
    settle = time.perf_counter() + 1.0  # what is painted after the last row is part of the run
    while time.perf_counter() < settle:
        app.processEvents()
        time.sleep(0.001)
    probe.stop()
    c.wait_idle(60_000)  # the cache job: the sorting part reads the table from it
    if tracer is not None:
        tracer.stop()
        print(tracer.report(), file=sys.stderr, flush=True)
    scored_n = len(c.result)
    c.shutdown()
    # sorting and filtering: the table just scored (now read from the cache the controller wrote) or,
    # when the engine part scored a larger one, that (from its cache); its rows drawn with replacement
    # up to 25,000 when it has fewer (sorting does not care which reviews)
    if table_n > scored_n and (cache / "scores").is_dir():
        table_cache = cache / "scores"
        table_path = _sample_path(cache, table_n, data) if table_n < 25000 else data
    else:
        table_cache, table_path = cache / "gui-cache", path
    c = DatasetController(AppContext(bundle, None), asynchronous=True, cache_dir=table_cache)
    c.view.resize(1366, 700)
    c.view.show()
    c.open_dataset(table_path)
    while c.busy or c.result is None or not c.result.complete:
        app.processEvents()
        time.sleep(0.01)
    scored_table = len(c.result)
    if scored_table < 25000:
        import numpy as np

        from app.display._dataset import ReviewTable

        t = c.view.model.table
        pick = np.random.default_rng(0).integers(0, len(t), 25000)
        cols = [t.row, t.true, t.pred, t.confidence, t.margin, t.words, t.sentences, t.correct]
        c.view.model.set_table(ReviewTable(t.label_names, *(col[pick] for col in cols)))
    model = c.view.model
    sorts: dict[str, list[float]] = {}
    for col in range(model.columnCount()):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            times = []
            for _ in range(5):
                s = time.perf_counter()
                c.view.table.sortByColumn(col, order)
                times.append((time.perf_counter() - s) * 1000)
            desc = order == Qt.SortOrder.DescendingOrder
            sorts[f"{col}-{'desc' if desc else 'asc'}"] = times
    filters = []
    for _ in range(5):
        s = time.perf_counter()
        c.view.misclassified.setChecked(True)
        c.view.misclassified.setChecked(False)
        filters.append((time.perf_counter() - s) * 1000 / 2)
    search = []
    for q in ("wonderful", "the worst", "zzzz"):
        s = time.perf_counter()
        c.view.search.setText(q)
        search.append((time.perf_counter() - s) * 1000)
    c.view.search.clear()
    rows = model.rowCount()
    from_cache = bool(c.result is not None and c.result.cached)
    c.shutdown()
    all_sorts = [t for ts in sorts.values() for t in ts]
    skip = 3  # the first ticks include the first show of the window, before scoring starts
    return {
        "qt_platform": app.platformName(),
        "replay_rows_per_s": replay or None,
        "n_scored_in_gui": scored_n,
        "n": rows,
        "table_from_cache": from_cache,
        "table_scored_rows": scored_table,
        "table_note": "sorted table: the scored rows, drawn with replacement up to 25,000"
        if scored_table < 25000
        else "",
        "scoring_wall_s": round(wall, 1),
        "gui_gap_ms": summarize(gaps[skip:], 1),
        "largest_gui_gap_ms": round(max(gaps[skip:]), 1),
        # as tests/app/latency.py: a gap in which the GUI thread computed for >= 1/5 of it is the app's
        # own work; one in which it hardly ran is the OS not scheduling it (a shared, loaded 2-core box)
        "largest_gap_gui_thread_computing_ms": round(
            max((g for g, c in zip(gaps[skip:], cpu[skip:], strict=True) if c >= 0.2 * g), default=0.0), 1
        ),
        "largest_gui_thread_cpu_in_one_gap_ms": round(max(cpu[skip:]), 1),
        "gaps_over_50_ms_waiting": sum(
            1 for g, c in zip(gaps[skip:], cpu[skip:], strict=True) if g >= 50 and c < 0.2 * g
        ),
        "gaps_over_50_ms_computing": sum(
            1 for g, c in zip(gaps[skip:], cpu[skip:], strict=True) if g >= 50 and c >= 0.2 * g
        ),
        "sort_ms_all_columns": summarize(all_sorts, 2),
        "largest_sort_ms": round(max(all_sorts), 2),
        "sort_ms": {k: [round(x, 2) for x in v] for k, v in sorts.items()},
        "filter_misclassified_ms": summarize(filters, 2),
        "search_ms": [round(x, 1) for x in search],
    } | ({"gap_trace": tracer.records} if tracer is not None else {})


def refresh_cost(n: int, data: Path, cache: Path, per_flush: int) -> dict[str, Any]:
    """``--refresh-cost``: the GUI thread's work per table refresh as the table grows, without the
    event loop's noise. A result scored before (as ``--replay``) is fed to the controller's progress
    slot ``per_flush`` reviews at a time (shuffled), each followed by one refresh (``_flush``, the
    slot the refresh timer calls; metrics held back) and one repaint of the table; both are timed.
    Sorted by confidence (descending) and unsorted."""
    import numpy as np

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from app.context import AppContext
    from app.dataset_controller import DatasetController
    from engine.corpus import CorpusBuilder, CorpusProgress, _Rows, model_truth
    from engine.data import load_dataset

    bundle, path = _gui_sample(n, data, cache)
    r = _replay_result(bundle, path, cache / "replay")
    ds = load_dataset(path, label_names=bundle.label_names)
    out: dict[str, Any] = {"qt_platform": app.platformName(), "n": len(r), "rows_per_refresh": per_flush}
    for label, column in (("sorted by confidence", 3), ("unsorted", -1)):
        c = DatasetController(AppContext(bundle, None), asynchronous=True, cache_dir=cache / "refresh-cost")
        c.view.resize(1366, 700)
        c.view.show()
        if column >= 0:
            c.view.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        c.dataset = ds
        c.view.set_labels(bundle.label_names)
        c.builder = CorpusBuilder(bundle.label_names, model_truth(bundle, ds))
        c._apply(c.builder.result())
        app.processEvents()
        order = np.random.default_rng(0).permutation(len(r))
        rec = []
        for k in range(0, len(r), per_flush):
            idx = order[k : k + per_flush]
            words = tuple(tuple(r.word_list[w] for w in r.top_words[i] if w >= 0) for i in idx.tolist())
            cols = (r.row, r.pred, r.probs, r.words, r.sentences, r.last_share)
            rows = _Rows(*(col[idx] for col in cols), words, r.top_weights[idx])
            c._on_progress(0, CorpusProgress(k + len(idx), len(r), 1.0, rows))
            c._metrics_at = time.monotonic()  # no metrics: the table's refresh alone
            t0 = time.perf_counter()
            c._flush()
            t1 = time.perf_counter()
            c.view.table.viewport().repaint()
            t2 = time.perf_counter()
            app.processEvents()
            rec.append((k + len(idx), (t1 - t0) * 1000, (t2 - t1) * 1000))
        assert c.view.model.rowCount() == len(r)
        c.builder = None
        c.shutdown()
        a = np.asarray(rec)
        buckets = []
        for lo in range(0, len(r), 5000):
            m = (a[:, 0] > lo) & (a[:, 0] <= lo + 5000)
            if m.any():
                buckets.append(
                    {
                        "table_rows": f"{lo + 1}-{min(lo + 5000, len(r))}",
                        "refresh_ms_p50": round(float(np.median(a[m, 1])), 2),
                        "refresh_ms_max": round(float(a[m, 1].max()), 2),
                        "table_repaint_ms_p50": round(float(np.median(a[m, 2])), 2),
                    }
                )
        out[label] = buckets
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[5000, 25000], help="reviews per engine run")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the engine part)")
    p.add_argument("--data", type=Path, default=IMDB / "test.jsonl.gz")
    p.add_argument("--gui-n", type=int, default=5000, help="reviews the GUI part scores (gap probe)")
    p.add_argument("--no-gui", action="store_true", help="only the engine part (a GPU machine)")
    p.add_argument(
        "--no-engine", action="store_true", help="only the GUI part (reads the engine part's cache)"
    )
    p.add_argument("--cache", type=Path, default=Path("/tmp/han-bench-dataset"), help="scratch folder")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    p.add_argument(
        "--trace-gaps",
        type=float,
        default=0.0,
        metavar="MS",
        help="record the GUI thread's Python stack during gaps longer than MS (a sampler thread)",
    )
    p.add_argument("--note", default="", help="a note stored with the result")
    p.add_argument(
        "--replay",
        type=float,
        default=0.0,
        metavar="RATE",
        help="GUI part: no scoring process; a result scored before (scored once, then kept in the "
        "cache folder) arrives from a thread at RATE reviews/s: the GUI thread's own work, without the "
        "noise of a child on the same cores",
    )
    p.add_argument(
        "--refresh-cost",
        type=int,
        default=0,
        metavar="K",
        help="GUI part: instead of the gap probe, time each table refresh of K new reviews as the "
        "table grows to --gui-n (no event loop, no child: the work itself)",
    )
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child is not None:
        print(json.dumps(child(a.child, a.device, a.data, a.cache if a.device == "cpu" else None)))
        return 0
    started, machine = utc_now(), machine_info()
    engine = [] if a.no_engine else [run_child(n, a.device, a.data, a.cache) for n in a.sizes]
    print_table(
        [
            [
                r["n"],
                r["device"],
                r["docs_per_s"],
                r["vmhwm_after_load_mib"],
                r["vmhwm_after_scoring_mib"],
                r["scoring_adds_mib"],
            ]
            for r in engine
        ],
        ["reviews", "device", "docs/s", "VmHWM load MiB", "VmHWM scored MiB", "scoring adds MiB"],
    )
    payload: dict[str, Any] = {
        "settings": {
            "sizes": a.sizes,
            "device": a.device,
            "data": str(a.data),
            "gui_n": None if a.no_gui else a.gui_n,
        },
        "engine": engine,
        "memory_growth_mib_per_1000_reviews": None,
    } | ({"note": a.note} if a.note else {})
    if len(engine) >= 2:
        lo, hi = engine[0], engine[-1]
        payload["memory_growth_mib_per_1000_reviews"] = round(
            (hi["scoring_adds_mib"] - lo["scoring_adds_mib"]) / ((hi["n"] - lo["n"]) / 1000), 3
        )
    if a.refresh_cost:
        payload["refresh_cost"] = rc = refresh_cost(a.gui_n, a.data, a.cache, a.refresh_cost)
        print(json.dumps(rc))
    elif not a.no_gui:
        g = gui(a.gui_n, a.data, a.cache, max(a.sizes), a.trace_gaps, a.replay)
        payload["gui"] = g
        payload["targets"] = {
            "largest_gui_gap_ms": {
                "target": f"< {TARGET_GAP_MS}",
                "value": g["largest_gui_gap_ms"],
                "met": g["largest_gui_gap_ms"] < TARGET_GAP_MS,
            },
            "largest_sort_ms": {
                "target": f"< {TARGET_SORT_MS}",
                "value": g["largest_sort_ms"],
                "met": g["largest_sort_ms"] < TARGET_SORT_MS,
            },
        }
        print(
            json.dumps(
                {
                    k: g[k]
                    for k in ("n", "scoring_wall_s", "largest_gui_gap_ms", "gui_gap_ms", "largest_sort_ms")
                }
            )
        )
    path = write_result(f"dataset-{a.device}", payload, a.out, started, machine)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
