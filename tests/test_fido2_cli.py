"""`hwotp fido2 keys | pin | reset | credentials` as a user runs them: the installed script in
a process, against virtual keys over USB HID (/dev/hidrawN in the rig's namespace) and on an
NFC reader through pcscd. Passkeys are made by python-fido2's Fido2Client and verified by
Fido2Server here; nothing of python-fido2 is mocked."""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import pexpect
import pytest
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, RegistrationResponse

from helpers.fido import (
    PIN,
    Rig,
    ThroughPcscd,
    close,
    register,
    user,
    verify_self_attestation,
)
from helpers.keys import ONE, TWO
from helpers.processes import hwotp_script
from virtualkey.key import KeyConfig

NEW_PIN = "80801234"
USER_PROGRAM = Path(__file__).with_name("fido2_user.py")


@pytest.fixture
def hwotp_on_keys(run_on_keys):
    """`hwotp ARGS` in the rig's namespace; `pin`/`new_pin` as the variables scripts use."""

    def run(*args: str, pin: str | None = None, new_pin: str | None = None,
            stdin: str | None = None):
        env = {}
        if pin is not None:
            env["HWOTP_FIDO2_PIN"] = pin
        if new_pin is not None:
            env["HWOTP_FIDO2_NEW_PIN"] = new_pin
        return run_on_keys([hwotp_script(), *args], stdin=stdin or "", env=env)

    return run


