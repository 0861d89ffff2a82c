"""The Vault API: create, unlock, edit, key slots, files on disk.

A vault made once per module is copied into each test and opened with its known master key,
so only tests about passphrases run scrypt (real parameters, ~0.4 s each).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import warnings
from pathlib import Path

import pytest

from helpers.samples import PASSPHRASE
from hwotp.credential import Algorithm, Credential, Kind
from hwotp.errors import (
    ExitCode,
    HwotpWarning,
    InputError,
    NotFoundError,
    RolledBackError,
    StorageError,
    VaultDamagedError,
    WrongPassphraseError,
)
from hwotp.recovery import RecoveryCode, RecoverySet
from hwotp.secret import encode_secret
from hwotp.stores.vault import VaultStore
from hwotp.vault import Vault, VaultMissingError, file
from hwotp.vault import format as fmt

GITHUB = Credential(secret=b"github-secret-bytes", issuer="GitHub", account="alice")
BANK = Credential(
    secret=b"\x01\x02\x03\x04\x05bank",
    issuer="Bank",
    account="alice@example.com",
    kind=Kind.HOTP,
    algorithm=Algorithm.SHA256,
    digits=8,
    counter=7,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    path = tmp_path_factory.mktemp("template") / "vault.hwotp"
    return Vault.create(path, PASSPHRASE, [GITHUB])


@pytest.fixture
def vault(template: Vault, tmp_path: Path) -> Vault:
    """A private copy of the template vault, already open."""
    path = tmp_path / "vault.hwotp"
    shutil.copyfile(template.path, path)
    os.chmod(path, 0o600)
    return Vault(path, template._master_key, template.unlocked_slot)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- create and unlock ------------------------------------------------------------------------


def test_create_and_unlock_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "vault.hwotp"
    created = Vault.create(path, PASSPHRASE, [GITHUB, BANK])
    assert created.credentials() == [GITHUB, BANK]
    opened = Vault.unlock(path, PASSPHRASE)
    assert opened.credentials() == [GITHUB, BANK]
    assert opened.unlocked_slot == created.unlocked_slot
    assert [s.type for s in opened.slots()] == ["scrypt"]


def test_modes(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)  # a careless umask must not loosen the modes
    try:
        vault = Vault.create(tmp_path / "a" / "b" / "vault.hwotp", PASSPHRASE)
        with vault.edit() as credentials:
            credentials.append(GITHUB)
    finally:
        os.umask(old_umask)
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700
    for path in (vault.path, file.backup_path(vault.path), file.lock_path(vault.path)):
        assert _mode(path) == 0o600, path


def test_existing_folder_mode_is_left_alone(vault: Vault) -> None:
    os.chmod(vault.path.parent, 0o755)
    with vault.edit() as credentials:
        credentials.append(BANK)
    assert _mode(vault.path.parent) == 0o755


def test_create_refuses_an_existing_file(vault: Vault) -> None:
    before = vault.path.read_bytes()
    with pytest.raises(StorageError, match="already exists"):
        Vault.create(vault.path, "another", [])
    assert vault.path.read_bytes() == before


def test_create_refuses_an_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        Vault.create(tmp_path / "vault.hwotp", "")
    assert not (tmp_path / "vault.hwotp").exists()


def test_unlock_missing(tmp_path: Path) -> None:
    with pytest.raises(VaultMissingError) as caught:
        Vault.unlock(tmp_path / "none.hwotp", PASSPHRASE)
    assert isinstance(caught.value, StorageError)
    assert caught.value.exit_code is ExitCode.STORAGE


def test_wrong_passphrase(vault: Vault) -> None:
    with pytest.raises(WrongPassphraseError) as caught:
        Vault.unlock(vault.path, "not the passphrase")
    assert str(caught.value) == "wrong passphrase"


def test_secrets_are_not_in_the_file_or_in_reprs(tmp_path: Path) -> None:
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    data = vault.path.read_bytes()
    for secret in (GITHUB.secret, encode_secret(GITHUB.secret).encode(), PASSPHRASE.encode()):
        assert secret not in data
    assert encode_secret(GITHUB.secret) not in repr(vault.credentials())
    assert repr(vault) == f"Vault({str(vault.path)!r})"  # no key material


# --- edit -------------------------------------------------------------------------------------


def test_edit_writes_and_keeps_the_previous_version(vault: Vault) -> None:
    first = vault.path.read_bytes()
    with vault.edit() as credentials:
        credentials.append(BANK)
    second = vault.path.read_bytes()
    assert file.backup_path(vault.path).read_bytes() == first
    with vault.edit() as credentials:
        credentials[1] = credentials[1].replace(counter=8)
    assert file.backup_path(vault.path).read_bytes() == second
    assert vault.credentials() == [GITHUB, BANK.replace(counter=8)]
    backup = Vault(file.backup_path(vault.path), vault._master_key, vault.unlocked_slot)
    assert backup.credentials() == [GITHUB, BANK]


def _backup(vault: Vault) -> list[Credential]:
    """What the backup file holds, opened with the passphrase as anyone who has it could (an
    older generation of the vault: its rollback warning is not the point here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HwotpWarning)
        return Vault.unlock(file.backup_path(vault.path), PASSPHRASE).credentials()


