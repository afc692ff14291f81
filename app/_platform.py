"""Can Qt open a window here? Checked before a QApplication exists, because Qt aborts the process.

When the xcb (X11) or Wayland platform plugin cannot be loaded, ``QApplication()`` prints a paragraph
and calls ``abort()``: no exception, no exit status a script can read, and the libraries it lacks are
not named. :func:`platform_problem` asks the dynamic linker first (``ldd`` on the plugin, which walks
every dependency; ``dlopen`` where there is no ``ldd``) and returns one line naming the missing
libraries and the command that installs them, or ``None`` when a window can be opened.

Qt-free on purpose: it runs before Qt is imported.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "APT_PACKAGES",
    "candidate_platforms",
    "display_problem",
    "load_error",
    "missing_libraries",
    "platform_problem",
    "plugin_paths",
    "start_xvfb",
]

# Debian/Ubuntu package of every shared library the xcb and Wayland plugins (and QtGui) link
# against outside the wheel, found with ldd/objdump on PySide6 6.11's plugins (README: "System
# libraries"). A bare Debian 12 or Ubuntu 24.04 lacks several of them.
PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libwayland-server.so.0": "libwayland-server0",
}
APT_PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(PACKAGES.values()))
_PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}


def candidate_platforms(env: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """The platform plugins Qt will try, in order (``QT_QPA_PLATFORM`` may list several with ';')."""
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return [p.split(":", 1)[0].strip() for p in asked.split(";") if p.strip()]
    if env.get("XDG_SESSION_TYPE") == "wayland" or (env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return ["wayland", "xcb"]  # Qt 6 prefers Wayland in a Wayland session, then XWayland
    return ["xcb"]


def plugin_paths(platform: str, env: dict[str, str] | os._Environ[str] = os.environ) -> list[Path]:
    """The plugin files Qt may load for ``platform`` (``xcb``, ``wayland``...), in Qt's search order."""
    name = _PLUGIN_FILES.get("wayland" if platform.startswith("wayland") else platform)
    if name is None:
        return []
    folders = [Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])] if env.get("QT_QPA_PLATFORM_PLUGIN_PATH") else []
    folders += [Path(p) / "platforms" for p in env.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    spec = importlib.util.find_spec("PySide6")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms")
    return list(dict.fromkeys(f / name for f in folders if (f / name).is_file()))


def load_error(plugin: Path) -> str | None:
    """Why the dynamic linker cannot load ``plugin`` (as Qt would, lazily), or ``None`` if it can.

    A plugin that loads stays loaded: Qt loads the same file moments later.
    """
    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY)
    except OSError as e:
        return str(e)
    return None


def missing_libraries(plugin: Path, error: str = "") -> list[str]:
    """The shared libraries ``plugin`` lacks: every one ``ldd`` cannot find, else the one in ``error``."""
    ldd = shutil.which("ldd")
    found: list[str] = []
    if ldd is not None:
        try:
            out = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False
            ).stdout
            found = re.findall(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE)
        except (OSError, subprocess.SubprocessError):
            pass
    named = re.match(r"([^:/]*\.so[.\d]*): ", error) or re.match(r".*/([^:/]*\.so[.\d]*): ", error)
    if named and named.group(1) != plugin.name:
        found.append(named.group(1))  # present but unusable (corrupt, wrong architecture)
    return list(dict.fromkeys(found)) or [error or "a library it links against"]


def install_command(libraries: list[str]) -> str:
    packages = [PACKAGES[lib] for lib in libraries if lib in PACKAGES]
    if len(packages) < len(libraries):  # a library we do not know: the whole documented set
        packages = list(APT_PACKAGES)
    return "sudo apt-get install " + " ".join(dict.fromkeys(packages))


def platform_problem(env: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """One line saying why no window can open, or ``None`` when a platform plugin will load.

    Only the windowing plugins are checked (xcb, Wayland); ``offscreen`` and the others need nothing
    outside the wheel, and other operating systems ship Qt's dependencies with the system.
    """
    if not sys.platform.startswith("linux"):
        return None
    problems: list[tuple[str, list[str]]] = []
    for platform in candidate_platforms(env):
        if not platform.startswith(("xcb", "wayland")):
            return None
        plugins = plugin_paths(platform, env)
        if not plugins:
            problems.append((platform, ["the plugin file itself (reinstall PySide6)"]))
        for plugin in plugins:  # Qt tries the next folder's file when one fails to load
            error = load_error(plugin)
            if error is None:
                return None
            problems.append((platform, missing_libraries(plugin, error)))
    missing = list(dict.fromkeys(lib for _, libs in problems for lib in libs))
    tried = " and ".join(dict.fromkeys(p for p, _ in problems))
    return (
        f"cannot open a window: Qt's {tried} platform plugin needs {', '.join(missing)}, which "
        f"cannot be loaded; on Debian/Ubuntu: {install_command(missing)}"
    )


def _x_server_answers(display: str) -> bool:
    """Whether an X server accepts a connection on ``display`` (libxcb, as Qt's xcb plugin connects)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # platform_problem names the missing library
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        return conn is not None and xcb.xcb_connection_has_error(conn) == 0
    finally:
        if conn is not None:
            xcb.xcb_disconnect(conn)


def display_problem(env: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """One line when there is no display to open a window on, else ``None`` (Linux only).

    Qt aborts when ``DISPLAY`` names no running X server; this asks the server first.
    """
    if not sys.platform.startswith("linux"):
        return None
    platforms = candidate_platforms(env)
    if not all(p.startswith(("xcb", "wayland")) for p in platforms):
        return None  # offscreen, vnc, eglfs...: no display server needed
    if any(p.startswith("wayland") for p in platforms) and env.get("WAYLAND_DISPLAY"):
        return None
    display = env.get("DISPLAY", "")
    if "xcb" not in platforms:
        return (
            f"QT_QPA_PLATFORM={env.get('QT_QPA_PLATFORM')} but WAYLAND_DISPLAY is not set: no Wayland "
            "compositor to open a window on"
        )
    if not display:
        return (
            "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); run it on a "
            "desktop, under xvfb-run, or use --screenshot OUT.png"
        )
    if not _x_server_answers(display):
        return (
            f"no X server answers on DISPLAY={display}; start one (a desktop, or xvfb-run) or use "
            "--screenshot OUT.png"
        )
    return None


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb of ``width`` x ``height`` on a free display; returns the process and ``:N``."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(read, 16)
        if not chunk:
            break
        number += chunk
    os.close(read)
    if not number.strip():
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number.decode().strip()}"
