"""The ``tensorcore`` convolution (kernels/conv2d.cu, mma.sync: TF32 m16n8k8 + BF16 m16n8k16 split).

On the GPU (marked ``cuda``): every odd mask 1..31 on image sizes that are not multiples of the 16 x 64
(32 x 64, 64 x 64) tile, against a float64 reference, within the tolerance every other strategy meets
(relative L2 error < 1e-5); the recorded shared-memory loads against ``geometry().load_plan``; even and
odd widths (float2 and scalar stores). The CPU half (the MMA fragment arithmetic of the emulator against
scipy) is in tests/engine/test_conv_tensorcore_emulator.py.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

from engine.conv_cuda import NoGPUError, cuda_available, describe_gpu, precompile, run_cuda
from engine.tiling import geometry

HAVE_GPU = cuda_available()
if os.environ.get("HAN_REQUIRE_GPU") == "1" and not HAVE_GPU:
    try:
        describe_gpu()
        _why = "cuda_available() is False"
    except NoGPUError as e:
        _why = str(e)
    raise RuntimeError(f"HAN_REQUIRE_GPU=1, but the tensorcore tests cannot use a GPU: {_why}")
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU here (PyCUDA, driver or GPU missing)")

TOLERANCE = 1e-5  # relative L2 error against float64: the same bound as every other strategy
MASKS = list(range(1, 32, 2))
# (height, width): none a multiple of the tile; odd widths take the scalar stores, even ones float2
SIZES = [(37, 53), (301, 450), (1000, 777)]
CASES = [(size, k, tile) for size in SIZES for k in MASKS for tile in (16, 64)] + [
    ((130, 190), k, 32) for k in (3, 15, 31)
]


def reference(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k = mask.shape[0]
    r = (k - 1) // 2
    h, w = image.shape
    padded = np.pad(image.astype(np.float64), r)  # (H + 2r, W + 2r)
    out = np.zeros((h, w))
    for dy in range(k):
        for dx in range(k):
            out += float(mask[dy, dx]) * padded[dy : dy + h, dx : dx + w]
    return out


@functools.lru_cache(maxsize=4)
def case(height: int, width: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([height, width, k, 20])
    image = rng.standard_normal((height, width)).astype(np.float32)
    mask = rng.standard_normal((k, k)).astype(np.float32)
    return image, mask, reference(image, mask)


def relative_error(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(out.astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-30))


@pytest.fixture(scope="module")
def compiled() -> dict:
    """Every build the tests use, compiled in parallel once into PyCUDA's cache."""
    configs = [(geometry(64, 64, k, "tensorcore", t), False) for _, k, t in CASES]
    configs += [(geometry(64, 64, k, "tensorcore", 16), True) for k in (1, 5, 15, 31)]
    try:
        return precompile(configs, workers=16)
    except Exception as e:  # never fatal: each test compiles what it needs
        return {"error": repr(e)}


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize(("size", "k", "tile"), CASES, ids=[f"t{t}-K{k}-{h}x{w}" for (h, w), k, t in CASES])
def test_tensorcore_matches_float64(compiled: dict, size: tuple[int, int], k: int, tile: int) -> None:
    image, mask, ref = case(*size, k)
    result = run_cuda(image, mask, "tensorcore", tile=tile, repeats=1, warmup=1)
    assert int(np.count_nonzero(np.isnan(result.output))) == 0, "outputs never written (still NaN)"
    err = relative_error(result.output, ref)
    assert err < TOLERANCE, f"relative L2 error {err:.2e}"
    assert result.local_bytes == 0, f"{result.local_bytes} bytes of local memory: registers spill"


@pytest.mark.cuda
@needs_gpu
def test_tensorcore_is_near_fp32_far_from_one_tf32_pass(compiled: dict) -> None:
    """The TF32 + BF16 split lands near fp32 (error ~7e-7; fp32 FMA 1e-7 .. 3e-7), far below a single TF32
    pass (~3e-4): the BF16 corrections work."""
    image, mask, ref = case(1000, 777, 15)
    err = relative_error(run_cuda(image, mask, "tensorcore", tile=64, repeats=1, warmup=1).output, ref)
    assert err < 2e-6, f"relative L2 error {err:.2e}"


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("k", [1, 5, 15, 31])
def test_tensorcore_loads_match_the_load_plan(compiled: dict, k: int) -> None:
    image, mask, ref = case(301, 450, k)
    g = geometry(301, 450, k, "tensorcore", 16)
    blocks = list(dict.fromkeys([(0, 0), (g.grid[0] - 1, g.grid[1] - 1), (g.grid[0] // 2, g.grid[1] // 2)]))
    result = run_cuda(image, mask, "tensorcore", tile=16, repeats=1, warmup=1, record_blocks=blocks)
    for block in blocks:
        plan = g.load_plan(*block)
        rec = result.load_records[block]
        for name in ("thread_y", "thread_x", "phase", "smem_y", "smem_x", "in_y", "in_x", "ghost"):
            np.testing.assert_array_equal(rec[name], getattr(plan, name), err_msg=f"K={k} {block} {name}")
        assert (rec["writes"] == 1).all()
    assert relative_error(result.output, ref) < TOLERANCE
