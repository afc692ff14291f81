"""The CUDA convolution kernels (kernels/conv2d.cu) and their launcher (engine.conv_cuda).

Tests marked ``cuda`` need an NVIDIA GPU and PyCUDA and are skipped elsewhere: every strategy against a
float64 numpy reference on image sizes that are not multiples of the tile, the recorded shared-memory
loads against ``geometry().load_plan``, the errors, and PyTorch and PyCUDA in one process.

The other tests run anywhere: the source ships as package data, importing the launcher loads no
PyCUDA, there is no GPU here (when there is none), parameters are checked before any GPU work, every
kernel configuration compiles with nvcc (where nvcc is installed), and the kernels' index arithmetic
runs on the CPU (where g++ >= 11 is installed): the .cu file compiled as C++ with one thread per CUDA
thread and a barrier for ``__syncthreads``, so the exact kernel source is checked without a GPU.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import shutil
import subprocess
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine.conv_cuda import (
    RECORD_FIELDS,
    KernelError,
    NoGPUError,
    cuda_available,
    describe_gpu,
    kernel_options,
    kernel_source,
    precompile,
    run_cuda,
)
from engine.conv_emulator import emulate
from engine.tiling import ALL_STRATEGIES, SHARED_STRATEGIES, geometry

ROOT = Path(__file__).resolve().parents[2]
HAVE_GPU = cuda_available()
if os.environ.get("HAN_REQUIRE_GPU") == "1" and not HAVE_GPU:  # set by scripts/gpu_conv.sh
    try:
        describe_gpu()
        _why = "cuda_available() is False"
    except NoGPUError as e:
        _why = str(e)
    raise RuntimeError(f"HAN_REQUIRE_GPU=1, but the CUDA tests cannot use a GPU and would all skip: {_why}")
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU here (PyCUDA, driver or GPU missing)")
no_gpu_only = pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour on a machine without a GPU")

SIZES = [(1, 1), (37, 53), (1000, 777), (2048, 2048)]
MASKS = [1, 3, 5, 7, 15]
# (strategy, tile)
CONFIGS = [(s, 16) for s in ALL_STRATEGIES] + [("register", 32), ("register2d", 32), ("tma", 32)]
TOLERANCE = 1e-5  # relative L2 error


def reference(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` float64 cross-correlation with zero padding, from numpy padding and slicing."""
    k = mask.shape[0]
    r = (k - 1) // 2
    h, w = image.shape
    padded = np.pad(image.astype(np.float64), r)  # (H + 2r, W + 2r)
    out = np.zeros((h, w), dtype=np.float64)
    for dy in range(k):
        for dx in range(k):
            out += float(mask[dy, dx]) * padded[dy : dy + h, dx : dx + w]
    return out


