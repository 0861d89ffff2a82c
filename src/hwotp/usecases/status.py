"""What if I lose a device? Where each account's second factor lives, every way the vault
opens, and what one lost key (or one forgotten passphrase) would lock out, each with its fix.

Pure: the command line gathers what the plugged keys and the vault hold and hands it here.
Only keys plugged in now are seen (a YubiKey does not tell another's contents, and the key
cache remembers serials, not credentials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from hwotp.credential import fold, is_hidden, split_name
from hwotp.recovery import FEW_LEFT, RecoverySet

if TYPE_CHECKING:
    from hwotp.vault import SlotInfo

VERIFY_EVERY_DAYS = 90  # a security key not proven for this long is named
DAY = 86400.0


class Fix(StrEnum):
    """What removes a risk; the command line words each as a command."""

    ALL_KEYS = "enrol it again on every YubiKey"
    ALSO_VAULT = "keep an escrowed copy in the vault"
    VAULT_PUSH = "write the vault's copy onto a YubiKey"
    RECOVERY_ADD = "keep the service's recovery codes"
    NEW_CODES = "keep a new set of recovery codes"
    ADD_WAY = "add another way to open the vault"
    VERIFY = "prove the security key still opens the vault"


class VaultState(StrEnum):
    OPEN = "open"
    ABSENT = "absent"  # no vault file yet
    LEFT_OUT = "left out"  # nobody could give its passphrase
    OFF = "off"  # --no-vault, or the config says no vault


@dataclass(frozen=True)
class WayIn:
    """One way to open the vault: a key slot as a person thinks of it."""

    slot: str
    kind: str  # "passphrase", or the slot type this hwotp does not know
    usable: bool  # this hwotp can open the vault with it
    device: bool  # a thing that can be lost (a security key, a printed recovery key)
    label: str | None = None
    last_verified: float | None = None  # when a device last opened the vault (None: never)
    drilled: bool = False  # `hwotp fido2 verify` proves it (a security key)


# Slot type -> (kind, device, drilled): a new slot type is one line here.
SLOT_KINDS: dict[str, tuple[str, bool, bool]] = {
    "scrypt": ("passphrase", False, False),
    "fido2-hmac-secret": ("security key", True, True),
    "recovery-key": ("recovery key", True, False),
}


def ways_in(slots: Sequence[SlotInfo]) -> list[WayIn]:
    """The vault's key slots as ways in; a type this hwotp does not know is listed by type."""
    ways = []
    for slot in slots:
        kind, device, drilled = SLOT_KINDS.get(slot.type, (slot.type, False, False))
        ways.append(WayIn(slot.id, kind, slot.usable, device, slot.label, slot.last_verified,
                          drilled))
    return ways


@dataclass(frozen=True)
class KeyHolding:
    """A plugged YubiKey and the names of the credentials it holds."""

    label: str  # "YubiKey 12345678"
    serial: int | None
    names: Sequence[str]


@dataclass(frozen=True)
class VaultView:
    state: VaultState
    names: Sequence[str] = ()
    recovery: Sequence[RecoverySet] = ()
    ways: Sequence[WayIn] = ()

    @property
    def usable_ways(self) -> list[WayIn]:
        return [way for way in self.ways if way.usable]


@dataclass(frozen=True)
class Account:
    name: str
    keys: tuple[KeyHolding, ...]
    in_vault: bool | None  # None: the vault was left out, so nobody knows
    recovery: RecoverySet | None

    @property
    def codes_left(self) -> int:
        return self.recovery.left if self.recovery else 0


@dataclass(frozen=True)
class Risk:
    subject: str  # "account", "vault" or "security key"
    name: str
    problem: str
    fixes: tuple[Fix, ...]
    certain: bool = True  # False: the vault was left out and might hold a copy


@dataclass
class Status:
    keys: list[KeyHolding]
    vault: VaultView
    accounts: list[Account] = field(default_factory=list)
    unmatched_recovery: list[RecoverySet] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)


def analyse(keys: Sequence[KeyHolding], vault: VaultView, now: float) -> Status:
    """Every account (hidden ones aside), where it lives, and what one loss would cost."""
    names = sorted({name for key in keys for name in key.names} | set(vault.names))
    names = [name for name in names if not is_hidden(name)]
    recovery, unmatched = _match_recovery(names, vault.recovery)
    known = vault.state is VaultState.OPEN
    accounts = [
        Account(name, tuple(key for key in keys if name in key.names),
                (name in vault.names) if known else None, recovery.get(name))
        for name in names
    ]
    status = Status(list(keys), vault, accounts, unmatched)
    status.risks = [*_vault_risks(vault, now), *_account_risks(accounts, vault)]
    return status


