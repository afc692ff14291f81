// 2-D convolution (cross-correlation, zero padding), float32, row-major (H, W) images.
//
//     out[i, j] = sum_k sum_l M[k, l] * in[i - RADIUS + k, j - RADIUS + l]
//
// One strategy per compilation: the launcher (engine/conv_cuda.py) defines exactly one of
// CONV_NAIVE, CONV_CONSTANT, CONV_INPUT_TILE, CONV_OUTPUT_TILE, CONV_CACHED_HALO, CONV_REGISTER,
// CONV_REGISTER2D, CONV_TMA, CONV_TENSORCORE, and every size below from engine.tiling.geometry(), so the kernel, its launch and the
// visualizer agree:
//
//   MASK            mask side K (odd)               RADIUS          (K - 1) / 2
//   TILE_H, TILE_W  output tile of one block        BLOCK_Y, BLOCK_X threads per block
//   SH_H, SH_W      shared tile (0 when none)       REG_ROWS        output rows per thread (register*)
//   REG_COLS        output columns per thread       HALO_X          shared-tile columns left and right of
//                   (register2d, tma: 4, one float4)                the output tile (RADIUS rounded up
//                                                                   to a multiple of 4; tma: of 8)
//   TC_STEPS        tensorcore: MMA steps (8 input columns each) per mask row and 16 x 8 output tile
//   TC_BAND_ROW     tensorcore: 16-byte band records per mask row (engine.conv_mma.band_records)
//
// The shared tile is dynamic shared memory (`extern __shared__`): its size is the launch's
// geometry().shared_bytes. With RECORD defined, the shared-memory strategies also write, for the
// blocks listed in rec_blocks, what each shared slot was loaded with (see record_load), so a test can
// compare the kernel's loads with geometry().load_plan(by, bx). The timed kernels are built without it.
//
// Image sizes: height and width are ints; pixel offsets are computed in 64 bits, so images past 2^31
// pixels index correctly.

#if !defined(MASK) || !defined(RADIUS) || !defined(TILE_H) || !defined(TILE_W) || !defined(BLOCK_Y) \
    || !defined(BLOCK_X) || !defined(SH_H) || !defined(SH_W)
#error "the launcher must define MASK, RADIUS, TILE_H, TILE_W, BLOCK_Y, BLOCK_X, SH_H and SH_W"
#endif

#if (defined(CONV_NAIVE) + defined(CONV_CONSTANT) + defined(CONV_INPUT_TILE) + defined(CONV_OUTPUT_TILE) \
     + defined(CONV_CACHED_HALO) + defined(CONV_REGISTER) + defined(CONV_REGISTER2D) + defined(CONV_TMA) \
     + defined(CONV_TENSORCORE)) != 1
#error "define exactly one of CONV_NAIVE, CONV_CONSTANT, CONV_INPUT_TILE, CONV_OUTPUT_TILE, CONV_CACHED_HALO, CONV_REGISTER, CONV_REGISTER2D, CONV_TMA, CONV_TENSORCORE"
#endif

static_assert(MASK >= 1 && MASK % 2 == 1, "MASK must be odd and positive");
static_assert(RADIUS == (MASK - 1) / 2, "RADIUS must be (MASK - 1) / 2");
static_assert(TILE_H >= 1 && TILE_W >= 1, "empty tile");
static_assert(BLOCK_Y * BLOCK_X <= 1024, "more than 1024 threads per block");

#define NTHREADS (BLOCK_Y * BLOCK_X)
#define SLOTS (SH_H * SH_W)

typedef long long index_t;   // pixel offsets: 64-bit, so y * width + x cannot overflow

#if !defined(CONV_NAIVE)
__constant__ float c_mask[MASK * MASK];   // set by the launcher through module.get_global("c_mask")
#endif

// ------------------------------------------------------------------------------------------------
// Load recording (instrumented builds only)
// ------------------------------------------------------------------------------------------------
// rec holds n_rec blocks x SLOTS slots x REC_FIELDS int32, filled by the host with -1 (writes with 0).
// Fields: thread_y, thread_x, phase, smem_y, smem_x, in_y, in_x, ghost, writes (atomic count).
#define REC_FIELDS 9

#if defined(RECORD)
#define RECORD_PARAMS , int* __restrict__ rec, const int* __restrict__ rec_blocks, int n_rec
#define RECORD_SETUP const int rec_index = record_index(rec_blocks, n_rec);
#define RECORD_LOAD(s, phase, sy, sx, gy, gx, ghost) \
    record_load(rec, rec_index, (s), (phase), (sy), (sx), (gy), (gx), (ghost))

// Which entry of rec_blocks ((by, bx) pairs) this block is, or -1.
__device__ __forceinline__ int record_index(const int* __restrict__ rec_blocks, int n_rec)
{
    for (int i = 0; i < n_rec; ++i) {
        if (rec_blocks[2 * i] == (int)blockIdx.y && rec_blocks[2 * i + 1] == (int)blockIdx.x) return i;
    }
    return -1;
}

__device__ __forceinline__ void record_slot(int* __restrict__ rec, int rec_index, int s, int ty, int tx, int phase,
                                            int sy, int sx, int gy, int gx, bool ghost)
{
    if (rec_index < 0) return;
    int* r = rec + ((index_t)rec_index * SLOTS + s) * REC_FIELDS;
    r[0] = ty;
    r[1] = tx;
    r[2] = phase;
    r[3] = sy;
    r[4] = sx;
    r[5] = gy;
    r[6] = gx;
    r[7] = ghost ? 1 : 0;
    atomicAdd(&r[8], 1);   // a slot loaded twice (or never) shows up here
}

