"""`--copy`: hand a code to the desktop's clipboard tool, where one exists, and clear it again
after a while if it still holds that code (as `pass -c` does).

The clearing runs in a detached process (`python -m hwotp.cli.clipboard`) that is given the
code on its standard input and holds nothing else: no secret, no vault, no key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

# (tool, arguments to copy, to read back, to clear, the display it needs): Wayland first,
# then X11, then macOS.
TOOLS = [
    ("wl-copy", [], ["wl-paste", "--no-newline"], ["wl-copy", "--clear"], "WAYLAND_DISPLAY"),
    ("xclip", ["-selection", "clipboard"], ["xclip", "-selection", "clipboard", "-o"],
     ["xclip", "-selection", "clipboard", "-i", "/dev/null"], "DISPLAY"),
    ("xsel", ["--clipboard", "--input"], ["xsel", "--clipboard", "--output"],
     ["xsel", "--clipboard", "--delete"], "DISPLAY"),
    ("pbcopy", [], ["pbpaste"], ["pbcopy"], None),
]
TIMEOUT = 5


def copy_to_clipboard(text: str, clear_after: float = 0) -> str:
    """Copies `text`; returns where it went, for a note. The code also stays printed. With
    `clear_after` seconds, a detached process clears the clipboard then if it still holds
    `text`."""
    installed = [tool for tool in TOOLS if shutil.which(tool[0])]
    usable = [tool for tool in installed if tool[4] is None or os.environ.get(tool[4])]
    if installed and not usable:
        return ("No display to copy to (neither WAYLAND_DISPLAY nor DISPLAY is set); the code "
                "is printed only.")
    for tool, arguments, _read, _clear, _needs in usable:
        try:
            _run([tool, *arguments], text)
        except (OSError, subprocess.SubprocessError):
            continue
        if clear_after > 0:
            _clear_later(tool, text, clear_after)
            return (f"Copied the code to the clipboard ({tool}); it is cleared in "
                    f"{clear_after:g} s if it still holds the code.")
        return f"Copied the code to the clipboard ({tool})."
    return "No clipboard tool found (wl-copy, xclip, xsel or pbcopy); the code is printed only."


def _run(command: list[str], given: str = "") -> None:
    path = shutil.which(command[0])
    if path is None:
        raise FileNotFoundError(command[0])
    subprocess.run([path, *command[1:]], input=given.encode(), check=True, timeout=TIMEOUT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _clear_later(tool: str, text: str, seconds: float) -> None:
    """Starts the clearer in its own session, so it outlives this command and its terminal."""
    try:
        clearer = subprocess.Popen(
            [sys.executable, "-m", "hwotp.cli.clipboard", tool, repr(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
        assert clearer.stdin is not None
        clearer.stdin.write(text.encode())
        clearer.stdin.close()
    except OSError:
        pass  # copying worked; clearing is a courtesy that cannot be given here


def clear_if_unchanged(tool: str, text: str) -> bool:
    """Clears the clipboard if it holds exactly `text` (the user may have copied something
    else since); whether it did."""
    for name, _copy, read, clear, _needs in TOOLS:
        if name != tool:
            continue
        path = shutil.which(read[0])
        if path is None:
            return False
        try:
            held = subprocess.run([path, *read[1:]], capture_output=True, timeout=TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=True).stdout
            if held.decode(errors="replace").rstrip("\n") != text:
                return False
            _run(clear)
        except (OSError, subprocess.SubprocessError):
            return False
        return True
    return False


def _clearer(arguments: list[str]) -> None:
    tool, seconds = arguments[0], float(arguments[1])
    text = sys.stdin.read(64)  # a code: digits, at most ten
    sys.stdin.close()
    time.sleep(seconds)
    clear_if_unchanged(tool, text)


if __name__ == "__main__":
    _clearer(sys.argv[1:])
