"""Daily use (issue 11): codes never stale and with the next one when close, keys never
waiting on the vault, queries as people type them, output that reads at a glance.

The installed script runs at a real pseudo-terminal (pexpect) or without one (subprocess);
where a test needs a fixed time it points `hwotp.cli.app.clock` at a file the test writes,
through a sitecustomize module that only the test's processes load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pyotp
import pytest

from helpers.keys import ONE, TWO, put
from helpers.processes import CLOCK_HOOK
from helpers.samples import FIXED_TIME, PASSPHRASE
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECRET_B = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
GITHUB = f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
BANK = f"otpauth://totp/Bank:bob?secret={SECRET_B}&issuer=Bank"
HOTP_URI = f"otpauth://hotp/Counter:carol?secret={SECRET}&issuer=Counter&counter=5"
HWOTP = str(Path(sys.executable).with_name("hwotp"))

def totp(secret: str = SECRET, at: float = FIXED_TIME) -> str:
    return pyotp.TOTP(secret).at(at)


@pytest.fixture(autouse=True)
def no_passphrase_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HWOTP_PASSPHRASE", raising=False)


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    return tmp_path / "clock"


@pytest.fixture
def script_env(tmp_path: Path, vault_path: Path, clock_file: Path) -> dict[str, str]:
    """The environment of the installed script: the test's vault, cache and clock."""
    hook = tmp_path / "clock-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CLOCK_HOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    return {
        **env,
        "HWOTP_VAULT": str(vault_path),
        "HWOTP_CACHE_DIR": os.environ["HWOTP_CACHE_DIR"],
        "HWOTP_TEST_CLOCK_FILE": str(clock_file),
        "PYTHONPATH": str(hook),
    }


def set_clock(clock_file: Path, moment: float) -> None:
    clock_file.write_text(repr(moment))


def run(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HWOTP, *args], env={**env, **extra}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(HWOTP, list(args), env=env, encoding="utf-8", timeout=60)


def finish(child: pexpect.spawn) -> tuple[str, int]:
    rest = child.read()
    child.close()
    return rest, child.exitstatus


# --- item 1: never stale, the next code when close ---------------------------------------------


def test_a_prompt_held_over_a_period_gives_the_code_of_when_it_was_answered(
    script_env: dict[str, str], clock_file: Path
) -> None:
    set_clock(clock_file, FIXED_TIME)
    assert run(script_env, "enroll", "--uri", GITHUB, HWOTP_PASSPHRASE=PASSPHRASE).returncode == 0
    asked = FIXED_TIME + 28  # 2 s left in the period when the prompt appears
    set_clock(clock_file, asked)
    child = spawn(script_env, "code")
    child.expect("Vault passphrase: ")
    answered = asked + 35  # the person comes back 35 s later: a period and more has passed
    set_clock(clock_file, answered)
    child.sendline(PASSPHRASE)
    rest, status = finish(child)
    assert status == 0, rest
    assert f"GitHub:alice  {totp(at=answered)}  (27 s left)" in rest
    assert totp(at=asked) not in rest


def test_json_never_shows_a_code_already_expired(
    script_env: dict[str, str], clock_file: Path
) -> None:
    set_clock(clock_file, FIXED_TIME)
    run(script_env, "enroll", "--uri", GITHUB, HWOTP_PASSPHRASE=PASSPHRASE)
    set_clock(clock_file, FIXED_TIME + 29)
    child = spawn(script_env, "code", "github", "--json")
    child.expect("Vault passphrase: ")
    set_clock(clock_file, FIXED_TIME + 61)
    child.sendline(PASSPHRASE)
    rest, status = finish(child)
    assert status == 0, rest
    (item,) = json.loads(rest[rest.index("["):])
    assert item["valid_until"] > FIXED_TIME + 61
    assert (item["code"], item["valid_until"]) == (totp(at=FIXED_TIME + 61), FIXED_TIME + 90)


