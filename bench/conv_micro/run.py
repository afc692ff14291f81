"""Time one microbenchmark run's cubins on the GPU with cupy; print each and write a JSON file.

    python3 bench/conv_micro/run.py bench/conv_micro/out/run6 [OUT.json]      # on the GPU machine

Needs cupy, torch (for cuDNN's times and the reference outputs) and libcuda (cuTensorMapEncodeTiled through
ctypes). 8192^2 float32 (SIZE=... to change), 3 input copies cycled, median of 30 CUDA-event timings after 5
warm-up launches, each output checked against cuDNN's (relative L2 error; shifted-box builds of run 6 are
wrong on purpose). L2S=2,3 picks the tensor maps' L2 promotion (0 none, 2 128 B, 3 256 B; unset: 128 B,
and 0 / 128 / 256 B for one-stage tile-32 K=5 builds); ONLY=text times the entries whose name holds it.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cupy as cp
import numpy as np

SIZE = int(os.environ.get("SIZE", "8192"))
REPS, WARM, ROTATE = 30, 5, 3
CUBIN_SLOT = 128  # bytes per tensor map in the device table

Launch = Callable[[int], Any]


def timeit(launch: Launch) -> float:
    """Median ms of REPS back-to-back launches (launch(i) uses input i % ROTATE), each between two events."""
    for i in range(WARM):
        launch(i)
    events = [cp.cuda.Event() for _ in range(REPS + 1)]
    events[0].record()
    for i in range(REPS):
        launch(i)
        events[i + 1].record()
    events[-1].synchronize()
    return statistics.median(cp.cuda.get_elapsed_time(events[i], events[i + 1]) for i in range(REPS))


def cudnn(ins: list[Any], masks: dict[int, np.ndarray]) -> tuple[dict[int, float], dict[int, Any]]:
    """cuDNN's median ms per mask and its output for input 0 (the reference)."""
    import torch

    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    tin = [torch.from_dlpack(a)[None, None] for a in ins]
    times, refs = {}, {}
    for k, m in masks.items():
        weight = torch.from_numpy(m).cuda()[None, None]

        def conv(i: int, weight: Any = weight, k: int = k) -> Any:
            return torch.nn.functional.conv2d(tin[i % ROTATE], weight, padding=(k - 1) // 2)

        for i in range(3):
            conv(i)
        torch.cuda.synchronize()
        events = [torch.cuda.Event(enable_timing=True) for _ in range(REPS + 1)]
        events[0].record()
        for i in range(REPS):
            conv(i)
            events[i + 1].record()
        torch.cuda.synchronize()
        times[k] = statistics.median(events[i].elapsed_time(events[i + 1]) for i in range(REPS))
        refs[k] = cp.asarray(conv(0)[0, 0].contiguous())
        print(f"cudnn K{k} {times[k]:.4f} ms", flush=True)
    return times, refs


def tensor_map(lib: Any, ptr: int, box: list[int], l2: int) -> np.ndarray:
    """A CUtensorMap (16 uint64) over the SIZE x SIZE float32 image at ptr: 2-D, or 3-D of 16-byte rows."""
    buf = (ctypes.c_uint8 * 256)()
    at = (ctypes.addressof(buf) + 127) & ~127
    if len(box) == 2:
        dims, strides = (ctypes.c_uint64 * 2)(SIZE, SIZE), (ctypes.c_uint64 * 1)(SIZE * 4)
    else:
        dims, strides = (ctypes.c_uint64 * 3)(4, SIZE // 4, SIZE), (ctypes.c_uint64 * 2)(16, SIZE * 4)
    n = len(box)
    rc = lib.cuTensorMapEncodeTiled(
        ctypes.c_void_p(at),
        7,
        n,
        ctypes.c_void_p(ptr),
        dims,
        strides,
        (ctypes.c_uint32 * n)(*box),
        (ctypes.c_uint32 * n)(*([1] * n)),
        0,
        0,
        l2,
        0,
    )
    if rc != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled returned {rc}")
    return np.frombuffer((ctypes.c_uint8 * 128).from_address(at), dtype=np.uint64).copy()


def configs(
    m: dict[str, Any], fn: Any, ins: list[Any], out: Any, lib: Any, nsm: int
) -> list[tuple[dict, Launch]]:
    """(settings, launch) for each way the entry is timed: one for register2d, per L2 promotion and
    blocks per SM (persistent builds) for the tma variants."""
    block = (*m["block"], 1)
    if m["kind"] == "r2d":

        def launch_r2d(i: int) -> None:
            fn(
                tuple(m["grid"]),
                block,
                (ins[i % ROTATE], out, np.int32(SIZE), np.int32(SIZE)),
                shared_mem=m["smem"],
            )

        return [({}, launch_r2d)]
    t, tw = m["T"], m.get("TW", 128)
    tiles_x = -(-SIZE // tw)
    n_tiles = -(-SIZE // t) * tiles_x
    if "L2S" in os.environ:
        promotions = tuple(int(v) for v in os.environ["L2S"].split(","))
    else:
        promotions = (0, 2, 3) if m["S"] == 1 and t == 32 and m["K"] == 5 else (2,)
    out_box = m.get("obox", [128, t])
    found = []
    for l2 in promotions:
        maps = cp.asarray(
            np.stack(
                [tensor_map(lib, a.data.ptr, m["box"], l2) for a in ins]
                + [tensor_map(lib, out.data.ptr, out_box, 0)]
            )
        )
        for per_sm in (None,) if m["S"] == 1 else (1, 2, 3, 4, 6):
            if per_sm is not None and per_sm * m["smem"] > 227 * 1024:
                continue
            grid = n_tiles if per_sm is None else nsm * per_sm

            def launch(i: int, grid: int = grid, base: int = maps.data.ptr) -> None:
                fn(
                    (grid,),
                    block,
                    (
                        np.uint64(base + CUBIN_SLOT * (i % ROTATE)),
                        np.uint64(base + CUBIN_SLOT * 3),
                        out,
                        np.int32(SIZE),
                        np.int32(SIZE),
                        np.int32(tiles_x),
                        np.int32(n_tiles),
                    ),
                    shared_mem=m["smem"],
                )

            found.append(({"l2promo": l2, "cps": per_sm, "grid": grid, "maps": maps}, launch))
    return found


def main() -> None:
    run_dir = Path(sys.argv[1])
    out_file = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(os.environ.get("OUT", "/tmp")) / "micro.json"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    nsm = cp.cuda.Device(0).attributes["MultiProcessorCount"]
    print(
        "GPU", cp.cuda.runtime.getDeviceProperties(0)["name"], "SMs", nsm, "cupy", cp.__version__, flush=True
    )
    rng = np.random.default_rng(0)
    ins = [cp.asarray(rng.standard_normal((SIZE, SIZE), dtype=np.float32)) for _ in range(ROTATE)]
    out = cp.empty((SIZE, SIZE), cp.float32)
    masks = {k: rng.standard_normal((k, k)).astype(np.float32) for k in (1, 3, 5, 7, 9, 15)}
    results: dict[str, Any] = {"H": SIZE, "W": SIZE, "sms": nsm, "rows": []}

    nbytes = SIZE * SIZE * 4
    copy_ms = timeit(
        lambda i: cp.cuda.runtime.memcpyAsync(out.data.ptr, ins[i % ROTATE].data.ptr, nbytes, 3, 0)
    )
    copy4 = cp.RawModule(path=str(run_dir / "cubin" / "copy.cubin")).get_function("copy4")
    n4 = SIZE * SIZE // 4
    results["copy_ms"] = copy_ms
    results["copy4_ms"] = timeit(
        lambda i: copy4(((n4 + 255) // 256,), (256,), (ins[i % ROTATE], out, np.int64(n4)))
    )
    print(f"memcpy D2D {copy_ms:.4f} ms, copy4 kernel {results['copy4_ms']:.4f} ms", flush=True)
    refs: dict[int, Any] = {}
    try:
        results["cudnn_ms"], refs = cudnn(ins, masks)
    except Exception as e:  # torch missing: times without cuDNN's ratio and reference
        print("torch failed", e)
    lib = ctypes.CDLL("libcuda.so.1")

    only = os.environ.get("ONLY")
    for m in manifest:
        if only and only not in m["name"]:
            continue
        k = m["K"]
        try:
            module = cp.RawModule(path=str(run_dir / "cubin" / f"{m['name']}.cubin"))
            fn = module.get_function(m["fn"])
            cp.cuda.runtime.memcpy(module.get_global("c_mask").ptr, masks[k].ctypes.data, masks[k].nbytes, 1)
            if m["smem"] > 48 * 1024:
                fn.max_dynamic_shared_size_bytes = m["smem"]
            for extra, launch in configs(m, fn, ins, out, lib, nsm):
                out.fill(np.nan)
                launch(0)
                cp.cuda.runtime.deviceSynchronize()
                err = float(cp.linalg.norm(out - refs[k]) / cp.linalg.norm(refs[k])) if k in refs else None
                ms = timeit(launch)
                shown = {key: v for key, v in extra.items() if key != "maps"}
                ratio = results.get("cudnn_ms", {}).get(k, float("nan")) / ms
                results["rows"].append(
                    {
                        "name": m["name"],
                        "K": k,
                        "ms": ms,
                        "err": err,
                        "regs": fn.num_regs,
                        **shown,
                        "x_copy": ms / copy_ms,
                        "x_cudnn": ratio,
                    }
                )
                print(
                    f"{m['name']:22s} {shown!s:45s} {ms:.4f} ms  {ms / copy_ms:.3f}x copy  "
                    f"{ratio:.2f}x cudnn  err {err if err is None else f'{err:.1e}'}  regs {fn.num_regs}",
                    flush=True,
                )
        except Exception as e:  # one bad build must not end the run (a sticky CUDA error still does)
            print(m["name"], "FAILED", type(e).__name__, e, flush=True)
            results["rows"].append({"name": m["name"], "error": str(e)})
    out_file.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
