"""The encrypted software vault: a file of credentials opened by key slots.

`format` turns bytes into header, slots and payload and back; `file` locks and writes
atomically; this module ties them together. The format is specified in docs/vault-format.md.
May import the model only: it knows nothing of keys, stores or the command line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwotp.credential import Credential
from hwotp.errors import (
    HwotpWarning,
    InputError,
    NotFoundError,
    Remedy,
    RolledBackError,
    StorageError,
    UnregisteredKeyError,
    VaultDamagedError,
    WrongPassphraseError,
)
from hwotp.recovery import RecoverySet
from hwotp.vault import file, generations, recoverykey
from hwotp.vault import format as fmt
from hwotp.vault.file import VaultExistsError, VaultMissingError

__all__ = [
    "FileCheck",
    "KeyAnswer",
    "SlotInfo",
    "Vault",
    "VaultExistsError",
    "VaultMissingError",
    "WayIn",
    "check_file",
    "restore_backup",
]

# What is logged: paths, sizes, counts, slot ids and KDF parameters; never a passphrase, a key,
# a name or a secret.
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotInfo:
    """What the UI may show about a key slot."""

    id: str
    type: str
    usable: bool  # this hwotp can open it (a passphrase, security key or recovery key slot)
    label: str | None = None  # a security key's, given at registration
    last_verified: int | None = None  # Unix seconds: registered, or last `fido2 verify`
    aaguid: str | None = None  # a security key's model
    uv: bool | None = None  # a security key slot asks for the PIN


@dataclass(frozen=True)
class KeyAnswer:
    """A security key's hmac-secret output for the salt of slot `slot_id`."""

    slot_id: str
    output: bytes = field(repr=False)


# What opens a vault file: the text typed where the passphrase is asked (a passphrase, or a
# recovery key), or a security key's answer for one of its slots.
WayIn = str | KeyAnswer


@dataclass(frozen=True)
class SecurityKeySlot:
    """What a security key needs to answer for one slot, readable before the vault opens."""

    id: str
    label: str
    credential_id: bytes
    rp_id: str
    salt: bytes
    uv: bool


