"""The tensorcore strategy's MMA arithmetic (engine.conv_mma) and its CPU emulation against scipy.

Which input element lands in which fragment of which MMA, which lane holds what (PTX ISA, mma.m16n8k8
.tf32 and mma.m16n8k16 .bf16), that the banded B matrices give every output every tap exactly once, that
the band records hold them, the TF32 + BF16 split, and the
emulated strategy (built from those fragments) against scipy for masks 1..31 on sizes that are not
multiples of the tile.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import correlate

from engine import conv_mma
from engine.conv_emulator import emulate
from engine.tiling import geometry, tensorcore_offset, tensorcore_steps

TOLERANCE = 1e-5  # relative L2 error, as for every strategy on the GPU


def test_fragment_layouts_are_the_ptx_isas() -> None:
    """Lane 4g + t: A (g, t) (g+8, t) (g, t+4) (g+8, t+4); B (t, g) (t+4, g); C (g, 2t) (g, 2t+1) ..."""
    a_rows, a_cols = conv_mma.a_fragment_layout()
    b_rows, b_cols = conv_mma.b_fragment_layout()
    c_rows, c_cols = conv_mma.c_fragment_layout()
    lane = 4 * 5 + 3  # g = 5, t = 3
    assert list(zip(a_rows[lane], a_cols[lane], strict=True)) == [(5, 3), (13, 3), (5, 7), (13, 7)]
    assert list(zip(b_rows[lane], b_cols[lane], strict=True)) == [(3, 5), (7, 5)]
    assert list(zip(c_rows[lane], c_cols[lane], strict=True)) == [(5, 6), (5, 7), (13, 6), (13, 7)]
    for rows, cols, shape in ((a_rows, a_cols, (16, 8)), (b_rows, b_cols, (8, 8)), (c_rows, c_cols, (16, 8))):
        seen = np.zeros(shape, np.int32)
        np.add.at(seen, (rows, cols), 1)
        assert (seen == 1).all(), "every element held by exactly one lane and register"


def test_k_order_puts_a_lanes_pair_side_by_side() -> None:
    kk = np.arange(8)
    assert sorted(conv_mma.chunk_column(kk).tolist()) == list(range(8))
    t = np.arange(4)
    np.testing.assert_array_equal(conv_mma.chunk_column(t + 4), conv_mma.chunk_column(t) + 1)  # a2 next to a0


@pytest.mark.parametrize("k", range(1, 34, 2))
def test_every_output_gets_every_tap_exactly_once(k: int) -> None:
    """Over the steps s and MMA rows kk, output column n of an MMA tile meets tap l exactly once, from input
    column 8s + chunk_column(kk) - h (relative to the tile's first output), which is n + l - r."""
    geo = geometry(64, 64, k, "tensorcore", 16)
    r, h = geo.radius, geo.halo_cols
    assert tensorcore_offset(k) == r - h and -3 <= r - h <= 0
    for n in range(8):
        seen = np.zeros(k, np.int32)
        for s in range(tensorcore_steps(k)):
            band = conv_mma.band_matrix(geo, s)  # (8, 8)
            for kk in range(8):
                tap = int(band[kk, n])
                if tap >= 0:
                    seen[tap] += 1
                    column = 8 * s + int(conv_mma.chunk_column(kk)) - h
                    assert column == n + tap - r
        assert (seen == 1).all(), f"K={k}, output column {n}: taps seen {seen.tolist()}"
    last = conv_mma.band_matrix(geo, tensorcore_steps(k) - 1)
    assert (last >= 0).any(), "the last step holds a tap (no step is wasted)"


@pytest.mark.parametrize(("k", "step"), [(3, 0), (15, 2), (31, 4)])
def test_b_fragments_are_the_band(k: int, step: int) -> None:
    geo = geometry(64, 64, k, "tensorcore", 16)
    band = conv_mma.band_matrix(geo, step)
    rows, cols = conv_mma.b_fragment_layout()
    np.testing.assert_array_equal(conv_mma.b_taps(geo, 0, step), band[rows, cols])


@pytest.mark.parametrize(
    ("k", "tile", "warp", "row", "chunk"), [(5, 16, 0, 2, 8), (31, 64, 3, 30, 11), (1, 32, 1, 0, 0)]
)
def test_a_fragments_hold_the_right_input(k: int, tile: int, warp: int, row: int, chunk: int) -> None:
    """A[m, kk] of warp w, mask row k, chunk q is input (y0 + row0 + m + k - r, x0 + col0 + 8q + c(kk) - h),
    and the load plan put exactly that element in the slot the lane reads."""
    geo = geometry(301, 450, k, "tensorcore", tile)
    block = (geo.grid[0] - 1, 1)
    plan = geo.load_plan(*block)
    slot_input = {
        (int(y), int(x)): (int(iy), int(ix))
        for y, x, iy, ix in zip(plan.smem_y, plan.smem_x, plan.in_y, plan.in_x, strict=True)
    }
    ys, xs = conv_mma.a_sources(geo, warp, row, chunk)
    a_rows, a_kk = conv_mma.a_fragment_layout()
    row0, col0 = conv_mma.warp_origin(geo, warp)
    y0, x0 = geo.out_origin(*block)
    for lane in range(32):
        for j in range(4):
            m, c = int(a_rows[lane, j]), int(conv_mma.chunk_column(a_kk[lane, j]))
            want = (y0 + row0 + m + row - geo.radius, x0 + col0 + 8 * chunk + c - geo.halo_cols)
            assert slot_input[(int(ys[lane, j]), int(xs[lane, j]))] == want


def test_thread_outputs_are_the_accumulator_layout() -> None:
    geo = geometry(40, 70, 3, "tensorcore", 32)
    ty, tx, oy, ox = geo.thread_outputs(0, 0)
    owner = {(int(y), int(x)): (int(w), int(lane)) for w, lane, y, x in zip(ty, tx, oy, ox, strict=True)}
    c_rows, c_cols = conv_mma.c_fragment_layout()
    for warp in range(geo.block[0]):
        row0, col0 = conv_mma.warp_origin(geo, warp)
        for lane in range(32):
            for j in range(4):
                for u in range(conv_mma.N_TILES):
                    y, x = row0 + int(c_rows[lane, j]), col0 + 8 * u + int(c_cols[lane, j])
                    if y < 40 and x < 70:
                        assert owner[(y, x)] == (warp, lane)


def test_tf32_and_bf16_rounding_and_split() -> None:
    one = np.float32(1.0)
    ulp = np.float32(2.0**-10)  # TF32's spacing at 1
    x = np.array([1 + 2.0**-11, 1 + 3 * 2.0**-12, 1 + 2.0**-12, -(1 + 2.0**-11), np.inf, 0.0], np.float32)
    got = conv_mma.tf32_round(x)
    np.testing.assert_array_equal(got[:4], [one + ulp, one + ulp, one, -(one + ulp)])  # ties away from zero
    assert got[4] == np.inf and got[5] == 0.0
    b = np.float32(2.0**-7)  # BF16's spacing at 1
    y = np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-9, -(1 + 3 * 2.0**-8), np.inf, np.nan], np.float32)
    got = conv_mma.bf16_round(y)
    np.testing.assert_array_equal(got[:4], [one, one + 2 * b, one, -(one + 2 * b)])  # ties to even
    assert got[4] == np.inf and np.isnan(got[5])
    assert np.isnan(conv_mma.bf16_round(np.array([0x7F800001], np.uint32).view(np.float32)))[0]
    rng = np.random.default_rng(1)
    values = (rng.standard_normal(10_000) * np.exp(rng.uniform(-20, 20, 10_000))).astype(np.float32)
    h, low = conv_mma.split(values)
    assert (conv_mma.tf32_round(h) == h).all() and (conv_mma.tf32_truncate(h) == h).all()
    assert (h.astype(np.float64) + low.astype(np.float64) == values.astype(np.float64)).all()  # exact
    assert (np.abs(low) <= 2.0**-11 * np.abs(values)).all()
    assert (conv_mma.bf16_round(values).view(np.uint32) & 0xFFFF == 0).all()


