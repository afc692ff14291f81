"""Convolution benchmark records shipped with the app, so an installed copy can show measured times.

``han-explorer conv-bench`` and ``bench/bench_conv.py`` write records to ``bench/results/``, which
exists only in a source checkout. The runs worth showing are copied into ``resources/benchmarks/``
(package data) and read here through ``importlib.resources``; with none packaged,
:func:`recorded_runs` is empty and the view says "none recorded".
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = ["RecordedRun", "load_record", "recorded_runs"]

_PACKAGE, _FOLDER = "resources", "benchmarks"


@dataclass(frozen=True, eq=False)
class RecordedRun:
    """One benchmark record: ``name`` (its file name) and ``record`` (the JSON, see bench/README.md:
    ``benchmark``, ``commit``, ``timestamp``, ``machine``, ``settings``, ``rows``, ``targets``)."""

    name: str
    record: dict[str, Any]

    @property
    def card(self) -> str | None:
        """The GPU that ran it (``machine.gpu.device``), None when the record does not say."""
        machine = self.record.get("machine")
        gpu = machine.get("gpu") if isinstance(machine, dict) else None
        device = gpu.get("device") if isinstance(gpu, dict) else None
        return device if isinstance(device, str) else None


def _is_row(r: Any) -> bool:
    return isinstance(r, dict) and {"impl", "size", "median_ms"} <= r.keys()


def load_record(path: Path | Traversable) -> dict[str, Any]:
    """A convolution benchmark record: a JSON object whose ``rows`` hold ``impl``, ``size`` and
    ``median_ms``. ValueError, one line naming the file, for anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {path.name}: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name} is not JSON ({e.msg}, line {e.lineno})") from None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(rows, list) or not any(_is_row(r) for r in rows):
        raise ValueError(
            f"{path.name} is not a convolution benchmark: it has no rows with impl, size and "
            f"median_ms (han-explorer conv-bench writes them)"
        )
    return data


def recorded_runs(folder: Path | Traversable | None = None) -> tuple[RecordedRun, ...]:
    """The convolution records in ``folder`` (default: the packaged ``resources/benchmarks``), newest
    first; files that are not such records are passed over. Empty when there are none.

    Names are compared without ".json" (they start with the UTC date), so a re-run's name
    (``...-h200-v2``, ``...-2``) sorts after the run it repeats.
    """
    if folder is None:
        folder = importlib.resources.files(_PACKAGE).joinpath(_FOLDER)
    if not folder.is_dir():
        return ()
    files = [f for f in folder.iterdir() if f.is_file() and f.name.endswith(".json")]
    runs = []
    for f in sorted(files, key=lambda f: f.name.removesuffix(".json"), reverse=True):
        try:
            runs.append(RecordedRun(f.name, load_record(f)))
        except ValueError:
            continue
    return tuple(runs)
