"""The daily `hwotp code` parsed without click (hwotp/cli/quick.py, issue 11 item 9): which
lines it takes, that each line it takes gives what click's parser gives (output, notes, exit
status), and that `hwotp code` loads neither click nor dataclasses nor OpenSSL.

The installed script is the quick path; `python -c "...root.main()"` is click's, with the same
environment: a key holding GitHub:alice, a vault (named by the config file, since HWOTP_VAULT
is a root option's variable and leaves the line to click) holding Bank:bob, a fixed clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pyotp
import pytest

from helpers.keys import ONE, put
from helpers.processes import CLOCK_HOOK, hwotp_script
from helpers.samples import FIXED_TIME, PASSPHRASE
from hwotp.cli.quick import CodeLine, parse
from virtualkey.key import KeyConfig

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECRET_B = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
BANK = f"otpauth://totp/Bank:bob?secret={SECRET_B}&issuer=Bank"
CLICK_PATH = "import sys; sys.argv[0] = 'hwotp'; from hwotp.cli.root import main; main()"
PARSERS = {"quick": [hwotp_script()], "click": [sys.executable, "-c", CLICK_PATH]}


@pytest.fixture(autouse=True)
def no_root_option_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HWOTP_VAULT", "HWOTP_SKIP_SECURITY_KEYS", "HWOTP_USE_SECURITY_KEY",
                 "_HWOTP_COMPLETE"):
        monkeypatch.delenv(name, raising=False)


# --- which lines it takes ----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (["code"], CodeLine(None, (), False, False)),
    (["code", "git"], CodeLine("git", (), False, False)),
    (["code", "--json", "git", "--no-vault"], CodeLine("git", (), True, True)),
    (["code", "--device", "123", "--device", "0456"], CodeLine(None, (123, 456), False, False)),
    (["code", ""], CodeLine("", (), False, False)),
])
def test_the_daily_lines_are_taken(args: list[str], line: CodeLine) -> None:
    assert parse(args) == line


@pytest.mark.parametrize("args", [
    [], ["list"], ["--vault", "v", "code"], ["--debug", "code"], ["code", "--help"],
    ["code", "-h"], ["code", "a", "b"], ["code", "--copy", "a"], ["code", "--next-within", "3"],
    ["code", "--device"], ["code", "--device", "-1"], ["code", "--device", "1e3"],
    ["code", "--device", "\u0661\u0662"], ["code", "--device=12"], ["code", "--", "x"],
    ["code", "-x"], ["code", "--reader", "Yubico"], ["code", "--password", "pw"],
    ["Code"], ["code", "--js"], ["code", "--device", "9" * 21], ["code", "--device", "9" * 5000],
])
def test_every_other_line_is_left_to_click(args: list[str]) -> None:
    assert parse(args) is None


@pytest.mark.parametrize("variable", ["HWOTP_VAULT", "HWOTP_SKIP_SECURITY_KEYS",
                                      "HWOTP_USE_SECURITY_KEY", "_HWOTP_COMPLETE"])
def test_a_root_options_variable_leaves_the_line_to_click(
    variable: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, "")  # even empty: click decides what it means
    assert parse(["code"]) is None


# --- the same outcome as click's parser --------------------------------------------------------


def environment(tmp_path: Path) -> dict[str, str]:
    """The installed script's environment: the test's config (naming its vault), cache and
    clock, and nothing of the HWOTP_ variables the tests were started with."""
    hook = tmp_path / "clock-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CLOCK_HOOK)
    (tmp_path / "clock").write_text(repr(FIXED_TIME))
    config = tmp_path / "config.toml"
    config.write_text(f'vault = "{tmp_path / "vault.hwotp"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    env.update(HWOTP_CONFIG=str(config), HWOTP_TEST_CLOCK_FILE=str(tmp_path / "clock"),
               HWOTP_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(hook))
    return env


@pytest.fixture
def key_and_vault(plug_keys, tmp_path: Path) -> dict[str, str]:
    """The environment of both parsers: a key with GitHub:alice, a vault with Bank:bob."""
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "GitHub", secret=SECRET)
    env = environment(tmp_path)
    made = subprocess.run([hwotp_script(), "enroll", "--uri", BANK, "--in-vault"],
                          env={**env, "HWOTP_CACHE_DIR": str(tmp_path / "setup-cache"),
                               "HWOTP_PASSPHRASE": PASSPHRASE},
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return env


LINES = [
    (["code"], {}),  # no passphrase and no terminal: the vault is left out with a note
    (["code"], {"HWOTP_PASSPHRASE": PASSPHRASE}),
    (["code"], {"HWOTP_PASSPHRASE": "not it"}),  # the key's codes, then the error
    (["code", "--json"], {"HWOTP_PASSPHRASE": PASSPHRASE}),
    (["code", "git"], {}),  # on the key: the vault is not opened
    (["code", "bank"], {}),  # only the vault has it, and nobody can open it
    (["code", "bank", "--json"], {"HWOTP_PASSPHRASE": PASSPHRASE}),
    (["code", "gthub"], {"HWOTP_PASSPHRASE": PASSPHRASE}),  # did you mean
    (["code", "--no-vault"], {}),
    (["code", "--device", str(ONE), "--no-vault"], {}),
    (["code", "--device", "99999999"], {}),  # not plugged in
    (["code", "zzzz"], {"HWOTP_PASSPHRASE": PASSPHRASE}),  # nothing like it anywhere
]


def test_each_line_gives_what_clicks_parser_gives(key_and_vault: dict[str, str],
                                                   tmp_path: Path) -> None:
    """Each parser keeps its own cache folder, so notes shown once per situation come alike."""
    outcomes = {}
    for parser, command in PARSERS.items():
        outcomes[parser] = []
        for args, extra in LINES:
            assert parse(args) is not None, args  # the script takes this line itself
            env = {**key_and_vault, "HWOTP_CACHE_DIR": str(tmp_path / f"{parser}-cache"),
                   **extra}
            done = subprocess.run([*command, *args], env=env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=120)
            outcomes[parser].append((args, done.returncode, done.stdout, done.stderr))
    assert outcomes["quick"] == outcomes["click"]
    # The lines did what they say (so "alike" is not "alike and broken"), by their index:
    results = [(status, out, err) for _args, status, out, err in outcomes["quick"]]
    github, bank = pyotp.TOTP(SECRET).at(FIXED_TIME), pyotp.TOTP(SECRET_B).at(FIXED_TIME)
    status, out, err = results[0]
    assert status == 0 and bank not in out and "The vault was left out" in err
    assert results[1][:2] == (0, f"Bank:bob      {bank}  (30 s left)\n"
                                 f"GitHub:alice  {github}  (30 s left)\n"), results[1]
    status, out, err = results[2]
    assert status == 5 and github in out and err.endswith("hwotp: wrong passphrase\n"), err
    assert results[4][:2] == (0, f"GitHub:alice  {github}  (30 s left)\n")
    assert results[5][0] == 8 and "no vault passphrase" in results[5][2]
    assert "did you mean GitHub:alice" in results[7][2]
    status, out, err = results[10]
    assert status != 0 and err.startswith("hwotp: ") and "99999999" in err


@pytest.mark.parametrize("parser", ["quick", "click"])
def test_at_a_terminal_the_keys_codes_come_first_and_ctrl_c_at_the_prompt_interrupts(
    key_and_vault: dict[str, str], tmp_path: Path, parser: str,
) -> None:
    """The quick path loads click only to ask for the passphrase; Ctrl-C there ends the
    command as it does in click's (exit 130, one sentence), after the keys' codes."""
    command = PARSERS[parser]
    env = {**key_and_vault, "HWOTP_CACHE_DIR": str(tmp_path / f"{parser}-cache")}
    github, bank = pyotp.TOTP(SECRET).at(FIXED_TIME), pyotp.TOTP(SECRET_B).at(FIXED_TIME)
    for answer in ("\x03", PASSPHRASE):
        child = pexpect.spawn(command[0], [*command[1:], "code"], env=env, encoding="utf-8",
                              timeout=60)
        child.expect(f"GitHub:alice  {github}")
        child.expect("Vault passphrase: ")
        if answer == "\x03":
            child.sendintr()
        else:
            child.sendline(answer)
        rest = child.read()
        child.close()
        if answer == "\x03":
            assert child.exitstatus == 130 and "hwotp: interrupted" in rest, rest
            assert "Traceback" not in rest and bank not in rest
        else:
            assert child.exitstatus == 0 and f"Bank:bob  {bank}  (30 s left)" in rest, rest


@pytest.mark.parametrize("parser", PARSERS)
def test_ctrl_c_while_a_key_waits_for_a_touch_ends_alike(plug_keys, tmp_path: Path,
                                                          parser: str) -> None:
    """An interrupt in the command (not at click's prompt): click's parser ends the line the
    terminal's `^C` began before its sentence, and so does the quick path."""
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=2))
    put(rig.keys[0], "alice", "Mail", touch=True)
    env = environment(tmp_path)
    child = pexpect.spawn(PARSERS[parser][0], [*PARSERS[parser][1:], "code", "mail"], env=env,
                          encoding="utf-8", timeout=60)
    child.expect(f"Touch your YubiKey {ONE} for Mail:alice\r\n")
    time.sleep(0.5)  # not in the instant before the wait, where CPython loses a SIGINT
    child.sendintr()
    rest = child.read()
    child.close()
    # The key answers when it stops waiting: then the interrupt is taken.
    assert (child.exitstatus, rest) == (130, "^C\r\nhwotp: interrupted\r\n"), rest