// What thread (threadIdx.y, threadIdx.x) loaded into slot s.
__device__ __forceinline__ void record_load(int* __restrict__ rec, int rec_index, int s, int phase, int sy,
                                            int sx, int gy, int gx, bool ghost)
{
    record_slot(rec, rec_index, s, (int)threadIdx.y, (int)threadIdx.x, phase, sy, sx, gy, gx, ghost);
}
#else
#define RECORD_PARAMS
#define RECORD_SETUP
#define RECORD_LOAD(s, phase, sy, sx, gy, gx, ghost) ((void)0)
#endif

__device__ __forceinline__ bool inside(int y, int x, int height, int width)
{
    return y >= 0 && y < height && x >= 0 && x < width;
}

#if defined(CONV_OUTPUT_TILE) || defined(CONV_REGISTER)
// Fill the SH_H x SH_W shared tile whose top-left is input (y0, x0) with the block's NTHREADS threads:
// in phase p thread t = ty * BLOCK_X + tx fills flat slot s = p * NTHREADS + t while s < SLOTS (this is
// geometry().load_plan). Slots outside the image get 0 (zero padding) and no global load.
__device__ __forceinline__ void load_tile_flat(const float* __restrict__ in, float* __restrict__ tile,
                                               int y0, int x0, int height, int width RECORD_PARAMS)
{
    RECORD_SETUP
    const int t = (int)threadIdx.y * BLOCK_X + (int)threadIdx.x;
#pragma unroll
    for (int phase = 0; phase < (SLOTS + NTHREADS - 1) / NTHREADS; ++phase) {
        const int s = phase * NTHREADS + t;
        if (s < SLOTS) {
            const int sy = s / SH_W;          // compile-time divisor: a multiply and a shift
            const int sx = s - sy * SH_W;
            const int gy = y0 + sy, gx = x0 + sx;
            const bool real = inside(gy, gx, height, width);
            float v = 0.0f;
            if (real) v = in[(index_t)gy * width + gx];
            tile[s] = v;
            RECORD_LOAD(s, phase, sy, sx, gy, gx, !real);
        }
    }
}
#endif

// ------------------------------------------------------------------------------------------------
// naive: one output per thread, mask and image from global memory
// ------------------------------------------------------------------------------------------------
#if defined(CONV_NAIVE)
extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_naive(const float* __restrict__ in, const float* __restrict__ mask, float* __restrict__ out,
           int height, int width)
{
    const int y = (int)blockIdx.y * TILE_H + (int)threadIdx.y;
    const int x = (int)blockIdx.x * TILE_W + (int)threadIdx.x;
    if (y >= height || x >= width) return;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < MASK; ++k) {
        const int gy = y - RADIUS + k;
        if (gy < 0 || gy >= height) continue;
#pragma unroll
        for (int l = 0; l < MASK; ++l) {
            const int gx = x - RADIUS + l;
            if (gx >= 0 && gx < width) acc += mask[k * MASK + l] * in[(index_t)gy * width + gx];
        }
    }
    out[(index_t)y * width + x] = acc;
}
#endif

// ------------------------------------------------------------------------------------------------
// constant: naive with the mask in __constant__ memory (one broadcast read per warp)
// ------------------------------------------------------------------------------------------------
#if defined(CONV_CONSTANT)
extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_constant(const float* __restrict__ in, float* __restrict__ out, int height, int width)
{
    const int y = (int)blockIdx.y * TILE_H + (int)threadIdx.y;
    const int x = (int)blockIdx.x * TILE_W + (int)threadIdx.x;
    if (y >= height || x >= width) return;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < MASK; ++k) {
        const int gy = y - RADIUS + k;
        if (gy < 0 || gy >= height) continue;
#pragma unroll
        for (int l = 0; l < MASK; ++l) {
            const int gx = x - RADIUS + l;
            if (gx >= 0 && gx < width) acc += c_mask[k * MASK + l] * in[(index_t)gy * width + gx];
        }
    }
    out[(index_t)y * width + x] = acc;
}
#endif

// ------------------------------------------------------------------------------------------------
// input_tile: block = shared tile = (T + 2r)^2; each thread loads its own element, inner T x T compute
// ------------------------------------------------------------------------------------------------
#if defined(CONV_INPUT_TILE)
static_assert(BLOCK_Y == TILE_H + 2 * RADIUS && BLOCK_X == TILE_W + 2 * RADIUS, "input_tile block");
static_assert(SH_H == BLOCK_Y && SH_W == BLOCK_X, "input_tile shared tile = block");

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_input_tile(const float* __restrict__ in, float* __restrict__ out, int height, int width RECORD_PARAMS)
{
    extern __shared__ float tile[];   // SH_H x SH_W
    RECORD_SETUP
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;   // first output
    const int gy = y0 - RADIUS + ty, gx = x0 - RADIUS + tx;
    const bool real = inside(gy, gx, height, width);
    float v = 0.0f;
    if (real) v = in[(index_t)gy * width + gx];
    tile[ty * SH_W + tx] = v;
    RECORD_LOAD(ty * SH_W + tx, 0, ty, tx, gy, gx, !real);
    __syncthreads();

    const int oy = ty - RADIUS, ox = tx - RADIUS;   // this thread's output inside the tile
    if (oy < 0 || oy >= TILE_H || ox < 0 || ox >= TILE_W) return;   // halo-only threads are done
    const int y = y0 + oy, x = x0 + ox;
    if (y >= height || x >= width) return;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < MASK; ++k) {
#pragma unroll
        for (int l = 0; l < MASK; ++l) acc += c_mask[k * MASK + l] * tile[(oy + k) * SH_W + ox + l];
    }
    out[(index_t)y * width + x] = acc;
}
#endif