class Vault:
    """An unlocked vault. Holds the master key, so later reads and writes need no scrypt."""

    def __init__(self, path: Path, master_key: bytes, slot_id: str) -> None:
        """Use `create` or `unlock`; this is for them (and for tests that hold a key)."""
        self.path = path
        self._master_key = master_key
        self.unlocked_slot = slot_id  # the slot that opened it; change_passphrase's default
        self.generation_seen = 0  # by this process: a file older than that was swapped in

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r})"

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, passphrase: str, credentials: Sequence[Credential] = ()) -> Vault:
        """Make a new vault; VaultExistsError if something is already at `path`."""
        _check_passphrase(passphrase)
        path = _real(path)
        payload = fmt.Payload(_checked(credentials))
        logger.debug("creating a vault at %s with %d credentials", path, len(payload.credentials))
        file.make_folder(path.parent)
        with file.exclusive_lock(path):
            if path.exists() or path.is_symlink():
                raise VaultExistsError(f"a vault already exists at {path}")
            master_key = fmt.new_master_key()
            slot = _new_scrypt_slot(master_key, passphrase)
            payload.generation, payload.vault_id = 1, fmt.new_vault_id()
            file.write_atomic(path, _fitting(fmt.seal([slot], master_key, payload)))
            generations.remember(path, payload.vault_id, payload.generation, newer_only=False)
        vault = cls(path, master_key, slot["id"])
        vault.generation_seen = 1
        return vault

    @classmethod
    def unlock(cls, path: Path, passphrase: str) -> Vault:
        """Open with what was typed where the passphrase is asked: a passphrase, or a recovery
        key (see `_open_typed`). WrongPassphraseError, VaultDamagedError, VaultMissingError."""
        path = _real(path)
        envelope = _parse(path, file.read(path, fmt.MAX_FILE_BYTES))
        slots = envelope.header.slots
        logger.debug("opening %s: %d key slots (%s)", path, len(slots),
                     ", ".join(f"{slot['id']} {slot['type']}" for slot in slots))
        master_key, slot_id = _open_typed(envelope, passphrase)
        return cls._opened(path, envelope, master_key, slot_id)

    @classmethod
    def check_readable(cls, path: Path) -> None:
        """VaultDamagedError (or VaultMissingError) unless the file's size, trailer and header
        are intact: damage is said before anyone is asked for a way in."""
        path = _real(path)
        _parse(path, file.read(path, fmt.MAX_FILE_BYTES))

    @classmethod
    def security_key_slots(cls, path: Path) -> list[SecurityKeySlot]:
        """The vault's security key slots, from its header (no key needed: a plugged key is
        probed for each before anyone is asked for anything)."""
        path = _real(path)
        envelope = _parse(path, file.read(path, fmt.MAX_FILE_BYTES))
        return [
            SecurityKeySlot(s.id, s.label, s.credential_id, s.rp_id, s.salt, s.uv)
            for s in envelope.header.fido2_slots()
        ]

    @classmethod
    def unlock_with_security_key(cls, path: Path, slot_id: str, hmac_output: bytes) -> Vault:
        """Open with the hmac-secret output a security key gave for slot `slot_id`'s salt;
        UnregisteredKeyError if it does not open that slot."""
        path = _real(path)
        envelope = _parse(path, file.read(path, fmt.MAX_FILE_BYTES))
        master_key = _open_by_key(envelope, KeyAnswer(slot_id, hmac_output))
        return cls._opened(path, envelope, master_key, slot_id)

    @classmethod
    def unlock_with_recovery_key(cls, path: Path, recovery_key: bytes) -> Vault:
        """Open with a printed recovery key (20 bytes, see `recoverykey`)."""
        path = _real(path)
        envelope = _parse(path, file.read(path, fmt.MAX_FILE_BYTES))
        master_key, slot_id = fmt.open_with_recovery_key(envelope, recovery_key)
        logger.debug("recovery key slot %s opened the vault", slot_id)
        return cls._opened(path, envelope, master_key, slot_id)

    @classmethod
    def _opened(cls, path: Path, envelope: fmt.Envelope, master_key: bytes, slot_id: str) -> Vault:
        payload = _decrypt(path, envelope, master_key)  # the header and payload must be intact
        logger.debug("payload decrypted: %d credentials", len(payload.credentials))
        _check_generation(path, payload)
        vault = cls(path, master_key, slot_id)
        vault.generation_seen = payload.generation
        return vault

    @classmethod
    def reopen(cls, path: Path, held: bytes) -> Vault | None:
        """Open with what `held_secret` gave (`hwotp unlock` keeps it in the kernel keyring);
        None when it no longer opens the file: a changed passphrase brought a new master key."""
        slot_id, colon, master_key = held.partition(b":")
        if not colon or len(master_key) != fmt.KEY_BYTES:
            return None
        path = _real(path)
        envelope = _parse(path, file.read(path, fmt.MAX_FILE_BYTES))
        try:
            payload = fmt.decrypt(envelope, master_key)
        except VaultDamagedError:
            return None
        _check_generation(path, payload)
        vault = cls(path, master_key, slot_id.decode("ascii", "replace"))
        vault.generation_seen = payload.generation
        return vault

    def generation_and_newest_seen(self) -> tuple[int, int]:
        """The file's generation and the newest seen of this vault: a rollback when lower."""
        payload = self._read()[1]
        return payload.generation, _newest_seen(self.path, payload, self.generation_seen)

    def accept_rollback(self) -> tuple[int, int]:
        """Accept the file as it is now as the vault (an older copy put back on purpose), so
        writes and HOTP codes go on from it: (its generation, the newest one seen before)."""
        with file.exclusive_lock(self.path):
            payload = self._read()[1]
            generation = payload.generation
            seen = _newest_seen(self.path, payload, self.generation_seen)
            generations.remember(self.path, payload.vault_id, generation, newer_only=False)
            self.generation_seen = generation
        return generation, seen

    def held_secret(self) -> bytes:
        """What opens this vault without a passphrase: for `hwotp unlock` to hand to the kernel
        keyring only, never to a file or an output."""
        return self.unlocked_slot.encode("ascii") + b":" + self._master_key

    # --- credentials ------------------------------------------------------------------------

    def credentials(self) -> list[Credential]:
        """The credentials as they are in the file now (no lock: writes are atomic renames)."""
        return self._read()[1].credentials

    @contextlib.contextmanager
    def edit(self) -> Iterator[list[Credential]]:
        """Yield the current list under the lock; write it back if it changed and no error
        escaped the block. A vault that does not decrypt is never written."""
        with self._locked() as (envelope, payload, old):
            credentials = list(payload.credentials)
            yield credentials
            if credentials != payload.credentials:
                checked = _checked(credentials)
                # A deleted or replaced secret must not live on in the backup.
                dropped = _secrets(payload.credentials) - _secrets(checked)
                payload.credentials = checked
                self._write(envelope.header.slots, payload, None if dropped else old)
            else:
                logger.debug("nothing changed: the vault is not written")

    def credentials_to_hand_out(self) -> list[Credential]:
        """The credentials, for their secrets to leave the vault (an export, a push onto a
        key): refused from a rolled-back copy, whose HOTP counters are behind (and which may
        hold a secret deleted since), as a write from it is."""
        payload = self._read()[1]
        _refuse_rollback(self.path, payload, self.generation_seen)
        return payload.credentials

    # --- recovery codes ---------------------------------------------------------------------

    def recovery_sets(self) -> list[RecoverySet]:
        """The recovery codes kept in the vault, a set per service."""
        return self._read()[1].recovery

    @contextlib.contextmanager
    def edit_recovery(self) -> Iterator[list[RecoverySet]]:
        """Yield the recovery sets under the lock, as `edit` does the credentials: whatever the
        block decides (the next code to hand out) no other process can decide at the same
        time. Written back if changed and no error escaped the block."""
        with self._locked() as (envelope, payload, old):
            sets = list(payload.recovery)
            yield sets
            if sets != payload.recovery:
                # Codes replaced or removed must not live on in the backup.
                dropped = _codes(payload.recovery) - _codes(sets)
                payload.recovery = sets
                self._write(envelope.header.slots, payload, None if dropped else old)
            else:
                logger.debug("nothing changed: the vault is not written")

    # --- key slots --------------------------------------------------------------------------

    def slots(self) -> list[SlotInfo]:
        envelope, payload = self._read()
        keys = {slot.id: slot for slot in envelope.header.fido2_slots()}
        infos = []
        for raw in envelope.header.slots:
            slot_id = raw["id"]
            key = keys.get(slot_id)
            infos.append(SlotInfo(
                slot_id, raw["type"], raw["type"] in fmt.KNOWN_TYPES,
                label=key.label if key else None,
                last_verified=payload.verified.get(slot_id),
                aaguid=key.aaguid if key else None,
                uv=key.uv if key else None,
            ))
        return infos

    def add_security_key(
        self, *, label: str, credential_id: bytes, rp_id: str, salt: bytes, uv: bool,
        aaguid: str, hmac_output: bytes, verified_at: int,
    ) -> str:
        """Add a security key slot whose key-encryption key comes from `hmac_output` (the key's
        answer for `salt`); the registration counts as its first verification."""
        problem = fmt.label_problem(label)
        if problem:
            raise InputError(f"the label cannot be used: {problem}")
        with self._locked() as (envelope, payload, old):
            slots = list(envelope.header.slots)
            if any(s.label == label for s in envelope.header.fido2_slots()):
                raise InputError(f"a security key labelled {label!r} is already registered; "
                                 "choose another label")
            slot = fmt.new_fido2_slot(
                self._master_key, fmt.fido2_kek(hmac_output), slot_id=fmt.new_slot_id(
                    s["id"] for s in slots), label=label, credential_id=credential_id,
                rp_id=rp_id, salt=salt, uv=uv, aaguid=aaguid,
            )
            payload.verified[slot["id"]] = verified_at
            self._write([*slots, slot], payload, old)
        return str(slot["id"])

    def add_recovery_key(self, recovery_key: bytes) -> str:
        """Add a recovery key slot (one HKDF, no scrypt) and return its id. It is not proved
        (no `verified` time) until it has opened the vault in a drill (`record_verified`)."""
        with self._locked() as (envelope, payload, old):
            slots = list(envelope.header.slots)
            slot = fmt.new_recovery_slot(self._master_key, recovery_key,
                                         slot_id=fmt.new_slot_id(s["id"] for s in slots))
            self._write([*slots, slot], payload, old)
        return str(slot["id"])

    def record_verified(self, slot_id: str, when: int) -> None:
        """Note that slot `slot_id` opened the vault at `when` (a drill)."""
        with self._locked() as (envelope, payload, old):
            _slot_index(envelope.header.slots, slot_id)
            payload.verified[slot_id] = when
            self._write(envelope.header.slots, payload, old)

    def add_passphrase(self, passphrase: str) -> str:
        """Add a passphrase slot (one scrypt run) and return its id."""
        _check_passphrase(passphrase)
        with self._locked() as (envelope, payload, old):
            slots = list(envelope.header.slots)
            slot = self._new_slot(passphrase, slots)
            self._write([*slots, slot], payload, old)
        return str(slot["id"])

    def change_passphrase(self, passphrase: str, slot_id: str | None = None) -> str:
        """Replace a passphrase slot (default: the one this vault was unlocked with) by a new
        one for `passphrase`, in one write. Returns the new slot's id.

        When that slot is the only one, the master key is replaced too, so an old copy of the
        file and the old passphrase no longer open later versions. The backup is rewritten as
        the new version: it no longer opens with the old passphrase."""
        _check_passphrase(passphrase)
        target = slot_id or self.unlocked_slot
        with self._locked() as (envelope, payload, _old):
            slots = list(envelope.header.slots)
            index = _slot_index(slots, target)
            if slots[index]["type"] != fmt.SCRYPT_TYPE:
                raise InputError(f"key slot {target} is not a passphrase slot")
            master_key = fmt.new_master_key() if len(slots) == 1 else self._master_key
            slot = self._new_slot(passphrase, slots, master_key)
            slots[index] = slot
            # The backup becomes the new version too: a stolen copy of it must not open with
            # the old passphrase, which may be why it was changed.
            self._write(slots, payload, None, master_key)
        self._master_key = master_key  # only once the file holds it
        if target == self.unlocked_slot:
            self.unlocked_slot = str(slot["id"])
        return str(slot["id"])

    def remove_slot(self, slot_id: str) -> None:
        """Remove a slot; refused if no slot this hwotp can open would remain."""
        with self._locked() as (envelope, payload, _old):
            slots = list(envelope.header.slots)
            del slots[_slot_index(slots, slot_id)]
            if not any(s["type"] in fmt.KNOWN_TYPES for s in slots):
                raise InputError("cannot remove the last way into the vault: no "
                                 "passphrase, security key or recovery key slot would be left")
            payload.verified.pop(slot_id, None)
            self._write(slots, payload, None)  # nor may the backup keep the removed slot

    def check(self) -> FileCheck:
        """The file as it is now, read and verified with this vault's key (header, trailer,
        authenticated payload); changes nothing."""
        envelope, payload = self._read()
        return FileCheck(self.path, len(payload.credentials), len(envelope.header.slots),
                         payload.generation, payload.vault_id)

    # --- internals --------------------------------------------------------------------------

    def _read(self) -> tuple[fmt.Envelope, fmt.Payload]:
        envelope = _parse(self.path, file.read(self.path, fmt.MAX_FILE_BYTES))
        return envelope, self._decrypt(envelope)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[tuple[fmt.Envelope, fmt.Payload, bytes]]:
        """Lock, then read and decrypt the current file; anything that fails stops the write."""
        with file.exclusive_lock(self.path):
            file.remove_stale_temp_files(self.path)
            data = file.read(self.path, fmt.MAX_FILE_BYTES)
            envelope = _parse(self.path, data)
            payload = self._decrypt(envelope)
            # An older copy may have replaced the file, since this process opened it or before.
            _refuse_rollback(self.path, payload, self.generation_seen)
            yield envelope, payload, data

    def _decrypt(self, envelope: fmt.Envelope) -> fmt.Payload:
        try:
            return _decrypt(self.path, envelope, self._master_key)
        except VaultDamagedError:
            # Re-keyed by another process since this one unlocked it: not damage.
            if self.unlocked_slot not in {slot["id"] for slot in envelope.header.slots}:
                raise StorageError(
                    "another hwotp process changed the vault passphrase meanwhile; "
                    "run the command again"
                ) from None
            raise

    def _write(
        self,
        slots: Sequence[fmt.Slot],
        payload: fmt.Payload,
        old: bytes | None,
        master_key: bytes | None = None,
    ) -> None:
        """Write the new version, keeping `old` as the backup; without `old` (a secret left
        the vault) the backup becomes the new version too."""
        problem = fmt.slots_problem(slots)
        if problem:  # never write a file that readers would reject
            raise StorageError(f"the vault was left unchanged: {problem}")
        # Never below a generation seen before: a rollback written over stays detectable.
        seen = generations.last_seen(self.path, payload.vault_id)
        payload.generation = max(payload.generation, seen or 0) + 1
        payload.vault_id = payload.vault_id or fmt.new_vault_id()  # a file before ids: now
        new = _fitting(fmt.seal(slots, master_key or self._master_key, payload))
        logger.debug("writing %s: %d credentials, %d key slots, %d bytes (was %d)", self.path,
                     len(payload.credentials), len(slots), len(new), len(old) if old else 0)
        file.replace_keeping_backup(self.path, new if old is None else old, new)
        self.generation_seen = payload.generation  # only once the file holds it
        # Under the vault's lock, so writers record their generations in order.
        generations.remember(self.path, payload.vault_id, payload.generation, newer_only=False)

    def _new_slot(
        self, passphrase: str, slots: Sequence[fmt.Slot], master_key: bytes | None = None
    ) -> dict[str, object]:
        slot_id = fmt.new_slot_id(s["id"] for s in slots)
        return _new_scrypt_slot(master_key or self._master_key, passphrase, slot_id)