def _match_recovery(
    names: Sequence[str], sets: Sequence[RecoverySet]
) -> tuple[dict[str, RecoverySet], list[RecoverySet]]:
    """Which account a set of codes belongs to: the service is the account's whole name, or
    its issuer when only one account has that issuer (codes are per account: `GitHub` beside
    two GitHub accounts could be either's, so it matches neither)."""
    by_name = {fold(name): name for name in names}
    by_issuer: dict[str, list[str]] = {}
    for name in names:
        issuer = split_name(name)[0]
        if issuer:
            by_issuer.setdefault(fold(issuer), []).append(name)
    matched: dict[str, RecoverySet] = {}
    unmatched = []
    for item in sets:
        service = fold(item.service)
        owners = [by_name[service]] if service in by_name else by_issuer.get(service, [])
        if len(owners) == 1 and owners[0] not in matched:
            matched[owners[0]] = item
        else:
            unmatched.append(item)
    return matched, unmatched


def _vault_risks(vault: VaultView, now: float) -> list[Risk]:
    if vault.state is not VaultState.OPEN:
        return []
    risks = []
    usable = vault.usable_ways
    holds = len(vault.names) + len(vault.recovery)
    if len(usable) == 1 and holds:
        way = usable[0]
        lost = f"losing {_named(way)}" if way.device else f"forgetting {_named(way)}"
        risks.append(Risk("vault", "vault", f"it opens only one way: {lost} locks out all it "
                          f"holds ({_holds(vault)})", (Fix.ADD_WAY,)))
    for way in usable:
        if way.drilled and _unproven(way, now):
            when = "never" if way.last_verified is None else (
                f"not for {int((now - way.last_verified) // DAY)} days")
            risks.append(Risk("security key", _named(way), f"it has {when} proven that it "
                              "opens the vault", (Fix.VERIFY,)))
    return risks


def _unproven(way: WayIn, now: float) -> bool:
    return way.last_verified is None or now - way.last_verified > VERIFY_EVERY_DAYS * DAY


def _account_risks(accounts: Sequence[Account], vault: VaultView) -> list[Risk]:
    risks = []
    single_way = len(vault.usable_ways) <= 1
    for account in accounts:
        risk = _lockout(account, single_way)
        if risk is not None:
            risks.append(risk)
        if account.recovery is not None and account.codes_left <= FEW_LEFT:
            left = account.codes_left
            risks.append(Risk("account", account.name,
                              f"only {left} recovery code{'s' * (left != 1)} left" if left
                              else "every recovery code is used", (Fix.NEW_CODES,)))
    return risks


def _lockout(account: Account, vault_single_way: bool) -> Risk | None:
    """The account one lost key (or the vault's one way in) would lock out, if any. Recovery
    codes left count as a way back."""
    if account.codes_left:
        return None
    places = len(account.keys) + bool(account.in_vault)
    if places > 1:
        return None
    if account.keys and account.in_vault is None:
        only = account.keys[0].label
        return Risk("account", account.name, f"only on the {only} as far as hwotp can tell "
                    "(the vault was left out): losing that key locks you out",
                    (Fix.ALSO_VAULT, Fix.ALL_KEYS, Fix.RECOVERY_ADD), certain=False)
    if account.keys:
        only = account.keys[0].label
        return Risk("account", account.name, f"only on the {only}, and no recovery codes: "
                    "losing that key locks you out",
                    (Fix.ALL_KEYS, Fix.ALSO_VAULT, Fix.RECOVERY_ADD))
    if account.in_vault and vault_single_way:
        return Risk("account", account.name, "only in the vault, which opens only one way, "
                    "and no recovery codes", (Fix.ADD_WAY, Fix.VAULT_PUSH, Fix.RECOVERY_ADD))
    return None


def _named(way: WayIn) -> str:
    if way.kind == "passphrase":
        return "its passphrase"
    return f"the {way.kind} {way.label or way.slot}"


def _holds(vault: VaultView) -> str:
    parts = [f"{len(vault.names)} account{'s' * (len(vault.names) != 1)}"]
    if vault.recovery:
        count = len(vault.recovery)
        parts.append(f"recovery codes of {count} service{'s' * (count != 1)}")
    return " and ".join(parts)
