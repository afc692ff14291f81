"""Tests for engine.analyze with the shipped model: spans, weights, labels, odd and huge inputs."""

from __future__ import annotations

import time

import pytest

import resources
from engine.analyze import Analysis, InputError, analyze
from engine.bundle import ModelBundle
from engine.text import tokenize

SAMPLES = resources.sample_texts()


def _check_analysis(a: Analysis, bundle: ModelBundle) -> None:
    text = a.text
    assert a.label in bundle.label_names
    assert set(a.probabilities) == set(bundle.label_names)
    assert sum(a.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in a.probabilities.values())
    assert a.label == max(a.probabilities, key=a.probabilities.__getitem__)
    assert a.sentences
    assert sum(s.weight for s in a.sentences) == pytest.approx(1.0, abs=1e-6)
    previous_end = 0
    for s in a.sentences:
        assert 0.0 < s.weight <= 1.0
        assert s.words
        assert text[s.start : s.end] == s.text
        assert s.start >= previous_end
        previous_end = s.end
        assert sum(w.weight for w in s.words) == pytest.approx(1.0, abs=1e-6)
        for w in s.words:
            assert text[w.start : w.end] == w.text
            assert s.start <= w.start < w.end <= s.end
            assert 0.0 < w.weight <= 1.0


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_analyze(shipped: ModelBundle, name: str) -> None:
    text = SAMPLES[name].read_text(encoding="utf-8")
    a = analyze(shipped, text)
    _check_analysis(a, shipped)
    assert a.text == text
    assert a.n_words == tokenize(text).n_tokens
    assert len(a.sentences) == len(tokenize(text).sentences)


def test_sample_labels(shipped: ModelBundle) -> None:
    assert {"rave", "clear_pan"} <= set(SAMPLES)
    assert analyze(shipped, SAMPLES["rave"].read_text(encoding="utf-8")).label == "pos"
    assert analyze(shipped, SAMPLES["clear_pan"].read_text(encoding="utf-8")).label == "neg"


def test_to_dict_matches(shipped: ModelBundle) -> None:
    a = analyze(shipped, "A fine film. I liked the cast, but the end was weak.")
    d = a.to_dict()
    assert d["label"] == a.label
    assert d["probabilities"] == a.probabilities
    assert [s["weight"] for s in d["sentences"]] == [s.weight for s in a.sentences]
    assert [w["text"] for s in d["sentences"] for w in s["words"]] == [
        w.text for s in a.sentences for w in s.words
    ]


@pytest.mark.parametrize("text", ["", " ", "   \n\t  \n", "<br /><br />", "<BR>"])
def test_empty_text_raises(shipped: ModelBundle, text: str) -> None:
    with pytest.raises(InputError) as err:
        analyze(shipped, text)
    assert "\n" not in str(err.value)


def test_unknown_words_only(shipped: ModelBundle) -> None:
    text = "zxqvbnm qwrtplk blorfisk"
    a = analyze(shipped, text)
    _check_analysis(a, shipped)
    words = [w for s in a.sentences for w in s.words]
    assert [w.text for w in words] == text.split()
    assert all(not w.known for w in words)
    assert a.unknown_words == 3


def test_known_flags(shipped: ModelBundle) -> None:
    a = analyze(shipped, "The movie was zxqvbnm.")
    flags = {w.text: w.known for s in a.sentences for w in s.words}
    assert flags == {"The": True, "movie": True, "was": True, "zxqvbnm": False, ".": True}


def test_spans_with_odd_characters(shipped: ModelBundle) -> None:
    text = "  Café “déjà vu” — well-known!<br />Émoji 🎬 rocks… 1,000 times.\n\nThe end  "
    a = analyze(shipped, text)
    _check_analysis(a, shipped)
    assert a.n_words == tokenize(text).n_tokens


@pytest.mark.slow
def test_one_megabyte_review_is_not_cut(shipped: ModelBundle) -> None:
    from engine.limits import MAX_TEXT_CHARS

    sample = SAMPLES["rave"].read_text(encoding="utf-8")
    reps = (MAX_TEXT_CHARS + 2) // (len(sample) + 2)
    # blank lines are hard sentence boundaries, so the pieces tokenize independently
    text = "\n\n".join([sample] * reps)
    assert MAX_TEXT_CHARS - len(sample) - 2 < len(text) <= MAX_TEXT_CHARS  # as long as accepted
    one = tokenize(sample)
    t0 = time.perf_counter()
    a = analyze(shipped, text)
    elapsed = time.perf_counter() - t0
    assert elapsed < 60, f"analyze took {elapsed:.1f} s"
    assert a.n_words == reps * one.n_tokens
    assert len(a.sentences) == reps * len(one.sentences)
    assert len(a.sentences) > shipped.limits.max_sentences
    assert a.label == "pos"
    # a float32 softmax over ~12k sentences: its sum drifts by a few 1e-6
    assert sum(s.weight for s in a.sentences) == pytest.approx(1.0, abs=1e-4)
    last = a.sentences[-1]
    assert text[last.start : last.end] == last.text
    assert sum(w.weight for w in last.words) == pytest.approx(1.0, abs=1e-6)
