"""Where a measured result came from: commit, machine, card, time, and the file it is kept in.

Every benchmark record (``han-explorer conv-bench``, ``bench/*.py``) starts with :func:`header`
(its name, the commit and whether the tree was dirty, the start time), carries
:func:`machine_info` (and :func:`gpu_info` where a GPU was timed), and is written by
:func:`write_record` atomically (:mod:`engine.atomic`) to :func:`dated_path`'s
``<UTC date>-<name>-<short commit>.json``, which never overwrites an earlier run. A GPU record's
name comes from the card that ran it (:func:`card_slug`), not from a constant.

torch is imported inside the functions that need it; nothing here initialises CUDA except
:func:`gpu_info`, which is called when a GPU is about to be used anyway.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.atomic import WriteError, write_text

__all__ = [
    "ROOT",
    "card_slug",
    "commit_info",
    "dated_path",
    "gpu_info",
    "header",
    "machine_info",
    "table_lines",
    "utc_now",
    "write_record",
]

ROOT = Path(__file__).resolve().parents[1]  # the checkout; in an installed app git finds none here

# Words in a card's name that say nothing about which chip it is ("NVIDIA H100 80GB HBM3").
_NOISE = re.compile(r"nvidia|geforce|tesla|quadro|\d+gb|hbm\d*e?|gddr\d*x?|pcie|sxm\d*|nvl")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def commit_info() -> dict[str, Any]:
    """HEAD's sha and ``git status --porcelain``'s paths; None where there is no git checkout."""
    sha = (_git("rev-parse", "HEAD") or "").strip() or None
    status = _git("status", "--porcelain")
    paths = [line[3:] for line in status.splitlines() if line.strip()] if status is not None else None
    return {
        "commit": sha,
        "dirty": bool(paths) if paths is not None else None,
        "dirty_paths": paths[:100] if paths is not None else None,
    }


def header(name: str, started: datetime) -> dict[str, Any]:
    """The first fields of every record: ``benchmark``, the commit fields, ``timestamp``."""
    return {"benchmark": name, **commit_info(), "timestamp": started.isoformat(timespec="seconds")}


def card_slug(card: str | None) -> str:
    """A short file-name word for a card: "NVIDIA H200" -> "h200", "NVIDIA H100 80GB HBM3" -> "h100",
    "NVIDIA GeForce RTX 4090" -> "rtx-4090"; "gpu" when the name says nothing, "cpu" for None."""
    if card is None:
        return "cpu"
    words = [w for w in re.split(r"[^a-z0-9]+", card.lower()) if w and not _NOISE.fullmatch(w)]
    return "-".join(words) or "gpu"


def _proc_field(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file, None where there is none."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return None


def machine_info() -> dict[str, Any]:
    """CPU, memory, Python and torch (version, CUDA build, threads), and the load at the start.

    Call it after any ``torch.set_num_threads``, so the thread count recorded is the one used.
    """
    import torch

    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    mem = _proc_field("/proc/meminfo", "MemTotal:")
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or None,
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_total_mib": round(int(mem.split()[0]) / 1024, 1) if mem else None,  # the file says kB
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "torch_version": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_1_5_15_at_start": load,  # high values mean the run shared the CPUs
    }


def _smi(*args: str) -> str:
    return subprocess.run(
        ["nvidia-smi", *args], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()


def gpu_info() -> dict[str, Any]:
    """GPU 0 as nvidia-smi and torch see it (``device`` is the card's name) and the versions of torch,
    CUDA, cuDNN, cupy and PyCUDA, with cuDNN's TF32 and benchmark flags as they are now."""
    import numpy as np
    import torch

    info: dict[str, Any] = {}
    try:
        info["nvidia_smi_L"] = _smi("-L")
        info["nvidia_smi"] = _smi(
            "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem",
            "--format=csv,noheader",
        )
    except (OSError, subprocess.SubprocessError) as e:
        info["nvidia_smi_error"] = repr(e)
    props = torch.cuda.get_device_properties(0)
    info |= {
        "device": torch.cuda.get_device_name(0),
        "sm_count": props.multi_processor_count,
        "memory_gib": round(props.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "numpy": np.__version__,
    }
    for name, attr in (("cupy", "__version__"), ("pycuda", "VERSION_TEXT")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                info[name] = getattr(__import__(name), attr)
        except Exception as e:
            info[name] = f"unavailable: {type(e).__name__}: {e}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
        info["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        conv = getattr(torch.backends.cudnn, "conv", None)  # newer torch only
        with contextlib.suppress(Exception):
            if conv is not None:
                info["cudnn_conv_fp32_precision"] = conv.fp32_precision
    return info


def dated_path(
    folder: str | Path, name: str, commit: str | None = None, started: datetime | None = None
) -> Path:
    """``<folder>/<UTC date>-<name>-<short sha>.json`` (HEAD's sha unless ``commit`` is given; "nocommit"
    outside a checkout), with ``-2``, ``-3``, ... added so that no earlier run is overwritten."""
    started = started or utc_now()
    commit = commit or commit_info()["commit"]
    stem = f"{started.strftime('%Y-%m-%d')}-{name}-{(commit or 'nocommit')[:7]}"
    path, k = Path(folder) / f"{stem}.json", 2
    while path.exists():
        path, k = Path(folder) / f"{stem}-{k}.json", k + 1
    return path


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented UTF-8 JSON, atomically (a reader never sees half a file); its folder
    is made if missing. Values JSON does not know are written as ``str()``. Raises WriteError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(path, e) from None
    write_text(path, json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n")


def table_lines(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> list[str]:
    """A plain fixed-width table: a header, a rule, a line a row; numbers right-aligned after the first
    column. None shows as "-", a bool as "yes" / "NO", a float with 1 or 2 decimals."""
    cells = [[_fmt(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            c.rjust(w) if i and _numeric(c) else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


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