// ------------------------------------------------------------------------------------------------
// output_tile: block T x T, shared (T + 2r)^2 filled in flat-slot phases; one output per thread
// ------------------------------------------------------------------------------------------------
#if defined(CONV_OUTPUT_TILE)
static_assert(BLOCK_Y == TILE_H && BLOCK_X == TILE_W, "output_tile block = tile");
static_assert(SH_H == TILE_H + 2 * RADIUS && SH_W == TILE_W + 2 * RADIUS, "output_tile shared tile");

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_output_tile(const float* __restrict__ in, float* __restrict__ out, int height, int width RECORD_PARAMS)
{
    extern __shared__ float tile[];   // SH_H x SH_W
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
#if defined(RECORD)
    load_tile_flat(in, tile, y0 - RADIUS, x0 - RADIUS, height, width, rec, rec_blocks, n_rec);
#else
    load_tile_flat(in, tile, y0 - RADIUS, x0 - RADIUS, height, width);
#endif
    __syncthreads();

    const int y = y0 + ty, x = x0 + tx;
    if (y >= height || x >= width) return;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < MASK; ++k) {
#pragma unroll
        for (int l = 0; l < MASK; ++l) acc += c_mask[k * MASK + l] * tile[(ty + k) * SH_W + tx + l];
    }
    out[(index_t)y * width + x] = acc;
}
#endif

// ------------------------------------------------------------------------------------------------
// cached_halo: block T x T, shared T x T holds the block's own inputs; the halo comes from global
// memory through the read-only/L1 cache (neighbouring blocks have just loaded it)
// ------------------------------------------------------------------------------------------------
#if defined(CONV_CACHED_HALO)
static_assert(BLOCK_Y == TILE_H && BLOCK_X == TILE_W, "cached_halo block = tile");
static_assert(SH_H == TILE_H && SH_W == TILE_W, "cached_halo shared tile = tile");

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_cached_halo(const float* __restrict__ in, float* __restrict__ out, int height, int width RECORD_PARAMS)
{
    extern __shared__ float tile[];   // TILE_H x TILE_W
    RECORD_SETUP
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const int y = (int)blockIdx.y * TILE_H + ty, x = (int)blockIdx.x * TILE_W + tx;
    const bool real = inside(y, x, height, width);
    float v = 0.0f;
    if (real) v = in[(index_t)y * width + x];
    tile[ty * SH_W + tx] = v;   // zero past the image edge = the zero padding there
    RECORD_LOAD(ty * SH_W + tx, 0, ty, tx, y, x, !real);
    __syncthreads();

    if (!real) return;
    float acc = 0.0f;
#pragma unroll
    for (int k = 0; k < MASK; ++k) {
        const int sy = ty - RADIUS + k, gy = y - RADIUS + k;
#pragma unroll
        for (int l = 0; l < MASK; ++l) {
            const int sx = tx - RADIUS + l, gx = x - RADIUS + l;
            if (sy >= 0 && sy < TILE_H && sx >= 0 && sx < TILE_W) {
                acc += c_mask[k * MASK + l] * tile[sy * SH_W + sx];
            } else if (inside(gy, gx, height, width)) {
                acc += c_mask[k * MASK + l] * __ldg(&in[(index_t)gy * width + gx]);
            }
        }
    }
    out[(index_t)y * width + x] = acc;
}
#endif

// ------------------------------------------------------------------------------------------------
// register: block (T / REG_ROWS, T), shared (T + 2r)^2 filled like output_tile; thread (ty, tx) computes
// the REG_ROWS outputs of column tx, rows ty * REG_ROWS .. ty * REG_ROWS + REG_ROWS - 1, in registers.
//
// The thread walks the REG_ROWS + 2r shared rows its outputs need, once each: it reads the row's MASK
// values into registers, then adds them, with mask row (shared row - output row), to every one of its
// (up to REG_ROWS) accumulators that uses that row. Each shared value is read once per thread instead
// of once per output: (REG_ROWS + 2r) * K shared reads for REG_ROWS * K^2 multiply-adds. All loop bounds
// are compile-time, so the `k` test below is resolved by the compiler and acc[] stays in registers.
// ------------------------------------------------------------------------------------------------
#if defined(CONV_REGISTER)
#if !defined(REG_ROWS)
#error "register: the launcher must define REG_ROWS"
#endif
static_assert(BLOCK_X == TILE_W && TILE_H == BLOCK_Y * REG_ROWS, "register block = (T / REG_ROWS, T)");
static_assert(SH_H == TILE_H + 2 * RADIUS && SH_W == TILE_W + 2 * RADIUS, "register shared tile");

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_register(const float* __restrict__ in, float* __restrict__ out, int height, int width RECORD_PARAMS)
{
    extern __shared__ float tile[];   // SH_H x SH_W
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
#if defined(RECORD)
    load_tile_flat(in, tile, y0 - RADIUS, x0 - RADIUS, height, width, rec, rec_blocks, n_rec);
#else
    load_tile_flat(in, tile, y0 - RADIUS, x0 - RADIUS, height, width);
#endif
    __syncthreads();

    const int row0 = ty * REG_ROWS;   // first output row (and first shared row) of this thread
    float acc[REG_ROWS];
#pragma unroll
    for (int i = 0; i < REG_ROWS; ++i) acc[i] = 0.0f;

#pragma unroll
    for (int sr = 0; sr < REG_ROWS + 2 * RADIUS; ++sr) {   // shared row row0 + sr
        float v[MASK];
#pragma unroll
        for (int l = 0; l < MASK; ++l) v[l] = tile[(row0 + sr) * SH_W + tx + l];
#pragma unroll
        for (int i = 0; i < REG_ROWS; ++i) {
            const int k = sr - i;                            // mask row that output i applies to it
            if (k >= 0 && k < MASK) {
#pragma unroll
                for (int l = 0; l < MASK; ++l) acc[i] += c_mask[k * MASK + l] * v[l];
            }
        }
    }

    const int x = x0 + tx;
    if (x >= width) return;
#pragma unroll
    for (int i = 0; i < REG_ROWS; ++i) {
        const int y = y0 + row0 + i;
        if (y < height) out[(index_t)y * width + x] = acc[i];
    }
}
#endif

