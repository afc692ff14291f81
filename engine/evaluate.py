"""Accuracy, per-class precision/recall/F1 and the confusion matrix of a model on a dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.bundle import ModelBundle
from engine.data import Dataset
from engine.inference import score_documents
from engine.preprocess import encode_words, texts_to_words

__all__ = ["evaluate", "predict_labels"]


@torch.inference_mode()
def predict_labels(
    bundle: ModelBundle, texts: list[str] | tuple[str, ...], batch_size: int = 128, workers: int | None = None
) -> np.ndarray:
    """Predicted class index per text (-1 for a text with no words), on full-length documents.

    Memory stays linear in the longest document: a batch is never padded to its longest sentence
    or document (:func:`engine.inference.score_documents`).
    """
    docs = [[s for s in d if s] for d in encode_words(texts_to_words(texts, workers), bundle.vocab)]
    preds = np.full(len(docs), -1, dtype=np.int64)
    order = sorted((i for i in range(len(docs)) if docs[i]), key=lambda i: sum(map(len, docs[i])))
    for k in range(0, len(order), batch_size):
        idx = order[k : k + batch_size]
        scores = score_documents(bundle.model, [docs[i] for i in idx], keep_attention=False)
        preds[idx] = torch.stack([s.logits for s in scores]).argmax(-1).numpy()
    return preds


def evaluate(bundle: ModelBundle, ds: Dataset) -> dict[str, Any]:
    """``{"accuracy", "n", "per_class": {label: {precision, recall, f1, support}}, "confusion"}``.

    ``confusion[i][j]`` counts documents of true class i predicted as j, in ``label_names`` order.
    A document with no words counts as wrong.
    """
    model_index = {name: i for i, name in enumerate(bundle.label_names)}
    unknown = sorted(set(ds.label_names) - set(model_index))
    if unknown:
        raise ValueError(
            f"the dataset has labels the model does not know: {unknown}; "
            f"the model's labels are {list(bundle.label_names)}"
        )
    # map by name: the dataset's label order need not be the model's
    truth = np.asarray([model_index[ds.label_names[y]] for y in ds.labels], dtype=np.int64)
    preds = predict_labels(bundle, ds.texts)
    k = len(bundle.label_names)
    conf = np.zeros((k, k), dtype=np.int64)
    ok = preds >= 0
    np.add.at(conf, (truth[ok], preds[ok]), 1)
    per_class = {}
    for c, name in enumerate(bundle.label_names):
        tp = int(conf[c, c])
        predicted, support = int(conf[:, c].sum()), int((truth == c).sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    n = len(truth)
    return {
        "accuracy": float(np.trace(conf)) / n if n else 0.0,
        "n": n,
        "per_class": per_class,
        "confusion": conf.tolist(),
        "labels": list(bundle.label_names),
    }
