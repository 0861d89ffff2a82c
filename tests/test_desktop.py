"""`hwotp enroll --screen` and `--clipboard` on real desktops, through the installed script: a
private Xvfb with tk windows showing QR codes (captured by mss) and xclip's clipboard; a
headless sway whose background shows a QR code (captured by grim) and wl-clipboard's
clipboard. Codes are checked against pyotp; nothing the capture read may reach the disk."""

from __future__ import annotations

import json
import os
import subprocess
from base64 import b32encode
from pathlib import Path

import pytest

import qrimages
from helpers import desktop
from helpers.migration import entry, payload_bytes
from helpers.migration import uri as migration_uri
from helpers.processes import hwotp_script
from helpers.samples import FIXED_TIME, PASSPHRASE, RAW_SECRET, SECRET, SECRET_B, totp
from hwotp.errors import ExitCode

GITHUB = f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
GITLAB = f"otpauth://totp/GitLab:bob?secret={SECRET_B}&issuer=GitLab"
EXPORTED = b32encode(RAW_SECRET).decode()  # the secret of every export entry()

needs_x = pytest.mark.skipif(
    not (desktop.have("Xvfb", "xclip") and desktop.has_tk()),
    reason="Xvfb, xclip and python3-tk are installed by scripts/setup.sh",
)
needs_sway = pytest.mark.skipif(
    not desktop.have("sway", "swaybg", "grim", "wl-copy", "wl-paste", "setpriv"),
    reason="sway, grim and wl-clipboard are installed by scripts/setup.sh",
)

# Loaded into the hwotp process (PYTHONPATH): a fixed clock, and an audit hook that reports
# every file opened for writing and every folder or link made, through an inherited pipe.
HOOK = """\
import os, sys
if os.environ.get("HWOTP_TEST_TIME"):
    import hwotp.cli.app
    hwotp.cli.app.clock = lambda: float(os.environ["HWOTP_TEST_TIME"])
if os.environ.get("HWOTP_TEST_WRITES_FD"):
    import atexit
    _fd = int(os.environ["HWOTP_TEST_WRITES_FD"])
    _writes = []
    _MASK = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    def _hook(event, args):
        if event == "open":
            path, mode, flags = args
            if (mode and any(c in mode for c in "wax+")) or ((flags or 0) & _MASK):
                _writes.append(f"open {path}")
        elif event == "os.truncate" and isinstance(args[0], int):
            target = os.readlink(f"/proc/self/fd/{args[0]}")
            if not target.startswith("/memfd:"):  # mss's XShm buffer lives in memory
                _writes.append(f"os.truncate {target}")
        elif event in ("os.mkdir", "os.rename", "os.link", "os.symlink", "os.truncate",
                       "shutil.copyfile", "shutil.move", "tempfile.mkstemp", "tempfile.mkdtemp"):
            _writes.append(f"{event} {args[0]}")
    sys.addaudithook(_hook)
    atexit.register(lambda: os.write(_fd, "".join(w + "\\n" for w in _writes).encode()))
"""