@dataclass(frozen=True)
class FileCheck:
    """What `check_file` found in an intact vault file."""

    path: Path
    credentials: int
    slots: int
    generation: int
    vault_id: str | None = None


def check_file(path: Path, way_in: WayIn) -> FileCheck:
    """Open and verify a vault file (the vault or its backup) as `unlock` does: the header and
    its checksum, a key slot that opens with `way_in` (typed text or a security key's answer),
    the payload authenticated with the header. Records nothing (no generation: a backup is
    older by design). VaultDamagedError, WrongPassphraseError, UnregisteredKeyError,
    VaultMissingError."""
    path = _real(path)
    return _checked_bytes(path, file.read(path, fmt.MAX_FILE_BYTES), way_in)


def restore_backup(path: Path, way_in: WayIn) -> FileCheck:
    """Put the backup in the vault's place, once it opens with `way_in` (checked under the
    lock, so the backup checked is the one restored). The backup stays as it is."""
    path = _real(path)
    backup = file.backup_path(path)
    with file.exclusive_lock(path):
        try:
            data = file.read(backup, fmt.MAX_FILE_BYTES)
        except VaultMissingError:
            raise VaultMissingError(f"there is no backup at {backup}") from None
        checked = _checked_bytes(backup, data, way_in)
        file.write_atomic(path, data)
        logger.debug("restored %s from its backup (%d bytes)", path, len(data))
        # An older generation on purpose: the next open must not call it a rollback.
        generations.remember(path, checked.vault_id, checked.generation, newer_only=False)
    return checked