// ------------------------------------------------------------------------------------------------
// register2d: block (T / REG_ROWS, TILE_W / 4); thread (ty, tx) computes a REG_ROWS x 4 block of outputs
// (rows ty * REG_ROWS .., columns tx * 4 ..) in registers.
//
// Load: the shared tile reaches HALO_X (RADIUS rounded up to 4) columns left and right of the output
// tile, so every group of 4 slots starts at an input column that is a multiple of 4. In phase p thread
// t = ty * BLOCK_X + tx fills group g = p * NTHREADS + t, slots 4g .. 4g + 3 (geometry().load_plan).
// When width is a multiple of 4 a group lies wholly inside or wholly outside the image: on sm_80+ it is
// one 16-byte cp.async straight into shared memory (zero-filled outside the image; no registers held,
// so all of a thread's groups are in flight at once), elsewhere one float4 load. Otherwise the four
// slots are loaded one float at a time. The instrumented build (RECORD) runs the same code.
//
// Compute: the thread walks the REG_ROWS + 2r shared rows its outputs need, once each. For each row it
// reads the 16-byte-aligned window that covers its 4 + 2r columns (WIN_Q float4 reads), then adds it,
// with mask row (shared row - output row), to each of its REG_ROWS x 4 accumulators that uses it:
// (REG_ROWS + 2r) * WIN_Q shared reads serve REG_ROWS * 4 * K^2 multiply-adds. Every loop bound is a
// compile-time constant, so each mask value is an immediate constant-bank operand of its FFMA and acc
// stays in registers. Outputs leave as float4 stores.
// ------------------------------------------------------------------------------------------------
#if defined(CONV_REGISTER2D) || defined(CONV_TMA)
#if !defined(REG_ROWS) || !defined(REG_COLS) || !defined(HALO_X)
#error "register2d and tma: the launcher must define REG_ROWS, REG_COLS and HALO_X"
#endif
// A thread's first tap column is col0 + HALO_X - RADIUS: WIN_SKIP whole float4s, then WIN_OFF columns in.
#define WIN_SKIP ((HALO_X - RADIUS) / 4)
#define WIN_OFF ((HALO_X - RADIUS) % 4)
#define WIN_Q ((WIN_OFF + 2 * RADIUS + REG_COLS + 3) / 4)   // float4 reads per row, from col0 + 4 WIN_SKIP
static_assert(REG_COLS == 4, "register2d: 4 output columns per thread (one float4)");
#if defined(CONV_TMA)
static_assert(HALO_X % 8 == 0 && HALO_X >= RADIUS && HALO_X < RADIUS + 8, "tma: HALO_X = RADIUS rounded up to 8");
#else
static_assert(HALO_X % 4 == 0 && HALO_X >= RADIUS && HALO_X < RADIUS + 4, "HALO_X = RADIUS rounded up to 4");
#endif
static_assert(TILE_W == BLOCK_X * REG_COLS && TILE_H == BLOCK_Y * REG_ROWS, "register2d block");
static_assert(SH_H == TILE_H + 2 * RADIUS && SH_W == TILE_W + 2 * HALO_X, "register2d shared tile");
static_assert((BLOCK_X - 1) * REG_COLS + 4 * (WIN_SKIP + WIN_Q) <= SH_W, "the last thread's window stays in the tile");

// Thread (ty, tx)'s REG_ROWS x 4 sums from the filled shared tile (see the comment above).
__device__ __forceinline__ void register2d_sums(const float* __restrict__ tile, float (&acc)[REG_ROWS][REG_COLS])
{
    const int row0 = (int)threadIdx.y * REG_ROWS, col0 = (int)threadIdx.x * REG_COLS;   // aligned window start
#pragma unroll
    for (int i = 0; i < REG_ROWS; ++i) {
#pragma unroll
        for (int j = 0; j < REG_COLS; ++j) acc[i][j] = 0.0f;
    }

#pragma unroll
    for (int sr = 0; sr < REG_ROWS + 2 * RADIUS; ++sr) {   // shared row row0 + sr
        float v[4 * WIN_Q];
        const float4* src = reinterpret_cast<const float4*>(tile + (row0 + sr) * SH_W + col0) + WIN_SKIP;
#pragma unroll
        for (int q = 0; q < WIN_Q; ++q) {
            const float4 f = src[q];
            v[4 * q] = f.x;
            v[4 * q + 1] = f.y;
            v[4 * q + 2] = f.z;
            v[4 * q + 3] = f.w;
        }
#pragma unroll
        for (int i = 0; i < REG_ROWS; ++i) {
            const int k = sr - i;                            // mask row that output row i applies to it
            if (k >= 0 && k < MASK) {
#pragma unroll
                for (int l = 0; l < MASK; ++l) {
#pragma unroll
                    for (int j = 0; j < REG_COLS; ++j) {
                        acc[i][j] += c_mask[k * MASK + l] * v[WIN_OFF + j + l];
                    }
                }
            }
        }
    }
}
#endif

