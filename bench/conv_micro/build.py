"""Build the cubins of one microbenchmark run (nvcc, sm_90, no GPU needed) and its manifest.

    python bench/conv_micro/build.py RUN          # RUN = 1 .. 6; writes bench/conv_micro/out/run<RUN>/

The six runs that chose the design of the ``tma`` strategy (results: bench/results/
2026-11-28-conv-tma-micro-<RUN>.json; what each found: bench/README.md and README.md here):

1. register2d (kernels/conv2d.cu; also with the cp.async L2::128B / L2::256B prefetch hints) against
   tma_variants.cu: one tile per block (STAGES=1, grid = tiles) and persistent pipelines (STAGES 2-4,
   grid = SMs x 1-6), with and without a tensor store (STORE_TMA), tiles 16 / 32, masks 1-15.
2. one tile per block: tiles 32 / 64 / 128, 4 or 8 output rows per thread, halo columns r rounded up to
   4 or to 2 (to 2: the copy failed with an illegal instruction, which ended the run).
3. tiles 32 / 64, 4 or 8 rows per thread, row-major against column-major tile order, each twice.
4. a 3-D tensor map whose rows are 16-byte vectors (tiles 128 to 512 wide): far slower.
5. tiles 256 - 2h wide (a 256-element box): slower than 128.
6. where the copy's rows start: halo columns 0 / 4 / 8 / 32 with the box shifted onto a sector or not
   (BOX_SHIFT; shifted boxes compute the wrong answer on purpose, only their time counts).

run.py times a run's cubins on the GPU (cupy launches): see README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from engine.conv_cuda import kernel_options  # noqa: E402  (after the path)
from engine.tiling import geometry  # noqa: E402

SOURCE = HERE / "tma_variants.cu"


def _round(n: int, m: int) -> int:
    return -(-n // m) * m


def _tma(
    name: str,
    k: int,
    t: int,
    *,
    tw: int = 128,
    hx: int | None = None,
    rows: int = 4,
    stages: int = 1,
    store: bool = False,
    extra: tuple[str, ...] = (),
    box3d: bool = False,
    **fields: object,
) -> tuple:
    """A tma_variants.cu build: (name, nvcc arguments, manifest entry)."""
    r = (k - 1) // 2
    hx = _round(r, 4) if hx is None else hx
    args = [
        str(SOURCE),
        f"-DMASK={k}",
        f"-DRADIUS={r}",
        f"-DTILE_H={t}",
        f"-DTILE_W={tw}",
        f"-DHALO_X={hx}",
        f"-DREG_ROWS={rows}",
        f"-DSTAGES={stages}",
        *(["-DSTORE_TMA"] if store else []),
        *extra,
    ]
    stage = _round((tw + 2 * hx) * (t + 2 * r), 32) * 4  # bytes, 128-byte aligned
    box = [4, (tw + 2 * hx) // 4, t + 2 * r] if box3d else [tw + 2 * hx, t + 2 * r]
    entry = {
        "name": name,
        "kind": "tma",
        "K": k,
        "T": t,
        "TW": tw,
        "S": stages,
        "RR": rows,
        "hx": hx,
        "store_tma": store,
        "fn": "conv_tma",
        "block": [tw // 4, t // rows],
        "smem": stages * stage + (t * tw * 4 if store else 0) + 8 * stages,
        "box": box,
        "obox": [4, tw // 4, t] if box3d else [tw, t],
        **fields,
    }
    return name, args, entry


def _register2d(variant: str, k: int, t: int) -> tuple:
    g = geometry(8192, 8192, k, "register2d", t)
    name = f"{variant}_T{t}_K{k}"
    entry = {
        "name": name,
        "kind": "r2d",
        "K": k,
        "T": t,
        "fn": "conv_register2d",
        "grid": [g.grid[1], g.grid[0]],
        "block": [g.block[1], g.block[0]],
        "smem": g.shared_bytes,
    }
    return name, [str(HERE / "out" / f"{variant}.cu"), *kernel_options(g)], entry


def experiments(run: int) -> list[tuple]:
    jobs: list[tuple] = []
    if run == 1:
        for k in (1, 3, 5, 7, 9, 15):
            jobs += [
                _register2d(v, k, t)
                for t in (16, 32, 64)
                for v in ("r2d", "r2dL2p128", "r2dL2p256")
                if v == "r2d" or k == 5
            ]
            for t in (16, 32):
                jobs += [
                    _tma(f"tma_T{t}_S{s}{'_st' if st else ''}_K{k}", k, t, stages=s, store=st)
                    for s in (1, 2, 3, 4)
                    for st in (False, True)
                    if not st or k in (3, 5)
                ]
    elif run == 2:
        for k in (3, 5, 7, 9, 15):
            r = (k - 1) // 2
            for hx in dict.fromkeys((_round(r, 4), _round(r, 2))):
                jobs += [
                    _tma(f"tma_T{t}_R{rr}_H{hx}{'_st' if st else ''}_K{k}", k, t, hx=hx, rows=rr, store=st)
                    for t in (32, 64, 128)
                    for rr in (4, 8)
                    if (t // rr) * 32 <= 1024
                    for st in (False, True)
                ]
    elif run == 3:
        for k in (3, 5, 7, 15):
            jobs += [
                _tma(
                    f"tma_T{t}_R{rr}{'_st' if st else ''}{'_col' if col else ''}_K{k}",
                    k,
                    t,
                    rows=rr,
                    store=st,
                    extra=("-DRASTER_COL",) if col else (),
                )
                for t in ((32, 64) if k in (3, 5) else (32,))
                for rr in ((4, 8) if k == 5 else (4,))
                for st in (False, True)
                for col in ((False, True) if k == 5 else (False,))
            ]
        jobs += jobs  # each twice: the noise
    elif run == 4:
        for k in (3, 5, 7, 15):
            jobs += [
                _tma(
                    f"t3_W{tw}_T{t}{'_st' if st else ''}_K{k}",
                    k,
                    t,
                    tw=tw,
                    store=st,
                    box3d=True,
                    extra=("-DTMAP3D",),
                )
                for tw in ((128, 256, 512) if k in (3, 5) else (256, 512))
                for t in ((16, 32) if k in (3, 5) else (32,))
                if (t // 4) * (tw // 4) <= 1024
                for st in (False, True)
            ]
    elif run == 5:
        for k in (3, 5, 7, 9, 15):
            hx = _round((k - 1) // 2, 4)
            jobs += [
                _tma(f"w_W{tw}_T{t}{'_st' if st else ''}_K{k}", k, t, tw=tw, store=st)
                for tw in (128, 256 - 2 * hx)
                for t in (16, 32)
                for st in (False, True)
                if tw != 128 or (t == 32 and st)
            ]
        jobs += jobs
    elif run == 6:
        for k, hx, shift in [
            (1, 0, 0),
            (1, 4, 0),
            (1, 4, 4),
            (1, 8, 0),
            (1, 8, 8),
            (1, 32, 0),
            (1, 32, 32),
            (3, 4, 0),
            (3, 4, 4),
            (5, 4, 0),
            (5, 4, 4),
            (5, 8, 0),
            (5, 8, 8),
            (5, 32, 0),
            (5, 32, 32),
        ]:
            jobs.append(
                _tma(
                    f"a_H{hx}_S{shift}_K{k}",
                    k,
                    32,
                    hx=hx,
                    store=True,
                    extra=(f"-DBOX_SHIFT={shift}",),
                    shift=shift,
                )
            )
        jobs += jobs
    else:
        raise SystemExit(f"unknown run {run}; runs are 1 to 6")
    return jobs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=int)
    run = p.parse_args().run
    out = HERE / "out" / f"run{run}"
    (out / "cubin").mkdir(parents=True, exist_ok=True)
    src = (ROOT / "kernels" / "conv2d.cu").read_text(encoding="utf-8")
    hint = "cp.async.cg.shared.global ["
    variants = {
        "r2d": src,
        "r2dL2p128": src.replace(hint, "cp.async.cg.shared.global.L2::128B ["),
        "r2dL2p256": src.replace(hint, "cp.async.cg.shared.global.L2::256B ["),
    }
    for variant, text in variants.items():
        (HERE / "out" / f"{variant}.cu").write_text(text, encoding="utf-8")
    jobs = experiments(run)
    unique = {name: args for name, args, _ in jobs}
    unique["copy"] = [
        str(SOURCE),
        "-DMASK=1",
        "-DRADIUS=0",
        "-DTILE_H=32",
        "-DTILE_W=128",
        "-DHALO_X=0",
        "-DSTAGES=1",
    ]  # copy4: run.py's plain copy kernel

    def build(item: tuple[str, list[str]]) -> str:
        name, args = item
        cmd = ["nvcc", "-cubin", "-arch=sm_90", "-O3", "-o", str(out / "cubin" / f"{name}.cubin"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise SystemExit(f"{name}: nvcc failed\n{proc.stderr}")
        return name

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(build, unique.items()))
    (out / "manifest.json").write_text(json.dumps([entry for *_, entry in jobs], indent=1), encoding="utf-8")
    print(f"{len(unique)} cubins, {len(jobs)} timed entries -> {out}")


if __name__ == "__main__":
    main()
