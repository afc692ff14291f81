"""`han-explorer conv-bench`: options, the one-line refusal without a GPU, and (marked cuda) a quick run."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import _parser, main
from engine.conv_bench import BenchSettings, benchmark_name, settings_from_args

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _gpu() -> bool:
    from engine.conv_bench import check_gpu
    from engine.conv_cuda import NoGPUError

    try:
        check_gpu()
    except NoGPUError:
        return False
    return True


HAVE_GPU = _gpu()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"json": False, "quick": False, "out": None}),
        (["--json", "--quick", "--out", "r.json"], {"json": True, "quick": True, "out": "r.json"}),
    ],
)
def test_options(args: list[str], expected: dict) -> None:
    a = _parser().parse_args(["conv-bench", *args])
    assert a.command == "conv-bench"
    assert {name: getattr(a, name) for name in expected} == expected


def test_quick_and_full_settings() -> None:
    quick = settings_from_args(_parser().parse_args(["conv-bench", "--quick"]))
    assert quick.quick and quick.sizes == (1024,) and quick.masks == (3, 5) and quick.repeats == 5
    full = settings_from_args(_parser().parse_args(["conv-bench"]))
    assert not full.quick and full.sizes == (8192, 4096) and full.masks == (3, 5, 7, 9, 15, 31)
    assert full.strategies is None and full.tiles == (16, 32, 64)
    assert full == BenchSettings() and quick == BenchSettings.quick_run()


def _bench_conv(monkeypatch: pytest.MonkeyPatch) -> Any:
    """bench/bench_conv.py as a module (it imports its sibling _common, as when run as a script)."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return importlib.import_module("bench_conv")


SAME_OPTIONS = [
    [],
    ["--quick"],
    ["--quick", "--sizes", "2048", "--tiles", "32"],
    [
        "--sizes",
        "512,256",
        "--masks",
        "3,9",
        "--strategies",
        "naive,tma",
        "--tiles",
        "16,64",
        "--repeats",
        "7",
        "--warmup",
        "1",
        "--rotate",
        "2",
        "--budget-s",
        "30.5",
        "--seed",
        "4",
        "--out",
        "x.json",
    ],
    ["--strategies", "all"],
]


@pytest.mark.parametrize("args", SAME_OPTIONS)
def test_the_cli_and_the_script_read_the_same_options_alike(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = _parser().parse_args(["conv-bench", *args])
    script = _bench_conv(monkeypatch).parse_args(args)
    assert settings_from_args(cli) == settings_from_args(script)
    assert cli.out == script.out


def test_the_cli_and_the_script_have_the_same_options(monkeypatch: pytest.MonkeyPatch) -> None:
    top = vars(_parser().parse_args([]))  # han-explorer's own (--screenshot, ...)
    cli = {k: v for k, v in vars(_parser().parse_args(["conv-bench"])).items() if k not in top}
    script = vars(_bench_conv(monkeypatch).parse_args([]))
    assert set(cli) - set(script) == {"json"}  # conv-bench's own: print the record
    assert set(script) <= set(cli)
    assert {k: cli[k] for k in script} == script


def test_options_change_the_quick_run_and_are_checked() -> None:
    a = _parser().parse_args(["conv-bench", "--quick", "--masks", "7", "--strategies", "register2d"])
    s = settings_from_args(a)
    assert s.quick and s.sizes == (1024,) and s.masks == (7,) and s.strategies == ("register2d",)


@pytest.mark.parametrize(
    "args",
    [
        ["--sizes", "abc"],
        ["--masks", "0"],
        ["--repeats", "0"],
        ["--repeats", "2,3"],
        ["--strategies", "fastest"],
        ["--tiles", ","],
    ],
)
def test_bad_values_exit_2_in_both(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["conv-bench", *args])
    assert e.value.code == 2 and args[0] in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        _bench_conv(monkeypatch).parse_args(args)
    assert e.value.code == 2 and args[0] in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--bogus"], ["--out"], ["--quick", "extra"]])
def test_bad_options_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["conv-bench", *args])
    assert e.value.code == 2
    assert "conv-bench" in capsys.readouterr().err


@pytest.mark.skipif(HAVE_GPU, reason="checks the behaviour on a machine without a GPU")
@pytest.mark.parametrize("args", [[], ["--json", "--quick"], ["--out", "never.json"]])
def test_without_a_gpu_one_line_and_exit_2(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rc = main(["conv-bench", *args])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("han-explorer conv-bench: ") and "GPU" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.cuda
@pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU here (torch, PyCUDA, driver or GPU missing)")
def test_quick_run_on_the_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["conv-bench", "--quick", "--json", "--out", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    record = json.loads(out)
    assert record == json.loads((tmp_path / "r.json").read_text())
    assert record["benchmark"] == benchmark_name(record["machine"]["gpu"]["device"])
    assert record["settings"]["quick"] is True
    assert record["machine"]["gpu"]["device"] and record["sources_sha256"]["kernels/conv2d.cu"]
    rows = record["rows"]
    assert not [r for r in rows if "error" in r], [r["error"] for r in rows if "error" in r]
    ours = [r for r in rows if r["impl"] == "ours"]
    assert {r["strategy"] for r in ours} == set(record["settings"]["strategies"])
    assert all(r["verified"] for r in ours)
    assert any(r["strategy"] == "register2d" for r in ours)
    assert {r["impl"] for r in rows} == {"copy", "cudnn", "cupyx", "ours"}
    assert set(record["targets"]) == {
        "mask5_vs_cudnn",
        "mask5_vs_cupyx",
        "mask3_vs_copy",
        "mask5_vs_copy",
        "mask7_ms",
        "mask15_ms",
        "mask9_ms",
        "mask15_tensor_ms",
        "mask3_vs_copy_1.1",
        "mask5_vs_copy_1.1",
        "mask31_ms",
    }
    assert {t["card"] for t in record["targets"].values()} == {record["machine"]["gpu"]["device"]}
    assert "[" in err  # progress lines went to standard error
