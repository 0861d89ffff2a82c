"""The encrypted software vault as a `Store`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hwotp.credential import Code, Credential, Entry, Kind, display_name
from hwotp.errors import ExistsError, NotFoundError, Remedy, WrongPassphraseError
from hwotp.otp import compute
from hwotp.stores.base import Comparison, Computed
from hwotp.vault import Vault, VaultExistsError

_TAKEN = "another credential in the vault already has that name"

# Called with True when the vault is about to be created (ask twice), False to unlock it.
PassphraseSource = Callable[[bool], str]
# Opens the vault at a path with a plugged security key, or None (none registered or plugged).
KeyOpener = Callable[[Path], Vault | None]


class VaultStore:
    """Unlocks lazily: listing an absent vault asks for nothing; the first add creates it."""

    location = "vault"
    capacity = None  # only the model limits it

    def __init__(
        self, path: Path, passphrase: PassphraseSource, *, held: bool = True,
        security_key: KeyOpener | None = None,
    ) -> None:
        """`held`: the key `hwotp unlock` keeps may open it (not for changing passphrases,
        which asks for the current one). `security_key`: tried before the passphrase."""
        self.path = path
        self._passphrase = passphrase
        self._held = held
        self._security_key = security_key
        self._vault: Vault | None = None
        self._new_passphrase: str | None = None  # asked before an enrolment's first write
        # The last read, by name: a command listing then computing N codes decrypts once.
        self._snapshot: dict[str, Credential] | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def entries(self) -> list[Entry]:
        if not self.exists():
            return []
        return [c.entry(self.location, counter=_counter(c)) for c in self._read()]

    def check_writable(self, credentials: Sequence[Credential]) -> None:
        """The vault holds whatever the model allows."""

    def prepare_to_write(self) -> None:
        """A new vault's passphrase is asked now, an existing vault opened now: no prompt
        comes between writing a key and writing the vault."""
        if self.exists():
            self._open()
        elif self._new_passphrase is None:
            self._new_passphrase = self._passphrase(True)

    def same_slot(self, entry: Entry, credential: Credential) -> bool:
        return entry.name == credential.name

    def compare(self, entry: Entry, credential: Credential, now: float) -> Comparison:
        import hmac

        stored = self._named().get(entry.name)
        same = stored is not None and hmac.compare_digest(stored.secret, credential.secret) and (
            (stored.kind, stored.algorithm, stored.digits, stored.period)
            == (credential.kind, credential.algorithm, credential.digits, credential.period))
        return Comparison(same)

    def add(self, credential: Credential, *, replace: bool = False) -> Entry:
        if not self.exists():
            passphrase = self._new_passphrase or self._passphrase(True)
            try:
                self._vault = Vault.create(self.path, passphrase, [credential])
                return credential.entry(self.location)
            except VaultExistsError:  # another hwotp created it a moment ago: add to it
                self._vault = Vault.unlock(self.path, passphrase)
        with self._edit() as credentials:
            taken = _index(credentials, credential.name)
            if taken is None:
                credentials.append(credential)
            elif replace:
                credentials[taken] = credential
            else:  # another process stored it since the caller's check
                raise ExistsError(f"{credential.name} is already in the vault",
                                  remedy=Remedy.REPLACE)
        return credential.entry(self.location)

    def calculate(self, entry: Entry, now: float) -> Code:
        if entry.kind is Kind.TOTP:
            credential = self._named().get(entry.name)
            if credential is None:
                raise NotFoundError(f"{entry.name} is no longer in the vault")
            return compute(credential, now)
        # HOTP: the counter moves in the same locked write that hands out the code.
        with self._edit() as credentials:
            index = self._locate(credentials, entry)
            credential = credentials[index]
            credentials[index] = credential.replace(counter=credential.counter + 1)
            return compute(credential, now)

    def codes(self, now: float) -> list[Computed]:
        if not self.exists():  # no vault yet: nothing to compute, as entries() has nothing
            return []
        return [
            Computed(c.name, self.location, compute(c, now))
            if c.kind is Kind.TOTP
            else Computed(c.name, self.location, None, "HOTP")
            for c in self._read()
        ]

    def delete(self, entry: Entry) -> None:
        with self._edit() as credentials:
            del credentials[self._locate(credentials, entry)]

    def check_rename(self, entry: Entry, issuer: str, account: str) -> None:
        renamed = display_name(issuer, account)
        if renamed != entry.name and renamed in self._named():
            raise ExistsError(_TAKEN)

    def rename(self, entry: Entry, issuer: str, account: str) -> None:
        with self._edit() as credentials:
            index = self._locate(credentials, entry)
            renamed = credentials[index].replace(issuer=issuer, account=account)
            clash = _index(credentials, renamed.name)  # the name as stored: NFC, trimmed
            if clash is not None and clash != index:
                raise ExistsError(_TAKEN)
            credentials[index] = renamed

    def escrowed(self) -> list[Credential]:
        """The credentials with their secrets, to leave the vault (`vault push`, `export`):
        never from a rolled-back copy (RolledBackError)."""
        return self._open().credentials_to_hand_out() if self.exists() else []

    def unlocked(self) -> Vault:
        """The vault itself, for what only a vault has (its key slots)."""
        return self._open()

    def _read(self) -> list[Credential]:
        credentials = self._open().credentials()
        self._snapshot = {c.name: c for c in credentials}
        return credentials

    def _named(self) -> dict[str, Credential]:
        if self._snapshot is None:
            self._read()
        return self._snapshot or {}

    @contextlib.contextmanager
    def _edit(self) -> Iterator[list[Credential]]:
        self._snapshot = None  # whatever this write changes, the next code reads it anew
        with self._open().edit() as credentials:
            yield credentials

    def _open(self) -> Vault:
        if self._vault is None:
            # Damage (the trailer, the header) is said before any key or passphrase is asked.
            Vault.check_readable(self.path)
            self._vault = (self.reopened() or self._by_security_key()
                           or self._by_passphrase())
        return self._vault

    def _by_passphrase(self) -> Vault:
        try:
            return Vault.unlock(self.path, self._passphrase(False))
        except WrongPassphraseError as error:
            # A script's line was not the passphrase, but a registered security key could
            # have opened it (or this vault has no passphrase at all): say so.
            if error.remedy is None and self._security_key and Vault.security_key_slots(
                    self.path):
                hinted = WrongPassphraseError(error.message, remedy=Remedy.USE_SECURITY_KEY)
                hinted.context = error.context
                raise hinted from None
            raise

    def _by_security_key(self) -> Vault | None:
        return self._security_key(self.path) if self._security_key else None

    def reopened(self) -> Vault | None:
        """The vault opened with the key `hwotp unlock` holds in the kernel keyring, if any
        still opens it."""
        from hwotp.vault import kernelkeys

        if not self._held:
            return None
        held = kernelkeys.held(self.path)
        if held is None:
            return None
        self._vault = Vault.reopen(self.path, held)
        return self._vault

    def _locate(self, credentials: list[Credential], entry: Entry) -> int:
        index = _index(credentials, entry.name)
        if index is None:
            raise NotFoundError(f"{entry.name} is no longer in the vault")
        return index


def _counter(credential: Credential) -> int | None:
    """The counter the next HOTP code uses: the vault knows it (a key does not say)."""
    return credential.counter if credential.kind is Kind.HOTP else None


def _index(credentials: list[Credential], name: str) -> int | None:
    """Where the credential called `name` is; names identify credentials, as on a YubiKey."""
    for index, credential in enumerate(credentials):
        if credential.name == name:
            return index
    return None
