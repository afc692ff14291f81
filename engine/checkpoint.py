"""Resumable training checkpoints: ``state.safetensors`` (model, optimizer, RNG) + ``state.json``.

Optimizer state is flattened into named tensors plus JSON hyper-parameters, so resuming never
unpickles anything. Directories are replaced atomically (:func:`engine.atomic.replace_dir`), and
every field of ``state.json`` is checked on load: a wrong one is a one-line ``ModelError``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.atomic import WriteError, recover_dir, replace_dir, write_json
from engine.batching import LengthLimits
from engine.bundle import ModelError
from engine.limits import MAX_META_BYTES
from engine.textio import JSONFileError, read_json_file
from engine.validate import FieldError, check_float, check_int, check_limits, check_vocab
from engine.vocab import Vocab

if TYPE_CHECKING:
    from engine.model import HAN
    from engine.train import TrainConfig

__all__ = ["Resumed", "TrainState", "load", "restore", "save"]

# settings that may differ on resume; everything else must match the checkpoint
_MAY_CHANGE = {
    "epochs",
    "resume",
    "patience",
    "checkpoint_every",
    "workers",
    "command",
    "device",
    "out",
    "cache_dir",
    "force",
}


@dataclass
class TrainState:
    epoch: int = 0  # epochs finished
    step: int = 0  # optimizer steps taken (this rank)
    step_in_epoch: int = 0  # batches of the current epoch done
    best_dev_accuracy: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Resumed:
    state: TrainState
    vocab: Vocab
    limits: LengthLimits
    data_sha256: str
    tensors: dict[str, torch.Tensor]
    param_groups: list[dict[str, Any]]


def save(
    directory: Path,
    cfg: TrainConfig,
    model: HAN,
    opt: torch.optim.Optimizer,
    state: TrainState,
    vocab: Vocab,
    limits: LengthLimits,
    data_sha256: str,
    ema: torch.nn.Module | None = None,
) -> None:
    """Write the checkpoint; ``ema``, the moving average of the weights (``--ema-decay``), as ``ema.*``."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors |= {f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()}
    osd = opt.state_dict()
    for pid, pstate in osd["state"].items():
        for k, v in pstate.items():
            t = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            tensors[f"optim.{pid}.{k}"] = t.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {
        "state": asdict(state),
        "config": asdict(cfg),
        "vocab": list(vocab.itos),
        "limits": asdict(limits),
        "data_sha256": data_sha256,
        "param_groups": osd["param_groups"],
    }

    def write(tmp: Path) -> None:
        try:
            save_file(tensors, str(tmp / "state.safetensors"))
        except SafetensorError as e:  # safetensors reports a full disk as its own error
            raise WriteError(directory / "state.safetensors", e) from None
        write_json(tmp / "state.json", meta, indent=None)

    replace_dir(directory, write)


def load(directory: Path, cfg: TrainConfig) -> Resumed:
    """Read and check a checkpoint; :class:`~engine.bundle.ModelError` (one line) if unusable."""
    directory = recover_dir(directory)
    if not (directory / "state.json").is_file():
        raise ModelError(f"cannot resume: no checkpoint in {directory}")
    try:
        meta = read_json_file(directory / "state.json", MAX_META_BYTES, "checkpoint file")
        tensors = load_file(str(directory / "state.safetensors"))
    except (JSONFileError, SafetensorError, OSError, ValueError) as e:
        raise ModelError(
            f"cannot resume: corrupt checkpoint in {directory}: {' '.join(str(e).split())}"
        ) from None
    try:
        resumed = _checked(meta, tensors)
    except FieldError as e:
        raise ModelError(f"cannot resume: {directory / 'state.json'}: {e}") from None
    config = meta["config"]
    # a setting added after the checkpoint was written is missing from it: it ran at the default
    defaults = {f.name: f.default for f in fields(cfg)}
    changed = [k for k, v in asdict(cfg).items() if k not in _MAY_CHANGE and config.get(k, defaults[k]) != v]
    if changed:
        raise ValueError(f"cannot resume: settings differ from the checkpoint: {', '.join(changed)}")
    return resumed


def _checked(meta: object, tensors: dict[str, torch.Tensor]) -> Resumed:
    """A :class:`Resumed` from ``state.json``'s content, every field checked (:class:`FieldError`)."""
    if not isinstance(meta, dict):
        raise FieldError("not a JSON object")
    for key, kind in (
        ("state", dict),
        ("config", dict),
        ("vocab", list),
        ("limits", dict),
        ("data_sha256", str),
        ("param_groups", list),
    ):
        if not isinstance(meta.get(key), kind):
            raise FieldError(f"field {key!r} missing or not a {'JSON ' + kind.__name__}")
    if not re.fullmatch(r"[0-9a-f]{64}", meta["data_sha256"]):
        raise FieldError("data_sha256 is not a sha256 digest")
    groups = meta["param_groups"]
    if not groups or not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups):
        raise FieldError("param_groups must be a list of optimizer groups with 'params'")
    if not isinstance(tensors.get("rng.torch"), torch.Tensor) or tensors["rng.torch"].dtype != torch.uint8:
        raise FieldError("the random state (rng.torch) is missing or not bytes")
    return Resumed(
        _state(meta["state"]),
        check_vocab(meta["vocab"]),
        check_limits(meta["limits"]),
        meta["data_sha256"],
        tensors,
        groups,
    )


def _state(d: dict[str, Any]) -> TrainState:
    known = {f.name for f in fields(TrainState)}
    if set(d) - known:
        raise FieldError(f"unknown state fields: {sorted(set(d) - known)[:5]}")
    kw: dict[str, Any] = {
        k: check_int(d.get(k, 0), f"state.{k}", 0)
        for k in ("epoch", "step", "step_in_epoch", "best_epoch", "bad_epochs")
    }
    best = d.get("best_dev_accuracy")
    kw["best_dev_accuracy"] = None if best is None else check_float(best, "state.best_dev_accuracy", 0.0, 1.0)
    history = d.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise FieldError("state.history must be a list of objects")
    return TrainState(**kw, history=history)


def restore(r: Resumed, model: HAN, opt: torch.optim.Optimizer, ema: torch.nn.Module | None = None) -> None:
    """Put a checkpoint's weights, optimizer state, random state and (``ema``) moving average back;
    ModelError if they do not fit."""
    try:
        _restore(r, model, opt)
        if ema is not None:
            _load(ema, {k[4:]: v for k, v in r.tensors.items() if k.startswith("ema.")}, "ema.")
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ModelError(
            f"cannot resume: the checkpoint does not fit this model: "
            f"{(str(e).splitlines() or [type(e).__name__])[0]}"
        ) from None


def _load(module: torch.nn.Module, weights: dict[str, torch.Tensor], prefix: str) -> None:
    for k, v in module.state_dict().items():
        if k not in weights or tuple(weights[k].shape) != tuple(v.shape):
            got = tuple(weights[k].shape) if k in weights else "nothing"
            raise ValueError(f"{prefix}{k} is {got}, expected {tuple(v.shape)}")
    module.load_state_dict(weights)


def _restore(r: Resumed, model: HAN, opt: torch.optim.Optimizer) -> None:
    _load(model, {k[6:]: v for k, v in r.tensors.items() if k.startswith("model.")}, "model.")
    device = next(model.parameters()).device
    state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in r.tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            state.setdefault(int(pid), {})[name] = v if name == "step" else v.to(device)
    opt.load_state_dict({"state": state, "param_groups": r.param_groups})
    torch.set_rng_state(r.tensors["rng.torch"])
    if "rng.cuda" in r.tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(r.tensors["rng.cuda"])
