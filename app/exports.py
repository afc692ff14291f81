"""File → Export for the GRU stepper, Training and Convolution tiles: what each view shows, as files.

Each ``save_*`` writes one file by its suffix, atomically (:mod:`engine.atomic`), and every file
names the model and the program (:mod:`app.provenance`): in a JSON's ``provenance``, an HTML page's
last section, a CSV's leading ``#`` lines, a picture's caption (PNG/JPEG) or ``<desc>`` (SVG).
Plots go through pyqtgraph's exporters on the whole scene, so nothing scrolled away is lost.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app._export import IMAGE_FORMATS, captioned, encode_image, export_suffix, painted_svg, widget_image
from app.colormaps import DEFAULT_COLORMAP, color, hex_color, text_color
from app.provenance import Provenance, provenance
from engine import atomic

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QGraphicsScene, QWidget

__all__ = [
    "CONV_FORMATS",
    "GRU_FORMATS",
    "TRAINING_FORMATS",
    "jsonable",
    "save_conv",
    "save_gru",
    "save_training",
]

GRU_FORMATS = (
    (".png", "PNG image of the gates and plots"),
    (".svg", "SVG image of the gates and plots"),
    (".json", "JSON, the trace with attention"),
    (".csv", "CSV, the selected unit step by step"),
)
TRAINING_FORMATS = (
    (".png", "PNG image of the curves"),
    (".svg", "SVG image of the curves"),
    (".json", "JSON, the run's settings and log"),
    (".csv", "CSV, the run's log"),
    (".html", "HTML page of the probe snapshots"),
)
CONV_FORMATS = (
    (".png", "PNG image of the block view"),
    (".svg", "SVG image of the block view"),
    (".json", "JSON, geometry, load plan and counters"),
    (".npy", "NumPy array, the last run's output image"),
)


def jsonable(value: Any) -> Any:
    """Dataclasses, numpy values, tuples and paths as plain JSON values (NaN and inf as null)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _write_json(path: Path, data: dict[str, Any], stamp: Provenance) -> None:
    data = {"provenance": stamp.to_dict(), **data}
    atomic.write_text(path, json.dumps(jsonable(data), ensure_ascii=False, indent=1, allow_nan=False) + "\n")


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], stamp: Provenance) -> None:
    out = io.StringIO()
    for line in stamp.lines():
        out.write(f"# {line}\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic.write_text(path, out.getvalue())


def _write_picture(
    path: Path, suffix: str, image: QImage | None, svg: bytes | None, stamp: Provenance
) -> None:
    if suffix == ".svg":
        assert svg is not None
        atomic.write_bytes(path, svg)
    else:
        assert image is not None
        atomic.write_bytes(path, encode_image(captioned(image, stamp.lines()), suffix))


def scene_image(scene: QGraphicsScene, width: int | None = None) -> QImage:
    """The whole pyqtgraph scene (every plot, not the viewport) as an image."""
    from pyqtgraph.exporters import ImageExporter

    exporter = ImageExporter(scene)
    if width is not None:
        exporter.parameters()["width"] = width
    image: QImage = exporter.export(toBytes=True)
    return image


def scene_svg(scene: QGraphicsScene, stamp: Provenance, title: str) -> bytes:
    """The whole scene as SVG, with the model and program in ``<desc>``.

    Qt's SVG generator, not pyqtgraph's SVGExporter: that one fails on the paths Qt 6 writes
    (``x,y = c.split(',')`` in its coordinate rewriting)."""
    from PySide6.QtCore import QRectF

    rect = scene.itemsBoundingRect() if scene.sceneRect().isEmpty() else scene.sceneRect()
    size = rect.size().toSize()
    target = QRectF(0, 0, size.width(), size.height())
    return painted_svg(size, lambda p: scene.render(p, target, rect), title, "\n".join(stamp.lines()))


def _widget_svg(widget: QWidget, stamp: Provenance, title: str) -> bytes:
    from PySide6.QtCore import QPoint

    return painted_svg(widget.size(), lambda p: widget.render(p, QPoint()), title, "\n".join(stamp.lines()))


# -- GRU stepper --------------------------------------------------------------------------------------
def save_gru(controller: Any, path: str | Path) -> Path:
    p = Path(path)
    suffix = export_suffix(p, GRU_FORMATS)
    d = controller.display
    if d is None:
        raise ValueError("nothing to export: the GRU stepper has no trace yet")
    stamp = provenance(controller.context.bundle)
    view = controller.view
    if suffix == ".json":
        _write_json(p, gru_json(d), stamp)
    elif suffix == ".csv":
        unit = int(view.unit)
        rows = [
            [
                t,
                tok,
                *(f"{float(a[t, unit]):.6g}" for a in (d.z, d.r, d.n, d.h_prev, d.h)),
                f"{d.attention[t]:.6g}",
            ]
            for t, tok in enumerate(d.tokens)
        ]
        _write_csv(
            p,
            [
                "step",
                "token",
                f"z[{unit}]",
                f"r[{unit}]",
                f"n[{unit}]",
                f"h_prev[{unit}]",
                f"h[{unit}]",
                "attention",
            ],
            rows,
            stamp,
        )
    else:
        title = f"HAN Explorer: GRU stepper, {d.encoder} GRU {d.direction}"
        svg = _widget_svg(view, stamp, title) if suffix == ".svg" else None
        _write_picture(p, suffix, widget_image(view) if suffix in IMAGE_FORMATS else None, svg, stamp)
    return p


def gru_json(d: Any) -> dict[str, Any]:
    """The trace the stepper shows: every step's gates and states, and the HAN's attention of it."""
    return {
        "text": d.text,
        "encoder": d.encoder,
        "direction": d.direction,
        "sentence": d.sentence + 1,  # counted from 1, as the app and gru-trace do
        "tokens": list(d.tokens),
        "known": d.known,
        "attention": d.attention,
        "z": d.z,
        "r": d.r,
        "n": d.n,
        "h_prev": d.h_prev,
        "h": d.h,
        "offsets": d.offsets,
    }


# -- Training -----------------------------------------------------------------------------------------
def training_stamp(controller: Any) -> Provenance:
    """The run's own stamp: its folder and data; the accuracy is the best dev accuracy so far."""
    run = controller.run
    base = provenance(controller.context.bundle)
    if run is None:
        return base
    best = max((acc for _, _, acc in run.evals), default=None)
    return dataclasses.replace(
        base,
        model=str(Path(run.model_dir).resolve()),
        dataset=Path(str(run.cfg.data)).name,
        accuracy=f"best dev accuracy {best:.2%} so far" if best is not None else "not evaluated yet",
        trained=f"run {run.outcome or 'in progress'}",
    )


def save_training(controller: Any, path: str | Path) -> Path:
    p = Path(path)
    suffix = export_suffix(p, TRAINING_FORMATS)
    run = controller.run
    if run is None:  # empty curves would be stamped with a model they do not show
        raise ValueError("nothing to export: no training run yet")
    stamp = training_stamp(controller)
    if suffix == ".json":
        _write_json(p, training_json(run), stamp)
    elif suffix == ".csv":
        rows: list[list[Any]] = [["step", f"{e:.6g}", f"{loss:.6g}", ""] for e, loss in run.steps]
        rows += [["eval", e, f"{loss:.6g}", f"{acc:.6g}"] for e, loss, acc in run.evals]
        _write_csv(p, ["kind", "epoch", "loss", "dev_accuracy"], rows, stamp)
    elif suffix == ".html":
        atomic.write_text(p, probe_html(run.snapshots, stamp))
    else:
        scene = controller.view.curves.scene()
        if suffix == ".svg":
            _write_picture(p, suffix, None, scene_svg(scene, stamp, "HAN Explorer: training curves"), stamp)
        else:
            _write_picture(p, suffix, scene_image(scene), None, stamp)
    return p


def training_json(run: Any) -> dict[str, Any]:
    return {
        "settings": dataclasses.asdict(run.cfg),
        "outcome": run.outcome or "running",
        "message": run.message,
        "total_steps": run.total,
        "steps": [{"epoch": e, "loss": loss} for e, loss in run.steps],
        "evals": [{"epoch": e, "loss": loss, "dev_accuracy": acc} for e, loss, acc in run.evals],
        "snapshots": [
            {
                "title": s.title,
                "epoch": s.epoch,
                "step": s.step,
                "dev_accuracy": s.dev_accuracy,
                "label": s.display.label,
                "summary": s.describe(),
            }
            for s in run.snapshots
        ],
    }


def probe_html(snapshots: Sequence[Any], stamp: Provenance) -> str:
    """One page: the probe review at every snapshot, words shaded by word × sentence weight."""
    from app.render import _CSS

    sections = []
    for s in snapshots:
        d = s.display
        w = np.asarray(d.product(), dtype=float)
        top = float(w.max()) if w.size else 0.0
        parts, pos = [], 0
        for i in range(d.n_words):
            a, b = int(d.word_start[i]), int(d.word_end[i])
            parts.append(html.escape(d.text[pos:a]))
            rgb = color(DEFAULT_COLORMAP, w[i] / top if top > 0 else 0.0)
            style = f"background: {hex_color(rgb)}; color: {hex_color(text_color(rgb))}"
            parts.append(
                f'<span class="word" style="{style}" title="{w[i]:.4f}">{html.escape(d.text[a:b])}</span>'
            )
            pos = b
        parts.append(html.escape(d.text[pos:]))
        sections.append(
            f'<section class="card"><h2>{html.escape(s.title)}</h2>'
            f'<p class="stats">{html.escape(s.describe())}</p>'
            f'<div class="review">{"".join(parts)}</div></section>'
        )
    if not sections:
        sections.append('<section class="card"><p class="stats">No probe snapshot yet.</p></section>')
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><title>HAN Explorer: probe during training</title>',
            f"<style>{_CSS}</style></head>",
            "<body><main><h1>HAN Explorer: the probe review during training</h1>",
            *sections,
            stamp.html(),
            "</main></body></html>",
            "",
        ]
    )


