"""Time the tc_mixed.cu prototype variants against the shipped tensorcore kernel, in one run.

    python3 bench/conv_micro/tc_mixed.py OUT.json        # on the GPU machine (cupy, torch; no PyCUDA)

Each variant is compiled with NVRTC (cupy.RawModule), checked against a float64 reference (torch on the
GPU) on 1000 x 777 and 301 x 450 (sizes that are not multiples of the tile, borders included) and against
cuDNN in fp32 on the timed 8192^2 image, then timed: median of 30 CUDA-event timings after 5 warm-up
launches, 3 input copies cycled. The shipped kernel (kernels/conv2d.cu, engine.conv_cuda.kernel_options)
and a device copy (the memory floor) are timed in the same process. ONLY=K,K picks masks.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import cupy as cp
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SIZE = int(os.environ.get("SIZE", "8192"))
REPS, WARM, ROTATE = int(os.environ.get("REPS", "30")), 5, 3
MASKS = tuple(int(k) for k in os.environ.get("ONLY", "3,5,9,15,31").split(","))
SOURCE = (Path(__file__).parent / "tc_mixed.cu").read_text()

# (name, WY, WX, NT, MODE, GROUP[, SPLIT[, MINB]]); GROUP 0 = every mask row in one partial sum (K); SPLIT
# as in tc_mixed.cu (0 when left out). SET=split picks the second list (the split's instruction count).
VARIANTS_FIRST = [
    ("m1_wy4_nt8_g1", 4, 1, 8, 1, 1),
    ("m1_wy4_nt8_gK", 4, 1, 8, 1, 0),
    ("m2_wy4_nt8_g1", 4, 1, 8, 2, 1),
    ("m2_wy4_nt8_gK", 4, 1, 8, 2, 0),
    ("m1_wy8_nt8_gK", 8, 1, 8, 1, 0),
    ("m1_wy4_nt4_gK", 4, 2, 4, 1, 0),
    ("m2_wy8_nt4_gK", 8, 2, 4, 2, 0),
    ("m1_wy2_nt16_gK", 2, 1, 16, 1, 0),
    ("m1_wy2_nt8_gK", 2, 1, 8, 1, 0),
    ("m1_wy4_nt8_g4", 4, 1, 8, 1, 4),
]
VARIANTS_SPLIT = [
    ("m1_wy4_nt8_g1_s0", 4, 1, 8, 1, 1, 0),
    ("m1_wy4_nt8_g1_s1", 4, 1, 8, 1, 1, 1),
    ("m1_wy4_nt8_g1_s2", 4, 1, 8, 1, 1, 2),
    ("m1_wy4_nt8_g1_s3", 4, 1, 8, 1, 1, 3),
    ("m1_wy4_nt8_g2_s1", 4, 1, 8, 1, 2, 1),
    ("m1_wy4_nt8_g2_s2", 4, 1, 8, 1, 2, 2),
    ("m1_wy4_nt8_gK_s2", 4, 1, 8, 1, 0, 2),
    ("m1_wy2_nt8_g1_s2", 2, 1, 8, 1, 1, 2),
    ("m3_wy4_nt8_g1_s1", 4, 1, 8, 3, 1, 1),
    ("m3_wy4_nt8_g1_s2", 4, 1, 8, 3, 1, 2),
    ("m3_wy4_nt8_g1_s3", 4, 1, 8, 3, 1, 3),
    ("m3_wy4_nt8_gK_s2", 4, 1, 8, 3, 0, 2),
    ("m3_wy4_nt8_g3_s2", 4, 1, 8, 3, 3, 2),
    ("m3_wy4_nt8_g1_s4", 4, 1, 8, 3, 1, 4),
    ("m3_wy4_nt8_g1_s5", 4, 1, 8, 3, 1, 5),
    ("m3_wy4_nt8_g3_s4", 4, 1, 8, 3, 3, 4),
    ("m1_wy4_nt8_g1_s4", 4, 1, 8, 1, 1, 4),
    ("m1_wy4_nt8_g1_s4_b6", 4, 1, 8, 1, 1, 4, 6),
    ("m1_wy4_nt8_g1_s4_b7", 4, 1, 8, 1, 1, 4, 7),
    ("m1_wy2_nt8_g1_s4", 2, 1, 8, 1, 1, 4),
    ("m1_wy4_nt8_gK_s4", 4, 1, 8, 1, 0, 4),
]
# tc_wgmma.cu (SET=split only): (name, GROUP, DESC_SWAP); GROUP 0 = K
WGMMA_VARIANTS = [
    ("wg_g1_d0", 1, 0),
    ("wg_g1_d1", 1, 1),
    ("wg_gK_d0", 0, 0),
    ("wg_g3_d0", 3, 0),
]
WGMMA_SOURCE = (Path(__file__).parent / "tc_wgmma.cu").read_text()
VARIANTS = VARIANTS_SPLIT if os.environ.get("SET") == "split" else VARIANTS_FIRST
WGMMA = WGMMA_VARIANTS
if os.environ.get("ONLYV"):  # a comma-separated list of variant names (e.g. for one ncu run)
    VARIANTS = [v for v in VARIANTS if v[0] in os.environ["ONLYV"].split(",")]
    WGMMA = [v for v in WGMMA_VARIANTS if v[0] in os.environ["ONLYV"].split(",")]
SHIPPED = os.environ.get("SHIPPED", "1") == "1"


def tf32(x: np.ndarray) -> np.ndarray:
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x1000) & 0xFFFFE000).astype(np.uint32).view(np.float32)


def bf16_bits(x: np.ndarray) -> np.ndarray:
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF).astype(np.uint32)


def geometry(k: int, wy: int, wx: int, nt: int, mode: int) -> dict[str, int]:
    r = (k - 1) // 2
    halo = -(-r // 4) * 4
    d = r - halo
    steps = -(-(k + 7 - d) // 8)
    tile_w = 8 * nt * wx
    sh_w = max(tile_w + 2 * halo, (wx - 1) * 8 * nt + 8 * (nt + steps - 1))
    sh_w = -(-sh_w // 4) * 4
    while sh_w % 16 != 8:
        sh_w += 4
    sh_h = 16 * wy + 2 * r
    smem = sh_h * sh_w * 4 * (2 if mode in (2, 3) else 1)
    return {
        "R": r,
        "HALO": halo,
        "D": d,
        "STEPS": steps,
        "SH_W": sh_w,
        "SH_H": sh_h,
        "smem": smem,
        "TH": 16 * wy,
        "TW": tile_w,
        "threads": 32 * wy * wx,
    }


def band_records(mask: np.ndarray, geo: dict[str, int]) -> tuple[np.ndarray, int]:
    k = mask.shape[0]
    pad = 7 - geo["D"]
    row = 8 * geo["STEPS"] + 16
    mpad = np.zeros((k, row + 1), np.float32)
    mpad[:, pad : pad + k] = mask
    hi = tf32(mpad)
    lo = (mpad - hi).astype(np.float32)
    rec = np.zeros((k, row, 4), np.uint32)
    rec[:, :, 0] = hi[:, :-1].view(np.uint32)
    rec[:, :, 1] = hi[:, 1:].view(np.uint32)
    rec[:, :, 2] = bf16_bits(hi[:, :-1]) | (bf16_bits(hi[:, 1:]) << 16)
    rec[:, :, 3] = bf16_bits(lo[:, :-1]) | (bf16_bits(lo[:, 1:]) << 16)
    return rec, row


def build(k: int, v: tuple) -> tuple[Any, dict[str, int]]:
    _name, wy, wx, nt, mode, group = v[:6]
    split = v[6] if len(v) > 6 else 0
    minb = v[7] if len(v) > 7 else 1
    geo = geometry(k, wy, wx, nt, mode)
    opts = (
        f"-DMASK={k}",
        f"-DRADIUS={geo['R']}",
        f"-DHALO_X={geo['HALO']}",
        f"-DWY={wy}",
        f"-DWX={wx}",
        f"-DNT={nt}",
        f"-DSTEPS={geo['STEPS']}",
        f"-DSH_W={geo['SH_W']}",
        f"-DMODE={mode}",
        f"-DGROUP={group or k}",
        f"-DSPLIT={split}",
        f"-DMINB={minb}",
        "-arch=sm_90",
        "-std=c++17",
    )
    mod = cp.RawModule(code=SOURCE, options=opts)
    fn = mod.get_function("conv_mixed")
    if geo["smem"] > 48 * 1024:
        fn.max_dynamic_shared_size_bytes = geo["smem"]
    return fn, geo


def wgmma_table(mask: np.ndarray, geo: dict[str, int]) -> np.ndarray:
    """tc_wgmma.cu's B table: entry (k, s) of 512 bytes, TF32 B (8 n x 8 kk) at +0 and BF16 B (8 n x 16 k16)
    at +256, each as two 8-row x 16-byte core matrices along K (the second 128 bytes on), K-major."""
    k_side, steps, d = mask.shape[0], geo["STEPS"], geo["D"]
    hi = tf32(mask)
    lo = (mask - hi).astype(np.float32)
    n = np.arange(8)[:, None]
    tab = np.zeros((k_side, steps, 512), np.uint8)
    for s in range(steps):
        kk = np.arange(8)[None, :]
        col = np.where(kk < 4, 2 * kk, 2 * (kk - 4) + 1)
        tap = 8 * s + col - n + d  # (8 n, 8 kk)
        ok = (tap >= 0) & (tap < k_side)
        vals = np.where(ok[None], hi[:, np.clip(tap, 0, k_side - 1)], 0).astype(np.float32)  # (K, 8, 8)
        tf = np.zeros((k_side, 256), np.uint8)
        for j in range(8):
            byte = np.where(j < 4, n[:, 0] * 16 + j * 4, 128 + n[:, 0] * 16 + (j - 4) * 4)
            for b in range(4):
                tf[:, byte + b] = (
                    np.ascontiguousarray(vals[:, :, j]).view(np.uint8).reshape(k_side, 8, 4)[:, :, b]
                )
        k16 = np.arange(16)[None, :]
        tap16 = 8 * s + (k16 % 8) - n + d  # (8, 16)
        ok16 = (tap16 >= 0) & (tap16 < k_side)
        src = np.where(k16 < 8, 0, 1)  # H for the l part, L for the x part
        idx = np.clip(tap16, 0, k_side - 1)
        v16 = np.where(ok16[None], np.where(src[None] == 0, hi[:, idx], lo[:, idx]), 0).astype(np.float32)
        bits = bf16_bits(v16).astype(np.uint16)  # (K, 8, 16)
        bf = np.zeros((k_side, 256), np.uint8)
        for j in range(16):
            byte = np.where(j < 8, n[:, 0] * 16 + j * 2, 128 + n[:, 0] * 16 + (j - 8) * 2)
            pair = np.ascontiguousarray(bits[:, :, j]).view(np.uint8).reshape(k_side, 8, 2)
            bf[:, byte] = pair[:, :, 0]
            bf[:, byte + 1] = pair[:, :, 1]
        tab[:, s, :256] = tf
        tab[:, s, 256:] = bf
    return tab


def build_wgmma(k: int, v: tuple) -> tuple[Any, dict[str, int]]:
    _name, group, swap = v
    geo = geometry(k, 4, 1, 8, 3)
    geo["smem"] = k * geo["STEPS"] * 512 + 2 * geo["SH_H"] * geo["SH_W"] * 4
    opts = (
        f"-DMASK={k}",
        f"-DRADIUS={geo['R']}",
        f"-DHALO_X={geo['HALO']}",
        f"-DSTEPS={geo['STEPS']}",
        f"-DSH_W={geo['SH_W']}",
        f"-DGROUP={group or k}",
        f"-DDESC_SWAP={swap}",
        "-arch=sm_90a",
        "-std=c++17",
    )
    fn = cp.RawModule(code=WGMMA_SOURCE, options=opts).get_function("conv_wgmma")
    if geo["smem"] > 48 * 1024:
        fn.max_dynamic_shared_size_bytes = geo["smem"]
    return fn, geo


def run_wgmma(fn: Any, geo: dict[str, int], x: Any, table: Any, out: Any) -> None:
    h, w = x.shape
    fn((-(-w // 64), -(-h // 64)), (128,), (x, table, out, np.int32(h), np.int32(w)), shared_mem=geo["smem"])


def run_mixed(fn: Any, geo: dict[str, int], x: Any, band: Any, row: int, out: Any) -> None:
    h, w = x.shape
    grid = (-(-w // geo["TW"]), -(-h // geo["TH"]))
    fn(
        grid,
        (geo["threads"],),
        (x, band, out, np.int32(h), np.int32(w), np.int32(row)),
        shared_mem=geo["smem"],
    )


def timeit(launch: Any) -> float:
    for i in range(WARM):
        launch(i)
    ev = [cp.cuda.Event() for _ in range(REPS + 1)]
    ev[0].record()
    for i in range(REPS):
        launch(i)
        ev[i + 1].record()
    ev[-1].synchronize()
    return statistics.median(cp.cuda.get_elapsed_time(ev[i], ev[i + 1]) for i in range(REPS))


def reference(x: Any, m: np.ndarray) -> Any:
    import torch

    t = torch.from_dlpack(x).double()[None, None]
    w = torch.from_numpy(m.astype(np.float64)).cuda()[None, None]
    return cp.asarray(torch.nn.functional.conv2d(t, w, padding=(m.shape[0] - 1) // 2)[0, 0].contiguous())


def rel(a: Any, ref: Any) -> float:
    return float(cp.linalg.norm(a.astype(cp.float64) - ref) / cp.linalg.norm(ref))


# SHIPPED_EXTRA: ';'-separated extra nvcc options for the committed kernel, one build each ('' = none),
# e.g. ';-DTC_MIN_BLOCKS=6' (__launch_bounds__'s minimum blocks per SM)
SHIPPED_EXTRA = os.environ.get("SHIPPED_EXTRA", "").split(";")


def shipped(k: int, tile: int, extra: str = "") -> tuple[Any, Any] | None:
    """The committed tensorcore kernel compiled by NVRTC with the engine's own options (and ``extra``)."""
    try:
        from engine.conv_cuda import kernel_options
        from engine.tiling import geometry as geom_of

        geom = geom_of(SIZE, SIZE, k, "tensorcore", tile)
        opts = (*tuple(kernel_options(geom)), *extra.split(), "-arch=sm_90", "-std=c++17")
        mod = cp.RawModule(code=(ROOT / "kernels" / "conv2d.cu").read_text(), options=opts)
        fn = mod.get_function("conv_tensorcore")
        if geom.shared_bytes > 48 * 1024:
            fn.max_dynamic_shared_size_bytes = geom.shared_bytes
        return fn, geom
    except Exception as e:
        print(f"shipped tensorcore K={k} t{tile}: {type(e).__name__}: {e}", flush=True)
        return None


