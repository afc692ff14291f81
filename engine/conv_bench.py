"""The convolution benchmark: our strategies against cuDNN, cupyx and the copy floor, on GPU 0.

Used by ``han-explorer conv-bench`` (app/cli_conv.py) and ``bench/bench_conv.py``. For each image size
(8192^2 first, then 4096^2; float32, random normal) and mask (3, 5, 7, 9, 15, 31):

* ``copy``: a device-to-device copy of the image (``dst.copy_(src)``), the bandwidth floor;
* ``cudnn``: ``torch.nn.functional.conv2d(x, m, padding=r)``, ``cudnn.benchmark = True``, TF32 off;
* ``cupyx``: ``cupyx.scipy.ndimage.correlate(x, m, output=y, mode="constant", cval=0)``;
* ours: :func:`engine.conv_cuda.run_cuda` for every strategy and tile that ``geometry()`` accepts.

Every timing is the median of ``repeats`` CUDA-event timings of back-to-back launches after ``warmup``
launches, cycling through ``rotate`` copies of the input so no launch finds its input in the 60 MB L2.
GB/s counts the image read once and written once (8 bytes a pixel); GFLOP/s counts 2 K^2 H W. Before a
result counts, its output is checked: against a float64 numpy reference on three 128 x 128 crops
(top-left, centre, bottom-right), and against the whole cuDNN output (or cupyx's, if cuDNN fails its
own crop check, e.g. because TF32 was on), relative L2 error < 1e-5. Failures are recorded, never
fatal. ``on_progress`` gets the record after every (size, mask), so a run cut short still leaves its
figures; ``budget_s`` skips what is left once it is spent.

torch, cupy and PyCUDA are imported inside functions; nothing here imports Qt or ``app``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.resources
import json
import os
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.conv_cuda import NoGPUError
from engine.provenance import (
    card_slug,
    dated_path,
    gpu_info,
    header,
    machine_info,
    table_lines,
    utc_now,
    write_record,
)

__all__ = [
    "CROP",
    "TARGET_SIZE",
    "TOLERANCE",
    "Bench",
    "BenchSettings",
    "Checker",
    "add_arguments",
    "benchmark_name",
    "check_gpu",
    "crop_reference",
    "fastest",
    "figures",
    "format_summary",
    "out_path",
    "run_and_save",
    "run_benchmark",
    "settings_from_args",
    "source_hashes",
    "targets",
    "time_events",
]

TOLERANCE = 1e-5  # relative L2 error against the float64 reference and the whole-image output
CROP = 128  # side of the three reference crops
TARGET_SIZE = 8192  # the targets are for 8192^2

Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchSettings:
    """What one run measures; the defaults are the full run that bench/README.md reports."""

    sizes: tuple[int, ...] = (8192, 4096)  # square image sides, largest (the targets') first
    masks: tuple[int, ...] = (3, 5, 7, 9, 15, 31)
    strategies: tuple[str, ...] | None = None  # None: every strategy (engine.tiling.ALL_STRATEGIES)
    tiles: tuple[int, ...] = (16, 32, 64)  # tried for each strategy; invalid ones are skipped
    repeats: int = 20  # timed launches per measurement
    warmup: int = 3
    rotate: int = 3  # input copies: 3 x 256 MiB defeats the 60 MB L2
    budget_s: float = 210.0  # skip what is left after this many seconds
    seed: int = 0
    quick: bool = False  # a small run that checks the benchmark works

    @classmethod
    def quick_run(cls, **changes: Any) -> BenchSettings:
        """1024^2, masks 3 and 5, 5 repeats: seconds, to check the benchmark works (do not quote it)."""
        return replace(cls(sizes=(1024,), masks=(3, 5), repeats=5, quick=True), **changes)

    def __post_init__(self) -> None:
        for name in ("repeats", "warmup", "rotate"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.sizes or not self.masks or not self.tiles:
            raise ValueError("sizes, masks and tiles each need at least one value")


# --------------------------------------------------------------------------------------------------
# Options: one parser for `han-explorer conv-bench` and bench/bench_conv.py
# --------------------------------------------------------------------------------------------------


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers of at least 1, not {text!r}")
    return values


def _strategies(text: str) -> tuple[str, ...] | None:
    from engine.tiling import ALL_STRATEGIES

    if text == "all":
        return None
    chosen = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [x for x in chosen if x not in ALL_STRATEGIES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown strategy {', '.join(unknown) or text!r}; choose among "
            f"{', '.join(ALL_STRATEGIES)} or all"
        )
    return chosen


def add_arguments(parser: argparse.ArgumentParser, out_help: str) -> None:
    """Add the benchmark's options to ``parser``; :func:`settings_from_args` reads them back.

    Every option defaults to None, meaning "as in :class:`BenchSettings`" (or its quick run with
    ``--quick``), so an option given with ``--quick`` changes the quick run.
    """
    d = BenchSettings()

    def listed(values: tuple[int, ...]) -> str:
        return ",".join(map(str, values))

    add = parser.add_argument
    add("--out", metavar="PATH", default=None, help=out_help)
    add(
        "--quick",
        action="store_true",
        help="1024x1024, masks 3 and 5, 5 repeats: checks that it works (not figures to quote)",
    )
    add("--sizes", type=_ints, help=f"square image sides, comma-separated (default {listed(d.sizes)})")
    add("--masks", type=_ints, help=f"mask sides, comma-separated (default {listed(d.masks)})")
    add(
        "--strategies",
        type=_strategies,
        help="comma-separated strategies of engine.tiling.ALL_STRATEGIES, or all (the default)",
    )
    add(
        "--tiles",
        type=_ints,
        help=f"tiles tried for each strategy, invalid ones skipped (default {listed(d.tiles)})",
    )
    add("--repeats", type=_count, help=f"timed launches per measurement (default {d.repeats})")
    add("--warmup", type=_count, help=f"launches before timing (default {d.warmup})")
    add("--rotate", type=_count, help=f"input copies the timed launches cycle through (default {d.rotate})")
    add("--budget-s", type=float, help=f"skip what is left after this many s (default {d.budget_s:g})")
    add("--seed", type=int, help=f"seed of the random image and masks (default {d.seed})")


def _count(text: str) -> int:
    values = _ints(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one integer of at least 1, not {text!r}")
    return values[0]


def settings_from_args(a: argparse.Namespace) -> BenchSettings:
    """The :class:`BenchSettings` that :func:`add_arguments`' options ask for."""
    base = BenchSettings.quick_run() if a.quick else BenchSettings()
    names = ("sizes", "masks", "tiles", "repeats", "warmup", "rotate", "budget_s", "seed")
    chosen: dict[str, Any] = {n: getattr(a, n) for n in names if getattr(a, n) is not None}
    if a.strategies is not None:
        chosen["strategies"] = a.strategies
    return replace(base, **chosen)