def _checked_bytes(path: Path, data: bytes, way_in: WayIn) -> FileCheck:
    try:
        envelope = fmt.parse(data)
        if isinstance(way_in, KeyAnswer):
            master_key = _open_by_key(envelope, way_in)
        else:
            master_key, _slot_id = _open_typed(
                envelope, way_in, refused=f"{path} does not open with that passphrase")
        payload = fmt.decrypt(envelope, master_key)
    except VaultDamagedError as err:
        raise _with_backup_hint(path, VaultDamagedError(f"{path}: {err}")) from None
    except NotFoundError:  # the key matched a slot of another file: none of this one
        raise UnregisteredKeyError(f"the security key opens no slot of {path}") from None
    return FileCheck(path, len(payload.credentials), len(envelope.header.slots),
                     payload.generation, payload.vault_id)


def _open_typed(
    envelope: fmt.Envelope, typed: str, refused: str = fmt.WRONG_PASSPHRASE
) -> tuple[bytes, str]:
    """(master key, slot id) for what was typed where the passphrase is asked. It is a
    recovery key where it reads as one and opens a recovery key slot (one HKDF each, no
    scrypt); anything else, a passphrase shaped like a recovery key included, is tried
    against the passphrase slots. What the check characters found is said only when nothing
    opened: a passphrase of that shape must never be refused as a mistyped key."""
    as_recovery_key = None
    if envelope.header.recovery_slots() and recoverykey.looks_like_recovery_key(typed):
        try:
            master_key, slot_id = fmt.open_with_recovery_key(
                envelope, recoverykey.parse_recovery_key(typed))
        except recoverykey.RecoveryKeyTypo as typo:
            as_recovery_key = f"group {typo.group} {typo.problem}"
        except WrongPassphraseError:
            as_recovery_key = "it opens no recovery key slot"
        else:
            logger.debug("recovery key slot %s opened the vault", slot_id)
            return master_key, slot_id
    try:
        master_key, slot_id = fmt.open_master_key(envelope, typed, _timed_scrypt)
    except WrongPassphraseError:
        logger.debug("no key slot opened with that passphrase")
        if as_recovery_key is None:
            raise WrongPassphraseError(refused) from None
        raise WrongPassphraseError(f"{refused}; read as a recovery key, {as_recovery_key}"
                                   ) from None
    logger.debug("key slot %s opened the vault", slot_id)
    return master_key, slot_id


