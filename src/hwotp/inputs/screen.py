"""Every screen's pixels, captured in memory and never written to disk.

X11: mss (XGetImage / XShmGetImage through ctypes), one image per monitor, each within
`qr.MAX_PIXELS`. Wayland: grim, which writes the picture to its standard output, read here
from the pipe; it needs the wlr-screencopy protocol (sway, Hyprland, river, Wayfire...).
GNOME and KDE allow a capture only through their screenshot portal or tools, which save the
picture as a file (the portal answers with its address), so hwotp does not use them: their
users copy a screenshot to the clipboard (`inputs/clipboard.py`) or save one themselves.
On Wayland the X11 path is never tried: XWayland shows X programs only, and a black screen
would read as "no QR code found".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hwotp.errors import DesktopUnavailableError, Remedy
from hwotp.inputs import qr

if TYPE_CHECKING:
    from mss.base import MSS
    from mss.models import Monitor
    from PIL import Image

__all__ = ["NAME", "NO_CODE", "capture"]

NAME = "the screen"
NO_CODE = (
    "no QR code found on the screen: show the whole code, uncovered and not too small, "
    "on a screen of this session"
)
TIMEOUT = 20  # seconds: grim takes well under one on a 4K screen

NO_SCREEN = (
    "there is no screen to capture: neither WAYLAND_DISPLAY nor DISPLAY is set "
    "(run hwotp in your desktop session)"
)
NO_GRIM = (
    "capturing a Wayland screen needs grim (apt install grim; it works on wlroots desktops "
    "such as sway, Hyprland or river); GNOME and KDE only save screenshots to files"
)


def capture(environ: Mapping[str, str] = os.environ) -> list[Image.Image]:
    """One image per screen of the desktop session that `environ` names."""
    if environ.get("WAYLAND_DISPLAY"):
        return [_wayland()]
    display = environ.get("DISPLAY")
    if display:
        return _x11(display)
    raise DesktopUnavailableError(NO_SCREEN, remedy=Remedy.SCREENSHOT)


def _wayland() -> Image.Image:
    grim = shutil.which("grim")
    if grim is None:
        raise DesktopUnavailableError(NO_GRIM, remedy=Remedy.SCREENSHOT)
    try:
        # PNG without compression: compressing a 4K screen costs grim a second, for nothing.
        done = subprocess.run([grim, "-t", "png", "-l", "0", "-"], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise DesktopUnavailableError(
            f"grim did not capture the screen within {TIMEOUT} s", remedy=Remedy.SCREENSHOT
        ) from None
    except OSError as error:
        raise DesktopUnavailableError(
            f"grim could not be started ({error.strerror})", remedy=Remedy.SCREENSHOT
        ) from None
    if done.returncode != 0 or not done.stdout:
        raise DesktopUnavailableError(
            f"grim could not capture this Wayland screen ({_first_line(done.stderr)})",
            remedy=Remedy.SCREENSHOT,
        )
    return qr.open_bytes(done.stdout, NAME)


def _first_line(stderr: bytes) -> str:
    """What the tool said, one line of it: "compositor doesn't support wlr-screencopy..."."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[0][:200] if lines else "it gave no reason"


def _x11(display: str) -> list[Image.Image]:
    import mss

    try:
        with mss.MSS(display=display) as shooter:
            monitors = shooter.monitors[1:] or shooter.monitors[:1]  # [0] is all of them
            return [_grab(shooter, monitor) for monitor in monitors]
    except mss.ScreenShotError:
        raise DesktopUnavailableError(
            f"the X display {display} cannot be captured (is it running, and open to this user?)",
            remedy=Remedy.SCREENSHOT,
        ) from None


def _grab(shooter: MSS, monitor: Monitor) -> Image.Image:
    from PIL import Image

    qr.refuse_oversized((monitor["width"], monitor["height"]), NAME)  # before any pixel
    shot = shooter.grab(monitor)
    return Image.frombuffer("RGB", shot.size, shot.bgra, "raw", "BGRX", 0, 1)