def test_a_code_about_to_expire_comes_with_the_next_one(hwotp, monkeypatch) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", HOTP_URI)
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME + 27)  # 3 s left
    text = hwotp("code")
    assert text.exit_code == 0, text.stderr
    assert text.stdout == (
        f"GitHub:alice  {totp(at=FIXED_TIME)}  (3 s left; next {totp(at=FIXED_TIME + 30)} in 3 s)\n"
    )
    (item,) = json.loads(hwotp("code", "github", "--json").stdout)
    assert item["next"] == {"code": totp(at=FIXED_TIME + 30), "valid_from": FIXED_TIME + 30,
                            "valid_until": FIXED_TIME + 60}
    assert item["seconds_left"] == 3
    assert "next" not in hwotp("code", "--next-within", "3").stdout  # 3 s left is not < 3
    assert "next" in hwotp("code", "--next-within", "3.5").stdout
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME + 20)
    assert "next" not in hwotp("code").stdout  # 10 s left


def test_a_code_that_expired_while_the_key_waited_for_a_touch_is_asked_for_again(
    plug_keys, hwotp, monkeypatch
) -> None:
    rig = plug_keys(KeyConfig(serial=ONE, touch="auto", touch_delay=0.1))
    put(rig.keys[0], "alice", "Mail", touch=True)
    readings = iter([FIXED_TIME + 29, FIXED_TIME + 31])  # the touch took past the period's end
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: next(readings, FIXED_TIME + 32))
    result = hwotp("code", "mail", "--no-vault")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(f"Touch your YubiKey {ONE} for Mail:alice") == 2
    assert result.stdout == f"Mail:alice  {totp(at=FIXED_TIME + 31)}  (28 s left)\n"


def test_hotp_json_has_no_period_and_no_expiry(hwotp) -> None:
    hwotp("enroll", "--uri", HOTP_URI)
    (item,) = json.loads(hwotp("code", "counter", "--json").stdout)
    assert item["code"] == pyotp.HOTP(SECRET).at(6)
    assert not {"period", "valid_until", "seconds_left", "next"} & set(item)
    (listed,) = json.loads(hwotp("list", "--json").stdout)
    assert "period" not in listed and listed["kind"] == "hotp"


def test_enrolment_never_offers_a_code_that_expires_before_it_is_typed(
    hwotp, monkeypatch
) -> None:
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME + 24)  # 6 s left
    result = hwotp("enroll", "--uri", GITHUB)
    assert result.exit_code == 0, result.stderr
    following = totp(at=FIXED_TIME + 30)
    assert f"type the next one, {following}, into the site from " in result.stderr
    assert "(in 6 s)" in result.stderr
    assert "Type this code" not in result.stderr
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME + 15)
    relaxed = hwotp("enroll", "--uri", BANK)
    assert "Type this code into the site" in relaxed.stderr
    assert f"Bank:bob  {totp(SECRET_B, at=FIXED_TIME + 15)}  (15 s left)" in relaxed.stdout


# --- item 2: keys never wait on the vault ------------------------------------------------------


@pytest.fixture
def key_and_vault(plug_keys, script_env: dict[str, str], clock_file: Path) -> dict[str, str]:
    """A key holding GitHub:alice (no touch) and a vault holding Bank:bob."""
    plug_keys(KeyConfig(serial=ONE))
    set_clock(clock_file, FIXED_TIME)
    on_key = run(script_env, "enroll", "--uri", GITHUB, "--no-touch")
    assert on_key.returncode == 0, on_key.stderr
    in_vault = run(script_env, "enroll", "--uri", BANK, "--in-vault",
                   HWOTP_PASSPHRASE=PASSPHRASE)
    assert in_vault.returncode == 0, in_vault.stderr
    return script_env


def test_a_code_on_a_key_never_opens_the_vault(key_and_vault: dict[str, str]) -> None:
    result = run(key_and_vault, "code", "github")  # no terminal, no passphrase
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"GitHub:alice  {totp()}  (30 s left)\n"
    assert "passphrase" not in result.stderr.lower()
    missing = run(key_and_vault, "code", "bank")  # only the vault can answer: that is an error
    assert missing.returncode == ExitCode.CANCELLED
    assert "no vault passphrase" in missing.stderr


def test_without_a_passphrase_the_vault_is_left_out_and_the_keys_stand(
    key_and_vault: dict[str, str],
) -> None:
    for command in ("code", "list"):
        result = run(key_and_vault, command)
        assert result.returncode == 0, result.stderr
        assert "GitHub:alice" in result.stdout and "Bank:bob" not in result.stdout
        assert result.stderr.count("The vault was left out") == 1
    both = run(key_and_vault, "code", HWOTP_PASSPHRASE=PASSPHRASE)
    assert both.stdout == (f"Bank:bob      {totp(SECRET_B)}  (30 s left)\n"
                           f"GitHub:alice  {totp()}  (30 s left)\n")


