"""``han-explorer explain``: JSON schema (``predict --json`` plus attributions), terminal table, HTML
page, and one-line refusals (exit 2) for bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

TRICKY = (
    "I didn't expect much. The movie is not bad at all, and it was never boring! "
    "The acting isn't great though."
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def review(tmp_path: Path) -> Path:
    path = tmp_path / "tricky.txt"
    path.write_text(TRICKY, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_json_is_predict_schema_plus_attributions(review: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "explain", str(review), "--json", "--steps", "8")
    assert rc == 0, err
    d = json.loads(out)
    rc, predicted, _ = _run(capsys, "predict", str(review), "--json")
    p = json.loads(predicted)
    assert {k: d[k] for k in p} == p  # the predict schema, unchanged
    assert d["target"] == p["label"]
    assert set(d["attributions"]) == {"ig", "occlusion"}
    assert set(d["agreement_meanings"]) == {"spearman_words", "spearman_sentences", "topk_words"}
    for method, a in d["attributions"].items():
        assert a["method"] == method and a["target"] == p["label"]
        assert (a["steps"] == 8) == (method == "ig")
        assert (a["completeness_gap"] is None) == (method == "occlusion")
        assert set(a["agreement"]) == {"spearman_words", "spearman_sentences", "topk_words", "k"}
        for s, ps in zip(a["sentences"], p["sentences"], strict=True):
            assert (s["text"], s["start"], s["end"]) == (ps["text"], ps["start"], ps["end"])
            assert [(w["text"], w["start"], w["end"]) for w in s["words"]] == [
                (w["text"], w["start"], w["end"]) for w in ps["words"]
            ]
            assert all(math.isfinite(w["score"]) for w in s["words"])
        if method == "ig":  # sentence score = sum of its words' scores
            for s in a["sentences"]:
                assert s["score"] == pytest.approx(sum(w["score"] for w in s["words"]), abs=1e-9)


def test_target_flips_the_sign(review: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = {}
    for target in ("neg", "pos"):
        rc, out, err = _run(
            capsys, "explain", str(review), "--json", "--method", "occlusion", "--target", target
        )
        assert rc == 0, err
        d = json.loads(out)
        assert set(d["attributions"]) == {"occlusion"} and d["attributions"]["occlusion"]["target"] == target
        scores[target] = [w["score"] for s in d["attributions"]["occlusion"]["sentences"] for w in s["words"]]
    assert scores["neg"] == pytest.approx([-x for x in scores["pos"]], abs=1e-6)


def test_terminal_table_names_both_directions(review: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "explain", str(review), "--method", "ig", "--steps", "4", "--target", "pos")
    assert rc == 0, err
    assert "target: pos" in out and "towards pos" in out and "away from pos" in out
    assert "Integrated gradients, 4 steps, completeness gap" in out
    assert "agreement with attention: Spearman words" in out
    assert "\x1b" not in out


def test_html_page(review: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "out.html"
    rc, _, err = _run(capsys, "explain", str(review), "--html", str(page), "--steps", "4", "--target", "pos")
    assert rc == 0, err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "pushes towards <b>pos</b>" in html and "pushes away from <b>pos</b>" in html
    assert html.count('class="word"') == 2 * 27  # every word, once per method
    assert "didn&#x27;t" not in html and "n&#x27;t" in html  # tokens escaped one by one
    assert {p.name for p in tmp_path.iterdir()} == {"out.html", "tricky.txt"}  # no temporary left


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "maybe"], "--target 'maybe': the model's labels are neg, pos"),
        (["--steps", "0"], "--steps 0: give a positive number of steps"),
    ],
)
def test_bad_options_are_one_line(
    review: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    rc, out, err = _run(capsys, "explain", str(review), *argv)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"han-explorer explain: {message}")


def test_empty_text_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    rc, out, err = _run(capsys, "explain", str(empty), "--html", str(tmp_path / "x.html"))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "empty" in err
    assert not (tmp_path / "x.html").exists()


def test_importing_the_command_needs_no_torch() -> None:
    code = "import sys, app.cli_explain, app.render_explain; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: han-explorer explain")
    for option in ("--method", "--target", "--steps", "--json", "--html", "--model"):
        assert option in out
