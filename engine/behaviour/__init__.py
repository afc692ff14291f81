"""Behavioural tests of a sentiment model, after CheckList (Ribeiro et al., ACL 2020).

Capabilities x test types, generated from templates and lexicons written for this project
(:mod:`engine.behaviour._lexicon`), deterministic in a seed:

========== ===== ===========================================================================
capability type  tests
========== ===== ===========================================================================
vocabulary MFT   positive words; negative words; positive and negative feeling verbs ("I loathe it.")
negation   MFT   negated negative (pos); negated positive (neg)
verdict    MFT   1-5 complaints then a positive verdict; 1-5 praises then a negative verdict
temporal   MFT   used to dislike, now like (pos); used to like, now dislike (neg)
intensity  DIR   intensifiers must not lower P(class) by > 0.1; hedges must not raise it by > 0.1
robustness INV   typos; contractions
entities   INV   names; titles and places; years and numbers
neutral    INV   a neutral sentence added
========== ===== ===========================================================================

Use::

    tests = build_suite(seed=0, cases=200)                 # 200 cases per test
    result = run_suite(BundlePredictor(bundle), tests)    # or run_suite_steps: yields RunProgress
    result.to_json(examples=10)

JSON (``SuiteResult.to_json``), schema ``han-explorer/behaviour/1``::

    {"schema": "han-explorer/behaviour/1", "model": str, "labels": [str], "seed": int,
     "cases_per_test": int, "seconds": float, "texts_scored": int, "suite_sha256": str,
     "capabilities": [{"name", "title", "description",
                       "cells": {"MFT"|"INV"|"DIR": {"n", "failures", "failure_rate", "tests"}}}],
     "tests": [{"capability", "name", "type", "description", "n", "failures", "failure_rate",
                "groups": {name: {"n", "failures", "failure_rate"}},
                "examples": [{"text", "expected", "predicted", "probabilities": {label: p},
                              "original", "original_predicted", "original_probabilities",
                              "group"}]}]}

``suite_sha256`` fingerprints the cases (:func:`suite_fingerprint`): equal fingerprints, equal texts
(compare models only on equal ones). ``examples`` lists failing cases only; ``original*`` appear for
INV and DIR, ``group`` where the test has groups (the verdict tests: ``n=1`` ... ``n=5`` sentences
before the verdict). A cell pools the tests of one capability and type; a type a capability has no
test of is absent from ``cells``.
"""

from engine.behaviour._run import (
    SCHEMA,
    BundlePredictor,
    CellResult,
    Failure,
    GroupResult,
    Predictor,
    RunProgress,
    SuiteResult,
    TestResult,
    run_suite,
    run_suite_steps,
)
from engine.behaviour._suite import (
    CAPABILITIES,
    DEFAULT_CASES,
    DIR_TOLERANCE,
    TEST_TYPES,
    BehaviourTest,
    Capability,
    Case,
    build_suite,
    capability_names,
    suite_fingerprint,
)

__all__ = [
    "CAPABILITIES",
    "DEFAULT_CASES",
    "DIR_TOLERANCE",
    "SCHEMA",
    "TEST_TYPES",
    "BehaviourTest",
    "BundlePredictor",
    "Capability",
    "Case",
    "CellResult",
    "Failure",
    "GroupResult",
    "Predictor",
    "RunProgress",
    "SuiteResult",
    "TestResult",
    "build_suite",
    "capability_names",
    "run_suite",
    "run_suite_steps",
    "suite_fingerprint",
]
