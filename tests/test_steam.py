"""Steam Guard (issue 14): kept as TOTP under the issuer "Steam", with Steam's five-character
codes, in the vault and on a YubiKey the way Yubico Authenticator and ykman keep it there (the
code from the key's full HMAC answer). pyotp's Steam class and the real ykman CLI are the
references for the codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyotp.contrib import Steam

from exports import open_aegis
from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE
from helpers.samples import FIXED_TIME, SECRET
from hwotp.errors import ExitCode

WINAUTH = f"otpauth://totp/Steam:gaben?secret={SECRET}&issuer=Steam&digits=5"
PASSWORD = "a steam export password"
SERIAL = ONE


# No pcscd unless a test plugs keys (conftest's key_cache clears the password variables).
pytestmark = pytest.mark.usefixtures("no_pcscd")


def steam_around(run) -> tuple[str, set[str]]:
    before = time.time()
    output = run()
    after = time.time()
    return output, {Steam(SECRET).at(before), Steam(SECRET).at(after)}


def test_steam_in_the_vault_gives_steams_codes_and_exports_as_aegis_steam(hwotp, tmp_path):
    enrolled = ok(hwotp("enroll", "--uri", WINAUTH, "--in-vault"))
    code = Steam(SECRET).at(FIXED_TIME)
    assert len(code) == 5 and not code.isdigit()
    assert codes_printed(enrolled.stdout) == {"Steam:gaben": code}
    assert "Steam:gaben (Steam Guard, 5 characters, every 30 s)" in enrolled.stderr
    assert codes_printed(ok(hwotp("code")).stdout) == {"Steam:gaben": code}
    listed = ok(hwotp("list")).stdout
    assert listed == "Steam:gaben  Steam Guard, 5 characters, every 30 s  vault\n"
    out = tmp_path / "aegis.json"
    ok(hwotp("export", "--to", "aegis", str(out), env={"HWOTP_EXPORT_PASSWORD": PASSWORD}))
    (entry,) = open_aegis(out.read_bytes(), PASSWORD)["entries"]
    assert (entry["type"], entry["issuer"], entry["name"]) == ("steam", "Steam", "gaben")
    assert entry["info"] == {"secret": SECRET, "algo": "SHA1", "digits": 5, "period": 30}
    other = tmp_path / "other.hwotp"
    env = {"HWOTP_VAULT": str(other), "HWOTP_IMPORT_PASSWORD": PASSWORD}
    assert codes_printed(ok(hwotp("import", str(out), env=env)).stdout) == {"Steam:gaben": code}


def test_steam_on_a_yubikey_gives_the_code_yubico_authenticator_and_ykman_give(
    plug_keys, hwotp, ykman
) -> None:
    from virtualkey.key import KeyConfig

    rig = plug_keys(KeyConfig(serial=SERIAL))
    enrolled = ok(hwotp("enroll", "--uri", WINAUTH, "--no-touch"))
    # The enrolment's proof: the key's full HMAC answer gave Steam's code at the fixed time.
    assert codes_printed(enrolled.stdout) == {"Steam:gaben": Steam(SECRET).at(FIXED_TIME)}
    stored = rig.keys[0].oath.credentials[b"Steam:gaben"]  # TOTP, no period prefix: 30 s
    assert stored.digits == 6
    assert codes_printed(ok(hwotp("code", "steam")).stdout) == {
        "Steam:gaben": Steam(SECRET).at(FIXED_TIME)
    }
    # CALCULATE_ALL truncates to digits: the bulk listing asks for it by name instead.
    everything = ok(hwotp("code", "--no-vault"))
    assert everything.stdout == ""
    assert f"Steam:gaben: ask by name (Steam Guard; in the YubiKey {SERIAL})" in everything.stderr
    rows = json.loads(ok(hwotp("list", "--json", "--no-vault")).stdout)
    assert [(r["name"], r["kind"]) for r in rows] == [("Steam:gaben", "totp")]
    # ykman reads the same credential as Steam and gives the same code.
    shown, expected = steam_around(lambda: ykman("oath", "accounts", "code", "-s", "Steam").stdout)
    assert shown.strip() in expected


def test_ykman_imports_a_steam_entry_from_hwotps_pskc(plug_keys, hwotp, stand_in_tools,
                                                      tmp_path) -> None:
    from virtualkey.key import KeyConfig

    plug_keys(KeyConfig(serial=SERIAL))
    ok(hwotp("enroll", "--uri", WINAUTH, "--in-vault"))
    out = tmp_path / "steam.pskc"
    ok(hwotp("export", "--to", "pskc", str(out), env={"HWOTP_EXPORT_PASSWORD": PASSWORD}))
    ykman_path = str(Path(sys.executable).with_name("ykman"))
    env = {**os.environ, "PATH": f"{stand_in_tools}:{os.environ['PATH']}"}

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run([ykman_path, *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=120, start_new_session=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "1 OATH account(s) added." in run("oath", "accounts", "import", "--force", str(out),
                                             stdin=f"{PASSWORD}\n")
    shown, expected = steam_around(lambda: run("oath", "accounts", "code", "-s", "Steam"))
    assert shown.strip() in expected


def test_hotp_under_the_issuer_steam_stays_hotp(hwotp) -> None:
    uri = f"otpauth://hotp/Steam:gaben?secret={SECRET}&issuer=Steam&counter=2"
    enrolled = ok(hwotp("enroll", "--uri", uri, "--in-vault"))
    assert "Steam:gaben (HOTP, SHA1, 6 digits, counter-based)" in enrolled.stderr
    import pyotp

    assert codes_printed(enrolled.stdout) == {"Steam:gaben": pyotp.HOTP(SECRET).at(2)}
    message = failed(hwotp("enroll", "--uri", WINAUTH, "--in-vault"), ExitCode.EXISTS)
    assert message == "hwotp: Steam:gaben already in the vault; use --force to replace"
