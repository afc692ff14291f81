"""Colour maps for shading text by a weight, shared by the attention view and its HTML export.

Each map runs from the page's white (weight 0) to a dark colour (the heaviest weight), its distance
from white growing with the weight, so a low weight reads as background in every shading mode and
text on it stays readable; lightness falls monotonically along every map: the order of two weights
can be read by lightness alone, whatever the viewer's colour vision. ``cividis`` is designed for
colour-vision deficiency (Nuñez et al. 2018); ``viridis`` is the perceptually uniform default of
matplotlib, here run from its light end to its dark end. The ColorBrewer ramps (Brewer 2003) are
single-hue sequential schemes, which ColorBrewer marks colour-blind safe.

Pure standard library: no Qt, so the CLI's HTML export can use it.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = [
    "COLORMAPS",
    "DEFAULT_COLORMAP",
    "DIVERGING",
    "DIVERGING_STOPS",
    "color",
    "diverging_color",
    "hex_color",
    "luminance",
    "text_color",
]

RGB = tuple[int, int, int]

COLORMAPS: dict[str, tuple[RGB, ...]] = {
    # ColorBrewer OrRd, 9 classes
    "Orange–red": (
        (255, 247, 236),
        (254, 232, 200),
        (253, 212, 158),
        (253, 187, 132),
        (252, 141, 89),
        (239, 101, 72),
        (215, 48, 31),
        (179, 0, 0),
        (127, 0, 0),
    ),
    # ColorBrewer Blues, 9 classes
    "Blues": (
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ),
    # ColorBrewer Greys, 9 classes (for print in black and white)
    "Greys": (
        (255, 255, 255),
        (240, 240, 240),
        (217, 217, 217),
        (189, 189, 189),
        (150, 150, 150),
        (115, 115, 115),
        (82, 82, 82),
        (37, 37, 37),
        (0, 0, 0),
    ),
    # cividis and viridis run from their light (yellow) end to their dark end, faded into white over
    # the first 45% (sampled at 9 points): their yellow end is as saturated as a highlighter, so
    # unfaded, a word of low weight would look marked.
    "Cividis": (
        (255, 255, 255),
        (248, 242, 209),
        (223, 214, 172),
        (182, 174, 139),
        (140, 136, 120),
        (114, 114, 117),
        (88, 94, 110),
        (56, 71, 103),
        (0, 32, 77),
    ),
    "Viridis": (
        (255, 255, 255),
        (234, 246, 198),
        (176, 227, 161),
        (92, 195, 140),
        (36, 158, 134),
        (37, 132, 141),
        (48, 105, 141),
        (60, 71, 132),
        (68, 1, 84),
    ),
}
DEFAULT_COLORMAP = "Orange–red"

# Signed attributions: ColorBrewer PuOr, 11 classes (Brewer 2003, marked colour-blind safe), its
# centre set to the page's white so a score of 0 reads as background. Orange = pushes away from
# the class, purple = pushes towards it; lightness falls from the centre to both ends, so the size
# of a score reads by lightness alone and its sign by hue (orange vs purple stay apart for
# protan, deutan and tritan vision: tests/app/test_colormaps_diverging.py).
DIVERGING = "Purple (towards) – orange (away)"
DIVERGING_STOPS: tuple[RGB, ...] = (
    (127, 59, 8),
    (179, 88, 6),
    (224, 130, 20),
    (253, 184, 99),
    (254, 224, 182),
    (255, 255, 255),
    (216, 218, 235),
    (178, 171, 210),
    (128, 115, 172),
    (84, 39, 136),
    (45, 0, 75),
)


@lru_cache(maxsize=4096)
def _color_q(name: str, q: int) -> RGB:
    stops = COLORMAPS[name]
    x = q / 255 * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    f = x - i
    a, b = stops[i], stops[i + 1]
    return (round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f), round(a[2] + (b[2] - a[2]) * f))


def color(name: str, t: float) -> RGB:
    """The colour of intensity ``t`` in [0, 1] (clamped; NaN counts as 0) on map ``name``, 256 levels."""
    if name not in COLORMAPS:
        raise KeyError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    t = 0.0 if not t > 0.0 else min(t, 1.0)
    return _color_q(name, round(t * 255))


@lru_cache(maxsize=1024)
def _diverging_q(q: int) -> RGB:
    stops = DIVERGING_STOPS
    x = q / 254 * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    f = x - i
    a, b = stops[i], stops[i + 1]
    return (round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f), round(a[2] + (b[2] - a[2]) * f))


def diverging_color(v: float) -> RGB:
    """The colour of a signed intensity ``v`` in [-1, 1] (clamped; NaN counts as 0): white at 0,
    purple towards +1, orange towards -1; 127 levels each way."""
    v = 0.0 if v != v else max(-1.0, min(1.0, v))
    return _diverging_q(round((v + 1) * 127))


def hex_color(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(rgb: RGB) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])


def text_color(background: RGB) -> RGB:
    """Black or white, whichever has the higher WCAG contrast on ``background``."""
    lum = luminance(background)
    return (0, 0, 0) if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else (255, 255, 255)
