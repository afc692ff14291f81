"""``han-explorer conv`` and ``conv-bench``: the tiled 2D convolution on the GPU (PyCUDA) or in the CPU
emulator, and the benchmark of our kernels against cuDNN, cupyx and the copy floor.

Like the rest of the CLI this imports no Qt; PyCUDA is imported only when the CUDA backend runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli import UserError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["add_parser", "run", "run_bench"]

# The emulator runs the kernels' index arithmetic in numpy; past this many pixels it is too slow to
# use as a side calculation of counters for a GPU run.
_COUNTER_PIXELS = 2048 * 2048


class ConvUsageError(UserError):
    """Bad conv parameters or inputs, or no GPU for conv-bench; printed as one line, exit status 2."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``conv`` and ``conv-bench``; :func:`run` runs either.

    Their options quote engine constants (numpy modules), so they are added only when one of these
    commands is parsed (``arguments=``, see :mod:`app.cli`).
    """
    sub.add_parser(
        "conv",
        help="2D convolution with shared-memory tiles (GPU or CPU emulator)",
        arguments=_conv_arguments,
    )
    sub.add_parser(
        "conv-bench",
        help="time our convolution kernels against cuDNN, cupyx and a copy (needs an NVIDIA GPU)",
        arguments=_bench_arguments,
    )


def _conv_arguments(c: argparse.ArgumentParser) -> None:
    from engine.limits import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_MASK
    from engine.tiling import ALL_STRATEGIES, BULK_STRATEGIES, WIDE_STRATEGIES

    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="2-D array in a .npy file")
    src.add_argument("--image", help="an image file (PNG, ...), read as grey levels in [0, 1], like the app")
    src.add_argument(
        "--size",
        help=f"HxW: a random image of that size (seed 0); at most {MAX_IMAGE_SIDE} "
        f"on a side and {MAX_IMAGE_PIXELS:,} pixels",
    )
    c.add_argument(
        "--mask",
        required=True,
        help=f"K (a K x K box), box:K, gauss:K, sobel-x:K, sobel-y:K, sharpen:K (K odd, at most "
        f"{MAX_MASK}; 3 if left out), or a .npy file",
    )
    bulk = " and ".join(BULK_STRATEGIES)
    c.add_argument(
        "--strategy",
        default="output_tile",
        choices=(*ALL_STRATEGIES, "fastest"),
        help=f"which kernel runs (default output_tile); {bulk} fills shared memory with one bulk "
        f"tensor copy (TMA) and needs a GPU of compute capability 9.0+, tensorcore needs 8.0+ (the "
        f"emulator runs every strategy); fastest: the strategy and tile measured fastest for the "
        f"mask on this GPU's card (engine.conv_choice; --tile is then ignored)",
    )
    wide = " and ".join(WIDE_STRATEGIES)
    c.add_argument(
        "--tile",
        type=int,
        default=16,
        help=f"output tile edge (default 16); {wide}: the rows of a T x 128 tile",
    )
    c.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "cuda", "emulator"],
        help="cuda: the kernel on an NVIDIA GPU; emulator: its index arithmetic in numpy on the CPU "
        "(with load counters); auto: cuda when there is a GPU",
    )
    c.add_argument("--output", help="write the result as .npy")
    c.add_argument("--json", action="store_true", help="print the counters, check and time as JSON")
    c.add_argument("--quiet", action="store_true", help="no progress bar")


def _bench_arguments(b: argparse.ArgumentParser) -> None:
    from engine.conv_bench import add_arguments

    b.add_argument(
        "--json", action="store_true", help="print the whole record as JSON (progress goes to standard error)"
    )
    add_arguments(
        b,
        out_help="also write the record to this file (.json), or into this folder under a "
        "dated name that names the card",
    )


def _read_image(a: argparse.Namespace) -> np.ndarray:
    """The input image, through the engine's one reader (:mod:`engine.images`); sizes checked first."""
    from engine.images import random_image, read_image, read_npy

    if a.size:
        m = re.fullmatch(r"(\d+)[xX](\d+)", a.size)
        if not m:
            raise ConvUsageError(f"--size must look like 480x640, not {a.size!r}")
        return random_image(int(m.group(1)), int(m.group(2)))
    return read_npy(a.input, what="the input") if a.input else read_image(a.image)


def _output_path(given: str) -> Path:
    """Where ``--output`` writes: np.save's rule (a name without .npy gets it), checked before work."""
    from engine.atomic import WriteError, check_output_file

    if Path(given).is_dir():
        raise WriteError(given, "it is a folder")
    return check_output_file(given if given.endswith(".npy") else given + ".npy")


def _backend(name: str) -> str:
    from engine.conv_cuda import cuda_available

    if name == "auto":
        return "cuda" if cuda_available() else "emulator"
    if name == "cuda" and not cuda_available():
        raise ConvUsageError(
            "--backend cuda needs an NVIDIA GPU with PyCUDA (pip install .[cuda]); "
            "none was found: use --backend emulator"
        )
    return name


def _compute(a: argparse.Namespace, image: np.ndarray, mask: np.ndarray, backend: str) -> dict[str, Any]:
    from engine.conv_emulator import emulate_geometry
    from engine.tiling import geometry

    geom = geometry(image.shape[0], image.shape[1], mask.shape[0], a.strategy, a.tile)  # built once
    info: dict[str, Any] = {"geometry": geom, "time_ms": None, "counters": None}
    if backend == "cuda":
        from engine.conv_cuda import run_cuda_geometry

        res = run_cuda_geometry(image, mask, geom)
        info["output"] = res.output
        info["time_ms"] = {"median": res.median_ms, "runs": list(res.times_ms)}
        if image.size <= _COUNTER_PIXELS:
            info["counters"] = emulate_geometry(image, mask, geom)[2]
    else:
        info["output"], _, info["counters"] = emulate_geometry(image, mask, geom)
    return info


