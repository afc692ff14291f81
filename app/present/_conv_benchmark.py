"""Benchmark JSON (``bench/bench_conv.py``'s rows) as the comparison bar chart's data: no Qt, no engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.display import CompareDisplay

__all__ = ["benchmark_choices", "benchmark_registers", "compare_from_benchmark", "load_benchmark",
           "newest_benchmark"]


def load_benchmark(path: str | Path) -> dict[str, Any]:
    """A ``bench/bench_conv.py`` result: a dict whose ``rows`` hold ``impl``, ``size`` and ``median_ms``."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {p.name}: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p.name} is not JSON ({e.msg}, line {e.lineno})") from None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not any(_is_row(r) for r in rows):
        raise ValueError(f"{p.name} is not a convolution benchmark: it has no rows with impl, size and "
                         f"median_ms (bench/bench_conv.py writes them)")
    return data


def _is_row(r: Any) -> bool:
    return isinstance(r, dict) and {"impl", "size", "median_ms"} <= r.keys()


def _benchmark_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in data["rows"] if _is_row(r) and isinstance(r["median_ms"], int | float)]


def benchmark_choices(data: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rows = _benchmark_rows(data)
    return (tuple(sorted({int(r["size"]) for r in rows})),
            tuple(sorted({int(r["mask"]) for r in rows if isinstance(r.get("mask"), int)})))


def compare_from_benchmark(data: dict[str, Any], source: str, size: int, mask: int,
                           strategy: str = "") -> CompareDisplay:
    """Our strategies' median times (fastest first), then cuDNN, cupyx and the copy floor."""
    rows = _benchmark_rows(data)
    sizes, masks = benchmark_choices(data)
    ours = sorted((r for r in rows if r["impl"] == "ours" and r["size"] == size and r.get("mask") == mask),
                  key=lambda r: r["median_ms"])
    labels = [f"{r.get('strategy', '?')} T{r.get('tile', '?')}" for r in ours]
    times = [float(r["median_ms"]) for r in ours]
    kinds = ["current" if r.get("strategy") == strategy else "ours" for r in ours]
    names = {"cudnn": "cuDNN", "cupyx": "cupyx correlate", "copy": "copy floor (read + write)"}
    for impl, name in names.items():
        for r in rows:
            if r["impl"] == impl and r["size"] == size and r.get("mask", mask) == mask:
                labels.append(name)
                times.append(float(r["median_ms"]))
                kinds.append("reference")
    gpu = (data.get("machine") or {}).get("gpu", {}).get("device", "GPU") if isinstance(
        data.get("machine"), dict) else "GPU"
    return CompareDisplay(f"{gpu}: {size}×{size}, mask {mask}, median kernel time", tuple(labels),
                          tuple(times), tuple(kinds), source, "ms", sizes, masks, size, mask)


def benchmark_registers(data: dict[str, Any] | None, strategy: str, mask: int, tile: int) -> int | None:
    if data is None:
        return None
    for r in _benchmark_rows(data):
        if (r["impl"], r.get("strategy"), r.get("mask"), r.get("tile")) == ("ours", strategy, mask, tile) \
                and isinstance(r.get("registers"), int) and r["registers"] > 0:
            return int(r["registers"])
    return None


def newest_benchmark(folder: Path) -> Path | None:
    """The newest convolution benchmark in ``folder`` (file names start with the date), or None.

    Names are compared without ".json", so a re-run's name (``...-h200-v2``, ``...-2``) sorts after the
    run it repeats (with the suffix, "." sorts after "-" and the older file would win).
    """
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*conv*.json"), key=lambda p: p.stem, reverse=True):
        try:
            load_benchmark(path)
        except ValueError:
            continue
        return path
    return None
