"""hwotp on YubiKeys (issue 4), end to end: the command line in-process (fixed clock) or as the
real ykman CLI, over pyscard over a private pcscd, against one or two virtual keys. Codes are
checked against pyotp; what a key holds is read back from the virtual key itself.

`hwotp keys`, enrolment onto keys, `hwotp code` and `hwotp list` are here; passwords,
delete/rename/reset, a key pulled at every APDU and interop with the ykman CLI are in
test_yubikey_cli_keys.py. Their helpers are in helpers/ (keys, cli, samples).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pyotp
import pytest
from click.testing import CliRunner
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE

import qrimages
from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE, TWO, fill, names_on, point_pcsc_link, put, puts, pyotp_codes_around
from helpers.migration import entry, payload_bytes
from helpers.migration import uri as migration_uri
from helpers.samples import FIXED_TIME, GITHUB, PERIOD_60, SECRET, SECRET_B, SECRET_C, totp
from hwotp.cli.root import cli
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

NO_CLIPBOARD = "No clipboard tool found"


# --- hwotp keys; no key; no pcscd -----------------------------------------------------------


def test_keys_shows_serial_firmware_form_factor_capacity_and_slots_used(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)), KeyConfig(serial=TWO))
    put(rig.keys[0], "alice", "A")
    put(rig.keys[0], "bob", "B", touch=True)
    put(rig.keys[1], "carol", "C")
    result = ok(hwotp("keys"))
    assert result.stdout.splitlines() == [
        f"YubiKey {ONE}  firmware 5.4.3  Keychain (USB-A)  OATH 2 of 32 used",
        f"YubiKey {TWO}  firmware 5.7.2  Keychain (USB-A)  OATH 1 of 64 used",
    ]
    rows = json.loads(ok(hwotp("keys", "--json")).stdout)
    assert [row.pop("reader").startswith("Yubico YubiKey") for row in rows] == [True, True]
    assert rows == [
        {"serial": ONE, "firmware": "5.4.3", "form_factor": "Keychain (USB-A)",
         "oath_used": 2, "oath_capacity": 32},
        {"serial": TWO, "firmware": "5.7.2", "form_factor": "Keychain (USB-A)",
         "oath_used": 1, "oath_capacity": 64},
    ]
    only = ok(hwotp("keys", "--device", str(TWO)))
    assert only.stdout.splitlines() == [
        f"YubiKey {TWO}  firmware 5.7.2  Keychain (USB-A)  OATH 1 of 64 used"
    ]


def test_no_key_is_one_line_and_exit_12_where_a_key_is_required(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE))
    # pcscd runs, but no reader is a YubiKey of that name (the case of no key plugged in).
    none = hwotp("keys", "--reader", "no such reader")
    assert none.exit_code == ExitCode.KEY_UNAVAILABLE
    assert none.stdout == "" and none.stderr.splitlines() == ["hwotp: no YubiKey found"]
    other = hwotp("keys", "--device", "99999999")
    assert other.stderr.splitlines() == [
        f"hwotp: no YubiKey with serial 99999999 (found: {ONE})"
    ]
    assert other.exit_code == ExitCode.KEY_UNAVAILABLE
    # A key asked for by serial is required: no quiet fall-back to the vault.
    failed(hwotp("list", "--device", "99999999"), ExitCode.KEY_UNAVAILABLE)
    failed(hwotp("code", "--reader", "no such reader", "--no-vault"), ExitCode.KEY_UNAVAILABLE)
    wanted = hwotp("enroll", "--uri", GITHUB, "--reader", "no such reader", "--no-vault")
    assert failed(wanted, ExitCode.KEY_UNAVAILABLE) == "hwotp: no YubiKey found"


def test_a_reader_asked_for_that_is_not_there_is_an_error(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    # Like --device, an explicit --reader is never quietly replaced by the vault.
    for command in ("list", "code"):
        message = failed(hwotp(command, "--reader", "no such reader"), ExitCode.KEY_UNAVAILABLE)
        assert message == "hwotp: no YubiKey found"
    message = failed(hwotp("enroll", "--uri", GITHUB, "--force", "--reader", "no such reader"),
                     ExitCode.KEY_UNAVAILABLE)
    assert message == "hwotp: no YubiKey found"


def test_pcscd_not_running_says_so_and_how_to_start_it(tmp_path, hwotp, vault_path):
    point_pcsc_link(tmp_path / "no-pcscd-here")  # whatever an earlier test left
    keys = hwotp("keys")
    message = failed(keys, ExitCode.KEY_UNAVAILABLE)
    assert "pcscd (the smart card service) is not running" in message
    assert "systemctl enable --now pcscd.socket" in message
    assert keys.stderr.splitlines() == [message]
    # Without keys, list and code fall back to the vault with one note; --no-vault is an error.
    # The note comes once per situation (remembered in the cache folder), not every time.
    empty = ok(hwotp("code"))
    note, nothing = empty.stderr.splitlines()
    assert empty.stdout == "" and nothing == "No credentials stored yet."
    assert "pcscd (the smart card service) is not running" in note
    assert note.endswith("using the vault only.")
    ok(hwotp("enroll", "--uri", GITHUB))  # no key: into the vault, and says why
    listed = ok(hwotp("list"))
    assert listed.stdout == "GitHub:alice  TOTP, SHA1, 6 digits, every 30 s  vault\n"
    assert listed.stderr == ""
    codes = ok(hwotp("code"))
    assert codes.stderr == ""
    assert codes_printed(codes.stdout) == {"GitHub:alice": totp()}
    for args in (("list", "--no-vault"), ("code", "--no-vault"), ("code", "github", "--no-vault")):
        assert "is not running" in failed(hwotp(*args), ExitCode.KEY_UNAVAILABLE)
    # The same as a real process: one line, no traceback.
    env = {**os.environ, "HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": "x"}
    real = subprocess.run([sys.executable, "-m", "hwotp", "keys"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert real.returncode == ExitCode.KEY_UNAVAILABLE
    assert real.stderr.splitlines() == [message]


# --- enrol onto a key -----------------------------------------------------------------------


def test_enroll_uri_onto_the_key_needs_touch_and_prints_pyotps_code(plug_keys, hwotp,
                                                                    vault_path):
    rig = plug_keys(KeyConfig(serial=ONE, touch="auto", touch_delay=0.1))
    result = ok(hwotp("enroll", "--uri", GITHUB))
    assert codes_printed(result.stdout) == {"GitHub:alice": totp()}
    assert f"Touch your YubiKey {ONE} for GitHub:alice" in result.stderr.splitlines()
    assert f"Stored GitHub:alice in the YubiKey {ONE}." in result.stderr
    stored = rig.keys[0].oath.credentials[b"GitHub:alice"]
    assert stored.touch is True
    assert (stored.digits, stored.algorithm) == (6, 1)
    assert not vault_path.exists()


def test_enroll_secret_without_touch(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    result = ok(hwotp("enroll", "--secret", SECRET_C, "--issuer", "Acme", "--account", "eve",
                      "--algorithm", "SHA256", "--digits", "8", "--no-touch"))
    assert codes_printed(result.stdout) == {"Acme:eve": totp(SECRET_C, digits=8,
                                                             digest="sha256")}
    assert "Touch your" not in result.stderr
    stored = rig.keys[0].oath.credentials[b"Acme:eve"]
    assert (stored.touch, stored.digits, stored.algorithm) == (False, 8, 2)


def test_enroll_hotp_onto_the_key_uses_the_first_counter_value(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    uri = f"otpauth://hotp/Bank:bob?secret={SECRET}&issuer=Bank&counter=5&digits=8"
    enrolled = ok(hwotp("enroll", "--uri", uri, "--no-touch"))
    hotp = pyotp.HOTP(SECRET, digits=8)
    assert codes_printed(enrolled.stdout) == {"Bank:bob": hotp.at(5)}
    assert rig.keys[0].oath.credentials[b"Bank:bob"].counter == 6
    assert codes_printed(ok(hwotp("code", "bank")).stdout) == {"Bank:bob": hotp.at(6)}


def test_a_missed_touch_while_proving_an_enrolment_leaves_nothing_behind(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.2))
    message = failed(hwotp("enroll", "--uri", GITHUB), ExitCode.TOUCH_TIMEOUT)
    assert "was removed again" in message and "run the command again" in message
    assert names_on(rig.keys[0]) == set()
    # So a retry with a touch is not refused as a duplicate.
    rig.keys[0].presence.policy = "auto"
    ok(hwotp("enroll", "--uri", GITHUB))
    assert len(names_on(rig.keys[0])) == 1


def test_enroll_qr_image_onto_the_key(plug_keys, hwotp, tmp_path):
    rig = plug_keys(KeyConfig(serial=ONE))
    image = tmp_path / "qr.png"
    qrimages.qr_image(PERIOD_60, 4).save(image)
    result = ok(hwotp("enroll", "--qr", str(image), "--no-touch"))
    assert codes_printed(result.stdout) == {"Slow:alice": totp(SECRET_B, interval=60)}
    # The id is [period/]issuer:account, as ykman writes it.
    assert names_on(rig.keys[0]) == {b"60/Slow:alice"}


def test_an_id_over_64_bytes_is_refused_before_writing_and_name_fixes_it(plug_keys, hwotp,
                                                                         vault_path):
    rig = plug_keys(KeyConfig(serial=ONE))
    account = "a.very.long.address@" + "example-company-with-a-long-name" + ".com"
    long_uri = f"otpauth://totp/Issuer:{account}?secret={SECRET}&issuer=Issuer&period=60"
    size = len(f"60/Issuer:{account}".encode())
    assert size > 64
    message = failed(hwotp("enroll", "--uri", long_uri), ExitCode.BAD_INPUT)
    assert f"takes {size} bytes" in message and "--name" in message
    assert names_on(rig.keys[0]) == set() and puts(rig.keys[0]) == 0
    assert not vault_path.exists()
    renamed = ok(hwotp("enroll", "--uri", long_uri, "--name", "Issuer:short"))
    assert codes_printed(renamed.stdout) == {"Issuer:short": totp(interval=60)}
    assert names_on(rig.keys[0]) == {b"60/Issuer:short"}


def test_a_name_on_the_key_is_refused_unless_force(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    other = GITHUB.replace(SECRET, SECRET_C)
    message = failed(hwotp("enroll", "--uri", other, "--no-touch"), ExitCode.EXISTS)
    assert "GitHub:alice" in message and f"YubiKey {ONE}" in message and "--force" in message
    assert puts(rig.keys[0]) == 1
    forced = ok(hwotp("enroll", "--uri", other, "--no-touch", "--force"))
    assert codes_printed(forced.stdout) == {"GitHub:alice": totp(SECRET_C)}
    assert names_on(rig.keys[0]) == {b"GitHub:alice"}
    assert codes_printed(ok(hwotp("code")).stdout) == {"GitHub:alice": totp(SECRET_C)}


def test_sha512_on_firmware_4_2_is_refused_with_the_reason(plug_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(4, 2, 6)))
    uri = f"otpauth://totp/Bank:bob?secret={SECRET}&issuer=Bank&algorithm=SHA512"
    message = failed(hwotp("enroll", "--uri", uri, "--device", str(TWO)), ExitCode.NOT_SUPPORTED)
    assert message == ("hwotp: SHA-512 credentials need YubiKey firmware 4.3.1 or later; this "
                       "key has 4.2.6")
    # Every key is checked before the first write: the 5.7.2 key gets nothing either.
    failed(hwotp("enroll", "--uri", uri, "--all-keys"), ExitCode.NOT_SUPPORTED)
    assert [puts(key) for key in rig.keys] == [0, 0]
    assert not vault_path.exists()
    # SHA-1 goes onto the old key.
    ok(hwotp("enroll", "--uri", GITHUB, "--device", str(TWO)))
    assert [names_on(key) for key in rig.keys] == [set(), {b"GitHub:alice"}]


@pytest.mark.parametrize(("firmware", "limit"), [((5, 4, 3), 32), ((5, 7, 2), 64)])
def test_a_full_key_says_how_many_and_the_limit(plug_keys, hwotp, vault_path, firmware, limit):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=firmware))
    fill(rig.keys[0], limit)
    message = failed(hwotp("enroll", "--uri", GITHUB), ExitCode.KEY_FULL)
    assert message == (f"hwotp: the YubiKey {ONE} is full: it holds {limit} credentials, its "
                       f"limit is {limit}; --fallback vault stores what does not fit in the "
                       "vault (nothing was stored)")
    assert len(rig.keys[0].oath.credentials) == limit and not vault_path.exists()
    # --fallback vault: into the vault, and it says so.
    fallen = ok(hwotp("enroll", "--uri", GITHUB, "--fallback", "vault"))
    assert "; storing GitHub:alice in the encrypted vault instead." in fallen.stderr
    assert f"Stored GitHub:alice in the vault at {vault_path}." in fallen.stderr
    assert codes_printed(fallen.stdout) == {"GitHub:alice": totp()}
    assert b"GitHub:alice" not in rig.keys[0].oath.credentials
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    assert [item["location"] for item in listed if item["name"] == "GitHub:alice"] == ["vault"]


def test_all_keys_writes_every_key(plug_keys, hwotp, ykman):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    result = ok(hwotp("enroll", "--uri", PERIOD_60, "--all-keys", "--no-touch"))
    assert f"Stored Slow:alice in the YubiKey {ONE}." in result.stderr
    assert f"Stored Slow:alice in the YubiKey {TWO}." in result.stderr
    assert codes_printed(result.stdout) == {"Slow:alice": totp(SECRET_B, interval=60)}
    for serial in (ONE, TWO):
        output, expected = pyotp_codes_around(
            lambda: pyotp.TOTP(SECRET_B, interval=60),
            lambda s=serial: ykman("--device", str(s), "oath", "accounts", "code", "-s",
                                   "Slow").stdout,
        )
        assert output.strip() in expected, serial
    assert [names_on(key) for key in rig.keys] == [{b"60/Slow:alice"}] * 2


def test_device_repeated_writes_those_keys(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    ok(hwotp("enroll", "--uri", GITHUB, "--device", str(TWO), "--no-touch"))
    assert [names_on(key) for key in rig.keys] == [set(), {b"GitHub:alice"}]
    ok(hwotp("enroll", "--uri", PERIOD_60, "--device", str(TWO), "--device", str(ONE)))
    assert [names_on(key) for key in rig.keys] == [
        {b"60/Slow:alice"}, {b"GitHub:alice", b"60/Slow:alice"}
    ]


def test_two_keys_and_no_choice_without_a_terminal_lists_both(plug_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    message = failed(hwotp("enroll", "--uri", GITHUB), ExitCode.USAGE)
    assert str(ONE) in message and str(TWO) in message
    assert "--device" in message and "--all-keys" in message
    assert [puts(key) for key in rig.keys] == [0, 0] and not vault_path.exists()


def test_second_key_full_is_found_before_the_first_is_written(plug_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(5, 4, 3)))
    fill(rig.keys[1], 32)
    message = failed(hwotp("enroll", "--uri", GITHUB, "--all-keys", "--no-touch"),
                     ExitCode.KEY_FULL)
    assert message == (f"hwotp: the YubiKey {TWO} is full: it holds 32 credentials, its limit "
                       "is 32; --fallback vault stores what does not fit in the vault (nothing "
                       "was stored)")
    assert puts(rig.keys[0]) == 0 and len(names_on(rig.keys[1])) == 32
    assert not vault_path.exists()


def test_a_batch_larger_than_the_free_slots_is_refused_before_writing(plug_keys, hwotp,
                                                                      vault_path):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)))
    fill(rig.keys[0], 31)
    batch = migration_uri(payload_bytes([entry(name="a@x"), entry(name="b@x", issuer="Other")]))
    message = failed(hwotp("enroll", "--uri", batch, "--no-touch"), ExitCode.KEY_FULL)
    assert message == (f"hwotp: the YubiKey {ONE} has room for 1 of these 2 credentials: it "
                       "holds 31, its limit is 32; --fallback vault stores what does not fit "
                       "in the vault (nothing was stored)")
    assert len(names_on(rig.keys[0])) == 31 and b"GitHub:a@x" not in names_on(rig.keys[0])
    assert not vault_path.exists()


def test_also_vault_keeps_a_copy_and_in_vault_leaves_the_key_alone(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    both = ok(hwotp("enroll", "--uri", GITHUB, "--also-vault", "--no-touch"))
    assert f"Stored GitHub:alice in the YubiKey {ONE}." in both.stderr
    assert "Stored GitHub:alice in the vault" in both.stderr
    only = ok(hwotp("enroll", "--uri", PERIOD_60, "--in-vault"))
    assert codes_printed(only.stdout) == {"Slow:alice": totp(SECRET_B, interval=60)}
    assert names_on(rig.keys[0]) == {b"GitHub:alice"}
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    assert sorted((item["name"], item["location"]) for item in listed) == [
        ("GitHub:alice", f"YubiKey {ONE}"), ("GitHub:alice", "vault"), ("Slow:alice", "vault")
    ]
    refused = failed(hwotp("enroll", "--uri", GITHUB, "--in-vault", "--all-keys"),
                     ExitCode.USAGE)
    assert "--in-vault" in refused


# --- hwotp code -----------------------------------------------------------------------------

# Long names, so that CALCULATE_ALL's answer needs SEND_REMAINING.
DOMAIN = "long-example-domain.org"
ALPHA = f"Alpha:alice.anderson@{DOMAIN}"
BRAVO = f"Bravo:bob.brown@{DOMAIN}"
CHARLIE = f"Charlie:carol.clark@{DOMAIN}"
TOUCHY = f"Touchy:dave.davis@{DOMAIN}"
BANK = f"Bank:erin.evans@{DOMAIN}"
SLOW = f"Slow:frank.fisher@{DOMAIN}"
PLAIN = {
    ALPHA: (SECRET, {}),
    BRAVO: (SECRET_B, {"digits": 8}),
    CHARLIE: (SECRET_C, {"digest": "sha256"}),
}


def six_credentials(key) -> None:
    """3 plain TOTP, 1 touch, 1 HOTP and 1 period-60 credential, put in by yubikit."""
    put(key, ALPHA.split(":")[1], "Alpha")
    put(key, BRAVO.split(":")[1], "Bravo", SECRET_B, digits=8)
    put(key, CHARLIE.split(":")[1], "Charlie", SECRET_C,
        hash_algorithm=HASH_ALGORITHM.SHA256)
    put(key, TOUCHY.split(":")[1], "Touchy", touch=True)
    put(key, BANK.split(":")[1], "Bank", SECRET_B, oath_type=OATH_TYPE.HOTP)
    put(key, SLOW.split(":")[1], "Slow", SECRET_C, period=60)


def test_code_without_query_costs_select_and_calculate_all_only(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    six_credentials(key)
    first = ok(hwotp("code"))  # learns the serial (keycache)
    key.log.clear()
    result = ok(hwotp("code"))
    assert result.stdout == first.stdout
    expected = {name: totp(secret, **options) for name, (secret, options) in PLAIN.items()}
    assert codes_printed(result.stdout) == expected
    assert result.stderr.splitlines() == sorted([
        f"{TOUCHY}: ask by name (needs a touch; in the YubiKey {ONE})",
        f"{BANK}: ask by name (HOTP; in the YubiKey {ONE})",
        f"{SLOW}: ask by name (every 60 s; in the YubiKey {ONE})",
    ])
    commands = [(record.ins, record.p1) for record in key.log.records]
    assert commands[:2] == [(0xA4, 0x04), (0xA4, 0x00)]  # SELECT, CALCULATE_ALL
    assert commands[2:] and set(commands[2:]) == {(0xA5, 0x00)}  # SEND_REMAINING
    assert key.oath.credentials[BANK.encode()].counter == 0


def test_hotp_moves_only_when_asked_by_name(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    six_credentials(rig.keys[0])
    hotp = rig.keys[0].oath.credentials[BANK.encode()]
    ok(hwotp("code"))
    ok(hwotp("list"))
    assert hotp.counter == 0
    reference = pyotp.HOTP(SECRET_B)
    for counter in (0, 1):
        asked = ok(hwotp("code", "bank"))
        assert codes_printed(asked.stdout) == {BANK:
                                               reference.at(counter)}
    assert hotp.counter == 2
    slow = ok(hwotp("code", "slow"))
    assert codes_printed(slow.stdout) == {SLOW:
                                          totp(SECRET_C, interval=60)}
    assert "(30 s left)" in slow.stdout  # FIXED_TIME is 30 s into a 60 s step


def test_touch_auto_prints_the_code_after_the_touch_line(plug_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE, touch="auto", touch_delay=0.2))
    six_credentials(rig.keys[0])
    # CliRunner's own output interleaves stderr and stdout; `hwotp` has fixed the clock.
    env = {"HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": "unused"}
    result = CliRunner().invoke(cli, ["code", "touchy"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Touch your YubiKey {ONE} for {TOUCHY}",
        f"{TOUCHY}  {totp()}  (30 s left)",
    ]


def test_touch_denied_is_exit_13(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.3))
    put(rig.keys[0], "bob", "Mail", touch=True)
    result = hwotp("code", "mail")
    message = failed(result, ExitCode.TOUCH_TIMEOUT)
    assert message == f"hwotp: the YubiKey {ONE} was not touched in time for Mail:bob"
    assert f"Touch your YubiKey {ONE} for Mail:bob" in result.stderr
    assert result.stdout == ""


def test_touch_by_signal_gives_the_code(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="signal", touch_timeout=5))
    put(rig.keys[0], "bob", "Mail", touch=True)
    finger = threading.Timer(0.3, rig.keys[0].touch)
    started = time.monotonic()
    finger.start()
    try:
        result = ok(hwotp("code", "mail"))
    finally:
        finger.join()
    assert time.monotonic() - started >= 0.3
    assert codes_printed(result.stdout) == {"Mail:bob": totp()}


def test_code_json_fields(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    six_credentials(rig.keys[0])
    every = json.loads(ok(hwotp("code", "--json")).stdout)
    location = f"YubiKey {ONE}"
    assert every[0] == {"name": ALPHA, "location": location,
                        "code": totp(), "valid_from": FIXED_TIME, "valid_until": FIXED_TIME + 30,
                        "seconds_left": 30}
    assert every[3] == {"name": TOUCHY, "location": location,
                        "code": None, "ask_by_name": "needs a touch"}
    assert [item["code"] is None for item in every] == [False] * 3 + [True] * 3
    (slow,) = json.loads(ok(hwotp("code", "slow", "--json")).stdout)
    assert slow == {
        "name": SLOW, "issuer": "Slow",
        "account": SLOW.split(":")[1], "location": location, "kind": "totp",
        "algorithm": "SHA1", "digits": 6, "period": 60, "touch": False,
        "code": totp(SECRET_C, interval=60), "valid_from": FIXED_TIME - 30,
        "valid_until": FIXED_TIME + 30, "seconds_left": 30,
    }


def test_copy_says_where_the_code_went_and_never_fails(plug_keys, hwotp, tmp_path, monkeypatch):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "bob", "Mail")
    tools = tmp_path / "tools"
    tools.mkdir()
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    no_clearing = tmp_path / "config.toml"  # clearing is test_daily.py's, under Xvfb
    no_clearing.write_text("clipboard_clear = 0\n")
    monkeypatch.setenv("HWOTP_CONFIG", str(no_clearing))
    expected = {"Mail:bob": totp()}
    none = ok(hwotp("code", "mail", "--copy"))
    assert NO_CLIPBOARD in none.stderr and codes_printed(none.stdout) == expected
    xclip = tools / "xclip"  # a clipboard tool that fails: the code is still printed
    xclip.write_text("#!/bin/sh\nexit 1\n")
    xclip.chmod(0o755)
    broken = ok(hwotp("code", "mail", "--copy"))
    assert NO_CLIPBOARD in broken.stderr and codes_printed(broken.stdout) == expected
    clipboard = tmp_path / "clipboard"
    xclip.write_text(f"#!/bin/sh\n/bin/cat > {clipboard}\n")
    copied = ok(hwotp("code", "mail", "--copy"))
    assert "Copied the code to the clipboard (xclip)." in copied.stderr
    assert clipboard.read_text() == totp() and codes_printed(copied.stdout) == expected


# --- hwotp list -----------------------------------------------------------------------------


def test_list_shows_every_key_and_the_vault(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    put(rig.keys[0], "alice", "Mail", touch=True)
    put(rig.keys[0], "bob", "Bank", oath_type=OATH_TYPE.HOTP,
        hash_algorithm=HASH_ALGORITHM.SHA256, digits=8)
    put(rig.keys[0], "spare", "_hidden")
    put(rig.keys[1], "carol", "Slow", hash_algorithm=HASH_ALGORITHM.SHA512, digits=7,
        period=60)
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    result = ok(hwotp("list"))
    assert result.stdout.splitlines() == [  # sorted by name, in columns
        f"Bank:bob      HOTP, SHA256, 8 digits, counter-based    YubiKey {ONE} (counter on "
        "the key)",
        "GitHub:alice  TOTP, SHA1, 6 digits, every 30 s         vault",
        f"Mail:alice    TOTP, SHA1, 6 digits, every 30 s, touch  YubiKey {ONE}",
        f"Slow:carol    TOTP, SHA512, 7 digits, every 60 s       YubiKey {TWO}",
    ]
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    assert [(item["name"], item["location"]) for item in listed] == [
        ("Bank:bob", f"YubiKey {ONE}"), ("GitHub:alice", "vault"),
        ("Mail:alice", f"YubiKey {ONE}"), ("Slow:carol", f"YubiKey {TWO}"),
    ]
    assert listed[0] == {"name": "Bank:bob", "issuer": "Bank", "account": "bob",
                         "location": f"YubiKey {ONE}", "kind": "hotp", "algorithm": "SHA256",
                         "digits": 8, "touch": False, "counter": None}  # a key keeps it
    assert [item["touch"] for item in listed] == [False, False, True, False]
    assert listed[3]["period"] == 60 and listed[3]["algorithm"] == "SHA512"
    everything = ok(hwotp("list", "--all"))
    assert any(line.startswith("_hidden:spare  ") and line.endswith(f"  YubiKey {ONE}")
               for line in everything.stdout.splitlines())
    assert len(everything.stdout.splitlines()) == 5
    assert "_hidden" not in ok(hwotp("code")).everything
