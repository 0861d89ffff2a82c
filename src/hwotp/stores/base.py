"""The one protocol every store answers, so the command line never branches on "key or vault"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from hwotp.credential import Code, Credential, Entry, is_hidden


class Computed(NamedTuple):
    """One credential in a bulk `codes()`: its code, or why it is computed only when asked for
    by name (HOTP moves a counter; touch needs a finger; a key computes in bulk for 30 s)."""

    name: str
    location: str
    code: Code | None
    not_computed_because: str = ""

    @property
    def hidden(self) -> bool:
        return is_hidden(self.name)


class Comparison(NamedTuple):
    """Whether a stored credential of the same name holds the secret about to be written;
    `not_compared` says why the store could not tell."""

    same: bool
    not_compared: str = ""


class Store(Protocol):
    @property
    def location(self) -> str:
        """Where the credentials are, as messages name it: "vault", "YubiKey 12345678"."""
        ...

    @property
    def capacity(self) -> int | None:
        """How many credentials it holds at most; None when only the model limits it."""
        ...

    def prepare_to_write(self) -> None:
        """Ask now for everything a write will need (a new vault's passphrase), so that no
        prompt comes after the first write of an enrolment."""
        ...

    def same_slot(self, entry: Entry, credential: Credential) -> bool:
        """Whether writing `credential` overwrites `entry` (else both stay: twins)."""
        ...

    def compare(self, entry: Entry, credential: Credential, now: float) -> Comparison:
        """Whether `entry` computes as `credential`'s secret does (a rerun of an interrupted
        enrolment finds its own write); never moves a counter."""
        ...

    def entries(self) -> list[Entry]:
        """Every credential held, without secrets."""
        ...

    def check_writable(self, credentials: Sequence[Credential]) -> None:
        """Refuse, before anything is written, what this store would refuse or misread."""
        ...

    def add(self, credential: Credential, *, replace: bool = False) -> Entry:
        """Store `credential` and return its entry. The caller has checked it
        (`check_writable`) and its name: taken only when `replace` is true."""
        ...

    def calculate(self, entry: Entry, now: float) -> Code:
        """The current code for `entry` (moves an HOTP counter)."""
        ...

    def codes(self, now: float) -> list[Computed]:
        """Every code that can be computed without asking (no HOTP, no touch), cheaply."""
        ...

    def delete(self, entry: Entry) -> None: ...

    def check_rename(self, entry: Entry, issuer: str, account: str) -> None:
        """Refuse, before any copy is renamed, a new name this store would refuse (taken,
        too long, misread) or a rename it cannot do."""
        ...

    def rename(self, entry: Entry, issuer: str, account: str) -> None:
        """Rename `entry`; refuses what `check_rename` refuses."""
        ...
