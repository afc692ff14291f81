"""The Attention explorer's presenter: an engine ``Analysis`` as the arrays the view paints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from app.display import AttentionDisplay

if TYPE_CHECKING:
    from engine.analyze import Analysis

__all__ = ["attention_display", "attention_json"]


def attention_display(analysis: Analysis, seconds: float = 0.0) -> AttentionDisplay:
    """Flatten an engine ``Analysis`` into the arrays the view draws (words in text order)."""
    words = [(w, i) for i, s in enumerate(analysis.sentences) for w in s.words]
    ss = analysis.sentences
    return AttentionDisplay(
        text=analysis.text,
        label=analysis.label,
        probabilities=tuple(analysis.probabilities.items()),
        word_start=np.array([w.start for w, _ in words], dtype=np.int64),
        word_end=np.array([w.end for w, _ in words], dtype=np.int64),
        word_weight=np.array([w.weight for w, _ in words], dtype=np.float64),
        word_sentence=np.array([i for _, i in words], dtype=np.int64),
        word_known=np.array([w.known for w, _ in words], dtype=bool),
        sentence_start=np.array([s.start for s in ss], dtype=np.int64),
        sentence_end=np.array([s.end for s in ss], dtype=np.int64),
        sentence_weight=np.array([s.weight for s in ss], dtype=np.float64),
        seconds=seconds,
    )


def attention_json(analysis: Analysis, model: str | None, mode: str, colormap: str) -> dict[str, Any]:
    """What File → Export writes as JSON: the model, the view's settings and every weight."""
    return {
        "model": model,
        "text": analysis.text,
        "view": {"mode": mode, "colormap": colormap},
        **analysis.to_dict(),
    }
