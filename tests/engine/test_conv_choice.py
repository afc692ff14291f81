"""--strategy fastest (engine.conv_choice) and the roofline tables (engine.conv_roofline)."""

from __future__ import annotations

import pytest

from engine import conv_choice, conv_roofline
from engine.tiling import geometry


def test_measured_masks_take_their_measured_choice() -> None:
    # tensorcore measured fastest at 31 (e9a99ce) but its kernel changed since: not chosen until re-measured
    assert conv_choice.choose(31, "NVIDIA H200")[:2] == ("tma", 16)
    assert conv_choice.choose(15, "NVIDIA H200")[:2] == ("tma", 32)
    assert conv_choice.choose(5, "NVIDIA H100 80GB HBM3")[:2] == ("tma", 16)
    # the current tensorcore kernel, measured on an H100 (d412268): 1.641 ms against tma's 2.958 ms
    assert conv_choice.choose(31, "NVIDIA H100 80GB HBM3")[:2] == ("tensorcore", 64)


def test_unmeasured_masks_take_the_nearest_and_a_tile_that_fits() -> None:
    strategy, tile, why = conv_choice.choose(25, "NVIDIA H200")  # nearest measured: 31 (tma 16)
    assert (strategy, tile) == ("tma", 16) and "mask 31" in why
    strategy, tile, _ = conv_choice.choose(19, None)  # nearest: 15 -> tma 32, which fits K=19
    geometry(64, 64, 19, strategy, tile)
    strategy, tile, _ = conv_choice.choose(21, None)  # nearest: 15 (tma 32 does not fit K=21): smaller tile
    assert strategy == "tma" and tile == 16
    geometry(64, 64, 21, strategy, tile)


def test_an_unknown_card_uses_the_h200_table_and_says_so() -> None:
    strategy, tile, why = conv_choice.choose(9, "NVIDIA RTX 4090")
    assert (strategy, tile) == conv_choice.choose(9, "NVIDIA H200")[
        :2
    ] and "no table for NVIDIA RTX 4090" in why


@pytest.mark.parametrize("card", list(conv_roofline.MEASURED))
def test_roofline_points_are_measured_times(card: str) -> None:
    k, pts, source = conv_roofline.points(card, 16)
    assert k == 15 and source.startswith("bench/results/")
    tma = next(p for p in pts if p.name == "tma")
    assert tma.tflops == pytest.approx(2 * 225 * 8192**2 / (tma.median_ms * 1e-3) / 1e12)
    roofs = conv_roofline.ROOFS[card]
    assert tma.tflops < roofs.fp32_tflops  # the FP32 strategies stay under the FMA roof


def test_tensorcore_roof_is_the_tf32_peak_over_2_mma_slots_times_the_band() -> None:
    assert conv_roofline.tensorcore_roof("NVIDIA H200", 15) == pytest.approx(494.7 / 2 * 15 / 24)
    assert conv_roofline.tensorcore_roof("NVIDIA T4", 15) is None


def test_measured_tensorcore_roof_uses_the_measured_mma_pair_rate() -> None:
    # H100: the BF16 + TF32 mma.sync pair measured 326.6 TFLOP/s (TF32-equivalent), 66% of the datasheet
    assert conv_roofline.tensorcore_roof_measured("NVIDIA H100 SXM", 15) == pytest.approx(326.6 / 2 * 15 / 24)
    assert conv_roofline.tensorcore_roof_measured("NVIDIA H100 SXM", 9) < conv_roofline.tensorcore_roof(
        "NVIDIA H100 SXM", 9
    )
    assert conv_roofline.tensorcore_roof_measured("NVIDIA H200", 15) is None  # not measured there
    assert conv_roofline.ROOFS["NVIDIA H100 SXM"].mma_source.startswith("bench/results/")
