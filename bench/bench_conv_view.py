"""Pan and zoom of the Convolution tiles canvas on a 4096 x 4096 image (65,536 blocks of 16 x 16).

    .venv/bin/python bench/bench_conv_view.py                # result in bench/results/
    .venv/bin/python bench/bench_conv_view.py --quick --out /tmp/bench

Renders the canvas offscreen (``QT_QPA_PLATFORM=offscreen``) in a ``--width`` x ``--height`` window,
as the app would: the explorer's controller (synchronous) draws the image, the grid and a selected
block. Each frame sets the view range, then paints the whole plot (``QWidget.grab``); the frame
time is that paint. The grid item's own ``paint`` is timed separately (wrapped), and so is, for
comparison, a naive grid item that draws one rectangle per block each paint (its rectangles built
once, outside the timing).

Scenarios, each a sequence of frames: ``whole`` (the whole image, every block in view), ``zoom``
(from the whole image in to 40 pixels, x1.25 per frame, and out again), ``pan_mid`` (a 512-pixel
view moved 24 pixels per frame), ``pan_close`` (a 48-pixel view, where pixel lines are drawn).

Targets (smooth = 60 frames per second): p90 frame time < 16.7 ms in every scenario, and the grid
item within a quarter of that frame budget (p90 grid paint < 4.2 ms), so the image and the overlay
keep the rest.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import machine_info, print_table, summarize, utc_now, write_result

FRAME_MS = 1000 / 60
GRID_MS = FRAME_MS / 4


def _setup(width: int, height: int) -> Any:
    from app.context import AppContext
    from app.conv_controller import ConvController
    from app.gui import application

    application()
    c = ConvController(AppContext(None, None), asynchronous=False)
    c.set_pattern("circles")
    c.set_params(height=4096, width=4096, mask_size=5, tile=16, strategy="output_tile")
    c.select_block(128, 128)
    c.view.resize(width + 760, height)
    c.view.show()
    c.wait_idle(60_000)
    return c


class _Timed:
    """Wraps an item's ``paint`` and keeps its durations (ms)."""

    def __init__(self, item: Any) -> None:
        self.times: list[float] = []
        original = item.paint

        def paint(*args: Any) -> None:
            t0 = time.perf_counter()
            original(*args)
            self.times.append((time.perf_counter() - t0) * 1000)

        item.paint = paint


def _naive_item(grid: Any) -> Any:
    """One rectangle per block, all drawn at every paint: what the real item avoids."""
    import pyqtgraph as pg
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPen

    rects = [
        QRectF(x, y, grid.tile[1], grid.tile[0])
        for y in range(0, grid.height, grid.tile[0])
        for x in range(0, grid.width, grid.tile[1])
    ]

    class Naive(pg.GraphicsObject):
        def boundingRect(self) -> QRectF:
            return QRectF(0, 0, grid.width, grid.height)

        def paint(self, p: Any, *args: Any) -> None:
            pen = QPen()
            pen.setCosmetic(True)
            p.setPen(pen)
            p.drawRects(rects)

    return Naive()