def main(argv: list[str]) -> int:
    out_path = Path(argv[1]) if len(argv) > 1 else Path("tc_mixed.json")
    rng = np.random.default_rng(0)
    ins = [cp.asarray(rng.random((SIZE, SIZE), dtype=np.float32)) for _ in range(ROTATE)]
    out = cp.empty((SIZE, SIZE), cp.float32)
    dst = cp.empty_like(out)
    copy_ms = timeit(lambda i: dst.__setitem__(Ellipsis, ins[i % ROTATE]))
    smalls = [cp.asarray(rng.standard_normal(s).astype(np.float32)) for s in ((1000, 777), (301, 450))]
    res: dict[str, Any] = {
        "gpu": cp.cuda.runtime.getDeviceProperties(0)["name"].decode(),
        "size": SIZE,
        "copy_ms": copy_ms,
        "runs": [],
        "commit_note": os.environ.get("COMMIT_NOTE", ""),
    }
    print(res["gpu"], f"copy {copy_ms:.4f} ms", flush=True)
    for k in MASKS:
        m = rng.standard_normal((k, k)).astype(np.float32)
        ref_big = reference(ins[0], m)
        refs_small = [reference(s, m) for s in smalls]
        for tile, extra in [(t, e) for t in (32, 64) for e in SHIPPED_EXTRA] if SHIPPED else ():
            sh = shipped(k, tile, extra)
            if sh is None:
                continue
            fn, geom = sh
            from engine.conv_mma import band_records as shipped_band

            mask_d = cp.asarray(shipped_band(geom, m))  # the kernel reads the split band records
            grid = (geom.grid[1], geom.grid[0])
            blk = (geom.block[1], geom.block[0])

            def go(
                i: int, fn: Any = fn, grid: Any = grid, blk: Any = blk, geom: Any = geom, mask_d: Any = mask_d
            ) -> None:
                fn(
                    grid,
                    blk,
                    (ins[i % ROTATE], mask_d, out, np.int32(SIZE), np.int32(SIZE)),
                    shared_mem=geom.shared_bytes,
                )

            go(0)
            err = rel(out, ref_big)
            ms = timeit(go)
            name = f"shipped_tensorcore_t{tile}" + (f"_{extra.strip('-D')}" if extra else "")
            res["runs"].append({"K": k, "name": name, "ms": ms, "rel_err": err, "regs": int(fn.num_regs)})
            print(f"K{k:2d} {name}: {ms:.4f} ms  err {err:.2e}  regs {fn.num_regs}", flush=True)
        for v in VARIANTS:
            try:
                fn, geo = build(k, v)
            except Exception as e:
                print(f"K{k} {v[0]}: build failed: {e}", flush=True)
                res["runs"].append({"K": k, "name": v[0], "error": str(e)[:2000]})
                continue
            rec, row = band_records(m, geo)
            band = cp.asarray(rec)
            errs = []
            for s, r in zip(smalls, refs_small, strict=True):
                o = cp.empty_like(s)
                run_mixed(fn, geo, s, band, row, o)
                errs.append(rel(o, r))
            run_mixed(fn, geo, ins[0], band, row, out)
            errs.append(rel(out, ref_big))
            ms = timeit(
                lambda i, fn=fn, geo=geo, band=band, row=row: run_mixed(
                    fn, geo, ins[i % ROTATE], band, row, out
                )
            )
            entry = {
                "K": k,
                "name": v[0],
                "ms": ms,
                "rel_err": errs,
                "geometry": geo,
                "regs": int(fn.num_regs),
                "tc_tflops_equiv": None,
            }
            res["runs"].append(entry)
            print(
                f"K{k:2d} {v[0]:16s}: {ms:.4f} ms  err {max(errs):.2e}  regs {fn.num_regs} "
                f"smem {geo['smem']}",
                flush=True,
            )
        for v in WGMMA if os.environ.get("SET") == "split" else ():
            try:
                fn, geo = build_wgmma(k, v)
                table = cp.asarray(wgmma_table(m, geo))
                errs = []
                for s_, r in zip(smalls, refs_small, strict=True):
                    o = cp.empty_like(s_)
                    run_wgmma(fn, geo, s_, table, o)
                    errs.append(rel(o, r))
                run_wgmma(fn, geo, ins[0], table, out)
                errs.append(rel(out, ref_big))
                ms = timeit(
                    lambda i, fn=fn, geo=geo, table=table: run_wgmma(fn, geo, ins[i % ROTATE], table, out)
                )
                entry = {
                    "K": k,
                    "name": v[0],
                    "ms": ms,
                    "rel_err": errs,
                    "geometry": geo,
                    "regs": int(fn.num_regs),
                }
            except Exception as e:
                entry = {"K": k, "name": v[0], "error": f"{type(e).__name__}: {e}"[:2000]}
            res["runs"].append(entry)
            print(
                f"K{k:2d} {v[0]:16s}: {entry.get('ms', float('nan')):.4f} ms  err {entry.get('rel_err')}  "
                f"{entry.get('error', '')[:300]}",
                flush=True,
            )
    tmp = out_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1))
    tmp.replace(out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
