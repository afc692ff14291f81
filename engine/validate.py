"""Checks of what model and checkpoint files say, before anything is built or allocated.

Every field read from ``model.json`` or ``state.json`` goes through one of these: its type, its
range and its size are checked, and a bad one raises :class:`FieldError` (a ``ValueError``) whose
message is one line naming the field. Tensor shapes are compared against the safetensors header
(read without loading a single weight) and against the shapes a config implies (computed from
the config alone). Nothing here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from engine.config import HANConfig, LengthLimits, weight_shapes
from engine.limits import MAX_CLASSES, MAX_PARAMETERS, MAX_VOCAB, MAX_WIDTH
from engine.vocab import Vocab

__all__ = [
    "FLOAT_DTYPES",
    "FieldError",
    "check_config",
    "check_float",
    "check_int",
    "check_labels",
    "check_limits",
    "check_str_list",
    "check_vocab",
    "expected_shapes",
    "header_shapes",
    "short_repr",
]

FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")

_CONFIG_INTS = {
    "vocab_size": (2, MAX_VOCAB),
    "num_classes": (1, MAX_CLASSES),
    "embed_dim": (1, MAX_WIDTH),
    "word_hidden": (1, MAX_WIDTH),
    "sentence_hidden": (1, MAX_WIDTH),
    "word_attention_dim": (1, MAX_WIDTH),
    "sentence_attention_dim": (1, MAX_WIDTH),
}
_CONFIG_FLOATS = ("dropout", "embed_dropout")


class FieldError(ValueError):
    """A field with a wrong type, range or size; the message is one line naming it."""


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    """An int (not a bool) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{name} must be a whole number, not {_kind(value)} {short_repr(value)}")
    if value < lo or (hi is not None and value > hi):
        top = f"{hi:,}" if hi is not None else "any"
        raise FieldError(f"{name} is {value:,}; it must be between {lo:,} and {top}")
    return value


def check_float(
    value: object, name: str, lo: float, hi: float, hi_open: bool = False, lo_open: bool = False
) -> float:
    """A finite number in the range (ints are accepted and converted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{name} must be a number, not {_kind(value)} {short_repr(value)}")
    x = float(value)
    low_ok = x > lo if lo_open else x >= lo
    high_ok = x < hi if hi_open else x <= hi
    if not (math.isfinite(x) and low_ok and high_ok):
        span = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise FieldError(f"{name} is {x}; it must be in {span}")
    return x


def check_str_list(value: object, name: str, max_len: int) -> list[str]:
    if not isinstance(value, list):
        raise FieldError(f"{name} must be a list, not {_kind(value)}")
    if len(value) > max_len:
        raise FieldError(f"{name} has {len(value):,} entries; at most {max_len:,} are allowed")
    bad = next((i for i, v in enumerate(value) if not isinstance(v, str)), None)
    if bad is not None:
        raise FieldError(f"{name}[{bad}] must be a string, not {_kind(value[bad])}")
    return value


def short_repr(value: object) -> str:
    """``repr(value)``, cut to 40 characters (a hostile file may hold megabytes in one field)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(f"{name} must be an object, not {_kind(value)}")
    return value


def check_config(value: object) -> HANConfig:
    d = _object(value, "config")
    names = {f.name for f in fields(HANConfig)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise FieldError(f"unknown model config fields: {unknown[:5]}")
    missing = [n for n in ("vocab_size", "num_classes") if n not in d]
    if missing:
        raise FieldError(f"config is missing {', '.join(missing)}")
    kw: dict[str, Any] = {}
    for key, (lo, hi) in _CONFIG_INTS.items():
        if key in d:
            kw[key] = check_int(d[key], f"config.{key}", lo, hi)
    for key in _CONFIG_FLOATS:
        if key in d:
            kw[key] = check_float(d[key], f"config.{key}", 0.0, 1.0, hi_open=True)
    return HANConfig(**kw)


def check_limits(value: object) -> LengthLimits:
    d = _object(value, "limits")
    unknown = sorted(set(d) - {f.name for f in fields(LengthLimits)})
    if unknown or "max_words" not in d or "max_sentences" not in d:
        raise FieldError(f"limits must hold max_words and max_sentences (and quantiles), got {sorted(d)[:6]}")
    kw: dict[str, Any] = {k: check_int(d[k], f"limits.{k}", 1) for k in ("max_words", "max_sentences")}
    for k in ("word_quantile", "sentence_quantile"):
        if k in d:
            kw[k] = check_float(d[k], f"limits.{k}", 0.0, 1.0, lo_open=True)
    return LengthLimits(**kw)


def check_vocab(value: object, size: int | None = None) -> Vocab:
    words = check_str_list(value, "vocab", MAX_VOCAB)
    if size is not None and len(words) != size:
        raise FieldError(f"vocabulary has {len(words)} words but the config says {size}")
    try:
        return Vocab(tuple(words))
    except ValueError as e:
        raise FieldError(f"vocab: {e}") from None


def check_labels(value: object, num_classes: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(x, str | int) and not isinstance(x, bool) for x in value
    ):
        raise FieldError("label_names must be a list of strings")
    labels = tuple(str(x) for x in value)
    if len(labels) != num_classes or len(set(labels)) != len(labels) or not all(labels):
        raise FieldError(
            f"label_names {list(labels)[:6]} do not match {num_classes} classes "
            f"(they must be unique and non-empty)"
        )
    return labels


def expected_shapes(config: HANConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight a HAN of ``config`` holds, without allocating any of them."""
    shapes = weight_shapes(config)
    total = sum(math.prod(s) for s in shapes.values())
    if total > MAX_PARAMETERS:
        raise FieldError(f"the config asks for {total:,} weights; at most {MAX_PARAMETERS:,} are allowed")
    return shapes


def header_shapes(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name -> (shape, dtype) from a safetensors file's header; loads no tensor.

    Raises :class:`FieldError` for a file safetensors cannot open (truncated, not safetensors).
    """
    try:
        with safe_open(str(path), framework="numpy") as f:  # the header only: no torch needed
            out = {}
            for k in f.keys():  # noqa: SIM118  (safe_open has keys(), not iteration)
                sl = f.get_slice(k)
                out[k] = (tuple(sl.get_shape()), str(sl.get_dtype()))
            return out
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise FieldError(f"corrupt {path.name}: {' '.join(str(e).split())}") from None
