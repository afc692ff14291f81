"""What the tensor cores reach on this GPU without any memory traffic: the tensorcore strategy's ceilings.

    python3 bench/conv_micro/mma_peak.py OUT.json      # on the GPU machine (cupy, NVRTC; sm_90 for wgmma)

Each loop keeps its operands in registers (wgmma: B in shared memory, written once) and loads or stores
nothing inside the loop; the grid fills every SM several times, and the best of 2, 4 and 8 blocks per SM
is the figure. Loops timed, all in one process on one card:

* ``mma_tf32``: ``CHAINS`` independent ``mma.sync m16n8k8`` TF32 per warp and round (2 * 16 * 8 * 8 FLOP
  each);
* ``mma_bf16``: the same with ``mma.sync m16n8k16`` BF16 (2 * 16 * 8 * 16 FLOP each);
* ``mma_mixed``: the tensorcore kernel's pattern, a BF16 k16 then a TF32 k8 into each chain (TFLOP/s
  counted as TF32-equivalent: 2 * 2 * 16 * 8 * 8 FLOP per pair, what the convolution's roofline uses);
* ``wgmma_tf32_nN``: ``wgmma.mma_async m64nNk8`` TF32 with A in registers (RS) for N = 8, 16, 32, 64,
  ``128 / N`` chains (a warpgroup of 4 warps issues each; 2 * 64 * N * 8 FLOP);
* ``wgmma_bf16_n8``: ``wgmma m64n8k16`` BF16, RS;
* ``ffma_loop``: fp32 FMA throughput.

The tensorcore convolution costs 2 MMA slots per product (a TF32 m16n8k8 and a BF16 m16n8k16) and
wastes ``1 - K / (8 steps)`` of each on the band's zeros (engine.conv_mma.mma_counts), so its best case
is the ``mma_mixed`` figure x band efficiency; a wgmma version's is the ``wgmma_*_n8`` figures'.
"""

from __future__ import annotations

import json
import sys
import time

MMA_SOURCE = r"""
extern "C" __global__ void mma_tf32(float* out, int iters)
{
    float d[CHAINS][4];
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) d[c][j] = 0.0f;
    unsigned a0 = __float_as_uint(1.0f + threadIdx.x), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3;
    unsigned b0 = a0 ^ 5, b1 = a0 ^ 9;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) {
            asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                : "+f"(d[c][0]), "+f"(d[c][1]), "+f"(d[c][2]), "+f"(d[c][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
        }
    }
    float s = 0.0f;
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) s += d[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void mma_bf16(float* out, int iters)
{
    float d[CHAINS][4];
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) d[c][j] = 0.0f;
    unsigned a0 = 0x3f803f80u + threadIdx.x, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3;
    unsigned b0 = a0 ^ 5, b1 = a0 ^ 9;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) {
            asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                : "+f"(d[c][0]), "+f"(d[c][1]), "+f"(d[c][2]), "+f"(d[c][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
        }
    }
    float s = 0.0f;
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) s += d[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void mma_mixed(float* out, int iters)
{
    float d[CHAINS][4];
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) d[c][j] = 0.0f;
    unsigned a0 = __float_as_uint(1.0f + threadIdx.x), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3;
    unsigned b0 = a0 ^ 5, b1 = a0 ^ 9;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c) {
            asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                : "+f"(d[c][0]), "+f"(d[c][1]), "+f"(d[c][2]), "+f"(d[c][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
            asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                : "+f"(d[c][0]), "+f"(d[c][1]), "+f"(d[c][2]), "+f"(d[c][3])
                : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
        }
    }
    float s = 0.0f;
    for (int c = 0; c < CHAINS; ++c) for (int j = 0; j < 4; ++j) s += d[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

extern "C" __global__ void ffma_loop(float* out, int iters)
{
    float d[CHAINS * 4];
    for (int c = 0; c < CHAINS * 4; ++c) d[c] = threadIdx.x + c;
    const float a = 1.0001f, b = 0.999f;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS * 4; ++c) d[c] = fmaf(d[c], a, b);
    }
    float s = 0.0f;
    for (int c = 0; c < CHAINS * 4; ++c) s += d[c];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
"""

# wgmma, A in registers (RS), B an N x K block of shared memory (no swizzle, K-major: 8-row x 16-byte
# core matrices, LBO 128 B between the two core matrices along K, SBO 256 B between 8-row groups along N).
WGMMA_TEMPLATE = r"""
extern "C" __global__ void __launch_bounds__(128) NAME(float* out, int iters)
{
    __shared__ __align__(1024) unsigned bsm[4096];
    for (int i = threadIdx.x; i < 4096; i += 128) bsm[i] = 0x3f800000u | ((i * 2654435761u) & 0x007fe000u);
    __syncthreads();
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    const unsigned addr = (unsigned)__cvta_generic_to_shared(bsm);
    const unsigned long long desc = (unsigned long long)((addr & 0x3FFFF) >> 4)
                                    | ((unsigned long long)(128 >> 4) << 16)
                                    | ((unsigned long long)(256 >> 4) << 32);
    float d[CH][NR];
#pragma unroll
    for (int c = 0; c < CH; ++c)
#pragma unroll
        for (int j = 0; j < NR; ++j) d[c][j] = 0.0f;
    const unsigned a0 = AINIT + threadIdx.x, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3;
    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int c = 0; c < CH; ++c) {
            asm volatile("INSTR {DREGS}, {%AR0, %AR1, %AR2, %AR3}, %DESC, 1, 1, 1TAIL;"
                         : OUTS
                         : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc));
        }
        asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
        asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory");
    }
    asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < CH; ++c)
#pragma unroll
        for (int j = 0; j < NR; ++j) s += d[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
"""

