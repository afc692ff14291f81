"""Property tests of the tokenizer and of analyze() on arbitrary text (issue 13: the readers, the
tokenizer, model loading): spans always index the text, weights always sum to 1, and text with no
word is an InputError, whatever the characters.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analyze import InputError, analyze
from engine.text import tokenize

ANY_TEXT = st.text(max_size=300)
PROSE = st.lists(
    st.sampled_from(
        [
            "Great",
            "film",
            ".",
            "!",
            "?",
            " ",
            "\n",
            "<br />",
            "dull",
            "…",
            "«",
            "»",
            "映画",
            "😀",
            "\u202e",
            "\x1b",
            "\t",
            "e\u0301",
            "\r\n",
            "ﬁ",
            "--",
            "'s",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT | PROSE)
def test_tokens_are_spans_of_the_text_in_order(text: str) -> None:
    doc = tokenize(text)
    previous_end = 0
    for s in doc.sentences:
        assert 0 <= s.start <= s.end <= len(text)
        assert s.start >= previous_end
        previous_end = s.end
        last = s.start
        for t in s.tokens:
            assert s.start <= t.start < t.end <= s.end
            assert t.start >= last
            assert text[t.start : t.end] == t.text
            last = t.end


@settings(max_examples=80, deadline=None)
@given(text=ANY_TEXT | PROSE)
def test_analyze_answers_or_says_there_is_nothing_to_read(shipped: Any, text: str) -> None:
    try:
        a = analyze(shipped, text)
    except InputError as e:
        assert "\n" not in str(e)
        return
    assert sum(a.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert sum(s.weight for s in a.sentences) == pytest.approx(1.0, abs=1e-5)
    for s in a.sentences:
        assert sum(w.weight for w in s.words) == pytest.approx(1.0, abs=1e-5)
