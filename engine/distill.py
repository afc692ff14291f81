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
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Teachers", "check_teachers", "distill_loss", "parse_teachers", "teacher_targets"]


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
    so that a wrong folder is told before minutes of tokenizing and word2vec."""
    from engine.bundle import ModelError, load_bundle

    for path in parse_teachers(spec):
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
) -> Teachers:
    """Score ``texts`` with every teacher and average their ``softmax(logits / temperature)``.

    Raises ``ValueError`` naming the folder for a teacher that cannot be loaded or has other classes.
    """
    from engine.bundle import ModelError, load_bundle
    from engine.evaluate import predict_logits

    if not paths:
        raise ValueError("no teacher to distil from")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"distillation temperature must be > 0, not {temperature}")
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(y)} labels")
    # loading a teacher builds (then overwrites) a HAN, which draws from torch's generator: the run's
    # own draws (dropout, batches) must not depend on whether it distils
    dev = torch.device(device)
    forked = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=forked, device_type="cuda"):
        onehot = np.eye(len(label_names))[y]
        total = np.zeros((len(texts), len(label_names)))
        missing = np.zeros(len(texts), dtype=bool)
        rows: list[dict[str, Any]] = []
        for path in paths:
            try:
                bundle = load_bundle(path, device)
            except ModelError as e:
                raise ValueError(f"cannot distil from {path}: {e}") from None
            if sorted(bundle.label_names) != sorted(label_names):
                raise ValueError(
                    f"cannot distil from {path}: its classes ({', '.join(bundle.label_names)}) are not this "
                    f"data's ({', '.join(label_names)})"
                )
            logits = predict_logits(bundle, texts, workers=workers)
            logits = logits[:, [list(bundle.label_names).index(n) for n in label_names]]  # this run's order
            bad = np.isnan(logits).any(axis=1)
            z = logits[~bad] / temperature
            p = np.exp(z - z.max(axis=1, keepdims=True))
            probs = np.zeros_like(logits)
            probs[~bad] = p / p.sum(axis=1, keepdims=True)
            total += probs
            missing |= bad
            weights = Path(path) / "model.safetensors"
            read = ~bad
            right = np.argmax(logits[read], 1) == y[read]
            rows.append(
                {
                    "path": str(path),
                    "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                    "command": bundle.metadata.get("command"),
                    "dev_accuracy": bundle.metadata.get("dev_accuracy"),
                    "train_accuracy": float(right.mean()) if read.any() else None,
                    "no_words": int(bad.sum()),
                }
            )
            del bundle
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
