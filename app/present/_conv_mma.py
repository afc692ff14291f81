"""The "Tensor cores" tab: one MMA of the tensorcore strategy, and the roofline of every strategy."""

from __future__ import annotations

import numpy as np

from app.display import MmaDisplay, RooflineDisplay, RooflinePoint
from engine import conv_mma, conv_roofline, tiling
from engine.tiling import TileGeometry

__all__ = ["mma_display", "roofline_display"]


def _clamp(v: int, hi: int) -> int:
    return min(max(0, int(v)), hi)


def mma_display(geom: TileGeometry, by: int, bx: int, warp: int, k: int, chunk: int) -> MmaDisplay | None:
    """The A, B and D matrices of warp ``warp``'s MMAs for mask row ``k`` and input chunk ``chunk`` of block
    ``(by, bx)`` (each clamped to its range); None unless the strategy is tensorcore."""
    if geom.strategy not in tiling.TENSOR_STRATEGIES:
        return None
    steps = tiling.tensorcore_steps(geom.mask_size)
    chunks = conv_mma.N_TILES + steps - 1
    warp, k, chunk = _clamp(warp, geom.block[0] - 1), _clamp(k, geom.mask_size - 1), _clamp(chunk, chunks - 1)
    ys, xs = conv_mma.a_sources(geom, warp, k, chunk)  # (32, 4) shared slots
    oy, ox = geom.shared_origin(by, bx)
    a_rows, a_kk = conv_mma.a_fragment_layout()
    a_in_y = np.zeros((16, 8), np.int32)
    a_in_x = np.zeros((16, 8), np.int32)
    a_lane = np.zeros((16, 8), np.int32)
    a_reg = np.zeros((16, 8), np.int32)
    lanes = np.broadcast_to(np.arange(32, dtype=np.int32)[:, None], (32, 4))
    regs = np.broadcast_to(np.arange(4, dtype=np.int32)[None, :], (32, 4))
    a_in_y[a_rows, a_kk] = ys + oy
    a_in_x[a_rows, a_kk] = xs + ox
    a_lane[a_rows, a_kk], a_reg[a_rows, a_kk] = lanes, regs
    ghost = (a_in_y < 0) | (a_in_y >= geom.height) | (a_in_x < 0) | (a_in_x >= geom.width)
    b_rows, b_cols = conv_mma.b_fragment_layout()
    b_lane = np.zeros((8, 8), np.int32)
    b_reg = np.zeros((8, 8), np.int32)
    b_lane[b_rows, b_cols] = lanes[:, :2]
    b_reg[b_rows, b_cols] = regs[:, :2]
    c_rows, c_cols = conv_mma.c_fragment_layout()
    c_lane = np.zeros((16, 8), np.int32)
    c_reg = np.zeros((16, 8), np.int32)
    c_lane[c_rows, c_cols], c_reg[c_rows, c_cols] = lanes, regs
    b_taps = np.stack([conv_mma.band_matrix(geom, s) for s in range(steps)])  # (steps, 8, 8)
    serves = tuple((chunk - s, s) for s in range(steps) if 0 <= chunk - s < conv_mma.N_TILES)
    row0, col0 = conv_mma.warp_origin(geom, warp)
    y0, x0 = geom.out_origin(by, bx)
    feeds = "; ".join(
        f"n-tile {u} (output columns {x0 + col0 + 8 * u}..{x0 + col0 + 8 * u + 7}) at step {s}"
        for u, s in serves
    )
    text = (
        f"Warp {warp} computes output rows {y0 + row0}..{y0 + row0 + 15}, columns "
        f"{x0 + col0}..{x0 + col0 + 8 * conv_mma.N_TILES - 1} as {conv_mma.N_TILES} MMA tiles of 16×8. For "
        f"mask row {k}, A is 16 input rows × 8 "
        f"input columns (chunk {chunk} of {chunks}); it feeds {feeds}. B is the band of mask row {k}: "
        f"B[kk, n] = M[{k}, 8s + c(kk) − n {tiling.tensorcore_offset(geom.mask_size):+d}], zero outside the "
        f"mask. Each product is 2 MMAs, accumulating in fp32: TF32 h·H (h = tf32(x), H = tf32(M)), shown "
        f"here, and BF16 [l | x]·[H ; L] (l = x − h, L = M − H), whose K of 16 holds the same 8 columns "
        f"twice, from the same 4 inputs a lane holds."
    )
    a16_column = conv_mma.bf16_source(np.arange(16))[0].astype(np.int32)
    r16, k16 = conv_mma.a16_fragment_layout()  # (32, 8): the BF16 A's halves a0..a7 of each lane
    a16_lane = np.zeros((16, 16), np.int32)
    a16_reg = np.zeros((16, 16), np.int32)
    a16_lane[r16, k16] = np.broadcast_to(np.arange(32, dtype=np.int32)[:, None], (32, 8))
    a16_reg[r16, k16] = np.broadcast_to(np.arange(8, dtype=np.int32)[None, :], (32, 8))
    return MmaDisplay(
        title=f"block ({by}, {bx}), warp {warp}, mask row {k}, chunk {chunk}",
        a_in_y=a_in_y,
        a_in_x=a_in_x,
        a_ghost=ghost,
        a_lane=a_lane,
        a_reg=a_reg,
        b_taps=b_taps,
        b_lane=b_lane,
        b_reg=b_reg,
        c_lane=c_lane,
        c_reg=c_reg,
        kk_column=conv_mma.chunk_column(np.arange(8)),
        serves=serves,
        warp=warp,
        chunk=chunk,
        mask_row=k,
        mask_size=geom.mask_size,
        warps=geom.block[0],
        chunks=chunks,
        text=text,
        a16_lane=a16_lane,
        a16_reg=a16_reg,
        a16_column=a16_column,
        a16_kk=np.argsort(conv_mma.chunk_column(np.arange(8)))[a16_column].astype(np.int32),
    )


