"""One review reader for the CLI and the app (issue 13, item 18), with property tests.

Any bytes either read as text or are refused with a one-line TextFileError; UTF-8 with or without
a BOM and UTF-16 with a BOM read back exactly; the CLI and the app read a file the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.textio import JSONFileError, TextFileError, decode_text, read_json_file, read_text_file
from tests.reliability.helpers import call

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=200)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_read_or_are_refused_in_one_line(raw: bytes) -> None:
    try:
        text = decode_text(raw, "x.txt")
    except TextFileError as e:
        assert "\n" not in str(e) and str(e).startswith("x.txt")
    else:
        assert isinstance(text, str) and not text.startswith("\ufeff")


@settings(max_examples=200, deadline=None)
@given(
    text=TEXT, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
)
def test_text_round_trips_in_every_accepted_encoding(text: str, encoding: str) -> None:
    if encoding == "utf-16-le-bom":
        raw = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        raw = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        raw = text.encode(encoding)
    if encoding == "utf-8" and text.startswith("\ufeff"):
        text = text[1:]  # a leading BOM is a BOM, not text
    assert decode_text(raw, "x") == text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT.filter(lambda t: t.strip()))
def test_a_file_reads_as_written(tmp_path: Path, text: str) -> None:
    path = tmp_path / "review.txt"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    assert read_text_file(path) == text


def test_bom_is_not_a_word_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffGreat film.".encode())
    rc, out, err = call(capsys, "predict", "--json", str(path))
    assert rc == 0, err
    first = json.loads(out)["sentences"][0]["words"][0]
    assert first["text"] == "Great" and first["start"] == 0


def test_utf16_review_is_read_by_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("Great film, loved it.".encode("utf-16"))
    rc, out, err = call(capsys, "predict", "--json", str(path))
    assert rc == 0, err
    assert json.loads(out)["sentences"][0]["text"] == "Great film, loved it."


def test_the_app_reads_with_the_same_function() -> None:
    pytest.importorskip("PySide6")
    from app import attention_controller

    assert attention_controller.read_text_file is read_text_file
    assert attention_controller.TextFileError is TextFileError


@pytest.mark.parametrize("doc", ['{"a": ' * 50_000 + "1" + "}" * 50_000, "[" * 200_000 + "]" * 200_000])
def test_deep_json_is_refused(tmp_path: Path, doc: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(JSONFileError, match="nested too deeply"):
        read_json_file(path, 10_000_000)


def test_oversized_json_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text("[" + "1," * 1000 + "1]", encoding="utf-8")
    with pytest.raises(JSONFileError, match="larger than"):
        read_json_file(path, 100)
