"""model.json is checked field by field before anything is built (issue 13, item 3).

Wrong types, ranges and sizes give one-line ModelErrors (CLI: exit 2), tensor shapes are compared
with the safetensors header before the HAN is allocated, and a deeply nested JSON is refused
without a RecursionError. A property test throws arbitrary JSON at every field.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.bundle
from engine.bundle import ModelError, load_bundle
from tests.reliability.helpers import assert_one_line, call, copy_model


def _edit(model: Path, edit: Any) -> None:
    path = model / "model.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    edit(meta)
    path.write_text(json.dumps(meta), encoding="utf-8")


def _one_line_model_error(model: Path, *words: str) -> str:
    with pytest.raises(ModelError) as err:
        load_bundle(model)
    msg = str(err.value)
    assert msg and "\n" not in msg and len(msg) < 400, msg
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("embed_dim", "200", ["config.embed_dim", "whole number"]),
        ("embed_dim", 8.5, ["config.embed_dim"]),
        ("embed_dim", -3, ["config.embed_dim", "between"]),
        ("embed_dim", 10**12, ["config.embed_dim", "between"]),
        ("word_hidden", True, ["config.word_hidden"]),
        ("word_hidden", None, ["config.word_hidden"]),
        ("sentence_attention_dim", 0, ["config.sentence_attention_dim"]),
        ("dropout", "0.5", ["config.dropout", "number"]),
        ("dropout", 1.5, ["config.dropout"]),
        ("dropout", math.nan, ["config.dropout"]),
        ("num_classes", [2], ["config.num_classes"]),
        ("vocab_size", 10**10, ["config.vocab_size"]),
    ],
)
def test_wrong_config_values_are_one_line_errors(
    tiny_model: Path,
    tmp_path: Path,
    field: str,
    value: object,
    words: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = copy_model(tiny_model, tmp_path / "m")
    _edit(model, lambda m: m["config"].update({field: value}))
    _one_line_model_error(model, *words)
    review = tmp_path / "review.txt"
    review.write_text("The film was great.", encoding="utf-8")
    rc, out, err = call(capsys, "predict", "--model", str(model), "--json", str(review))
    assert_one_line(rc, out, err, field)


def test_shapes_are_checked_before_the_model_is_allocated(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1.5M-word config over a small weights file is refused from the header: HAN is never built."""
    model = copy_model(tiny_model, tmp_path / "m")
    big = 1_500_000

    def huge(meta: dict[str, Any]) -> None:
        meta["config"]["vocab_size"] = big
        meta["vocab"] = meta["vocab"] + [f"w{i}" for i in range(big - len(meta["vocab"]))]

    _edit(model, huge)

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("HAN was built before the weights' shapes were checked")

    monkeypatch.setattr(engine.bundle, "HAN", no_build)
    _one_line_model_error(model, "embedding.weight", "(1500000, 8)")


def test_deeply_nested_json_is_a_model_error(tiny_model: Path, tmp_path: Path) -> None:
    model = copy_model(tiny_model, tmp_path / "m")
    depth = 100_000
    nested = "[" * depth + "]" * depth
    (model / "model.json").write_text(
        '{"format": "han-explorer-model", "config": ' + nested + "}", encoding="utf-8"
    )
    _one_line_model_error(model, "nested too deeply")


def test_integer_weights_are_refused(tiny_model: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    model = copy_model(tiny_model, tmp_path / "m")
    state = load_file(str(model / "model.safetensors"))
    state["classifier.bias"] = state["classifier.bias"].long()
    save_file(state, str(model / "model.safetensors"))
    _one_line_model_error(model, "classifier.bias", "floating point")


def test_a_bad_saved_model_keeps_the_app_loadable_path_clean(tiny_model: Path, tmp_path: Path) -> None:
    """The app loads its saved model path at start: whatever is there, loading raises ModelError only."""
    model = copy_model(tiny_model, tmp_path / "m")
    _edit(model, lambda m: m["limits"].update(max_words="many"))
    _one_line_model_error(model, "limits.max_words")


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "format_version",
    "config",
    "label_names",
    "vocab",
    "limits",
    "config.vocab_size",
    "config.num_classes",
    "config.embed_dim",
    "config.word_hidden",
    "config.sentence_hidden",
    "config.word_attention_dim",
    "config.sentence_attention_dim",
    "config.dropout",
    "config.embed_dropout",
    "limits.max_words",
    "limits.max_sentences",
    "limits.word_quantile",
    "limits.sentence_quantile",
    "vocab.0",
    "vocab.3",
    "label_names.0",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_value_in_any_field_loads_or_is_a_model_error(
    tiny_model: Path, tmp_path: Path, field: str, value: object
) -> None:
    model = tmp_path / "m"
    if not model.exists():
        copy_model(tiny_model, model)
    original = (tiny_model / "model.json").read_text(encoding="utf-8")
    meta = json.loads(original)
    *parents, last = field.split(".")
    target: Any = meta
    for p in parents:
        target = target[p]
    target[int(last) if isinstance(target, list) else last] = value
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    try:
        bundle = load_bundle(model)
    except ModelError as e:
        assert "\n" not in str(e) and len(str(e)) < 600
    else:
        assert len(bundle.vocab) == bundle.config.vocab_size