def roofline_display(card: str, mask_size: int) -> RooflineDisplay | None:
    """The roofs of ``card`` and the measured points nearest ``mask_size``; None for a card without roofs."""
    roofs = conv_roofline.ROOFS.get(card)
    if roofs is None:
        return None
    measured, pts, source = conv_roofline.points(card, mask_size)
    k = measured or mask_size
    points = tuple(
        RooflinePoint(p.name, conv_roofline.intensity(k), p.tflops, p.median_ms)
        for p in pts
        if p.name != "copy"
    )
    tc = conv_roofline.tensorcore_roof(card, k)
    tc_measured = conv_roofline.tensorcore_roof_measured(card, k)
    if pts:
        text = (
            f"Mask {k} at 8192², medians measured on the {card} ({source}). Intensity K²/4 = "
            f"{conv_roofline.intensity(k):g} FLOP/byte (each pixel read and written once). Roofs from the "
            f"{roofs.source}: FP32 FMA {roofs.fp32_tflops:g} TFLOP/s, memory {roofs.bandwidth_tb_s:g} TB/s"
            + (
                f", TF32 tensor cores {roofs.tf32_tflops:g}, of which the TF32 + BF16 split (2 MMA slots a "
                f"product) with this mask's band can turn "
                f"{tc:.0f} into convolution FLOPs."
                if tc is not None and roofs.tf32_tflops is not None
                else "."
            )
            + (
                f" mma.sync does not reach that peak: the kernel's MMA pair measured "
                f"{roofs.mma_pair_tflops:g} TFLOP/s (TF32-equivalent) on this card ({roofs.mma_source}), "
                f"which caps the split at {tc_measured:.0f} (the amber roof)."
                if tc_measured is not None
                else ""
            )
        )
    else:
        text = f"Nothing measured on the {card} yet: roofs only ({roofs.source})."
    return RooflineDisplay(
        card=card,
        mask=k,
        intensity=conv_roofline.intensity(k),
        fp32_tflops=roofs.fp32_tflops,
        tf32_tflops=roofs.tf32_tflops,
        tensorcore_tflops=tc,
        bandwidth_tb_s=roofs.bandwidth_tb_s,
        points=points,
        text=text,
        measured_tensorcore_tflops=tc_measured,
    )
