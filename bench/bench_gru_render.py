"""How long the GRU stepper takes to show one step, offscreen, on the shipped model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gru_render.py
    .venv/bin/python bench/bench_gru_render.py --quick --out /tmp/bench     # check the script works

The view (``app.widgets.GRUView``, 1400 x 860 px, the size of the stepper's tab in a 1400 x 900
window) shows a real trace: the shipped HAN's word GRU on one sentence of a sample review, built by
the controller's own jobs, ``app.present.trace_job`` and ``flow_job``. Then, for each timed run:

* ``step_paint_ms`` (the target): ``set_step(t)`` and the event loop run until the heatmaps'
  viewport and the token strip have both painted (counted with an event filter): moving the step
  markers on four heatmaps, the line and gradient-flow cursors, the strip, the labels and the unit
  inspector's equations, and repainting them. t runs over every step of the sentence, round robin.
* ``step_paint_cpu_ms``: the GUI thread's CPU time of the same steps (``time.thread_time_ns``); when
  the machine is busy the wall time grows, this one much less.
* ``step_grab_ms``: ``set_step(t)`` and ``grab()`` of the whole view, a full synchronous render of
  every widget into a pixmap (an upper bound: it repaints what did not change too).

For context, without targets: ``retrace_ms``, a what-if re-run (``trace_job`` with a bias
offset on the prepared inputs, off the GUI thread in the app) and ``flow_ms`` (``flow_job``).

Target: p50 of ``step_paint_ms`` < 16 ms (one frame at 60 Hz).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import ROOT, machine_info, print_table, summarize, utc_now, write_result

TARGET_MS = 16.0
WARMUP = 10
SIZE = (1400, 860)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--text",
        type=Path,
        default=ROOT / "resources" / "samples" / "mixed_feelings.txt",
        help="review to trace (default: the sample mixed_feelings.txt)",
    )
    p.add_argument("--sentence", type=int, default=2, help="sentence of the review, 0-based (default 2)")
    p.add_argument("--runs", type=int, default=None, help="timed steps (default 300; 30 with --quick)")
    p.add_argument("--quick", action="store_true", help="few runs, to check the script; do not quote")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results)")
    a = p.parse_args(argv)
    if a.runs is None:
        a.runs = 30 if a.quick else 300
    if a.runs < 1:
        p.error("--runs must be >= 1")
    return a


class PaintCounter:
    """Counts Paint events of the widgets it filters."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class _Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    counter.counts[obj] = counter.counts.get(obj, 0) + 1
                return False

        self.counts: dict[Any, int] = {}
        self.filter = _Filter()

    def watch(self, *widgets: Any) -> None:
        for w in widgets:
            w.installEventFilter(self.filter)
            self.counts[w] = 0


def time_steps(
    app: Any, view: Any, runs: int, watched: tuple[Any, ...], counter: PaintCounter, grab: bool
) -> tuple[list[float], list[float]]:
    """Wall-clock and GUI-thread CPU milliseconds of each timed step."""
    n = view.n_steps
    wall, cpu = [], []
    gc.collect()
    for k in range(WARMUP + runs):
        step = (view.step + 1) % n
        before = [counter.counts[w] for w in watched]
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        view.set_step(step)
        if grab:
            view.grab()
        else:
            deadline = time.monotonic() + 1.0
            while any(counter.counts[w] == b for w, b in zip(watched, before, strict=True)):
                app.processEvents()
                if time.monotonic() > deadline:
                    raise SystemExit("the view did not repaint within a second")
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        if k >= WARMUP:
            wall.append(round((t1 - t0) / 1e6, 4))
            cpu.append(round((c1 - c0) / 1e6, 4))
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = utc_now()
    machine = machine_info()
    from PySide6.QtWidgets import QApplication

    from app.present import TraceRequest, flow_job, trace_job
    from app.widgets import GRUView
    from engine.bundle import load_bundle
    from resources import model_dir

    app = QApplication.instance() or QApplication(sys.argv[:1])
    bundle = load_bundle(model_dir(), "cpu")
    text = a.text.read_text(encoding="utf-8")
    prep, display = trace_job(TraceRequest(bundle, text, "word", "forward", a.sentence))
    flow = flow_job(prep, ())
    view = GRUView()
    view.resize(*SIZE)
    view.show()
    view.set_display(display)
    view.set_flow(flow)
    for _ in range(20):
        app.processEvents()
    counter = PaintCounter()
    watched = (view.plots.viewport(), view.strip)
    counter.watch(*watched)
    print(f"{display.n_steps} steps, {display.hidden_size} units; timing {a.runs} steps ...", flush=True)
    paint, paint_cpu = time_steps(app, view, a.runs, watched, counter, grab=False)
    grabbed, _ = time_steps(app, view, a.runs, watched, counter, grab=True)
    retrace, flow_ms = [], []
    for k in range(max(3, a.runs // 20)):
        t0 = time.perf_counter_ns()
        trace_job(TraceRequest(bundle, text, "word", "forward", a.sentence, (("z", 0.1 * k),), prep))
        retrace.append(round((time.perf_counter_ns() - t0) / 1e6, 4))
    for k in range(3):
        t0 = time.perf_counter_ns()
        flow_job(prep, (("z", 0.5 * k),))
        flow_ms.append(round((time.perf_counter_ns() - t0) / 1e6, 4))
    view.close()

    p50 = summarize(paint)["p50"]
    targets = {
        "step_paint_p50_ms": {
            "target": f"< {TARGET_MS:g} ms",
            "limit_ms": TARGET_MS,
            "measured_ms": p50,
            "met": p50 < TARGET_MS,
        }
    }
    payload = {
        "settings": {
            "quick": a.quick,
            "runs": a.runs,
            "warmup": WARMUP,
            "view_size_px": list(SIZE),
            "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
            "text": str(a.text),
            "sentence": a.sentence,
            "steps": display.n_steps,
            "hidden_size": display.hidden_size,
            "tokens": list(display.tokens),
            "timer": "time.perf_counter_ns, ms; gc enabled, gc.collect() before each timed loop",
            "percentiles": "linear interpolation between order statistics",
        },
        "step_paint_ms": {"raw": paint, "summary": summarize(paint)},
        "step_paint_cpu_ms": {"raw": paint_cpu, "summary": summarize(paint_cpu)},
        "step_grab_ms": {"raw": grabbed, "summary": summarize(grabbed)},
        "retrace_ms": {"raw": retrace, "summary": summarize(retrace)},
        "flow_ms": {"raw": flow_ms, "summary": summarize(flow_ms)},
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()),
    }
    if a.quick:
        payload["note"] = "--quick run: too few runs to quote; checks that the script works"
    path = write_result("gru-render", payload, a.out, started, machine)
    rows = []
    for key, label in (
        ("step_paint_ms", "set_step + repaint"),
        ("step_paint_cpu_ms", "  its GUI-thread CPU"),
        ("step_grab_ms", "set_step + grab()"),
        ("retrace_ms", "what-if re-trace"),
        ("flow_ms", "gradient flow"),
    ):
        s = payload[key]["summary"]
        rows.append(
            [
                label,
                s["p50"],
                s["p90"],
                s["mean"],
                s["min"],
                targets["step_paint_p50_ms"]["target"] if key == "step_paint_ms" else "no target",
                targets["step_paint_p50_ms"]["met"] if key == "step_paint_ms" else None,
            ]
        )
    print_table(rows, ["ms (offscreen)", "p50", "p90", "mean", "min", "target", "met"])
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
