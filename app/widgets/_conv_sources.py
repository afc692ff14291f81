"""Where the Convolution tiles explorer's images and masks come from: plain numpy and Pillow, no Qt.

Every pattern is ``(H, W)`` float32 in [0, 1] and depends only on its size (fixed seeds), so a
screenshot or a test sees the same picture every time. Image files become grey levels in [0, 1].
Every mask is ``(K, K)`` float32.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb
from pathlib import Path

import numpy as np

__all__ = ["MASKS", "MAX_IMAGE_PIXELS", "MAX_SIDE", "PATTERNS", "ImageFileError", "make_mask", "make_pattern",
           "read_image", "resized"]

MAX_IMAGE_PIXELS = 1 << 26       # 8192 x 8192 float32 = 256 MiB
MAX_SIDE = 16384                 # the size boxes' limit


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``(H, 1)`` rows and ``(1, W)`` columns, for broadcasting."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _checkerboard(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    side = max(2, min(h, w) // 12)
    return (((y // side) + (x // side)) % 2).astype(np.float32)


def _gradient(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    return ((y / max(h - 1, 1) + x / max(w - 1, 1)) / 2).astype(np.float32)


def _circles(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    r = np.hypot(y - (h - 1) / 2, x - (w - 1) / 2)
    period = max(4.0, min(h, w) / 10)
    return (0.5 + 0.5 * np.cos((2 * np.pi / period) * r)).astype(np.float32)


def _text_noise(h: int, w: int) -> np.ndarray:
    """Dark "glyphs" (random 6 x 4 bit cells) in lines of 9 pixels on a light page, like scanned text."""
    rng = np.random.default_rng(7)
    img = np.ones((h, w), np.float32)
    lines, glyphs = max(0, (h - 2) // 9), max(0, (w - 2) // 5)
    if not lines or not glyphs:
        return img
    ink = rng.random((lines, glyphs, 6, 4)) < 0.45                      # (lines, glyphs, 6, 4)
    ink &= (rng.random((lines, glyphs)) >= 0.15)[:, :, None, None]      # spaces between words
    page = np.ones((lines, 9, glyphs, 5), np.float32)                    # one 9 x 5 cell per glyph
    page[:, :6, :, :4] = np.where(ink.transpose(0, 2, 1, 3), 0.1, 1.0)
    img[2 : 2 + lines * 9, 2 : 2 + glyphs * 5] = page.reshape(lines * 9, glyphs * 5)
    return img


def _noise(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).random((h, w), dtype=np.float32)


def _impulse(h: int, w: int) -> np.ndarray:
    """One bright pixel in the middle: the output shows the mask itself (flipped, as correlation)."""
    img = np.zeros((h, w), np.float32)
    img[h // 2, w // 2] = 1.0
    return img


PATTERNS: dict[str, Callable[[int, int], np.ndarray]] = {
    "circles": _circles,
    "checkerboard": _checkerboard,
    "gradient": _gradient,
    "text-like noise": _text_noise,
    "random noise": _noise,
    "impulse": _impulse,
}


def make_pattern(name: str, height: int, width: int) -> np.ndarray:
    """``(height, width)`` float32 pattern ``name``; KeyError for an unknown name."""
    return np.ascontiguousarray(PATTERNS[name](height, width), dtype=np.float32)


def _binomial(n: int) -> np.ndarray:
    return np.array([comb(n, i) for i in range(n + 1)], dtype=np.float64)


def _box(k: int) -> np.ndarray:
    return np.full((k, k), 1.0 / (k * k))


def _gaussian(k: int) -> np.ndarray:
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8                   # OpenCV's choice for a k-tap kernel
    t = np.arange(k) - (k - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    m = np.outer(g, g)
    return m / m.sum()


def _sobel_x(k: int) -> np.ndarray:
    """Binomial smoothing down the rows times a binomial derivative across the columns (3: [-1 0 1])."""
    if k < 3:
        return np.zeros((k, k))
    derivative = np.convolve(_binomial(k - 2), [-1.0, 1.0])             # (K,): -1 ... +1
    return np.outer(_binomial(k - 1), derivative) + 0.0                  # + 0.0: no -0 in the table


def _sobel_y(k: int) -> np.ndarray:
    return _sobel_x(k).T


def _sharpen(k: int) -> np.ndarray:
    """Unsharp masking: 2 x identity minus the Gaussian, so flat areas keep their value."""
    m = -_gaussian(k)
    m[k // 2, k // 2] += 2.0
    return m


MASKS: dict[str, Callable[[int], np.ndarray]] = {
    "box": _box,
    "Gaussian": _gaussian,
    "Sobel x": _sobel_x,
    "Sobel y": _sobel_y,
    "sharpen": _sharpen,
}


def make_mask(kind: str, size: int) -> np.ndarray:
    """``(size, size)`` float32 mask of ``kind``; KeyError for an unknown kind."""
    if size < 1:
        return np.zeros((0, 0), np.float32)
    return np.ascontiguousarray(MASKS[kind](size), dtype=np.float32)


class ImageFileError(ValueError):
    """An image file that cannot be used; the message is one line."""


def read_image(path: str | Path) -> np.ndarray:
    """A PNG/JPEG/... as ``(H, W)`` float32 grey levels in [0, 1] (Pillow's "L" conversion)."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageFileError(f"{p.name} is {w}×{h}; images up to {MAX_IMAGE_PIXELS:,} pixels "
                                     f"can be opened")
            if max(w, h) > MAX_SIDE:
                raise ImageFileError(f"{p.name} is {w}×{h}; sides up to {MAX_SIDE:,} pixels can be opened")
            return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except UnidentifiedImageError:
        raise ImageFileError(f"{p.name} is not an image Pillow can read") from None
    except OSError as e:
        raise ImageFileError(f"cannot read {p}: {e.strerror or e}") from None


def resized(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """``values`` (H, W) resampled (bilinear) to ``(height, width)``."""
    from PIL import Image

    if values.shape == (height, width):
        return values
    im = Image.fromarray(np.ascontiguousarray(values, np.float32))          # mode "F"
    return np.asarray(im.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