@functools.lru_cache(maxsize=6)
def case(height: int, width: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image (H, W) float32, mask (K, K) float32, reference (H, W) float64), the same every time."""
    rng = np.random.default_rng([height, width, k])
    image = rng.standard_normal((height, width)).astype(np.float32)
    mask = rng.standard_normal((k, k)).astype(np.float32)
    return image, mask, reference(image, mask)


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out.astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-30))


def corner_and_interior_blocks(
    height: int, width: int, k: int, strategy: str, tile: int
) -> list[tuple[int, int]]:
    g = geometry(height, width, k, strategy, tile)
    return list(dict.fromkeys([(0, 0), (g.grid[0] - 1, g.grid[1] - 1), (g.grid[0] // 2, g.grid[1] // 2)]))


def assert_loads_match_plan(
    records: dict[str, np.ndarray],
    strategy: str,
    height: int,
    width: int,
    k: int,
    tile: int,
    block: tuple[int, int],
) -> None:
    plan = geometry(height, width, k, strategy, tile).load_plan(*block)
    for name in RECORD_FIELDS[:-1]:
        np.testing.assert_array_equal(
            records[name],
            getattr(plan, name),
            err_msg=f"{strategy} tile {tile} K={k} block {block}: field {name}",
        )
    writes = records["writes"]
    assert (writes == 1).all(), f"{strategy} block {block}: slots stored {sorted(set(writes.tolist()))} times"


# --------------------------------------------------------------------------------------------------
# Anywhere (CI has no GPU)
# --------------------------------------------------------------------------------------------------


def test_kernel_source_is_package_data() -> None:
    resource = importlib.resources.files("kernels").joinpath("conv2d.cu")
    assert resource.is_file()
    source = kernel_source()
    assert source == resource.read_text(encoding="utf-8")
    for strategy in ALL_STRATEGIES:
        assert f"conv_{strategy}(" in source, strategy
    assert "__constant__ float c_mask[MASK * MASK]" in source


def test_kernel_options_carry_the_geometry() -> None:
    g = geometry(100, 90, 5, "register", 32)
    opts = kernel_options(g)
    assert opts[0] == "-DCONV_REGISTER"
    for define in (
        "-DMASK=5",
        "-DRADIUS=2",
        "-DTILE_H=32",
        "-DTILE_W=32",
        "-DBLOCK_Y=8",
        "-DBLOCK_X=32",
        "-DSH_H=36",
        "-DSH_W=36",
        "-DREG_ROWS=4",
    ):
        assert define in opts, define
    assert "-DRECORD" not in opts
    assert kernel_options(g, record=True)[-1] == "-DRECORD"
    assert "-DSH_H=0" in kernel_options(geometry(10, 10, 3, "naive", 16))
    wide = kernel_options(geometry(100, 90, 5, "register2d", 32))
    for define in (
        "-DCONV_REGISTER2D",
        "-DTILE_H=32",
        "-DTILE_W=128",
        "-DBLOCK_Y=8",
        "-DBLOCK_X=32",
        "-DSH_H=36",
        "-DSH_W=136",
        "-DREG_ROWS=4",
        "-DREG_COLS=4",
        "-DHALO_X=4",
    ):
        assert define in wide, define
    bulk = kernel_options(geometry(100, 90, 5, "tma", 32))  # halo columns: r rounded up to 8
    assert bulk == [
        "-DCONV_TMA",
        *(d.replace("SH_W=136", "SH_W=144").replace("HALO_X=4", "HALO_X=8") for d in wide[1:]),
    ]


def test_importing_the_launcher_loads_no_pycuda() -> None:
    code = (
        "import sys, engine.conv_cuda as c\n"
        "from engine.tiling import geometry\n"
        "c.kernel_options(geometry(9, 9, 3)); c.kernel_source()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pycuda', 'torch', 'cupy')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@no_gpu_only
def test_cuda_available_is_false_without_a_gpu() -> None:
    assert cuda_available() is False


@no_gpu_only
def test_run_cuda_raises_no_gpu_error_without_a_gpu() -> None:
    image, mask, _ = case(37, 53, 3)
    with pytest.raises(NoGPUError, match=r"PyCUDA|driver|GPU"):
        run_cuda(image, mask, "output_tile")


def _huge(height: int, width: int) -> np.ndarray:
    """A (height, width) float32 view of one element: any size, no memory."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(height, width), strides=(0, 0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "winograd"}, "unknown strategy"),
        ({"mask": np.ones((4, 4))}, "odd"),
        ({"mask": np.ones((3, 5))}, "square"),
        ({"mask": np.ones((65, 65))}, "over the limit"),
        ({"image": np.ones((2, 3, 4))}, "2-D"),
        ({"image": np.ones((0, 5))}, "empty"),
        ({"image": np.array([["a", "b"]])}, "real numbers"),
        ({"tile": 64}, "threads per block"),
        ({"strategy": "register", "tile": 30}, "multiple of"),
        ({"strategy": "input_tile", "tile": 32}, "threads per block"),
        ({"repeats": 0}, "repeats"),
        ({"rotate": 0}, "rotate"),
        ({"strategy": "naive", "record_blocks": [(0, 0)]}, "nothing to record"),
        ({"record_blocks": [(0, 9)]}, "outside the grid"),
        ({"image": _huge(65536 * 16 + 1, 8)}, "block rows"),
    ],
)
def test_bad_parameters_raise_before_any_gpu_work(kwargs: dict, match: str) -> None:
    args = {
        "image": np.ones((37, 53), np.float32),
        "mask": np.ones((3, 3), np.float32),
        "strategy": "output_tile",
    } | kwargs
    with pytest.raises(ValueError, match=match):
        run_cuda(**args)


