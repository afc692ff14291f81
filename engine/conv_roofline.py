"""The roofline of the 2-D convolution on a card: FP32 FMA, tensor-core and memory roofs, and where each
strategy's measured time puts it.

Arithmetic intensity counts the convolution's own work over the least DRAM traffic it can have: ``2 K^2``
FLOPs per output over 8 bytes (each pixel read once and written once), ``K^2 / 4`` FLOP/byte, the same
for every strategy (their extra reads hit L2 and shared memory, not DRAM). A strategy's height is
``2 K^2 H W / time``, from a measured table (:data:`MEASURED`, medians at 8192^2 from bench/results).
The roofs are datasheet peaks (dense, no sparsity): ``min(bandwidth x intensity, FLOP roof)``. For the
tensorcore strategy the tensor roof is divided by its 2 MMA slots per product and multiplied by its band
efficiency (:func:`engine.conv_mma.mma_counts`): the most its useful FLOPs can reach. Where the card's
``mma.sync`` rate was measured (:func:`tensorcore_roof_measured`), the same bound from that rate is the
one the kernel can actually approach.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.conv_mma import SPLIT_PASSES
from engine.tiling import tensorcore_steps

__all__ = [
    "MEASURED",
    "ROOFS",
    "MeasuredPoint",
    "Roofs",
    "intensity",
    "points",
    "tensorcore_roof",
    "tensorcore_roof_measured",
]


@dataclass(frozen=True)
class Roofs:
    """Datasheet peaks of one card (dense; None where the card has no TF32 tensor cores), and what the
    tensorcore kernel's MMA pair (a BF16 m16n8k16 then a TF32 m16n8k8, mma.sync) measured on it, in
    TF32-equivalent TFLOP/s, where it was measured (``bench/conv_micro/mma_peak.py``)."""

    fp32_tflops: float
    tf32_tflops: float | None
    bandwidth_tb_s: float
    source: str
    mma_pair_tflops: float | None = None
    mma_source: str = ""


# keyed by engine.occupancy.CARDS names
ROOFS: dict[str, Roofs] = {
    "NVIDIA H200": Roofs(67.0, 494.7, 4.8, "NVIDIA H200 SXM datasheet"),
    "NVIDIA H100 SXM": Roofs(
        67.0,
        494.7,
        3.35,
        "NVIDIA H100 SXM datasheet",
        326.6,
        "bench/results/2026-12-07-conv-tc-split-h100-1629419.json (mma_peak.py mma_mixed, H100 80GB HBM3)",
    ),
    "NVIDIA A100": Roofs(19.5, 156.0, 2.039, "NVIDIA A100 80GB SXM datasheet"),
    "NVIDIA L40S": Roofs(91.6, 183.0, 0.864, "NVIDIA L40S datasheet"),
    "NVIDIA RTX 4090": Roofs(82.6, 82.6, 1.008, "Ada whitepaper (TF32, FP32 accumulate)"),
    "NVIDIA T4": Roofs(8.1, None, 0.32, "NVIDIA T4 datasheet (no TF32)"),
    "NVIDIA V100": Roofs(15.7, None, 0.9, "NVIDIA V100 SXM2 datasheet (no TF32)"),
}

# card -> mask -> strategy -> median ms at 8192^2 (our fastest verified tile), from the record named
MEASURED: dict[str, tuple[str, dict[int, dict[str, float]]]] = {
    "NVIDIA H200": (
        "bench/results/2026-12-07-conv-h200-tc20-1.json (tensorcore as of commit e9a99ce)",
        {
            3: {"tma": 0.13418, "tensorcore": 0.19869, "copy": 0.12976, "cudnn": 0.58094, "cupyx": 0.55394},
            5: {"tma": 0.13515, "tensorcore": 0.28077, "copy": 0.12976, "cudnn": 1.40768, "cupyx": 1.07122},
            9: {"tma": 0.21896, "tensorcore": 0.45424, "copy": 0.12976, "cudnn": 3.09187, "cupyx": 2.9176},
            15: {"tma": 0.54766, "tensorcore": 0.9955, "copy": 0.12976, "cudnn": 7.6525, "cupyx": 7.86061},
            31: {
                "tma": 2.96654,
                "tensorcore": 2.93142,
                "copy": 0.12976,
                "cudnn": 29.09922,
                "cupyx": 45.38957,
            },
        },
    ),
    "NVIDIA H100 SXM": (
        "bench/results/2026-12-07-conv-h100-d412268.json (tma and tensorcore as of d412268, the TF32 + BF16 "
        "split with h rounded by an integer add; fastest tile of each)",
        {
            3: {"tma": 0.18322, "tensorcore": 0.21531, "copy": 0.18045, "cudnn": 0.58421, "cupyx": 0.55589},
            5: {"tma": 0.18338, "tensorcore": 0.22549, "copy": 0.18045, "cudnn": 1.40901, "cupyx": 1.07075},
            9: {"tma": 0.23035, "tensorcore": 0.29536, "copy": 0.18045, "cudnn": 3.0912, "cupyx": 2.91682},
            15: {"tma": 0.54805, "tensorcore": 0.58138, "copy": 0.18045, "cudnn": 7.65658, "cupyx": 7.85947},
            31: {
                "tma": 2.95838,
                "tensorcore": 1.64107,
                "copy": 0.18045,
                "cudnn": 28.88525,
                "cupyx": 45.38101,
            },
        },
    ),
}


def intensity(mask_size: int) -> float:
    """FLOP per DRAM byte: ``2 K^2`` per output over 8 bytes."""
    return mask_size**2 / 4


def tensorcore_roof(card: str, mask_size: int) -> float | None:
    """TFLOP/s of useful work the tensorcore strategy can reach at most: TF32 peak / 2 x K / (8 steps) (a TF32
    and a BF16 MMA of equal time per product; engine.conv_mma)."""
    roofs = ROOFS.get(card)
    if roofs is None or roofs.tf32_tflops is None:
        return None
    return roofs.tf32_tflops / SPLIT_PASSES * mask_size / (8 * tensorcore_steps(mask_size))


def tensorcore_roof_measured(card: str, mask_size: int) -> float | None:
    """As :func:`tensorcore_roof`, from the MMA pair's measured rate on ``card`` instead of the datasheet's
    TF32 peak (mma.sync reaches about 65% of it on an H100); None where it was not measured."""
    roofs = ROOFS.get(card)
    if roofs is None or roofs.mma_pair_tflops is None:
        return None
    return roofs.mma_pair_tflops / SPLIT_PASSES * mask_size / (8 * tensorcore_steps(mask_size))


@dataclass(frozen=True)
class MeasuredPoint:
    """One implementation's place on the roofline: its measured time and the TFLOP/s it reached."""

    name: str
    median_ms: float
    tflops: float


def points(card: str, mask_size: int, size: int = 8192) -> tuple[int | None, list[MeasuredPoint], str]:
    """``(measured mask, points, source)``: every measured implementation at the measured mask nearest to
    ``mask_size`` on ``card``; ``(None, [], "")`` when nothing was measured there. ``copy`` is placed at
    the mask's FLOPs too (the time a convolution at the memory roof would take)."""
    source, table = MEASURED.get(card, ("", {}))
    if not table:
        return None, [], ""
    k = min(table, key=lambda m: (abs(m - mask_size), -m))
    flops = 2 * k * k * size * size
    out = [MeasuredPoint(name, ms, flops / (ms * 1e-3) / 1e12) for name, ms in sorted(table[k].items())]
    return k, out, source
