"""Shared by the benchmark scripts: machine and commit facts, timing statistics, the result writer.

Every benchmark run writes one JSON file named ``<UTC date>-<name>-<short commit>.json`` (to
``bench/results/`` unless ``--out`` says otherwise) holding the benchmark name, the commit, the
machine, the settings, every figure measured (raw lists too), the targets and whether each was met.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
IMDB = ROOT.parent / "shared" / "data" / "aclimdb"  # ../shared/data/aclimdb from the repo root

if str(ROOT) not in sys.path:  # run as `python bench/x.py` without the editable install
    sys.path.insert(0, str(ROOT))

# After the path: commit, machine, dated names, atomic JSON and tables come from one module.
from engine.provenance import (  # noqa: E402
    commit_info,
    dated_path,
    header,
    machine_info,
    table_lines,
    utc_now,
    write_record,
)

__all__ = [
    "IMDB",
    "RESULTS",
    "ROOT",
    "commit_info",
    "machine_info",
    "print_table",
    "summarize",
    "utc_now",
    "write_result",
]


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
    return {
        k: round(v, digits)
        for k, v in (
            ("p50", pct(0.5)),
            ("p90", pct(0.9)),
            ("mean", mean),
            ("min", xs[0]),
            ("max", xs[-1]),
            ("stdev", stdev),
        )
    } | {"n": len(xs)}


def write_result(
    name: str,
    payload: dict[str, Any],
    out_dir: str | Path | None = None,
    started: datetime | None = None,
    machine: dict[str, Any] | None = None,
) -> Path:
    """Write ``<UTC date>-<name>-<short commit>.json``; never overwrites (adds -2, -3, ...).

    ``started`` names the file and ``machine`` should be :func:`machine_info` taken when the run
    began (so the load average is the one at the start); both default to now.
    """
    started = started or utc_now()
    record = header(name, started)
    record |= {
        "machine": dict(machine) if machine is not None else machine_info(),
        "finished": utc_now().isoformat(timespec="seconds"),
        **payload,
    }
    with contextlib.suppress(OSError):
        record["machine"]["loadavg_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = dated_path(Path(out_dir) if out_dir is not None else RESULTS, name, record["commit"], started)
    write_record(path, record)
    return path


def print_table(rows: list[list[Any]], columns: list[str]) -> None:
    """A plain fixed-width table; numbers right-aligned."""
    for line in table_lines(rows, columns):
        print(line)