def _frames(c: Any, ranges: list[tuple[float, float, float, float]]) -> list[float]:
    from PySide6.QtWidgets import QApplication

    box, plot, out = c.view.canvas.view_box, c.view.canvas.plot, []
    for x0, x1, y0, y1 in ranges:
        box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        QApplication.processEvents()
        t0 = time.perf_counter()
        plot.grab()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _scenarios(n: int) -> dict[str, list[tuple[float, float, float, float]]]:
    whole = [(0.0, 4096.0, 0.0, 4096.0)] * n
    zoom, side = [], 4096.0
    while side > 40:
        zoom.append((2048 - side / 2, 2048 + side / 2, 2048 - side / 2, 2048 + side / 2))
        side /= 1.25
    zoom += zoom[::-1]
    pan_mid = [(1000 + 24 * i, 1512 + 24 * i, 1800 + 12 * i, 2312 + 12 * i) for i in range(n)]
    pan_close = [(2040 + 2 * i, 2088 + 2 * i, 2040 + i, 2088 + i) for i in range(n)]
    return {"whole": whole, "zoom": zoom, "pan_mid": pan_mid, "pan_close": pan_close}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60, help="frames per scenario (zoom: its own count)")
    ap.add_argument("--width", type=int, default=900, help="canvas width in pixels (about)")
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--quick", action="store_true", help="10 frames, to check the script works")
    ap.add_argument("--out", default=None, help="results folder (default bench/results)")
    a = ap.parse_args()
    frames = 10 if a.quick else a.frames
    started, machine = utc_now(), machine_info()
    c = _setup(a.width, a.height)
    canvas = c.view.canvas
    grid_times = _Timed(canvas.grid_item)
    results: dict[str, Any] = {}
    rows = []
    for name, ranges in _scenarios(frames).items():
        _frames(c, ranges[:3])  # warm caches (pictures, downsampled image)
        grid_times.times.clear()
        frame = _frames(c, ranges)
        results[name] = {
            "frame_ms": summarize(frame),
            "grid_paint_ms": summarize(grid_times.times),
            "frame_ms_raw": [round(t, 3) for t in frame],
            "grid_lines_last_frame": canvas.grid_item.last_lines,
            "grid_pictures_cached": len(canvas.grid_item._pictures),
        }
        rows.append(
            [
                name,
                len(frame),
                results[name]["frame_ms"]["p50"],
                results[name]["frame_ms"]["p90"],
                results[name]["grid_paint_ms"]["p50"],
                results[name]["grid_paint_ms"]["p90"],
            ]
        )
    canvas.grid_item.hide()  # the naive item, for comparison
    naive = _naive_item(canvas.grid)
    naive_times = _Timed(naive)
    canvas.plot.getPlotItem().addItem(naive)
    _frames(c, _scenarios(3)["whole"])
    naive_times.times.clear()
    naive_frame = _frames(c, _scenarios(frames)["whole"][: max(5, frames // 4)])
    results["naive_whole"] = {
        "frame_ms": summarize(naive_frame),
        "grid_paint_ms": summarize(naive_times.times),
    }
    rows.append(
        [
            "naive_whole",
            len(naive_frame),
            results["naive_whole"]["frame_ms"]["p50"],
            results["naive_whole"]["frame_ms"]["p90"],
            results["naive_whole"]["grid_paint_ms"]["p50"],
            results["naive_whole"]["grid_paint_ms"]["p90"],
        ]
    )
    print_table(rows, ["scenario", "frames", "frame p50 ms", "frame p90 ms", "grid p50 ms", "grid p90 ms"])
    real = [k for k in results if not k.startswith("naive")]
    targets = {
        "frame_p90_ms": {
            "target": f"p90 frame < {FRAME_MS:.1f} ms in every scenario",
            "limit": FRAME_MS,
            "measured": max(results[k]["frame_ms"]["p90"] for k in real),
        },
        "grid_p90_ms": {
            "target": f"p90 grid paint < {GRID_MS:.1f} ms in every scenario",
            "limit": GRID_MS,
            "measured": max(results[k]["grid_paint_ms"]["p90"] for k in real),
        },
    }
    for t in targets.values():
        t["met"] = t["measured"] < t["limit"]
        print(f"{t['target']}: {t['measured']:.2f} -> {'met' if t['met'] else 'NOT met'}")
    g = canvas.grid
    settings = {
        "image": [g.height, g.width],
        "tile": list(g.tile),
        "blocks": g.grid[0] * g.grid[1],
        "canvas_px": [canvas.plot.width(), canvas.plot.height()],
        "frames": frames,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
        "quick": a.quick,
    }
    path = write_result(
        "conv-view", {"settings": settings, "results": results, "targets": targets}, a.out, started, machine
    )
    print(f"wrote {path}")
    c.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
