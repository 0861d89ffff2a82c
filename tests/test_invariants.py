"""Promises that hold for the whole program: light start-up, no network, no secret in output,
and the installed console script doing the main job end to end."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest

from helpers.keys import ONE, put
from helpers.processes import hwotp_script, run_hwotp, run_in_python
from helpers.samples import PASSPHRASE
from virtualkey.key import KeyConfig

HEAVY = ["yubikit", "ykman", "fido2", "PIL", "zxingcpp", "pyzbar", "mss", "cryptography",
         "pyotp"]
SAMPLE = Path(__file__).parents[1] / "examples" / "mfa-setup-page.png"
# What the screenshot's QR code holds (examples/make_sample.py drew it): the picture's, not ours.
SAMPLE_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_no_heavy_module(flag: str) -> None:
    probe = (
        "import sys\n"
        "from hwotp.cli.root import main\n"
        "sys.argv = ['hwotp', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    status = done.code\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('LOADED', loaded, 'STATUS', status)\n"
    )
    result = run_in_python(probe, flag)
    assert "LOADED [] STATUS 0" in result.stdout, result.stdout + result.stderr


def test_parsers_and_stores_import_light() -> None:
    probe = (
        "import sys\n"
        "import hwotp.formats.otpauth, hwotp.formats.migration, hwotp.formats.payload\n"
        "import hwotp.stores.vault, hwotp.inputs.qr\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = run_in_python(probe)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_code_loads_no_image_module(tmp_path: Path) -> None:
    probe = (
        "import os, sys\n"
        "from hwotp.cli.root import cli\n"
        "given = dict(os.environ)\n"
        "for args in (['enroll', '--uri', sys.argv[1]], ['code', 'x']):\n"
        "    os.environ.update(given)  # each command takes the passphrase out of it\n"
        "    try:\n        cli.main(args=args, prog_name='hwotp')\n"
        "    except SystemExit as done:\n        assert done.code == 0, (args, done.code)\n"
        "print('LOADED', [m for m in ('PIL', 'zxingcpp', 'pyzbar') if m in sys.modules])\n"
    )
    env = {"HWOTP_VAULT": str(tmp_path / "v.hwotp"), "HWOTP_PASSPHRASE": PASSPHRASE}
    uri = f"otpauth://totp/x:y?secret={SAMPLE_SECRET}"
    result = run_in_python(probe, uri, env=env)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


# What `hwotp code` on a key seen before needs none of, when there is no vault file: yubikit and
# what it loads, the vault's code, the commands that enrol, import and export, `vault slots`,
# base32 secrets (hwotp.secret), `logging` unless debugging (hwotp.debuglog), platformdirs and
# tempfile on Linux (hwotp.folders).
NOT_FOR_DAILY_CODES = [*HEAVY, "hwotp.vault", "hwotp.stores.vault", "hwotp.cli.commands.enroll",
                       "hwotp.cli.commands.transfer", "hwotp.cli.commands.slots", "hwotp.secret",
                       "logging", "tempfile", "click", "dataclasses", "hashlib",
                       "hwotp.cli.root", "hwotp.cli.commands.daily"]
if sys.platform == "linux":
    NOT_FOR_DAILY_CODES.append("platformdirs")


@pytest.mark.parametrize("device", [(), ("--device", str(ONE))], ids=["all keys", "--device"])
def test_code_on_a_known_key_without_a_vault_file_loads_no_heavy_module(
    plug_keys, tmp_path: Path, device: tuple[str, ...]
) -> None:
    put(plug_keys(KeyConfig(serial=ONE)).keys[0], "alice", issuer="GitHub")
    # As a user runs it: no HWOTP_VAULT or HWOTP_CONFIG, the default folders (the test's own).
    env = {k: v for k, v in os.environ.items() if k not in ("HWOTP_VAULT", "HWOTP_CONFIG",
                                                              "HWOTP_PASSPHRASE")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    assert run_hwotp("code", *device, env=env).returncode == 0  # the key is known from here on
    probe = (
        "import sys\n"
        "from hwotp.__main__ import main\n"  # as the console script runs it: the quick path
        "sys.argv = ['hwotp', 'code', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as done:\n    status = done.code\n"
        f"loaded = [m for m in {NOT_FOR_DAILY_CODES!r} if m in sys.modules]\n"
        "print('LOADED', loaded, 'STATUS', status)\n"
    )
    result = run_in_python(probe, *device, env=env)
    assert "LOADED [] STATUS 0" in result.stdout, result.stdout + result.stderr
    assert result.stdout.startswith("GitHub:alice  "), result.stdout


def test_help_and_readme_document_every_exit_code() -> None:
    from hwotp.cli.failures import EXIT_CODE_MEANINGS

    result = subprocess.run([hwotp_script(), "--help"], capture_output=True, text=True)
    helped = dict(re.findall(r"^\s+(\d+)\s+(.+)$", result.stdout.split("Exit codes:")[1], re.M))
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    tabled = dict(re.findall(r"^\| (\d+) \| (.+) \|$", readme, re.M))
    meanings = {str(int(code)): text for code, text in EXIT_CODE_MEANINGS.items()}
    meanings["130"] = "interrupted (Ctrl-C, or SIGTERM during an enrolment)"
    assert {code: text.strip() for code, text in helped.items()} == meanings
    assert {code: text.replace("`", "") for code, text in tabled.items()} == meanings


def test_no_socket_is_opened_by_a_full_session(tmp_path: Path) -> None:
    """An audit hook sees every socket the interpreter creates; enroll, list and code make none."""
    probe = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(event) "
        "if event.startswith('socket.') else None)\n"
        "import os\n"
        "from hwotp.cli.root import cli\n"
        "given = dict(os.environ)\n"
        "for args in (['enroll', '--qr', sys.argv[1]], ['list'], ['code', 'example']):\n"
        "    os.environ.update(given)  # each command takes the passphrase out of it\n"
        "    try:\n        cli.main(args=args, prog_name='hwotp')\n"
        "    except SystemExit as done:\n        assert done.code == 0, (args, done.code)\n"
        "print('SOCKETS', opened)\n"
    )
    env = {"HWOTP_VAULT": str(tmp_path / "v.hwotp"), "HWOTP_PASSPHRASE": PASSPHRASE}
    result = run_in_python(probe, str(SAMPLE), env=env)
    assert "SOCKETS []" in result.stdout, result.stdout + result.stderr


def test_installed_script_enrols_the_sample_screenshot(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HWOTP_VAULT": str(tmp_path / "vault" / "v.hwotp"),
        "HWOTP_PASSPHRASE": PASSPHRASE,
    }
    before = time.time()
    enrolled = subprocess.run(
        [hwotp_script(), "enroll", "--qr", str(SAMPLE), "--json"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    after = time.time()
    assert enrolled.returncode == 0, enrolled.stderr
    (credential,) = json.loads(enrolled.stdout)["credentials"]
    assert credential["name"] == "Example Corp:alice@example.com"
    reference = pyotp.TOTP(SAMPLE_SECRET)
    assert credential["code"] in {reference.at(before), reference.at(after)}
    assert SAMPLE_SECRET not in enrolled.stdout + enrolled.stderr
    listed = subprocess.run(
        [hwotp_script(), "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Example Corp:alice@example.com" in listed.stdout


def test_secrets_never_reach_output_or_the_vault_file_in_clear(hwotp, vault_path: Path) -> None:
    raw = b"leak-check-secret!!!"
    secret = base64.b32encode(raw).decode()
    uri = f"otpauth://totp/Leak:check?secret={secret}&issuer=Leak"
    outputs = [
        hwotp("enroll", "--uri", uri),
        hwotp("enroll", "--uri", uri, "--dry-run", "--json"),
        hwotp("list", "--json"),
        hwotp("code", "leak", "--json"),
        hwotp("enroll", "--uri", uri),  # refused: exists
        hwotp("list", passphrase="wrong"),
    ]
    for result in outputs:
        assert secret not in result.everything
    stored = vault_path.read_bytes()
    assert secret.encode() not in stored and raw not in stored


def test_installed_script_runs_the_command_line_and_exits_with_its_codes(tmp_path: Path) -> None:
    """The console script's entry point (hwotp.__main__:main, the collector held off while it
    imports): the documented exit codes, and a one-sentence failure, come through it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    # No vault, and a pcscd socket where none listens: the same answers on any machine.
    env |= {"HWOTP_VAULT": str(tmp_path / "none.hwotp"),
            "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd")}
    cases = [
        (["--version"], 0, "hwotp "),
        (["code", "--no-such-option"], 2, "hwotp: no such option '--no-such-option'"),
        (["code", "--no-vault"], 12, "hwotp: pcscd (the smart card service) is not running"),
    ]
    for args, status, start in cases:
        done = run_hwotp(*args, env=env)
        assert done.returncode == status, (args, done.stdout, done.stderr)
        assert (done.stdout + done.stderr).startswith(start), (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    closed = subprocess.run([hwotp_script(), "code"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=120, close_fds=True,
                            preexec_fn=lambda: os.close(1))
    assert closed.returncode == 11, closed.stderr


def test_the_command_runs_with_the_collector_on() -> None:
    """hwotp.__main__ holds the collector off only while the command line is imported: a long
    command (enroll --screen watching the screen) collects its garbage as any program does."""
    probe = (
        "import gc, hwotp.cli.root\n"
        "hwotp.cli.root.main = lambda: print('ENABLED', gc.isenabled(), 'FROZEN', "
        "gc.get_freeze_count() > 0)\n"
        "from hwotp.__main__ import main\n"
        "main()\n"
    )
    result = run_in_python(probe)
    assert "ENABLED True FROZEN True" in result.stdout, result.stdout + result.stderr