def test_tma_is_refused_on_a_gpu_older_than_hopper(monkeypatch: pytest.MonkeyPatch) -> None:
    """tma needs the Tensor Memory Accelerator (sm_90+): on an A100 (sm_80) the message names the GPU and
    register2d; nothing is compiled or launched (the stand-in session has no context or modules)."""
    import engine.conv_cuda as conv_cuda

    class Device:
        def compute_capability(self) -> tuple[int, int]:
            return (8, 0)

        def name(self) -> str:
            return "NVIDIA A100-SXM4-80GB"

    session = types.SimpleNamespace(device=Device(), arch="sm_80")
    monkeypatch.setattr(conv_cuda, "_driver", lambda: object())
    monkeypatch.setattr(conv_cuda, "_session", lambda drv: session)
    image, mask, _ = case(37, 53, 3)
    with pytest.raises(
        ValueError,
        match=r"'tma' needs the Tensor Memory Accelerator \(compute capability "
        r"9\.0 or newer\); GPU 0 is NVIDIA A100-SXM4-80GB, sm_80; "
        r"use 'register2d'",
    ):
        run_cuda(image, mask, "tma", tile=16)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_every_strategy_compiles_for_sm90(tmp_path: Path) -> None:
    """nvcc -ptx of each strategy (and its instrumented build) at two mask sizes: the kernels parse."""
    src = tmp_path / "conv2d.cu"
    src.write_text(kernel_source(), encoding="utf-8")
    jobs = [
        kernel_options(geometry(64, 64, k, s, 32 if s.startswith("register") else 16), record)
        for s in ALL_STRATEGIES
        for k in (3, 15)
        for record in ((False, True) if s in SHARED_STRATEGIES else (False,))
    ]

    def compile_one(n_opts: tuple[int, list[str]]) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        n, opts = n_opts
        cmd = ["nvcc", "-ptx", "-arch=sm_90", *opts, "-o", str(tmp_path / f"{n}.ptx"), str(src)]
        return opts, subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)

    with ThreadPoolExecutor(4) as pool:
        for opts, proc in pool.map(compile_one, enumerate(jobs)):
            assert proc.returncode == 0, f"{' '.join(opts)}:\n{proc.stderr}"
            assert not proc.stderr.strip(), f"{' '.join(opts)} warned:\n{proc.stderr}"


# --------------------------------------------------------------------------------------------------
# The kernels on the CPU: conv2d.cu compiled as C++, one std::thread per CUDA thread
# --------------------------------------------------------------------------------------------------

