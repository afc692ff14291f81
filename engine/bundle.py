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
from engine.config import HANConfig, LengthLimits
from engine.model import HAN
from engine.model_files import FORMAT, FORMAT_VERSION, META, WEIGHTS, ModelError, check_meta, read_meta
from engine.runs import RunDirError, is_shipped_model
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


def load_bundle(directory: str | Path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and validate a model directory; raises :class:`ModelError` on any problem.

    Every field and the weights' header are checked before the model is built, so a wrong or
    hostile ``model.json`` costs no memory. A folder that a kill left as ``.NAME.old`` is put back.
    """
    directory = recover_dir(Path(directory))
    meta = read_meta(directory)
    config, vocab, labels, limits = check_meta(meta, directory)
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
    meta = read_meta(directory)
    meta.update(fields_)
    write_json(directory / META, meta)
