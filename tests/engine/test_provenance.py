"""engine.provenance: card names, dated file names, atomic records, commit and machine facts, tables;
and bench/_common.write_result, which builds its records from them."""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch

from engine.atomic import WriteError
from engine.provenance import (
    ROOT,
    card_slug,
    commit_info,
    dated_path,
    header,
    machine_info,
    table_lines,
    write_record,
)

STARTED = datetime(2026, 12, 7, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("card", "slug"),
    [
        ("NVIDIA H200", "h200"),
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA H100 PCIe", "h100"),
        ("NVIDIA A100-SXM4-40GB", "a100"),
        ("Tesla T4", "t4"),
        ("NVIDIA GeForce RTX 4090", "rtx-4090"),
        ("NVIDIA RTX A6000", "rtx-a6000"),
        ("NVIDIA", "gpu"),
        (None, "cpu"),
    ],
)
def test_card_slug(card: str | None, slug: str) -> None:
    assert card_slug(card) == slug


def _head() -> str | None:
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def test_commit_info_is_heads() -> None:
    info = commit_info()
    assert info["commit"] == _head()
    if info["commit"] is not None:
        assert isinstance(info["dirty"], bool) and isinstance(info["dirty_paths"], list)
        assert info["dirty"] == bool(info["dirty_paths"])


def test_header() -> None:
    h = header("conv-h200", STARTED)
    assert h["benchmark"] == "conv-h200" and h["timestamp"] == "2026-12-07T23:59:00+00:00"
    assert h["commit"] == _head() and list(h)[:2] == ["benchmark", "commit"]


def test_dated_path_never_overwrites(tmp_path: Path) -> None:
    first = dated_path(tmp_path, "conv-h100", "0123456789", STARTED)
    assert first == tmp_path / "2026-12-07-conv-h100-0123456.json"
    first.write_text("{}")
    second = dated_path(tmp_path, "conv-h100", "0123456789", STARTED)
    assert second.name == "2026-12-07-conv-h100-0123456-2.json"
    second.write_text("{}")
    assert dated_path(tmp_path, "conv-h100", "0123456789", STARTED).name.endswith("-3.json")
    head = _head()
    assert dated_path(tmp_path, "x", None, STARTED).name == f"2026-12-07-x-{(head or 'nocommit')[:7]}.json"


def test_write_record_is_json_with_a_folder_made(tmp_path: Path) -> None:
    path = tmp_path / "new" / "r.json"
    write_record(path, {"name": "Ü", "when": STARTED, "n": [1, 2.5, None]})
    expected = {"name": "Ü", "when": str(STARTED), "n": [1, 2.5, None]}
    assert json.loads(path.read_text(encoding="utf-8")) == expected
    write_record(path, {"second": True})  # replaced whole
    assert json.loads(path.read_text(encoding="utf-8")) == {"second": True}
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]  # no temporary left behind


def test_write_record_fails_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError) as e:
        write_record(blocker / "r.json", {})
    assert "\n" not in str(e.value) and str(blocker) in str(e.value)


def test_machine_info() -> None:
    m = machine_info()
    assert m["cpu_count"] == os.cpu_count() and m["python_version"] == platform.python_version()
    assert m["torch_version"] == torch.__version__ and m["torch_cuda"] == torch.version.cuda
    assert m["torch_num_threads"] == torch.get_num_threads()
    if Path("/proc/meminfo").exists():
        assert m["memory_total_mib"] > 0
    json.dumps(m)  # JSON as it is


def test_table_lines() -> None:
    lines = table_lines(
        [["naive", 12, 0.5, None, True], ["register2d", 3, 1234.5, "x", False]],
        ["strategy", "n", "ms", "note", "ok"],
    )
    assert lines == [
        "strategy    n   ms       note  ok",
        "----------  --  -------  ----  ---",
        "naive       12     0.50  -     yes",
        "register2d   3  1,234.5  x     NO",
    ]


def test_bench_common_writes_its_records_with_provenance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    common = importlib.import_module("_common")
    path = common.write_result("memory-cpu", {"figures": [1, 2]}, tmp_path, STARTED, {"cpu_count": 2})
    assert path.parent == tmp_path and path.name.startswith("2026-12-07-memory-cpu-")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["benchmark"] == "memory-cpu" and record["commit"] == _head()
    assert record["figures"] == [1, 2] and record["machine"]["cpu_count"] == 2
    assert record["timestamp"] == "2026-12-07T23:59:00+00:00" and "finished" in record
    again = common.write_result("memory-cpu", {}, tmp_path, STARTED, {})
    assert again != path and again.name.endswith("-2.json")