SHIM = r"""
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>
struct dim3 { unsigned x = 1, y = 1, z = 1; };
thread_local dim3 threadIdx, blockIdx;
static std::barrier<>* g_bar;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__
#define __constant__
#define __launch_bounds__(n)
inline void __syncthreads() { g_bar->arrive_and_wait(); }
template <class T> T __ldg(const T* p) { return *p; }
struct float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
extern "C" { float tile[(SH_H * SH_W) > 0 ? (SH_H * SH_W) : 1]; }
#include KERNEL_FILE
#if defined(RECORD)
#define REC_ARGS , rec.data(), blocks.data(), n_rec
#else
#define REC_ARGS
#endif

// argv: H W in.f32 mask.f32 out.f32 rec.i32 n_rec [by bx]...
int main(int argc, char** argv) {
    const int H = atoi(argv[1]), W = atoi(argv[2]), n_rec = atoi(argv[7]);
    std::vector<float> in((size_t)H * W), mask(MASK * MASK), out((size_t)H * W, NAN);
    FILE* f = fopen(argv[3], "rb"); if (fread(in.data(), 4, in.size(), f) != in.size()) return 3; fclose(f);
    f = fopen(argv[4], "rb"); if (fread(mask.data(), 4, mask.size(), f) != mask.size()) return 3; fclose(f);
    std::vector<int> blocks;
    for (int i = 0; i < 2 * n_rec; ++i) blocks.push_back(atoi(argv[8 + i]));
    const int slots = SH_H * SH_W > 0 ? SH_H * SH_W : 1;
    std::vector<int> rec((size_t)(n_rec > 0 ? n_rec : 1) * slots * REC_FIELDS, -1);
    for (size_t i = REC_FIELDS - 1; i < rec.size(); i += REC_FIELDS) rec[i] = 0;
#if !defined(CONV_NAIVE)
    memcpy(c_mask, mask.data(), sizeof(float) * MASK * MASK);
#endif
    const int grid_y = (H + TILE_H - 1) / TILE_H, grid_x = (W + TILE_W - 1) / TILE_W;
    for (int by = 0; by < grid_y; ++by) for (int bx = 0; bx < grid_x; ++bx) {
        for (int s = 0; s < slots; ++s) tile[s] = NAN;                 // stale shared memory
        std::barrier<> bar(BLOCK_Y * BLOCK_X);
        g_bar = &bar;
        std::vector<std::thread> threads;
        for (int ty = 0; ty < BLOCK_Y; ++ty) for (int tx = 0; tx < BLOCK_X; ++tx) {
          threads.emplace_back([&, ty, tx] {
            threadIdx.x = tx; threadIdx.y = ty; blockIdx.x = bx; blockIdx.y = by;
#if defined(CONV_NAIVE)
            conv_naive(in.data(), mask.data(), out.data(), H, W);
#elif defined(CONV_CONSTANT)
            conv_constant(in.data(), out.data(), H, W);
#elif defined(CONV_INPUT_TILE)
            conv_input_tile(in.data(), out.data(), H, W REC_ARGS);
#elif defined(CONV_OUTPUT_TILE)
            conv_output_tile(in.data(), out.data(), H, W REC_ARGS);
#elif defined(CONV_CACHED_HALO)
            conv_cached_halo(in.data(), out.data(), H, W REC_ARGS);
#elif defined(CONV_REGISTER)
            conv_register(in.data(), out.data(), H, W REC_ARGS);
#elif defined(CONV_REGISTER2D)
            conv_register2d(in.data(), out.data(), H, W REC_ARGS);
#endif
            bar.arrive_and_drop();                                      // an exited thread leaves the barrier
          });
        }
        for (auto& t : threads) t.join();
    }
    f = fopen(argv[5], "wb"); fwrite(out.data(), 4, out.size(), f); fclose(f);
    f = fopen(argv[6], "wb"); fwrite(rec.data(), 4, rec.size(), f); fclose(f);
    return 0;
}
"""

CPU_CASES = [  # (strategy, tile, K, H, W): several blocks, partial edge tiles, masks wider than the image
    ("naive", 16, 5, 37, 53),
    ("constant", 16, 5, 37, 53),
    ("input_tile", 8, 5, 37, 53),
    ("output_tile", 16, 5, 37, 53),
    ("cached_halo", 8, 5, 37, 53),
    ("register", 8, 5, 37, 53),
    ("output_tile", 8, 1, 20, 33),
    ("register", 16, 15, 37, 53),
    ("input_tile", 16, 15, 5, 3),
    ("cached_halo", 16, 15, 37, 53),
    ("register", 32, 7, 3, 2),
    # register2d: width 53 loads one float at a time, widths 52 and 132 in float4 groups
    ("register2d", 8, 5, 37, 53),
    ("register2d", 8, 3, 37, 52),
    ("register2d", 4, 15, 9, 132),
]


