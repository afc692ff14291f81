"""Weight interpolation between a model and a fine-tuned copy of it (WiSE-FT).

Wortsman et al. (CVPR 2022, "Robust fine-tuning of zero-shot models") found that the weights
``(1 - alpha) * start + alpha * tuned`` of a model and a fine-tuned copy of it keep most of what the
fine-tuning taught while losing less of what the start knew. Here the start is a trained HAN and the
tuned copy is it fine-tuned (``train --init-model``) on reviews ending in written judgements
(:mod:`engine.judgements`), which read negations better but IMDB a little worse (issue 17).

Both models must share their vocabulary, label names, limits and sizes; anything else raises
:class:`ValueError` naming what differs. Every tensor is interpolated in float32.
"""

from __future__ import annotations

import copy
import math

import torch

from engine.bundle import ModelBundle

__all__ = ["interpolate"]


def interpolate(start: ModelBundle, tuned: ModelBundle, alpha: float) -> ModelBundle:
    """A new bundle with weights ``(1 - alpha) * start + alpha * tuned`` (0: start, 1: tuned).

    The vocabulary, labels and limits are the start's (they are the tuned model's too); metadata is
    left to the caller.
    """
    if not (math.isfinite(alpha) and 0 <= alpha <= 1):
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    if start.vocab.itos != tuned.vocab.itos:
        raise ValueError("the models' vocabularies differ: only a model and its fine-tuned copy can be mixed")
    if list(start.label_names) != list(tuned.label_names):
        raise ValueError("the models' classes differ")
    if start.limits != tuned.limits:
        raise ValueError("the models' length limits differ")
    a, b = start.model.state_dict(), tuned.model.state_dict()
    if {k: tuple(v.shape) for k, v in a.items()} != {k: tuple(v.shape) for k, v in b.items()}:
        raise ValueError("the models' sizes differ")
    model = copy.deepcopy(start.model).cpu().eval()
    with torch.no_grad():
        mixed = {
            k: (1 - alpha) * a[k].detach().cpu().float() + alpha * b[k].detach().cpu().float() for k in a
        }
        model.load_state_dict({k: v.to(a[k].dtype) for k, v in mixed.items()})
    return ModelBundle(model, start.vocab, start.label_names, start.limits, {}, None)