#if defined(CONV_REGISTER2D) || defined(CONV_TENSORCORE)

#define GROUPS (SLOTS / 4)                              // float4 groups of the shared tile (SH_W % 4 == 0)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define ASYNC_COPY 1
#endif

__device__ __forceinline__ bool aligned16(const void* p)
{
    return ((unsigned long long)p & 15ull) == 0;
}

// Fill the SH_H x SH_W shared tile whose top-left is input (y0, x0), x0 % 4 == 0, in float4 groups.
__device__ __forceinline__ void load_tile_vec4(const float* __restrict__ in, float* __restrict__ tile,
                                               int y0, int x0, int height, int width RECORD_PARAMS)
{
    RECORD_SETUP
    const int t = (int)threadIdx.y * BLOCK_X + (int)threadIdx.x;
    const bool vec = (width & 3) == 0 && aligned16(in);   // every row starts 16-byte aligned
#pragma unroll
    for (int phase = 0; phase < (GROUPS + NTHREADS - 1) / NTHREADS; ++phase) {
        const int g = phase * NTHREADS + t;
        if (g < GROUPS) {
            const int s = 4 * g;
            const int sy = s / SH_W;                     // compile-time divisor: a multiply and a shift
            const int sx = s - sy * SH_W;
            const int gy = y0 + sy, gx = x0 + sx;
            const bool row_in = gy >= 0 && gy < height;
            if (vec) {                                   // the group is wholly inside or wholly outside
                const bool real = row_in && gx >= 0 && gx < width;
                const float* src = real ? in + (index_t)gy * width + gx : in;
#if defined(ASYNC_COPY)
                const unsigned dst = (unsigned)__cvta_generic_to_shared(tile + s);
                asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                             :: "r"(dst), "l"(src), "r"(real ? 16 : 0) : "memory");   // 0 bytes read: zero fill
#else
                float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (real) v = __ldg(reinterpret_cast<const float4*>(src));
                *reinterpret_cast<float4*>(tile + s) = v;
#endif
            } else {
                float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                if (row_in) {
                    const float* row = in + (index_t)gy * width;
                    if (gx >= 0 && gx < width) v.x = row[gx];
                    if (gx + 1 >= 0 && gx + 1 < width) v.y = row[gx + 1];
                    if (gx + 2 >= 0 && gx + 2 < width) v.z = row[gx + 2];
                    if (gx + 3 >= 0 && gx + 3 < width) v.w = row[gx + 3];
                }
                *reinterpret_cast<float4*>(tile + s) = v;
            }
#if defined(RECORD)
            for (int j = 0; j < 4; ++j) {
                RECORD_LOAD(s + j, phase, sy, sx + j, gy, gx + j, !inside(gy, gx + j, height, width));
            }
#endif
        }
    }
#if defined(ASYNC_COPY)
    asm volatile("cp.async.wait_all;\n" ::: "memory");   // this thread's copies landed; the barrier follows
#endif
}
#endif

#if defined(CONV_REGISTER2D)
extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_register2d(const float* __restrict__ in, float* __restrict__ out, int height, int width RECORD_PARAMS)
{
    extern __shared__ float tile[];   // SH_H x SH_W
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
#if defined(RECORD)
    load_tile_vec4(in, tile, y0 - RADIUS, x0 - HALO_X, height, width, rec, rec_blocks, n_rec);
#else
    load_tile_vec4(in, tile, y0 - RADIUS, x0 - HALO_X, height, width);
#endif
    __syncthreads();

    const int row0 = ty * REG_ROWS, col0 = tx * REG_COLS;   // first shared row; aligned window start
    float acc[REG_ROWS][REG_COLS];
    register2d_sums(tile, acc);

    const int x = x0 + col0;
    if (x >= width) return;
    const bool vec = (width & 3) == 0 && aligned16(out);   // then x + 3 < width too
#pragma unroll
    for (int i = 0; i < REG_ROWS; ++i) {
        const int y = y0 + row0 + i;
        if (y >= height) break;
        float* dst = out + (index_t)y * width + x;
        if (vec) {
            *reinterpret_cast<float4*>(dst) = make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
        } else {
#pragma unroll
            for (int j = 0; j < REG_COLS; ++j) {
                if (x + j < width) dst[j] = acc[i][j];
            }
        }
    }
}
#endif

