"""The app's entry points: `han-explorer` opens the window, `--screenshot` writes a PNG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QImage

from app.cli import main
from app.explorers import EXPLORERS

ROOT = Path(__file__).resolve().parents[2]


def test_screenshot_writes_the_view(qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "review.txt"
    text.write_text("An odd, lovely film. The ending drags.", encoding="utf-8")
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out), "--view", "attention", "--text", str(text)]) == 0
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1366, 768)
    # the shaded review is in the picture: some pixels carry the colour map's dark end
    dark = sum(
        1
        for x in range(0, 1000, 3)
        for y in range(60, 200, 3)
        if img.pixelColor(x, y).red() > 150 and img.pixelColor(x, y).green() < 80
    )
    assert dark > 20
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize("spec", EXPLORERS, ids=[e.name for e in EXPLORERS])
def test_every_view_can_be_screenshotted(qapp: Any, tmp_path: Path, spec: Any) -> None:
    out = tmp_path / f"{spec.name}.png"
    assert main(["--screenshot", str(out), "--view", spec.name]) == 0
    assert not QImage(str(out)).isNull()


def test_bad_text_file_is_one_line_exit_2(
    qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    assert main(["--screenshot", str(tmp_path / "s.png"), "--text", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "binary" in err and len(err.strip().splitlines()) == 1


def test_bad_model_is_one_line_exit_2(qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--screenshot", str(tmp_path / "s.png"), "--model", str(tmp_path)]) == 2
    assert "model" in capsys.readouterr().err


def test_app_starts_and_quits(tmp_path: Path) -> None:
    """`han-explorer` with no command opens the main window (smoke test: it quits after 1 s)."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "--quit-after-ms", "1000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr


def test_no_display_is_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run(
        [sys.executable, "-m", "app.cli"],
        cwd=ROOT,
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "no display" in r.stderr and "--screenshot" in r.stderr


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_qt_binding_keeps_none_alive(qapp: Any) -> None:
    """PySide6 6.12.0 dropped a reference to None on every void QPainter call; 3.11 then aborts."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QPainter

    img = QImage(16, 16, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    before = sys.getrefcount(None)
    for _ in range(2000):
        p.setPen(QColor(1, 2, 3))
        p.drawRect(QRect(0, 0, 4, 4))
        p.fillRect(QRect(0, 0, 4, 4), QColor(1, 2, 3))
    after = sys.getrefcount(None)
    p.end()
    assert after >= before - 100, f"None lost {before - after} references"


@pytest.mark.parametrize(
    ("screen", "want"),
    [
        ((1366, 768), (1284, 722)),
        ((1024, 700), (1024, 700)),  # the size every view is checked at (tests/realwindow)
        ((1920, 1080), (1536, 864)),
        ((3840, 2160), (1800, 1100)),
        ((800, 500), (800, 500)),
    ],
)
def test_the_first_window_takes_most_of_the_screen_centred(
    screen: tuple[int, int], want: tuple[int, int]
) -> None:
    from PySide6.QtCore import QRect

    from app.main_window import default_geometry

    available = QRect(0, 0, *screen)
    g = default_geometry(available)
    assert (g.width(), g.height()) == want
    assert available.contains(g)
    assert abs(g.center().x() - available.center().x()) <= 1
    assert abs(g.center().y() - available.center().y()) <= 1


def test_a_saved_place_must_be_on_a_screen_and_fit_it() -> None:
    from PySide6.QtCore import QRect

    from app.main_window import fits_a_screen

    laptop = [QRect(0, 0, 1366, 740)]
    assert fits_a_screen(QRect(40, 30, 1200, 650), laptop)
    assert not fits_a_screen(QRect(1900, 1000, 1200, 650), laptop)  # saved on a larger screen
    assert not fits_a_screen(QRect(0, 0, 2000, 1100), laptop)  # larger than this screen
    assert not fits_a_screen(QRect(1300, 20, 1000, 600), laptop)  # only a sliver of its title bar
    assert fits_a_screen(QRect(1900, 100, 1000, 600), [*laptop, QRect(1366, 0, 2560, 1440)])


def test_a_screenshot_that_cannot_be_written_is_one_line_and_keeps_the_old_file(
    qapp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine", encoding="utf-8")
    assert main(["--screenshot", str(blocker / "shot.png")]) == 2  # a file where a folder should be
    err = capsys.readouterr().err
    assert "could not write" in err and len(err.strip().splitlines()) == 1
    assert blocker.read_text(encoding="utf-8") == "mine"
