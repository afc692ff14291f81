"""2-D convolution on one NVIDIA GPU: our strategies against cuDNN, cupyx and the copy floor.

    python3 bench/bench_conv.py --out $OUT/conv_bench.json        # on the GPU machine (~1-2 minutes)
    python3 bench/bench_conv.py --quick --out /tmp/conv.json      # check the script works

What is measured, and how each output is checked, is in engine/conv_bench.py (``han-explorer
conv-bench`` runs the same code with the same options); this script writes the JSON after every
(size, mask), so a run cut short still leaves its figures.
"""

from __future__ import annotations

import argparse
import sys

from _common import RESULTS

from engine import conv_bench
from engine.conv_cuda import NoGPUError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options of ``han-explorer conv-bench`` (:func:`engine.conv_bench.add_arguments`), the same here."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    conv_bench.add_arguments(
        p,
        out_help="result file (*.json) or folder (default bench/results/, under a "
        "dated name that names the card)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    try:
        card = conv_bench.check_gpu(require_pycuda=False)
    except NoGPUError as e:
        print(f"bench_conv: {e}", file=sys.stderr)
        return 2
    path = conv_bench.out_path(a.out, RESULTS, conv_bench.benchmark_name(card))
    record = conv_bench.run_and_save(
        conv_bench.settings_from_args(a), path, log=lambda line: print(line, flush=True)
    )
    print("\n" + conv_bench.format_summary(record))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
