"""A FIDO2 security key as a way into the vault, through the installed `hwotp` script in the
virtual keys' namespace: over USB (python-fido2's own hidraw discovery) and over PC/SC (a
YubiKey 5 NFC on a reader). python-fido2's Fido2Server verifies every registration and every
assertion with user presence the virtual key made, from the CTAP exchanges it recorded; the
client data is rebuilt here from what docs/vault-format.md says hwotp sends."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from fido2 import cbor

from helpers.cli import Run
from helpers.fidovault import (
    GET_ASSERTION,
    MAKE_CREDENTIAL,
    PIN,
    RP_ID,
    Machine,
    exchanges,
    failed,
    fido2_slots,
    key_config,
    ok,
    opened_by,
    set_pin,
    verify_with_server,
)
from helpers.keys import ONE, TWO
from helpers.processes import hwotp_script
from helpers.samples import PASSPHRASE
from hwotp.errors import ExitCode
from hwotp.vault import format as fmt
from virtualkey.key import KeyConfig


@pytest.fixture
def usb(plug_keys, tmp_path: Path):
    def plug(*configs: KeyConfig) -> Machine:
        return Machine(plug_keys(*configs, hidraw=True), tmp_path)

    return plug


# --- register, then open by the key in one process and by the passphrase in another -----------


def test_a_registered_key_opens_the_vault_and_the_passphrase_still_does(usb) -> None:
    machine = usb(key_config(ONE, touch_delay=0.2))
    machine.made_vault()
    registered = ok(machine.register("--label", "blue key"))
    assert registered.stderr.count("Touch your security key blue key") == 2  # make, then prove
    assert f"Registered YubiKey 5 NFC {ONE} as key slot" in registered.stderr
    (slot,) = fido2_slots(machine)
    assert (slot["label"], slot["rp"], slot["uv"]) == ("blue key", RP_ID, False)
    assert slot["aaguid"] == "a25342c0-3cdc-4414-8e46-f4807fca511c"

    by_key = ok(machine.hwotp("list"))
    assert f"Touch your security key blue key (YubiKey 5 NFC {ONE})." in by_key.stderr
    by_passphrase = ok(machine.hwotp("list", HWOTP_PASSPHRASE=PASSPHRASE))
    assert "Touch" not in by_passphrase.stderr
    assert by_key.stdout == by_passphrase.stdout and "Acme:al" in by_key.stdout
    skipped = ok(machine.hwotp("--use-passphrase", "list", stdin=PASSPHRASE + "\n"))
    assert skipped.stdout == by_key.stdout and "Touch" not in skipped.stderr
    skipped = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n", HWOTP_SKIP_SECURITY_KEYS="1"))
    assert skipped.stdout == by_key.stdout and "Touch" not in skipped.stderr
    assert verify_with_server(machine.rig, ONE, slot) == 2  # register's and list's

    slots = json.loads(ok(machine.hwotp("vault", "slots", "--json")).stdout)
    key_row = next(row for row in slots if row["type"] == "fido2-hmac-secret")
    assert key_row["opened_this_time"] and key_row["label"] == "blue key"
    assert key_row["last_verified"] is not None


def test_two_keys_registered_each_opens_alone(usb) -> None:
    machine = usb(key_config(ONE), key_config(TWO))
    machine.made_vault()
    ok(machine.register("--label", "first", "--device", str(ONE)))
    second = ok(machine.register("--label", "second"))  # the one not registered yet
    assert str(TWO) in second.stderr
    assert [slot["label"] for slot in fido2_slots(machine)] == ["first", "second"]
    drill = ok(machine.hwotp("fido2", "verify"))
    assert [line.split()[1] for line in drill.stdout.splitlines()] == ["'first'", "'second'"]
    # One key alone opens it (`vault slots` names the slot that did; it reads no OATH).
    machine.rig.pull_out(ONE)
    assert opened_by(machine) == "second"
    machine.rig.plug_in(ONE)
    machine.rig.pull_out(TWO)
    assert opened_by(machine) == "first"
    for serial, slot in zip((ONE, TWO), fido2_slots(machine), strict=True):
        assert verify_with_server(machine.rig, serial, slot) >= 2


def test_an_unregistered_key_is_named_and_the_passphrase_asked(usb) -> None:
    machine = usb(key_config(ONE), key_config(TWO))
    machine.made_vault()
    ok(machine.register("--label", "mine", "--device", str(ONE)))
    machine.rig.pull_out(ONE)
    before = machine.vault.read_bytes()
    drill = failed(machine.hwotp("fido2", "verify"), ExitCode.SECURITY_KEY_UNKNOWN)
    assert drill == (f"hwotp: YubiKey 5 NFC {TWO} is not registered to this vault (it opens "
                     "none of its slots)")
    # Nothing on standard input: the plugged key is probed, named, and the passphrase asked.
    probed = machine.hwotp("vault", "slots")
    assert probed.exit_code == ExitCode.CANCELLED, probed.everything
    assert f"YubiKey 5 NFC {TWO}) is not registered to this vault; using the passphrase" in (
        probed.stderr)
    listed = ok(machine.hwotp("vault", "slots", stdin=PASSPHRASE + "\n"))
    assert "passphrase (scrypt)  (opened it now)" in listed.stdout
    wrong = failed(machine.hwotp("vault", "slots", stdin="not it\n"), ExitCode.WRONG_PASSPHRASE)
    assert wrong == ("hwotp: wrong passphrase; a registered security key opens it: plug it in "
                     "(from a script: --use-security-key, or nothing on standard input)")
    assert machine.vault.read_bytes() == before
    # No key registered at all: the drill says so.
    machine.vault.unlink()
    machine.made_vault()
    assert "no security key is registered" in failed(machine.hwotp("fido2", "verify"),
                                                      ExitCode.SECURITY_KEY_UNKNOWN)


def test_verify_records_when_each_key_proved_itself(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "drill"))

    def proved() -> str:
        rows = json.loads(ok(machine.hwotp("vault", "slots", "--json",
                                           HWOTP_PASSPHRASE=PASSPHRASE)).stdout)
        return next(row["last_verified"] for row in rows if row["type"] == "fido2-hmac-secret")

    first = proved()
    time.sleep(1.1)  # the record is in whole seconds
    drill = ok(machine.hwotp("fido2", "verify"))
    assert drill.stdout.endswith(f"'drill' (YubiKey 5 NFC {ONE}): opens the vault\n")
    assert proved() > first
    listing = ok(machine.hwotp("vault", "slots", HWOTP_PASSPHRASE=PASSPHRASE)).stdout
    assert f"security key 'drill'  (last proved {proved()[:10]})" in listing
    # The key plugged in proves the way that stays: the passphrase can go, and then the key
    # is the last way in.
    passphrase_slot, key_slot = (row["id"] for row in json.loads(
        ok(machine.hwotp("vault", "slots", "--json", HWOTP_PASSPHRASE=PASSPHRASE)).stdout))
    opened_by_it = failed(machine.hwotp("vault", "slots", "remove", key_slot), ExitCode.BAD_INPUT)
    assert "is the one that opened the vault" in opened_by_it
    ok(machine.hwotp("vault", "slots", "remove", passphrase_slot))
    failed(machine.hwotp("--use-passphrase", "list", stdin=PASSPHRASE + "\n"),
           ExitCode.WRONG_PASSPHRASE)
    assert "Acme:al" in ok(machine.hwotp("list")).stdout
    last = failed(machine.hwotp("vault", "slots", "remove", key_slot), ExitCode.BAD_INPUT)
    assert "cannot remove the last way into the vault" in last
    assert [slot["type"] for slot in machine.slots()] == ["fido2-hmac-secret"]


# --- touch, PIN -------------------------------------------------------------------------------


def test_a_touch_not_given_ends_register_and_unlock_with_one_sentence(usb) -> None:
    machine = usb(key_config(ONE, touch="deny", touch_timeout=0.3))
    machine.made_vault()
    before = machine.vault.read_bytes()
    message = failed(machine.register("--label", "x"), ExitCode.TOUCH_TIMEOUT)
    assert message == f"hwotp: YubiKey 5 NFC {ONE} was not touched in time"
    assert machine.vault.read_bytes() == before
    machine.rig.key(ONE).presence.policy = "auto"
    ok(machine.register("--label", "x"))
    registered = machine.vault.read_bytes()
    machine.rig.key(ONE).presence.policy = "deny"
    message = failed(machine.hwotp("list"), ExitCode.TOUCH_TIMEOUT)
    assert message == f"hwotp: YubiKey 5 NFC {ONE} was not touched in time"
    assert machine.vault.read_bytes() == registered


def test_a_slot_made_with_the_pin_asks_for_it_every_time(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    ok(machine.register("--label", "pinned", HWOTP_FIDO2_PIN=PIN))  # --uv by default: a PIN
    (slot,) = fido2_slots(machine)
    assert slot["uv"] is True
    registered = machine.vault.read_bytes()
    opened = ok(machine.hwotp("list", HWOTP_FIDO2_PIN=PIN))
    assert "Acme:al" in opened.stdout
    wrong = failed(machine.hwotp("list", HWOTP_FIDO2_PIN="9876"), ExitCode.PIN_REFUSED)
    assert wrong.startswith(f"hwotp: wrong PIN for YubiKey 5 NFC {ONE} (")
    assert "tries left" in wrong and "9876" not in wrong
    none = failed(machine.hwotp("list"), ExitCode.CANCELLED)
    assert "HWOTP_FIDO2_PIN" in none
    assert machine.vault.read_bytes() == registered
    assert verify_with_server(machine.rig, ONE, slot, uv=True) == 2


def test_a_slot_made_without_the_pin_never_asks_for_it(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    ok(machine.register("--label", "plain", "--no-uv", HWOTP_FIDO2_PIN=PIN))
    (slot,) = fido2_slots(machine)
    assert slot["uv"] is False
    opened = ok(machine.hwotp("list"))  # no PIN anywhere, and none asked
    assert "Acme:al" in opened.stdout and "PIN" not in opened.stderr
    assert verify_with_server(machine.rig, ONE, slot, uv=False) == 2


def test_a_blocked_pin_is_one_sentence_with_what_to_do(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    ok(machine.register("--label", "pinned", "--uv", HWOTP_FIDO2_PIN=PIN))
    registered = machine.vault.read_bytes()
    machine.rig.key(ONE).authenticator.pin.retries = 1  # seven wrong PINs before
    last_try = failed(machine.hwotp("list", HWOTP_FIDO2_PIN="9876"), ExitCode.PIN_REFUSED)
    assert "9876" not in last_try
    blocked = failed(machine.hwotp("list", HWOTP_FIDO2_PIN=PIN), ExitCode.PIN_REFUSED)
    assert "blocked" in blocked and "hwotp fido2 reset" in blocked
    # The passphrase still opens it, and nothing was written.
    ok(machine.hwotp("list", HWOTP_PASSPHRASE=PASSPHRASE))
    assert machine.vault.read_bytes() == registered


# --- scripts: a line of standard input is a passphrase or data, never a PIN ------------------


def test_a_passphrase_on_standard_input_is_never_sent_to_a_key_as_its_pin(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    ok(machine.register("--label", "pinned", "--uv", HWOTP_FIDO2_PIN=PIN))
    pin = machine.rig.key(ONE).authenticator.pin
    for _ in range(3):  # a cron job that worked before the key was registered
        listed = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n"))
        assert "Acme:al" in listed.stdout and "Touch" not in listed.stderr
    assert pin.retries == 8
    # The PIN itself on standard input is a wrong passphrase, not a PIN: no try is spent.
    assert failed(machine.hwotp("list", stdin=PIN + "\n"), ExitCode.WRONG_PASSPHRASE).startswith(
        "hwotp: wrong passphrase; a registered security key opens it")
    assert pin.retries == 8
    # A script that chose the key gives its PIN in HWOTP_FIDO2_PIN, never on standard input.
    chosen = failed(machine.hwotp("--use-security-key", "list", stdin=PIN + "\n"),
                    ExitCode.CANCELLED)
    assert chosen == (f"hwotp: no PIN for YubiKey 5 NFC {ONE}: a PIN that opens the vault is "
                      "never read from standard input; set HWOTP_FIDO2_PIN")
    assert pin.retries == 8
    by_key = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n", HWOTP_FIDO2_PIN=PIN))
    assert "Touch your security key pinned" in by_key.stderr and "Acme:al" in by_key.stdout
    # A command that asks for the passphrase itself still reads it there.
    new = "a different passphrase of five words"
    ok(machine.hwotp("vault", "passphrase", stdin=PASSPHRASE + "\n", HWOTP_FIDO2_PIN=PIN,
                     HWOTP_NEW_PASSPHRASE=new))
    assert "Acme:al" in ok(machine.hwotp("list", stdin=new + "\n")).stdout


def test_a_key_without_uv_waits_for_no_touch_when_a_passphrase_is_given(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "plain", "--no-uv"))
    machine.rig.key(ONE).presence.policy = "deny"  # nobody at the machine to touch it
    listed = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n"))
    assert "Acme:al" in listed.stdout and "Touch" not in listed.stderr
    # Nothing on standard input (a launcher, cron): the key is asked, as before.
    waited = failed(machine.hwotp("list"), ExitCode.TOUCH_TIMEOUT)
    assert waited == f"hwotp: YubiKey 5 NFC {ONE} was not touched in time"
    assert failed(machine.hwotp("list", HWOTP_USE_SECURITY_KEY="1", stdin=PASSPHRASE + "\n"),
                  ExitCode.TOUCH_TIMEOUT) == waited


def test_a_wrong_line_from_a_script_points_at_the_key_and_an_empty_pin_variable_is_unset(
    usb,
) -> None:
    machine = usb(key_config(TWO))
    machine.made_vault()
    ok(machine.register("--label", "plain", "--no-uv"))
    machine.rig.key(TWO).presence.policy = "deny"
    wrong = failed(machine.hwotp("list", stdin="not the passphrase\n"),
                   ExitCode.WRONG_PASSPHRASE)
    assert wrong.startswith("hwotp: wrong passphrase") and "--use-security-key" in wrong
    # HWOTP_FIDO2_PIN="" (a script's ${PIN:-}) does not choose the key: the line is read.
    listed = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n", HWOTP_FIDO2_PIN=""))
    assert "Acme:al" in listed.stdout and "Touch" not in listed.stderr


def test_recovery_codes_read_after_the_passphrase_line_or_without_one(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "plain", "--no-uv"))
    codes = ["hunter2secret99", "qqqq-wwww-1111", "rrrr-tttt-2222"]
    pasted = "".join(code + "\n" for code in codes) + "\n"
    ok(machine.hwotp("recovery", "add", "GitHub", stdin=PASSPHRASE + "\n" + pasted))
    shown = ok(machine.hwotp("recovery", "show", "GitHub", "--force", stdin=PASSPHRASE + "\n"))
    assert shown.stdout.splitlines() == [f"{n}. {code}" for n, code in enumerate(codes, 1)]
    assert PASSPHRASE not in shown.everything
    # A script that chose the key gives only the codes; a touch opens the vault.
    by_key = ok(machine.hwotp("--use-security-key", "recovery", "add", "GitLab", stdin=pasted))
    assert "Touch your security key plain" in by_key.stderr
    shown = ok(machine.hwotp("recovery", "show", "GitLab", "--force", HWOTP_PASSPHRASE=PASSPHRASE))
    assert shown.stdout.splitlines() == [f"{n}. {code}" for n, code in enumerate(codes, 1)]
    # ...and with the key not plugged in, its first code is not read as the passphrase.
    machine.rig.pull_out(ONE)
    before = machine.vault.read_bytes()
    absent = failed(machine.hwotp("recovery", "add", "Other", stdin=pasted,
                                  HWOTP_USE_SECURITY_KEY="1"), ExitCode.CANCELLED)
    assert absent == ("hwotp: no vault passphrase: no registered security key opened the vault, "
                      "and with --use-security-key or HWOTP_FIDO2_PIN set standard input is not "
                      "read for it; set HWOTP_PASSPHRASE")
    assert machine.vault.read_bytes() == before


def test_the_pin_is_not_asked_of_standard_input_an_option_read(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    ok(machine.register("--label", "pinned", "--uv", HWOTP_FIDO2_PIN=PIN))
    uri = "otpauth://totp/Other:bo?secret=JBSWY3DPEHPK3PXQ&issuer=Other"
    before = machine.vault.read_bytes()
    taken = failed(machine.hwotp("enroll", "--in-vault", "--uri", "-", stdin=uri + "\n"),
                   ExitCode.CANCELLED)
    assert taken == (f"hwotp: no PIN for YubiKey 5 NFC {ONE}: standard input was read for "
                     "--uri -; set HWOTP_FIDO2_PIN")
    assert machine.vault.read_bytes() == before
    ok(machine.hwotp("enroll", "--in-vault", "--uri", "-", stdin=uri + "\n",
                     HWOTP_FIDO2_PIN=PIN))
    assert "Other:bo" in ok(machine.hwotp("list", HWOTP_PASSPHRASE=PASSPHRASE)).stdout


# --- a reset of a registered key, a changed slot ----------------------------------------------


def test_a_reset_never_loses_the_vault_on_force_alone(usb) -> None:
    machine = usb(key_config(ONE), key_config(TWO))
    machine.made_vault()
    ok(machine.register("--label", "only", "--device", str(ONE)))
    passphrase_slot = machine.slots()[0]["id"]
    ok(machine.hwotp("vault", "slots", "remove", passphrase_slot))  # opened by the key
    (key_slot,) = fido2_slots(machine)
    machine.rig.pull_out(ONE)
    machine.rig.plug_in(ONE)  # the key's reset window opens
    refused = failed(machine.hwotp("fido2", "reset", "--force", "--device", str(ONE)),
                     ExitCode.CANCELLED)
    assert refused == (
        f"hwotp: nothing reset: YubiKey 5 NFC {ONE} is the last way into the vault at "
        f"{machine.vault} (key slot {key_slot['id']} ('only')), which nothing could open after "
        "the reset; add another first (hwotp vault slots add-passphrase, hwotp vault "
        "recovery-key), or pass --even-if-vault-lost")
    assert "Acme:al" in ok(machine.hwotp("list")).stdout  # the key still opens it
    # Another key's reset is none of the vault's business.
    machine.rig.pull_out(TWO)
    machine.rig.plug_in(TWO)
    other = ok(machine.hwotp("fido2", "reset", "--force", "--device", str(TWO)))
    assert "vault" not in other.stderr
    # Said in so many words, it goes.
    machine.rig.pull_out(ONE)
    machine.rig.plug_in(ONE)
    lost = ok(machine.hwotp("fido2", "reset", "--force", "--even-if-vault-lost",
                            "--device", str(ONE)))
    assert "is the last way into the vault" in lost.stderr
    assert "after the reset nothing can ever open it" in lost.stderr


def test_a_reset_of_a_registered_key_names_the_slot_it_leaves(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "blue"))
    (key_slot,) = fido2_slots(machine)
    machine.rig.pull_out(ONE)
    machine.rig.plug_in(ONE)
    done = ok(machine.hwotp("fido2", "reset", "--force"))
    assert (f"YubiKey 5 NFC {ONE} opens the vault at {machine.vault} (key slot "
            f"{key_slot['id']} ('blue')); after the reset it no longer does, and 1 other way in "
            "stays (hwotp vault slots)") in done.stderr
    listed = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n"))
    assert "Acme:al" in listed.stdout
    unknown = machine.hwotp("vault", "slots")  # the key opens nothing now
    assert unknown.exit_code == ExitCode.CANCELLED, unknown.everything
    assert "is not registered to this vault; using the passphrase" in unknown.stderr


def test_a_reset_at_a_terminal_names_the_slot_before_the_serial_is_typed(usb) -> None:
    import pexpect

    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "blue"))
    (key_slot,) = fido2_slots(machine)
    command = machine.rig.command([hwotp_script(), "fido2", "reset"])
    child = pexpect.spawn(command[0], command[1:], encoding="utf-8", timeout=30,
                          env=machine.env())
    try:
        child.expect_exact(f"(key slot {key_slot['id']} ('blue')); after the reset it no longer "
                           "does")
        child.expect_exact(f"Type the serial {ONE} to confirm")
        child.sendline("no")
        child.expect_exact("nothing reset")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == ExitCode.CANCELLED
    assert "Acme:al" in ok(machine.hwotp("list")).stdout  # the key still opens it


def rewritten_slot(machine: Machine, change) -> None:
    """The vault file with its key slot changed by `change` and the trailer recomputed, as
    someone editing the file would."""
    import hashlib as sha

    data = machine.vault.read_bytes()
    line, _, ciphertext = data[:-32].partition(b"\n")
    header = json.loads(line)
    change(header, next(s for s in header["slots"] if s["type"] == "fido2-hmac-secret"))
    body = fmt.canonical_json(header) + b"\n" + ciphertext
    machine.vault.write_bytes(body + sha.sha256(body).digest())


@pytest.mark.parametrize("change", [
    lambda header, slot: slot.update(label="changed"),
    lambda header, slot: header["slots"].insert(0, {**slot, "id": "0badc0de",
                                                    "nonce": fmt.b64(bytes(12))}),
], ids=["label", "duplicate"])
def test_a_changed_slot_is_a_modified_vault_not_a_foreign_key(usb, change) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "blue"))
    rewritten_slot(machine, change)
    message = failed(machine.hwotp("list"), ExitCode.VAULT_DAMAGED)
    assert message.startswith("hwotp: the vault file is damaged or was modified: key slot ")
    assert "which holds its credential" in message and "hwotp vault check" in message


def test_the_slots_relying_party_is_the_one_asked(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "blue"))
    rewritten_slot(machine, lambda header, slot: slot.update(rp="example.com"))
    probed = machine.hwotp("vault", "slots")
    assert probed.exit_code == ExitCode.CANCELLED, probed.everything
    assert "is not registered to this vault; using the passphrase" in probed.stderr
    requests = machine.rig.key(ONE).authenticator.exchanges
    (last,) = [cbor.decode(request[1:]) for request, _ in requests
               if request[0] == GET_ASSERTION][-1:]
    assert last[1] == "example.com"  # the probe asked for the slot's relying party


def test_uv_on_a_key_without_a_pin_is_refused_before_any_touch(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    before = machine.vault.read_bytes()
    message = failed(machine.register("--uv"), ExitCode.PIN_REFUSED)
    assert "has no PIN yet" in message
    assert machine.vault.read_bytes() == before
    assert not exchanges(machine.rig, ONE, MAKE_CREDENTIAL)


# --- a key pulled out -------------------------------------------------------------------------


def _wait_for(child: subprocess.Popen, text: str) -> str:
    seen = ""
    while text not in seen:
        line = child.stderr.readline()
        assert line, f"hwotp ended before saying {text!r}: {seen}"
        seen += line
    return seen


def _finish(child: subprocess.Popen) -> Run:
    out, err = child.communicate(timeout=60)
    return Run(child.returncode, out, err)


@pytest.mark.parametrize("touches_before", [0, 1])
def test_a_key_pulled_during_register_leaves_the_vault_as_it_was(usb, touches_before) -> None:
    """Pulled while the key waits for the first touch (make the credential) or the second
    (the hmac-secret for the new salt)."""
    machine = usb(key_config(ONE, touch="signal", touch_timeout=20))
    machine.made_vault()
    before = machine.vault.read_bytes()
    key = machine.rig.key(ONE)
    child = machine.start("fido2", "register", "--label", "pulled", HWOTP_PASSPHRASE=PASSPHRASE)
    try:
        for _ in range(touches_before):
            _wait_for(child, "Touch your security key")
            key.touch()
        _wait_for(child, "Touch your security key")
        machine.rig.pull_out(ONE)
        result = _finish(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    message = failed(result, ExitCode.KEY_UNAVAILABLE)
    assert f"YubiKey 5 NFC {ONE} stopped answering" in message
    assert machine.vault.read_bytes() == before


def test_a_key_pulled_while_it_waits_to_open_the_vault(usb) -> None:
    machine = usb(key_config(ONE, touch="signal", touch_timeout=20))
    machine.made_vault()
    key = machine.rig.key(ONE)
    child = machine.start("fido2", "register", "--label", "k", HWOTP_PASSPHRASE=PASSPHRASE)
    for _ in range(2):
        _wait_for(child, "Touch your security key")
        key.touch()
    assert _finish(child).exit_code == 0
    registered = machine.vault.read_bytes()
    child = machine.start("list")
    try:
        _wait_for(child, "Touch your security key k")
        machine.rig.pull_out(ONE)
        result = _finish(child)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "stopped answering" in failed(result, ExitCode.KEY_UNAVAILABLE)
    assert machine.vault.read_bytes() == registered
    # Back in: it opens again (a power-cycled key keeps its credentials).
    machine.rig.plug_in(ONE)
    machine.rig.key(ONE).presence.policy = "auto"
    assert "Acme:al" in ok(machine.hwotp("list")).stdout


# --- over PC/SC: a YubiKey 5 NFC on a reader ----------------------------------------------------


def test_a_key_on_an_nfc_reader_registers_and_opens_the_vault(plug_keys, tmp_path) -> None:
    machine = Machine(plug_keys(key_config(ONE, transport="nfc")), tmp_path)
    machine.made_vault()
    ok(machine.register("--label", "on the reader"))
    (slot,) = fido2_slots(machine)
    assert opened_by(machine) == "on the reader"
    # `list` asks the key's OATH applet first, then the FIDO applet opens the vault.
    by_key = ok(machine.hwotp("list"))
    by_passphrase = ok(machine.hwotp("list", HWOTP_PASSPHRASE=PASSPHRASE))
    assert by_key.stdout == by_passphrase.stdout and "Acme:al" in by_key.stdout
    assert "Touch your security key on the reader" in by_key.stderr
    ok(machine.hwotp("fido2", "verify"))
    assert verify_with_server(machine.rig, ONE, slot) == 4  # register, slots, list, verify


def _clean_failure(result: Run) -> None:
    """A key gone mid-way: one sentence and a documented code (the key stopped answering, or
    it was not found at all and nobody could give the passphrase instead)."""
    assert result.exit_code in (ExitCode.KEY_UNAVAILABLE, ExitCode.CANCELLED), result.everything
    assert "Traceback" not in result.everything
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("hwotp: ") and len(
        [line for line in lines if line.startswith("hwotp: ")]) == 1, result.stderr


def _steps(records) -> list[int]:
    """The positions (0-based) of the APDUs that begin a request: every one but those that
    continue a chain (CLA bit 0x10 on the APDU before) or fetch the rest of an answer."""
    starts = []
    for index, record in enumerate(records):
        chained = index > 0 and (records[index - 1].cla or 0) & 0x10
        if not chained and record.ins != 0xC0:
            starts.append(index)
    return starts


def test_a_key_pulled_at_each_step_of_register_and_unlock(plug_keys, tmp_path) -> None:
    """Over PC/SC the key can be pulled before any request of a run (each applet selection,
    each CTAP command: getInfo, the probe, makeCredential, getAssertion, ...): register and
    the unlock each fail with one sentence, the vault as it was."""
    from helpers.keys import replug

    serial = ONE
    machine = Machine(plug_keys(KeyConfig(serial=serial, transport="nfc")), tmp_path)
    key = machine.rig.key(serial)
    machine.made_vault()
    register = (("fido2", "register", "--label", "k"), {"HWOTP_PASSPHRASE": PASSPHRASE})
    unlock = (("vault", "slots", "--json"), {})
    for args, extra in (register, unlock):
        before = machine.vault.read_bytes()
        # Where the requests of a run begin, from a run in a copy of this state.
        copy = machine.vault.with_name("probe.hwotp")
        copy.write_bytes(before)
        first = key.log.count
        # A copy is the same vault (its id): its own cache, so that its write is not seen as
        # a newer generation of the vault, which would make the vault a rollback.
        ok(machine.hwotp(*args, HWOTP_VAULT=str(copy),
                         HWOTP_CACHE_DIR=str(tmp_path / "probe-cache"), **extra))
        steps = _steps(key.log.records[first:])
        assert len(steps) >= 6, steps
        for step in steps:
            key.faults.pull_after = key.log.count + step  # answered up to it, then gone
            result = machine.hwotp(*args, **extra)
            _clean_failure(result)
            assert machine.vault.read_bytes() == before, (args, step)
            replug(machine.rig, serial)
        key.faults.plug_in()
        ok(machine.hwotp(*args, **extra))


# --- keys before the vault; a vault of passphrases only -------------------------------------


def test_a_code_from_a_yubikey_never_waits_for_the_security_key(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    # A passphrase-only vault (the format before key slots): a plugged key is not even asked.
    plain = ok(machine.hwotp("list", stdin=PASSPHRASE + "\n"))
    assert "Acme:al" in plain.stdout and "security key" not in plain.stderr
    assert not exchanges(machine.rig, ONE, GET_ASSERTION)
    ok(machine.hwotp("enroll", "--secret", "GEZDGNBVGY3TQOJQ", "--issuer", "Bank",
                     "--account", "me", "--no-touch", "--no-vault"))
    ok(machine.register("--label", "blue"))
    asked = len(exchanges(machine.rig, ONE, GET_ASSERTION))
    code = ok(machine.hwotp("code", "Bank:me"))
    assert "Touch" not in code.stderr and code.stdout.startswith("Bank:me")
    assert len(exchanges(machine.rig, ONE, GET_ASSERTION)) == asked  # no probe, no touch
    both = ok(machine.hwotp("list"))  # the vault's part: now the key opens it
    assert "Bank:me" in both.stdout and "Acme:al" in both.stdout
    assert "Touch your security key blue" in both.stderr
    # Changing the passphrase asks for the current one, even with the key plugged in; the key
    # still opens the vault afterwards (two slots: the master key stays).
    new = "a new passphrase of several unrelated words"
    changed = ok(machine.hwotp("vault", "passphrase", stdin=PASSPHRASE + "\n",
                               HWOTP_NEW_PASSPHRASE=new))
    assert "Touch" not in changed.stderr
    assert "Acme:al" in ok(machine.hwotp("--use-passphrase", "list", stdin=new + "\n")).stdout
    assert "Touch your security key blue" in ok(machine.hwotp("list")).stderr


def test_a_key_only_vault_is_checked_and_restored_by_its_key(usb) -> None:
    """No passphrase slot: a damaged vault is said to be damaged before the key is asked
    anything, and the key plugged in checks and restores the backup (a touch each)."""
    machine = usb(key_config(ONE))
    machine.made_vault()
    ok(machine.register("--label", "only"))
    (passphrase_slot,) = [s["id"] for s in machine.slots() if s["type"] == "scrypt"]
    ok(machine.hwotp("vault", "slots", "remove", passphrase_slot))
    ok(machine.hwotp("enroll", "--secret", "GEZDGNBVGY3TQOJQ", "--issuer", "Bank",
                     "--account", "me", "--in-vault"))  # the backup: before Bank
    damaged = bytearray(machine.vault.read_bytes())
    damaged[-40] ^= 0x01
    machine.vault.write_bytes(bytes(damaged))
    asked = len(exchanges(machine.rig, ONE, GET_ASSERTION))
    message = failed(machine.hwotp("code"), ExitCode.VAULT_DAMAGED)
    assert message.startswith("hwotp: the vault file is damaged or was modified; the previous "
                              "version is in")
    assert len(exchanges(machine.rig, ONE, GET_ASSERTION)) == asked  # not even a probe
    backup = machine.vault.with_name("vault.hwotp.bak")
    checked = ok(machine.hwotp("vault", "check", "--backup"))
    assert "Touch your security key only" in checked.stderr
    assert f"{backup} is intact: 1 credential, 1 key slot" in checked.stderr
    restored = ok(machine.hwotp("vault", "restore-backup", "--force"))
    assert restored.stderr.count("Touch your security key only") == 1
    assert restored.stderr.endswith(f"Restored {machine.vault} from {backup}: 1 credential; "
                                    "HOTP counters and used recovery codes go back to the "
                                    "backup's too.\n")
    assert machine.vault.read_bytes() == backup.read_bytes()
    listed = ok(machine.hwotp("list"))
    assert "Acme:al" in listed.stdout and "Bank:me" not in listed.stdout
    drill = ok(machine.hwotp("vault", "check"))
    assert "The security key (slot " in drill.stderr and "recorded as proved now" in drill.stderr
