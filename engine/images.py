"""Images and masks for the convolution, read or made the same way everywhere (CLI and app).

Every image is ``(H, W)`` float32. Image files become grey levels in [0, 1] (Pillow's "L"
conversion divided by 255); ``.npy`` arrays are taken as they are; patterns lie in [0, 1] and
depend only on their size (fixed seeds), so a screenshot or a test sees the same picture every
time. Every mask is ``(K, K)`` float32, odd K up to :data:`engine.limits.MAX_MASK`.

Nothing here trusts a file: an image's size is checked from its header before it is decoded
(a decompression bomb is refused, not decoded), a ``.npy`` header's shape and dtype are checked
against the file's size before it is loaded (never with pickles), and every refusal is an
:class:`ImageFileError` (a ``ValueError``) whose message is one line.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from math import comb
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.limits import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_MASK

__all__ = [
    "MASKS",
    "MASK_NAMES",
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_SIDE",
    "MAX_MASK",
    "PATTERNS",
    "ImageFileError",
    "check_image_size",
    "make_mask",
    "make_pattern",
    "parse_mask",
    "random_image",
    "read_image",
    "read_npy",
    "resized",
]


class ImageFileError(ValueError):
    """An image, array or mask that cannot be used; the message is one line."""


def check_image_size(height: int, width: int, name: str = "the image") -> None:
    """Refuse sizes over ``MAX_IMAGE_SIDE`` on a side or ``MAX_IMAGE_PIXELS`` in all."""
    if height < 1 or width < 1:
        raise ImageFileError(f"{name} is {height}×{width}; both sides must be at least 1")
    if max(height, width) > MAX_IMAGE_SIDE:
        raise ImageFileError(f"{name} is {height}×{width}; sides up to {MAX_IMAGE_SIDE:,} pixels can be used")
    if height * width > MAX_IMAGE_PIXELS:
        raise ImageFileError(
            f"{name} is {height}×{width}; images up to {MAX_IMAGE_PIXELS:,} pixels can be used"
        )


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``(H, 1)`` rows and ``(1, W)`` columns, for broadcasting."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _checkerboard(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    side = max(2, min(h, w) // 12)
    board: np.ndarray = (((y // side) + (x // side)) % 2).astype(np.float32)  # (H, W)
    return board


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
    ink = rng.random((lines, glyphs, 6, 4)) < 0.45  # (lines, glyphs, 6, 4)
    ink &= (rng.random((lines, glyphs)) >= 0.15)[:, :, None, None]  # spaces between words
    page = np.ones((lines, 9, glyphs, 5), np.float32)  # one 9 x 5 cell per glyph
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
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8  # OpenCV's choice for a k-tap kernel
    t = np.arange(k) - (k - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    m = np.outer(g, g)
    mask: np.ndarray = m / m.sum()  # (k, k), sums to 1
    return mask


def _sobel_x(k: int) -> np.ndarray:
    """Binomial smoothing down the rows times a binomial derivative across the columns (3: [-1 0 1])."""
    if k < 3:
        return np.zeros((k, k))
    derivative = np.convolve(_binomial(k - 2), [-1.0, 1.0])  # (K,): -1 ... +1
    return np.outer(_binomial(k - 1), derivative) + 0.0  # + 0.0: no -0 in the table


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


# Mask names as the CLI spells them (``--mask gauss:5``), for the names above.
MASK_NAMES = {
    "box": "box",
    "gauss": "Gaussian",
    "gaussian": "Gaussian",
    "sobel-x": "Sobel x",
    "sobel-y": "Sobel y",
    "sharpen": "sharpen",
}


def make_mask(kind: str, size: int) -> np.ndarray:
    """``(size, size)`` float32 mask of ``kind``; KeyError for an unknown kind."""
    if size < 1:
        return np.zeros((0, 0), np.float32)
    return np.ascontiguousarray(MASKS[kind](size), dtype=np.float32)


def _mask_size(text: str, spec: str) -> int:
    k = int(text)
    if k > MAX_MASK:
        raise ImageFileError(f"--mask {spec}: the mask side {k} is over the limit {MAX_MASK}")
    if k < 1 or k % 2 == 0:
        raise ImageFileError(f"--mask {spec}: the mask side must be odd (it has a centre), got {k}")
    return k


def parse_mask(spec: str) -> np.ndarray:
    """A mask from a spec: ``K`` (a K x K box), ``KIND:K`` or ``KIND`` (K = 3), or a ``.npy`` file.

    KIND is one of ``MASK_NAMES`` (box, gauss, sobel-x, sobel-y, sharpen). The size is checked
    before anything is built.
    """
    m = re.fullmatch(r"(?:(?P<kind>[A-Za-z-]+)(?::|$))?(?P<k>\d+)?", spec.strip())
    if m and (m["kind"] or m["k"]) and not Path(spec).is_file():
        kind = (m["kind"] or "box").lower()
        if kind not in MASK_NAMES:
            raise ImageFileError(
                f"--mask {spec}: unknown mask {kind!r}; use K, a .npy file or one of "
                f"{', '.join(f'{n}:K' for n in MASK_NAMES if n != 'gaussian')}"
            )
        return make_mask(MASK_NAMES[kind], _mask_size(m["k"] or "3", spec))
    mask = read_npy(spec, max_elements=MAX_MASK * MAX_MASK, what="--mask")
    if mask.ndim == 2 and mask.shape[0] > MAX_MASK:
        raise ImageFileError(f"the mask side {mask.shape[0]} is over the limit {MAX_MASK}")
    return mask


def _file_error(p: Path, e: OSError) -> ImageFileError:
    if isinstance(e, FileNotFoundError):
        return ImageFileError(f"no such file: {p}")
    if isinstance(e, IsADirectoryError):
        return ImageFileError(f"{p} is a directory, not a file")
    return ImageFileError(f"cannot read {p}: {' '.join((e.strerror or str(e)).split())}")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:120]


def _npy_header(f: BinaryIO, p: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header, read without loading anything else."""
    try:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"unsupported .npy version {version}")
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(f)
    except OSError:
        raise
    except Exception as e:  # numpy's header parser raises ValueError, SyntaxError, tokenize errors...
        raise ImageFileError(f"{p} is not a plain .npy array: {_one_line(e)}") from None
    return shape, dtype


