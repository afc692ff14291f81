"""2-D convolution on one NVIDIA GPU: our strategies against cuDNN, cupyx and the copy floor.

    python3 bench/bench_conv.py --out $OUT/conv_bench.json        # on the GPU machine (~1-2 minutes)
    python3 bench/bench_conv.py --quick --out /tmp/conv.json      # check the script works

What is measured, and how each output is checked, is in engine/conv_bench.py (``han-explorer
conv-bench`` runs the same code); this script adds the options and writes the JSON after every
(size, mask), so a run cut short still leaves its figures.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from _common import RESULTS

from engine.conv_bench import BenchSettings, format_summary, out_path, run_benchmark, save
from engine.conv_cuda import NoGPUError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="result file (*.json) or folder (default bench/results/)")
    p.add_argument("--sizes", default="8192,4096", help="square image sides, comma-separated")
    p.add_argument("--masks", default="3,5,7,9,15", help="mask sides, comma-separated")
    p.add_argument("--strategies", default="all",
                   help="comma-separated subset of engine.tiling.ALL_STRATEGIES")
    p.add_argument("--tiles", default="16,32,64", help="tiles tried for each strategy (invalid ones skipped)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rotate", type=int, default=3, help="input copies the timed launches cycle through")
    p.add_argument("--budget-s", type=float, default=210.0, help="skip what is left after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="1024^2, masks 3 and 5, 5 repeats: checks the script")
    return p.parse_args(argv)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def settings(a: argparse.Namespace) -> BenchSettings:
    chosen: dict[str, Any] = {
        "sizes": _ints(a.sizes), "masks": _ints(a.masks), "tiles": _ints(a.tiles), "repeats": a.repeats,
        "warmup": a.warmup, "rotate": a.rotate, "budget_s": a.budget_s, "seed": a.seed,
        "strategies": None if a.strategies == "all" else tuple(a.strategies.split(","))}
    if a.quick:   # quick_run's sizes, masks and repeats; the other options as given
        return BenchSettings.quick_run(**{k: v for k, v in chosen.items()
                                          if k not in ("sizes", "masks", "repeats")})
    return replace(BenchSettings(), **chosen)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    path = out_path(a.out, RESULTS)
    try:
        record = run_benchmark(settings(a), log=lambda line: print(line, flush=True),
                               on_progress=lambda rec: save(path, rec))
    except NoGPUError as e:
        print(f"bench_conv: {e}", file=sys.stderr)
        return 2
    save(path, record)
    print("\n" + format_summary(record))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
