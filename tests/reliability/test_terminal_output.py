"""Nothing from a review steers the terminal (issue 13, item 17): ESC, BEL, other C0/C1 controls and
bidirectional overrides are replaced in plain output and escaped in JSON (which still decodes to
the same text).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability.helpers import call

HOSTILE = (
    "Great film \x1b[2J\x1b]0;pwned\x07 with \u202eevil\u202c and \u2066isolate\u2069 and "
    "\x9b31m C1 \x85 too. Loved it."
)
DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def review(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.txt"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["predict"],
        ["predict", "--json"],
        ["gru-trace", "--file"],
        ["gru-trace", "--json", "--file"],
        ["gru-trace", "--encoder", "sentence", "--file"],
    ],
)
def test_no_control_or_bidi_character_reaches_stdout(
    review: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = call(capsys, *args, str(review))
    assert rc == 0, err
    assert not DANGEROUS.search(out.replace("\n", "")), repr(DANGEROUS.search(out.replace("\n", "")))


def test_json_output_still_holds_the_exact_text(review: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = call(capsys, "predict", "--json", str(review))
    assert rc == 0
    sentences = json.loads(out)["sentences"]
    assert "".join(s["text"] for s in sentences).replace(" ", "") == HOSTILE.replace(" ", "")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_sanitizers_leave_nothing_dangerous(text: str) -> None:
    from app.render import json_for_terminal, terminal_safe

    assert not DANGEROUS.search(terminal_safe(text).replace("\n", ""))
    encoded = json_for_terminal({"t": text})
    assert not DANGEROUS.search(encoded)
    assert json.loads(encoded) == {"t": text}
