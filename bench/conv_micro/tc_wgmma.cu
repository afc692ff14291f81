// Prototype for issue 20: the banded tensorcore convolution on Hopper's wgmma (sm_90a), A from registers.
//
// The same arithmetic as tc_mixed.cu MODE 3 (row-pair tile, one 16-byte load per lane and chunk, the TF32
// + BF16 split): per product one wgmma m64n8k8 TF32 (h H) and one wgmma m64n8k16 BF16 ([l | x] . [H ; L]).
// A warpgroup (4 warps, 128 threads) computes a 64 x 64 output tile: warp w rows 16 w .. 16 w + 15, in
// registers exactly as mma.sync's m16n8k8 / m16n8k16 A fragments; the B matrices (the split band, 8 x 8
// TF32 and 16 x 8 BF16 per mask row k and step s) come from shared memory through matrix descriptors,
// no swizzle, K-major: 8-row x 16-byte core matrices, the two core matrices along K LBO_K bytes apart.
// The host (tc_mixed.py wgmma_table) writes the table in that byte layout: entry (k, s) is 512 bytes,
// TF32 B at +0 (kk 0..3 at +0, kk 4..7 at +128), BF16 B at +256 (k16 0..7 at +0, 8..15 at +128).
//
// Macros: MASK, RADIUS, HALO_X, STEPS, SH_W, GROUP (mask rows per partial sum), DESC_SWAP (0: LBO = 128,
// SBO = 256; 1: LBO = 256, SBO = 128, in case the K-direction stride is the other field).

#define TILE_H 64
#define TILE_W 64
#define NT 8
#define SH_H (TILE_H + 2 * RADIUS)
#define D (RADIUS - HALO_X)
#define CHUNKS (NT + STEPS - 1)
#define TABLE_BYTES (MASK * STEPS * 512)
#ifndef DESC_SWAP
#define DESC_SWAP 0
#endif

__device__ __forceinline__ unsigned tf32_rna(unsigned x)
{
    return (x + 0x1000u) & 0xffffe000u;
}

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi)
{
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

template <int SCALE_D>
__device__ __forceinline__ void wg_tf32(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                        unsigned long long desc)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %9, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n8k8.f32.tf32.tf32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, %8, "
                 "p, 1, 1;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc), "n"(SCALE_D));
}

template <int SCALE_D>
__device__ __forceinline__ void wg_bf16(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                        unsigned long long desc)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %9, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {%0, %1, %2, %3}, {%4, %5, %6, %7}, %8, "
                 "p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(desc), "n"(SCALE_D));
}

