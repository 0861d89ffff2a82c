"""The one protocol every store answers, so the command line never branches on "key or vault"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hwotp.credential import Code, Credential, Entry, is_hidden


@dataclass(frozen=True)
class Computed:
    """One credential in a bulk `codes()`: its code, or why it is computed only when asked for
    by name (HOTP moves a counter; touch needs a finger; a key computes in bulk for 30 s)."""

    name: str
    location: str
    code: Code | None
    not_computed_because: str = ""

    @property
    def hidden(self) -> bool:
        return is_hidden(self.name)


class Store(Protocol):
    @property
    def location(self) -> str:
        """Where the credentials are, as messages name it: "vault", "YubiKey 12345678"."""
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