def run(a: argparse.Namespace) -> int:
    if a.command == "conv-bench":
        return run_bench(a)
    import numpy as np

    from engine.atomic import WriteError, open_atomic
    from engine.conv_emulator import validate_inputs
    from engine.images import parse_mask

    try:
        output = _output_path(a.output) if a.output else None
    except WriteError as e:
        raise ConvUsageError(f"--output: {e}") from None
    try:
        image, mask, notes = validate_inputs(_read_image(a), parse_mask(a.mask))
        backend = _backend(a.backend)
        if a.strategy == "fastest":
            notes.append(_choose_fastest(a, mask.shape[0], backend))
        with _ticking(a, image, f"{a.strategy} on the {'GPU' if backend == 'cuda' else 'CPU emulator'}"):
            start = time.perf_counter()
            info = _compute(a, image, mask, backend)
            wall_ms = (time.perf_counter() - start) * 1e3
        with _ticking(a, image, "checking against the numpy reference"):
            error = _max_error(info["output"], image, mask)
    except ValueError as e:
        raise ConvUsageError(str(e)) from None
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if output is not None:
        with open_atomic(output, "wb") as f:
            np.save(f, info["output"], allow_pickle=False)
    geom, counters = info["geometry"], info["counters"]
    report = {
        "strategy": a.strategy,
        "backend": backend,
        "image": list(image.shape),
        "mask": mask.shape[0],
        "tile": list(geom.tile),
        "block": list(geom.block),
        "grid": list(geom.grid),
        "shared_memory_bytes": geom.shared_bytes,
        "counters": None
        if counters is None
        else {
            "global_loads": counters.global_loads,
            "shared_loads": counters.shared_loads,
            "mask_loads": counters.mask_loads,
            "outputs": counters.outputs,
            "loads_per_output": counters.loads_per_output,
            "reuse": counters.reuse,
        },
        "time_ms": info["time_ms"],
        "wall_ms": wall_ms,
        "max_abs_error": error,
        "reference": "numpy, float64 sums, zeros outside the image (engine.conv_emulator.reference)",
        "notes": notes,
    }
    if a.json:
        print(json.dumps(report))
    else:
        print(
            f"{a.strategy} on {backend}: image {image.shape[0]}x{image.shape[1]}, mask {mask.shape[0]}, "
            f"tile {geom.tile}, block {geom.block}, grid {geom.grid}, shared {geom.shared_bytes} B"
        )
        if counters is not None:
            print(
                f"global loads {counters.global_loads} ({counters.loads_per_output:.2f} per output), "
                f"shared loads {counters.shared_loads}, reuse {counters.reuse:.2f}"
            )
        if info["time_ms"]:
            print(f"median kernel time {info['time_ms']['median']:.4f} ms")
        print(f"max |ours − reference| = {error:.3g} (numpy float64 reference); took {wall_ms:.1f} ms")
    return 0


def _choose_fastest(a: argparse.Namespace, mask_size: int, backend: str) -> str:
    """Set ``a.strategy`` and ``a.tile`` from the measured table for this GPU's card; the note to print."""
    from engine.conv_choice import choose

    card = None
    if backend == "cuda":
        from engine.conv_cuda import describe_gpu

        card = describe_gpu().split(",")[0]
    a.strategy, a.tile, why = choose(mask_size, card)
    return f"--strategy fastest: {a.strategy}, tile {a.tile}: {why}"


def _max_error(output: np.ndarray, image: np.ndarray, mask: np.ndarray) -> float:
    """max |output − reference| over the image, the reference summed in float64 by plain numpy."""
    import numpy as np

    from engine.conv_emulator import reference

    return float(np.max(np.abs(output.astype(np.float64) - reference(image, mask))))


_TICK_PIXELS = 1 << 20  # images this large take long enough on the CPU to show that work goes on


def _ticking(a: argparse.Namespace, image: np.ndarray, what: str) -> Any:
    """A line counting seconds while ``what`` runs, on a terminal, for a big image, unless --quiet."""
    import contextlib

    from app.cli_progress import start_ticker, wants_bars

    if image.size < _TICK_PIXELS or not wants_bars(a.quiet):
        return contextlib.nullcontext()
    return start_ticker(what)


def run_bench(a: argparse.Namespace) -> int:
    """``han-explorer conv-bench``: the table (or ``--json``: the record) on standard output."""
    from engine import conv_bench
    from engine.conv_cuda import NoGPUError

    settings = conv_bench.settings_from_args(a)
    try:
        card = conv_bench.check_gpu()
    except NoGPUError as e:
        raise ConvUsageError(str(e)) from None
    path = conv_bench.out_path(a.out, Path.cwd(), conv_bench.benchmark_name(card)) if a.out else None
    log_file = sys.stderr if a.json else sys.stdout

    def log(line: str) -> None:
        print(line, file=log_file, flush=True)

    record = conv_bench.run_and_save(settings, path, log=log)
    if a.json:
        print(json.dumps(record, default=str))
    else:
        print("\n" + conv_bench.format_summary(record))
    if path is not None:
        print(f"wrote {path}", file=sys.stderr)
    return 0
