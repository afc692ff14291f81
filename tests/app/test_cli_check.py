"""``han-explorer check``: the JSON schema on the shipped model, the table, exit codes and one-line
refusals, and a --help that imports nothing heavy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.app.test_cli_imports import _probe

CAPS = ["vocabulary", "negation", "verdict", "temporal", "intensity", "robustness", "entities", "neutral"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_on_the_shipped_model(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "check", "--json", "--max-cases", "6", "--seed", "3", "--examples", "2")
    assert rc == 0, err
    d = json.loads(out)
    assert d["schema"] == "han-explorer/behaviour/1"
    assert d["labels"] == ["neg", "pos"] and d["seed"] == 3 and d["cases_per_test"] == 6
    assert Path(d["model"]).name == "model" and len(d["suite_sha256"]) == 64
    assert [c["name"] for c in d["capabilities"]] == CAPS
    assert {t for c in d["capabilities"] for t in c["cells"]} == {"MFT", "INV", "DIR"}
    assert len(d["tests"]) == 18 and all(t["n"] == 6 for t in d["tests"])
    for t in d["tests"]:
        assert t["type"] in ("MFT", "INV", "DIR")
        assert t["failure_rate"] == pytest.approx(t["failures"] / t["n"])
        assert len(t["examples"]) == min(2, t["failures"])
        for e in t["examples"]:
            assert e["predicted"] in ("neg", "pos")
            assert sum(e["probabilities"].values()) == pytest.approx(1, abs=1e-5)
            assert ("original" in e) == (t["type"] != "MFT")
    for cap in d["capabilities"]:
        for kind, cell in cap["cells"].items():
            mine = [t for t in d["tests"] if t["capability"] == cap["name"] and t["type"] == kind]
            assert cell["n"] == sum(t["n"] for t in mine) and cell["failures"] == sum(
                t["failures"] for t in mine
            )


def test_table_names_capabilities_and_types(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(
        capsys, "check", "--capability", "negation", "--capability", "neutral", "--max-cases", "4"
    )
    assert rc == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("capability"))
    assert header.split() == ["capability", "MFT", "INV", "DIR"]
    rows = [line for line in lines if line.startswith(("Negation", "Neutral sentence"))]
    assert len(rows) == 2 and "of 8" in rows[0] and "of 4" in rows[1]
    assert "MFT negation / negated negative:" in out and "INV neutral / neutral sentence added:" in out
    assert "Vocabulary" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--capability", "negations"],
            "check: --capability: unknown capability 'negations'; the suite has: ",
        ),
        (["--model", "/nonexistent/model"], "check: not a model directory: /nonexistent/model"),
        (["--max-cases", "0"], "expected a whole number of at least 1"),
        (["--examples", "-1"], "expected a whole number of at least 0"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        rc, _out, err = _run(capsys, "check", *argv)
    except SystemExit as e:  # argparse's own refusals
        rc, err = int(e.code or 0), capsys.readouterr().err
    assert rc == 2
    assert message in err
    assert len([line for line in err.splitlines() if line.startswith("han-explorer")]) == 1


def test_help_imports_nothing_heavy() -> None:
    for args in (["check", "--help"], ["check", "--max-cases", "x"]):
        result = _probe(*args)
        assert result["heavy"] == [], args
        assert result["code"] in (0, 2)
    assert "check" in str(_probe("--help")["out"])
