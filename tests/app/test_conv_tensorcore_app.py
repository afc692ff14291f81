"""The tensorcore strategy in the app: the Tensor cores tab's presenters and `conv --strategy fastest`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.present import mma_display, roofline_display
from engine import conv_mma
from engine.tiling import geometry


def test_mma_display_places_every_lane_where_the_ptx_isa_says() -> None:
    geo = geometry(100, 150, 15, "tensorcore", 32)
    d = mma_display(geo, 1, 1, 1, 7, 3)
    assert d is not None and (d.warp, d.mask_row, d.chunk, d.mask_size) == (1, 7, 3, 15)
    oy, ox = geo.shared_origin(1, 1)
    ys, xs = conv_mma.a_sources(geo, 1, 7, 3)
    rows, kk = conv_mma.a_fragment_layout()
    np.testing.assert_array_equal(d.a_in_y[rows, kk], ys + oy)
    np.testing.assert_array_equal(d.a_in_x[rows, kk], xs + ox)
    np.testing.assert_array_equal(d.a_lane[rows, kk], np.repeat(np.arange(32)[:, None], 4, axis=1))
    assert d.serves == ((3, 0), (2, 1), (1, 2)) and d.b_taps.shape == (3, 8, 8)
    assert sorted(np.bincount(d.c_lane.ravel()).tolist()) == [4] * 32  # 4 accumulators a lane
    # the BF16 A: 8 halves a lane, and each element is held by the lane that holds its input in the TF32 A
    assert sorted(np.bincount(d.a16_lane.ravel()).tolist()) == [8] * 32
    for k16 in range(16):
        kk = int(np.flatnonzero(d.kk_column == d.a16_column[k16])[0])
        np.testing.assert_array_equal(d.a16_lane[:, k16], d.a_lane[:, kk])
    assert "n-tile 3" in d.text and "BF16 [l | x]·[H ; L]" in d.text


def test_mma_display_clamps_and_is_none_for_other_strategies() -> None:
    geo = geometry(100, 150, 3, "tensorcore", 16)
    d = mma_display(geo, 0, 0, 99, 99, 99)
    assert d is not None and (d.warp, d.mask_row, d.chunk) == (0, 2, 8)
    assert mma_display(geometry(100, 150, 3, "tma", 16), 0, 0, 0, 0, 0) is None


def test_roofline_display_for_a_measured_and_an_unmeasured_card() -> None:
    r = roofline_display("NVIDIA H200", 15)
    assert r is not None and r.mask == 15 and {p.name for p in r.points} >= {"tma", "tensorcore", "cudnn"}
    assert r.tensorcore_tflops == pytest.approx(494.7 / 2 * 15 / 24) and "H200" in r.text
    a100 = roofline_display("NVIDIA A100", 15)
    assert a100 is not None and a100.points == () and "Nothing measured" in a100.text
    assert r.measured_tensorcore_tflops is None and "mma.sync" not in r.text  # not measured on the H200


def test_roofline_display_shows_mma_syncs_measured_rate_where_it_was_measured() -> None:
    r = roofline_display("NVIDIA H100 SXM", 15)
    assert r is not None and r.measured_tensorcore_tflops == pytest.approx(326.6 / 2 * 15 / 24)
    assert r.tensorcore_tflops is not None and r.measured_tensorcore_tflops < r.tensorcore_tflops
    assert "326.6 TFLOP/s" in r.text and "amber roof" in r.text
    # the kernel's point sits under the measured cap: at K=15 it reaches most of it
    tc = next(p for p in r.points if p.name == "tensorcore")
    assert 0.4 * r.measured_tensorcore_tflops < tc.tflops < r.measured_tensorcore_tflops


def test_conv_strategy_fastest_on_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "conv",
            "--size",
            "40x70",
            "--mask",
            "31",
            "--strategy",
            "fastest",
            "--backend",
            "emulator",
            "--json",
        ]
    )
    out, _ = capsys.readouterr()
    report = json.loads(out)
    from engine.conv_choice import choose

    strategy, tile, _ = choose(31, None)  # the H200's table (the emulator has no card)
    assert rc == 0 and report["strategy"] == strategy and report["tile"][0] == tile
    assert report["max_abs_error"] < 1e-4
    assert any(f"--strategy fastest: {strategy}, tile {tile}" in n for n in report["notes"])
    args = ["conv", "--size", "40x70", "--mask", "31", "--strategy", "tensorcore", "--backend", "emulator"]
    rc = main([*args, "--json"])  # asked for by name, the strategy runs (emulated here)
    report = json.loads(capsys.readouterr()[0])
    assert rc == 0 and report["strategy"] == "tensorcore"
    assert report["max_abs_error"] < 1e-4
