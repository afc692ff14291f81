"""``evaluate --sample/--seed/--errors/--quiet``, the ``--limit`` warning, ``predict --batch --jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from engine.analyze import analyze
from engine.bundle import load_bundle
from resources import model_dir

ROWS = [  # sorted by label, like the IMDB files: the first rows hold one class
    ("Terrible. The worst movie I have ever seen: boring, stupid and ugly.", "neg"),
    ("Dull, predictable and far too long. A complete waste of time.", "neg"),
    ("Awful acting, an awful script. I hated it.", "neg"),
    ("Great cast, great music, great fun. Highly recommended.", "neg"),  # mislabelled on purpose
    ("Boring. Nothing happens for two hours.", "neg"),
    ("Bad, bad, bad.", "neg"),
    ("An absolute masterpiece. Brilliant acting and a moving, beautiful story.", "pos"),
    ("I loved every minute of it. What a wonderful film!", "pos"),
    ("A superb, touching film with a great cast.", "pos"),
    ("<br /><br />", "pos"),  # no words: counted wrong
]


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "sorted.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS), encoding="utf-8")
    return path


def _call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def _eval(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    rc, out, err = _call(capsys, "evaluate", "--json", "--device", "cpu", "--data", str(data), *args)
    assert rc == 0, err
    return rc, json.loads(out), err


def test_limit_warns_when_it_takes_one_class(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _, report, err = _eval(capsys, _data(tmp_path), "--limit", "4")
    assert report["n"] == 4 and report["per_class"]["pos"]["support"] == 0
    assert "warning: the first 4 rows (--limit) hold only class 'neg'" in err and "--sample 4" in err
    _, report, err = _eval(capsys, _data(tmp_path), "--limit", "8")
    assert "warning" not in err  # both classes taken: no warning


def test_sample_is_stratified_and_reproducible(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data(tmp_path)
    _, a, _ = _eval(capsys, data, "--sample", "5", "--seed", "1")
    assert a["n"] == 5 and a["sample"] == {"n": 5, "seed": 1, "of": 10}
    assert a["per_class"]["neg"]["support"] == 3 and a["per_class"]["pos"]["support"] == 2  # 6:4 of 5
    errs = [tmp_path / f"e{s}.jsonl" for s in (1, 1, 2)]
    rows = []
    for out, seed in zip(errs, ("1", "1", "2"), strict=True):
        _eval(capsys, data, "--sample", "5", "--seed", seed, "--errors", str(out))
        rows.append(out.read_text(encoding="utf-8"))
    assert rows[0] == rows[1]  # same seed, same sample, same errors
    _, b, _ = _eval(capsys, data, "--sample", "5", "--seed", "1")
    assert b == a


def test_sample_and_limit_together_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = _call(capsys, "evaluate", "--data", str(_data(tmp_path)), "--sample", "3", "--limit", "3")
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and "not both" in err


def test_errors_file_holds_exactly_the_misclassified(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "errors.jsonl"
    _, report, err = _eval(capsys, _data(tmp_path), "--errors", str(out))
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    wrong = report["n"] - round(report["accuracy"] * report["n"])
    assert len(lines) == wrong and f"wrote {wrong} misclassified" in err
    bundle = load_bundle(model_dir())
    for line in lines:
        text, label = ROWS[line["row"]]
        assert line["text"] == text and line["label"] == label
        if line["predicted"] is None:
            assert text.startswith("<br")
            continue
        assert line["predicted"] != label
        ref = analyze(bundle, text)
        assert line["predicted"] == ref.label
        assert line["probabilities"] == pytest.approx(ref.probabilities, abs=1e-5)
    assert any(line["row"] == 3 for line in lines)  # the mislabelled rave


def test_no_progress_bar_when_piped_or_quiet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _, _, err = _eval(capsys, _data(tmp_path))  # stderr is captured: not a terminal
    assert "doc/s" not in err and "%|" not in err


def test_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _, _, err = _eval(capsys, _data(tmp_path))
    assert "10/10" in err and "doc" in err
    _, _, err = _eval(capsys, _data(tmp_path), "--quiet")
    assert "10/10" not in err


def test_predict_batch_jsonl_is_the_predict_json_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "weights.jsonl"
    rc, stdout, err = _call(capsys, "predict", "--batch", str(_data(tmp_path)), "--jsonl", str(out))
    assert rc == 0 and stdout == "" and "wrote 10 reviews (1 without words)" in err
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["row"] for x in lines] == list(range(10))
    bundle = load_bundle(model_dir())
    for line, (text, label) in zip(lines, ROWS, strict=True):
        assert line["true_label"] == label
        if text.startswith("<br"):
            assert "error" in line and "sentences" not in line
            continue
        ref = analyze(bundle, text).to_dict()  # predict --json's value, one review at a time
        assert set(line) == {"row", "true_label", *ref}
        assert line["label"] == ref["label"]
        assert [s["text"] for s in line["sentences"]] == [s["text"] for s in ref["sentences"]]
        for s, r in zip(line["sentences"], ref["sentences"], strict=True):
            assert s["weight"] == pytest.approx(r["weight"], abs=1e-5)
            assert [w["weight"] for w in s["words"]] == pytest.approx(
                [w["weight"] for w in r["words"]], abs=1e-5
            )
            assert [(w["start"], w["end"], w["known"]) for w in s["words"]] == [
                (w["start"], w["end"], w["known"]) for w in r["words"]
            ]


def test_predict_batch_needs_jsonl_and_no_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = _call(capsys, "predict", "--batch", str(_data(tmp_path)))
    assert rc == 2 and out == "" and "--jsonl" in err and len(err.splitlines()) == 1
    rc, out, err = _call(
        capsys, "predict", "--batch", str(tmp_path / "nope.jsonl"), "--jsonl", str(tmp_path / "o")
    )
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and not (tmp_path / "o").exists()
