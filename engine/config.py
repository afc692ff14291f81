"""What a model is, as plain data: its shape (:class:`HANConfig`), the names and shapes of its
weights, and the length limits it was trained with. No torch: reading a model file's description,
checking it and running the numpy preview (:mod:`engine.preview`) need none of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["HANConfig", "LengthLimits", "weight_shapes"]


@dataclass(frozen=True)
class HANConfig:
    """Shape of a HAN. Defaults follow the paper unless noted."""

    vocab_size: int
    num_classes: int
    embed_dim: int = 200  # paper: 200-d word2vec
    word_hidden: int = 50  # paper: 50 per direction
    sentence_hidden: int = 50  # paper: 50 per direction
    word_attention_dim: int = 100  # paper: 2 x hidden
    sentence_attention_dim: int = 100
    dropout: float = 0.5  # not in the paper; IMDB overfits without it
    embed_dropout: float = 0.2  # drops whole embedding features; cheap regulariser

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HANConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model config fields: {sorted(unknown)}")
        return cls(**d)


@dataclass(frozen=True)
class LengthLimits:
    """Longest sentence (words) and document (sentences) used in training, from quantiles."""

    max_words: int
    max_sentences: int
    word_quantile: float = 1.0
    sentence_quantile: float = 1.0


def weight_shapes(c: HANConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight ``HAN(c)`` holds, without building it.

    Validation checks a model file against these before allocating anything, without torch.
    tests/engine/test_model.py checks these shapes against ``HAN(c).state_dict()``.
    """
    shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (c.vocab_size, c.embed_dim)}
    grus = (("word_gru", c.embed_dim, c.word_hidden), ("sentence_gru", 2 * c.word_hidden, c.sentence_hidden))
    for name, d_in, h in grus:
        for way in ("", "_reverse"):  # bidirectional, one layer
            shapes[f"{name}.weight_ih_l0{way}"] = (3 * h, d_in)  # (3H, D): reset, update, new
            shapes[f"{name}.weight_hh_l0{way}"] = (3 * h, h)
            shapes[f"{name}.bias_ih_l0{way}"] = (3 * h,)
            shapes[f"{name}.bias_hh_l0{way}"] = (3 * h,)
    attentions = (
        ("word_attention", 2 * c.word_hidden, c.word_attention_dim),
        ("sentence_attention", 2 * c.sentence_hidden, c.sentence_attention_dim),
    )
    for name, d_in, a in attentions:
        shapes[f"{name}.context"] = (a,)
        shapes[f"{name}.proj.weight"] = (a, d_in)
        shapes[f"{name}.proj.bias"] = (a,)
    shapes["classifier.weight"] = (c.num_classes, 2 * c.sentence_hidden)
    shapes["classifier.bias"] = (c.num_classes,)
    return shapes