def one_sentence(result, code: int) -> str:
    """The run failed with `code` and one `hwotp:` line, last on stderr; that line."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("hwotp: ")
    return last


def keys_json(hwotp_on_keys, *args: str) -> list[dict]:
    result = hwotp_on_keys("fido2", "keys", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# hwotp fido2 keys


def test_keys_lists_two_usb_keys_and_device_picks_one(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, nfc=False,
                                                    firmware=(5, 4, 3)))
    first, second = keys_json(hwotp_on_keys)
    assert first == {
        "name": f"YubiKey 5 NFC {ONE}", "model": "YubiKey 5 NFC", "serial": ONE,
        "path": "/dev/hidraw0", "transport": "usb",
        "aaguid": "a25342c0-3cdc-4414-8e46-f4807fca511c", "firmware": "5.7.2",
        "versions": ["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"],
        "extensions": ["credProtect", "hmac-secret", "largeBlobKey", "credBlob",
                       "minPinLength"],
        "pin_set": False, "pin_min_length": 4, "pin_retries": None,
        "pin_needs_power_cycle": None, "free_passkey_slots": 100, "can_hold_backup": True,
    }
    assert (second["serial"], second["path"], second["firmware"]) == (
        TWO, "/dev/hidraw1", "5.4.3")
    assert second["free_passkey_slots"] == 25  # below firmware 5.7
    assert keys_json(hwotp_on_keys, "--device", str(TWO)) == [second]
    assert keys_json(hwotp_on_keys, "--device", "/dev/hidraw0") == [first]
    text = hwotp_on_keys("fido2", "keys")
    assert text.exit_code == 0, text.stderr
    assert f"YubiKey 5 NFC {ONE}  (serial {ONE}, usb, /dev/hidraw0)" in text.stdout
    assert "can hold a vault backup (hmac-secret)" in text.stdout
    assert "not set (at least 4 characters" in text.stdout
    missing = one_sentence(hwotp_on_keys("fido2", "keys", "--device", "999"), 12)
    assert missing == ("hwotp: no security key with serial or path 999 "
                       f"(found: {ONE}, {TWO})")


def test_a_command_for_one_key_refuses_to_guess_among_two(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    line = one_sentence(hwotp_on_keys("fido2", "pin", "set", new_pin=PIN), 2)
    assert line == (f"hwotp: 2 security keys are present (YubiKey 5 NFC {ONE}, YubiKey 5 NFC "
                    f"{TWO}); choose one with --device SERIAL or --device PATH")
    assert hwotp_on_keys("fido2", "pin", "set", "--device", str(TWO),
                         new_pin=PIN).exit_code == 0
    pins = [row["pin_set"] for row in keys_json(hwotp_on_keys)]
    assert pins == [False, True]


def test_no_key_at_all_is_exit_12(plug_keys, hwotp_on_keys):
    rig = plug_keys(KeyConfig(serial=TWO))
    rig.pull_out(TWO)  # pcscd runs, its reader is empty, no hidraw node
    assert one_sentence(hwotp_on_keys("fido2", "keys"), 12) == (
        "hwotp: no FIDO2 security key found")


def test_a_key_on_an_nfc_reader_is_listed_through_pcscd(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=5550021, transport="nfc"))
    (row,) = keys_json(hwotp_on_keys)
    assert (row["serial"], row["transport"], row["name"]) == (
        5550021, "nfc", "YubiKey 5 NFC 5550021")
    assert row["path"].startswith("pcsc:") and row["can_hold_backup"]


# hwotp fido2 pin


def test_pin_set_from_standard_input_then_change(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=ONE))
    done = hwotp_on_keys("fido2", "pin", "set", stdin=PIN + "\n")
    assert done.exit_code == 0, done.stderr
    assert "needs at least 4 characters; 8 wrong tries in all block it" in done.stderr
    assert f"Set the PIN of YubiKey 5 NFC {ONE}." in done.stderr
    assert keys_json(hwotp_on_keys)[0]["pin_retries"] == 8
    again = one_sentence(hwotp_on_keys("fido2", "pin", "set", new_pin=PIN), 2)
    assert "has a PIN already" in again
    # One line of standard input per question: the current PIN, then the new one.
    changed = hwotp_on_keys("fido2", "pin", "change", stdin=f"{PIN}\n{NEW_PIN}\n")
    assert changed.exit_code == 0, changed.stderr
    # The old PIN is wrong now, the new one right.
    wrong = one_sentence(hwotp_on_keys("fido2", "credentials", "list", pin=PIN), 17)
    assert wrong == (f"hwotp: wrong PIN for YubiKey 5 NFC {ONE} (7 tries left before the PIN "
                     "blocks)")
    listed = hwotp_on_keys("fido2", "credentials", "list", pin=NEW_PIN)
    assert listed.exit_code == 0, listed.stderr
    assert "7 PIN tries left" in listed.stderr  # said before the PIN was asked
    assert keys_json(hwotp_on_keys)[0]["pin_retries"] == 8  # the right PIN restored them


def test_a_new_pin_below_the_minimum_is_refused_and_nothing_set(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=ONE))
    line = one_sentence(hwotp_on_keys("fido2", "pin", "set", new_pin="123"), 17)
    assert line == (f"hwotp: the new PIN is too short: YubiKey 5 NFC {ONE} needs at least 4 "
                    "characters")
    assert keys_json(hwotp_on_keys)[0]["pin_set"] is False
    no_pin = one_sentence(hwotp_on_keys("fido2", "pin", "change", pin=PIN, new_pin=NEW_PIN), 2)
    assert "has no PIN yet" in no_pin


def test_wrong_pins_ask_for_a_power_cycle_after_three_and_block_after_eight(
        plug_keys, hwotp_on_keys):
    serial = ONE
    rig = plug_keys(KeyConfig(serial=serial))
    assert hwotp_on_keys("fido2", "pin", "set", new_pin=PIN).exit_code == 0

    def change(pin: str) -> str:
        return one_sentence(hwotp_on_keys("fido2", "pin", "change", pin=pin, new_pin=NEW_PIN),
                            17)

    assert change("1111").endswith("(7 tries left before the PIN blocks)")
    assert change("1111").endswith("(6 tries left before the PIN blocks)")
    waiting = (f"hwotp: YubiKey 5 NFC {ONE} takes no more PINs after three wrong ones in a "
               "row (5 tries left before the PIN blocks): unplug the key and plug it back in "
               "(take it off the reader), then try again")
    assert change("1111") == waiting  # the third wrong PIN in a row
    # Until a power cycle the key takes no PIN, the right one neither: said before asking.
    assert change(PIN) == waiting
    for wrong in (3, 2):
        rig.pull_out(serial)
        rig.plug_in(serial)
        for _ in range(wrong):
            change("1111")
    blocked = change(PIN)
    assert blocked == (f"hwotp: the PIN of YubiKey 5 NFC {ONE} is blocked after too many "
                       "wrong tries; only a reset of the key (which deletes its passkeys) makes "
                       "it usable; hwotp fido2 reset does that")
    assert "blocked (only a reset" in hwotp_on_keys("fido2", "keys").stdout


# hwotp fido2 reset


def test_reset_right_after_plugging_in_with_a_touch(plug_keys, hwotp_on_keys):
    serial = ONE
    rig = plug_keys(KeyConfig(serial=serial, touch_delay=0.3))
    assert hwotp_on_keys("fido2", "pin", "set", new_pin=PIN).exit_code == 0
    refused = one_sentence(hwotp_on_keys("fido2", "reset"), 8)
    assert refused == "hwotp: nothing reset: there is no terminal to confirm; pass --force"
    rig.pull_out(serial)
    rig.plug_in(serial)  # the key's reset window (5 s) opens
    done = hwotp_on_keys("fido2", "reset", "--force")
    assert done.exit_code == 0, done.stderr
    assert f"Touch YubiKey 5 NFC {ONE} to confirm the reset." in done.stderr
    assert keys_json(hwotp_on_keys)[0]["pin_set"] is False


def test_reset_outside_the_window_after_power_up_is_refused(plug_keys, hwotp_on_keys):
    serial = ONE
    rig = plug_keys(KeyConfig(serial=serial))
    assert hwotp_on_keys("fido2", "pin", "set", new_pin=PIN).exit_code == 0
    rig.key(serial).authenticator.reset_window = 0.0  # as if plugged in long ago
    line = one_sentence(hwotp_on_keys("fido2", "reset", "--force"), 12)
    assert line == (f"hwotp: YubiKey 5 NFC {ONE} takes a reset only within 5 seconds of being "
                    "plugged in: unplug it, plug it back in and run the reset again at once")
    assert keys_json(hwotp_on_keys)[0]["pin_set"] is True


def test_reset_without_a_touch_is_exit_13_and_nothing_reset(plug_keys, hwotp_on_keys):
    serial = ONE
    rig = plug_keys(KeyConfig(serial=serial, touch="deny", touch_timeout=0.5))
    assert hwotp_on_keys("fido2", "pin", "set", new_pin=PIN).exit_code == 0
    rig.key(serial).authenticator.reset_window = None
    line = one_sentence(hwotp_on_keys("fido2", "reset", "--force"), 13)
    assert line == f"hwotp: YubiKey 5 NFC {ONE} was not touched in time; nothing was reset"
    assert keys_json(hwotp_on_keys)[0]["pin_set"] is True


def test_reset_at_a_terminal_asks_for_the_serial_a_replug_and_a_touch(plug_keys):
    serial = ONE
    rig = plug_keys(KeyConfig(serial=serial, touch_delay=0.3))
    command = rig.command([hwotp_script(), "fido2", "reset"])
    child = pexpect.spawn(command[0], command[1:], encoding="utf-8", timeout=30)
    try:
        child.expect(f"Type the serial {serial} to confirm")
        child.sendline(str(serial))
        child.expect("Unplug it and plug it back in now")
        rig.pull_out(serial)
        time.sleep(0.5)  # hwotp looks every 0.2 s: it sees the key gone
        rig.plug_in(serial)
        child.expect(f"Touch YubiKey 5 NFC {serial} to confirm the reset")
        child.expect(f"Reset YubiKey 5 NFC {serial}")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


# hwotp fido2 credentials


@pytest.fixture
def nfc_rig(plug_keys):
    """A YubiKey 5 NFC on a reader with a PIN, for python-fido2 in this process and hwotp in
    another."""
    rig = Rig(ThroughPcscd(plug_keys))
    rig.set_pin()
    yield rig
    close(rig.device)


def passkeys(nfc_rig: Rig) -> dict[str, list[bytes]]:
    """Two parties' passkeys made by Fido2Client and verified by Fido2Server: their ids."""
    made: dict[str, list[bytes]] = {}
    for rp_id, numbers in (("example.com", (1, 2)), ("login.example.org", (3,))):
        server = Fido2Server(PublicKeyCredentialRpEntity(id=rp_id, name=rp_id),
                             attestation="direct", verify_attestation=verify_self_attestation)
        client = nfc_rig.client(PIN, origin=f"https://{rp_id}")
        made[rp_id] = [
            register(server, client, number, resident=True)[0].credential_data.credential_id
            for number in numbers]
    close(nfc_rig.device)  # hwotp's process connects next
    return made


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_credentials_list_shows_each_relying_partys_passkeys(nfc_rig, hwotp_on_keys):
    made = passkeys(nfc_rig)
    result = hwotp_on_keys("fido2", "credentials", "list", "--json", pin=PIN)
    assert result.exit_code == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["free_slots"] == 97
    assert sorted((item["rp_id"], item["user_name"], item["credential_id"])
                  for item in listing["passkeys"]) == sorted(
        [("example.com", "user1", b64url(made["example.com"][0])),
         ("example.com", "user2", b64url(made["example.com"][1])),
         ("login.example.org", "user3",
          b64url(made["login.example.org"][0]))])
    text = hwotp_on_keys("fido2", "credentials", "list", pin=PIN)
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "login.example.org" in lines and "example.com" in lines
    assert f"  user3 (User 3)  {b64url(made['login.example.org'][0])}" in lines
    assert "3 passkeys on YubiKey 5 NFC 5550001, 97 free slots." in text.stderr


