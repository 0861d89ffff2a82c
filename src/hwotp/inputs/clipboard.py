"""What the desktop's clipboard holds: an image (a QR code copied or a screenshot) or text (an
otpauth URI copied from a page), read through the clipboard tool's pipe, never from a file.

Wayland through wl-paste (wl-clipboard), X11 through xclip, each asked first which types the
clipboard offers, so an image is preferred over the text that some programs offer beside it
(a browser's "copy image" also offers its address). xsel is not used: it reads no images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from hwotp.errors import DesktopUnavailableError, InputError
from hwotp.inputs import qr

__all__ = ["NAME", "Contents", "read"]

NAME = "the clipboard's image"
TIMEOUT = 10  # seconds: the program that owns the clipboard answers through the display server
# An image of the largest screen hwotp reads, even uncompressed (BMP); text as long as a list
# of hundreds of URIs. More than that is refused unread.
MAX_IMAGE_BYTES = qr.MAX_PIXELS * 4 + 1_000_000
MAX_TEXT_BYTES = 256 * 1024

# The image types hwotp decodes, in order of preference (all of qr.SCREENSHOT_FORMATS).
IMAGE_TYPES = ("image/png", "image/bmp", "image/webp", "image/tiff", "image/jpeg", "image/gif")
TEXT_TYPES = ("text/plain;charset=utf-8", "UTF8_STRING", "text/plain", "STRING", "TEXT")

NO_DISPLAY = (
    "there is no clipboard to read: neither WAYLAND_DISPLAY nor DISPLAY is set "
    "(run hwotp in your desktop session)"
)


@dataclass(frozen=True)
class Contents:
    """An image's encoded bytes, or text; exactly one of them."""

    image: bytes | None = None
    text: str | None = None


@dataclass(frozen=True)
class _Tool:
    name: str
    package: str
    list_types: list[str]
    read_type: list[str]  # followed by the type


_WL_PASTE = _Tool("wl-paste", "wl-clipboard", ["--list-types"], ["--no-newline", "--type"])
_XCLIP = _Tool("xclip", "xclip", ["-selection", "clipboard", "-o", "-t", "TARGETS"],
               ["-selection", "clipboard", "-o", "-t"])


def read(environ: Mapping[str, str] = os.environ) -> Contents:
    """The clipboard of the desktop session `environ` names: its image if it offers one,
    else its text. InputError when it is empty or holds something else."""
    tool, path = _tool(environ)
    offered = _types(tool, path)
    for image_type in IMAGE_TYPES:
        if image_type in offered:
            return Contents(image=_read(path, tool, image_type, MAX_IMAGE_BYTES, "an image"))
    for text_type in TEXT_TYPES:
        if text_type in offered:
            data = _read(path, tool, text_type, MAX_TEXT_BYTES, "text")
            return Contents(text=data.decode("utf-8", errors="replace"))
    if not offered:
        raise InputError("the clipboard is empty")
    raise InputError("the clipboard holds neither an image nor text hwotp can read")


def _tool(environ: Mapping[str, str]) -> tuple[_Tool, str]:
    if environ.get("WAYLAND_DISPLAY"):
        tool = _WL_PASTE
    elif environ.get("DISPLAY"):
        tool = _XCLIP
    else:
        raise DesktopUnavailableError(NO_DISPLAY)
    path = shutil.which(tool.name)
    if path is None:
        raise DesktopUnavailableError(
            f"reading the clipboard needs {tool.name} (apt install {tool.package})"
        )
    return tool, path


def _types(tool: _Tool, path: str) -> list[str]:
    """The types the clipboard offers; none when it is empty (both tools then fail)."""
    listed = _run([path, *tool.list_types], 64 * 1024)
    if listed is None:
        return []
    return [line.strip() for line in listed.decode(errors="replace").splitlines()]


def _read(path: str, tool: _Tool, clip_type: str, limit: int, what: str) -> bytes:
    data = _run([path, *tool.read_type, clip_type], limit)
    if data is None:
        raise InputError(f"the clipboard offered {what} but gave none; copy it again")
    if len(data) > limit:
        raise InputError(f"the clipboard holds more {what} than hwotp reads ({_size(limit)}); "
                         "copy only the QR code or the URIs")
    return data


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def _run(command: list[str], limit: int) -> bytes | None:
    """At most `limit` + 1 bytes of what `command` writes (the excess is left unread), or None
    when it fails. The clipboard's owner may never answer: the tool is killed after TIMEOUT."""
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
    except OSError:
        return None
    timed_out = threading.Event()

    def give_up() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(TIMEOUT, give_up)
    timer.start()
    try:
        assert process.stdout is not None
        with process.stdout:
            data = process.stdout.read(limit + 1)
        if len(data) > limit:
            process.kill()
        status = process.wait()
    finally:
        timer.cancel()
        process.wait()
    if timed_out.is_set():
        raise DesktopUnavailableError(
            f"the clipboard did not answer within {TIMEOUT} s (the program that holds it may "
            "hang)"
        )
    return data if status == 0 or len(data) > limit else None
