"""Resumable training checkpoints: ``state.safetensors`` (model, optimizer, RNG) + ``state.json``.

Optimizer state is flattened into named tensors plus JSON hyper-parameters, so resuming never
unpickles anything. Directories are replaced atomically (see :mod:`engine.bundle`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.batching import LengthLimits
from engine.bundle import ModelError, _atomic_dir_write
from engine.vocab import Vocab

if TYPE_CHECKING:
    from engine.model import HAN
    from engine.train import TrainConfig

__all__ = ["Resumed", "TrainState", "load", "restore", "save"]

# settings that may differ on resume; everything else must match the checkpoint
_MAY_CHANGE = {"epochs", "resume", "patience", "checkpoint_every", "workers", "command", "device", "out",
               "cache_dir"}


@dataclass
class TrainState:
    epoch: int = 0                 # epochs finished
    step: int = 0                  # optimizer steps taken (this rank)
    step_in_epoch: int = 0         # batches of the current epoch done
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


def save(directory: Path, cfg: TrainConfig, model: HAN, opt: torch.optim.Optimizer, state: TrainState,
         vocab: Vocab, limits: LengthLimits, data_sha256: str) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    osd = opt.state_dict()
    for pid, pstate in osd["state"].items():
        for k, v in pstate.items():
            t = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            tensors[f"optim.{pid}.{k}"] = t.detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {"state": asdict(state), "config": asdict(cfg), "vocab": list(vocab.itos),
            "limits": asdict(limits), "data_sha256": data_sha256,
            "param_groups": osd["param_groups"]}

    def write(tmp: Path) -> None:
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta), encoding="utf-8")

    _atomic_dir_write(directory, write)


def load(directory: Path, cfg: TrainConfig) -> Resumed:
    if not (directory / "state.json").is_file():
        raise ModelError(f"cannot resume: no checkpoint in {directory}")
    try:
        meta = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        tensors = load_file(str(directory / "state.safetensors"))
    except (json.JSONDecodeError, SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"cannot resume: corrupt checkpoint in {directory}: {e}") from None
    changed = [k for k, v in asdict(cfg).items()
               if k not in _MAY_CHANGE and meta["config"].get(k) != v]
    if changed:
        raise ValueError(f"cannot resume: settings differ from the checkpoint: {', '.join(changed)}")
    return Resumed(TrainState(**meta["state"]), Vocab(tuple(meta["vocab"])), LengthLimits(**meta["limits"]),
                   meta["data_sha256"], tensors, meta["param_groups"])


def restore(r: Resumed, model: HAN, opt: torch.optim.Optimizer) -> None:
    model.load_state_dict({k[6:]: v for k, v in r.tensors.items() if k.startswith("model.")})
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