def test_credentials_delete_by_id_and_by_party_and_user(nfc_rig, hwotp_on_keys):
    made = passkeys(nfc_rig)
    first = b64url(made["example.com"][0])
    unconfirmed = one_sentence(hwotp_on_keys("fido2", "credentials", "delete", first, pin=PIN),
                               8)
    assert unconfirmed == ("hwotp: nothing deleted: there is no terminal to confirm; "
                           "pass --force")
    deleted = hwotp_on_keys("fido2", "credentials", "delete", first, "--force", pin=PIN)
    assert deleted.exit_code == 0, deleted.stderr
    assert ("Deleted the passkey of user1 (User 1) for example.com from YubiKey 5 NFC "
            "5550001.") in deleted.stderr
    gone = one_sentence(hwotp_on_keys("fido2", "credentials", "delete", first, "--force",
                                      pin=PIN), 4)
    assert gone == "hwotp: no passkey with that credential id on this key"
    by_user = hwotp_on_keys("fido2", "credentials", "delete", "--rp", "login.example.org",
                            "--user", "user3", "--force", pin=PIN)
    assert by_user.exit_code == 0, by_user.stderr
    listing = json.loads(hwotp_on_keys("fido2", "credentials", "list", "--json",
                                       pin=PIN).stdout)
    assert [(item["rp_id"], item["user_name"]) for item in listing["passkeys"]] == [
        ("example.com", "user2")]
    assert listing["free_slots"] == 99
    both = one_sentence(hwotp_on_keys("fido2", "credentials", "delete", first, "--rp", "x",
                                      pin=PIN), 2)
    assert "by its credential id, or by --rp" in both


