// Microbenchmark kernels (not shipped): TMA-fed register-blocked convolution, persistent pipeline.
// Defines: MASK RADIUS TILE_H TILE_W(=128) HALO_X STAGES [STORE_TMA]
#ifndef REG_ROWS
#define REG_ROWS 4
#endif
#define REG_COLS 4
#ifndef BOX_SHIFT
#define BOX_SHIFT 0
#endif
#define BLOCK_Y (TILE_H / REG_ROWS)
#define BLOCK_X (TILE_W / REG_COLS)
#define NTHREADS (BLOCK_Y * BLOCK_X)
#define SH_H (TILE_H + 2 * RADIUS)
#define SH_W (TILE_W + 2 * HALO_X)
#define STAGE_FLOATS (SH_H * SH_W)
#define STAGE_BYTES (STAGE_FLOATS * 4)
#define WIN_Q ((HALO_X + RADIUS + 3) / 4 + 1)
#define STAGE_STRIDE (((STAGE_FLOATS + 31) / 32) * 32)   // floats; each stage 128-byte aligned

__constant__ float c_mask[MASK * MASK];
#if defined(RASTER_COL)
#define TY(t) ((t) % tiles_y)
#define TX(t) ((t) / tiles_y)
#else
#define TY(t) ((t) / tiles_x)
#define TX(t) ((t) % tiles_x)
#endif

__device__ __forceinline__ unsigned smem_addr(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void mbar_init(unsigned bar, unsigned count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(bar), "r"(count) : "memory");
}

__device__ __forceinline__ void mbar_expect_tx(unsigned bar, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" :: "r"(bar), "r"(bytes) : "memory");
}

__device__ __forceinline__ void mbar_wait(unsigned bar, unsigned parity)
{
    asm volatile("{\n"
                 ".reg .pred p;\n"
                 "WAIT_%=:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
                 "@!p bra WAIT_%=;\n"
                 "}\n" :: "r"(bar), "r"(parity) : "memory");
}

__device__ __forceinline__ void tma_load(unsigned dst, const void* tmap, int x, int y, unsigned bar)
{
#if defined(TMAP3D)
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3, %4}], [%5];"
                 :: "r"(dst), "l"(tmap), "r"(0), "r"(x >> 2), "r"(y), "r"(bar) : "memory");
#else
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3}], [%4];"
                 :: "r"(dst), "l"(tmap), "r"(x), "r"(y), "r"(bar) : "memory");
#endif
}

__device__ __forceinline__ void tma_store(const void* tmap, int x, int y, unsigned src)
{
#if defined(TMAP3D)
    asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%1, %2, %3}], [%4];"
                 :: "l"(tmap), "r"(0), "r"(x >> 2), "r"(y), "r"(src) : "memory");
#else
    asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%1, %2}], [%3];"
                 :: "l"(tmap), "r"(x), "r"(y), "r"(src) : "memory");
#endif
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_tma(const void* __restrict__ tmap_in, const void* __restrict__ tmap_out, float* __restrict__ out,
         int height, int width, int tiles_x, int n_tiles)
{
    extern __shared__ __align__(128) float smem[];
    float* stages = smem;                                        // STAGES x STAGE_FLOATS
#if defined(STORE_TMA)
    float* ostage = smem + STAGES * STAGE_STRIDE;                // TILE_H x TILE_W
    unsigned long long* bars = reinterpret_cast<unsigned long long*>(ostage + TILE_H * TILE_W);
#else
    unsigned long long* bars = reinterpret_cast<unsigned long long*>(smem + STAGES * STAGE_STRIDE);
#endif
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const bool leader = ty == 0 && tx == 0;
    if (leader) {
        for (int s = 0; s < STAGES; ++s) mbar_init(smem_addr(bars + s), 1);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("prefetch.tensormap [%0];" :: "l"(tmap_in) : "memory");
    }
    __syncthreads();

    const int first = (int)blockIdx.x, step = (int)gridDim.x;
    const int tiles_y = n_tiles / tiles_x;
    if (leader) {
        for (int s = 0; s < STAGES; ++s) {
            const int t = first + s * step;
            if (t < n_tiles) {
                const unsigned bar = smem_addr(bars + s);
                mbar_expect_tx(bar, STAGE_BYTES);
                tma_load(smem_addr(stages + s * STAGE_STRIDE), tmap_in, TX(t) * TILE_W - HALO_X + BOX_SHIFT, TY(t) * TILE_H - RADIUS, bar);
            }
        }
    }

    const int row0 = ty * REG_ROWS, col0 = tx * REG_COLS;
    int it = 0;
    for (int t = first; t < n_tiles; t += step, ++it) {
        const int s = it % STAGES;
        mbar_wait(smem_addr(bars + s), (unsigned)((it / STAGES) & 1));
        const float* tile = stages + s * STAGE_STRIDE;

        float acc[REG_ROWS][REG_COLS];
#pragma unroll
        for (int i = 0; i < REG_ROWS; ++i) {
#pragma unroll
            for (int j = 0; j < REG_COLS; ++j) acc[i][j] = 0.0f;
        }
#pragma unroll
        for (int sr = 0; sr < REG_ROWS + 2 * RADIUS; ++sr) {
            float v[4 * WIN_Q];
            const float4* src = reinterpret_cast<const float4*>(tile + (row0 + sr) * SH_W + col0);
#pragma unroll
            for (int q = 0; q < WIN_Q; ++q) {
                const float4 f = src[q];
                v[4 * q] = f.x; v[4 * q + 1] = f.y; v[4 * q + 2] = f.z; v[4 * q + 3] = f.w;
            }
#pragma unroll
            for (int i = 0; i < REG_ROWS; ++i) {
                const int k = sr - i;
                if (k >= 0 && k < MASK) {
#pragma unroll
                    for (int l = 0; l < MASK; ++l) {
#pragma unroll
                        for (int j = 0; j < REG_COLS; ++j) acc[i][j] += c_mask[k * MASK + l] * v[HALO_X - RADIUS + j + l];
                    }
                }
            }
        }
#if defined(STORE_TMA)
        if (leader) asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
#endif
        __syncthreads();                                         // stage s read by all; ostage free
        if (leader) {
            const int tn = t + STAGES * step;
            if (tn < n_tiles) {
                const unsigned bar = smem_addr(bars + s);
                mbar_expect_tx(bar, STAGE_BYTES);
                tma_load(smem_addr(stages + s * STAGE_STRIDE), tmap_in, TX(tn) * TILE_W - HALO_X + BOX_SHIFT, TY(tn) * TILE_H - RADIUS, bar);
            }
        }
        const int y0 = TY(t) * TILE_H, x0 = TX(t) * TILE_W;
#if defined(STORE_TMA)
#pragma unroll
        for (int i = 0; i < REG_ROWS; ++i)
            *reinterpret_cast<float4*>(ostage + (row0 + i) * TILE_W + col0) =
                make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        __syncthreads();
        if (leader) {
            tma_store(tmap_out, x0, y0, smem_addr(ostage));
            asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        }
#else
        const int x = x0 + col0;
        if (x < width) {
#pragma unroll
            for (int i = 0; i < REG_ROWS; ++i) {
                const int y = y0 + row0 + i;
                if (y < height)
                    *reinterpret_cast<float4*>(out + (long long)y * width + x) =
                        make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
            }
        }
#endif
    }
#if defined(STORE_TMA)
    if (leader) asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
#endif
}

extern "C" __global__ void copy4(const float4* __restrict__ in, float4* __restrict__ out, long long n4)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) out[i] = in[i];
}