class Desk:
    """Runs `hwotp` in a desktop session's environment, with a throwaway vault and home, and
    records what it wrote."""

    def __init__(self, folder: Path, session: dict[str, str]) -> None:
        self.folder = folder
        hook = folder / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(HOOK)
        self.home = folder / "home"
        self.temp = folder / "temp"
        self.home.mkdir()
        self.temp.mkdir()
        self.vault = folder / "vault.hwotp"
        base = {k: v for k, v in session.items() if not k.startswith("HWOTP_")}
        self.env = {**base, "PYTHONPATH": str(hook), "PYTHONDONTWRITEBYTECODE": "1",
                    "HOME": str(self.home), "TMPDIR": str(self.temp),
                    "HWOTP_VAULT": str(self.vault), "HWOTP_PASSPHRASE": PASSPHRASE,
                    "HWOTP_CACHE_DIR": str(folder / "cache"), "HWOTP_TEST_TIME": repr(FIXED_TIME)}
        self.writes: list[str] = []

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        read_end, write_end = os.pipe()
        try:
            done = subprocess.run([hwotp_script(), *args], capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=120, pass_fds=[write_end],
                                  env={**self.env, "HWOTP_TEST_WRITES_FD": str(write_end), **env})
        finally:
            os.close(write_end)
        with os.fdopen(read_end) as reported:
            self.writes = [line for line in reported.read().splitlines()
                           if line != f"open {os.devnull}"]  # subprocess's DEVNULL
        return done

    def enrolled(self, *args: str) -> list[dict[str, object]]:
        """The credentials of a dry run's JSON, after checking nothing was written anywhere."""
        done = self.run("enroll", *args, "--dry-run", "--json")
        assert done.returncode == 0, done.stderr
        self.assert_nothing_written()
        return json.loads(done.stdout)["credentials"]

    def assert_nothing_written(self) -> None:
        assert self.writes == []
        assert list(self.home.iterdir()) == [] and list(self.temp.iterdir()) == []
        assert not self.vault.exists()


