"""Tests for engine.bundle: round trips, validation errors, no pickle, metadata, the shipped model."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.testing import assert_close

import resources
from engine.batching import LengthLimits, collate
from engine.bundle import FORMAT, ModelBundle, ModelError, load_bundle, save_bundle, update_metadata
from engine.model import HAN, HANConfig
from engine.vocab import PAD, UNK, Vocab

WORDS = tuple(f"w{i}" for i in range(198))


def _bundle(word_hidden: int = 8, vocab_size: int = 200) -> ModelBundle:
    cfg = HANConfig(
        vocab_size=vocab_size,
        num_classes=2,
        embed_dim=32,
        word_hidden=word_hidden,
        sentence_hidden=8,
        word_attention_dim=16,
        sentence_attention_dim=16,
    )
    vocab = Vocab((PAD, UNK, *WORDS[: vocab_size - 2]))
    metadata = {"dev_accuracy": 0.75, "command": "han-explorer train --data x", "nested": {"a": [1, 2]}}
    return ModelBundle(HAN(cfg).eval(), vocab, ("neg", "pos"), LengthLimits(12, 5, 0.95, 0.9), metadata)


def _ids() -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    docs = [
        [torch.randint(2, 200, (n,), generator=g).tolist() for n in lens]
        for lens in ([3, 5, 2], [7], [1, 1, 4, 6])
    ]
    return collate(docs)[0]


def _outputs(model: HAN) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = model.eval()(_ids())
    return out.logits, out.word_attention, out.sentence_attention


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_bundle(_bundle(), tmp_path / "model")


def _edit_json(directory: Path, edit: Any) -> None:
    path = directory / "model.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    edit(meta)
    path.write_text(json.dumps(meta), encoding="utf-8")


def _assert_one_line(err: pytest.ExceptionInfo[ModelError]) -> None:
    msg = str(err.value)
    assert msg and "\n" not in msg


def test_round_trip_float32(tmp_path: Path) -> None:
    bundle = _bundle()
    directory = save_bundle(bundle, tmp_path / "m")
    assert sorted(p.name for p in directory.iterdir()) == ["model.json", "model.safetensors"]
    loaded = load_bundle(directory)
    assert loaded.path == directory
    assert loaded.vocab == bundle.vocab
    assert loaded.label_names == ("neg", "pos")
    assert loaded.limits == bundle.limits
    assert loaded.config == bundle.config
    assert loaded.metadata == bundle.metadata
    assert not loaded.model.training
    for k, v in bundle.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    for a, b in zip(_outputs(bundle.model), _outputs(loaded.model), strict=True):
        assert torch.equal(a, b)


def test_save_replaces_existing_directory_without_leftovers(tmp_path: Path) -> None:
    save_bundle(_bundle(), tmp_path / "m")
    second = _bundle()
    save_bundle(second, tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert torch.equal(load_bundle(tmp_path / "m").model.classifier.weight, second.model.classifier.weight)


def test_round_trip_float16_embedding(tmp_path: Path) -> None:
    bundle = _bundle()
    full = save_bundle(bundle, tmp_path / "f32")
    half = save_bundle(bundle, tmp_path / "f16", embedding_dtype="float16")
    size32 = (full / "model.safetensors").stat().st_size
    size16 = (half / "model.safetensors").stat().st_size
    embed_bytes = 200 * 32 * 4
    assert size16 <= size32 - embed_bytes // 2 + 64
    loaded = load_bundle(half)
    assert loaded.model.embedding.weight.dtype == torch.float32
    for a, b in zip(_outputs(bundle.model), _outputs(loaded.model), strict=True):
        assert_close(b, a, atol=1e-2, rtol=0)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model directory") as err:
        load_bundle(tmp_path / "nope")
    _assert_one_line(err)


def test_directory_without_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"has no model\.") as err:
        load_bundle(tmp_path / "empty")
    _assert_one_line(err)


def test_directory_missing_weights(saved: Path) -> None:
    (saved / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"has no model\.safetensors"):
        load_bundle(saved)


def test_truncated_safetensors(saved: Path) -> None:
    path = saved / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"corrupt model\.safetensors") as err:
        load_bundle(saved)
    _assert_one_line(err)


@pytest.mark.parametrize(
    "garbage", [b"garbage " * 300, bytes(range(256)) * 8, b"", b"\x08" + b"\0" * 7 + b"{}"]
)
def test_garbage_safetensors(saved: Path, garbage: bytes) -> None:
    (saved / "model.safetensors").write_bytes(garbage)
    with pytest.raises(ModelError) as err:
        load_bundle(saved)
    _assert_one_line(err)


def test_invalid_json(saved: Path) -> None:
    (saved / "model.json").write_text('{"format": "han-explorer-model", ', encoding="utf-8")
    with pytest.raises(ModelError, match=r"corrupt model\.json") as err:
        load_bundle(saved)
    _assert_one_line(err)


def test_json_not_utf8(saved: Path) -> None:
    (saved / "model.json").write_bytes(b'{"format": "\xff\xfe"}')
    with pytest.raises(ModelError, match=r"corrupt model\.json"):
        load_bundle(saved)


@pytest.mark.parametrize("value", ["something-else", None, 3])
def test_wrong_format(saved: Path, value: object) -> None:
    _edit_json(saved, lambda m: m.update(format=value))
    with pytest.raises(ModelError, match=f"is not a {FORMAT} file"):
        load_bundle(saved)


def test_json_not_an_object(saved: Path) -> None:
    (saved / "model.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelError, match=f"is not a {FORMAT} file"):
        load_bundle(saved)


def test_wrong_format_version(saved: Path) -> None:
    _edit_json(saved, lambda m: m.update(format_version=99))
    with pytest.raises(ModelError, match="unsupported model format version 99"):
        load_bundle(saved)


@pytest.mark.parametrize("field", ["config", "label_names", "vocab", "limits"])
def test_missing_field(saved: Path, field: str) -> None:
    _edit_json(saved, lambda m: m.pop(field))
    with pytest.raises(ModelError, match=f"field '{field}' missing") as err:
        load_bundle(saved)
    _assert_one_line(err)


def test_config_with_unknown_field(saved: Path) -> None:
    _edit_json(saved, lambda m: m["config"].update(layers=3))
    with pytest.raises(ModelError, match="unknown model config fields"):
        load_bundle(saved)


def test_config_missing_a_field(saved: Path) -> None:
    _edit_json(saved, lambda m: m["config"].pop("vocab_size"))
    with pytest.raises(ModelError):
        load_bundle(saved)


def test_vocab_size_mismatch(saved: Path) -> None:
    _edit_json(saved, lambda m: m["vocab"].append("extra-word"))
    with pytest.raises(ModelError, match="vocabulary has 201 words but the config says 200") as err:
        load_bundle(saved)
    _assert_one_line(err)


def test_invalid_vocab(saved: Path) -> None:
    _edit_json(saved, lambda m: m.update(vocab=m["vocab"][::-1]))
    with pytest.raises(ModelError):
        load_bundle(saved)


def test_label_names_mismatch(saved: Path) -> None:
    _edit_json(saved, lambda m: m.update(label_names=["neg", "pos", "meh"]))
    with pytest.raises(ModelError, match="label_names"):
        load_bundle(saved)
    _edit_json(saved, lambda m: m.update(label_names=["pos", "pos"]))
    with pytest.raises(ModelError, match="label_names"):
        load_bundle(saved)


def test_bad_limits(saved: Path) -> None:
    _edit_json(saved, lambda m: m["limits"].update(max_tokens=3))
    with pytest.raises(ModelError):
        load_bundle(saved)


def test_wrong_tensor_shape(tmp_path: Path) -> None:
    directory = save_bundle(_bundle(word_hidden=8), tmp_path / "m")
    _edit_json(directory, lambda m: m["config"].update(word_hidden=12))  # weights were made with 8
    with pytest.raises(ModelError, match=r"has shape .* expected") as err:
        load_bundle(directory)
    _assert_one_line(err)


def test_missing_and_unexpected_tensors(saved: Path) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(saved / "model.safetensors"))
    state["bonus.weight"] = state.pop("classifier.weight")
    save_file(state, str(saved / "model.safetensors"))
    with pytest.raises(ModelError, match=r"missing \['classifier\.weight'\].*unexpected \['bonus\.weight'\]"):
        load_bundle(saved)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights(tmp_path: Path, bad: float) -> None:
    bundle = _bundle()
    with torch.no_grad():
        bundle.model.sentence_gru.weight_hh_l0[3, 2] = bad
    directory = save_bundle(bundle, tmp_path / "m")
    with pytest.raises(ModelError, match=r"sentence_gru\.weight_hh_l0 holds NaN or infinite") as err:
        load_bundle(directory)
    _assert_one_line(err)


def test_no_code_path_unpickles(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickling is not allowed")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    loaded = load_bundle(saved)
    assert loaded.label_names == ("neg", "pos")
    _outputs(loaded.model)


def test_update_metadata(saved: Path) -> None:
    before = load_bundle(saved)
    update_metadata(saved, test_accuracy=0.875, test_evaluation={"n": 8})
    assert sorted(p.name for p in saved.iterdir()) == ["model.json", "model.safetensors"]
    meta = json.loads((saved / "model.json").read_text(encoding="utf-8"))
    assert meta["test_accuracy"] == 0.875
    after = load_bundle(saved)
    assert after.metadata == {**before.metadata, "test_accuracy": 0.875, "test_evaluation": {"n": 8}}
    assert after.vocab == before.vocab and after.limits == before.limits
    update_metadata(saved, test_accuracy=0.5)
    assert load_bundle(saved).metadata["test_accuracy"] == 0.5


def test_update_metadata_failure_keeps_old_file(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = (saved / "model.json").read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        update_metadata(saved, test_accuracy=0.1)
    monkeypatch.undo()
    assert (saved / "model.json").read_bytes() == original
    assert "test_accuracy" not in load_bundle(saved).metadata


def test_update_metadata_on_bad_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        update_metadata(tmp_path / "nope", test_accuracy=1.0)


def test_shipped_model(shipped: ModelBundle) -> None:
    assert shipped.label_names == ("neg", "pos")
    assert shipped.metadata["test_accuracy"] >= 0.905
    assert str(shipped.metadata["command"]).startswith("han-explorer train")
    assert len(shipped.vocab) == shipped.config.vocab_size
    assert not shipped.model.training
    size = sum(p.stat().st_size for p in resources.model_dir().rglob("*") if p.is_file())
    assert size < 15_000_000
