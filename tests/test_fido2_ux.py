"""Findings of a new user's trial, through the installed script against virtual keys: what
`fido2 register` checks before it asks for the vault passphrase, the PIN asked once per
command, a new PIN's length said before its confirmation, how a missing vault is made, a
vault without a passphrase, and a key's name at the start of a sentence."""

from __future__ import annotations

import os
from pathlib import Path

import pexpect
import pytest

from helpers.fidovault import (
    CREDENTIAL,
    MAKE_CREDENTIAL,
    PIN,
    Machine,
    exchanges,
    failed,
    fido2_slots,
    key_config,
    ok,
    set_pin,
)
from helpers.keys import ONE, TWO
from helpers.processes import hwotp_script
from helpers.samples import GITHUB, PASSPHRASE
from hwotp.errors import ExitCode
from hwotp.vault import Vault
from hwotp.vault import format as fmt


@pytest.fixture
def usb(plug_keys, tmp_path: Path):
    def plug(*configs) -> Machine:
        return Machine(plug_keys(*configs, hidraw=True), tmp_path)

    return plug


# --- A: fido2 register checks the key before the passphrase; the PIN asked once --------------


def test_register_with_two_keys_and_no_device_asks_nothing_first(usb) -> None:
    machine = usb(key_config(ONE), key_config(TWO))
    machine.made_vault()
    before = machine.vault.read_bytes()
    # No passphrase anywhere: asking for it would end the command with exit 8.
    message = failed(machine.hwotp("fido2", "register"), ExitCode.USAGE)
    assert "2 security keys are present" in message and "--device" in message
    assert machine.vault.read_bytes() == before


