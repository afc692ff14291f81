"""engine.conv_records: the convolution benchmark records shipped as package data."""

from __future__ import annotations

import glob
import json
import tomllib
from pathlib import Path

import pytest

from engine.conv_records import RecordedRun, load_record, recorded_runs

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "resources" / "benchmarks"


def test_the_packaged_run_is_the_latest_h200_record() -> None:
    runs = recorded_runs()
    assert runs, "resources/benchmarks holds no convolution record"
    newest = runs[0]
    assert newest.name == "2026-11-28-conv-h200-v4.json" and newest.card == "NVIDIA H200"
    source = ROOT / "bench" / "results" / newest.name
    if source.exists():  # a source checkout: the same figures
        assert newest.record == json.loads(source.read_text(encoding="utf-8"))
    ours = [r for r in newest.record["rows"] if r["impl"] == "ours" and "median_ms" in r]
    assert ours and all(r["median_ms"] > 0 for r in ours)


def test_package_data_ships_the_records() -> None:
    """setuptools globs package-data patterns inside the package: they must reach benchmarks/*.json."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["resources"]
    shipped = {
        Path(p).as_posix()
        for pat in patterns
        for p in glob.glob(pat, root_dir=ROOT / "resources", recursive=True)
    }
    assert {f"benchmarks/{p.name}" for p in PACKAGED.glob("*.json")} <= shipped


def _record(rows: list[dict], device: str = "NVIDIA H100 80GB HBM3") -> dict:
    return {"benchmark": "conv-h100", "machine": {"gpu": {"device": device}}, "rows": rows}


ROW = {"impl": "ours", "size": 1024, "mask": 3, "strategy": "tma", "tile": 32, "median_ms": 0.02}


def test_newest_first_and_others_passed_over(tmp_path: Path) -> None:
    (tmp_path / "2026-11-28-conv-h100.json").write_text(json.dumps(_record([ROW])))
    (tmp_path / "2026-11-28-conv-h100-2.json").write_text(json.dumps(_record([ROW, ROW])))
    (tmp_path / "2026-12-01-conv-h100.json").write_text(json.dumps(_record([ROW, ROW, ROW])))
    (tmp_path / "2026-12-02-memory-cpu.json").write_text(json.dumps({"rows": [{"a": 1}]}))
    (tmp_path / "2026-12-03-broken.json").write_text("{")
    (tmp_path / "notes.txt").write_text("not a record")
    runs = recorded_runs(tmp_path)
    assert [r.name for r in runs] == [
        "2026-12-01-conv-h100.json",
        "2026-11-28-conv-h100-2.json",
        "2026-11-28-conv-h100.json",
    ]
    assert [len(r.record["rows"]) for r in runs] == [3, 2, 1]
    assert runs[0].card == "NVIDIA H100 80GB HBM3"


def test_none_recorded_is_empty(tmp_path: Path) -> None:
    assert recorded_runs(tmp_path) == ()
    assert recorded_runs(tmp_path / "missing") == ()


def test_card_when_the_record_does_not_say() -> None:
    assert RecordedRun("x.json", {"rows": [ROW]}).card is None
    assert RecordedRun("x.json", {"rows": [ROW], "machine": {"gpu": "H200"}}).card is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "is not JSON"),
        ("[1, 2]", "not a convolution benchmark"),
        ('{"rows": [{"impl": "ours"}]}', "not a convolution benchmark"),
        (b"\xff\xfe", "cannot read"),
    ],
)
def test_load_record_refuses_with_one_line(tmp_path: Path, text: str | bytes, match: str) -> None:
    path = tmp_path / "bad.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ValueError, match=match) as e:
        load_record(path)
    assert "\n" not in str(e.value) and "bad.json" in str(e.value)
