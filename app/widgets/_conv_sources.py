"""Where the Convolution tiles explorer's images and masks come from: the engine's one image module.

Everything lives in :mod:`engine.images` (plain numpy and Pillow, no Qt), so the app and
``han-explorer conv`` read the same file into the same values and build the same masks. These
names are re-exported for the app's existing imports.
"""

from __future__ import annotations

from engine.images import (
    MASKS,
    MAX_IMAGE_PIXELS,
    PATTERNS,
    ImageFileError,
    make_mask,
    make_pattern,
    read_image,
    resized,
)
from engine.images import MAX_IMAGE_SIDE as MAX_SIDE

__all__ = ["MASKS", "MAX_IMAGE_PIXELS", "MAX_SIDE", "PATTERNS", "ImageFileError", "make_mask", "make_pattern",
           "read_image", "resized"]
