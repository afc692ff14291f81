// Prototype for issue 20: the banded tensorcore convolution with a 2-instruction split instead of 3xTF32.
//
//     x ~ h + l, h = tf32(x) (cvt.rna), l = x - h (exact);  m ~ H + L likewise for the mask
//     x m ~ h H (one m16n8k8 TF32 MMA)  +  [l | x] . [H ; L] (one m16n8k16 BF16 MMA, all in bf16)
//
// The bf16 terms are the split's corrections, about 2^-11 of each product, so bf16's 8-bit significand
// leaves them about 2^-20 off: the relative error is ~7e-7 where 3xTF32 gives ~1e-7 and fp32 FMA
// ~1e-7..3e-7, inside the 1e-5 the strategies are tested to. One TF32 m16n8k8 and one BF16 m16n8k16
// cost the tensor cores the same time, so this is 2 MMA slots per product where 3xTF32 needs 3.
//
// Macros (tc_mixed.py sets them): MASK, RADIUS, HALO_X (RADIUS rounded up to 4), WY, WX (warps per block
// down and across), NT (8-column n-tiles per warp), STEPS, SH_W, MODE (1: the raw tile in shared memory,
// each lane splits its fragment; 2: the tile split once per block into 16-byte records
// {h(2c), h(2c+1), bf16x2(l), bf16x2(x)} per column pair; 3: the raw tile stored as row pairs, record
// (r, c) = {x[r][c], x[r + 8][c]}, so one 16-byte load at (r, 2t) gives a lane's TF32 A fragment in
// register order, a0 .. a3 = x(g, 2t), x(g + 8, 2t), x(g, 2t + 1), x(g + 8, 2t + 1); 2x the shared memory),
// GROUP (mask rows per partial sum).
// SPLIT (MODE 1 only; default 0): how a lane splits its fragment. 0: h = cvt.rna.tf32 (4 SASS
// instructions on sm_90: FSETP, VIADD, SEL, LOP3), bf16 pairs by cvt.rn.bf16x2 (F2FP); 1: h = x with its low
// 13 bits cleared (one LOP3: truncation; l = x - h stays exact), bf16 pairs by F2FP (round to nearest);
// 2: h by LOP3 and bf16 pairs by PRMT (truncation: each value's upper 16 bits); 3: as 1, but the TF32 MMA
// gets x itself (the tensor cores read 19 of its bits: if they truncate, l = x - h is the right correction).
// 4: h rounded to nearest by an integer add of 2^12 before the LOP3, bf16 pairs by F2FP (MODE 1 and 3);
// 5: that h, bf16 pairs by PRMT (MODE 3). MINB: __launch_bounds__'s minimum blocks per SM (default 1).
// Output tile (16 WY) x (8 NT WX); warp (wy, wx) computes rows 16 wy .. + 15, columns 8 NT wx .. + 8 NT - 1.
// The band records (host-made, tc_mixed.py band_records): rec[k][j] = {H[j], H[j+1], bf16x2(H[j], H[j+1]),
// bf16x2(L[j], L[j+1])} with j = tap + PAD, zero outside the mask.

#define TILE_H (16 * WY)
#define TILE_W (8 * NT * WX)
#define SH_H (TILE_H + 2 * RADIUS)
#define D (RADIUS - HALO_X)
#define CHUNKS (NT + STEPS - 1)
#define NTHREADS (32 * WY * WX)
#ifndef SPLIT
#define SPLIT 0
#endif

