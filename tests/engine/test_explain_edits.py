"""Attributions of a counterfactual edit: the model reads the review without some words or
sentences; the scores are those of that shorter document, put back at the original places."""

from __future__ import annotations

from typing import Any

import pytest

from engine.analyze import InputError
from engine.explain import analyze_edited, explain

TEXT = "The start is slow. It was not bad at all, and never boring. I loved the ending."


def test_leave_one_out_of_an_edit_is_measured_against_the_edit(shipped_bundle: Any) -> None:
    gone_s, gone_w = frozenset({0}), frozenset({(1, 3)})  # sentence 1 and "bad"
    a = explain(shipped_bundle, TEXT, "occlusion", removed_sentences=gone_s, removed_words=gone_w)
    base = analyze_edited(shipped_bundle, TEXT, gone_s, gone_w)
    for c, label in enumerate(a.labels):
        assert a.sentences[c][0] == 0.0 and set(a.words[c][0]) == {0.0}
        assert a.words[c][1][3] == 0.0
        for i in (1, 2):
            for j in range(len(base.sentences[i].words)):
                if (i, j) in gone_w:
                    continue
                without = analyze_edited(shipped_bundle, TEXT, gone_s, gone_w | {(i, j)})
                want = base.probabilities[label] - without.probabilities[label]
                assert a.words[c][i][j] == pytest.approx(want, abs=1e-6)
        without = analyze_edited(shipped_bundle, TEXT, gone_s | {2}, gone_w)
        assert a.sentences[c][2] == pytest.approx(
            base.probabilities[label] - without.probabilities[label], abs=1e-6
        )


def test_integrated_gradients_of_an_edit_add_up_to_its_prediction(shipped_bundle: Any) -> None:
    a = explain(shipped_bundle, TEXT, "ig", steps=64, removed_sentences=frozenset({2}))
    assert a.completeness_gap is not None and max(a.completeness_gap) < 0.02
    assert all(v == 0.0 for c in range(len(a.labels)) for v in a.words[c][2])
    kept = explain(
        shipped_bundle, "The start is slow. It was not bad at all, and never boring.", "ig", steps=64
    )
    for c in range(len(a.labels)):  # the same as explaining the text without that sentence
        for i in (0, 1):
            assert a.words[c][i] == pytest.approx(kept.words[c][i], abs=1e-6)


def test_an_edit_that_leaves_nothing_says_so(shipped_bundle: Any) -> None:
    with pytest.raises(InputError, match="every word is left out"):
        explain(shipped_bundle, "Good. Bad.", "occlusion", removed_sentences=frozenset({0, 1}))
    with pytest.raises(ValueError, match="does not exist"):
        explain(shipped_bundle, "Good. Bad.", "ig", removed_sentences=frozenset({5}))