def check_gpu(require_pycuda: bool = True) -> str:
    """``"<GPU name>"`` when torch (and PyCUDA) can use GPU 0; NoGPUError with the reason otherwise."""
    try:
        import torch
    except Exception as e:
        raise NoGPUError(f"torch cannot be imported ({type(e).__name__}: {e})") from e
    if not torch.cuda.is_available():
        raise NoGPUError(
            "no CUDA GPU here (torch.cuda.is_available() is False); the benchmark times "
            "cuDNN, cupyx and our kernels on an NVIDIA GPU"
        )
    if require_pycuda:
        from engine.conv_cuda import describe_gpu

        describe_gpu()  # NoGPUError says why PyCUDA cannot reach the GPU
    return str(torch.cuda.get_device_name(0))


def run_benchmark(
    settings: BenchSettings, *, log: Log = print, on_progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Measure everything ``settings`` asks for; the record (see bench/README.md) with every figure.

    Raises
    ------
    NoGPUError
        torch is missing or sees no CUDA GPU (PyCUDA problems only fail our rows, with the reason).
    """
    started = utc_now()
    card = check_gpu(require_pycuda=False)
    record: dict[str, Any] = header(benchmark_name(card), started) | {
        "settings": asdict(settings) | {"tolerance": TOLERANCE, "crop": CROP},
        "sources_sha256": source_hashes(),
    }
    import torch

    torch.backends.cudnn.benchmark = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer torch may call these flags legacy
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    record["machine"] = machine_info() | {"gpu": gpu_info()}
    log(json.dumps(record["machine"]["gpu"], indent=1))
    bench = Bench(settings, torch, log)
    record["settings"] |= {
        "strategies": bench.strategies,
        "cupy_error": bench.cupy_error,
        "ours_error": bench.ours_error,
    }

    def progress() -> None:
        record.update(
            rows=bench.rows,
            targets=targets(bench.rows, card),
            fastest=fastest(bench.rows),
            elapsed_s=round(bench.elapsed(), 1),
            finished=utc_now().isoformat(timespec="seconds"),
        )
        if on_progress is not None:
            on_progress(record)

    record["compile"] = bench.compile_all(list(settings.masks))
    rng = np.random.default_rng(settings.seed)
    try:
        for n in settings.sizes:
            bench.guarded({"size": n, "impl": "setup"}, lambda n=n: bench.size(n, rng, progress))
    finally:
        progress()
    return record


def run_and_save(settings: BenchSettings, path: Path | None, *, log: Log = print) -> dict[str, Any]:
    """:func:`run_benchmark`, writing the record to ``path`` (when given) after every (size, mask) and at
    the end (:func:`engine.provenance.write_record`), so a run cut short still leaves its figures."""

    def save(record: dict[str, Any]) -> None:
        if path is not None:
            write_record(path, record)

    record = run_benchmark(settings, log=log, on_progress=save)
    save(record)
    return record


# --------------------------------------------------------------------------------------------------
# Checking outputs
# --------------------------------------------------------------------------------------------------


def crop_reference(image: np.ndarray, mask: np.ndarray, y0: int, x0: int, size: int) -> np.ndarray:
    """``(size, size)`` float64 reference of output rows/cols ``y0:y0+size, x0:x0+size`` (zero padding)."""
    k = mask.shape[0]
    r = (k - 1) // 2
    h, w = image.shape
    region = np.zeros((size + 2 * r, size + 2 * r))  # input window with its halo
    ys, xs = y0 - r, x0 - r
    sy0, sy1, sx0, sx1 = max(ys, 0), min(ys + size + 2 * r, h), max(xs, 0), min(xs + size + 2 * r, w)
    region[sy0 - ys : sy1 - ys, sx0 - xs : sx1 - xs] = image[sy0:sy1, sx0:sx1]
    out = np.zeros((size, size))
    for dy in range(k):
        for dx in range(k):
            out += float(mask[dy, dx]) * region[dy : dy + size, dx : dx + size]
    return out


class Checker:
    """Crop references for one (image, mask) and the whole-image output every result is compared with."""

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        n = min(image.shape)
        size = min(CROP, n)
        self.origins = sorted({(0, 0), ((n - size) // 2, (n - size) // 2), (n - size, n - size)})
        self.size = size
        self.crops = [crop_reference(image, mask, y, x, size) for y, x in self.origins]
        self.full: np.ndarray | None = None
        self.full_from: str | None = None

    def crop_error(self, out: np.ndarray) -> float:
        errs = []
        for (y, x), ref in zip(self.origins, self.crops, strict=True):
            got = out[y : y + self.size, x : x + self.size].astype(np.float64)
            errs.append(float(np.linalg.norm(got - ref)) / max(float(np.linalg.norm(ref)), 1e-30))
        return max(errs)

    def offer_full(self, name: str, out: np.ndarray, crop_error: float) -> None:
        """Use ``out`` as the whole-image reference if it passed its crop check and none is set yet."""
        if self.full is None and crop_error < TOLERANCE:
            self.full, self.full_from = out, name

    def check(self, out: np.ndarray) -> dict[str, Any]:
        crop = self.crop_error(out)
        full = None
        if self.full is not None:
            diff = out - self.full  # float32, (H, W)
            full = float(np.linalg.norm(diff) / max(float(np.linalg.norm(self.full)), 1e-30))
        ok = bool(
            np.isfinite(crop)
            and crop < TOLERANCE
            and (full is None or (np.isfinite(full) and full < TOLERANCE))
        )
        return {
            "crop_rel_error_vs_float64": crop,
            "rel_error_vs_full": full,
            "full_reference": self.full_from,
            "verified": ok,
        }


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


def time_events(make_event: Any, sync: Any, step: Any, repeats: int, warmup: int) -> list[float]:
    """``step(i)`` run ``warmup`` times, then ``repeats`` times back to back between events (ms each)."""
    for i in range(warmup):
        step(i)
    sync()
    step(warmup)  # keeps the GPU busy while the host queues the timed launches
    events = [make_event() for _ in range(repeats + 1)]
    events[0].record()
    for i in range(repeats):
        step(warmup + 1 + i)
        events[i + 1].record()
    events[-1].synchronize()
    return [float(x) for x in (events[i].elapsed_time(events[i + 1]) for i in range(repeats))]


def figures(times: list[float], n: int, k: int | None) -> dict[str, Any]:
    """Median and min ms, every timing, GB/s (8 bytes a pixel) and, for a mask, GFLOP/s (2 K^2 per pixel)."""
    med = float(np.median(times))
    out = {
        "median_ms": round(med, 5),
        "min_ms": round(min(times), 5),
        "times_ms": [round(t, 5) for t in times],
        "gb_s": round(8 * n * n / (med * 1e-3) / 1e9, 1),
    }
    if k is not None:
        out["gflop_s"] = round(2 * k * k * n * n / (med * 1e-3) / 1e9, 1)
    return out


class _CupyEvent:
    """cupy's Event with torch's ``elapsed_time`` method, for :func:`time_events`."""

    def __init__(self, cp: Any) -> None:
        self._cp, self._event = cp, cp.cuda.Event()

    def record(self) -> None:
        self._event.record()

    def synchronize(self) -> None:
        self._event.synchronize()

    def elapsed_time(self, end: _CupyEvent) -> float:
        return float(self._cp.cuda.get_elapsed_time(self._event, end._event))


# --------------------------------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------------------------------


class Bench:
    """The settings, the rows measured so far and the clock; every measurement adds one row."""

    def __init__(self, settings: BenchSettings, torch: Any, log: Log = print) -> None:
        self.s, self.torch, self.log = settings, torch, log
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import cupy
                import cupyx.scipy.ndimage

            self.cp, self.ndi, self.cupy_error = cupy, cupyx.scipy.ndimage, None
        except Exception as e:
            self.cp, self.ndi, self.cupy_error = None, None, f"{type(e).__name__}: {e}"
        from engine.tiling import ALL_STRATEGIES

        self.strategies = list(settings.strategies or ALL_STRATEGIES)
        try:
            from engine.conv_cuda import cuda_available

            self.ours_error = None if cuda_available() else "engine.conv_cuda.cuda_available() is False"
        except Exception as e:
            self.ours_error = f"{type(e).__name__}: {e}"

    def configs(self, masks: list[int]) -> list[tuple[str, int, int]]:
        """Every (strategy, K, tile) of ours that geometry() accepts."""
        from engine.tiling import geometry

        out = []
        for strategy in self.strategies:
            for k in masks:
                for tile in self.s.tiles:
                    with contextlib.suppress(ValueError):
                        geometry(64, 64, k, strategy, tile)
                        out.append((strategy, k, tile))
        return out

    def compile_all(self, masks: list[int]) -> dict[str, Any]:
        """Run nvcc for all our configurations in parallel up front, into PyCUDA's disk cache."""
        if self.ours_error is not None:
            return {"skipped": self.ours_error}
        from engine.conv_cuda import precompile
        from engine.tiling import geometry

        t = time.perf_counter()
        builds = [(geometry(64, 64, k, s, tile), False) for s, k, tile in self.configs(masks)]
        try:
            done = precompile(builds, workers=min(32, os.cpu_count() or 8))
        except Exception as e:
            return {"error": f"{type(e).__name__}: {e}"}
        failed = {" ".join(opts): err for opts, err in done.items() if err}
        seconds = round(time.perf_counter() - t, 1)
        self.log(
            f"[{self.elapsed():6.1f}s] compiled {len(done)} kernel builds in {seconds} s; "
            f"{len(failed)} failed"
        )
        return {"builds": len(done), "seconds": seconds, "failed": failed}

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self.rows.append(row)
        what = f"{row['impl']}" + (f" {row['strategy']} t{row['tile']}" if row.get("strategy") else "")
        if "median_ms" in row:
            extra = "" if row.get("verified", True) else "  NOT VERIFIED"
            err = row.get("rel_error_vs_full")
            errs = f"  err {err:.1e}" if isinstance(err, float) else ""
            self.log(
                f"[{self.elapsed():6.1f}s] {row['size']}^2 K={row.get('mask', '-')!s:>2} {what:26s} "
                f"{row['median_ms']:9.4f} ms {row['gb_s']:8.1f} GB/s{errs}{extra}"
            )
        else:
            self.log(
                f"[{self.elapsed():6.1f}s] {row['size']}^2 K={row.get('mask', '-')} {what}: "
                f"{row.get('error') or row.get('skipped')}"
            )
        return row

    def guarded(self, base: dict[str, Any], fn: Any) -> Any:
        """``fn()``, or None after adding an error row (with the traceback's end) or a skipped row."""
        if self.elapsed() > self.s.budget_s:
            self.add(base | {"skipped": f"time budget of {self.s.budget_s:.0f} s spent"})
            return None
        try:
            return fn()
        except Exception as e:
            tb = traceback.format_exc().strip().splitlines()[-6:]
            self.add(base | {"error": f"{type(e).__name__}: {e}"[:4000], "traceback": tb})
            return None

    def torch_event(self) -> Any:
        return self.torch.cuda.Event(enable_timing=True)

    def size(self, n: int, rng: np.random.Generator, on_mask_done: Callable[[], None]) -> None:
        """Every measurement at ``n``^2; GPU buffers are released when it returns."""
        try:
            self._size(n, rng, on_mask_done)
        finally:
            if self.cp is not None:
                self.cp.get_default_memory_pool().free_all_blocks()
            self.torch.cuda.empty_cache()

    def _size(self, n: int, rng: np.random.Generator, on_mask_done: Callable[[], None]) -> None:
        torch, s = self.torch, self.s
        host = rng.standard_normal((n, n), dtype=np.float32)  # (N, N)
        xs = [torch.from_numpy(host).cuda() for _ in range(s.rotate)]  # rotate x (N, N)
        dst = torch.empty_like(xs[0])
        base = {"size": n, "impl": "copy"}
        times = self.guarded(
            base,
            lambda: time_events(
                self.torch_event,
                torch.cuda.synchronize,
                lambda i: dst.copy_(xs[i % len(xs)]),
                s.repeats,
                s.warmup,
            ),
        )
        if times is not None:
            self.add(base | figures(times, n, None))
        cxs = [self.cp.asarray(host) for _ in range(s.rotate)] if self.cp is not None else []
        for k in s.masks:
            mask = np.random.default_rng([s.seed, k]).standard_normal((k, k)).astype(np.float32)  # (K, K)
            self.mask(n, k, host, mask, xs, cxs)
            on_mask_done()

    def mask(self, n: int, k: int, host: np.ndarray, mask: np.ndarray, xs: list[Any], cxs: list[Any]) -> None:
        checker = Checker(host, mask)
        for name, fn in (
            ("cudnn", lambda: self.cudnn(n, k, mask, xs)),
            ("cupyx", lambda: self.cupyx(n, k, mask, cxs)),
        ):
            if name == "cupyx" and self.cp is None:
                self.add(
                    {"size": n, "mask": k, "impl": name, "error": f"cupy unavailable: {self.cupy_error}"}
                )
                continue
            got = self.guarded({"size": n, "mask": k, "impl": name}, fn)
            if got is not None:
                fig, out = got
                result = checker.check(out)
                checker.offer_full(name, out, result["crop_rel_error_vs_float64"])
                self.add({"size": n, "mask": k, "impl": name} | fig | result)
        for strategy in self.strategies:
            for tile in self.s.tiles:
                self.ours(n, k, host, mask, strategy, tile, checker)

    def cudnn(self, n: int, k: int, mask: np.ndarray, xs: list[Any]) -> tuple[dict[str, Any], np.ndarray]:
        torch = self.torch
        f = torch.nn.functional
        w = torch.from_numpy(mask).cuda()[None, None]  # (1, 1, K, K)
        x4 = [x[None, None] for x in xs]  # (1, 1, N, N) each
        with torch.inference_mode():
            times = time_events(
                self.torch_event,
                torch.cuda.synchronize,
                lambda i: f.conv2d(x4[i % len(x4)], w, padding=(k - 1) // 2),
                self.s.repeats,
                self.s.warmup,
            )
            out = f.conv2d(x4[0], w, padding=(k - 1) // 2)[0, 0].cpu().numpy()  # (N, N)
        return figures(times, n, k), out

    def cupyx(self, n: int, k: int, mask: np.ndarray, cxs: list[Any]) -> tuple[dict[str, Any], np.ndarray]:
        cp, ndi = self.cp, self.ndi
        w, y = cp.asarray(mask), cp.empty_like(cxs[0])

        def step(i: int) -> None:
            ndi.correlate(cxs[i % len(cxs)], w, output=y, mode="constant", cval=0.0)

        times = time_events(
            lambda: _CupyEvent(cp), cp.cuda.Device().synchronize, step, self.s.repeats, self.s.warmup
        )
        step(0)
        return figures(times, n, k), cp.asnumpy(y)

    def ours(
        self, n: int, k: int, host: np.ndarray, mask: np.ndarray, strategy: str, tile: int, checker: Checker
    ) -> None:
        from engine.conv_cuda import run_cuda_geometry
        from engine.tiling import geometry

        base = {"size": n, "mask": k, "impl": "ours", "strategy": strategy, "tile": tile}
        if self.ours_error is not None:
            self.add(base | {"error": self.ours_error})
            return
        try:
            geom = geometry(n, n, k, strategy, tile)
        except ValueError:
            return  # not a valid configuration
        s = self.s
        res = self.guarded(
            base,
            lambda: run_cuda_geometry(host, mask, geom, repeats=s.repeats, warmup=s.warmup, rotate=s.rotate),
        )
        if res is not None:
            self.add(
                base
                | figures(res.times_ms, n, k)
                | checker.check(res.output)
                | {
                    "registers": res.registers,
                    "local_bytes": res.local_bytes,
                    "compiler_log": res.compiler_log[:2000] or None,
                }
            )


# --------------------------------------------------------------------------------------------------
# Targets and the summary table
# --------------------------------------------------------------------------------------------------


def _pick(rows: list[dict[str, Any]], n: int, impl: str, k: int | None = None) -> dict[str, Any] | None:
    cands = [
        r
        for r in rows
        if r["size"] == n
        and r["impl"] == impl
        and "median_ms" in r
        and (k is None or r.get("mask") == k)
        and r.get("verified", True)
    ]
    return min(cands, key=lambda r: r["median_ms"]) if cands else None


def fastest(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per mask (``str(K)``), our fastest verified kernel at 8192^2 (else the largest size measured):
    ``{"strategy", "tile", "median_ms"}``; the per-mask choice :mod:`engine.conv_choice` keeps per card."""
    sizes = {r["size"] for r in rows}
    if not sizes:
        return {}
    n = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes)
    out: dict[str, dict[str, Any]] = {}
    for k in sorted({r["mask"] for r in rows if r["size"] == n and "mask" in r}):
        best = _pick(rows, n, "ours", k)
        if best is not None:
            out[str(k)] = {"strategy": best["strategy"], "tile": best["tile"], "median_ms": best["median_ms"]}
    return out


def targets(rows: list[dict[str, Any]], card: str | None = None) -> dict[str, dict[str, Any]]:
    """The goals for our fastest verified kernel at 8192^2 (else the largest size measured), met or not,
    on ``card`` (the GPU that ran them: each target names it, as the goals were set on an H200 and what
    holds depends on the card, e.g. the ratio to cuDNN on its memory bandwidth).

    The first six are issue 1's; ``mask9_ms``, ``mask15_tensor_ms``, ``mask3_vs_copy_1.1`` and
    ``mask5_vs_copy_1.1`` are issue 20's (tensor cores past the FP32 FMA floor); ``mask31_ms`` is
    reported only (``limit`` None, never met)."""
    sizes = {r["size"] for r in rows}
    n = TARGET_SIZE if TARGET_SIZE in sizes or not sizes else max(sizes)
    copy = _pick(rows, n, "copy")
    out: dict[str, dict[str, Any]] = {}

    def put(
        name: str,
        text: str,
        k: int,
        limit: float | None,
        measure: Callable[[dict[str, Any]], float | None],
        higher_is_better: bool,
    ) -> None:
        best = _pick(rows, n, "ours", k)
        try:
            value = measure(best) if best is not None else None
        except (TypeError, KeyError):
            value = None
        met = (
            value is not None
            and limit is not None
            and (value >= limit if higher_is_better else value <= limit)
        )
        out[name] = {
            "target": text,
            "card": card,
            "limit": limit,
            "measured": None if value is None else round(value, 4),
            "met": met,
            "ours": None if best is None else f"{best['strategy']} tile {best['tile']}",
            "ours_ms": None if best is None else best["median_ms"],
        }

    def ratio(other: dict[str, Any] | None) -> Callable[[dict[str, Any]], float | None]:
        return lambda best: None if other is None else other["median_ms"] / best["median_ms"]

    put(
        "mask5_vs_cudnn",
        f"mask 5 at {n}^2: >= 10x faster than cuDNN",
        5,
        10.0,
        ratio(_pick(rows, n, "cudnn", 5)),
        True,
    )
    put(
        "mask5_vs_cupyx",
        f"mask 5 at {n}^2: >= 4x faster than cupyx",
        5,
        4.0,
        ratio(_pick(rows, n, "cupyx", 5)),
        True,
    )
    for k in (3, 5):
        put(
            f"mask{k}_vs_copy",
            f"mask {k} at {n}^2: within 1.3x of the copy floor (ours / copy)",
            k,
            1.3,
            lambda best: None if copy is None else best["median_ms"] / copy["median_ms"],
            False,
        )
    put("mask7_ms", f"mask 7 at {n}^2: < 0.25 ms", 7, 0.25, lambda best: best["median_ms"], False)
    put("mask15_ms", f"mask 15 at {n}^2: < 1.5 ms", 15, 1.5, lambda best: best["median_ms"], False)
    put("mask9_ms", f"mask 9 at {n}^2: <= 0.17 ms", 9, 0.17, lambda best: best["median_ms"], False)
    put("mask15_tensor_ms", f"mask 15 at {n}^2: <= 0.30 ms", 15, 0.30, lambda best: best["median_ms"], False)
    for k in (3, 5):
        put(
            f"mask{k}_vs_copy_1.1",
            f"mask {k} at {n}^2: within 1.1x of the copy floor (ours / copy)",
            k,
            1.1,
            lambda best: None if copy is None else best["median_ms"] / copy["median_ms"],
            False,
        )
    put(
        "mask31_ms", f"mask 31 at {n}^2: reported (no limit)", 31, None, lambda best: best["median_ms"], False
    )
    return out


def format_summary(record: dict[str, Any]) -> str:
    """The median table (fastest verified tile per strategy), the failures and the targets, as text."""
    rows, strategies = record.get("rows", []), record["settings"].get("strategies") or []
    table = []
    for n, k in dict.fromkeys((r["size"], r["mask"]) for r in rows if "mask" in r):
        line: list[Any] = [n, k]
        for impl in ("copy", "cudnn", "cupyx"):
            best = _pick(rows, n, impl, None if impl == "copy" else k)
            line.append(f"{best['median_ms']:.4f}" if best else "!")
        for s in strategies:
            cands = [r for r in rows if r["size"] == n and r.get("mask") == k and r.get("strategy") == s]
            good = [r for r in cands if "median_ms" in r and r.get("verified")]
            best = min(good, key=lambda r: r["median_ms"]) if good else None
            line.append(f"{best['median_ms']:.4f} [{best['tile']}]" if best else ("!" if cands else "-"))
        table.append(line)
    text = [
        "Median ms (ours: fastest verified tile, in brackets; '!' = failed or unverified)",
        *table_lines(table, ["size", "K", "copy", "cudnn", "cupyx", *strategies]),
    ]
    bad = [r for r in rows if "error" in r or r.get("verified") is False]
    text.append(f"\n{len(bad)} failed or unverified measurement(s)" + (":" if bad else ""))
    for r in bad:
        what = " ".join(str(r[k]) for k in ("size", "mask", "impl", "strategy", "tile") if k in r)
        why = r.get("error") or (
            f"crop error {r.get('crop_rel_error_vs_float64')}, whole-image error {r.get('rel_error_vs_full')}"
        )
        text.append(f"  {what}: {why}")
    cards = {t.get("card") for t in record.get("targets", {}).values()} - {None}
    on = f" on {', '.join(sorted(cards))}" if cards else ""
    text.append(f"\nTargets{on} (our fastest verified kernel; the goals were set on an H200)")
    goals = [
        [
            t["target"],
            "-" if t["limit"] is None else str(t["limit"]),
            None if t["measured"] is None else str(t["measured"]),
            t["ours"],
            None if t["limit"] is None else bool(t["met"]),  # a figure only reported meets nothing
        ]
        for t in record.get("targets", {}).values()
    ]
    text += table_lines(goals, ["target", "limit", "measured", "ours", "met"])
    return "\n".join(text)


# --------------------------------------------------------------------------------------------------
# What ran, and the file
# --------------------------------------------------------------------------------------------------


def source_hashes() -> dict[str, str]:
    """sha256 of the files that decide what our kernels do, so a run without git still names its code."""
    kernel = importlib.resources.files("kernels").joinpath("conv2d.cu").read_bytes()
    out = {"kernels/conv2d.cu": hashlib.sha256(kernel).hexdigest()}
    for name in ("tiling.py", "conv_cuda.py", "conv_bench.py", "conv_mma.py"):
        with contextlib.suppress(OSError):
            out[f"engine/{name}"] = hashlib.sha256((Path(__file__).parent / name).read_bytes()).hexdigest()
    return out


def benchmark_name(card: str | None) -> str:
    """The record's name for a run on ``card`` (``torch.cuda.get_device_name``): "conv-h200" on an H200."""
    return f"conv-{card_slug(card)}"


def out_path(
    out: str | Path | None,
    folder: Path,
    name: str,
    commit: str | None = None,
    started: datetime | None = None,
) -> Path:
    """``out`` if it names a .json file; else a new dated file in ``out`` (a folder) or ``folder``:
    ``<UTC date>-<name>-<short sha>.json`` (:func:`engine.provenance.dated_path`)."""
    if out is not None and str(out).endswith(".json"):
        return Path(out)
    return dated_path(Path(out) if out is not None else folder, name, commit, started)
