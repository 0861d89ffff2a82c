"""The printed recovery key: its written form (a check character per group catches a typo
before any key derivation) and `hwotp vault recovery-key` as one more way into the vault."""

from __future__ import annotations

import json
import os

import pytest

from helpers.cli import failed, ok
from helpers.samples import FIXED_TIME, PASSPHRASE
from hwotp.errors import ExitCode, InputError
from hwotp.vault.recoverykey import (
    ALPHABET,
    format_recovery_key,
    looks_like_recovery_key,
    parse_recovery_key,
)

KEY = bytes(range(0x60, 0x74))


def test_random_keys_round_trip_through_their_written_form() -> None:
    for _ in range(200):
        key = os.urandom(20)
        written = format_recovery_key(key)
        groups = written.split("-")
        assert len(groups) == 8 and all(len(group) == 5 for group in groups)
        assert set(written) <= set(ALPHABET + "-")
        assert parse_recovery_key(written) == key


def test_every_single_wrong_character_is_caught_in_its_group() -> None:
    written = format_recovery_key(KEY)
    for position, char in enumerate(written):
        if char == "-":
            continue
        group = written[:position].count("-") + 1
        for other in ALPHABET:
            if other == char:
                continue
            typo = written[:position] + other + written[position + 1:]
            with pytest.raises(InputError, match=f"group {group} of the recovery key has a typo"):
                parse_recovery_key(typo)


def test_swapped_neighbours_and_groups_are_nearly_always_caught() -> None:
    missed = tried = 0
    for _ in range(50):
        written = format_recovery_key(os.urandom(20))
        for position in range(len(written) - 1):
            a, b = written[position], written[position + 1]
            if "-" in (a, b) or a == b:
                continue
            tried += 1
            swapped = written[:position] + b + a + written[position + 2:]
            try:
                parse_recovery_key(swapped)
                missed += 1
            except InputError:
                pass
    assert missed / tried < 0.05, (missed, tried)
    groups = format_recovery_key(KEY).split("-")
    with pytest.raises(InputError, match="typo"):  # the group's position is in its check
        parse_recovery_key("-".join([groups[1], groups[0], *groups[2:]]))


def test_what_a_person_may_type_is_read_as_meant() -> None:
    written = format_recovery_key(KEY)
    relaxed = "  " + written.lower().replace("-", " ").replace("0", "o").replace("1", "l") + "\n"
    assert parse_recovery_key(relaxed) == KEY
    assert not looks_like_recovery_key("correct horse battery staple")
    assert not looks_like_recovery_key(written[:-6])
    with pytest.raises(InputError, match="U"):
        parse_recovery_key(written[:-1] + "U")


def _enrolled(hwotp) -> None:
    ok(hwotp("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A", "--account", "b"))


def _slots(hwotp, passphrase: str = PASSPHRASE) -> list[dict]:
    return json.loads(ok(hwotp("vault", "slots", "--json", passphrase=passphrase)).stdout)


def test_recovery_key_opens_the_vault_and_replaces_a_lost_passphrase(hwotp, vault_path) -> None:
    _enrolled(hwotp)
    made = ok(hwotp("vault", "recovery-key"))
    written = made.stdout.strip()
    key = parse_recovery_key(written)  # the key is the only line on stdout
    assert "shown only this once" in made.stderr and written not in made.stderr
    assert written.replace("-", "") not in vault_path.read_text("latin-1")
    passphrase_slot, recovery_slot = _slots(hwotp)
    assert recovery_slot["type"] == "recovery-key"
    assert recovery_slot["last_verified"] == "2009-02-13T23:31:30Z"  # FIXED_TIME
    assert int(FIXED_TIME) == 1234567890
    listing = ok(hwotp("vault", "slots")).stdout.splitlines()
    assert listing[1] == f"{recovery_slot['id']}  recovery key  (last proved 2009-02-13)"

    by_key = ok(hwotp("list", passphrase=written.lower().replace("-", " ")))
    assert by_key.stdout == ok(hwotp("list")).stdout and "A:b" in by_key.stdout
    # The passphrase is forgotten: the recovery key proves the way that stays, the passphrase goes.
    ok(hwotp("vault", "slots", "remove", passphrase_slot["id"], passphrase=written))
    failed(hwotp("list"), ExitCode.WRONG_PASSPHRASE)
    (only,) = _slots(hwotp, passphrase=written)
    assert only["id"] == recovery_slot["id"]
    last = failed(hwotp("vault", "slots", "remove", only["id"], passphrase=written),
                  ExitCode.BAD_INPUT)
    assert "last way into the vault" in last
    assert format_recovery_key(key) == written


def test_a_typo_is_caught_before_any_key_derivation_and_a_wrong_key_opens_nothing(
    hwotp, vault_path,
) -> None:
    _enrolled(hwotp)
    written = ok(hwotp("vault", "recovery-key")).stdout.strip()
    before = vault_path.read_bytes()
    wrong_char = "0" if written[7] != "0" else "1"
    typo = written[:7] + wrong_char + written[8:]
    message = failed(hwotp("list", passphrase=typo), ExitCode.BAD_INPUT)
    assert "group 2 of the recovery key has a typo" in message
    other = format_recovery_key(bytes(20) if parse_recovery_key(written) != bytes(20) else KEY)
    message = failed(hwotp("list", passphrase=other), ExitCode.WRONG_PASSPHRASE)
    assert "recovery key opens no slot" in message
    assert written not in message and typo not in message
    assert vault_path.read_bytes() == before


def test_a_recovery_key_needs_the_vault_opened_first(hwotp) -> None:
    assert "hwotp enroll --in-vault" in failed(hwotp("vault", "recovery-key"), ExitCode.STORAGE)
    _enrolled(hwotp)
    failed(hwotp("vault", "recovery-key", passphrase="not the passphrase"),
           ExitCode.WRONG_PASSPHRASE)
    assert len(_slots(hwotp)) == 1