// ------------------------------------------------------------------------------------------------
// tma: register2d's tiles and sums, with the shared tile filled by the Tensor Memory Accelerator.
//
// Thread (0, 0) issues one 2-D bulk tensor copy of the whole SH_H x SH_W shared tile, whose top-left is
// input (y0 - RADIUS, x0 - HALO_X) with HALO_X = RADIUS rounded up to 8, so that each row of the copy
// starts on a 32-byte sector (rows starting 16 bytes before one made the copy 7% slower on the H200; the
// extra columns cost less); each thread's window skips the WIN_SKIP float4s left of its taps. The copy engine fetches the in-image part and zero-fills the rest
// (the ghost cells: nothing is read for them), then signals an mbarrier with the bytes it wrote. Every
// thread waits on that barrier, computes its REG_ROWS x 4 sums as register2d does, and stores them into a
// TILE_H x TILE_W staging tile in shared memory; thread (0, 0) then writes the staging tile to the output
// with one tensor store, which the copy engine clips at the image edge.
//
// tmap_in and tmap_out are CUtensorMap descriptors (128 bytes, 64-byte aligned, in global memory) that the
// launcher builds with cuTensorMapEncodeTiled: float32, 2-D {width, height}, rows `pitch` floats apart
// (pitch * 4 a multiple of 16), boxes {SH_W, SH_H} (input) and {TILE_W, TILE_H} (output), zero fill.
// `in` and `pitch` are read only by the instrumented build (RECORD): after the copy landed, every slot is
// compared with what the copy should have put there (the input element, or 0 for a ghost cell); a slot
// that matches is recorded as loaded by thread (0, 0) in phase 0, a slot that does not stays unrecorded.
// Needs compute capability 9.0 (sm_90) or newer.
// ------------------------------------------------------------------------------------------------
#if defined(CONV_TMA)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#error "tma needs the Tensor Memory Accelerator: compute capability 9.0 (sm_90) or newer"
#endif

#define TMA_TILE_BYTES (SH_H * SH_W * 4)                       // what the copy writes (ghost cells too)
#define TMA_STAGE_OFFSET (((SH_H * SH_W + 31) / 32) * 32)      // floats: staging tile 128-byte aligned

__device__ __forceinline__ unsigned shared_address(const void* p)
{
    return (unsigned)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void tma_wait(unsigned bar, unsigned parity)
{
    asm volatile("{\n"
                 ".reg .pred done;\n"
                 "TMA_WAIT_%=:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
                 "@!done bra TMA_WAIT_%=;\n"
                 "}\n" :: "r"(bar), "r"(parity) : "memory");
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
conv_tma(const void* __restrict__ tmap_in, const void* __restrict__ tmap_out, const float* __restrict__ in,
         int height, int width, int pitch RECORD_PARAMS)
{
    extern __shared__ __align__(128) float smem[];
    float* tile = smem;                                         // SH_H x SH_W, filled by the copy engine
    float* stage = smem + TMA_STAGE_OFFSET;                     // TILE_H x TILE_W, read by the tensor store
    unsigned long long* bar = reinterpret_cast<unsigned long long*>(stage + TILE_H * TILE_W);
    const int ty = (int)threadIdx.y, tx = (int)threadIdx.x;
    const bool leader = ty == 0 && tx == 0;
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
    const unsigned bar_addr = shared_address(bar);

    if (leader) {
        asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" :: "r"(bar_addr) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");   // visible to the copy engine
    }
    __syncthreads();
    if (leader) {
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;"
                     :: "r"(bar_addr), "r"(TMA_TILE_BYTES) : "memory");
        asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
                     " [%0], [%1, {%2, %3}], [%4];"
                     :: "r"(shared_address(tile)), "l"(tmap_in), "r"(x0 - HALO_X), "r"(y0 - RADIUS), "r"(bar_addr)
                     : "memory");
    }
    tma_wait(bar_addr, 0);                                      // the tile has landed

#if defined(RECORD)
    RECORD_SETUP
    for (int s = ty * BLOCK_X + tx; s < SLOTS; s += NTHREADS) {
        const int sy = s / SH_W, sx = s - (s / SH_W) * SH_W;
        const int gy = y0 - RADIUS + sy, gx = x0 - HALO_X + sx;
        const bool ghost = !inside(gy, gx, height, width);
        const float want = ghost ? 0.0f : in[(index_t)gy * pitch + gx];
        if (__float_as_uint(tile[s]) == __float_as_uint(want)) record_slot(rec, rec_index, s, 0, 0, 0, sy, sx, gy, gx, ghost);
    }
#endif

    float acc[REG_ROWS][REG_COLS];
    register2d_sums(tile, acc);
    const int row0 = ty * REG_ROWS, col0 = tx * REG_COLS;
#pragma unroll
    for (int i = 0; i < REG_ROWS; ++i) {
        *reinterpret_cast<float4*>(stage + (row0 + i) * TILE_W + col0) =
            make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
    }
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");   // the copy engine sees the stores
    __syncthreads();
    if (leader) {
        asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%1, %2}], [%3];"
                     :: "l"(tmap_out), "r"(x0), "r"(y0), "r"(shared_address(stage)) : "memory");
        asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");   // done before the block's memory goes
    }
}
#endif