@pytest.mark.parametrize("how", ["delete", "replace"])
def test_a_secret_that_leaves_the_vault_leaves_its_backup_too(vault: Vault, how: str) -> None:
    with vault.edit() as credentials:
        credentials.append(BANK)
    with vault.edit() as credentials:
        if how == "delete":
            del credentials[0]
        else:
            credentials[0] = GITHUB.replace(secret=b"the new github secret")
    after = vault.credentials()
    assert GITHUB.secret not in {c.secret for c in _backup(vault)}
    assert _backup(vault) == after  # the backup is the version without it, and opens
    assert file.backup_path(vault.path).read_bytes() == vault.path.read_bytes()


def test_a_write_that_drops_no_secret_keeps_the_previous_version(vault: Vault) -> None:
    with vault.edit() as credentials:
        credentials.append(BANK)
    with vault.edit() as credentials:  # a rename keeps the secret, so the backup is the last
        credentials[0] = GITHUB.replace(account="bob")
    assert _backup(vault) == [GITHUB, BANK]


def test_each_write_uses_a_fresh_nonce(vault: Vault) -> None:
    nonces = set()
    for _ in range(3):
        with vault.edit() as credentials:
            credentials.append(BANK)
        nonces.add(fmt.parse(vault.path.read_bytes()).header.nonce)
    assert len(nonces) == 3


def test_edit_without_change_writes_nothing(vault: Vault) -> None:
    before = vault.path.read_bytes()
    with vault.edit() as credentials:
        credentials.append(BANK)
        credentials.pop()
    assert vault.path.read_bytes() == before
    assert not file.backup_path(vault.path).exists()


def test_edit_that_raises_writes_nothing(vault: Vault) -> None:
    before = vault.path.read_bytes()
    with pytest.raises(RuntimeError), vault.edit() as credentials:
        credentials.clear()
        raise RuntimeError("changed my mind")
    assert vault.path.read_bytes() == before
    assert vault.credentials() == [GITHUB]


def test_edit_rejects_other_objects(vault: Vault) -> None:
    before = vault.path.read_bytes()
    with pytest.raises(TypeError), vault.edit() as credentials:
        credentials.append("not a credential")  # type: ignore[arg-type]
    assert vault.path.read_bytes() == before


def test_two_vault_objects_see_each_others_writes(vault: Vault) -> None:
    other = Vault(vault.path, vault._master_key, vault.unlocked_slot)
    with vault.edit() as credentials:
        credentials.append(BANK)
    with other.edit() as credentials:
        assert credentials == [GITHUB, BANK]
        credentials.remove(GITHUB)
    assert vault.credentials() == [BANK]


