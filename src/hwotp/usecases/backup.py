"""Security keys as ways into the vault: register a key (a new slot), find which plugged key
matches which slot (a silent probe, no touch), open the vault with it, and the drill that
proves each plugged key still opens it. (Recovery keys need no device: `Vault` opens them.)"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hwotp.errors import (
    ExistsError,
    InputError,
    NotFoundError,
    UnregisteredKeyError,
    VaultDamagedError,
)

if TYPE_CHECKING:
    from hwotp.fido2.device import SecurityKey
    from hwotp.vault import SecurityKeySlot, Vault

logger = logging.getLogger(__name__)

# The PIN of a key (asked only when its slot uses UV, or when the key wants it to make a
# credential), and what is said when a key, by the slot's label, waits for a touch.
PinSource = Callable[["SecurityKey"], str]
TouchPrompt = Callable[["SecurityKey", str], None]


@dataclass(frozen=True)
class Match:
    key: SecurityKey
    slot: SecurityKeySlot


def matches(path: Path, keys: list[SecurityKey]) -> list[Match]:
    """Every (plugged key, slot) pair where the key holds the slot's credential: one silent
    assertion per pair, no touch."""
    from hwotp.fido2.hmacsecret import holds
    from hwotp.vault import Vault

    slots = Vault.security_key_slots(path)
    found = []
    for key in keys:
        for slot in slots:
            if holds(key, slot.credential_id, slot.rp_id):
                logger.debug("%s holds the credential of slot %s", key.path, slot.id)
                found.append(Match(key, slot))
    return found


def open_with(match: Match, path: Path, pin: PinSource, touch: TouchPrompt) -> Vault:
    """Open the vault with the matched key: a touch, and the PIN when the slot used UV."""
    from hwotp.vault import Vault

    try:
        return Vault.unlock_with_security_key(path, match.slot.id, answer(match, pin, touch))
    except UnregisteredKeyError:
        raise VaultDamagedError(_altered_slot(path, match)) from None


def answer(match: Match, pin: PinSource, touch: TouchPrompt) -> bytes:
    """The matched key's hmac-secret output for its slot's salt (a touch, and the PIN when the
    slot used UV): what opens that slot, of the vault or of its backup."""
    from hwotp.fido2.hmacsecret import hmac_secret

    slot, key = match.slot, match.key
    return hmac_secret(key, slot.credential_id, slot.salt, uv=slot.uv, rp_id=slot.rp_id,
                       pin=lambda: pin(key), touch=lambda: touch(key, slot.label))


def _altered_slot(path: Path, match: Match) -> str:
    """The key holds the slot's credential (the probe said so) and answered for its salt, yet
    the wrapped key does not open: the slot's members are the associated data that seals it, so
    its salt, PIN setting, label or relying party were changed, or the slot was put there."""
    from hwotp.vault import file

    backup = file.backup_path(path)
    where = f"; the previous version is in {backup}" if backup.exists() else ""
    return (f"the vault file is damaged or was modified: key slot {match.slot.id} does not "
            f"open with the answer of {match.key.name}, which holds its credential (the slot's "
            f"members seal its key, so one was changed); `hwotp vault check` checks the "
            f"file{where}")


def check_registrable(path: Path, key: SecurityKey, *, label: str, uv: bool) -> None:
    """Everything that can refuse a registration without the vault being opened: the label,
    the key itself (hmac-secret, a PIN for `uv`), and a slot the key already holds (a silent
    probe per slot, no touch)."""
    from hwotp.fido2.hmacsecret import check_can_register, holds
    from hwotp.vault import Vault
    from hwotp.vault.format import label_problem

    problem = label_problem(label)
    if problem:
        raise InputError(f"the label cannot be used: {problem}")
    check_can_register(key, uv=uv)
    for slot in Vault.security_key_slots(path):  # one key, one slot: a second adds no way in
        if holds(key, slot.credential_id, slot.rp_id):
            raise ExistsError(f"{key.name} is already registered (slot {slot.id}, "
                              f"{slot.label!r})")


def register(vault: Vault, key: SecurityKey, *, label: str, uv: bool, pin: PinSource,
             touch: TouchPrompt, now: float) -> str:
    """Make a credential with hmac-secret on `key`, ask it once for the output of a new random
    salt (a second touch), and add the slot; returns the slot id. The key's PIN is asked once
    for both steps. Nothing is written to the vault unless both succeed. What
    `check_registrable` refuses is checked again here; a command calls it before it opens the
    vault, so that nothing is asked in vain."""
    from hwotp.fido2.hmacsecret import RP_ID, SALT_BYTES, hmac_secret
    from hwotp.fido2.hmacsecret import register as make_credential

    check_registrable(vault.path, key, label=label, uv=uv)
    pin_once = _asked_once(lambda: pin(key))
    salt = os.urandom(SALT_BYTES)
    credential = make_credential(key, salt, uv=uv, pin=pin_once,
                                 touch=lambda: touch(key, label))
    output = hmac_secret(key, credential.credential_id, salt, uv=uv, pin=pin_once,
                         touch=lambda: touch(key, label))
    return vault.add_security_key(
        label=label, credential_id=credential.credential_id, rp_id=RP_ID, salt=salt, uv=uv,
        aaguid=credential.aaguid, hmac_output=output, verified_at=int(now),
    )


def _asked_once(ask: Callable[[], str]) -> Callable[[], str]:
    """`ask`, whose answer is kept for the rest of the command (in memory only): a key with a
    PIN wants it to make the credential and again for the assertion."""
    answers: list[str] = []

    def answer() -> str:
        if not answers:
            answers.append(ask())
        return answers[0]

    return answer


def verify(path: Path, keys: list[SecurityKey], pin: PinSource, touch: TouchPrompt,
           now: float) -> list[Match]:
    """The drill: each plugged key that holds a slot's credential opens the vault (touch), and
    the slot records when. UnregisteredKeyError when none of the keys is registered."""
    found = matches(path, keys)
    if not found:
        raise UnregisteredKeyError(_unregistered(keys))
    for match in found:
        vault = open_with(match, path, pin, touch)
        vault.record_verified(match.slot.id, int(now))
    return found


def _unregistered(keys: list[SecurityKey]) -> str:
    names = ", ".join(key.name for key in keys)
    if len(keys) == 1:
        return f"{names} is not registered to this vault (it opens none of its slots)"
    return f"none of the security keys plugged in ({names}) is registered to this vault"


@dataclass(frozen=True)
class KeyInVault:
    """What resetting a key costs a vault: the key slots it holds, and how many other ways in
    (passphrase, recovery key, other keys' slots) stay."""

    held: list[SecurityKeySlot]
    other_ways: int


def key_in_vault(path: Path, key: SecurityKey) -> KeyInVault:
    """Which slots of the vault at `path` `key` holds: its header and silent probes, no
    passphrase and no touch. Nothing held when there is no vault."""
    from hwotp.vault import file
    from hwotp.vault import format as fmt

    if not path.exists():
        return KeyInVault([], 0)
    held = [match.slot for match in matches(path, [key])]
    held_ids = {slot.id for slot in held}
    slots = fmt.parse(file.read(path, fmt.MAX_FILE_BYTES)).header.slots
    others = [s for s in slots if s["type"] in fmt.KNOWN_TYPES and s["id"] not in held_ids]
    return KeyInVault(held, len(others))


def require_slots(path: Path) -> None:
    """UnregisteredKeyError when no security key is registered to the vault at `path`."""
    from hwotp.vault import Vault

    if not path.exists():
        raise NotFoundError(f"there is no vault at {path} yet")
    if not Vault.security_key_slots(path):
        raise UnregisteredKeyError("no security key is registered to this vault yet")