def read_npy(path: str | Path, max_elements: int = MAX_IMAGE_PIXELS, what: str = "the array") -> np.ndarray:
    """A ``.npy`` array, after checking its header: no pickles, a plain numeric dtype, at most
    ``max_elements`` values, and exactly as many bytes in the file as the header promises."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            shape, dtype = _npy_header(f, p)
            data_bytes = p.stat().st_size - f.tell()
    except OSError as e:
        raise _file_error(p, e) from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ImageFileError(f"{p}: {what} must hold real numbers, not {dtype}")
    count = math.prod(shape)
    if count > max_elements:
        raise ImageFileError(
            f"{p}: {what} has {count:,} values (shape {shape}); at most {max_elements:,} can be used"
        )
    if data_bytes != count * dtype.itemsize:
        raise ImageFileError(
            f"{p} is not a plain .npy array: its header promises {count * dtype.itemsize:,} "
            f"bytes of data, the file holds {data_bytes:,}"
        )
    try:
        values: np.ndarray = np.load(p, allow_pickle=False)
        return values
    except (ValueError, OSError, EOFError) as e:
        raise ImageFileError(f"{p} is not a plain .npy array: {_one_line(e)}") from None


def read_image(path: str | Path) -> np.ndarray:
    """A PNG/JPEG/... as ``(H, W)`` float32 grey levels in [0, 1] (Pillow's "L" conversion)."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns, then refuses, past its own pixel limit: both mean "too large" here;
            # its other warnings (odd metadata) are not for the user
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                check_image_size(h, w, p.name)
                return np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageFileError(
            f"{p.name} is too large to open (images up to {MAX_IMAGE_PIXELS:,} pixels can be used)"
        ) from None
    except UnidentifiedImageError:
        raise ImageFileError(f"{p.name} is not an image Pillow can read") from None
    except OSError as e:  # truncated or corrupt data, unreadable file
        raise _file_error(p, e) from None
    except (ValueError, SyntaxError, EOFError) as e:
        if isinstance(e, ImageFileError):
            raise
        raise ImageFileError(f"{p.name} is a corrupt image: {_one_line(e)}") from None


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """``(height, width)`` float32 uniform in [0, 1), after the size checks."""
    check_image_size(height, width, "the image")
    return np.random.default_rng(seed).random((height, width), dtype=np.float32)


def resized(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """``values`` (H, W) resampled (bilinear) to ``(height, width)``."""
    from PIL import Image

    if values.shape == (height, width):
        return values
    im = Image.fromarray(np.ascontiguousarray(values, np.float32))  # mode "F"
    return np.asarray(im.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