// ------------------------------------------------------------------------------------------------
// tensorcore: the convolution as banded (Toeplitz) matrix products on the tensor cores, mma.sync, with
// fp32 accuracy recovered by a TF32 + BF16 split: two MMAs per product instead of 3xTF32's three.
//
// Block TILE_H / 16 warps x 32 lanes; output tile TILE_H x 64. Warp w = threadIdx.y computes output rows
// 16 w .. 16 w + 15, all 64 columns: eight 16 x 8 MMA tiles side by side (n-tile u = columns 8u .. 8u + 7).
//
// For mask row k, the outputs of one 16 x 8 tile are a matrix product over input columns:
//     D[m, n] += sum_c A_k[m, c] B_k[c, n],  A_k[m, c] = tile[16 w + m + k][c],
//     B_k[c, n] = M[k, c - n + d]  (0 where the tap c - n + d is outside 0 .. MASK - 1),
// with d = RADIUS - HALO_X (-3 .. 0): the band of B_k has MASK taps on each column. Chunked into MMAs
// of 8 input columns, n-tile u at step s reads chunk q = u + s (shared columns 8q ..) and B_k's rows
// 8s .. 8s + 7, taps 8s + c - n + d: the B fragments of a step are the same for every n-tile, and a
// chunk serves every (u, s) with u + s = q, so each chunk of A is loaded once per mask row and used up
// to TC_STEPS times.
//
// The split. x = h + l with h = tf32(x) (cvt.rna's value, see to_tf32) and l = x - h (exact); the mask
// M = H + L likewise (on the host).
//     x M ~ h H  +  (l H + x L)
// h H is one m16n8k8 TF32 MMA (exact products, fp32 sums). The two corrections are about 2^-11 of the
// product, so they are computed in BF16 (8-bit significands), which leaves them about 2^-20 off: both go
// into one m16n8k16 BF16 MMA whose K dimension holds the chunk's 8 columns twice, [l | x] . [H ; L].
// One TF32 k8 and one BF16 k16 MMA take the tensor cores the same time, so a product costs 2 MMA slots
// (3xTF32 costs 3). Relative error ~7e-7 against float64 (3xTF32: ~1e-7; fp32 FMA: 1e-7 .. 3e-7), inside
// the 1e-5 every strategy is tested to (tests/engine/test_conv_tensorcore.py).
//
// Fragments (PTX ISA; lane = 4 g + t):
//   TF32 m16n8k8   A: a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); B: b0 (t, g), b1 (t + 4, g)
//   BF16 m16n8k16  A: {a0,a1} (g, 2t | 2t+1), {a2,a3} (g + 8, ..), {a4,a5} (g, 2t+8 | 2t+9), {a6,a7} (g + 8, ..)
//                  B: {b0,b1} (2t | 2t+1, g), {b2,b3} (2t+8 | 2t+9, g)
//   C, D (both):   c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1)
// The K index is a summation index, so any order of a chunk's 8 input columns works if A and B agree:
// TF32 kk = t is chunk column 2t and kk = t + 4 column 2t + 1; BF16 k = 2t, 2t + 1 are columns 2t, 2t + 1
// (the l parts) and k = 2t + 8, 2t + 9 the same columns again (the x parts). A lane's four inputs per
// chunk, (g | g + 8, 2t | 2t + 1), then feed both MMAs: two 8-byte shared loads, split in registers
// (2 integer instructions for h, an FADD for l, per element; one cvt.rn.bf16x2 per pair).
// SH_W is 8 mod 16, so the 16 lanes of a half-warp (4 rows g x 8 columns) hit 32 different banks.
//
// B comes from `band`, built on the host by engine.conv_mma.band_records: for mask row k and index
// j = tap + 7 - d, a 16-byte record {H[tap], H[tap + 1], bf16x2(H[tap], H[tap + 1]), bf16x2(L[tap],
// L[tap + 1])} (zero outside the mask), TC_BAND_ROW records a row; a lane's record for step s is
// j = 7 + 2t - g + 8s, one 16-byte load holding its TF32 b0, b1 and its BF16 {b0,b1}, {b2,b3}.
// The tensor cores add into their fp32 accumulator with truncation, which biases long chains: each mask
// row's MMAs start from zero and are added to the thread's sums by ordinary (rounded) FADDs.
// Non-finite inputs reach up to 7 columns past their taps (0 * inf in the band's zeros), so NaN spreads
// wider than with the fp32 strategies.
// ------------------------------------------------------------------------------------------------
#if defined(CONV_TENSORCORE)
#if !defined(HALO_X) || !defined(TC_STEPS) || !defined(TC_BAND_ROW)
#error "tensorcore: the launcher must define HALO_X, TC_STEPS and TC_BAND_ROW"
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "tensorcore needs mma.sync m16n8k8 TF32 and m16n8k16 BF16: compute capability 8.0 (sm_80) or newer"
#endif
#define TC_WARP_ROWS 16
#define TC_NT (TILE_W / 8)                           // n-tiles per warp: one warp spans the tile's columns
#define TC_D (RADIUS - HALO_X)
#define TC_CHUNKS (TC_NT + TC_STEPS - 1)             // A chunks per warp and mask row
static_assert(TILE_W == 64 && BLOCK_X == 32, "tensorcore: 64-column tiles, one warp per threadIdx.y");
static_assert(TILE_H % TC_WARP_ROWS == 0 && BLOCK_Y == TILE_H / TC_WARP_ROWS, "tensorcore block");
static_assert(HALO_X % 4 == 0 && HALO_X >= RADIUS && HALO_X < RADIUS + 4, "tensorcore: HALO_X = RADIUS rounded up to 4");
static_assert(SH_H == TILE_H + 2 * RADIUS && SH_W % 16 == 8 && SH_W >= TILE_W + 2 * HALO_X, "tensorcore shared tile");
static_assert(TC_STEPS == (MASK + 6 - TC_D) / 8 + 1, "tensorcore: TC_STEPS reaches every tap");
static_assert(TC_BAND_ROW >= 8 * TC_STEPS + 6, "tensorcore: a band row holds every record a lane reads");
static_assert(8 * TC_CHUNKS <= SH_W, "the warp's chunks stay in the tile");

