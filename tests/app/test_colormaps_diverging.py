"""The signed attribution map: white at 0, hue says the sign, lightness says the size, for every
colour vision.

Colour-vision deficiency is simulated with Machado, Oliveira & Fernandes (2009), severity 1.0
(their published matrices, applied to linear sRGB); colour differences are CIE76 ΔE in CIELAB (D65).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.colormaps import DIVERGING_STOPS, diverging_color

MACHADO = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
    "normal": np.eye(3),
}


def _linear(rgb: np.ndarray) -> np.ndarray:
    s = rgb / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.clip(linear, 0, 1) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _seen(values: np.ndarray, vision: str) -> np.ndarray:
    rgb = np.array([diverging_color(float(v)) for v in values], dtype=np.float64)
    return _lab(_linear(rgb) @ MACHADO[vision].T)


def test_the_explain_page_uses_the_views_map() -> None:
    """`explain --html` and the Attention view shade with the same colours."""
    import app.render_explain as page

    assert page.diverging_color is diverging_color


def test_zero_is_the_page_white_and_the_ends_are_the_brewer_ends() -> None:
    assert diverging_color(0.0) == (255, 255, 255)
    assert diverging_color(float("nan")) == (255, 255, 255)
    assert diverging_color(-1.0) == DIVERGING_STOPS[0] == diverging_color(-7.0)
    assert diverging_color(1.0) == DIVERGING_STOPS[-1] == diverging_color(3.0)


@pytest.mark.parametrize("vision", list(MACHADO))
def test_lightness_falls_from_the_centre_to_both_ends(vision: str) -> None:
    """The size of a score reads by lightness alone, on either side, whatever the colour vision."""
    v = np.linspace(0, 1, 41)
    for side in (v, -v):
        lightness = _seen(side, vision)[:, 0]
        assert np.all(np.diff(lightness) < 0.5), (vision, lightness.round(1))  # monotone (rounding slack)
        assert lightness[0] - lightness[-1] > 60  # from white to dark


@pytest.mark.parametrize("vision", list(MACHADO))
def test_towards_and_away_stay_apart(vision: str) -> None:
    """+v and −v of the same size differ by a visible hue: ΔE76 > 10 from |v| = 0.25 on."""
    v = np.linspace(0.25, 1, 16)
    delta = np.linalg.norm(_seen(v, vision) - _seen(-v, vision), axis=1)
    assert delta.min() > 10, (vision, delta.round(1))