def test_credentials_need_the_right_pin(nfc_rig, hwotp_on_keys):
    passkeys(nfc_rig)
    wrong = one_sentence(hwotp_on_keys("fido2", "credentials", "list", pin="9999"), 17)
    assert wrong == ("hwotp: wrong PIN for YubiKey 5 NFC 5550001 (7 tries left before the PIN "
                     "blocks)")
    none = one_sentence(hwotp_on_keys("fido2", "credentials", "list"), 8)
    assert "no PIN for YubiKey 5 NFC 5550001" in none and "HWOTP_FIDO2_PIN" in none


# Secrets


def test_no_pin_in_output_or_debug_log(plug_keys, hwotp_on_keys):
    plug_keys(KeyConfig(serial=ONE))
    runs = [
        hwotp_on_keys("--debug", "fido2", "pin", "set", new_pin=PIN),
        hwotp_on_keys("--debug", "fido2", "pin", "change", pin="4712", new_pin=NEW_PIN),
        hwotp_on_keys("--debug", "fido2", "pin", "change", pin=PIN, new_pin=NEW_PIN),
        hwotp_on_keys("--debug", "fido2", "credentials", "list", pin=NEW_PIN),
        hwotp_on_keys("--debug", "fido2", "pin", "change", stdin=f"{NEW_PIN}\n9876543210\n"),
    ]
    assert [run.exit_code for run in runs] == [0, 17, 0, 0, 0]
    assert "DEBUG" in runs[0].stderr  # the log was on
    for run in runs:
        for secret in (PIN, "4712", NEW_PIN, "9876543210"):
            for spelling in (secret, secret.encode().hex(), secret.encode().hex().upper()):
                assert spelling not in run.stdout + run.stderr