def test_a_wrong_passphrase_loses_no_key_result(key_and_vault: dict[str, str]) -> None:
    for command in ("code", "list"):
        result = run(key_and_vault, command, HWOTP_PASSPHRASE="not it")
        assert result.returncode == ExitCode.WRONG_PASSPHRASE
        assert "GitHub:alice" in result.stdout
        assert result.stderr.splitlines()[-1].startswith("hwotp: wrong passphrase")


def test_at_a_terminal_the_keys_codes_come_before_the_vault_prompt(
    key_and_vault: dict[str, str],
) -> None:
    child = spawn(key_and_vault, "code")
    child.expect("Vault passphrase: ")
    assert f"GitHub:alice  {totp()}  (30 s left)" in child.before
    child.sendline("wrong")
    rest, status = finish(child)
    assert status == ExitCode.WRONG_PASSPHRASE
    child = spawn(key_and_vault, "code")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    rest, status = finish(child)
    assert status == 0
    assert f"Bank:bob  {totp(SECRET_B)}  (30 s left)" in rest


def test_list_names_every_place_of_a_credential_on_one_line(
    plug_keys, script_env: dict[str, str], clock_file: Path
) -> None:
    plug_keys(KeyConfig(serial=ONE))
    set_clock(clock_file, FIXED_TIME)
    env = {**script_env, "HWOTP_PASSPHRASE": PASSPHRASE}
    assert run(env, "enroll", "--uri", GITHUB, "--no-touch", "--also-vault").returncode == 0
    assert run(env, "enroll", "--uri", BANK, "--in-vault").returncode == 0
    listing = run(env, "list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines() == [
        "Bank:bob      TOTP, SHA1, 6 digits, every 30 s  vault",
        f"GitHub:alice  TOTP, SHA1, 6 digits, every 30 s  YubiKey {ONE}, vault",
    ]


# --- item 5: queries ---------------------------------------------------------------------------