@functools.lru_cache(maxsize=1)
def _cxx() -> str | None:
    """A g++ that builds C++20 <barrier> programs, or None."""
    cxx = shutil.which("g++")
    if cxx is None:
        return None
    probe = "#include <barrier>\nint main() { std::barrier<> b(1); b.arrive_and_wait(); }\n"
    proc = subprocess.run(
        [cxx, "-std=c++20", "-pthread", "-x", "c++", "-", "-o", "/dev/null"],
        input=probe,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return cxx if proc.returncode == 0 else None


def _run_on_cpu(
    tmp: Path, strategy: str, tile: int, k: int, h: int, w: int, blocks: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    cxx = _cxx()
    assert cxx is not None
    g = geometry(h, w, k, strategy, tile)
    record = strategy in SHARED_STRATEGIES
    with importlib.resources.as_file(importlib.resources.files("kernels").joinpath("conv2d.cu")) as cu:
        (tmp / "harness.cpp").write_text(SHIM, encoding="utf-8")
        cmd = [
            cxx,
            "-std=c++20",
            "-O1",
            "-pthread",
            "-Wno-unknown-pragmas",
            f'-DKERNEL_FILE="{cu}"',
            *kernel_options(g, record),
            str(tmp / "harness.cpp"),
            "-o",
            str(tmp / "harness"),
        ]
        built = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, f"{' '.join(cmd)}\n{built.stderr}"
    image, mask, _ = case(h, w, k)
    image.tofile(tmp / "in.f32")
    mask.tofile(tmp / "mask.f32")
    args = [
        str(tmp / "harness"),
        str(h),
        str(w),
        *(str(tmp / n) for n in ("in.f32", "mask.f32", "out.f32", "rec.i32")),
        str(len(blocks)),
    ]
    args += [str(v) for block in blocks for v in block]
    ran = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    out = np.fromfile(tmp / "out.f32", np.float32).reshape(h, w)
    rec = np.fromfile(tmp / "rec.i32", np.int32).reshape(max(len(blocks), 1), -1, len(RECORD_FIELDS))
    return out, rec


@pytest.mark.slow
@pytest.mark.skipif(_cxx() is None, reason="needs g++ with C++20 <barrier>")
def test_kernels_run_correctly_on_the_cpu(tmp_path: Path) -> None:
    def one(n_case: tuple[int, tuple[str, int, int, int, int]]) -> None:
        n, (strategy, tile, k, h, w) = n_case
        tmp = tmp_path / str(n)
        tmp.mkdir()
        blocks = corner_and_interior_blocks(h, w, k, strategy, tile) if strategy in SHARED_STRATEGIES else []
        out, rec = _run_on_cpu(tmp, strategy, tile, k, h, w, blocks)
        what = f"{strategy} tile {tile} K={k} {h}x{w}"
        assert np.isfinite(out).all(), f"{what}: {np.count_nonzero(~np.isfinite(out))} outputs not written"
        assert relative_error(out, case(h, w, k)[2]) < TOLERANCE, what
        for b, block in enumerate(blocks):
            fields = {name: rec[b, :, f] for f, name in enumerate(RECORD_FIELDS)}
            fields["ghost"] = fields["ghost"] == 1
            assert_loads_match_plan(fields, strategy, h, w, k, tile, block)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, enumerate(CPU_CASES)))


# --------------------------------------------------------------------------------------------------
# On the GPU
# --------------------------------------------------------------------------------------------------

