"""The model's prediction and attention for one review in numpy, before torch is loaded.

``import torch`` alone takes over a second on a small machine, and a desktop user waits for it
before the first review is shaded. A :class:`Preview` reads the same model folder through the same
checks as :func:`engine.bundle.load_bundle` (:mod:`engine.model_files`) and runs the same network
(``torch.nn.GRU``'s equations, the same masked attention, the same classifier) in float32 numpy,
so the app can show the real analysis while torch loads; the torch model then takes over for
everything else (counterfactual edits, attributions, training). Its :class:`Analysis` equals
:func:`engine.analyze.analyze`'s to float32 rounding (tests/engine/test_preview.py, 1e-5).

Nothing here imports torch (an import-linter contract guards it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from engine.analysis import Analysis, encode_document, make_analysis, read_document
from engine.config import HANConfig, LengthLimits
from engine.model_files import WEIGHTS, ModelError, check_meta, read_meta
from engine.vocab import Vocab

__all__ = ["Preview", "load_preview"]

F32 = np.float32


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: the result is 0, as it should
        out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


@dataclass
class Preview:
    """A model folder read into numpy: enough to analyze a review, nothing to train or explain."""

    config: HANConfig
    vocab: Vocab
    label_names: tuple[str, ...]
    limits: LengthLimits
    weights: Mapping[str, np.ndarray]
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)

    def analyze(self, text: str) -> Analysis:
        """:func:`engine.analyze.analyze` in numpy: prediction and attention of ``text``."""
        doc = read_document(text)
        ids = encode_document(self, doc)
        probs, word_att, sent_att = self.forward(ids)
        return make_analysis(self.label_names, doc, ids, probs.tolist(), word_att.tolist(), sent_att.tolist())

    def forward(self, sentences: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One document's word ids -> probabilities (C,) float64, word attention (T,) sentence after
        sentence, sentence attention (S,)."""
        probs, _sents, w_att, s_att = self.encode(sentences)
        words = np.concatenate([w_att[i, : len(s)] for i, s in enumerate(sentences)])
        return probs, words, s_att

    def embed(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """The embedding rows of ``ids`` as float32 (stored float16 rows cast, as torch's model has them)."""
        return np.asarray(self.weights["embedding.weight"][np.asarray(ids, dtype=np.int64)], dtype=F32)

    def encode(self, sentences: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One document's word ids -> probabilities (C,) float64, the sentence vectors the word level
        makes (S, 2Hw), word attention (S, W) right-padded with zeros, sentence attention (S,)."""
        w = self.weights
        lengths = np.array([len(s) for s in sentences])
        if lengths.size == 0 or lengths.min() < 1:
            raise ValueError("a document needs at least one sentence, and every sentence a word")
        ids = np.zeros((len(sentences), int(lengths.max())), dtype=np.int64)  # 0: padding
        for i, s in enumerate(sentences):
            ids[i, : len(s)] = s
        emb = self.embed(ids)  # (S, W, E): only the rows the text uses
        h_words = self._bigru("word_gru", emb, lengths)  # (S, W, 2Hw)
        sents, w_att = self._attend("word_attention", h_words, lengths)  # (S, 2Hw), (S, W)
        h_sents = self._bigru("sentence_gru", sents[None], np.array([len(sentences)]))  # (1, S, 2Hs)
        doc, s_att = self._attend("sentence_attention", h_sents, np.array([len(sentences)]))
        logits = doc[0] @ w["classifier.weight"].T + w["classifier.bias"]  # (C,)
        z = logits.astype(np.float64)
        probs = np.exp(z - z.max())
        return probs / probs.sum(), sents, w_att, s_att[0]

    def _bigru(self, name: str, x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """``torch.nn.GRU(bidirectional=True, batch_first=True)`` on right-padded rows: (N, W, D) ->
        (N, W, 2H), zero on padding; each direction starts from zeros at its row's first real word."""
        n, width, _ = x.shape
        w = self.weights
        hidden = w[f"{name}.weight_hh_l0"].shape[1]
        out = np.zeros((n, width, 2 * hidden), dtype=F32)
        for d, suffix in enumerate(("", "_reverse")):
            gi = x @ w[f"{name}.weight_ih_l0{suffix}"].T + w[f"{name}.bias_ih_l0{suffix}"]  # (N, W, 3H)
            w_hh, b_hh = w[f"{name}.weight_hh_l0{suffix}"].T, w[f"{name}.bias_hh_l0{suffix}"]
            h = np.zeros((n, hidden), dtype=F32)
            steps: Iterator[int] = iter(range(width)) if d == 0 else reversed(range(width))
            for t in steps:
                live = (lengths > t)[:, None]  # (N, 1): rows still reading (padding never moves h)
                gh = h @ w_hh + b_hh  # (N, 3H), gates in torch's order: reset, update, new
                r = _sigmoid(gi[:, t, :hidden] + gh[:, :hidden])
                z = _sigmoid(gi[:, t, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
                cand = np.tanh(gi[:, t, 2 * hidden :] + r * gh[:, 2 * hidden :])
                h = np.where(live, (1 - z) * cand + z * h, h)
                out[:, t, d * hidden : (d + 1) * hidden] = np.where(live, h, 0)
        return out

    def _attend(self, name: str, h: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Additive attention ``softmax(tanh(W h + b) . u)`` over each row's real positions:
        (N, W, D) -> pooled (N, D), weights (N, W) with exact zeros on padding."""
        w = self.weights
        u = np.tanh(h @ w[f"{name}.proj.weight"].T + w[f"{name}.proj.bias"])  # (N, W, A)
        scores = u @ w[f"{name}.context"]  # (N, W)
        real = np.arange(h.shape[1])[None, :] < lengths[:, None]
        scores = np.where(real, scores, -np.inf)
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights = (e / e.sum(axis=1, keepdims=True)).astype(F32)
        return (weights[..., None] * h).sum(axis=1), weights


def load_preview(directory: str | Path) -> Preview:
    """Read a model folder into numpy; :class:`ModelError` (one line) on any problem.

    The same checks as :func:`engine.bundle.load_bundle` (fields, names, shapes, finite values);
    unlike it, nothing on disk is touched (a folder a kill left behind is recovered by the torch
    loader, not here).
    """
    directory = Path(directory)
    meta = read_meta(directory)
    config, vocab, labels, limits = check_meta(meta, directory)
    try:
        state = load_file(str(directory / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"corrupt {WEIGHTS} in {directory}: {' '.join(str(e).split())}") from None
    weights: dict[str, np.ndarray] = {}
    for k, v in state.items():
        if not np.isfinite(v).all():
            raise ModelError(f"{WEIGHTS}: {k} holds NaN or infinite values")
        # the embedding stays as stored (float16 in the shipped model): rows are cast when read
        weights[k] = v if k == "embedding.weight" else v.astype(F32)
    own = ("format", "format_version", "config", "vocab", "label_names", "limits")
    extra = {k: v for k, v in meta.items() if k not in own}
    return Preview(config, vocab, labels, limits, weights, directory, extra)
