#!/usr/bin/env bash
# Sets up everything hwotp needs on Debian 12: system packages (as root, else through sudo)
# and a virtual environment in .venv with hwotp installed in editable mode plus test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# libzbar0: pyzbar, the fallback QR decoder. zbar-tools: zbarimg, the peer in bench/qr.py.
# pcscd: PC/SC for yubikey-manager. pyscard has no wheel for Debian 12's Python on PyPI, so pip
# builds it: gcc, libc6-dev, python3-dev, swig and libpcsclite-dev. vsmartcard-vpcd: the reader
# driver the virtual YubiKeys of the tests plug into. util-linux: unshare and nsenter, which give
# the tests' pcscd a private /run/pcscd and the virtual USB keys' /dev/hidrawN a private /dev.
# iproute2: ss, with which a test checks that nothing of the rig listens beyond loopback.
# No libfuse or Python FUSE binding: the tests speak the FUSE protocol on /dev/fuse themselves,
# because libfuse's high-level API overruns python-fido2's ioctl buffers (docs/testing.md).
# xclip and xvfb: the clipboard tests copy and clear for real on a virtual X display.
# python3-tk: the screen tests show QR codes in tk windows on that display (mss captures it).
# sway, grim and wl-clipboard: the Wayland tests run a headless sway (as nobody when root: sway
# refuses root), capture it with grim and use its clipboard with wl-copy / wl-paste. weston: a
# Wayland desktop without wlr-screencopy (as GNOME and KDE), where grim cannot capture.
SYSTEM_PACKAGES=(python3 python3-venv python3-pip python3-dev gcc libc6-dev libzbar0 zbar-tools
                 pcscd libpcsclite-dev swig vsmartcard-vpcd util-linux iproute2 xclip xvfb
                 python3-tk sway grim wl-clipboard weston)

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    echo "setup: installing system packages: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi
echo "setup: installing hwotp and its test tools into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