def test_uv_on_a_key_without_a_pin_is_refused_before_the_passphrase(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    result = machine.hwotp("--use-passphrase", "fido2", "register", "--uv", "--device",
                           str(ONE))
    assert "has no PIN yet" in failed(result, ExitCode.PIN_REFUSED)
    assert not exchanges(machine.rig, ONE, MAKE_CREDENTIAL)


def test_a_bad_label_and_a_key_registered_already_are_said_before_the_passphrase(usb) -> None:
    machine = usb(key_config(ONE))
    machine.made_vault()
    blank = failed(machine.hwotp("fido2", "register", "--label", " x"), ExitCode.BAD_INPUT)
    assert blank == "hwotp: the label cannot be used: a label has no surrounding blanks"
    ok(machine.register("--label", "x"))
    registered = machine.vault.read_bytes()
    # Neither passphrase nor the registered key's touch: the probe tells without them.
    again = machine.hwotp("fido2", "register", "--device", str(ONE))
    assert failed(again, ExitCode.EXISTS).startswith(
        f"hwotp: YubiKey 5 NFC {ONE} is already registered (slot ")
    assert "Touch" not in again.stderr
    assert machine.vault.read_bytes() == registered


def test_a_key_with_a_pin_is_asked_for_it_once(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    machine.made_vault()
    # One line of standard input holds the PIN: a second question would find nothing (exit 8).
    for uv in ("--uv", "--no-uv"):
        done = ok(machine.register("--label", uv, uv, stdin=PIN + "\n"))
        assert done.stderr.count("Touch your security key") == 2
        (slot,) = fido2_slots(machine)
        assert slot["uv"] is (uv == "--uv")
        ok(machine.hwotp("vault", "slots", "remove", slot["id"],
                         HWOTP_PASSPHRASE=PASSPHRASE))


# --- B: a new PIN too short is said before its confirmation -----------------------------------


def _spawn(machine: Machine, *args: str) -> pexpect.spawn:
    command = machine.rig.command([hwotp_script(), *args])
    return pexpect.spawn(command[0], command[1:], encoding="utf-8", timeout=30,
                         env=machine.env())


def test_a_new_pin_too_short_is_said_before_the_confirmation(usb) -> None:
    machine = usb(key_config(ONE))
    child = _spawn(machine, "fido2", "pin", "set")
    try:
        child.expect(f"New PIN for YubiKey 5 NFC {ONE}")
        child.sendline("12")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == ExitCode.PIN_REFUSED
    assert "Repeat for confirmation" not in child.before
    assert f"hwotp: the new PIN is too short: YubiKey 5 NFC {ONE} needs at least 4" \
        in child.before
    child = _spawn(machine, "fido2", "pin", "set")
    try:
        child.expect("New PIN for")
        child.sendline(PIN)
        child.expect("Repeat for confirmation")
        child.sendline(PIN + "0")
        child.expect("hwotp: the two entries do not match; type them again")
        child.expect("New PIN for")
        child.sendline(PIN)
        child.expect("Repeat for confirmation")
        child.sendline(PIN)
        child.expect(f"Set the PIN of YubiKey 5 NFC {ONE}.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


# --- C: no vault yet says how to make one -------------------------------------------------------


def test_commands_that_need_a_vault_say_how_to_make_one(usb) -> None:
    machine = usb(key_config(ONE))
    expected = (f"hwotp: there is no vault at {machine.vault} yet; 'hwotp enroll --in-vault' "
                "creates it with a first credential")
    for command in (["fido2", "register"], ["fido2", "verify"], ["vault", "slots"],
                    ["vault", "recovery-key"], ["vault", "check"], ["vault", "passphrase"]):
        result = machine.hwotp(*command, HWOTP_PASSPHRASE=PASSPHRASE)
        assert failed(result, ExitCode.STORAGE) == expected, command
    assert not machine.vault.exists()
    ok(machine.hwotp("enroll", "--uri", GITHUB, "--in-vault", HWOTP_PASSPHRASE=PASSPHRASE))
    ok(machine.hwotp("vault", "check", HWOTP_PASSPHRASE=PASSPHRASE))


# --- D: a vault without a passphrase slot -------------------------------------------------------


def test_changing_the_passphrase_of_a_vault_without_one_asks_nothing(usb) -> None:
    machine = usb(key_config(ONE))
    vault = Vault.create(machine.vault, PASSPHRASE, [CREDENTIAL])
    vault.add_recovery_key(os.urandom(20))
    (passphrase_slot,) = fmt.parse(machine.vault.read_bytes()).header.scrypt_slots()
    vault.remove_slot(passphrase_slot.id)
    before = machine.vault.read_bytes()
    result = machine.hwotp("vault", "passphrase", HWOTP_PASSPHRASE=PASSPHRASE,
                           HWOTP_NEW_PASSPHRASE="a long and unrelated new passphrase")
    message = failed(result, ExitCode.USAGE)
    assert message.startswith("hwotp: this vault has no passphrase; add one with "
                              "'hwotp vault slots add-passphrase'")
    assert machine.vault.read_bytes() == before


# --- E: a key's name keeps its capitals at the start of a sentence ------------------------------


def test_a_sentence_that_starts_with_a_key_name_keeps_its_capitals(usb) -> None:
    machine = usb(key_config(ONE))
    set_pin(machine.rig, ONE)
    result = machine.hwotp("fido2", "pin", "set", "--device", str(ONE),
                           HWOTP_FIDO2_NEW_PIN=PIN)
    assert failed(result, ExitCode.USAGE).startswith(
        f"hwotp: YubiKey 5 NFC {ONE} has a PIN already; use 'hwotp fido2 pin change'")


@pytest.mark.parametrize(("said", "printed"), [
    ("Missing argument 'QUERY'", "missing argument 'QUERY'"),
    ("Got unexpected", "got unexpected"),
    ("YubiKey 5 NFC 1 has a PIN", "YubiKey 5 NFC 1 has a PIN"),
    ("FIDO2 key", "FIDO2 key"),
    ("NFC reader", "NFC reader"),
])
def test_only_a_plain_capitalised_first_word_is_lowered(said: str, printed: str) -> None:
    from hwotp.cli.root import _lower_first

    assert _lower_first(said) == printed
