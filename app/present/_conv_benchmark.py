"""A benchmark record (:mod:`engine.conv_records`) as the comparison bar chart's data."""

from __future__ import annotations

from typing import Any

from app.display import CompareDisplay

__all__ = ["benchmark_choices", "benchmark_registers", "compare_from_benchmark"]


def _is_row(r: Any) -> bool:
    return isinstance(r, dict) and {"impl", "size", "median_ms"} <= r.keys()


def _benchmark_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in data["rows"] if _is_row(r) and isinstance(r["median_ms"], int | float)]


def benchmark_choices(data: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rows = _benchmark_rows(data)
    return (
        tuple(sorted({int(r["size"]) for r in rows})),
        tuple(sorted({int(r["mask"]) for r in rows if isinstance(r.get("mask"), int)})),
    )


def compare_from_benchmark(
    data: dict[str, Any], source: str, size: int, mask: int, strategy: str = ""
) -> CompareDisplay:
    """Our strategies' median times (fastest first), then cuDNN, cupyx and the copy floor."""
    rows = _benchmark_rows(data)
    sizes, masks = benchmark_choices(data)
    ours = sorted(
        (r for r in rows if r["impl"] == "ours" and r["size"] == size and r.get("mask") == mask),
        key=lambda r: r["median_ms"],
    )
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
    gpu = (
        (data.get("machine") or {}).get("gpu", {}).get("device", "GPU")
        if isinstance(data.get("machine"), dict)
        else "GPU"
    )
    return CompareDisplay(
        f"{gpu}: {size}×{size}, mask {mask}, median kernel time",
        tuple(labels),
        tuple(times),
        tuple(kinds),
        source,
        "ms",
        sizes,
        masks,
        size,
        mask,
    )


def benchmark_registers(data: dict[str, Any] | None, strategy: str, mask: int, tile: int) -> int | None:
    if data is None:
        return None
    for r in _benchmark_rows(data):
        if (
            (r["impl"], r.get("strategy"), r.get("mask"), r.get("tile")) == ("ours", strategy, mask, tile)
            and isinstance(r.get("registers"), int)
            and r["registers"] > 0
        ):
            return int(r["registers"])
    return None