@pytest.mark.parametrize("deliberate", [False, True])
def test_damaged_vault_is_never_overwritten(vault: Vault, deliberate: bool) -> None:
    with vault.edit() as credentials:
        credentials.append(BANK)  # so that a backup exists as well
    data = bytearray(vault.path.read_bytes())
    data[-100] ^= 0x01  # in the ciphertext
    if deliberate:  # the trailer made to match, so only the decryption can tell
        data[-32:] = hashlib.sha256(data[:-32]).digest()
    vault.path.write_bytes(data)
    backup = file.backup_path(vault.path).read_bytes()
    damaged = pytest.raises(VaultDamagedError, match="damaged or was modified")
    with damaged as caught, vault.edit() as credentials:
        credentials.append(GITHUB)
    assert str(file.backup_path(vault.path)) in str(caught.value)  # says where to recover from
    for write in (lambda: vault.add_passphrase("x"), lambda: vault.remove_slot("00000000")):
        with pytest.raises(VaultDamagedError):
            write()
    assert vault.path.read_bytes() == data
    assert file.backup_path(vault.path).read_bytes() == backup
    with pytest.raises(VaultDamagedError):
        vault.credentials()


def test_stale_temp_files_do_not_break_writes(vault: Vault) -> None:
    stale = vault.path.with_name(f".{vault.path.name}.0123456789abcdef.tmp")
    stale.write_bytes(b"half a vault")
    with vault.edit() as credentials:
        credentials.append(BANK)
    assert not stale.exists()
    assert vault.credentials() == [GITHUB, BANK]


def test_lock_held_elsewhere_ends_in_storage_error(vault: Vault) -> None:
    held = file.exclusive_lock(vault.path)
    busy = pytest.raises(StorageError, match="locked")
    with held, busy, file.exclusive_lock(vault.path, timeout=0.05):
        pass
    with file.exclusive_lock(vault.path, timeout=0.05):
        pass  # released again


# --- key slots --------------------------------------------------------------------------------


def test_second_passphrase_slot(vault: Vault) -> None:
    first = vault.unlocked_slot
    second = vault.add_passphrase("second passphrase")
    assert [s.id for s in vault.slots()] == [first, second]
    opened = Vault.unlock(vault.path, "second passphrase")
    assert opened.unlocked_slot == second
    assert opened.credentials() == [GITHUB]
    with opened.edit() as credentials:
        credentials.append(BANK)
    assert vault.credentials() == [GITHUB, BANK]  # same master key
    vault.remove_slot(first)
    assert [s.id for s in vault.slots()] == [second]
    with pytest.raises(WrongPassphraseError):
        Vault.unlock(vault.path, PASSPHRASE)
    with pytest.raises(InputError, match="last way into the vault"):
        vault.remove_slot(second)
    with pytest.raises(NotFoundError):
        vault.remove_slot(first)


def test_change_passphrase(vault: Vault) -> None:
    old = vault.unlocked_slot
    new = vault.change_passphrase("new passphrase")
    assert new != old
    assert vault.unlocked_slot == new
    assert [s.id for s in vault.slots()] == [new]
    assert Vault.unlock(vault.path, "new passphrase").credentials() == [GITHUB]
    with pytest.raises(InputError):
        vault.change_passphrase("")


def test_changing_the_only_passphrase_replaces_the_master_key(vault: Vault) -> None:
    old_copy = vault.path.with_name("stolen-copy.hwotp")
    old_copy.write_bytes(vault.path.read_bytes())
    vault.change_passphrase("new passphrase")
    with vault.edit() as credentials:  # the object carries on with the new key
        credentials.append(BANK)
    with pytest.warns(HwotpWarning, match="older than generation"):  # and an older copy
        leaked = Vault.unlock(old_copy, PASSPHRASE)  # the old file and the old passphrase
    with pytest.raises(StorageError, match="changed the vault passphrase"):
        Vault(vault.path, leaked._master_key, leaked.unlocked_slot).credentials()
    assert Vault.unlock(vault.path, "new passphrase").credentials() == [GITHUB, BANK]


