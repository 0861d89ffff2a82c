"""`hwotp vault slots`: list the ways in, add a passphrase, remove one, never the last."""

from __future__ import annotations

import json

from hwotp.errors import ExitCode

SECOND = "a second, different passphrase"


def _slots(hwotp, passphrase=None) -> list[dict]:
    result = hwotp("vault", "slots", "--json", **({"passphrase": passphrase} if passphrase else {}))
    assert result.exit_code == 0, result.everything
    return json.loads(result.stdout)


def test_slots_list_add_and_remove(hwotp, vault_path) -> None:
    assert hwotp("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A",
                 "--account", "b").exit_code == 0
    (first,) = _slots(hwotp)
    assert (first["type"], first["usable"], first["opened_this_time"]) == ("scrypt", True, True)
    added = hwotp("vault", "slots", "add-passphrase", env={"HWOTP_NEW_PASSPHRASE": SECOND})
    assert added.exit_code == 0, added.everything
    both = _slots(hwotp, passphrase=SECOND)
    assert len(both) == 2 and both[0]["id"] == first["id"]
    assert [slot["opened_this_time"] for slot in both] == [False, True]
    text = hwotp("vault", "slots").stdout
    assert text.splitlines()[0] == f"{first['id']}  passphrase (scrypt)  (opened it now)"
    opened_by_it = hwotp("vault", "slots", "remove", first["id"])  # the slot proven is kept
    assert opened_by_it.exit_code == ExitCode.BAD_INPUT, opened_by_it.everything
    assert "opened the vault" in opened_by_it.stderr and len(_slots(hwotp)) == 2
    removed = hwotp("vault", "slots", "remove", first["id"], passphrase=SECOND)
    assert removed.exit_code == 0, removed.everything
    assert hwotp("list").exit_code == ExitCode.WRONG_PASSPHRASE  # the first passphrase is gone
    (last,) = _slots(hwotp, passphrase=SECOND)
    refused = hwotp("vault", "slots", "remove", last["id"], passphrase=SECOND)
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert "last way into the vault" in refused.stderr
    assert hwotp("code", "A:b", passphrase=SECOND).exit_code == 0


def test_slots_of_a_missing_vault_or_slot(hwotp) -> None:
    missing = hwotp("vault", "slots")
    assert missing.exit_code == ExitCode.STORAGE and "no vault" in missing.stderr
    assert hwotp("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A",
                 "--account", "b").exit_code == 0
    unknown = hwotp("vault", "slots", "remove", "00000000")
    assert unknown.exit_code == ExitCode.NOT_FOUND and "no key slot 00000000" in unknown.stderr


def test_add_passphrase_keeps_the_floor_and_offers_the_option_it_names(hwotp) -> None:
    assert hwotp("enroll", "--secret", "JBSWY3DPEHPK3PXP", "--issuer", "A",
                 "--account", "b").exit_code == 0
    weak = hwotp("vault", "slots", "add-passphrase", env={"HWOTP_NEW_PASSPHRASE": "short"})
    assert weak.exit_code == ExitCode.BAD_INPUT and "--weak-passphrase" in weak.stderr
    allowed = hwotp("vault", "slots", "add-passphrase", "--weak-passphrase",
                    env={"HWOTP_NEW_PASSPHRASE": "short"})
    assert allowed.exit_code == 0, allowed.everything
    assert len(_slots(hwotp)) == 2