def test_a_slip_gets_did_you_mean(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", BANK)
    for slip in ("gthub", "gihtub"):  # letters in order; one swap
        result = hwotp("code", slip)
        assert result.exit_code == ExitCode.NOT_FOUND
        assert result.stderr.rstrip().endswith("did you mean GitHub:alice?")
    assert "did you mean" not in hwotp("code", "zzzzzz").stderr


def test_at_a_terminal_a_slip_offers_a_numbered_pick(script_env: dict[str, str],
                                                      clock_file: Path) -> None:
    set_clock(clock_file, FIXED_TIME)
    env = {**script_env, "HWOTP_PASSPHRASE": PASSPHRASE}
    run(env, "enroll", "--uri", GITHUB)
    run(env, "enroll", "--uri", "otpauth://totp/GitLab:alice?secret=" + SECRET_B)
    child = spawn(env, "code", "gtlab")
    child.expect(r"1\. GitLab:alice")
    child.expect(r"Pick a number \(Enter for none\): ")
    child.sendline("1")
    rest, status = finish(child)
    assert status == 0, rest
    assert f"GitLab:alice  {totp(SECRET_B)}  (30 s left)" in rest
    child = spawn(env, "delete", "gthub")
    child.expect(r"Pick a number \(Enter for none\): ")
    child.sendline("")
    rest, status = finish(child)
    assert status == ExitCode.NOT_FOUND
    assert "did you mean GitHub:alice?" in rest


# --- item 4: the config file -------------------------------------------------------------------


def test_config_path_follows_hwotp_config(tmp_path: Path, script_env: dict[str, str]) -> None:
    chosen = tmp_path / "elsewhere.toml"
    result = run(script_env, "config", "path", HWOTP_CONFIG=str(chosen))
    assert result.stdout == f"{chosen}\n"
    default = run({k: v for k, v in script_env.items() if k != "HWOTP_CONFIG"}, "config", "path",
                  XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    assert default.stdout == f"{tmp_path / 'xdg' / 'hwotp' / 'config.toml'}\n"


def test_the_default_vault_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from hwotp.cli.config import default_vault_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_vault_path() == tmp_path / "hwotp" / "vault.hwotp"


def test_config_sets_defaults_and_options_override_them(
    tmp_path: Path, script_env: dict[str, str], clock_file: Path
) -> None:
    set_clock(clock_file, FIXED_TIME + 27)
    configured_vault = tmp_path / "configured.hwotp"
    config = tmp_path / "config.toml"
    config.write_text(f'vault = "{configured_vault}"\nnext_within = 2\nkeys = false\n')
    env = {**script_env, "HWOTP_CONFIG": str(config), "HWOTP_PASSPHRASE": PASSPHRASE}
    del env["HWOTP_VAULT"]
    enrolled = run(env, "enroll", "--uri", GITHUB)
    assert enrolled.returncode == 0, enrolled.stderr
    assert configured_vault.exists()
    assert "pcscd" not in enrolled.stderr and "YubiKey" not in enrolled.stderr  # keys = false
    plain = run(env, "code")
    assert plain.stdout == f"GitHub:alice  {totp(at=FIXED_TIME + 27)}  (3 s left)\n"  # 3 >= 2
    assert plain.stderr == ""
    assert "next" in run(env, "code", "--next-within", "4").stdout  # the option wins
    other = run(env, "--vault", str(tmp_path / "other.hwotp"), "list")
    assert other.stdout == ""  # --vault wins over the config's
    shown = run(env, "config", "show")
    assert f'vault = "{configured_vault}"' in shown.stdout and "next_within = 2" in shown.stdout


@pytest.mark.parametrize(("text", "says"), [
    ("next_within = 'soon'", "sets next_within to something other than a number of seconds"),
    ("colour = true", "has an unknown setting: colour"),
    ("vault = ", "is not valid TOML"),
    ("device = true", "sets device to something other than a key's serial number"),
])
def test_a_config_file_that_cannot_be_used_is_one_sentence(
    tmp_path: Path, script_env: dict[str, str], text: str, says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text + "\n")
    result = run(script_env, "code", HWOTP_CONFIG=str(config))
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"hwotp: the config file {config} ")
    assert says in result.stderr and len(result.stderr.splitlines()) == 1
    assert run(script_env, "config", "path", HWOTP_CONFIG=str(config)).returncode == 0


def test_the_no_key_note_comes_once_per_situation(hwotp, tmp_path: Path) -> None:
    """No pcscd in this test: the note comes on the first command only, and never when quiet."""
    first = hwotp("code")
    assert "using the vault only" in first.stderr
    assert "using the vault only" not in hwotp("code").stderr
    assert "using the vault only" not in hwotp("list").stderr
    quiet = tmp_path / "quiet.toml"
    quiet.write_text("quiet = true\n")
    fresh = {"HWOTP_CONFIG": str(quiet), "HWOTP_CACHE_DIR": str(tmp_path / "fresh-cache")}
    assert hwotp("code", env=fresh).stderr == "No credentials stored yet.\n"


# --- item 3: unlock once -----------------------------------------------------------------------

needs_keyring = pytest.mark.skipif(
    not __import__("hwotp.vault.kernelkeys", fromlist=["supported"]).supported(),
    reason="no Linux kernel keyring here",
)


@pytest.fixture
def unlocked_env(script_env: dict[str, str], clock_file: Path, vault_path: Path):
    set_clock(clock_file, FIXED_TIME)
    assert run(script_env, "enroll", "--uri", GITHUB, HWOTP_PASSPHRASE=PASSPHRASE).returncode == 0
    yield script_env
    run(script_env, "lock")  # never leave a test's key in the keyring


@needs_keyring
def test_unlock_keeps_the_vault_open_until_its_time_is_up(unlocked_env: dict[str, str],
                                                          vault_path: Path) -> None:
    import time

    from hwotp.vault import kernelkeys

    unlocked = run(unlocked_env, "unlock", "--for", "3s", HWOTP_PASSPHRASE=PASSPHRASE)
    assert unlocked.returncode == 0, unlocked.stderr
    assert "stays unlocked for 3 s" in unlocked.stderr
    started = time.monotonic()
    held = kernelkeys.held(vault_path)
    assert held is not None and PASSPHRASE.encode() not in held  # the key, not the passphrase
    opened = run(unlocked_env, "code")  # no terminal, no passphrase: the held key opens it
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == f"GitHub:alice  {totp()}  (30 s left)\n"
    time.sleep(max(0.0, 3.5 - (time.monotonic() - started)))
    expired = run(unlocked_env, "code")
    assert expired.returncode == ExitCode.CANCELLED  # no key, and now no way into the vault
    assert "no vault passphrase" in expired.stderr
    assert kernelkeys.held(vault_path) is None


@needs_keyring
def test_lock_forgets_at_once_and_a_stale_key_falls_back_to_the_passphrase(
    unlocked_env: dict[str, str], vault_path: Path
) -> None:
    assert run(unlocked_env, "unlock", HWOTP_PASSPHRASE=PASSPHRASE).returncode == 0
    assert run(unlocked_env, "list").stdout.startswith("GitHub:alice")
    locked = run(unlocked_env, "lock")
    assert (locked.returncode, locked.stderr) == (0, f"Locked the vault at {vault_path}.\n")
    assert run(unlocked_env, "list").returncode == ExitCode.CANCELLED
    assert "was not unlocked" in run(unlocked_env, "lock").stderr
    # A new passphrase brings a new master key: the held one no longer opens the vault.
    assert run(unlocked_env, "unlock", HWOTP_PASSPHRASE=PASSPHRASE).returncode == 0
    unproven = run(unlocked_env, "vault", "passphrase", HWOTP_NEW_PASSPHRASE="x y z w")
    assert unproven.returncode == ExitCode.CANCELLED  # changing it needs the current one
    changed = run(unlocked_env, "vault", "passphrase", HWOTP_PASSPHRASE=PASSPHRASE,
                  HWOTP_NEW_PASSPHRASE="another passphrase")
    assert changed.returncode == 0, changed.stderr
    assert run(unlocked_env, "code").returncode == ExitCode.CANCELLED  # asks again
    again = run(unlocked_env, "code", HWOTP_PASSPHRASE="another passphrase")
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("duration", ["0", "forever", "8d", "-5m", ""])
def test_unlock_refuses_a_duration_it_cannot_use(unlocked_env: dict[str, str],
                                                 duration: str) -> None:
    result = run(unlocked_env, "unlock", "--for", duration, HWOTP_PASSPHRASE=PASSPHRASE)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("hwotp: --for: give a duration")


# --- item 7: the clipboard, for real on a virtual X display --------------------------------------

needs_x = pytest.mark.skipif(
    not (__import__("shutil").which("Xvfb") and __import__("shutil").which("xclip")),
    reason="Xvfb and xclip are installed by scripts/setup.sh",
)


@pytest.fixture
def x_display():
    """A private Xvfb; its display number chosen by the server itself (-displayfd)."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp"],
                              pass_fds=[write_end], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def clipboard(display: str) -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                          text=True, env={**os.environ, "DISPLAY": display}, timeout=10).stdout


def clearers() -> list[tuple[bytes, bytes]]:
    """The command line and environment of every clipboard clearer running now."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            if b"hwotp.cli.clipboard" in command:
                found.append((command, (entry / "environ").read_bytes()))
        except OSError:
            continue
    return found


@needs_x
def test_copy_clears_the_clipboard_later_if_it_still_holds_the_code(
    tmp_path: Path, script_env: dict[str, str], clock_file: Path, x_display: str
) -> None:
    import time

    config = tmp_path / "clear.toml"
    config.write_text("clipboard_clear = 2\nkeys = false\n")
    env = {**script_env, "DISPLAY": x_display, "HWOTP_CONFIG": str(config),
           "HWOTP_PASSPHRASE": PASSPHRASE}
    env.pop("WAYLAND_DISPLAY", None)
    set_clock(clock_file, FIXED_TIME)
    assert run(env, "enroll", "--uri", GITHUB).returncode == 0
    copied = run(env, "code", "github", "--copy")
    assert copied.returncode == 0, copied.stderr
    assert "Copied the code to the clipboard (xclip); it is cleared in 2 s" in copied.stderr
    assert clipboard(x_display) == totp()
    running = clearers()
    assert running and all(totp().encode() not in command + environ
                           for command, environ in running)  # given on its stdin only
    time.sleep(3.5)
    assert clipboard(x_display) == ""
    # Something else copied meanwhile is left alone.
    assert run(env, "code", "github", "--copy").returncode == 0
    subprocess.run(["xclip", "-selection", "clipboard"], input="mine", text=True, timeout=10,
                   env={**os.environ, "DISPLAY": x_display}, stdout=subprocess.DEVNULL)
    time.sleep(3.5)
    assert clipboard(x_display) == "mine"


@needs_x
def test_copy_without_a_display_says_so(script_env: dict[str, str], clock_file: Path) -> None:
    env = {k: v for k, v in script_env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["HWOTP_PASSPHRASE"] = PASSPHRASE
    set_clock(clock_file, FIXED_TIME)
    assert run(env, "enroll", "--uri", GITHUB).returncode == 0
    result = run(env, "code", "github", "--copy")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"GitHub:alice  {totp()}  (30 s left)\n"
    assert ("No display to copy to (neither WAYLAND_DISPLAY nor DISPLAY is set); the code is "
            "printed only.") in result.stderr


# --- item 8: shell completion ------------------------------------------------------------------


def complete(env: dict[str, str], words: str) -> list[str]:
    """What bash would offer for the last word of `words` (click's bash protocol)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = run(env, _HWOTP_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(cword))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_each_shells_script(script_env: dict[str, str], shell: str) -> None:
    result = run(script_env, "completion", shell)
    assert result.returncode == 0
    assert "_HWOTP_COMPLETE" in result.stdout and f"{shell}_complete" in result.stdout


@needs_keyring
def test_names_complete_from_keys_and_an_unlocked_vault_only(
    key_and_vault: dict[str, str],
) -> None:
    env = key_and_vault
    assert complete(env, "hwotp code ") == ["GitHub:alice"]  # the vault is not unlocked
    assert complete(env, "hwotp delete git") == ["GitHub:alice"]
    assert complete(env, "hwotp code --device ") == [str(ONE)]
    assert run(env, "unlock", "--for", "1m", HWOTP_PASSPHRASE=PASSPHRASE).returncode == 0
    try:
        assert complete(env, "hwotp code ") == ["Bank:bob", "GitHub:alice"]
        assert complete(env, "hwotp rename b") == ["Bank:bob"]
    finally:
        run(env, "lock")


# Runs hwotp's entry point as the console script does, then says, at exit, whether the process
# could have left a core (PR_GET_DUMPABLE is prctl option 3) and its core size's hard limit.
DUMP_PROBE = """
import atexit, ctypes, resource, sys
def probe():
    dumpable = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)
    print(f"dumpable={dumpable} core={resource.getrlimit(resource.RLIMIT_CORE)[1]}")
atexit.register(probe)
sys.argv = ["hwotp"]
from hwotp.__main__ import main
main()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_completion_forbids_core_dumps_before_it_reads_a_vault(script_env) -> None:
    # Completion never runs the `cli` group's callback, where commands forbid core dumps; it
    # may read an unlocked vault's names with the master key the kernel keyring holds.
    env = {**script_env, "_HWOTP_COMPLETE": "bash_complete", "COMP_WORDS": "hwotp code ",
           "COMP_CWORD": "2"}
    result = subprocess.run([sys.executable, "-c", DUMP_PROBE], env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines()[-1] == "dumpable=0 core=0"


def test_without_a_kernel_keyring_unlock_and_lock_say_so(hwotp, monkeypatch) -> None:
    hwotp("enroll", "--uri", GITHUB)
    monkeypatch.setattr("hwotp.vault.kernelkeys.supported", lambda: False)
    for command in ("unlock", "lock"):
        result = hwotp(command)
        assert result.exit_code == ExitCode.NOT_SUPPORTED
        assert result.stderr == (
            "hwotp: keeping the vault unlocked needs the Linux kernel keyring, which this system "
            "does not have; the vault asks for its passphrase each time\n"
        )


def test_the_config_chooses_the_default_key(plug_keys, hwotp, tmp_path: Path) -> None:
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    put(rig.keys[0], "alice", "One")
    put(rig.keys[1], "bob", "Two")
    config = tmp_path / "device.toml"
    config.write_text(f"device = {TWO}\nuse_vault = false\n")
    chosen = hwotp("code", env={"HWOTP_CONFIG": str(config)})
    assert chosen.stdout == f"Two:bob  {totp()}  (30 s left)\n"
    overridden = hwotp("code", "--device", str(ONE), env={"HWOTP_CONFIG": str(config)})
    assert overridden.stdout == f"One:alice  {totp()}  (30 s left)\n"
