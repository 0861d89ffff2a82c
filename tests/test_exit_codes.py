"""Every exit code in the README's table, provoked through the installed `hwotp` script: the
vault, virtual YubiKeys behind a private pcscd, a pseudo-terminal for Ctrl-C, a closed stdout.
Each failure ends in one `hwotp:` sentence, last on stderr, and no line of click's own."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from helpers.keys import ONE, fill, session
from helpers.processes import hwotp_script
from helpers.samples import PASSPHRASE
from hwotp.cli.failures import EXIT_CODE_MEANINGS
from virtualkey.key import KeyConfig

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
GITHUB = f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
README = Path(__file__).parents[1] / "README.md"


def readme_codes() -> list[int]:
    return [int(code) for code in re.findall(r"^\| (\d+) \| .+ \|$", README.read_text(), re.M)]


@dataclass
class Rig:
    """What a provocation needs: a folder, an environment, and virtual keys when asked."""

    folder: Path
    env: dict[str, str]
    plug_keys: Callable

    @property
    def vault(self) -> Path:
        return Path(self.env["HWOTP_VAULT"])

    def run(self, *args: str, **options) -> subprocess.CompletedProcess[str]:
        options.setdefault("capture_output", True)
        return subprocess.run(
            [hwotp_script(), *args],
            env=options.pop("env", self.env),
            text=True,
            timeout=120,
            **options,
        )

    def enrolled(self) -> Rig:
        assert self.run("enroll", "--uri", GITHUB).returncode == 0
        return self


@pytest.fixture
def rig(tmp_path: Path, plug_keys) -> Rig:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    env |= {
        "HWOTP_VAULT": str(tmp_path / "vault.hwotp"),
        "HWOTP_PASSPHRASE": PASSPHRASE,
        "HWOTP_CACHE_DIR": str(tmp_path / "cache"),
    }
    return Rig(tmp_path, env, plug_keys)


# ---- one provocation per code ----


def success(rig: Rig):
    return rig.run("enroll", "--uri", GITHUB)


def unexpected(rig: Rig):
    # A bug, injected: the clock raises with text that must not be shown.
    rig.enrolled()
    (rig.folder / "sitecustomize.py").write_text(
        "import hwotp.cli.app\n"
        "def clock():\n    raise RuntimeError('text of a bug ' + 'JBSWY3DP')\n"
        "hwotp.cli.app.clock = clock\n"
    )
    env = rig.env | {"PYTHONPATH": str(rig.folder)}
    return rig.run("code", "github", env=env)


def usage(rig: Rig):
    return rig.run("enroll", "--uri", GITHUB, "--pick", "13")  # one credential, not 13


def bad_input(rig: Rig):
    return rig.run("enroll", "--uri", "https://example.com/setup")


def not_found(rig: Rig):
    return rig.enrolled().run("code", "gitlab")


def wrong_passphrase(rig: Rig):
    return rig.enrolled().run("list", env=rig.env | {"HWOTP_PASSPHRASE": "other words"})


def vault_damaged(rig: Rig):
    rig.enrolled()
    data = bytearray(rig.vault.read_bytes())
    data[-40] ^= 1
    rig.vault.write_bytes(bytes(data))
    return rig.run("list")


def storage(rig: Rig):
    (rig.folder / "a-file").write_text("")  # a vault "in" a file cannot be created
    return rig.run(
        "enroll",
        "--uri",
        GITHUB,
        env=rig.env | {"HWOTP_VAULT": str(rig.folder / "a-file" / "vault.hwotp")},
    )


def cancelled(rig: Rig):
    # The passphrase cannot be asked for: no terminal, nothing on standard input.
    env = {k: v for k, v in rig.env.items() if k != "HWOTP_PASSPHRASE"}
    return rig.enrolled().run("list", env=env, stdin=subprocess.DEVNULL)


def exists(rig: Rig):
    # The same name with another secret (the same secret would be found there, and kept).
    return rig.enrolled().run("enroll", "--uri", GITHUB.replace(SECRET, "MFRGGZDFMZTWQ2LK"))


def not_verified(rig: Rig):
    # A key whose flash stores something else than it was sent: its code differs.
    keys = rig.plug_keys(KeyConfig(serial=ONE))
    oath = keys.keys[0].oath
    parse = oath._parse_credential

    def corrupted(name: bytes, key_field: bytes):
        stored = parse(name, key_field)
        stored.key = bytes([stored.key[0] ^ 1]) + stored.key[1:]
        return stored

    oath._parse_credential = corrupted
    result = rig.run("enroll", "--uri", GITHUB, "--no-touch")
    assert oath.credentials == {}  # removed again
    return result


def output(rig: Rig):
    return rig.run(
        "list",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        capture_output=False,
        preexec_fn=lambda: os.close(1),
    )


def key_unavailable(rig: Rig):
    return rig.run("keys")  # no pcscd, no key


def touch_timeout(rig: Rig):
    rig.plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.2))
    return rig.run("enroll", "--uri", GITHUB)  # touch required


def key_full(rig: Rig):
    keys = rig.plug_keys(KeyConfig(serial=ONE))
    fill(keys.keys[0], 64)
    return rig.run("enroll", "--uri", GITHUB, "--no-touch")


def not_supported(rig: Rig):
    rig.plug_keys(KeyConfig(serial=ONE, firmware=(4, 2, 6)))
    return rig.run("enroll", "--uri", GITHUB + "&algorithm=SHA512", "--no-touch")


def pin_refused(rig: Rig):
    # A key on an NFC reader (pcscd, no hidraw needed); a new PIN below its minimum.
    rig.plug_keys(KeyConfig(serial=ONE, transport="nfc"))
    return rig.run("fido2", "pin", "set", env={**rig.env, "HWOTP_FIDO2_NEW_PIN": "12"})


def security_key_unknown(rig: Rig):
    # The drill on a vault no security key was registered to (no key needed to say so).
    return rig.enrolled().run("fido2", "verify")


def checks_failed(rig: Rig):
    vault_damaged(rig)  # a damaged vault is a problem on any machine
    return rig.run("doctor")


def desktop_unavailable(rig: Rig):
    no_display = {k: v for k, v in rig.env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return rig.run("enroll", "--screen", env=no_display)


def interrupted(rig: Rig):
    rig.enrolled()
    env = {k: v for k, v in rig.env.items() if k != "HWOTP_PASSPHRASE"}
    child = pexpect.spawn(hwotp_script(), ["list"], env=env, encoding="utf-8", timeout=60)
    child.expect("Vault passphrase: ")
    time.sleep(0.5)  # not in the instant before the read, where CPython loses a SIGINT
    child.sendintr()
    rest = child.read()
    child.close()
    return subprocess.CompletedProcess(["hwotp", "list"], child.exitstatus, "", rest)


PROVOKE: dict[int, Callable[[Rig], subprocess.CompletedProcess[str]]] = {
    0: success,
    1: unexpected,
    2: usage,
    3: bad_input,
    4: not_found,
    5: wrong_passphrase,
    6: vault_damaged,
    7: storage,
    8: cancelled,
    9: exists,
    10: not_verified,
    11: output,
    12: key_unavailable,
    13: touch_timeout,
    14: key_full,
    15: not_supported,
    16: checks_failed,
    17: pin_refused,
    18: security_key_unknown,
    20: desktop_unavailable,
    130: interrupted,
}


def test_the_readme_table_is_the_one_walked_here() -> None:
    assert readme_codes() == sorted(PROVOKE)
    assert [int(code) for code in EXIT_CODE_MEANINGS] + [130] == sorted(PROVOKE)


@pytest.mark.parametrize("code", readme_codes())
def test_each_exit_code_through_the_installed_script(code: int, rig: Rig) -> None:
    result = PROVOKE[code](rig)
    stderr = result.stderr or ""
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr and not re.search(r"^(Error|Usage|Try)\b", stderr, re.M)
    assert SECRET[:8] not in stderr and "text of a bug" not in stderr
    if code:
        errors = [line for line in stderr.splitlines() if line.startswith("hwotp: ")]
        last = stderr.splitlines()[-1]
        assert last.startswith("hwotp: ") and errors[-1] == last, stderr
    if code == 16:
        assert "PROBLEM  vault:" in result.stdout


def test_usage_errors_and_suggestions_start_with_hwotp(rig: Rig) -> None:
    cases = {
        ("enrol",): "hwotp: no such command 'enrol'; did you mean 'enroll'?",
        ("exprt",): "hwotp: no such command 'exprt'; did you mean 'export'?",  # not loaded yet
        ("Code",): "hwotp: no such command 'Code'; did you mean 'code'?",
        ("vault", "pasphrase"): "hwotp: no such command 'pasphrase'; did you mean 'passphrase'?",
        (SECRET,): "hwotp: no such command; see 'hwotp --help'",  # far from any: not echoed
        ("jbswy3dp",): "hwotp: no such command; see 'hwotp --help'",  # even a short secret
        ("vault", "GEZDGNBV"): "hwotp: no such command; see 'hwotp vault --help'",
        ("code", "--jsn"): "hwotp: no such option '--jsn'; did you mean '--json'?",
        ("enroll", "--qr"): "hwotp: option '--qr' requires an argument",
        (
            "vault",
            "slots",
            "remove",
        ): "hwotp: missing argument 'SLOT_ID'; see 'hwotp vault slots remove --help'",
    }
    for args, line in cases.items():
        result = rig.run(*args)
        assert (result.returncode, result.stderr) == (2, line + "\n"), args


def test_a_password_that_cannot_be_asked_for_is_cancelled_not_bad_input(rig: Rig) -> None:
    """No terminal and nothing on standard input: exit 8 ("there was no terminal to ask"), for
    the vault passphrase as for a key's OATH password, never 3 (bad input)."""
    keys = rig.plug_keys(KeyConfig(serial=ONE))
    oath = session(keys.keys[0])
    oath.set_key(oath.derive_key("key words"))
    env = {k: v for k, v in rig.env.items() if k != "HWOTP_PASSPHRASE"}
    result = rig.run("list", "--no-vault", env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 8, result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"hwotp: no OATH password for YubiKey {ONE}: type it at a terminal"
    )
    assert (
        rig.run("list", "--no-vault", env=env | {"HWOTP_OATH_PASSWORD": "key words"}).returncode
        == 0
    )
