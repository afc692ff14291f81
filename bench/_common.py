"""Shared by the benchmark scripts: machine and commit facts, timing statistics, the result writer.

Every benchmark run writes one JSON file named ``<UTC date>-<name>-<short commit>.json`` (to
``bench/results/`` unless ``--out`` says otherwise) holding the benchmark name, the commit, the
machine, the settings, every figure measured (raw lists too), the targets and whether each was met.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
IMDB = ROOT.parent / "shared" / "data" / "aclimdb"   # ../shared/data/aclimdb from the repo root

if str(ROOT) not in sys.path:  # run as `python bench/x.py` without the editable install
    sys.path.insert(0, str(ROOT))

from engine.conv_bench import commit_info  # noqa: E402  (after the path; one git reader for every benchmark)

__all__ = ["IMDB", "RESULTS", "ROOT", "commit_info", "machine_info", "print_table", "summarize",
           "utc_now", "write_result"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _meminfo_total_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024, 1)   # the file says kB (KiB)
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Call after any ``torch.set_num_threads`` so the recorded thread count is the one used."""
    import torch

    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or None,
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_total_mib": _meminfo_total_mib(),
        "torch_version": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "loadavg_1_5_15_at_start": load,   # high values mean the run shared the CPUs
    }


def summarize(values: list[float], digits: int = 3) -> dict[str, Any]:
    """p50/p90 (linear interpolation between order statistics), mean, min, max, stdev."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "mean": None, "min": None, "max": None, "stdev": None}
    xs = sorted(values)

    def pct(q: float) -> float:
        pos = (len(xs) - 1) * q
        lo, hi = math.floor(pos), math.ceil(pos)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    mean = sum(xs) / len(xs)
    stdev = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return {k: round(v, digits) for k, v in
            (("p50", pct(0.5)), ("p90", pct(0.9)), ("mean", mean), ("min", xs[0]), ("max", xs[-1]),
             ("stdev", stdev))} | {"n": len(xs)}


def write_result(name: str, payload: dict[str, Any], out_dir: str | Path | None = None,
                 started: datetime | None = None, machine: dict[str, Any] | None = None) -> Path:
    """Write ``<UTC date>-<name>-<short commit>.json``; never overwrites (adds -2, -3, ...).

    ``started`` names the file and ``machine`` should be :func:`machine_info` taken when the run
    began (so the load average is the one at the start); both default to now.
    """
    started = started or utc_now()
    info = commit_info()
    record: dict[str, Any] = {
        "benchmark": name,
        **info,
        "machine": dict(machine) if machine is not None else machine_info(),
        "timestamp": started.isoformat(timespec="seconds"),
        "finished": utc_now().isoformat(timespec="seconds"),
        **payload,
    }
    with contextlib.suppress(OSError):
        record["machine"]["loadavg_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(out_dir) if out_dir is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    short = (info["commit"] or "nocommit")[:7]
    stem = f"{started.strftime('%Y-%m-%d')}-{name}-{short}"
    path = out / f"{stem}.json"
    k = 2
    while path.exists():
        path = out / f"{stem}-{k}.json"
        k += 1
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def print_table(rows: list[list[Any]], header: list[str]) -> None:
    """A plain fixed-width table; numbers right-aligned."""
    cells = [[_fmt(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 or not _numeric(c) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(c: Any) -> str:
    if c is None:
        return "-"
    if isinstance(c, bool):
        return "yes" if c else "NO"
    if isinstance(c, float):
        return f"{c:,.1f}" if abs(c) >= 100 else f"{c:.2f}"
    return str(c)


def _numeric(s: str) -> bool:
    return s.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