# -- Convolution tiles --------------------------------------------------------------------------------
def save_conv(controller: Any, path: str | Path) -> Path:
    p = Path(path)
    suffix = export_suffix(p, CONV_FORMATS)
    stamp = dataclasses.replace(provenance(None), model="none (the convolution explorer uses no model)")
    if suffix == ".npy":
        run = controller.run
        if run is None:
            raise ValueError("nothing to export: run the convolution first (Run tab)")
        buf = io.BytesIO()
        np.save(buf, np.asarray(run.output, dtype=np.float32), allow_pickle=False)
        atomic.write_bytes(p, buf.getvalue())
    elif suffix == ".json":
        if controller.geometry is None:
            raise ValueError(f"nothing to export: {controller.error or 'no valid configuration'}")
        _write_json(p, conv_json(controller), stamp)
    else:
        canvas = controller.view.canvas
        title = f"HAN Explorer: {controller.params.strategy} tiles"
        svg = _widget_svg(canvas, stamp, title) if suffix == ".svg" else None
        _write_picture(p, suffix, widget_image(canvas) if suffix in IMAGE_FORMATS else None, svg, stamp)
    return p


def conv_json(c: Any) -> dict[str, Any]:
    counters = c.counters
    run = c.run
    return {
        "params": c.params,
        "mask": np.asarray(c.mask),
        "geometry": c.geometry,
        "block": c.block_view,
        "counters": None
        if counters is None
        else {**jsonable(counters), "loads_per_output": counters.loads_per_output, "reuse": counters.reuse},
        "run": None
        if run is None
        else {
            "backend": run.backend_text,
            "strategy": run.strategy,
            "seconds": run.seconds,
            "kernel_ms": run.kernel_ms,
            "shape": list(run.output.shape),
        },
    }