def test_with_stderr_closed_notes_stay_off_stdout(tmp_path: Path, no_pcscd: None) -> None:
    """`2>&-`: a note has nowhere to go, and must not land among the results."""
    env = environment(tmp_path)
    outputs = set()
    for command in PARSERS.values():
        done = subprocess.run([*command, "code"], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120,
                              preexec_fn=lambda: os.close(2))
        outputs.add((done.returncode, done.stdout))
    # No key (pcscd is not running) and no vault file: two notes, and nothing to print.
    assert outputs == {(0, "")}


# --- what it loads -----------------------------------------------------------------------------


def imported(env: dict[str, str], *args: str) -> set[str]:
    """The modules `hwotp ARGS` imports (Python's own import log)."""
    done = subprocess.run([hwotp_script(), *args], env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}


def test_the_daily_code_loads_neither_click_nor_dataclasses_nor_openssl(
    key_and_vault: dict[str, str],
) -> None:
    """On a key seen before (a first run asks a new key for its serial through yubikit)."""
    assert subprocess.run([hwotp_script(), "code", "--no-vault"], env=key_and_vault,
                          capture_output=True, timeout=120).returncode == 0
    heavy = {"click", "dataclasses", "inspect", "hashlib", "_hashlib"}
    assert heavy & imported(key_and_vault, "code", "--no-vault") == set()
    assert heavy & imported(key_and_vault, "code", "--json", "--device", str(ONE),
                            "--no-vault") == set()
    # A plain TOTP code asked for by name comes from the same CALCULATE_ALL, without yubikit.
    assert heavy & imported(key_and_vault, "code", "git", "--no-vault") == set()
    # The measurement can see them: another command loads click and the vault's code.
    listing = imported(key_and_vault, "list", "--no-vault")
    assert {"click", "inspect"} <= listing