def _open_by_key(envelope: fmt.Envelope, answer: KeyAnswer) -> bytes:
    """The master key from a security key's answer for its slot; UnregisteredKeyError if the
    answer does not open it (the slot was changed: the key's own credential answered)."""
    slot = next((s for s in envelope.header.fido2_slots() if s.id == answer.slot_id), None)
    if slot is None:
        raise NotFoundError(f"the vault has no security key slot {answer.slot_id}")
    master_key = fmt.unwrap(fmt.fido2_kek(answer.output), slot)
    if master_key is None:
        raise UnregisteredKeyError(
            f"the security key's answer does not open slot {answer.slot_id}")
    logger.debug("security key slot %s opened the vault", answer.slot_id)
    return master_key


def _new_scrypt_slot(
    master_key: bytes, passphrase: str, slot_id: str | None = None
) -> dict[str, Any]:
    """A new passphrase slot: one scrypt run, whose cost is logged."""
    started = time.monotonic()
    slot = fmt.new_scrypt_slot(master_key, passphrase, slot_id=slot_id)
    logger.debug("new key slot %s: scrypt n=2^%d r=%d p=%d, %.2f s", slot["id"],
                 slot["n"].bit_length() - 1, slot["r"], slot["p"], time.monotonic() - started)
    return slot


