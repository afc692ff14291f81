"""Knowledge distillation from trained HANs (``train --distill-from``; issue 17).

Hinton, Vinyals and Dean (2015, "Distilling the Knowledge in a Neural Network"): a model trained
on what an ensemble says about each example, rather than on the bare labels, keeps much of the
ensemble's accuracy in one network. Here the teachers are trained HAN folders. Each one scores
every real review of the run's training split once, before the first step, on the whole review
(as ``evaluate`` reads it). The target of a review is the mean over teachers of
``softmax(logits / T)``.

On those reviews the loss is ``(1 - w) * cross-entropy(label) + w * T^2 * KL(target || softmax(z / T))``.
The reviews a run writes itself (spliced, negated, judged) keep their own labels and plain
cross-entropy: the teachers never saw them, and their labels are exact by construction.

A teacher must have the run's class names; its vocabulary may differ (it reads the text itself).
A review that a teacher reads no word of keeps its label as its target (counted in the record).

A teacher may also be given as a *probability file*: ``han-explorer evaluate --probabilities FILE``
writes a model's class probabilities for every row of a dataset (safetensors: one float32 tensor
``probs`` (rows, classes), NaN for a row it reads no word of; the header's metadata names the data's
SHA-256, the classes and the model). The run then reads the rows of its training split from it
instead of scoring them: the file is about 200 KB where a model folder is 14 MB, so a GPU sweep can
carry its teachers. The file must have been written for the run's data (same SHA-256, same rows).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from engine.bundle import ModelBundle

__all__ = [
    "DataRows",
    "Teachers",
    "check_teachers",
    "distill_loss",
    "parse_teachers",
    "read_probabilities",
    "teacher_record",
    "teacher_targets",
    "write_probabilities",
]

FORMAT = "han-explorer-probabilities"
MAX_ROWS = 50_000_000  # a probability file's rows; its size is checked before anything is read


@dataclass(frozen=True)
class DataRows:
    """Where a run's texts come from: the dataset's SHA-256 and row count, and the rows used."""

    sha256: str
    n_rows: int
    rows: Sequence[int]


def write_probabilities(
    path: str | Path, probs: np.ndarray, data_sha256: str, label_names: Sequence[str], model: dict[str, Any]
) -> None:
    """Write ``probs`` (rows, classes) of one model over every row of a dataset, atomically."""
    import json

    from safetensors.numpy import save

    from engine.atomic import write_bytes

    probs = np.ascontiguousarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[1] != len(label_names):
        raise ValueError(f"probabilities of shape {probs.shape} for {len(label_names)} classes")
    meta = {
        "format": FORMAT,
        "version": "1",
        "data_sha256": data_sha256,
        "label_names": json.dumps(list(label_names)),
        "model": json.dumps(model),
    }
    write_bytes(path, save({"probs": probs}, metadata=meta))


def read_probabilities(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """``(probs (rows, classes) float64, {"data_sha256", "label_names", "model"})`` of a file that
    :func:`write_probabilities` wrote; ``ValueError`` naming the file for anything else."""
    import json

    from safetensors import SafetensorError, safe_open

    where = f"{path} is not a probability file (han-explorer evaluate --probabilities)"
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT or meta.get("version") != "1" or set(f.keys()) != {"probs"}:
                raise ValueError(where)
            shape = f.get_slice("probs").get_shape()
            if len(shape) != 2 or not (0 < shape[0] <= MAX_ROWS) or not (2 <= shape[1] <= 1000):
                raise ValueError(f"{where}: its table is {shape}")
            probs = f.get_tensor("probs").astype(np.float64)
        names = json.loads(meta["label_names"])
        model = json.loads(meta["model"])
        sha = meta["data_sha256"]
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: {' '.join(str(e).split())}") from None
    if not (
        isinstance(names, list) and len(names) == probs.shape[1] and all(isinstance(n, str) for n in names)
    ):
        raise ValueError(f"{where}: its class names do not match its table")
    read = ~np.isnan(probs).any(axis=1)
    if not (np.all(probs[read] >= 0) and np.allclose(probs[read].sum(axis=1), 1, atol=1e-3)):
        raise ValueError(f"{path}: a row of probabilities is negative or does not sum to 1")
    return probs, {
        "data_sha256": sha,
        "label_names": names,
        "model": model if isinstance(model, dict) else {},
    }


def parse_teachers(spec: str | None) -> list[str]:
    """The model folders of ``--distill-from`` (comma-separated); each named once."""
    if not spec:
        return []
    paths = [p.strip() for p in spec.split(",")]
    if any(not p for p in paths):
        raise ValueError("--distill-from: an empty folder name (two commas, or one at an end)")
    if len(set(paths)) != len(paths):
        raise ValueError("--distill-from: a teacher is named twice")
    return paths


def check_teachers(spec: str | None) -> None:
    """Load every teacher of ``--distill-from`` once (a ``ValueError`` naming the first that fails),
    so that a wrong folder or file is told before minutes of tokenizing and word2vec."""
    from engine.bundle import ModelError, load_bundle

    for path in parse_teachers(spec):
        if Path(path).is_file():
            read_probabilities(path)
            continue
        try:
            load_bundle(path, "cpu")
        except ModelError as e:
            raise ValueError(f"cannot distil from {path}: {e}") from None


@dataclass(frozen=True)
class Teachers:
    """``targets`` (N, C) float32: each training review's target distribution; ``record`` for model.json."""

    targets: torch.Tensor
    record: dict[str, Any] = field(default_factory=dict)


