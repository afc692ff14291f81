"""The behaviour suite: deterministic generators, cases that mean what their test says, and a runner
that fails exactly the cases a hand-made model should fail."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from engine.behaviour import (
    CAPABILITIES,
    DEFAULT_CASES,
    DIR_TOLERANCE,
    SCHEMA,
    BundlePredictor,
    RunProgress,
    build_suite,
    capability_names,
    run_suite,
    run_suite_steps,
    suite_fingerprint,
)
from engine.behaviour._lexicon import CONTRACTIONS, INTENSIFIERS
from engine.bundle import ModelBundle


class Stub:
    """A model that gives every text the probabilities ``rule(text)`` returns (neg, pos)."""

    label_names = ("neg", "pos")

    def __init__(self, rule: Callable[[str], tuple[float, float]]) -> None:
        self.rule = rule
        self.batches: list[int] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(len(texts))
        return np.array([self.rule(t) for t in texts], dtype=np.float64)


def always_pos(_text: str) -> tuple[float, float]:
    return (0.1, 0.9)


@pytest.fixture(scope="module")
def suite() -> tuple:  # type: ignore[type-arg]
    return build_suite(seed=0)


def _texts(tests: Sequence) -> list[tuple[str, str, str | None]]:  # type: ignore[type-arg]
    return [(t.name, c.text, c.original) for t in tests for c in t.cases]


# -- generation ------------------------------------------------------------------------------------
def test_same_seed_same_cases_and_another_seed_other_cases(suite: tuple) -> None:  # type: ignore[type-arg]
    assert build_suite(seed=0) == suite
    other = build_suite(seed=1)
    assert [(t.capability, t.name) for t in other] == [(t.capability, t.name) for t in suite]
    for a, b in zip(suite, other, strict=True):  # every test is drawn anew, not only some
        assert [c.text for c in a.cases] != [c.text for c in b.cases], a.name


def test_the_fingerprint_follows_the_cases(suite: tuple) -> None:  # type: ignore[type-arg]
    assert suite_fingerprint(build_suite(seed=0)) == suite_fingerprint(suite)
    assert suite_fingerprint(build_suite(seed=1)) != suite_fingerprint(suite)
    assert suite_fingerprint(build_suite(seed=0, cases=20)) != suite_fingerprint(suite)
    assert suite_fingerprint(suite[1:]) != suite_fingerprint(suite)


def test_fewer_cases_are_the_first_cases_of_the_full_suite(suite: tuple) -> None:  # type: ignore[type-arg]
    small = build_suite(seed=0, cases=20)
    for s, full in zip(small, suite, strict=True):
        assert s.cases == full.cases[:20]


def test_every_capability_has_hundreds_of_distinct_cases(suite: tuple) -> None:  # type: ignore[type-arg]
    assert {t.capability for t in suite} == set(capability_names())
    for cap in capability_names():
        assert sum(len(t.cases) for t in suite if t.capability == cap) >= 100, cap
    for t in suite:
        assert len(t.cases) == DEFAULT_CASES, t.name
        assert len({(c.text, c.original) for c in t.cases}) == len(t.cases), t.name
        assert all(c.label in ("pos", "neg") for c in t.cases)
        assert (t.test_type == "MFT") == all(c.original is None for c in t.cases), t.name


def test_a_capability_can_be_chosen_and_an_unknown_one_is_refused_by_name() -> None:
    tests = build_suite(cases=5, capabilities=["negation"])
    assert {t.capability for t in tests} == {"negation"} and len(tests) == 2
    with pytest.raises(ValueError, match="unknown capability 'negations'; the suite has: vocabulary"):
        build_suite(capabilities=["negations"])
    with pytest.raises(ValueError, match="at least 1"):
        build_suite(cases=0)


def _test(suite: tuple, name: str):  # type: ignore[no-untyped-def, type-arg]
    return next(t for t in suite if t.name == name)


def test_verdict_cases_put_n_sentences_before_the_verdict(suite: tuple) -> None:  # type: ignore[type-arg]
    for name in ("complaints, then a positive verdict", "praise, then a negative verdict"):
        t = _test(suite, name)
        assert {c.group for c in t.cases} == {f"n={k}" for k in range(1, 6)}
        for c in t.cases:
            sentences = re.split(r"(?<=[.!?;]) (?=[A-Z])", c.text)
            assert len(sentences) == int(c.group[2:]) + 1, c.text


def test_feeling_verb_cases_are_grouped_by_the_template_they_fill(suite: tuple) -> None:  # type: ignore[type-arg]
    from engine.behaviour import _templates as T

    for name in ("positive feeling verbs", "negative feeling verbs"):
        t = _test(suite, name)
        assert {c.group for c in t.cases} == {
            tpl.replace("{verb}", "…").replace("{", "<").replace("}", ">") for tpl in T.FEELING_VERBS
        }
        for c in t.cases:
            head = c.group.split("…")[0]  # "Honestly, I ", "We both ", "Today I "
            assert c.text.startswith(head), (c.group, c.text)
            assert c.text.endswith(c.group.rsplit(">", 1)[-1] if ">" in c.group else c.group.split("…")[1]), c


def test_negation_cases_hold_a_negation(suite: tuple) -> None:  # type: ignore[type-arg]
    cue = re.compile(r"\b(not|never|hardly|nothing|no one|anything but|better|worse)\b|n't\b", re.I)
    for name in ("negated negative", "negated positive"):
        for c in _test(suite, name).cases:
            assert cue.search(c.text), c.text


def test_typos_swap_neighbouring_letters_and_change_nothing_else(suite: tuple) -> None:  # type: ignore[type-arg]
    for c in _test(suite, "typos").cases:
        assert c.original is not None and c.text != c.original and len(c.text) == len(c.original)
        diff = [i for i, (a, b) in enumerate(zip(c.text, c.original, strict=True)) if a != b]
        assert 2 <= len(diff) <= 4 and sorted(c.text) == sorted(c.original)


def test_contractions_change_only_contractable_pairs(suite: tuple) -> None:  # type: ignore[type-arg]
    def expand(text: str) -> str:
        for long, short in CONTRACTIONS:
            text = re.sub(rf"\b{re.escape(short)}\b", long, text)
        return text

    for c in _test(suite, "contractions").cases:
        assert c.original is not None and c.text != c.original
        assert expand(c.text) == expand(c.original)


def test_entity_swaps_keep_the_words_around_them(suite: tuple) -> None:  # type: ignore[type-arg]
    for c in _test(suite, "years and numbers").cases:
        assert c.original is not None
        assert re.sub(r"\d+", "#", c.text) == re.sub(r"\d+", "#", c.original) and c.text != c.original
    for c in _test(suite, "names").cases:
        assert c.original is not None
        capitalised = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b")
        assert capitalised.sub("X", c.text).count("X") >= 1 and c.text != c.original
        assert len(c.text.split(".")) == len(c.original.split("."))


def test_neutral_sentence_is_one_added_sentence(suite: tuple) -> None:  # type: ignore[type-arg]
    for c in _test(suite, "neutral sentence added").cases:
        assert c.original is not None
        added = c.text.replace(c.original, "") if c.original in c.text else None
        original_sentences = set(re.split(r"(?<=[.!?]) ", c.original))
        extra = [s for s in re.split(r"(?<=[.!?]) ", c.text) if s not in original_sentences]
        assert len(extra) == 1, (added, c.text)


# -- running ---------------------------------------------------------------------------------------
def test_always_pos_fails_every_negative_mft_case_and_nothing_else(suite: tuple) -> None:  # type: ignore[type-arg]
    result = run_suite(Stub(always_pos), suite)
    for t, spec in zip(result.tests, suite, strict=True):
        if spec.test_type == "MFT":
            assert {c.label for c in spec.cases} in ({"pos"}, {"neg"})
            expected = 1.0 if spec.cases[0].label == "neg" else 0.0
            assert t.failure_rate == expected, t.name
        else:  # the same answer for every text: nothing flips, no confidence moves
            assert t.failure_count == 0, t.name
    cell = result.cell("negation", "MFT")
    assert cell is not None and (cell.n, cell.failures, cell.tests) == (400, 200, 2)
    assert result.cell("negation", "INV") is None


def test_a_model_that_reads_apostrophes_flips_every_contraction_case(suite: tuple) -> None:  # type: ignore[type-arg]
    result = run_suite(Stub(lambda t: (0.8, 0.2) if "'" in t else (0.3, 0.7)), suite)
    tests = {t.name: t for t in result.tests}
    failing = [c for c in _test(suite, "contractions").cases if ("'" in c.text) != ("'" in c.original)]
    assert tests["contractions"].failure_count == len(failing) > 150
    f = tests["contractions"].failures[0]
    assert f.original is not None and f.expected.startswith("same as the original: ")
    assert f.predicted != f.original_predicted


def test_dir_fails_only_where_confidence_in_the_class_drops_beyond_the_tolerance(suite: tuple) -> None:  # type: ignore[type-arg]
    words = re.compile(r"\b(" + "|".join(INTENSIFIERS) + r")\b")

    def dampened(text: str) -> tuple[float, float]:  # P(pos) 0.9, or 0.5 after an intensifier
        return (0.5, 0.5) if words.search(text) else (0.1, 0.9)

    result = run_suite(Stub(dampened), suite)
    t = next(r for r in result.tests if r.name == "intensifiers")
    spec = _test(suite, "intensifiers")
    # pos cases lose 0.4 of P(pos): fail; neg cases gain P(neg): the direction allows it
    assert t.failure_count == sum(c.label == "pos" for c in spec.cases) > 50
    assert all(f"not below {0.9 - DIR_TOLERANCE:.3f}" in f.expected for f in t.failures)
    hedges = next(r for r in result.tests if r.name == "hedges")
    assert hedges.failure_count == 0

    def barely(text: str) -> tuple[float, float]:  # drops by less than the tolerance: passes
        return (0.15, 0.85) if words.search(text) else (0.1, 0.9)

    assert (
        next(r for r in run_suite(Stub(barely), suite).tests if r.name == "intensifiers").failure_count == 0
    )


def test_each_distinct_text_is_scored_once_in_batches_with_progress(suite: tuple) -> None:  # type: ignore[type-arg]
    stub = Stub(always_pos)
    gen = run_suite_steps(stub, suite, batch_size=500)
    progress: list[RunProgress] = []
    try:
        while True:
            progress.append(next(gen))
    except StopIteration as done:
        result = done.value
    distinct = {c.text for t in suite for c in t.cases} | {
        c.original for t in suite for c in t.cases if c.original
    }
    assert sum(stub.batches) == len(distinct) == result.texts_scored
    assert max(stub.batches) == 500
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[0].done == 0 and progress[-1].done == progress[-1].total == len(distinct)


def test_a_model_without_sentiment_labels_is_refused_in_one_line(suite: tuple) -> None:  # type: ignore[type-arg]
    stub = Stub(always_pos)
    stub.label_names = ("bad", "good")  # type: ignore[assignment]
    with pytest.raises(ValueError, match="labels must include neg, pos, but they are bad, good"):
        run_suite(stub, suite)


def test_json_has_the_documented_schema(suite: tuple) -> None:  # type: ignore[type-arg]
    result = run_suite(Stub(always_pos), suite, seed=0, cases_per_test=DEFAULT_CASES, model="stub")
    d = json.loads(json.dumps(result.to_json(examples=2)))
    assert d["schema"] == SCHEMA and d["labels"] == ["neg", "pos"] and d["model"] == "stub"
    assert set(d) == {"schema", "model", "labels", "seed", "cases_per_test", "seconds", "texts_scored",
                      "suite_sha256", "capabilities", "tests"}  # fmt: skip
    assert d["suite_sha256"] == suite_fingerprint(suite) and len(d["suite_sha256"]) == 64
    assert [c["name"] for c in d["capabilities"]] == [c.name for c in CAPABILITIES]
    for cap in d["capabilities"]:
        assert set(cap) == {"name", "title", "description", "cells"}
        for cell in cap["cells"].values():
            assert set(cell) == {"n", "failures", "failure_rate", "tests"}
    keys = {
        "capability",
        "name",
        "type",
        "description",
        "n",
        "failures",
        "failure_rate",
        "groups",
        "examples",
    }
    for t in d["tests"]:
        assert set(t) == keys
        assert len(t["examples"]) == min(2, t["failures"])
        for e in t["examples"]:
            assert {"text", "expected", "predicted", "probabilities"} <= set(e)
            assert set(e["probabilities"]) == {"neg", "pos"}
    verdict = next(t for t in d["tests"] if t["name"] == "praise, then a negative verdict")
    assert set(verdict["groups"]) == {f"n={k}" for k in range(1, 6)}
    assert sum(g["n"] for g in verdict["groups"].values()) == verdict["n"]
    assert len(result.to_json()["tests"][1]["examples"]) == DEFAULT_CASES  # None: every failure


def test_bundle_predictor_agrees_with_analyze(shipped: ModelBundle) -> None:
    from engine.analyze import analyze

    texts = ["It was far better than I feared.", "The plot is dull. But I loved it!", "A film."]
    probs = BundlePredictor(shipped).predict_proba(texts)
    for text, p in zip(texts, probs, strict=True):
        reference = analyze(shipped, text).probabilities
        np.testing.assert_allclose(p, [reference["neg"], reference["pos"]], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="reads no words"):
        BundlePredictor(shipped).predict_proba(["A film.", "   "])


def test_bundle_predictor_restores_torchs_threads(shipped: ModelBundle) -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []
        model = shipped.model
        hook = model.classifier.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
        try:
            BundlePredictor(shipped, threads=1).predict_proba(["A fine film."])
            assert seen == [1] and torch.get_num_threads() == 2
            BundlePredictor(shipped, threads=None).predict_proba(["A fine film."])
            assert seen == [1, 2] and torch.get_num_threads() == 2
        finally:
            hook.remove()
    finally:
        torch.set_num_threads(before)
