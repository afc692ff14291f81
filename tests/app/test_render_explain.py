"""The diverging map of the explanation pages: ends, middle, and lightness that reads without hue."""

from __future__ import annotations

import itertools
import math

from app.colormaps import luminance
from app.render_explain import DIVERGING, diverging_color


def test_ends_and_middle() -> None:
    assert diverging_color(-1.0) == DIVERGING[0]  # red: away from the target
    assert diverging_color(1.0) == DIVERGING[-1]  # blue: towards it
    assert diverging_color(0.0) == DIVERGING[len(DIVERGING) // 2]  # near white: no effect
    assert diverging_color(-5.0) == DIVERGING[0] and diverging_color(math.nan) == diverging_color(0.0)
    red, blue = DIVERGING[0], DIVERGING[-1]
    assert red[0] > red[2] and blue[2] > blue[0]


def test_strength_reads_by_lightness_alone() -> None:
    """For colour-blind readers: a stronger push is darker on both sides, and equal strengths
    towards and away are about equally dark (the sign is the hue, the size the lightness)."""
    ts = [k / 20 for k in range(21)]
    towards = [luminance(diverging_color(t)) for t in ts]
    away = [luminance(diverging_color(-t)) for t in ts]
    assert all(a > b for a, b in itertools.pairwise(towards))
    assert all(a > b for a, b in itertools.pairwise(away))
    for a, b in zip(towards, away, strict=True):
        assert abs(a - b) < 0.12