def teacher_targets(
    paths: Sequence[str],
    texts: Sequence[str],
    labels: Sequence[int],
    label_names: Sequence[str],
    temperature: float = 1.0,
    device: str | torch.device = "cpu",
    workers: int | None = None,
    data: DataRows | None = None,
) -> Teachers:
    """Score ``texts`` with every teacher and average their ``softmax(logits / temperature)``.

    A teacher is a model folder, or a probability file of the run's data: then ``data`` says which
    dataset ``texts`` are and which of its rows (a file holds every row). Raises ``ValueError``
    naming the teacher for one that cannot be read, has other classes, or other data.
    """
    if not paths:
        raise ValueError("no teacher to distil from")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"distillation temperature must be > 0, not {temperature}")
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(texts) or (data is not None and len(data.rows) != len(texts)):
        raise ValueError(f"{len(texts)} texts but {len(y)} labels")
    onehot = np.eye(len(label_names))[y]
    total = np.zeros((len(texts), len(label_names)))
    missing = np.zeros(len(texts), dtype=bool)
    rows: list[dict[str, Any]] = []
    # loading a teacher builds (then overwrites) a HAN, which draws from torch's generator: the run's
    # own draws (dropout, batches) must not depend on whether it distils
    dev = torch.device(device)
    forked = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=forked, device_type="cuda"):
        for path in paths:
            if Path(path).is_file():
                logits, row = _from_file(path, label_names, data)
            else:
                logits, row = _from_folder(path, texts, label_names, device, workers)
            bad = np.isnan(logits).any(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = logits[~bad] / temperature
                p = np.exp(z - z.max(axis=1, keepdims=True))
            probs = np.zeros_like(logits)
            probs[~bad] = p / p.sum(axis=1, keepdims=True)
            total += probs
            missing |= bad
            read = ~bad
            right = np.argmax(logits[read], 1) == y[read]
            rows.append(
                {
                    **row,
                    "train_accuracy": float(right.mean()) if read.any() else None,
                    "no_words": int(bad.sum()),
                }
            )
    targets = total / len(paths)
    targets[missing] = onehot[missing]
    agree = np.argmax(targets, 1) == y
    record = {
        "teachers": rows,
        "temperature": temperature,
        "reviews": len(texts),
        "label_kept_for_no_words": int(missing.sum()),
        "ensemble_train_accuracy": float(agree.mean()) if len(y) else None,
        "mean_target_probability_of_label": float(targets[np.arange(len(y)), y].mean()) if len(y) else None,
    }
    return Teachers(torch.tensor(targets, dtype=torch.float32), record)


def _from_folder(
    path: str,
    texts: Sequence[str],
    label_names: Sequence[str],
    device: str | torch.device,
    workers: int | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A model folder's logits on ``texts``, in this run's class order, and what the record keeps."""
    from engine.bundle import ModelError, load_bundle
    from engine.evaluate import predict_logits

    try:
        bundle = load_bundle(path, device)
    except ModelError as e:
        raise ValueError(f"cannot distil from {path}: {e}") from None
    _same_classes(path, bundle.label_names, label_names)
    logits = predict_logits(bundle, texts, workers=workers)
    return logits[:, [list(bundle.label_names).index(n) for n in label_names]], teacher_record(bundle, path)


def teacher_record(bundle: ModelBundle, path: str | Path) -> dict[str, Any]:
    """What a distilled model's record, or a probability file, keeps of a teacher model."""
    weights = Path(path) / "model.safetensors"
    return {
        "path": str(path),
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "command": bundle.metadata.get("command"),
        "dev_accuracy": bundle.metadata.get("dev_accuracy"),
    }


def _from_file(
    path: str, label_names: Sequence[str], data: DataRows | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """A probability file's log-probabilities of the run's rows (softmax of them gives them back)."""
    probs, meta = read_probabilities(path)
    if data is None:
        raise ValueError(f"{path}: a probability file needs the run's dataset rows")
    if meta["data_sha256"] != data.sha256 or len(probs) != data.n_rows:
        raise ValueError(
            f"cannot distil from {path}: it was written for other data ({len(probs)} rows, sha256 "
            f"{str(meta['data_sha256'])[:12]}...) than this run's ({data.n_rows} rows, {data.sha256[:12]}...)"
        )
    _same_classes(path, meta["label_names"], label_names)
    picked = probs[np.asarray(data.rows, dtype=np.int64)][
        :, [meta["label_names"].index(n) for n in label_names]
    ]
    with np.errstate(divide="ignore"):
        logits = np.log(picked)
    return logits, {
        "path": str(path),
        "file_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "model": meta["model"],
    }


def _same_classes(path: str, theirs: Sequence[str], ours: Sequence[str]) -> None:
    if sorted(theirs) != sorted(ours):
        raise ValueError(
            f"cannot distil from {path}: its classes ({', '.join(theirs)}) are not this "
            f"data's ({', '.join(ours)})"
        )


def distill_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor,
    taught: torch.Tensor,
    weight: float,
    temperature: float = 1.0,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The batch's mean loss: rows where ``taught`` (bool, (B,)) mix the label's cross-entropy and
    ``T^2 * KL(targets || softmax(logits / T))`` as ``(1 - weight) : weight``; the rest are plain
    cross-entropy (with ``label_smoothing``). ``targets`` (B, C) is ignored on untaught rows."""
    ce = F.cross_entropy(logits, labels, label_smoothing=label_smoothing, reduction="none")
    logq = F.log_softmax(logits / temperature, dim=-1)
    kd = temperature**2 * (targets * (targets.clamp_min(1e-12).log() - logq)).sum(-1)
    return torch.where(taught, (1 - weight) * ce + weight * kd, ce).mean()
