#!/usr/bin/env bash
# The Debian/Ubuntu packages the desktop app needs (Qt's xcb and Wayland platform plugins), and with
# --test what the real-window tests need on top (Xvfb, xdotool, fonts). Installs only what is missing.
# Run as root (CI) or it uses sudo. The package list is app/_platform.py's APT_PACKAGES (a test
# checks that the two agree, and the README's command too).
set -euo pipefail
QT_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 libxcb1 libxkbcommon-x11-0 libxkbcommon0 libx11-xcb1 libx11-6 libegl1 libgl1 libopengl0 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0"
TEST_PACKAGES="xvfb xdotool fonts-dejavu-core"
want="$QT_PACKAGES"
[ "${1:-}" = "--test" ] && want="$want $TEST_PACKAGES"
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: no apt-get here; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
