"""The launch check: where Qt would abort, the app says which libraries are missing, and exits 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app._platform import APT_PACKAGES, candidate_platforms, display_problem, platform_problem

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")


def _hidden_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which libxcb-icccm.so.4 cannot be loaded: a corrupt file of that name comes
    first on LD_LIBRARY_PATH, so the dynamic linker stops at it (what a missing package does to Qt)."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "libxcb-icccm.so.4").write_bytes(b"not an ELF file" * 8)
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    return {
        **env,
        "LD_LIBRARY_PATH": str(hide),
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": ":0",
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }


@linux_only
def test_qt_itself_aborts_without_the_library(tmp_path: Path) -> None:
    """The stand-in is faithful: plain Qt dies with SIGABRT in it, as on the bare Debian desktop."""
    r = subprocess.run(
        [sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
        env=_hidden_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == -6, (r.returncode, r.stderr[-500:])
    assert "xcb" in r.stderr


@linux_only
def test_launch_without_xcb_libraries_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "app.cli"],
        cwd=ROOT,
        env=_hidden_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "libxcb-icccm.so.4" in lines[0]
    assert "sudo apt-get install libxcb-icccm4" in lines[0]
    assert "Aborted" not in r.stderr and "could not" not in r.stderr.lower()


@linux_only
def test_no_x_server_on_display_is_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": ":177",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "app.cli"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert "DISPLAY=:177" in r.stderr


def test_candidate_platforms() -> None:
    assert candidate_platforms({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert candidate_platforms({"DISPLAY": ":0"}) == ["xcb"]
    assert candidate_platforms({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}) == [
        "wayland",
        "xcb",
    ]
    assert candidate_platforms({"WAYLAND_DISPLAY": "wayland-0"}) == ["wayland", "xcb"]
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


@linux_only
def test_wayland_without_compositor_is_named() -> None:
    assert "WAYLAND_DISPLAY" in (display_problem({"QT_QPA_PLATFORM": "wayland"}) or "")
    assert "neither DISPLAY nor WAYLAND_DISPLAY" in (display_problem({}) or "")


def test_readme_and_ci_install_the_same_packages() -> None:
    """One list of Debian packages: the check's, the README's command and the CI installer's."""
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text(encoding="utf-8")
    listed = set(re.search(r"QT_PACKAGES=\"([^\"]+)\"", script).group(1).split())
    assert listed == set(APT_PACKAGES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if line.strip().startswith("sudo apt-get install"))
    assert set(command.split()[3:]) == set(APT_PACKAGES)
