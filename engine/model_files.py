"""A model directory's description, read and checked without torch: ``model.json`` and the header
of ``model.safetensors``.

:func:`engine.bundle.load_bundle` builds the torch model on top of these checks; the numpy preview
(:mod:`engine.preview`) reads the same files through the same checks, so both refuse the same
folders with the same one-line :class:`ModelError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import HANConfig, LengthLimits
from engine.limits import MAX_META_BYTES
from engine.textio import JSONFileError, read_json_file
from engine.validate import (
    FLOAT_DTYPES,
    FieldError,
    check_config,
    check_labels,
    check_limits,
    check_vocab,
    expected_shapes,
    header_shapes,
    short_repr,
)
from engine.vocab import Vocab

__all__ = ["FORMAT", "FORMAT_VERSION", "META", "WEIGHTS", "ModelError", "check_meta", "read_meta"]

FORMAT = "han-explorer-model"
FORMAT_VERSION = 1
WEIGHTS, META = "model.safetensors", "model.json"


class ModelError(ValueError):
    """A model directory that cannot be used."""


def read_meta(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise ModelError(f"not a model directory: {directory}")
    for name in (WEIGHTS, META):
        if not (directory / name).is_file():
            raise ModelError(f"not a model directory: {directory} has no {name}")
    try:
        meta = read_json_file(directory / META, MAX_META_BYTES, META)
    except JSONFileError as e:
        raise ModelError(str(e)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{directory / META} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"unsupported model format version {short_repr(meta.get('format_version'))}")
    for key, kind in (("config", dict), ("label_names", list), ("vocab", list), ("limits", dict)):
        if not isinstance(meta.get(key), kind):
            raise ModelError(f"{directory / META}: field {key!r} missing or not a {kind.__name__}")
    return meta


def check_meta(
    meta: dict[str, Any], directory: Path
) -> tuple[HANConfig, Vocab, tuple[str, ...], LengthLimits]:
    """Every field of ``model.json`` checked, and the weights' header against the config."""
    try:
        config = check_config(meta["config"])
        vocab = check_vocab(meta["vocab"], config.vocab_size)
        labels = check_labels(meta["label_names"], config.num_classes)
        limits = check_limits(meta["limits"])
        expected = expected_shapes(config)
    except FieldError as e:
        raise ModelError(f"{directory / META}: {e}") from None
    try:
        header = header_shapes(directory / WEIGHTS)
    except FieldError as e:
        raise ModelError(f"{e} in {directory}") from None
    missing, extra = set(expected) - set(header), set(header) - set(expected)
    if missing or extra:
        raise ModelError(
            f"{WEIGHTS} does not match the config: missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(extra)[:3]}"
        )
    for k, shape in expected.items():
        got, dtype = header[k]
        if got != shape:
            raise ModelError(f"{WEIGHTS}: {k} has shape {got}, expected {shape}")
        if dtype not in FLOAT_DTYPES:
            raise ModelError(f"{WEIGHTS}: {k} is {dtype}, expected floating point")
    return config, vocab, labels, limits
