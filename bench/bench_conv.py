"""2-D convolution on one NVIDIA GPU: our six strategies against cuDNN, cupyx and the copy floor.

    python3 bench/bench_conv.py --out $OUT/conv_bench.json        # on the GPU machine (~2-4 minutes)
    python3 bench/bench_conv.py --quick --out /tmp/conv.json      # check the script works

For each image size (8192^2 first, then 4096^2; float32, random normal) and mask (3, 5, 7, 9, 15):

* ``copy``: a device-to-device copy of the image (``dst.copy_(src)``), the bandwidth floor;
* ``cudnn``: ``torch.nn.functional.conv2d(x, m, padding=r)``, ``cudnn.benchmark = True``, TF32 off;
* ``cupyx``: ``cupyx.scipy.ndimage.correlate(x, m, output=y, mode="constant", cval=0)``;
* ours: :func:`engine.conv_cuda.run_cuda` for every strategy and tile that ``geometry()`` accepts.

Every timing is the median of ``--repeats`` CUDA-event timings of back-to-back launches after
``--warmup`` launches, cycling through ``--rotate`` copies of the input so no launch finds its
input in the 60 MB L2. GB/s counts the image read once and written once (8 bytes a pixel); GFLOP/s
counts 2 K^2 H W. Before a result counts, its output is checked: against a float64 numpy
reference on three 128 x 128 crops (top-left, centre, bottom-right), and against the whole cuDNN
output (or cupyx's, if cuDNN fails its own crop check, e.g. because TF32 was on), relative L2
error < 1e-5. Failures are recorded, never fatal. The JSON is rewritten after every (size, mask), so
a run cut short still leaves its figures; ``--budget-s`` skips what is left once it is spent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, commit_info, machine_info, print_table, utc_now

TOLERANCE = 1e-5
CROP = 128
TARGET_SIZE = 8192


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="result file (*.json) or folder (default bench/results/)")
    p.add_argument("--sizes", default="8192,4096", help="square image sides, comma-separated")
    p.add_argument("--masks", default="3,5,7,9,15", help="mask sides, comma-separated")
    p.add_argument("--strategies", default="all", help="comma-separated subset of engine.tiling.STRATEGIES")
    p.add_argument("--tiles", default="16,32,64", help="tiles tried for each strategy (invalid ones skipped)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rotate", type=int, default=3, help="input copies the timed launches cycle through")
    p.add_argument("--budget-s", type=float, default=210.0, help="skip what is left after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="1024^2, masks 3 and 5, 5 repeats: checks the script")
    a = p.parse_args(argv)
    if a.quick:
        a.sizes, a.masks, a.repeats = "1024", "3,5", 5
    return a


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def out_path(out: str | None, started: Any, commit: str | None) -> Path:
    """The --out file, or ``<folder>/<UTC date>-conv-h200-<short sha>.json`` never overwriting."""
    if out is not None and out.endswith(".json"):
        return Path(out)
    folder = Path(out) if out is not None else RESULTS
    stem = f"{started.strftime('%Y-%m-%d')}-conv-h200-{(commit or 'nocommit')[:7]}"
    path, k = folder / f"{stem}.json", 2
    while path.exists():
        path, k = folder / f"{stem}-{k}.json", k + 1
    return path


def save(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def gpu_info(torch: Any) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        info["nvidia_smi_L"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                              timeout=30).stdout.strip()
        info["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        info["nvidia_smi_error"] = repr(e)
    props = torch.cuda.get_device_properties(0)
    info |= {"device": torch.cuda.get_device_name(0), "sm_count": props.multi_processor_count,
             "memory_gib": round(props.total_memory / 2**30, 1), "torch": torch.__version__,
             "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
             "numpy": np.__version__}
    for name, attr in (("cupy", "__version__"), ("pycuda", "VERSION_TEXT")):
        try:
            info[name] = getattr(__import__(name), attr)
        except Exception as e:
            info[name] = f"unavailable: {type(e).__name__}: {e}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
        info["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        with contextlib.suppress(Exception):
            info["cudnn_conv_fp32_precision"] = torch.backends.cudnn.conv.fp32_precision
    return info


# --------------------------------------------------------------------------------------------------
# Checking outputs
# --------------------------------------------------------------------------------------------------


def crop_reference(image: np.ndarray, mask: np.ndarray, y0: int, x0: int, size: int) -> np.ndarray:
    """``(size, size)`` float64 reference of output rows/cols ``y0:y0+size, x0:x0+size`` (zero padding)."""
    k = mask.shape[0]
    r = (k - 1) // 2
    h, w = image.shape
    region = np.zeros((size + 2 * r, size + 2 * r))                 # input window with its halo
    ys, xs = y0 - r, x0 - r
    sy0, sy1, sx0, sx1 = max(ys, 0), min(ys + size + 2 * r, h), max(xs, 0), min(xs + size + 2 * r, w)
    region[sy0 - ys:sy1 - ys, sx0 - xs:sx1 - xs] = image[sy0:sy1, sx0:sx1]
    out = np.zeros((size, size))
    for dy in range(k):
        for dx in range(k):
            out += float(mask[dy, dx]) * region[dy:dy + size, dx:dx + size]
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
            got = out[y:y + self.size, x:x + self.size].astype(np.float64)
            errs.append(float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)))
        return max(errs)

    def offer_full(self, name: str, out: np.ndarray, crop_error: float) -> None:
        """Use ``out`` as the whole-image reference if it passed its crop check and none is set yet."""
        if self.full is None and crop_error < TOLERANCE:
            self.full, self.full_from = out, name

    def check(self, out: np.ndarray) -> dict[str, Any]:
        crop = self.crop_error(out)
        full = None
        if self.full is not None:
            diff = out - self.full                                     # float32, (H, W)
            full = float(np.linalg.norm(diff) / max(float(np.linalg.norm(self.full)), 1e-30))
        ok = bool(np.isfinite(crop) and crop < TOLERANCE
                  and (full is None or (np.isfinite(full) and full < TOLERANCE)))
        return {"crop_rel_error_vs_float64": crop, "rel_error_vs_full": full,
                "full_reference": self.full_from, "verified": ok}


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


def time_events(make_event: Any, sync: Any, step: Any, repeats: int, warmup: int) -> list[float]:
    """``step(i)`` run ``warmup`` times, then ``repeats`` times back to back between events (ms each)."""
    for i in range(warmup):
        step(i)
    sync()
    step(warmup)                        # keeps the GPU busy while the host queues the timed launches
    events = [make_event() for _ in range(repeats + 1)]
    events[0].record()
    for i in range(repeats):
        step(warmup + 1 + i)
        events[i + 1].record()
    events[-1].synchronize()
    return [float(x) for x in (events[i].elapsed_time(events[i + 1]) for i in range(repeats))]


def figures(times: list[float], n: int, k: int | None) -> dict[str, Any]:
    med = statistics.median(times)
    out = {"median_ms": round(med, 5), "min_ms": round(min(times), 5),
           "times_ms": [round(t, 5) for t in times], "gb_s": round(8 * n * n / (med * 1e-3) / 1e9, 1)}
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
# One image size
# --------------------------------------------------------------------------------------------------


class Bench:
    """The settings, the rows measured so far and the clock; every measurement adds one row."""

    def __init__(self, a: argparse.Namespace, torch: Any) -> None:
        self.a, self.torch = a, torch
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        try:
            import cupy
            import cupyx.scipy.ndimage

            self.cp, self.ndi, self.cupy_error = cupy, cupyx.scipy.ndimage, None
        except Exception as e:
            self.cp, self.ndi, self.cupy_error = None, None, f"{type(e).__name__}: {e}"
        try:
            from engine.conv_cuda import cuda_available, precompile, run_cuda
            from engine.tiling import STRATEGIES, geometry

            self.run_cuda, self.geometry, self.precompile = run_cuda, geometry, precompile
            self.strategies = list(STRATEGIES) if a.strategies == "all" else a.strategies.split(",")
            self.ours_error = None if cuda_available() else "engine.conv_cuda.cuda_available() is False"
        except Exception as e:
            self.ours_error = f"{type(e).__name__}: {e}"
            self.strategies = []

    def configs(self, masks: list[int]) -> list[tuple[str, int, int]]:
        """Every (strategy, K, tile) of ours that geometry() accepts."""
        out = []
        for strategy in self.strategies:
            for k in masks:
                for tile in _ints(self.a.tiles):
                    with contextlib.suppress(ValueError):
                        self.geometry(64, 64, k, strategy, tile)
                        out.append((strategy, k, tile))
        return out

    def compile_all(self, masks: list[int]) -> dict[str, Any]:
        """Run nvcc for all our configurations in parallel up front, into PyCUDA's disk cache."""
        if self.ours_error is not None:
            return {"skipped": self.ours_error}
        t = time.perf_counter()
        builds = [(self.geometry(64, 64, k, s, tile), False) for s, k, tile in self.configs(masks)]
        try:
            done = self.precompile(builds, workers=min(32, os.cpu_count() or 8))
        except Exception as e:
            return {"error": f"{type(e).__name__}: {e}"}
        failed = {" ".join(opts): err for opts, err in done.items() if err}
        seconds = round(time.perf_counter() - t, 1)
        print(f"[{self.elapsed():6.1f}s] compiled {len(done)} kernel builds in {seconds} s; "
              f"{len(failed)} failed", flush=True)
        return {"builds": len(done), "seconds": seconds, "failed": failed}

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def over_budget(self) -> bool:
        return self.elapsed() > self.a.budget_s

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        self.rows.append(row)
        what = f"{row['impl']}" + (f" {row['strategy']} t{row['tile']}" if row.get("strategy") else "")
        if "median_ms" in row:
            extra = "" if row.get("verified", True) else "  NOT VERIFIED"
            err = row.get("rel_error_vs_full")
            errs = f"  err {err:.1e}" if isinstance(err, float) else ""
            print(f"[{self.elapsed():6.1f}s] {row['size']}^2 K={row.get('mask', '-')!s:>2} {what:26s} "
                  f"{row['median_ms']:9.4f} ms {row['gb_s']:8.1f} GB/s{errs}{extra}", flush=True)
        else:
            print(f"[{self.elapsed():6.1f}s] {row['size']}^2 K={row.get('mask', '-')} {what}: "
                  f"{row.get('error') or row.get('skipped')}", flush=True)
        return row

    def guarded(self, base: dict[str, Any], fn: Any) -> Any:
        """``fn()``, or None after adding an error row (with the traceback's end) or a skipped row."""
        if self.over_budget():
            self.add(base | {"skipped": f"time budget of {self.a.budget_s:.0f} s spent"})
            return None
        try:
            return fn()
        except Exception as e:
            tb = traceback.format_exc().strip().splitlines()[-6:]
            self.add(base | {"error": f"{type(e).__name__}: {e}"[:4000], "traceback": tb})
            return None

    def torch_event(self) -> Any:
        return self.torch.cuda.Event(enable_timing=True)

    def size(self, n: int, masks: list[int], rng: np.random.Generator, on_mask_done: Any) -> None:
        """Every measurement at ``n``^2; GPU buffers are released when it returns."""
        self._size(n, masks, rng, on_mask_done)
        if self.cp is not None:
            self.cp.get_default_memory_pool().free_all_blocks()
        self.torch.cuda.empty_cache()

    def _size(self, n: int, masks: list[int], rng: np.random.Generator, on_mask_done: Any) -> None:
        torch, a = self.torch, self.a
        host = rng.standard_normal((n, n), dtype=np.float32)                   # (N, N)
        xs = [torch.from_numpy(host).cuda() for _ in range(a.rotate)]          # a.rotate x (N, N)
        dst = torch.empty_like(xs[0])
        base = {"size": n, "impl": "copy"}
        times = self.guarded(base, lambda: time_events(self.torch_event, torch.cuda.synchronize,
                                                       lambda i: dst.copy_(xs[i % len(xs)]), a.repeats,
                                                       a.warmup))
        if times is not None:
            self.add(base | figures(times, n, None))
        cxs = [self.cp.asarray(host) for _ in range(a.rotate)] if self.cp is not None else []
        for k in masks:
            mask = np.random.default_rng([a.seed, k]).standard_normal((k, k)).astype(np.float32)   # (K, K)
            self.mask(n, k, host, mask, xs, cxs)
            on_mask_done()

    def mask(self, n: int, k: int, host: np.ndarray, mask: np.ndarray, xs: list[Any], cxs: list[Any]) -> None:
        checker = Checker(host, mask)
        for name, fn in (("cudnn", lambda: self.cudnn(n, k, mask, xs)),
                         ("cupyx", lambda: self.cupyx(n, k, mask, cxs))):
            if name == "cupyx" and self.cp is None:
                self.add({"size": n, "mask": k, "impl": name,
                          "error": f"cupy unavailable: {self.cupy_error}"})
                continue
            got = self.guarded({"size": n, "mask": k, "impl": name}, fn)
            if got is not None:
                fig, out = got
                result = checker.check(out)
                checker.offer_full(name, out, result["crop_rel_error_vs_float64"])
                self.add({"size": n, "mask": k, "impl": name} | fig | result)
        for strategy in self.strategies:
            for tile in _ints(self.a.tiles):
                self.ours(n, k, host, mask, strategy, tile, checker)

    def cudnn(self, n: int, k: int, mask: np.ndarray, xs: list[Any]) -> tuple[dict[str, Any], np.ndarray]:
        torch = self.torch
        f = torch.nn.functional
        w = torch.from_numpy(mask).cuda()[None, None]                          # (1, 1, K, K)
        x4 = [x[None, None] for x in xs]                                       # (1, 1, N, N) each
        with torch.inference_mode():
            times = time_events(self.torch_event, torch.cuda.synchronize,
                                lambda i: f.conv2d(x4[i % len(x4)], w, padding=(k - 1) // 2),
                                self.a.repeats, self.a.warmup)
            out = f.conv2d(x4[0], w, padding=(k - 1) // 2)[0, 0].cpu().numpy()   # (N, N)
        return figures(times, n, k), out

    def cupyx(self, n: int, k: int, mask: np.ndarray, cxs: list[Any]) -> tuple[dict[str, Any], np.ndarray]:
        cp, ndi = self.cp, self.ndi
        w, y = cp.asarray(mask), cp.empty_like(cxs[0])
        def step(i: int) -> None:
            ndi.correlate(cxs[i % len(cxs)], w, output=y, mode="constant", cval=0.0)

        times = time_events(lambda: _CupyEvent(cp), cp.cuda.Device().synchronize, step, self.a.repeats,
                            self.a.warmup)
        step(0)
        return figures(times, n, k), cp.asnumpy(y)

    def ours(self, n: int, k: int, host: np.ndarray, mask: np.ndarray, strategy: str, tile: int,
             checker: Checker) -> None:
        base = {"size": n, "mask": k, "impl": "ours", "strategy": strategy, "tile": tile}
        if self.ours_error is not None:
            self.add(base | {"error": self.ours_error})
            return
        try:
            self.geometry(n, n, k, strategy, tile)
        except ValueError:
            return                                                             # not a valid configuration
        a = self.a
        res = self.guarded(base, lambda: self.run_cuda(host, mask, strategy, tile=tile, repeats=a.repeats,
                                                       warmup=a.warmup, rotate=a.rotate))
        if res is not None:
            self.add(base | figures(res.times_ms, n, k) | checker.check(res.output)
                     | {"registers": res.registers, "local_bytes": res.local_bytes,
                        "compiler_log": res.compiler_log[:2000] or None})


# --------------------------------------------------------------------------------------------------
# Targets, table, main
# --------------------------------------------------------------------------------------------------


def _pick(rows: list[dict[str, Any]], n: int, impl: str, k: int | None = None) -> dict[str, Any] | None:
    cands = [r for r in rows if r["size"] == n and r["impl"] == impl and "median_ms" in r
             and (k is None or r.get("mask") == k) and r.get("verified", True)]
    return min(cands, key=lambda r: r["median_ms"]) if cands else None


def targets(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The goals for our fastest verified kernel at 8192^2 (else the largest size measured), met or not."""
    sizes = {r["size"] for r in rows}
    n = TARGET_SIZE if TARGET_SIZE in sizes or not sizes else max(sizes)
    copy = _pick(rows, n, "copy")
    out: dict[str, dict[str, Any]] = {}

    def put(name: str, text: str, k: int, limit: float, measure: Any, higher_is_better: bool) -> None:
        best = _pick(rows, n, "ours", k)
        try:
            value = measure(best) if best is not None else None
        except (TypeError, KeyError):
            value = None
        met = value is not None and (value >= limit if higher_is_better else value <= limit)
        out[name] = {"target": text, "limit": limit, "measured": None if value is None else round(value, 4),
                     "met": met, "ours": None if best is None else f"{best['strategy']} tile {best['tile']}",
                     "ours_ms": None if best is None else best["median_ms"]}

    def ratio(other: dict[str, Any] | None) -> Any:
        return lambda best: other["median_ms"] / best["median_ms"]             # TypeError when other is None

    put("mask5_vs_cudnn", f"mask 5 at {n}^2: >= 10x faster than cuDNN", 5, 10.0,
        ratio(_pick(rows, n, "cudnn", 5)), True)
    put("mask5_vs_cupyx", f"mask 5 at {n}^2: >= 4x faster than cupyx", 5, 4.0,
        ratio(_pick(rows, n, "cupyx", 5)), True)
    for k in (3, 5):
        put(f"mask{k}_vs_copy", f"mask {k} at {n}^2: within 1.3x of the copy floor (ours / copy)", k, 1.3,
            lambda best: best["median_ms"] / copy["median_ms"], False)       # type: ignore[index]
    put("mask7_ms", f"mask 7 at {n}^2: < 0.25 ms", 7, 0.25, lambda best: best["median_ms"], False)
    put("mask15_ms", f"mask 15 at {n}^2: < 1.5 ms", 15, 1.5, lambda best: best["median_ms"], False)
    return out


def print_summary(rows: list[dict[str, Any]], strategies: list[str], tgt: dict[str, dict[str, Any]]) -> None:
    print("\nMedian ms (ours: fastest verified tile, in brackets; '!' = failed or unverified)")
    header = ["size", "K", "copy", "cudnn", "cupyx", *strategies]
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
    print_table(table, header)
    bad = [r for r in rows if "error" in r or r.get("verified") is False]
    print(f"\n{len(bad)} failed or unverified measurement(s)" + (":" if bad else ""))
    for r in bad:
        what = " ".join(str(r[k]) for k in ("size", "mask", "impl", "strategy", "tile") if k in r)
        why = r.get("error") or (f"crop error {r['crop_rel_error_vs_float64']:.2e}, "
                                 f"whole-image error {r.get('rel_error_vs_full')}")
        print(f"  {what}: {why}")
    print("\nTargets (our fastest verified kernel)")
    print_table([[t["target"], t["limit"], t["measured"], t["ours"], t["met"]] for t in tgt.values()],
                ["target", "limit", "measured", "ours", "met"])


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    started = utc_now()
    commit = commit_info()
    path = out_path(a.out, started, commit["commit"])
    record: dict[str, Any] = {"benchmark": "conv-h200", **commit,
                              "timestamp": started.isoformat(timespec="seconds"),
                              "settings": vars(a) | {"tolerance": TOLERANCE, "crop": CROP}}
    try:
        import torch
    except Exception as e:
        record["error"] = f"torch unavailable: {e}"
        save(path, record)
        print(record["error"], file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        record["error"] = "torch sees no CUDA device"
        save(path, record)
        print(record["error"], file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # newer torch may call these flags legacy
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    record["machine"] = machine_info() | {"gpu": gpu_info(torch)}
    print(json.dumps(record["machine"]["gpu"], indent=1), flush=True)
    bench = Bench(a, torch)
    record["settings"] |= {"strategies": bench.strategies, "cupy_error": bench.cupy_error,
                           "ours_error": bench.ours_error}

    def progress() -> None:
        record.update(rows=bench.rows, targets=targets(bench.rows), elapsed_s=round(bench.elapsed(), 1),
                      finished=utc_now().isoformat(timespec="seconds"))
        save(path, record)

    record["compile"] = bench.compile_all(_ints(a.masks))
    rng = np.random.default_rng(a.seed)
    try:
        for n in _ints(a.sizes):
            bench.guarded({"size": n, "impl": "setup"},
                          lambda n=n: bench.size(n, _ints(a.masks), rng, progress))
    finally:
        progress()
    print_summary(bench.rows, bench.strategies, record["targets"])
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