def fails(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The one `hwotp:` sentence of a failure with exit code `code`."""
    assert done.returncode == code, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("hwotp: ")
    return last.removeprefix("hwotp: ")


def png(folder: Path, text: str, name: str, module: float = 4) -> Path:
    path = folder / name
    qrimages.qr_image(text, module).save(path)
    return path


def export_part(index: int, size: int, account: str) -> str:
    """Part `index` of a Google Authenticator export split over `size` QR codes."""
    data = payload_bytes([entry(name=account)], version=1, batch_size=size, batch_index=index,
                         batch_id=4242)
    return migration_uri(data)


def names(credentials: list[dict[str, object]]) -> list[object]:
    return [credential["name"] for credential in credentials]


# --- X11: the screen ---------------------------------------------------------------------------


@pytest.fixture
def x_desk(tmp_path: Path):
    with desktop.xvfb() as display:
        yield display, Desk(tmp_path, desktop.x_env(display))


@needs_x
def test_screen_finds_the_code_a_window_shows_and_enrols_it(x_desk, tmp_path: Path,
                                                            no_pcscd) -> None:
    display, desk = x_desk
    with desktop.windows(display, (png(tmp_path, GITHUB, "github.png"), 700, 300)):
        (credential,) = desk.enrolled("--screen")
        assert (credential["name"], credential["code"]) == ("GitHub:alice", totp())
        stored = desk.run("enroll", "--screen", "--in-vault")
    assert stored.returncode == 0, stored.stderr
    assert "Found 1 credential in the screen capture:" in stored.stderr
    assert stored.stdout.startswith(f"GitHub:alice  {totp()}")
    listed = desk.run("code", "github")
    assert listed.stdout == f"GitHub:alice  {totp()}  (30 s left)\n"
    assert SECRET not in stored.stdout + stored.stderr


@needs_x
def test_screen_gathers_the_parts_of_a_split_export_from_two_windows(x_desk,
                                                                     tmp_path: Path) -> None:
    display, desk = x_desk
    first = png(tmp_path, export_part(0, 2, "carol"), "part1.png", 3)
    second = png(tmp_path, export_part(1, 2, "dave"), "part2.png", 3)
    with desktop.windows(display, (first, 100, 200), (second, 1100, 200)):
        done = desk.run("enroll", "--screen", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert names(result["credentials"]) == ["GitHub:carol", "GitHub:dave"]
    assert result["warnings"] == []  # both parts of the batch are there: no "batch 1 of 2"
    assert {c["code"] for c in result["credentials"]} == {totp(EXPORTED)}


@needs_x
def test_screen_with_one_part_of_three_missing_names_it(x_desk, tmp_path: Path) -> None:
    display, desk = x_desk
    first = png(tmp_path, export_part(0, 3, "carol"), "part1.png", 3)
    third = png(tmp_path, export_part(2, 3, "erin"), "part3.png", 3)
    with desktop.windows(display, (first, 100, 200), (third, 1100, 200)):
        done = desk.run("enroll", "--screen", "--in-vault")
    assert fails(done, ExitCode.BAD_INPUT).startswith(
        "part 2 of 3 of a Google Authenticator export is missing")
    assert not desk.vault.exists()


@needs_x
def test_screen_without_a_code_is_one_sentence(x_desk, tmp_path: Path) -> None:
    display, desk = x_desk
    blank = tmp_path / "page.png"
    qrimages.make_case("nocode", 0).image.convert("RGB").save(blank)
    with desktop.windows(display, (blank, 0, 0)):
        done = desk.run("enroll", "--screen")
    assert fails(done, ExitCode.BAD_INPUT) == (
        "no QR code found on the screen: show the whole code, uncovered and not too small, on a "
        "screen of this session; or paste the setup key with --secret - instead")
    desk.assert_nothing_written()


@needs_x
def test_a_web_address_on_the_screen_is_refused_without_repeating_it(x_desk,
                                                                     tmp_path: Path) -> None:
    display, desk = x_desk
    address = "https://example.com/setup?token=s3cr3t-t0ken"
    with desktop.windows(display, (png(tmp_path, address, "web.png"), 500, 500)):
        done = desk.run("enroll", "--screen")
    assert fails(done, ExitCode.BAD_INPUT) == (
        "found a QR code, but it holds a web address, not an authenticator secret")
    assert "s3cr3t" not in done.stderr


@needs_x
@pytest.mark.parametrize("source", ["--screen", "--clipboard"])
def test_no_display_is_one_sentence_and_its_own_exit_code(tmp_path: Path, source: str) -> None:
    session = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = Desk(tmp_path, session).run("enroll", source)
    what = "screen to capture" if source == "--screen" else "clipboard to read"
    assert fails(done, ExitCode.DESKTOP_UNAVAILABLE).startswith(
        f"there is no {what}: neither WAYLAND_DISPLAY nor DISPLAY is set (run hwotp in your "
        "desktop session)")


@needs_x
def test_a_display_that_is_not_there_is_one_sentence(tmp_path: Path) -> None:
    with desktop.xvfb() as display:
        pass  # ended: its number is free again
    done = Desk(tmp_path, desktop.x_env(display)).run("enroll", "--screen")
    assert fails(done, ExitCode.DESKTOP_UNAVAILABLE).startswith(
        f"the X display {display} cannot be captured (is it running, and open to this user?)")


@needs_x
def test_screen_refuses_setup_key_options_and_a_second_source(x_desk) -> None:
    _display, desk = x_desk
    assert fails(desk.run("enroll", "--screen", "--digits", "8"), ExitCode.USAGE) == (
        "--digits goes with --secret only; the screen sets it; see 'hwotp enroll --help'")
    for other in (["--clipboard"], ["--uri", GITHUB], ["--qr", "shot.png"]):
        done = desk.run("enroll", "--screen", *other)
        assert fails(done, ExitCode.USAGE) == (
            "give exactly one of --secret, --screen, --clipboard, or --qr and --uri (each once "
            "or more, together too); "
            "see 'hwotp enroll --help'")
        assert SECRET not in done.stderr


# --- X11: the clipboard ------------------------------------------------------------------------


@needs_x
def test_clipboard_image_is_read_from_xclip_and_enrolled(x_desk, tmp_path: Path) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, png(tmp_path, GITLAB, "gitlab.png").read_bytes(), "image/png")
    (credential,) = desk.enrolled("--clipboard")
    assert (credential["name"], credential["code"]) == ("GitLab:bob", totp(SECRET_B))


@needs_x
def test_clipboard_text_uris_are_enrolled_one_a_line(x_desk) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, f"{GITHUB}\n\n{GITLAB}\n".encode(), "UTF8_STRING")
    credentials = desk.enrolled("--clipboard")
    assert names(credentials) == ["GitHub:alice", "GitLab:bob"]
    assert [c["code"] for c in credentials] == [totp(SECRET), totp(SECRET_B)]


@needs_x
def test_clipboard_lines_that_are_no_credential_are_skipped_with_a_warning(x_desk) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, f"Your codes:\n{GITHUB}\n".encode(), "UTF8_STRING")
    done = desk.run("enroll", "--clipboard", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert names(result["credentials"]) == ["GitHub:alice"]
    assert result["warnings"] == [
        "skipped: a line of the clipboard holds plain text, not an authenticator secret"]


@needs_x
def test_clipboard_text_export_link_is_enrolled(x_desk) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, export_part(0, 1, "frank").encode(), "UTF8_STRING")
    (credential,) = desk.enrolled("--clipboard")
    assert (credential["name"], credential["code"]) == ("GitHub:frank", totp(EXPORTED))


@needs_x
@pytest.mark.parametrize(
    ("held", "sentence"),
    [
        ("https://example.com/login?session=s3cr3t",
         "the clipboard holds a web address, not an authenticator secret or a QR code's image"),
        ("Dear s3cr3t, here is your code", "the clipboard holds plain text, not an "
         "authenticator secret or a QR code's image"),
        (SECRET, "the clipboard holds what looks like a setup key, without the account it "
         "belongs to; or paste the setup key with --secret - instead"),
    ],
)
def test_clipboard_text_that_is_no_credential_is_one_sentence_that_never_repeats_it(
    x_desk, held: str, sentence: str
) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, held.encode(), "UTF8_STRING")
    done = desk.run("enroll", "--clipboard")
    assert fails(done, ExitCode.BAD_INPUT) == sentence
    assert "s3cr3t" not in done.stderr and SECRET not in done.stderr


@needs_x
def test_an_empty_clipboard_and_an_image_without_a_code_are_one_sentence(
    x_desk, tmp_path: Path
) -> None:
    display, desk = x_desk
    assert fails(desk.run("enroll", "--clipboard"), ExitCode.BAD_INPUT) == (
        "the clipboard is empty")
    blank = tmp_path / "blank.png"
    qrimages.make_case("nocode", 0).image.convert("RGB").save(blank)
    desktop.x_clipboard(display, blank.read_bytes(), "image/png")
    assert fails(desk.run("enroll", "--clipboard"), ExitCode.BAD_INPUT).startswith(
        "no QR code found in the clipboard's image")


@needs_x
def test_clipboard_text_longer_than_any_list_of_uris_is_refused_unread(x_desk) -> None:
    display, desk = x_desk
    desktop.x_clipboard(display, (GITHUB + "\n").encode() * 4000, "UTF8_STRING")  # 360 KB
    assert fails(desk.run("enroll", "--clipboard"), ExitCode.BAD_INPUT) == (
        "the clipboard holds more text than hwotp reads (256 KiB); copy only the QR code or "
        "the URIs")


@needs_x
def test_clipboard_without_xclip_names_what_to_install(x_desk, tmp_path: Path) -> None:
    _display, desk = x_desk
    empty = tmp_path / "no-tools"
    empty.mkdir()
    done = desk.run("enroll", "--clipboard", PATH=str(empty))
    assert fails(done, ExitCode.DESKTOP_UNAVAILABLE) == (
        "reading the clipboard needs xclip (apt install xclip)")


# --- Wayland: grim and wl-clipboard on a headless sway -----------------------------------------


@pytest.fixture
def wayland_desk(tmp_path: Path):
    with desktop.sway() as session:
        yield session, Desk(tmp_path, session)


@needs_sway
def test_wayland_screen_is_captured_through_grims_pipe(wayland_desk, tmp_path: Path) -> None:
    session, desk = wayland_desk
    with desktop.wayland_background(session, png(tmp_path, GITHUB, "github.png")):
        (credential,) = desk.enrolled("--screen")
    assert (credential["name"], credential["code"]) == ("GitHub:alice", totp())


@needs_sway
def test_wayland_clipboard_image_and_text(wayland_desk, tmp_path: Path) -> None:
    session, desk = wayland_desk
    image = png(tmp_path, GITLAB, "gitlab.png").read_bytes()
    subprocess.run(["wl-copy", "--type", "image/png"], input=image, env=session, check=True,
                   timeout=10)
    (credential,) = desk.enrolled("--clipboard")
    assert (credential["name"], credential["code"]) == ("GitLab:bob", totp(SECRET_B))
    subprocess.run(["wl-copy"], input=GITHUB.encode(), env=session, check=True, timeout=10)
    (credential,) = desk.enrolled("--clipboard")
    assert (credential["name"], credential["code"]) == ("GitHub:alice", totp())
    subprocess.run(["wl-copy", "--clear"], env=session, check=True, timeout=10)
    assert fails(desk.run("enroll", "--clipboard"), ExitCode.BAD_INPUT) == (
        "the clipboard is empty")


@needs_sway
def test_wayland_without_grim_names_what_to_install_and_never_falls_back_to_x11(
    wayland_desk, tmp_path: Path
) -> None:
    _session, desk = wayland_desk
    empty = tmp_path / "no-tools"
    empty.mkdir()
    done = desk.run("enroll", "--screen", PATH=str(empty), DISPLAY=":0")
    assert fails(done, ExitCode.DESKTOP_UNAVAILABLE) == (
        "capturing a Wayland screen needs grim (apt install grim; it works on wlroots desktops "
        "such as sway, Hyprland or river); GNOME and KDE only save screenshots to files; or copy "
        "a screenshot to the clipboard and use --clipboard, or save it and use --qr FILE")
    assert fails(desk.run("enroll", "--clipboard", PATH=str(empty)),
                 ExitCode.DESKTOP_UNAVAILABLE) == (
        "reading the clipboard needs wl-paste (apt install wl-clipboard)")


# --- Wayland: `code --copy` puts the code on the clipboard and clears it (issue 11) -------------


@needs_sway
def test_wayland_copy_clears_the_clipboard_later_if_it_still_holds_the_code(
    wayland_desk, tmp_path: Path
) -> None:
    import time

    session, desk = wayland_desk
    config = tmp_path / "clear.toml"
    config.write_text("clipboard_clear = 2\nkeys = false\n")
    desk.env["HWOTP_CONFIG"] = str(config)
    assert desk.run("enroll", "--uri", GITHUB).returncode == 0

    def held() -> str:
        return subprocess.run(["wl-paste", "--no-newline"], env=session, capture_output=True,
                              text=True, timeout=10).stdout

    copied = desk.run("code", "github", "--copy")
    assert copied.returncode == 0, copied.stderr
    assert "Copied the code to the clipboard (wl-copy); it is cleared in 2 s" in copied.stderr
    assert held() == totp()
    time.sleep(3.5)
    assert held() == ""
    # Something else copied meanwhile is left alone.
    assert desk.run("code", "github", "--copy").returncode == 0
    subprocess.run(["wl-copy", "mine"], env=session, check=True, timeout=10)
    time.sleep(3.5)
    assert held() == "mine"


@pytest.mark.skipif(not desktop.have("weston", "grim"), reason="weston and grim: apt")
def test_a_wayland_desktop_grim_cannot_capture_says_why(tmp_path: Path) -> None:
    with desktop.weston() as session:
        done = Desk(tmp_path, session).run("enroll", "--screen")
    assert fails(done, ExitCode.DESKTOP_UNAVAILABLE) == (
        "grim could not capture this Wayland screen (compositor doesn't support "
        "wlr-screencopy-unstable-v1); or copy a screenshot to the clipboard and use "
        "--clipboard, or save it and use --qr FILE")