// tf32(x) rounded to nearest, ties away from zero: cvt.rna.tf32.f32's result for every x but a NaN whose
// payload lies only in the 13 dropped bits (that one becomes an infinity here, and l = x - h a NaN, so the
// outputs it reaches are NaN as before). Two integer instructions where cvt.rna takes four on sm_90
// (FSETP, VIADD, SEL, LOP3); the MMA reads only the upper 19 bits of a register, so it gets x + 2^12 and
// the compiler drops the mask there.
__device__ __forceinline__ float to_tf32(float x)
{
    return __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
}

__device__ __forceinline__ unsigned pack_bf16(float lo, float hi)   // lo in bits 0 .. 15, both rounded to nearest
{
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], float a0, float a1, float a2, float a3, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(__float_as_uint(a0)), "r"(__float_as_uint(a1)), "r"(__float_as_uint(a2)),
                   "r"(__float_as_uint(a3)), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void mma_bf16(float (&d)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

#if defined(TC_MIN_BLOCKS)   // a benchmark knob (bench/conv_micro/tc_mixed.py): __launch_bounds__'s minimum blocks per SM
extern "C" __global__ void __launch_bounds__(NTHREADS, TC_MIN_BLOCKS)
#else
extern "C" __global__ void __launch_bounds__(NTHREADS)
#endif
conv_tensorcore(const float* __restrict__ in, const uint4* __restrict__ band, float* __restrict__ out,
                int height, int width RECORD_PARAMS)
{
    extern __shared__ __align__(16) float tile[];        // SH_H x SH_W: the input tile, as loaded
    const int y0 = (int)blockIdx.y * TILE_H, x0 = (int)blockIdx.x * TILE_W;
#if defined(RECORD)
    load_tile_vec4(in, tile, y0 - RADIUS, x0 - HALO_X, height, width, rec, rec_blocks, n_rec);
#else
    load_tile_vec4(in, tile, y0 - RADIUS, x0 - HALO_X, height, width);
#endif
    __syncthreads();                                      // the whole tile has landed

    const int lane = (int)threadIdx.x, warp = (int)threadIdx.y;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = warp * TC_WARP_ROWS;                 // the warp's first output row in the tile

    float acc[TC_NT][4];
#pragma unroll
    for (int u = 0; u < TC_NT; ++u) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[u][j] = 0.0f;
    }

#pragma unroll 1
    for (int k = 0; k < MASK; ++k) {
        uint4 b[TC_STEPS];                                // step s: {H, H, bf16x2 H, bf16x2 L} for this lane
        const uint4* brow = band + k * TC_BAND_ROW + 7 + 2 * t - g;
#pragma unroll
        for (int s = 0; s < TC_STEPS; ++s) b[s] = __ldg(brow + 8 * s);
        float part[TC_NT][4];                             // this mask row's sums, from zero
#pragma unroll
        for (int u = 0; u < TC_NT; ++u) {
#pragma unroll
            for (int j = 0; j < 4; ++j) part[u][j] = 0.0f;
        }
        const float* a = tile + (row0 + k + g) * SH_W + 2 * t;   // (g, 2t .. 2t + 1) of chunk 0; g + 8 below
#pragma unroll
        for (int q = 0; q < TC_CHUNKS; ++q) {
            const float2 xa = *reinterpret_cast<const float2*>(a + 8 * q);
            const float2 xb = *reinterpret_cast<const float2*>(a + 8 * SH_W + 8 * q);
            const float ha0 = to_tf32(xa.x), ha1 = to_tf32(xa.y), hb0 = to_tf32(xb.x), hb1 = to_tf32(xb.y);
            const unsigned la = pack_bf16(xa.x - ha0, xa.y - ha1), lb = pack_bf16(xb.x - hb0, xb.y - hb1);
            const unsigned pa = pack_bf16(xa.x, xa.y), pb = pack_bf16(xb.x, xb.y);
#pragma unroll
            for (int s = 0; s < TC_STEPS; ++s) {
                const int u = q - s;                       // the n-tile this chunk serves at step s
                if (u >= 0 && u < TC_NT) {
                    mma_bf16(part[u], la, lb, pa, pb, b[s].z, b[s].w);   // the corrections first
                    mma_tf32(part[u], ha0, hb0, ha1, hb1, b[s].x, b[s].y);
                }
            }
        }
#pragma unroll
        for (int u = 0; u < TC_NT; ++u) {
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[u][j] += part[u][j];
        }
    }

    // c0, c1 at (g, 2t .. 2t + 1), c2, c3 at (g + 8, ..) of each n-tile
    const bool pairs = (width & 1) == 0 && ((unsigned long long)out & 7ull) == 0;
#pragma unroll
    for (int u = 0; u < TC_NT; ++u) {
        const int x = x0 + 8 * u + 2 * t;
        if (x >= width) continue;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int y = y0 + row0 + g + 8 * half;
            if (y >= height) continue;
            float* dst = out + (index_t)y * width + x;
            if (pairs) {   // x is even, so x + 1 < width too
                *reinterpret_cast<float2*>(dst) = make_float2(acc[u][2 * half], acc[u][2 * half + 1]);
            } else {
                dst[0] = acc[u][2 * half];
                if (x + 1 < width) dst[1] = acc[u][2 * half + 1];
            }
        }
    }
}
#endif
