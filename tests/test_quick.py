"""The daily `hwotp code` parsed without click (hwotp/cli/quick.py, issue 11 item 9): which
lines it takes, that each line it takes gives what click's parser gives (output, notes, exit
status), and that it loads neither click nor dataclasses nor OpenSSL.

The installed script is the quick path; `python -c "...root.main()"` is click's, with the same
environment: a key holding GitHub:alice, a vault (named by the config file, since HWOTP_VAULT
is a root option's variable and leaves the line to click) holding Bank:bob, a fixed clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


@pytest.fixture(autouse=True)
def no_root_option_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HWOTP_VAULT", "HWOTP_SKIP_SECURITY_KEYS", "HWOTP_USE_SECURITY_KEY"):
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
    ["Code"], ["code", "--js"],
])
def test_every_other_line_is_left_to_click(args: list[str]) -> None:
    assert parse(args) is None


@pytest.mark.parametrize("variable", ["HWOTP_VAULT", "HWOTP_SKIP_SECURITY_KEYS",
                                      "HWOTP_USE_SECURITY_KEY"])
def test_a_root_options_variable_leaves_the_line_to_click(
    variable: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, "")  # even empty: click decides what it means
    assert parse(["code"]) is None


# --- the same outcome as click's parser --------------------------------------------------------


@pytest.fixture
def key_and_vault(plug_keys, tmp_path: Path) -> dict[str, str]:
    """The environment of both parsers: a key with GitHub:alice, a vault with Bank:bob."""
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "GitHub", secret=SECRET)
    hook = tmp_path / "clock-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CLOCK_HOOK)
    (tmp_path / "clock").write_text(repr(FIXED_TIME))
    config = tmp_path / "config.toml"
    config.write_text(f'vault = "{tmp_path / "vault.hwotp"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    env.update(HWOTP_CONFIG=str(config), HWOTP_TEST_CLOCK_FILE=str(tmp_path / "clock"),
               PYTHONPATH=str(hook))
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
    (["code", "gthub"], {}),  # did you mean
    (["code", "--no-vault"], {}),
    (["code", "--device", str(ONE), "--no-vault"], {}),
    (["code", "--device", "99999999"], {}),  # not plugged in
    (["code", "zzzz"], {"HWOTP_PASSPHRASE": PASSPHRASE}),  # nothing like it anywhere
]


def test_each_line_gives_what_clicks_parser_gives(key_and_vault: dict[str, str],
                                                   tmp_path: Path) -> None:
    """Each parser keeps its own cache folder, so notes shown once per situation come alike."""
    outcomes = {}
    for parser, command in (("quick", [hwotp_script()]),
                            ("click", [sys.executable, "-c", CLICK_PATH])):
        outcomes[parser] = []
        for args, extra in LINES:
            assert parse(args) is not None, args  # the script takes this line itself
            env = {**key_and_vault, "HWOTP_CACHE_DIR": str(tmp_path / f"{parser}-cache"),
                   **extra}
            done = subprocess.run([*command, *args], env=env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=120)
            outcomes[parser].append((args, done.returncode, done.stdout, done.stderr))
    assert outcomes["quick"] == outcomes["click"]
    # The lines did what they say (so "alike" is not "alike and broken"):
    results = {(tuple(args), tuple(extra)): (status, out, err)
               for (args, extra), (_args, status, out, err) in zip(LINES, outcomes["quick"],
                                                                   strict=True)}
    github, bank = pyotp.TOTP(SECRET).at(FIXED_TIME), pyotp.TOTP(SECRET_B).at(FIXED_TIME)
    status, out, err = results[(("code",), ("HWOTP_PASSPHRASE",))]
    assert (status, out) == (0, f"Bank:bob      {bank}  (30 s left)\n"
                                f"GitHub:alice  {github}  (30 s left)\n"), err
    status, out, err = results[(("code",), ())]
    assert status == 0 and bank not in out and "The vault was left out" in err
    status, out, err = results[(("code", "--device", "99999999"), ())]
    assert status != 0 and err.startswith("hwotp: ") and "99999999" in err
    assert "did you mean GitHub:alice" in results[(("code", "gthub"), ())][2]


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
    heavy = {"click", "dataclasses", "inspect", "hashlib", "_hashlib"}
    assert heavy & imported(key_and_vault, "code", "--no-vault") == set()
    assert heavy & imported(key_and_vault, "code", "git", "--device", str(ONE)) == set()
    # The measurement can see them: another command loads click and the vault's code.
    listing = imported(key_and_vault, "list", "--no-vault")
    assert {"click", "inspect"} <= listing