@pytest.mark.parametrize("k", range(1, 32, 2))
@pytest.mark.parametrize(("shape", "tile"), [((37, 53), 16), ((90, 131), 32), ((70, 65), 64)])
def test_emulated_tensorcore_matches_scipy(shape: tuple[int, int], tile: int, k: int) -> None:
    rng = np.random.default_rng([shape[0], k])
    image = rng.standard_normal(shape).astype(np.float32)
    mask = rng.standard_normal((k, k)).astype(np.float32)
    out, _, counters = emulate(image, mask, "tensorcore", tile)
    ref = correlate(image.astype(np.float64), mask.astype(np.float64), mode="constant")
    err = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
    assert err < TOLERANCE, f"relative L2 error {err:.2e}"
    assert counters.outputs == shape[0] * shape[1]


def test_the_bf16_corrections_are_what_fp32_accuracy_needs() -> None:
    """Why the split: h H alone misses the tolerance by far; h H + bf16(l) bf16(H) + bf16(x) bf16(L) meets
    it 10x over, and dropping either correction does not."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((1000, 225)).astype(np.float32)
    m = rng.standard_normal(225).astype(np.float32)
    exact = a.astype(np.float64) @ m.astype(np.float64)
    (h, low), (mh, ml) = conv_mma.split(a), conv_mma.split(m)

    def f64(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64)

    def bf(x: np.ndarray) -> np.ndarray:
        return conv_mma.bf16_round(x).astype(np.float64)

    one = f64(h) @ f64(mh)
    no_l = one + bf(a) @ bf(ml)
    no_x = one + bf(low) @ bf(mh)
    both = one + bf(low) @ bf(mh) + bf(a) @ bf(ml)

    def rel(x: np.ndarray) -> float:
        return float(np.linalg.norm(x - exact) / np.linalg.norm(exact))

    assert rel(one) > 10 * TOLERANCE and rel(no_l) > 5 * TOLERANCE and rel(no_x) > 5 * TOLERANCE
    assert rel(both) < TOLERANCE / 10


def test_mma_counts_at_8192_with_mask_15() -> None:
    """128 x 128 blocks of 4 warps; per warp 15 mask rows x 8 n-tiles x 3 steps products, 2 MMAs each."""
    counts = conv_mma.mma_counts(geometry(8192, 8192, 15, "tensorcore", 64))
    products = 128 * 128 * 4 * 15 * 8 * 3
    assert counts.mmas == 2 * products
    assert counts.tensor_flops == products * (2048 + 4096)  # TF32 m16n8k8 + BF16 m16n8k16
    assert counts.useful_flops == 2 * 225 * 8192**2
    assert counts.steps == 3 and counts.chunks == 10 and counts.band_efficiency == pytest.approx(15 / 24)
    assert counts.split_passes == 2
    # the BF16 MMA does twice the FLOPs in the same time: 3x the band's work in 2 MMA slots
    assert counts.tensor_flops / counts.useful_flops == pytest.approx(3 * 24 / 15)


@pytest.mark.parametrize(("k", "step"), [(3, 0), (9, 1), (15, 2), (31, 4)])
def test_band_records_hold_each_lanes_b_fragments(k: int, step: int) -> None:
    """The record lane 4g + t reads at a step holds H and bf16(H), bf16(L) of exactly the taps b_taps names
    (zero where the band is zero), in the registers the TF32 and BF16 MMAs take."""
    geo = geometry(64, 64, k, "tensorcore", 16)
    rng = np.random.default_rng(k)
    mask = rng.standard_normal((k, k)).astype(np.float32)
    rec = conv_mma.band_records(geo, mask)
    h, low = conv_mma.split(mask)
    lane = np.arange(32)
    g, t = lane >> 2, lane & 3
    for row in (0, k - 1):
        r = rec[row, 7 + 2 * t - g + 8 * step]  # (32, 4)
        taps = conv_mma.b_taps(geo, row, step)  # (32, 2): TF32 b0, b1 = BF16 {b0, b1} = BF16 {b2, b3}
        for j in range(2):
            real = taps[:, j] >= 0
            want_h = np.where(real, h[row, np.maximum(taps[:, j], 0)], 0).astype(np.float32)
            np.testing.assert_array_equal(r[:, j].view(np.float32), want_h)
            for word, src in ((2, h), (3, low)):
                half = (r[:, word] >> (16 * j)) & 0xFFFF
                want = np.where(real, conv_mma.bf16_round(src[row, np.maximum(taps[:, j], 0)]), 0)
                np.testing.assert_array_equal((half << 16).astype(np.uint32).view(np.float32), want)


def test_bf16_fragment_layouts_are_the_ptx_isas() -> None:
    """m16n8k16 .bf16, lane 4g + t: A (g, 2t) (g, 2t+1) (g+8, 2t) (g+8, 2t+1) (g, 2t+8) ..; B (2t, g)
    (2t+1, g) (2t+8, g) (2t+9, g); K index k16 is chunk column k16 % 8, l part below 8, x part above."""
    a_rows, a_cols = conv_mma.a16_fragment_layout()
    b_rows, b_cols = conv_mma.b16_fragment_layout()
    lane = 4 * 5 + 3  # g = 5, t = 3
    assert list(zip(a_rows[lane], a_cols[lane], strict=True)) == [
        (5, 6),
        (5, 7),
        (13, 6),
        (13, 7),
        (5, 14),
        (5, 15),
        (13, 14),
        (13, 15),
    ]
    assert list(zip(b_rows[lane], b_cols[lane], strict=True)) == [(6, 5), (7, 5), (14, 5), (15, 5)]
    for rows, cols, shape in ((a_rows, a_cols, (16, 16)), (b_rows, b_cols, (16, 8))):
        seen = np.zeros(shape, np.int32)
        np.add.at(seen, (rows, cols), 1)
        assert (seen == 1).all(), "every element held by exactly one lane and register"
    col, part = conv_mma.bf16_source(np.arange(16))
    assert col.tolist() == list(range(8)) * 2 and part.tolist() == [0] * 8 + [1] * 8
    # a lane's BF16 A columns are the chunk columns its TF32 A holds: one load feeds both MMAs
    _, kk = conv_mma.a_fragment_layout()
    tf32_cols = sorted(set(conv_mma.chunk_column(kk[lane]).tolist()))
    assert sorted(set(conv_mma.bf16_source(a_cols[lane])[0].tolist())) == tf32_cols


def test_fragment_functions_refuse_other_strategies_and_bad_indices() -> None:
    with pytest.raises(ValueError, match="tensorcore"):
        conv_mma.warp_origin(geometry(64, 64, 3, "tma", 16), 0)
    geo = geometry(64, 64, 3, "tensorcore", 16)
    with pytest.raises(IndexError, match="warp 1"):
        conv_mma.warp_origin(geo, 1)
    with pytest.raises(IndexError, match="chunk 9"):
        conv_mma.a_sources(geo, 0, 0, 9)
    with pytest.raises(IndexError, match="step 2"):
        conv_mma.b_taps(geo, 0, 2)