GPU_CASES = [(size, k, strategy, tile) for size in SIZES for k in MASKS for strategy, tile in CONFIGS]
RECORD_CASES = [(s, 16, k) for s in SHARED_STRATEGIES for k in (1, 5, 15)] + [
    ("register", 32, 5),
    ("register2d", 32, 5),
    ("tma", 32, 5),
]
# register2d where every row is 16-byte aligned (width % 4 == 0): the float4 / cp.async path, edge tiles;
# tma the same sizes (tile 64 does not fit its staging tile: 32) and a width that needs padded rows
WIDE_CASES = [
    ("register2d", (61, 132), 3, 16),
    ("register2d", (1000, 1004), 7, 32),
    ("register2d", (1000, 1004), 15, 64),
    ("register2d", (2048, 2048), 5, 64),
    ("tma", (61, 132), 3, 16),
    ("tma", (1000, 1004), 7, 32),
    ("tma", (1000, 1004), 15, 32),
    ("tma", (2048, 2048), 5, 32),
    ("tma", (1000, 1001), 9, 32),
]


@pytest.fixture(scope="module")
def kernel_cache() -> dict:
    """Every configuration the GPU tests use, compiled in parallel once (nvcc runs dominate otherwise)."""
    configs = [(geometry(64, 64, k, s, t), False) for k in MASKS for s, t in CONFIGS]
    configs += [(geometry(64, 64, k, s, t), True) for s, t, k in RECORD_CASES]
    configs += [(geometry(64, 64, k, s, t), record) for s, _, k, t in WIDE_CASES for record in (False, True)]
    try:
        return precompile(configs, workers=16)
    except Exception as e:  # never fatal: each test compiles what it needs and reports its own errors
        return {"error": repr(e)}


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize(
    ("size", "k", "strategy", "tile"),
    GPU_CASES,
    ids=[f"{s}-t{t}-K{k}-{h}x{w}" for (h, w), k, s, t in GPU_CASES],
)
def test_kernel_matches_reference(
    kernel_cache: dict, size: tuple[int, int], k: int, strategy: str, tile: int
) -> None:
    image, mask, ref = case(*size, k)
    result = run_cuda(image, mask, strategy, tile=tile, repeats=2, warmup=1)
    assert result.output.shape == size and result.output.dtype == np.float32
    unwritten = int(np.count_nonzero(np.isnan(result.output)))
    assert unwritten == 0, f"{unwritten} outputs were never written (still NaN)"
    assert relative_error(result.output, ref) < TOLERANCE
    assert len(result.times_ms) == 2 and result.median_ms > 0
    assert result.geometry == geometry(*size, k, strategy, tile)
    assert result.kernel == f"conv_{strategy}" and result.registers > 0


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize(("strategy", "tile", "k"), RECORD_CASES)
def test_recorded_loads_match_the_load_plan(kernel_cache: dict, strategy: str, tile: int, k: int) -> None:
    image, mask, ref = case(1000, 777, k)
    blocks = corner_and_interior_blocks(1000, 777, k, strategy, tile)
    result = run_cuda(image, mask, strategy, tile=tile, repeats=1, warmup=1, record_blocks=blocks)
    assert set(result.load_records) == set(blocks)
    for block in blocks:
        assert_loads_match_plan(result.load_records[block], strategy, 1000, 777, k, tile, block)
    assert relative_error(result.output, ref) < TOLERANCE


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize(
    ("strategy", "size", "k", "tile"),
    WIDE_CASES,
    ids=[f"{s}-t{t}-K{k}-{h}x{w}" for s, (h, w), k, t in WIDE_CASES],
)
def test_wide_kernels_on_aligned_rows(
    kernel_cache: dict, strategy: str, size: tuple[int, int], k: int, tile: int
) -> None:
    image, mask, ref = case(*size, k)
    blocks = corner_and_interior_blocks(*size, k, strategy, tile)
    result = run_cuda(image, mask, strategy, tile=tile, repeats=2, warmup=1, record_blocks=blocks)
    assert int(np.count_nonzero(np.isnan(result.output))) == 0
    assert relative_error(result.output, ref) < TOLERANCE
    assert result.local_bytes == 0, f"{result.local_bytes} bytes of local memory: registers spill"
    for block in blocks:
        assert_loads_match_plan(result.load_records[block], strategy, *size, k, tile, block)