__device__ __forceinline__ float to_tf32(float x)
{
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return __uint_as_float(r);
}

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi)   // lo in bits 0..15
{
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ float trunc_tf32(float x)   // round toward zero: the low 13 bits cleared
{
    return __uint_as_float(__float_as_uint(x) & 0xffffe000u);
}

__device__ __forceinline__ unsigned pack_bf16_trunc(float lo, float hi)   // upper halves: one PRMT
{
    return __byte_perm(__float_as_uint(lo), __float_as_uint(hi), 0x7632);
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void mma_bf16(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

#ifndef MINB
#define MINB 1
#endif
extern "C" __global__ void __launch_bounds__(NTHREADS, MINB)
conv_mixed(const float* __restrict__ in, const uint4* __restrict__ band, float* __restrict__ out, int height,
           int width, int band_row)
{
    extern __shared__ __align__(16) float smem[];
    const int tid = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
    const int gy0 = y0 - RADIUS, gx0 = x0 - HALO_X;
    const bool vec = (width & 3) == 0;
    // load (MODE 1) or load and split (MODE 2) the input tile, 4 columns at a time, zero outside the image
    for (int i = tid; i < SH_H * (SH_W / 4); i += NTHREADS) {
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
#if MODE == 1
        *reinterpret_cast<float4*>(smem + r * SH_W + c) = v;
#elif MODE == 3
        if (r < SH_H - 8) {   // the first of record (r, c)
            float* p = smem + 2 * (r * SH_W + c);
            p[0] = v.x; p[2] = v.y; p[4] = v.z; p[6] = v.w;
        }
        if (r >= 8) {         // the second of record (r - 8, c)
            float* p = smem + 2 * ((r - 8) * SH_W + c) + 1;
            p[0] = v.x; p[2] = v.y; p[4] = v.z; p[6] = v.w;
        }
#else
        uint4* rec = reinterpret_cast<uint4*>(smem) + r * (SH_W / 2) + c / 2;
        const float h0 = to_tf32(v.x), h1 = to_tf32(v.y), h2 = to_tf32(v.z), h3 = to_tf32(v.w);
        rec[0] = make_uint4(__float_as_uint(h0), __float_as_uint(h1), pack_bf16(v.x - h0, v.y - h1),
                            pack_bf16(v.x, v.y));
        rec[1] = make_uint4(__float_as_uint(h2), __float_as_uint(h3), pack_bf16(v.z - h2, v.w - h3),
                            pack_bf16(v.z, v.w));
#endif
    }
    __syncthreads();

    const int lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = (warp / WX) * 16, col0 = (warp % WX) * (8 * NT);
    float acc[NT][4];
#pragma unroll
    for (int u = 0; u < NT; ++u)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[u][j] = 0.f;
    float part[NT][4];
#pragma unroll 1
    for (int k0 = 0; k0 < MASK; k0 += GROUP) {
#pragma unroll
        for (int u = 0; u < NT; ++u)
#pragma unroll
            for (int j = 0; j < 4; ++j) part[u][j] = 0.f;
#pragma unroll 1
        for (int k = k0; k < k0 + GROUP && k < MASK; ++k) {
            uint4 b[STEPS];
            const uint4* brow = band + k * band_row + (7 - D) + 2 * t - g + D;   // PAD = 7 - D
#pragma unroll
            for (int s = 0; s < STEPS; ++s) b[s] = __ldg(brow + 8 * s);
#pragma unroll
            for (int q = 0; q < CHUNKS; ++q) {
                unsigned ha0, ha1, hb0, hb1, la, lb, pa, pb;
#if MODE == 1
                const float* pa_ = smem + (row0 + k + g) * SH_W + col0 + 8 * q + 2 * t;
                const float2 xa = *reinterpret_cast<const float2*>(pa_);
                const float2 xb = *reinterpret_cast<const float2*>(pa_ + 8 * SH_W);
#if SPLIT == 0
                const float fa0 = to_tf32(xa.x), fa1 = to_tf32(xa.y), fb0 = to_tf32(xb.x), fb1 = to_tf32(xb.y);
#elif SPLIT == 4   // cvt.rna's value by an integer add and a mask (what kernels/conv2d.cu does since 71e0776)
                const float fa0 = __uint_as_float((__float_as_uint(xa.x) + 0x1000u) & 0xffffe000u);
                const float fa1 = __uint_as_float((__float_as_uint(xa.y) + 0x1000u) & 0xffffe000u);
                const float fb0 = __uint_as_float((__float_as_uint(xb.x) + 0x1000u) & 0xffffe000u);
                const float fb1 = __uint_as_float((__float_as_uint(xb.y) + 0x1000u) & 0xffffe000u);
#else
                const float fa0 = trunc_tf32(xa.x), fa1 = trunc_tf32(xa.y), fb0 = trunc_tf32(xb.x),
                            fb1 = trunc_tf32(xb.y);
#endif
#if SPLIT == 3
                ha0 = __float_as_uint(xa.x); ha1 = __float_as_uint(xa.y);
                hb0 = __float_as_uint(xb.x); hb1 = __float_as_uint(xb.y);
#else
                ha0 = __float_as_uint(fa0); ha1 = __float_as_uint(fa1);
                hb0 = __float_as_uint(fb0); hb1 = __float_as_uint(fb1);
#endif
#if SPLIT == 2
                la = pack_bf16_trunc(xa.x - fa0, xa.y - fa1);
                lb = pack_bf16_trunc(xb.x - fb0, xb.y - fb1);
                pa = pack_bf16_trunc(xa.x, xa.y);
                pb = pack_bf16_trunc(xb.x, xb.y);
#else
                la = pack_bf16(xa.x - fa0, xa.y - fa1);
                lb = pack_bf16(xb.x - fb0, xb.y - fb1);
                pa = pack_bf16(xa.x, xa.y);
                pb = pack_bf16(xb.x, xb.y);
#endif
#elif MODE == 3
                const uint4 Q = *reinterpret_cast<const uint4*>(smem + 2 * ((row0 + k + g) * SH_W + col0 + 8 * q + 2 * t));
#if SPLIT >= 4   // h rounded to nearest (ties up) by an integer add before the mask: IADD + LOP3
                const unsigned h0 = (Q.x + 0x1000u) & 0xffffe000u, h1 = (Q.y + 0x1000u) & 0xffffe000u,
                               h2 = (Q.z + 0x1000u) & 0xffffe000u, h3 = (Q.w + 0x1000u) & 0xffffe000u;
#else
                const unsigned h0 = Q.x & 0xffffe000u, h1 = Q.y & 0xffffe000u, h2 = Q.z & 0xffffe000u,
                               h3 = Q.w & 0xffffe000u;
#endif
                const float l0 = __uint_as_float(Q.x) - __uint_as_float(h0), l1 = __uint_as_float(Q.y) - __uint_as_float(h1),
                            l2 = __uint_as_float(Q.z) - __uint_as_float(h2), l3 = __uint_as_float(Q.w) - __uint_as_float(h3);
#if SPLIT == 3
                ha0 = Q.x; hb0 = Q.y; ha1 = Q.z; hb1 = Q.w;
#else
                ha0 = h0; hb0 = h1; ha1 = h2; hb1 = h3;
#endif
#if SPLIT == 1 || SPLIT == 4
                la = pack_bf16(l0, l2); lb = pack_bf16(l1, l3);
                pa = pack_bf16(__uint_as_float(Q.x), __uint_as_float(Q.z));
                pb = pack_bf16(__uint_as_float(Q.y), __uint_as_float(Q.w));
#else
                la = pack_bf16_trunc(l0, l2); lb = pack_bf16_trunc(l1, l3);
                pa = __byte_perm(Q.x, Q.z, 0x7632); pb = __byte_perm(Q.y, Q.w, 0x7632);
#endif
#else
                const uint4* ra = reinterpret_cast<const uint4*>(smem) + (row0 + k + g) * (SH_W / 2)
                                  + (col0 + 8 * q) / 2 + t;
                const uint4 A = ra[0], B = ra[8 * (SH_W / 2)];
                ha0 = A.x; ha1 = A.y; la = A.z; pa = A.w;
                hb0 = B.x; hb1 = B.y; lb = B.z; pb = B.w;
#endif
#pragma unroll
                for (int s = 0; s < STEPS; ++s) {
                    const int u = q - s;
                    if (u >= 0 && u < NT) {
                        mma_bf16(part[u], la, lb, pa, pb, b[s].z, b[s].w);   // corrections first
                        mma_tf32(part[u], ha0, hb0, ha1, hb1, b[s].x, b[s].y);
                    }
                }
            }
        }
#pragma unroll
        for (int u = 0; u < NT; ++u)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[u][j] += part[u][j];
    }
    const bool pairs = (width & 1) == 0;
#pragma unroll
    for (int u = 0; u < NT; ++u) {
        const int x = x0 + col0 + 8 * u + 2 * t;
        if (x >= width) continue;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int y = y0 + row0 + g + 8 * half;
            if (y >= height) continue;
            float* dst = out + (long long)y * width + x;
            if (pairs) {
                *reinterpret_cast<float2*>(dst) = make_float2(acc[u][2 * half], acc[u][2 * half + 1]);
            } else {
                dst[0] = acc[u][2 * half];
                if (x + 1 < width) dst[1] = acc[u][2 * half + 1];
            }
        }
    }
}