# (name, dtype, N): k is 8 for tf32 and 16 for bf16
WGMMA_SHAPES = [
    ("wgmma_tf32_n8", "tf32", 8),
    ("wgmma_tf32_n16", "tf32", 16),
    ("wgmma_tf32_n32", "tf32", 32),
    ("wgmma_tf32_n64", "tf32", 64),
    ("wgmma_bf16_n8", "bf16", 8),
]


def wgmma_source(name: str, dtype: str, n: int) -> tuple[str, int, int]:
    """The loop kernel for one shape; returns (source, chains, FLOP per wgmma)."""
    nr = n // 2  # accumulator registers per thread: 64 x N / 128
    chains = max(1, 64 // nr)
    k = 8 if dtype == "tf32" else 16
    instr = f"wgmma.mma_async.sync.aligned.m64n{n}k{k}.f32.{dtype}.{dtype}"
    dregs = ", ".join(f"%{j}" for j in range(nr))
    outs = ", ".join(f'"+f"(d[c][{j}])' for j in range(nr))
    src = WGMMA_TEMPLATE
    for key, val in (
        ("NAME", name),
        ("INSTR", instr),
        ("{DREGS}", "{" + dregs + "}"),
        ("%AR0", f"%{nr}"),
        ("%AR1", f"%{nr + 1}"),
        ("%AR2", f"%{nr + 2}"),
        ("%AR3", f"%{nr + 3}"),
        ("%DESC", f"%{nr + 4}"),
        ("TAIL", ", 0" if dtype == "bf16" else ""),  # bf16 RS takes imm-trans-b
        ("OUTS", outs),
        ("AINIT", "0x3f800000u" if dtype == "tf32" else "0x3f803f80u"),
        ("CH", str(chains)),
        ("NR", str(nr)),
    ):
        src = src.replace(key, val)
    return src, chains, 2 * 64 * n * k


CHAINS = 8
ITERS = 4096
THREADS = 256


def _time(cp: object, fn: object, grid: int, threads: int, args: tuple) -> float:
    fn((grid,), (threads,), args)  # type: ignore[operator]
    cp.cuda.runtime.deviceSynchronize()  # type: ignore[attr-defined]
    start, end = cp.cuda.Event(), cp.cuda.Event()  # type: ignore[attr-defined]
    start.record()
    for _ in range(5):
        fn((grid,), (threads,), args)  # type: ignore[operator]
    end.record()
    end.synchronize()
    return float(cp.cuda.get_elapsed_time(start, end)) / 5  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    import cupy as cp
    import numpy as np

    dev = cp.cuda.Device(0)
    sms = dev.attributes["MultiProcessorCount"]
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    out = cp.empty(sms * 8 * THREADS, dtype=cp.float32)
    result: dict[str, object] = {
        "gpu": name,
        "sms": sms,
        "chains": CHAINS,
        "iters": ITERS,
        "threads": THREADS,
    }
    module = cp.RawModule(code=MMA_SOURCE, options=(f"-DCHAINS={CHAINS}",))
    # (kernel, FLOP per warp and chain and round)
    for kernel, flop in (
        ("mma_tf32", 2 * 16 * 8 * 8),
        ("mma_bf16", 2 * 16 * 8 * 16),
        ("mma_mixed", 2 * 2 * 16 * 8 * 8),
        ("ffma_loop", 2 * 32 * 4),
    ):
        fn = module.get_function(kernel)
        best = {}
        for blocks_per_sm in (2, 4, 8):
            grid = sms * blocks_per_sm
            ms = _time(cp, fn, grid, THREADS, (out, np.int32(ITERS)))
            warps = grid * THREADS // 32
            flops = warps * ITERS * CHAINS * flop
            best[blocks_per_sm] = {"ms": round(ms, 4), "tflop_s": round(flops / (ms * 1e-3) / 1e12, 1)}
        result[kernel] = best
        print(kernel, best, flush=True)
    for wname, dtype, n in WGMMA_SHAPES:
        try:
            src, chains, flop = wgmma_source(wname, dtype, n)
            mod = cp.RawModule(code=src, options=("-arch=sm_90a", "-std=c++17"))
            fn = mod.get_function(wname)
            best = {"chains": chains, "regs": int(fn.num_regs)}
            for blocks_per_sm in (2, 4, 8):
                grid = sms * blocks_per_sm
                ms = _time(cp, fn, grid, 128, (out, np.int32(ITERS)))
                flops = grid * ITERS * chains * flop  # one warpgroup per block
                best[blocks_per_sm] = {"ms": round(ms, 4), "tflop_s": round(flops / (ms * 1e-3) / 1e12, 1)}
        except Exception as e:  # one shape failing to build must not lose the others
            best = {"error": f"{type(e).__name__}: {e}"[:1500]}
        result[wname] = best
        print(wname, best, flush=True)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(result, indent=1)
    print(text)
    if len(argv) > 1:
        with open(argv[1] + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        import os

        os.replace(argv[1] + ".tmp", argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