# Strategies whose every global read fills a shared slot. cached_halo also reads its halo taps straight
# from global memory, which emulate()'s map counts and the instrumented build does not record.
TILE_LOADS_ONLY = [s for s in SHARED_STRATEGIES if s != "cached_halo"]


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("strategy", TILE_LOADS_ONLY)
def test_recorded_load_map_equals_the_emulators(kernel_cache: dict, strategy: str) -> None:
    """The global reads the instrumented kernel made, counted per input element, against emulate()'s map."""
    h, w, k, tile = 61, 300, 5, 16
    image, mask, _ = case(h, w, k)
    blocks = corner_and_interior_blocks(h, w, k, strategy, tile)
    result = run_cuda(image, mask, strategy, tile=tile, repeats=1, warmup=1, record_blocks=blocks)
    counts = np.zeros((h, w), dtype=np.int32)
    for block in blocks:
        rec = result.load_records[block]
        real = (rec["writes"] > 0) & ~rec["ghost"]
        np.add.at(counts, (rec["in_y"][real], rec["in_x"][real]), 1)
    _, load_map, _ = emulate(image, mask, strategy, tile, record_blocks=blocks)
    np.testing.assert_array_equal(counts, load_map.count)


@pytest.mark.cuda
@needs_gpu
def test_image_larger_than_gpu_memory_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="GPU memory"):
        run_cuda(_huge(200_000, 200_000), np.ones((3, 3), np.float32), "output_tile")


@pytest.mark.cuda
@needs_gpu
def test_compile_error_carries_nvccs_log(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.conv_cuda as conv_cuda

    broken = kernel_source() + "\n#error planted by the test\n"
    monkeypatch.setattr(conv_cuda, "kernel_source", lambda: broken)
    with pytest.raises(KernelError, match="planted by the test"):
        run_cuda(np.ones((8, 8), np.float32), np.ones((3, 3), np.float32), "output_tile")


@pytest.mark.cuda
@needs_gpu
def test_runs_from_a_worker_thread() -> None:
    image, mask, ref = case(37, 53, 5)
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(run_cuda(image, mask, "register", repeats=1)))
    worker.start()
    worker.join(timeout=300)
    assert len(results) == 1
    assert relative_error(results[0].output, ref) < TOLERANCE  # type: ignore[attr-defined]


@pytest.mark.cuda
@needs_gpu
def test_torch_and_pycuda_in_one_process() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no GPU")
    import torch.nn.functional as F

    before = torch.arange(1 << 20, device="cuda", dtype=torch.float32)  # torch's context and memory first
    total = float(before.sum().item())
    image, mask, ref = case(1000, 777, 7)
    result = run_cuda(image, mask, "register", tile=32, repeats=3)
    x = torch.from_numpy(image).cuda()[None, None]  # (1, 1, H, W)
    m = torch.from_numpy(mask).cuda()[None, None]  # (1, 1, K, K)
    theirs = F.conv2d(x, m, padding=3)[0, 0].cpu().numpy()  # (H, W)
    assert float(before.sum().item()) == total  # torch's tensor survived
    assert relative_error(result.output, ref) < TOLERANCE
    assert relative_error(theirs, ref) < 1e-2  # loose: cuDNN may use TF32 (torch's default)
    again = run_cuda(image, mask, "output_tile", repeats=1)  # and PyCUDA after torch's cuDNN
    assert relative_error(again.output, ref) < TOLERANCE
    torch.cuda.synchronize()
