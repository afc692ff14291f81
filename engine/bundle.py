"""Model files: ``model.safetensors`` (weights) plus ``model.json`` (everything else).

Nothing here unpickles: safetensors holds only raw tensors and JSON holds only data. Loading checks
every field and every tensor's name and shape, so a truncated, corrupt or mismatched directory
fails with a :class:`ModelError` whose message is one clear line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.batching import LengthLimits
from engine.model import HAN, HANConfig
from engine.vocab import Vocab

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelBundle", "ModelError", "load_bundle", "save_bundle",
           "update_metadata"]

FORMAT = "han-explorer-model"
FORMAT_VERSION = 1
WEIGHTS, META = "model.safetensors", "model.json"


class ModelError(ValueError):
    """A model directory that cannot be used."""


@dataclass
class ModelBundle:
    """A trained HAN with what it needs to read text: vocabulary, label names, length limits."""

    model: HAN
    vocab: Vocab
    label_names: tuple[str, ...]
    limits: LengthLimits
    metadata: dict[str, Any] = field(default_factory=dict)  # training record: data, accuracy, command
    path: Path | None = None

    @property
    def config(self) -> HANConfig:
        return self.model.config


def _atomic_dir_write(target: Path, write: Any) -> None:
    """Write a directory via a temp sibling and rename, so readers never see half a model."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write(tmp)
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_bundle(bundle: ModelBundle, directory: str | Path, embedding_dtype: str = "float32") -> Path:
    """Save atomically. ``embedding_dtype="float16"`` halves the largest tensor (shipped model)."""
    directory = Path(directory)
    state = {k: v.detach().to("cpu").contiguous() for k, v in bundle.model.state_dict().items()}
    if embedding_dtype == "float16":
        state["embedding.weight"] = state["embedding.weight"].half()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": bundle.config.to_dict(),
        "label_names": list(bundle.label_names),
        "limits": vars(bundle.limits),
        "vocab": list(bundle.vocab.itos),
        **{k: v for k, v in bundle.metadata.items() if k not in ("config", "vocab")},
    }

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / WEIGHTS))
        (tmp / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    _atomic_dir_write(directory, write)
    bundle.path = directory
    return directory


def _read_meta(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise ModelError(f"not a model directory: {directory}")
    for name in (WEIGHTS, META):
        if not (directory / name).is_file():
            raise ModelError(f"not a model directory: {directory} has no {name}")
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"corrupt {META} in {directory}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{directory / META} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"unsupported model format version {meta.get('format_version')!r}")
    for key, kind in (("config", dict), ("label_names", list), ("vocab", list), ("limits", dict)):
        if not isinstance(meta.get(key), kind):
            raise ModelError(f"{directory / META}: field {key!r} missing or not a {kind.__name__}")
    return meta


def _build(meta: dict[str, Any], directory: Path) -> tuple[HAN, Vocab, tuple[str, ...], LengthLimits]:
    try:
        config = HANConfig.from_dict(meta["config"])
        vocab = Vocab(tuple(meta["vocab"]))
        limits = LengthLimits(**meta["limits"])
    except (TypeError, ValueError) as e:
        raise ModelError(f"{directory / META}: {e}") from None
    labels = tuple(str(x) for x in meta["label_names"])
    if len(vocab) != config.vocab_size:
        raise ModelError(f"vocabulary has {len(vocab)} words but the config says {config.vocab_size}")
    if len(labels) != config.num_classes or len(set(labels)) != len(labels):
        raise ModelError(f"label_names {labels} do not match {config.num_classes} classes")
    return HAN(config), vocab, labels, limits


def load_bundle(directory: str | Path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and validate a model directory; raises :class:`ModelError` on any problem."""
    directory = Path(directory)
    meta = _read_meta(directory)
    model, vocab, labels, limits = _build(meta, directory)
    try:
        state = load_file(str(directory / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"corrupt {WEIGHTS} in {directory}: {e}") from None
    expected = model.state_dict()
    missing, extra = set(expected) - set(state), set(state) - set(expected)
    if missing or extra:
        raise ModelError(f"{WEIGHTS} does not match the config: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(extra)[:3]}")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise ModelError(f"{WEIGHTS}: {k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}")
        if not torch.isfinite(state[k].float()).all():
            raise ModelError(f"{WEIGHTS}: {k} holds NaN or infinite values")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    model.to(device).eval()
    own = ("format", "format_version", "config", "vocab", "label_names", "limits")
    extra_meta = {k: v for k, v in meta.items() if k not in own}
    return ModelBundle(model, vocab, labels, limits, extra_meta, directory)


def update_metadata(directory: str | Path, **fields_: Any) -> None:
    """Set top-level fields of ``model.json`` (e.g. a recorded test accuracy), atomically."""
    directory = Path(directory)
    meta = _read_meta(directory)
    meta.update(fields_)
    tmp = directory / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, directory / META)
