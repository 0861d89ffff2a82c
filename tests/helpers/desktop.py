"""Real desktops for the screen and clipboard tests: a private Xvfb with tk windows showing
images, and a headless sway (wlroots) whose background shows an image, each with its own
clipboard. Nothing is mocked: hwotp captures through mss or grim and reads through xclip or
wl-paste, as on a user's desktop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A tk window without decorations at a given place, showing a PNG file, and saying so once it
# is on the screen (Xvfb has no window manager: it is mapped where it is asked to be).
SHOW_WINDOW = """\
import sys, time, tkinter
root = tkinter.Tk()
root.overrideredirect(True)
root.geometry(f"+{sys.argv[2]}+{sys.argv[3]}")
image = tkinter.PhotoImage(file=sys.argv[1])
tkinter.Label(root, image=image, borderwidth=0, highlightthickness=0).pack()
while not root.winfo_viewable():
    root.update()
    time.sleep(0.01)
root.update()
print("shown", flush=True)
root.mainloop()
"""


def have(*tools: str) -> bool:
    return all(shutil.which(tool) for tool in tools)


def has_tk() -> bool:
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def xvfb(size: str = "1920x1080") -> Iterator[str]:
    """A private X server; its display number chosen by the server itself (-displayfd)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", f"{size}x24"],
        pass_fds=[write_end], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as announced:
            number = announced.readline().strip()
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def x_env(display: str) -> dict[str, str]:
    env = {**os.environ, "DISPLAY": display}
    env.pop("WAYLAND_DISPLAY", None)
    return env


@contextmanager
def windows(display: str, *placed: tuple[Path, int, int]) -> Iterator[None]:
    """A window for each (PNG file, x, y), on the screen until the block ends."""
    shown = []
    try:
        for image, x, y in placed:
            window = subprocess.Popen([sys.executable, "-c", SHOW_WINDOW, str(image), str(x),
                                       str(y)], env=x_env(display), stdout=subprocess.PIPE,
                                      text=True)
            shown.append(window)
            assert window.stdout is not None and window.stdout.readline() == "shown\n"
        yield
    finally:
        for window in shown:
            window.kill()
            window.wait(timeout=10)


def x_clipboard(display: str, data: bytes, clip_type: str) -> None:
    """Puts `data` on the display's clipboard as `clip_type`; xclip stays in the background to
    serve it until the display ends or another program copies something."""
    subprocess.run(["xclip", "-selection", "clipboard", "-t", clip_type, "-i"], input=data,
                   env=x_env(display), check=True, timeout=10, stdout=subprocess.DEVNULL)


@contextmanager
def sway(size: str = "1920x1080") -> Iterator[dict[str, str]]:
    """A headless sway (software rendering, no input devices), and the environment of a
    program in its session. sway refuses to run as root, so for root it runs as nobody in a
    runtime folder of nobody's; root's programs reach its socket by path."""
    runtime = Path(tempfile.mkdtemp(prefix="hwotp-tests-wayland-"))
    config = runtime / "config"
    config.write_text(f"output HEADLESS-1 resolution {size}\n")
    as_user: list[str] = []
    if os.getuid() == 0:
        as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        shutil.chown(runtime, "nobody", "nogroup")
        shutil.chown(config, "nobody", "nogroup")
    runtime.chmod(0o700)
    env = {"PATH": os.environ["PATH"], "HOME": str(runtime), "XDG_RUNTIME_DIR": str(runtime),
           "WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1"}
    compositor = subprocess.Popen([*as_user, "sway", "--config", str(config)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _sockets(runtime), "sway's socket")
        session = {**os.environ, "WAYLAND_DISPLAY": str(_sockets(runtime)[0])}
        session.pop("DISPLAY", None)
        yield session
    finally:
        compositor.terminate()
        compositor.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)


def _sockets(runtime: Path) -> list[Path]:
    return [path for path in runtime.glob("wayland-*") if path.suffix != ".lock"]


@contextmanager
def wayland_background(session: dict[str, str], image: Path) -> Iterator[None]:
    """`image` in the middle of every output, on white, until the block ends (swaybg, the
    background client sway itself starts)."""
    background = subprocess.Popen(["swaybg", "--output", "*", "--image", str(image), "--mode",
                                   "center", "--color", "#ffffff"], env=session,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _screen_has_dark_pixels(session), "swaybg's picture")
        yield
    finally:
        background.terminate()
        background.wait(timeout=10)


def _screen_has_dark_pixels(session: dict[str, str]) -> bool:
    import io

    from PIL import Image

    shot = subprocess.run(["grim", "-"], env=session, capture_output=True, timeout=10)
    if shot.returncode != 0:
        return False
    low, _high = Image.open(io.BytesIO(shot.stdout)).convert("L").getextrema()
    return low < 64


def _wait_for(ready, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what} did not appear within {timeout} s"
        time.sleep(0.05)


@contextmanager
def weston() -> Iterator[dict[str, str]]:
    """A headless weston: a Wayland desktop without wlr-screencopy, like GNOME and KDE, where
    grim cannot capture."""
    runtime = Path(tempfile.mkdtemp(prefix="hwotp-tests-weston-"))
    runtime.chmod(0o700)
    env = {"PATH": os.environ["PATH"], "HOME": str(runtime), "XDG_RUNTIME_DIR": str(runtime)}
    compositor = subprocess.Popen(["weston", "--backend=headless-backend.so", "--socket=wl-test",
                                   "--shell=desktop-shell.so", "--idle-time=0"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for((runtime / "wl-test").exists, "weston's socket")
        session = {**os.environ, "WAYLAND_DISPLAY": str(runtime / "wl-test")}
        session.pop("DISPLAY", None)
        yield session
    finally:
        compositor.terminate()
        compositor.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
