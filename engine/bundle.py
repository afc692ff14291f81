"""Model files: ``model.safetensors`` (weights) plus ``model.json`` (everything else).

Nothing here unpickles: safetensors holds only raw tensors and JSON holds only data. Loading checks
every field and every tensor's name and shape, so a truncated, corrupt or mismatched directory
fails with a :class:`ModelError` whose message is one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.atomic import WriteError, recover_dir, replace_dir, write_json
from engine.batching import LengthLimits
from engine.limits import MAX_META_BYTES
from engine.model import HAN, HANConfig
from engine.runs import RunDirError, is_shipped_model
from engine.textio import JSONFileError, read_json_file
from engine.validate import (
    FLOAT_DTYPES,
    FieldError,
    check_config,
    check_labels,
    check_limits,
    check_vocab,
    expected_shapes,
    header_shapes,
    short_repr,
)
from engine.vocab import Vocab

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ModelBundle",
    "ModelError",
    "load_bundle",
    "save_bundle",
    "update_metadata",
]

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


def save_bundle(bundle: ModelBundle, directory: str | Path, embedding_dtype: str = "float32") -> Path:
    """Save atomically. ``embedding_dtype="float16"`` halves the largest tensor (shipped model).

    Replaces ``directory`` whole: call :func:`engine.runs.check_model_dir` first where the folder
    comes from a user. The shipped model is refused here too (:class:`~engine.runs.RunDirError`);
    a failed write raises :class:`~engine.atomic.WriteError` and leaves the old folder as it was.
    """
    directory = Path(directory)
    if is_shipped_model(directory):
        raise RunDirError(f"{directory} is the shipped model, which is read-only: save to another folder")
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
        try:
            save_file(state, str(tmp / WEIGHTS))
        except SafetensorError as e:  # safetensors reports a full disk as its own error
            raise WriteError(directory / WEIGHTS, e) from None
        write_json(tmp / META, meta)

    replace_dir(directory, write)
    bundle.path = directory
    return directory


def _read_meta(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise ModelError(f"not a model directory: {directory}")
    for name in (WEIGHTS, META):
        if not (directory / name).is_file():
            raise ModelError(f"not a model directory: {directory} has no {name}")
    try:
        meta = read_json_file(directory / META, MAX_META_BYTES, META)
    except JSONFileError as e:
        raise ModelError(str(e)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{directory / META} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"unsupported model format version {short_repr(meta.get('format_version'))}")
    for key, kind in (("config", dict), ("label_names", list), ("vocab", list), ("limits", dict)):
        if not isinstance(meta.get(key), kind):
            raise ModelError(f"{directory / META}: field {key!r} missing or not a {kind.__name__}")
    return meta


def _check(meta: dict[str, Any], directory: Path) -> tuple[HANConfig, Vocab, tuple[str, ...], LengthLimits]:
    """Every field of ``model.json`` checked, and the weights' header against the config."""
    try:
        config = check_config(meta["config"])
        vocab = check_vocab(meta["vocab"], config.vocab_size)
        labels = check_labels(meta["label_names"], config.num_classes)
        limits = check_limits(meta["limits"])
        expected = expected_shapes(config)
    except FieldError as e:
        raise ModelError(f"{directory / META}: {e}") from None
    try:
        header = header_shapes(directory / WEIGHTS)
    except FieldError as e:
        raise ModelError(f"{e} in {directory}") from None
    missing, extra = set(expected) - set(header), set(header) - set(expected)
    if missing or extra:
        raise ModelError(
            f"{WEIGHTS} does not match the config: missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(extra)[:3]}"
        )
    for k, shape in expected.items():
        got, dtype = header[k]
        if got != shape:
            raise ModelError(f"{WEIGHTS}: {k} has shape {got}, expected {shape}")
        if dtype not in FLOAT_DTYPES:
            raise ModelError(f"{WEIGHTS}: {k} is {dtype}, expected floating point")
    return config, vocab, labels, limits


def load_bundle(directory: str | Path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and validate a model directory; raises :class:`ModelError` on any problem.

    Every field and the weights' header are checked before the model is built, so a wrong or
    hostile ``model.json`` costs no memory. A folder that a kill left as ``.NAME.old`` is put back.
    """
    directory = recover_dir(Path(directory))
    meta = _read_meta(directory)
    config, vocab, labels, limits = _check(meta, directory)
    try:
        state = load_file(str(directory / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"corrupt {WEIGHTS} in {directory}: {' '.join(str(e).split())}") from None
    for k, v in state.items():
        if not torch.isfinite(v.float()).all():
            raise ModelError(f"{WEIGHTS}: {k} holds NaN or infinite values")
    model = HAN(config)
    expected = model.state_dict()
    try:
        model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    except RuntimeError as e:  # shapes were checked; keep any other complaint to one line
        raise ModelError(f"{WEIGHTS} cannot be loaded: {str(e).splitlines()[0]}") from None
    model.to(device).eval()
    own = ("format", "format_version", "config", "vocab", "label_names", "limits")
    extra_meta = {k: v for k, v in meta.items() if k not in own}
    return ModelBundle(model, vocab, labels, limits, extra_meta, directory)


def update_metadata(directory: str | Path, **fields_: Any) -> None:
    """Set top-level fields of ``model.json`` (e.g. a recorded test accuracy), atomically.

    The shipped model is read-only: :class:`~engine.runs.RunDirError` (a ``ValueError``); a folder
    that cannot be written: :class:`~engine.atomic.WriteError` (an ``OSError``).
    """
    directory = recover_dir(Path(directory))
    if is_shipped_model(directory):
        raise RunDirError(f"{directory} is the shipped model, which is read-only")
    meta = _read_meta(directory)
    meta.update(fields_)
    write_json(directory / META, meta)