def test_credentials_over_usb_hid_from_a_passkey_a_site_registered(plug_keys, hwotp_on_keys,
                                                                   run_on_keys):
    """The passkey is made by a user's FIDO2 program in the rig's namespace (tests/
    fido2_user.py, python-fido2's Fido2Client over hidraw) and verified by Fido2Server here."""
    plug_keys(KeyConfig(serial=ONE))
    assert hwotp_on_keys("fido2", "pin", "set", new_pin=PIN).exit_code == 0
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"),
                         attestation="direct", verify_attestation=verify_self_attestation)
    options, state = server.register_begin(user(4), resident_key_requirement="required")
    job = {"pin": PIN, "device": None,
           "steps": [{"op": "register", "options": dict(options)["publicKey"]}]}
    program = run_on_keys([sys.executable, USER_PROGRAM], stdin=json.dumps(job) + "\n")
    lines = [json.loads(line) for line in program.stdout.splitlines()]
    assert lines and lines[-1] == {"done": True}, program.stderr
    (answer,) = [line for line in lines if "response" in line]
    made = server.register_complete(state, RegistrationResponse.from_dict(answer["response"]))
    credential_id = b64url(made.credential_data.credential_id)
    listing = json.loads(hwotp_on_keys("fido2", "credentials", "list", "--json",
                                       pin=PIN).stdout)
    assert listing["passkeys"] == [{"rp_id": "example.com", "user_name": "user4",
                                    "user_display_name": "User 4",
                                    "credential_id": credential_id}]
    deleted = hwotp_on_keys("fido2", "credentials", "delete", credential_id, "--force", pin=PIN)
    assert deleted.exit_code == 0, deleted.stderr
    empty = hwotp_on_keys("fido2", "credentials", "list", pin=PIN)
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert f"YubiKey 5 NFC {ONE} holds no passkeys (100 free slots)." in empty.stderr


# The group other modules attach to


def test_a_sibling_modules_command_loads_only_when_the_group_needs_it(hwotp, monkeypatch):
    from hwotp.cli.commands import fido2

    module = "helpers.fido2_sibling"
    monkeypatch.setitem(fido2.LAZY_SUBCOMMANDS, "sibling-drill", module)
    try:
        listed = hwotp("fido2", "pin", "--help")  # another subcommand: the sibling stays out
        assert listed.exit_code == 0 and module not in sys.modules
        helped = hwotp("fido2", "--help")
        assert helped.exit_code == 0 and "sibling-drill" in helped.stdout
        ran = hwotp("fido2", "sibling-drill")
        assert (ran.exit_code, ran.stdout) == (0, "the sibling command ran\n")
    finally:
        fido2.fido2_group.commands.pop("sibling-drill", None)
        sys.modules.pop(module, None)