def test_a_vault_too_large_to_read_is_never_written(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = vault.path.read_bytes()
    monkeypatch.setattr(fmt, "MAX_FILE_BYTES", len(before) + 256)  # one more fits, five do not
    with pytest.raises(StorageError, match="nothing was written"), vault.edit() as credentials:
        credentials.extend(_numbered(5))
    assert vault.path.read_bytes() == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refused write is no generation: no false rollback
        with vault.edit() as credentials:
            credentials.append(BANK)
    assert vault.credentials() == [GITHUB, BANK]


def _numbered(count: int) -> list[Credential]:
    return [Credential(bytes(64), "Filler", f"account {n:03}") for n in range(count)]


def test_a_symlinked_vault_is_written_through_the_link(vault: Vault, tmp_path: Path) -> None:
    link = tmp_path / "link.hwotp"
    link.symlink_to(vault.path)
    with Vault.unlock(link, PASSPHRASE).edit() as credentials:
        credentials.append(BANK)
    assert link.is_symlink()
    assert Vault.unlock(vault.path, PASSPHRASE).credentials() == [GITHUB, BANK]


def test_with_two_slots_a_change_keeps_the_master_key(vault: Vault) -> None:
    vault.add_passphrase("second passphrase")
    vault.change_passphrase("new passphrase")
    assert Vault.unlock(vault.path, "second passphrase").credentials() == [GITHUB]
    assert Vault.unlock(vault.path, "new passphrase").credentials() == [GITHUB]


def _with_unknown_slot(vault: Vault) -> dict[str, object]:
    unknown = {
        "credential": fmt.b64(b"a FIDO2 credential id"),
        "id": "fedcba98",
        "key": fmt.b64(bytes(48)),
        "rp": "hwotp",
        "type": "argon2id",
    }
    envelope = fmt.parse(vault.path.read_bytes())
    payload = fmt.decrypt(envelope, vault._master_key)
    slots = [unknown, *envelope.header.slots]
    vault.path.write_bytes(fmt.seal(slots, vault._master_key, payload))
    return unknown


def test_unknown_slot_is_preserved_on_rewrite(vault: Vault) -> None:
    unknown = _with_unknown_slot(vault)
    with vault.edit() as credentials:
        credentials.append(BANK)
    new_id = vault.add_passphrase("second passphrase")
    envelope = fmt.parse(vault.path.read_bytes())
    assert envelope.header.slots[0] == unknown
    assert fmt.canonical_json(unknown) in envelope.header_line
    assert [s.usable for s in vault.slots()] == [False, True, True]
    # Unlocking skips the slot it cannot use and opens the one after it.
    assert Vault.unlock(vault.path, "second passphrase").unlocked_slot == new_id


def test_only_unknown_slots_may_not_remain(vault: Vault) -> None:
    _with_unknown_slot(vault)
    with pytest.raises(InputError):
        vault.remove_slot(vault.unlocked_slot)
    vault.remove_slot("fedcba98")
    assert [s.type for s in vault.slots()] == ["scrypt"]


def test_no_write_that_readers_would_reject(vault: Vault) -> None:
    """A foreign slot already uses the whole scrypt budget: another slot would exceed it."""
    envelope = fmt.parse(vault.path.read_bytes())
    costly = {**envelope.header.slots[0], "id": "c0571700", "n": 2**20, "p": 4}
    assert fmt.slots_problem([costly]) is None  # readers accept the file as it is
    payload = fmt.decrypt(envelope, vault._master_key)
    vault.path.write_bytes(fmt.seal([costly], vault._master_key, payload))
    before = vault.path.read_bytes()
    with pytest.raises(StorageError, match="too much"):
        vault.add_passphrase("second passphrase")
    assert vault.path.read_bytes() == before


# --- generations and rollback -----------------------------------------------------------------


def _generation(path: Path, vault: Vault) -> int:
    return fmt.decrypt(fmt.parse(path.read_bytes()), vault._master_key).generation


def test_every_write_counts_one_generation(tmp_path: Path) -> None:
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    assert _generation(vault.path, vault) == 1
    with vault.edit() as credentials:
        credentials.append(BANK)
    vault.add_passphrase("second passphrase")
    assert _generation(vault.path, vault) == 3
    assert _generation(file.backup_path(vault.path), vault) == 2


def test_an_older_copy_put_in_place_is_reported_as_a_rollback(tmp_path: Path) -> None:
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    with vault.edit() as credentials:
        credentials.append(BANK)  # generation 2; the backup is generation 1
    shutil.copyfile(file.backup_path(vault.path), vault.path)
    with pytest.warns(HwotpWarning) as warned:
        rolled_back = Vault.unlock(vault.path, PASSPHRASE)
    (warning,) = warned
    assert str(warning.message) == (
        f"{vault.path} is generation 1, older than generation 2 seen before: an older copy "
        "replaced it (a rollback), so changes since are missing; it is read-only until accepted"
    )
    assert rolled_back.credentials() == [GITHUB]  # it still opens and reads
    rolled_back_bytes = vault.path.read_bytes()
    for write in (_add_bank, _mark_recovery_code, _add_passphrase):
        with pytest.raises(RolledBackError) as refused:
            write(rolled_back)
        assert str(refused.value) == (
            f"{vault.path} is generation 1, older than generation 2 seen before (a rollback): "
            "nothing is written to it and it gives no HOTP or recovery code until the older "
            "copy is accepted")
        assert vault.path.read_bytes() == rolled_back_bytes
    assert rolled_back.accept_rollback() == (1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        accepted = Vault.unlock(vault.path, PASSPHRASE)
    _add_bank(accepted)  # written from generation 1 on
    assert _generation(vault.path, vault) == 2
    assert accepted.accept_rollback() == (2, 2)  # nothing older any more


def _add_bank(vault: Vault) -> None:
    with vault.edit() as credentials:
        credentials.append(BANK)


def _mark_recovery_code(vault: Vault) -> None:
    with vault.edit_recovery() as sets:
        sets.append(RecoverySet("Bank", (RecoveryCode("aaaa-1111"),)))


def _add_passphrase(vault: Vault) -> None:
    vault.add_passphrase("another passphrase")


def test_an_hotp_code_from_an_older_copy_is_refused_until_it_is_accepted(
    tmp_path: Path,
) -> None:
    """The attack: an older copy put back so that the HOTP counter hands out a code again."""
    store_path = tmp_path / "vault.hwotp"
    Vault.create(store_path, PASSPHRASE, [BANK])
    store = VaultStore(store_path, lambda creating: PASSPHRASE)
    (entry,) = store.entries()
    first = store.calculate(entry, 0)  # counter 0 -> 1, generation 2
    older = file.backup_path(store_path).read_bytes()  # counter 0, generation 1
    second = store.calculate(entry, 0)
    assert first != second
    store_path.write_bytes(older)
    replayed = VaultStore(store_path, lambda creating: PASSPHRASE)
    with pytest.warns(HwotpWarning), pytest.raises(RolledBackError):
        replayed.calculate(replayed.entries()[0], 0)
    assert store_path.read_bytes() == older


def test_a_file_without_a_generation_opens_and_counts_as_zero(tmp_path: Path) -> None:
    """A file of an hwotp before generations: no member in the payload."""
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    envelope = fmt.parse(vault.path.read_bytes())
    old = fmt.seal(envelope.header.slots, vault._master_key, fmt.Payload([GITHUB]))
    assert b"generation" not in fmt.payload_json(fmt.Payload([GITHUB]))
    other = tmp_path / "other.hwotp"
    other.write_bytes(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # never seen before: nothing to compare with
        assert Vault.unlock(other, PASSPHRASE).credentials() == [GITHUB]
    vault.path.write_bytes(old)  # in place of generation 1
    with pytest.warns(HwotpWarning, match="is generation 0, older than generation 1"):
        Vault.unlock(vault.path, PASSPHRASE)


def test_an_older_copy_swapped_in_while_a_command_runs_is_not_written(
    tmp_path: Path,
) -> None:
    """The review's case: opened at generation 2, the file swapped for generation 1 while a
    prompt waited, then a write: refused, as for a rollback seen at opening."""
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    with vault.edit() as credentials:
        credentials.append(BANK)  # generation 2
    opened = Vault.unlock(vault.path, PASSPHRASE)
    shutil.copyfile(file.backup_path(vault.path), vault.path)  # generation 1 back in place
    swapped = vault.path.read_bytes()
    with pytest.raises(RolledBackError, match="is generation 1, older than generation 2"):
        _add_bank(opened)
    assert vault.path.read_bytes() == swapped
    opened.accept_rollback()
    with opened.edit() as credentials:
        credentials.append(BANK.replace(account="carol"))
    assert _generation(vault.path, vault) == 2  # the accepted generation 1, written once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Vault.unlock(vault.path, PASSPHRASE)


def _hotp_code(store_path: Path) -> str:
    """An HOTP code from the vault now at `store_path` (its counter moves)."""
    store = VaultStore(store_path, lambda creating: PASSPHRASE)
    return store.calculate(store.entries()[0], 0).value


def test_an_older_copy_behind_a_symbolic_link_is_a_rollback_too(tmp_path: Path) -> None:
    """Security review: keyed by path, a link to an older copy elsewhere (a sync peer can
    plant one) had no record, and the HOTP counter handed out the same code again."""
    store_path = tmp_path / "vault.hwotp"
    Vault.create(store_path, PASSPHRASE, [BANK])
    _hotp_code(store_path)  # generation 2; the backup keeps generation 1
    attic = tmp_path / "attic.hwotp"
    shutil.copyfile(file.backup_path(store_path), attic)
    store_path.unlink()
    store_path.symlink_to(attic.name)
    with pytest.warns(HwotpWarning), pytest.raises(RolledBackError):
        _hotp_code(store_path)
    with pytest.warns(HwotpWarning), pytest.raises(RolledBackError):
        Vault.unlock(store_path, PASSPHRASE).credentials_to_hand_out()  # export, push


def test_a_vault_made_again_at_the_same_path_keeps_what_was_seen(tmp_path: Path) -> None:
    """Security review: a new vault at the path recorded generation 1 over the one seen, so
    an older copy of the first vault put back there was taken as newer."""
    store_path = tmp_path / "vault.hwotp"
    Vault.create(store_path, PASSPHRASE, [BANK])
    _hotp_code(store_path)
    older = store_path.read_bytes()  # generation 2
    _hotp_code(store_path)  # generation 3
    store_path.unlink()
    file.backup_path(store_path).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # another vault: its own count, no false rollback
        Vault.create(store_path, PASSPHRASE, [GITHUB])
        Vault.unlock(store_path, PASSPHRASE)
    store_path.write_bytes(older)
    with pytest.warns(HwotpWarning), pytest.raises(RolledBackError):
        _hotp_code(store_path)


def test_a_file_before_ids_gets_one_at_its_next_write_and_its_older_copies_are_caught(
    tmp_path: Path,
) -> None:
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    envelope = fmt.parse(vault.path.read_bytes())
    before_ids = fmt.seal(envelope.header.slots, vault._master_key,
                          fmt.Payload([GITHUB], generation=5))
    assert b"vault_id" not in fmt.payload_json(fmt.Payload([GITHUB], generation=5))
    other = tmp_path / "other.hwotp"
    other.write_bytes(before_ids)
    upgraded = Vault.unlock(other, PASSPHRASE)
    with upgraded.edit() as credentials:
        credentials.append(BANK)
    payload = fmt.decrypt(fmt.parse(other.read_bytes()), vault._master_key)
    assert (payload.generation, len(payload.vault_id or "")) == (6, 32)
    other.write_bytes(before_ids)  # the id-less generation 5, below the 6 seen at this path
    with pytest.warns(HwotpWarning, match="is generation 5, older than generation 6"):
        back = Vault.unlock(other, PASSPHRASE)
    with pytest.raises(RolledBackError):
        back.credentials_to_hand_out()


def test_a_vault_held_by_unlock_is_checked_for_a_rollback_too(tmp_path: Path) -> None:
    vault = Vault.create(tmp_path / "vault.hwotp", PASSPHRASE, [GITHUB])
    with vault.edit() as credentials:
        credentials.append(BANK)
    held = vault.held_secret()
    shutil.copyfile(file.backup_path(vault.path), vault.path)
    with pytest.warns(HwotpWarning, match="is generation 1, older than generation 2"):
        assert Vault.reopen(vault.path, held) is not None


# --- security key and recovery key slots (the vault's side; the keys themselves are in
# test_fido2_vault.py) ------------------------------------------------------------------------

KEY_OUTPUT = bytes(range(0x80, 0xA0))  # what a key's hmac-secret would give for the salt


def _add_key(vault: Vault, label: str = "blue", output: bytes = KEY_OUTPUT) -> str:
    return vault.add_security_key(
        label=label, credential_id=b"c" * 64, rp_id="hwotp", salt=b"s" * 32, uv=True,
        aaguid="a25342c0-3cdc-4414-8e46-f4807fca511c", hmac_output=output, verified_at=1000,
    )


def test_a_security_key_slot_opens_with_the_keys_answer_only(vault: Vault) -> None:
    from hwotp.errors import UnregisteredKeyError

    slot_id = _add_key(vault)
    (found,) = Vault.security_key_slots(vault.path)
    assert (found.id, found.label, found.credential_id, found.salt, found.uv) == (
        slot_id, "blue", b"c" * 64, b"s" * 32, True)
    opened = Vault.unlock_with_security_key(vault.path, slot_id, KEY_OUTPUT)
    assert opened.credentials() == [GITHUB] and opened.unlocked_slot == slot_id
    with pytest.raises(UnregisteredKeyError, match=f"does not open slot {slot_id}"):
        Vault.unlock_with_security_key(vault.path, slot_id, bytes(32))
    info = {slot.id: slot for slot in vault.slots()}[slot_id]
    assert (info.type, info.usable, info.label, info.last_verified, info.uv) == (
        "fido2-hmac-secret", True, "blue", 1000, True)


def test_labels_are_checked_and_unique(vault: Vault) -> None:
    _add_key(vault)
    with pytest.raises(InputError, match="already registered"):
        _add_key(vault, output=bytes(32))
    with pytest.raises(InputError, match="label cannot be used"):
        _add_key(vault, label="two\nlines")
    assert len(vault.slots()) == 2


def test_a_drill_is_recorded_and_a_removed_slot_takes_its_record(vault: Vault) -> None:
    slot_id = _add_key(vault)
    vault.record_verified(slot_id, 2000)
    assert {s.id: s.last_verified for s in vault.slots()}[slot_id] == 2000
    passphrase_slot = vault.unlocked_slot
    vault.remove_slot(passphrase_slot)  # the key is a way in: the passphrase may go
    with pytest.raises(WrongPassphraseError):
        Vault.unlock(vault.path, PASSPHRASE)
    with pytest.raises(InputError, match="last way into the vault"):
        vault.remove_slot(slot_id)
    recovery_slot = vault.add_recovery_key(bytes(20))
    assert {s.id: s.last_verified for s in vault.slots()}[recovery_slot] is None  # not seen
    vault.record_verified(recovery_slot, 3000)
    vault.remove_slot(slot_id)
    envelope = fmt.parse(vault.path.read_bytes())
    assert fmt.decrypt(envelope, vault._master_key).verified == {recovery_slot: 3000}
    assert Vault.unlock_with_recovery_key(vault.path, bytes(20)).credentials() == [GITHUB]


# --- The strength floor of a new passphrase (vault.strength) ------------------------------------

PASSES = "correct horse battery staple zebra"


def test_a_passphrase_longer_than_zxcvbn_takes_is_judged_on_its_start() -> None:
    from hwotp.vault.strength import EXPORT, weakness

    long = (PASSES + " ") * 3  # 105 characters: zxcvbn 4.5 raises ValueError above 72
    assert weakness(long) is None
    assert weakness(long, EXPORT) is None
    assert weakness("password1234" * 10) is not None  # the start is still judged


@pytest.mark.parametrize("trick", [
    "".join(chr(ord(c) + 0xFEE0) for c in "password12"),  # full-width forms (U+FF50...)
    "\u200b".join("password12"),  # zero-width spaces between the letters
    "\u2060".join("qwertyuiop"),  # word joiners (category Cf too)
    "P a s s w o r d 1",  # spaced out
    "p\u00a0a\u00a0s\u00a0s\u00a0w\u00a0o\u00a0r\u00a0d",  # no-break spaces
])
def test_unicode_and_spacing_tricks_do_not_pass_a_weak_word(trick: str) -> None:
    from hwotp.vault.strength import weakness

    problem = weakness(trick)
    assert problem is not None and problem.startswith("about 10^")
    assert problem.endswith("a vault needs over 10^8")


def test_the_export_floor_is_higher_and_says_what_it_is_for() -> None:
    from hwotp.vault.strength import EXPORT, weakness

    assert weakness(PASSES) is None
    assert weakness(PASSES, EXPORT) is None
    assert weakness("first passphrase") is None  # about 10^8: a vault's floor, not an export's
    problem = weakness("first passphrase", EXPORT)
    assert problem is not None and problem.endswith("an export needs over 10^10")
    assert "first" not in problem
