"""What mma.sync m16n8k8 TF32 reaches on this GPU, without any memory traffic: the tensorcore ceiling.

    python3 bench/conv_micro/mma_peak.py OUT.json      # on the GPU machine (cupy, nvcc through NVRTC)

Each warp runs ``ITERS`` rounds of ``CHAINS`` independent MMAs (operands in registers, nothing loaded
or stored in the loop); the grid fills every SM several times. TFLOP/s counts 2 * 16 * 8 * 8 per MMA.
Also times the same loop with FFMA (fp32 FMA throughput), so the two ceilings come from one run and one
card. The tensorcore convolution needs 2 MMA slots per product (a TF32 m16n8k8 and a BF16 m16n8k16 of
equal time; 3xTF32 needed 3) and wastes ``1 - K / (8 steps)`` of each on the band's zeros
(engine.conv_mma.mma_counts), so its best case is this peak / 2 x band efficiency.
"""

from __future__ import annotations

import json
import sys
import time

SOURCE = r"""
extern "C" __global__ void mma_loop(float* out, int iters)
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

CHAINS = 8
ITERS = 4096
THREADS = 256


def main(argv: list[str]) -> int:
    import cupy as cp

    dev = cp.cuda.Device(0)
    sms = dev.attributes["MultiProcessorCount"]
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    module = cp.RawModule(code=SOURCE, options=(f"-DCHAINS={CHAINS}",))
    out = cp.empty(sms * 8 * THREADS, dtype=cp.float32)
    result: dict[str, object] = {
        "gpu": name,
        "sms": sms,
        "chains": CHAINS,
        "iters": ITERS,
        "threads": THREADS,
    }
    for kernel, flops_per_warp_op, lanes in (("mma_loop", 2 * 16 * 8 * 8, 1), ("ffma_loop", 2, 32 * 4)):
        fn = module.get_function(kernel)
        best = {}
        for blocks_per_sm in (2, 4, 8):
            grid = sms * blocks_per_sm
            fn((grid,), (THREADS,), (out, cp.int32(ITERS)))
            cp.cuda.runtime.deviceSynchronize()
            start, end = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            for _ in range(5):
                fn((grid,), (THREADS,), (out, cp.int32(ITERS)))
            end.record()
            end.synchronize()
            ms = cp.cuda.get_elapsed_time(start, end) / 5
            warps = grid * THREADS // 32
            flops = warps * ITERS * CHAINS * flops_per_warp_op * lanes
            best[blocks_per_sm] = {"ms": round(ms, 4), "tflop_s": round(flops / (ms * 1e-3) / 1e12, 1)}
        result[kernel] = best
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(result, indent=1)
    print(text)
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