def _timed_scrypt(passphrase: str, slot: fmt.ScryptSlot) -> bytes:
    """The slot's key-encryption key, as format derives it, with the time it took logged."""
    started = time.monotonic()
    kek = fmt.scrypt_kek(passphrase, slot)
    logger.debug("key slot %s: scrypt n=2^%d r=%d p=%d, %.2f s", slot.id,
                 slot.n.bit_length() - 1, slot.r, slot.p, time.monotonic() - started)
    return kek


def _check_generation(path: Path, payload: fmt.Payload) -> None:
    """Warn when the file is older than a version of it this user's hwotp recorded: a
    rollback. Reading goes on; writing is refused (`_refuse_rollback`)."""
    generation, seen = payload.generation, generations.last_seen(path, payload.vault_id)
    if seen is not None and generation < seen:
        warnings.warn(
            HwotpWarning(
                f"{path} is generation {generation}, older than generation {seen} seen before: "
                "an older copy replaced it (a rollback), so changes since are missing; it is "
                "read-only until accepted"
            ),
            stacklevel=3,
        )
    else:
        generations.remember(path, payload.vault_id, generation, newer_only=True)


def _refuse_rollback(path: Path, payload: fmt.Payload, seen_here: int) -> None:
    """Under the lock, before a write: a file older than what this process opened or this
    user's hwotp recorded is not written. An HOTP counter or a recovery code's `used` mark
    moving on from an older copy would hand out codes a second time."""
    seen = _newest_seen(path, payload, seen_here)
    if payload.generation < seen:
        raise RolledBackError(path, payload.generation, seen)


