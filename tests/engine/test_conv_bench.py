"""engine.conv_bench without a GPU: settings, output checks, figures, targets, the table and file names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from engine.conv_bench import (
    BenchSettings,
    Checker,
    benchmark_name,
    check_gpu,
    crop_reference,
    fastest,
    figures,
    format_summary,
    out_path,
    run_benchmark,
    source_hashes,
    targets,
)
from engine.conv_cuda import NoGPUError
from engine.conv_emulator import reference
from engine.provenance import write_record


def _random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _has_gpu() -> bool:
    try:
        check_gpu(require_pycuda=False)
    except NoGPUError:
        return False
    return True


def test_settings_defaults_quick_and_validation() -> None:
    full = BenchSettings()
    assert full.sizes == (8192, 4096) and full.masks == (3, 5, 7, 9, 15, 31) and full.repeats == 20
    quick = BenchSettings.quick_run(tiles=(32,))
    assert quick.quick and quick.sizes == (1024,) and quick.masks == (3, 5) and quick.tiles == (32,)
    with pytest.raises(ValueError, match="repeats"):
        BenchSettings(repeats=0)
    with pytest.raises(ValueError, match="at least one"):
        BenchSettings(masks=())


@pytest.mark.parametrize(("y0", "x0"), [(0, 0), (20, 33), (40, 50)])
def test_crop_reference_is_a_window_of_the_whole_reference(y0: int, x0: int) -> None:
    image, mask = _random((60, 70), 0), _random((5, 5), 1)
    whole = reference(image, mask)
    np.testing.assert_allclose(
        crop_reference(image, mask, y0, x0, 20), whole[y0 : y0 + 20, x0 : x0 + 20], rtol=1e-5, atol=1e-5
    )


def test_checker_accepts_the_right_output_and_refuses_a_wrong_one() -> None:
    image, mask = _random((300, 300), 2), _random((3, 3), 3)
    good = reference(image, mask)
    checker = Checker(image, mask)
    assert checker.origins == [(0, 0), (86, 86), (172, 172)]
    first = checker.check(good)
    assert first["verified"] and first["rel_error_vs_full"] is None
    checker.offer_full("cudnn", good, first["crop_rel_error_vs_float64"])
    bad = good.copy()
    bad[20, 250] += 1.0  # outside every crop: only the whole-image check sees it
    result = checker.check(bad)
    assert result["crop_rel_error_vs_float64"] < 1e-6 and result["rel_error_vs_full"] > 1e-5
    assert not result["verified"] and result["full_reference"] == "cudnn"
    assert not checker.check(np.full_like(good, np.nan))["verified"]


def test_figures() -> None:
    fig = figures([1.0, 3.0, 2.0], n=1000, k=5)
    assert fig["median_ms"] == 2.0 and fig["min_ms"] == 1.0 and fig["times_ms"] == [1.0, 3.0, 2.0]
    assert fig["gb_s"] == 4.0 and fig["gflop_s"] == 25.0  # 8 MB and 50 MFLOP in 2 ms
    assert "gflop_s" not in figures([1.0], n=10, k=None)


def _rows(ours_ms: dict[int, float]) -> list[dict]:
    rows = [
        {"size": 8192, "impl": "copy", "median_ms": 0.13},
        {"size": 8192, "mask": 5, "impl": "cudnn", "median_ms": 1.4, "verified": True},
        {"size": 8192, "mask": 5, "impl": "cupyx", "median_ms": 1.0, "verified": True},
        {
            "size": 4096,
            "mask": 5,
            "impl": "ours",
            "strategy": "register2d",
            "tile": 32,
            "median_ms": 0.01,
            "verified": True,
        },
    ]  # another size: not used for the targets
    for k, ms in ours_ms.items():
        rows += [
            {
                "size": 8192,
                "mask": k,
                "impl": "ours",
                "strategy": "register2d",
                "tile": 32,
                "median_ms": ms,
                "verified": True,
            },
            {
                "size": 8192,
                "mask": k,
                "impl": "ours",
                "strategy": "register",
                "tile": 32,
                "median_ms": ms / 10,
                "verified": False,
            },
        ]  # faster but unverified: never counts
    return rows


def test_targets_use_the_fastest_verified_kernel_at_8192() -> None:
    got = targets(_rows({3: 0.16, 5: 0.2, 7: 0.3, 15: 1.0}))
    assert got["mask5_vs_cudnn"]["measured"] == 7.0 and not got["mask5_vs_cudnn"]["met"]
    assert got["mask5_vs_cupyx"]["measured"] == 5.0 and got["mask5_vs_cupyx"]["met"]
    assert got["mask3_vs_copy"]["met"] and not got["mask5_vs_copy"]["met"]
    assert not got["mask7_ms"]["met"] and got["mask15_ms"]["met"]
    assert got["mask15_ms"]["ours"] == "register2d tile 32" and got["mask15_ms"]["ours_ms"] == 1.0
    assert not got["mask15_tensor_ms"]["met"] and not got["mask31_ms"]["met"]  # 31: reported, no limit


def test_targets_name_the_card_and_fastest_picks_per_mask() -> None:
    rows = _rows({3: 0.14, 9: 0.16})
    rows.append(
        {
            "size": 8192,
            "mask": 9,
            "impl": "ours",
            "strategy": "tensorcore",
            "tile": 64,
            "median_ms": 0.15,
            "verified": True,
        }
    )
    got = targets(rows, "NVIDIA H100 80GB HBM3")
    assert {t["card"] for t in got.values()} == {"NVIDIA H100 80GB HBM3"}
    assert got["mask9_ms"]["met"] and got["mask9_ms"]["ours"] == "tensorcore tile 64"
    assert got["mask3_vs_copy_1.1"]["measured"] == pytest.approx(0.14 / 0.13, abs=1e-4)
    assert got["mask3_vs_copy_1.1"]["met"]  # 1.077 <= 1.1
    assert fastest(rows) == {  # 8192^2 only; unverified rows never count
        "3": {"strategy": "register2d", "tile": 32, "median_ms": 0.14},
        "9": {"strategy": "tensorcore", "tile": 64, "median_ms": 0.15},
    }


def test_targets_without_measurements_are_not_met() -> None:
    got = targets(_rows({}))
    assert all(t["measured"] is None and not t["met"] for t in got.values())


def test_summary_table() -> None:
    failed = {
        "size": 8192,
        "mask": 5,
        "impl": "ours",
        "strategy": "naive",
        "tile": 16,
        "error": "KernelError: boom",
    }
    rows = [*_rows({5: 0.15}), failed]
    record = {
        "rows": rows,
        "targets": targets(rows),
        "settings": {"strategies": ["naive", "register", "register2d"]},
    }
    text = format_summary(record)
    assert "0.1500 [32]" in text and "KernelError: boom" in text
    assert "2 failed or unverified" in text  # the unverified register row and the error
    assert "within 1.3x of the copy floor" in text
    rows = _rows({5: 0.15, 31: 2.0})
    text = format_summary({"rows": rows, "targets": targets(rows), "settings": record["settings"]})
    line = next(x for x in text.splitlines() if x.startswith("mask 31"))
    assert "reported (no limit)" in line and line.split()[-1] == "-", line  # not NO: it has no limit


def test_out_path_never_overwrites(tmp_path: Path) -> None:
    started = datetime(2026, 11, 28, tzinfo=UTC)
    name = benchmark_name("NVIDIA H200")
    first = out_path(None, tmp_path, name, "abcdef123", started)
    assert first == tmp_path / "2026-11-28-conv-h200-abcdef1.json"
    write_record(first, {"a": 1})
    assert json.loads(first.read_text()) == {"a": 1}
    assert out_path(None, tmp_path, name, "abcdef123", started).name == "2026-11-28-conv-h200-abcdef1-2.json"
    assert out_path(str(tmp_path / "x.json"), tmp_path, name) == tmp_path / "x.json"
    assert out_path(str(tmp_path / "sub"), tmp_path, name, None, started).parent == tmp_path / "sub"
    h100 = out_path(None, tmp_path, benchmark_name("NVIDIA H100 80GB HBM3"), "abcdef123", started)
    assert h100.name == "2026-11-28-conv-h100-abcdef1.json"  # the card that ran it, not a constant


def test_source_hashes_name_the_kernel_and_the_engine() -> None:
    hashes = source_hashes()
    assert set(hashes) >= {"kernels/conv2d.cu", "engine/tiling.py", "engine/conv_cuda.py"}
    assert all(len(h) == 64 for h in hashes.values())


@pytest.mark.skipif(_has_gpu(), reason="checks the behaviour on a machine without a GPU")
def test_without_a_gpu_the_benchmark_says_why() -> None:
    with pytest.raises(NoGPUError, match="no CUDA GPU"):
        check_gpu()
    with pytest.raises(NoGPUError, match="no CUDA GPU"):
        run_benchmark(BenchSettings.quick_run(), log=lambda line: None)


@pytest.mark.cuda
@pytest.mark.skipif(not _has_gpu(), reason="no CUDA GPU here")
def test_quick_run_on_the_gpu() -> None:
    """Every row measured and verified, register2d among them, and the targets computed."""
    lines: list[str] = []
    seen: list[int] = []
    record = run_benchmark(
        BenchSettings.quick_run(), log=lines.append, on_progress=lambda rec: seen.append(len(rec["rows"]))
    )
    rows = record["rows"]
    assert not [r for r in rows if "error" in r], [r["error"] for r in rows if "error" in r]
    assert {r["impl"] for r in rows} == {"copy", "cudnn", "cupyx", "ours"}
    ours = [r for r in rows if r["impl"] == "ours"]
    assert ours and all(r["verified"] for r in ours)
    assert {r["strategy"] for r in ours} == set(record["settings"]["strategies"])
    assert {r["tile"] for r in ours if r["strategy"] == "register2d"} == {16, 32, 64}
    assert len(seen) == 1 + 2 and seen[-1] == len(rows)  # after each mask, then at the end
    assert record["machine"]["gpu"]["device"] and record["compile"]["failed"] == {}
    assert set(record["targets"]) >= {"mask5_vs_cudnn", "mask3_vs_copy"}
    assert "Targets" in format_summary(record) and lines


def test_run_and_save_writes_after_every_mask_and_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.conv_bench

    path = tmp_path / "runs" / "r.json"
    seen: list[object] = []

    def fake(settings: BenchSettings, *, log: object, on_progress: object) -> dict:
        on_progress({"rows": [1]})  # type: ignore[operator]
        seen.append(json.loads(path.read_text()))
        return {"rows": [1, 2]}

    monkeypatch.setattr(engine.conv_bench, "run_benchmark", fake)
    assert engine.conv_bench.run_and_save(BenchSettings.quick_run(), path) == {"rows": [1, 2]}
    assert seen == [{"rows": [1]}] and json.loads(path.read_text()) == {"rows": [1, 2]}
    assert engine.conv_bench.run_and_save(BenchSettings.quick_run(), None) == {"rows": [1, 2]}
