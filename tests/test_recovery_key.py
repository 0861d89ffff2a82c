"""The printed recovery key: its written form (a check character per group catches a typo
before any key derivation) and `hwotp vault recovery-key` as one more way into the vault."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from helpers.cli import Run, failed, ok
from helpers.processes import run_hwotp, vault_env
from helpers.samples import PASSPHRASE
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
    assert parse_recovery_key(written.replace("-", "")) == KEY  # 40 in a row, as a user typed
    assert parse_recovery_key(written[:17].replace("-", "") + " " + written[18:]) == KEY
    assert not looks_like_recovery_key("correct horse battery staple")
    assert not looks_like_recovery_key(written.replace("-", "")[:-1])
    assert not looks_like_recovery_key(written[:-6])
    with pytest.raises(InputError, match="U"):
        parse_recovery_key(written[:-1] + "U")


def _enrolled(hwotp) -> None:
    ok(hwotp("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A", "--account", "b"))


def _slots(hwotp, passphrase: str = PASSPHRASE) -> list[dict]:
    return json.loads(ok(hwotp("vault", "slots", "--json", passphrase=passphrase)).stdout)


def test_recovery_key_opens_the_vault_and_replaces_a_lost_passphrase(hwotp, vault_path) -> None:
    _enrolled(hwotp)
    made = ok(hwotp("vault", "recovery-key", "--force"))
    written = made.stdout.strip()
    key = parse_recovery_key(written)  # the key is the only line on stdout
    assert "shown only this once" in made.stderr and written not in made.stderr
    assert written.replace("-", "") not in vault_path.read_text("latin-1")
    passphrase_slot, recovery_slot = _slots(hwotp)
    assert recovery_slot["type"] == "recovery-key"
    assert recovery_slot["last_verified"] is None  # nobody has typed it back yet
    listing = ok(hwotp("vault", "slots")).stdout.splitlines()
    assert listing[1] == f"{recovery_slot['id']}  recovery key  (never proved)"

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
    written = ok(hwotp("vault", "recovery-key", "--force")).stdout.strip()
    before = vault_path.read_bytes()
    wrong_char = "0" if written[7] != "0" else "1"
    typo = written[:7] + wrong_char + written[8:]
    message = failed(hwotp("list", passphrase=typo), ExitCode.WRONG_PASSPHRASE)
    assert message == ("hwotp: wrong passphrase; read as a recovery key, group 2 has a typo "
                       "(its last character does not match)")
    other = format_recovery_key(bytes(20) if parse_recovery_key(written) != bytes(20) else KEY)
    message = failed(hwotp("list", passphrase=other), ExitCode.WRONG_PASSPHRASE)
    assert message == ("hwotp: wrong passphrase; read as a recovery key, it opens no recovery "
                       "key slot")
    assert written not in message and typo not in message
    assert vault_path.read_bytes() == before


def test_a_recovery_key_needs_the_vault_opened_first(hwotp) -> None:
    missing = failed(hwotp("vault", "recovery-key", "--force"), ExitCode.STORAGE)
    assert "hwotp enroll --in-vault" in missing
    _enrolled(hwotp)
    failed(hwotp("vault", "recovery-key", "--force", passphrase="not the passphrase"),
           ExitCode.WRONG_PASSPHRASE)
    assert len(_slots(hwotp)) == 1


def test_a_recovery_key_goes_to_a_file_only_with_force_and_an_earlier_one_is_named(
    hwotp, vault_path,
) -> None:
    _enrolled(hwotp)
    before = vault_path.read_bytes()
    refused = failed(hwotp("vault", "recovery-key"), ExitCode.CANCELLED)  # not a terminal
    assert "pass --force" in refused and vault_path.read_bytes() == before
    first = ok(hwotp("vault", "recovery-key", "--force"))
    (first_slot,) = [row["id"] for row in _slots(hwotp) if row["type"] == "recovery-key"]
    assert "earlier recovery key" not in first.stderr
    second = ok(hwotp("vault", "recovery-key", "--force"))
    assert (f"The earlier recovery key (slot {first_slot}) still opens the vault"
            in second.stderr)
    assert ok(hwotp("list", passphrase=first.stdout.strip()))  # it does


# --- through the installed script -------------------------------------------------------------

# Passphrases of a recovery key's shape (8 groups of 5 letters): neither is one (U, and the
# check characters), and both must open the vault whatever slots it has.
SHAPED = "trout plumb gravy sweet brick nylon ozone waltz"
SHAPED_TOO = "gravy trout plumb sweet brick nylon ozone waltz"


@pytest.fixture
def script(tmp_path: Path, no_pcscd):
    vault = tmp_path / "data" / "vault.hwotp"

    def run(*args: str, stdin: str | None = None, stdout=None, **extra: str) -> Run:
        done = run_hwotp(*args, env=vault_env(vault, **extra), input=stdin,
                         **({"stdout": stdout, "stderr": subprocess.PIPE} if stdout else {}))
        return Run(done.returncode, done.stdout or "", done.stderr)

    run.vault = vault
    return run


def _script_slots(script, **extra: str) -> list[dict]:
    return json.loads(ok(script("vault", "slots", "--json", **extra)).stdout)


def test_a_passphrase_shaped_like_a_recovery_key_keeps_opening_the_vault(script) -> None:
    assert looks_like_recovery_key(SHAPED) and looks_like_recovery_key(SHAPED_TOO)
    ok(script("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A", "--account", "b",
              HWOTP_PASSPHRASE=SHAPED))
    written = ok(script("vault", "recovery-key", "--force", HWOTP_PASSPHRASE=SHAPED)).stdout.strip()
    assert "A:b" in ok(script("list", HWOTP_PASSPHRASE=SHAPED)).stdout
    assert "A:b" in ok(script("list", HWOTP_PASSPHRASE=written)).stdout
    ok(script("vault", "passphrase", HWOTP_PASSPHRASE=SHAPED, HWOTP_NEW_PASSPHRASE=SHAPED_TOO))
    assert "A:b" in ok(script("list", HWOTP_PASSPHRASE=SHAPED_TOO)).stdout
    old = failed(script("list", HWOTP_PASSPHRASE=SHAPED), ExitCode.WRONG_PASSPHRASE)
    # Nothing opened: then what the check characters found is said too (never the text).
    assert old == ("hwotp: wrong passphrase; read as a recovery key, group 1 holds a character "
                   "a recovery key never has (U)")
    (row,) = [row for row in _script_slots(script, HWOTP_PASSPHRASE=SHAPED_TOO)
              if row["opened_this_time"]]
    assert row["type"] == "scrypt"


def test_a_recovery_key_not_shown_is_not_kept(script) -> None:
    ok(script("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A", "--account", "b"))
    with open("/dev/full", "w") as full:
        lost = script("vault", "recovery-key", "--force", stdout=full)
    message = failed(lost, ExitCode.OUTPUT)
    assert message.startswith("hwotp: the recovery key could not be shown (No space left on "
                              "device), so its slot ")
    assert message.endswith(" was removed again")
    assert [row["type"] for row in _script_slots(script)] == ["scrypt"]


def test_a_recovery_key_is_proved_when_it_opens_the_vault_at_vault_check(script) -> None:
    ok(script("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A", "--account", "b"))
    written = ok(script("vault", "recovery-key", "--force")).stdout.strip()

    def proved() -> str | None:
        (row,) = [row for row in _script_slots(script) if row["type"] == "recovery-key"]
        return row["last_verified"]

    assert proved() is None
    assert "(never proved)" in ok(script("vault", "slots")).stdout
    by_passphrase = ok(script("vault", "check"))
    assert "recorded as proved" not in by_passphrase.stderr and proved() is None
    ok(script("list", HWOTP_PASSPHRASE=written))  # any command opens with it, records nothing
    assert proved() is None
    before = time.time()
    drill = ok(script("vault", "check", HWOTP_PASSPHRASE=written.lower()))
    assert "The recovery key (slot " in drill.stderr
    assert "1 credential, 2 key slots" in drill.stderr
    when = datetime.fromisoformat(proved())
    assert before - 1 <= when.timestamp() <= time.time()
    assert f"(last proved {when.date().isoformat()})" in ok(script("vault", "slots")).stdout
    typo = written[:7] + ("0" if written[7] != "0" else "1") + written[8:]
    refused = failed(script("vault", "check", HWOTP_PASSPHRASE=typo), ExitCode.WRONG_PASSPHRASE)
    assert refused.endswith("read as a recovery key, group 2 has a typo (its last character "
                            "does not match)")