extern "C" __global__ void __launch_bounds__(128)
conv_wgmma(const float* __restrict__ in, const uint4* __restrict__ table, float* __restrict__ out, int height,
           int width)
{
    extern __shared__ __align__(128) float smem[];
    float* pairs = smem + TABLE_BYTES / 4;                // the table first (16-byte aligned entries)
    const int tid = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
    const int gy0 = y0 - RADIUS, gx0 = x0 - HALO_X;
    for (int i = tid; i < TABLE_BYTES / 16; i += 128) reinterpret_cast<uint4*>(smem)[i] = __ldg(table + i);
    const bool vec = (width & 3) == 0;
    for (int i = tid; i < SH_H * (SH_W / 4); i += 128) {
        const int r = i / (SH_W / 4), c = 4 * (i - r * (SH_W / 4));
        const int gy = gy0 + r, gx = gx0 + c;
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (gy >= 0 && gy < height) {
            const float* src = in + (long long)gy * width + gx;
            if (vec && gx >= 0 && gx + 3 < width) {
                v = __ldg(reinterpret_cast<const float4*>(src));
            } else {
                if (gx >= 0 && gx < width) v.x = __ldg(src);
                if (gx + 1 >= 0 && gx + 1 < width) v.y = __ldg(src + 1);
                if (gx + 2 >= 0 && gx + 2 < width) v.z = __ldg(src + 2);
                if (gx + 3 >= 0 && gx + 3 < width) v.w = __ldg(src + 3);
            }
        }
        if (r < SH_H - 8) {
            float* p = pairs + 2 * (r * SH_W + c);
            p[0] = v.x; p[2] = v.y; p[4] = v.z; p[6] = v.w;
        }
        if (r >= 8) {
            float* p = pairs + 2 * ((r - 8) * SH_W + c) + 1;
            p[0] = v.x; p[2] = v.y; p[4] = v.z; p[6] = v.w;
        }
    }
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");   // generic writes -> wgmma's reads
    __syncthreads();

    const int lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const unsigned base = (unsigned)__cvta_generic_to_shared(smem);
#if DESC_SWAP
    const unsigned long long desc0 = ((unsigned long long)(base >> 4) & 0x3FFF) | ((unsigned long long)(256 >> 4) << 16)
                                     | ((unsigned long long)(128 >> 4) << 32);
#else
    const unsigned long long desc0 = ((unsigned long long)(base >> 4) & 0x3FFF) | ((unsigned long long)(128 >> 4) << 16)
                                     | ((unsigned long long)(256 >> 4) << 32);
#endif
    float acc[NT][4];
#pragma unroll
    for (int u = 0; u < NT; ++u)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[u][j] = 0.f;
    float part[NT][4];
#pragma unroll
    for (int u = 0; u < NT; ++u)
#pragma unroll
        for (int j = 0; j < 4; ++j) part[u][j] = 0.f;
#pragma unroll 1
    for (int k0 = 0; k0 < MASK; k0 += GROUP) {
#pragma unroll 1
        for (int k = k0; k < k0 + GROUP && k < MASK; ++k) {
            asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
            const uint4* a = reinterpret_cast<const uint4*>(pairs) + ((warp * 16 + k + g) * SH_W + 2 * t) / 2;
            const unsigned long long dk = desc0 + (unsigned long long)((k * STEPS * 512) >> 4);
#pragma unroll
            for (int q = 0; q < CHUNKS; ++q) {
                const uint4 x = a[4 * q];
                const unsigned h0 = tf32_rna(x.x), h1 = tf32_rna(x.y), h2 = tf32_rna(x.z), h3 = tf32_rna(x.w);
                const float l0 = __uint_as_float(x.x) - __uint_as_float(h0);
                const float l1 = __uint_as_float(x.y) - __uint_as_float(h1);
                const float l2 = __uint_as_float(x.z) - __uint_as_float(h2);
                const float l3 = __uint_as_float(x.w) - __uint_as_float(h3);
                const unsigned la = pack_bf16(l0, l2), lb = pack_bf16(l1, l3);
                const unsigned pa = pack_bf16(__uint_as_float(x.x), __uint_as_float(x.z));
                const unsigned pb = pack_bf16(__uint_as_float(x.y), __uint_as_float(x.w));
#pragma unroll
                for (int s = 0; s < STEPS; ++s) {
                    const int u = q - s;
                    if (u >= 0 && u < NT) {
                        const unsigned long long ds = dk + (unsigned long long)((s * 512) >> 4);
                        if (s == 0 && k == k0) {
                            wg_bf16<0>(part[u], la, lb, pa, pb, ds + (256 >> 4));   // D = A B: a new partial sum
                        } else {
                            wg_bf16<1>(part[u], la, lb, pa, pb, ds + (256 >> 4));
                        }
                        wg_tf32<1>(part[u], h0, h1, h2, h3, ds);
                    }
                }
            }
            asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
        }
        asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");
#pragma unroll
        for (int u = 0; u < NT; ++u)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[u][j] += part[u][j];
    }
    const bool pairs_out = (width & 1) == 0;
#pragma unroll
    for (int u = 0; u < NT; ++u) {
        const int x = x0 + 8 * u + 2 * t;
        if (x >= width) continue;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int y = y0 + warp * 16 + g + 8 * half;
            if (y >= height) continue;
            float* dst = out + (long long)y * width + x;
            if (pairs_out) {
                *reinterpret_cast<float2*>(dst) = make_float2(acc[u][2 * half], acc[u][2 * half + 1]);
            } else {
                dst[0] = acc[u][2 * half];
                if (x + 1 < width) dst[1] = acc[u][2 * half + 1];
            }
        }
    }
}