def _newest_seen(path: Path, payload: fmt.Payload, seen_here: int) -> int:
    """The newest generation of this vault seen by this process or recorded by this user's
    hwotp."""
    return max(seen_here, generations.last_seen(path, payload.vault_id) or 0)


def _fitting(data: bytes) -> bytes:
    """`data`, if readers will accept its size: hwotp never writes a file it would reject."""
    if len(data) > fmt.MAX_FILE_BYTES:
        limit = fmt.MAX_FILE_BYTES // 2**20
        raise StorageError(f"the vault would grow past {limit} MiB; nothing was written")
    return data


def _real(path: Path) -> Path:
    """Follow a symbolic link, so a write replaces the file it points to, not the link."""
    return Path(os.path.realpath(path))


def _check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise InputError("the vault passphrase must not be empty")


def _checked(credentials: Sequence[Credential]) -> list[Credential]:
    for item in credentials:
        if not isinstance(item, Credential):
            raise TypeError(f"a vault holds Credential objects, not {type(item).__name__}")
    return list(credentials)


def _secrets(credentials: Sequence[Credential]) -> set[bytes]:
    return {credential.secret for credential in credentials}


def _codes(sets: Sequence[RecoverySet]) -> set[str]:
    return {code.value for item in sets for code in item.codes}


def _slot_index(slots: Sequence[fmt.Slot], slot_id: str) -> int:
    for index, slot in enumerate(slots):
        if slot["id"] == slot_id:
            return index
    raise NotFoundError(f"the vault has no key slot {slot_id}")


def _parse(path: Path, data: bytes) -> fmt.Envelope:
    try:
        return fmt.parse(data)
    except VaultDamagedError as err:
        raise _with_backup_hint(path, err) from None


def _decrypt(path: Path, envelope: fmt.Envelope, master_key: bytes) -> fmt.Payload:
    try:
        return fmt.decrypt(envelope, master_key)
    except VaultDamagedError as err:
        raise _with_backup_hint(path, err) from None


def _with_backup_hint(path: Path, err: VaultDamagedError) -> VaultDamagedError:
    backup = file.backup_path(path)
    if not backup.exists():
        return err
    return VaultDamagedError(f"{err}; the previous version is in {backup}",
                             remedy=Remedy.CHECK_BACKUP)
