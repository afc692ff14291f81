"""Accuracy, per-class precision/recall/F1 and the confusion matrix of a model on a dataset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import torch

from engine.bundle import ModelBundle
from engine.data import Dataset
from engine.inference import score_documents
from engine.preprocess import Words, default_workers, doc_words, encode_words

__all__ = ["evaluate", "predict_labels", "predict_logits"]

WINDOW = 4096  # texts tokenized and length-sorted together: ~32 full batches, ~40 MB of words


def predict_labels(
    bundle: ModelBundle,
    texts: Sequence[str],
    batch_size: int = 128,
    workers: int | None = None,
    window: int = WINDOW,
) -> np.ndarray:
    """Predicted class index per text (-1 for a text with no words), on full-length documents.

    Streamed: ``window`` texts at a time are tokenized (in worker processes while the model scores
    the window before), sorted by length and scored in batches of ``batch_size``; only the
    logits are kept. Memory stays bounded by the window, not the dataset, and linear in the
    longest document: a batch is never padded to its longest sentence or document
    (:func:`engine.inference.score_documents`).
    """
    logits = predict_logits(bundle, texts, batch_size, workers, window)
    preds = np.full(len(texts), -1, dtype=np.int64)
    read = ~np.isnan(logits).any(axis=1)
    preds[read] = logits[read].argmax(-1)
    return preds


@torch.inference_mode()
def predict_logits(
    bundle: ModelBundle,
    texts: Sequence[str],
    batch_size: int = 128,
    workers: int | None = None,
    window: int = WINDOW,
) -> np.ndarray:
    """Each text's logits (N, C) as float64, on full-length documents, streamed as
    :func:`predict_labels` says; a text with no words is a row of NaN."""
    out = np.full((len(texts), len(bundle.label_names)), np.nan)
    for start, words in _tokenized_windows(texts, window, workers):
        docs = [[s for s in d if s] for d in encode_words(words, bundle.vocab)]
        del words
        order = sorted((i for i in range(len(docs)) if docs[i]), key=lambda i: sum(map(len, docs[i])))
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            scores = score_documents(bundle.model, [docs[i] for i in idx], keep_attention=False)
            out[[start + i for i in idx]] = torch.stack([s.logits for s in scores]).double().cpu().numpy()
    return out


def _tokenized_windows(
    texts: Sequence[str], window: int, workers: int | None
) -> Iterator[tuple[int, list[Words]]]:
    """``(start, words of texts[start : start + window])``, window after window.

    With worker processes the next window is already being tokenized while the caller scores this
    one (``Executor.map`` submits at once), so at most two windows of words exist at a time.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    workers = default_workers() if workers is None else workers
    starts = range(0, len(texts), window)
    if workers <= 1 or len(texts) < 2000:  # a pool costs more than it saves on small inputs
        for start in starts:
            yield start, [doc_words(t) for t in texts[start : start + window]]
        return
    chunksize = max(1, min(256, window // (4 * workers)))
    with ProcessPoolExecutor(workers) as pool:
        pending: tuple[int, Iterator[Words]] | None = None
        for start in starts:
            submitted = pool.map(doc_words, texts[start : start + window], chunksize=chunksize)
            if pending is not None:
                yield pending[0], list(pending[1])
            pending = (start, submitted)
        if pending is not None:
            yield pending[0], list(pending[1])


def evaluate(bundle: ModelBundle, ds: Dataset, batch_size: int = 128) -> dict[str, Any]:
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
    preds = predict_labels(bundle, ds.texts, batch_size=batch_size)
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
