"""The one protocol every store answers, so the command line never branches on "key or vault"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hwotp.credential import Code, Credential, Entry


@dataclass(frozen=True)
class Computed:
    """One credential in a bulk `codes()`: its code, or why it is computed only when asked for
    by name (HOTP moves a counter; touch needs a finger; a key computes in bulk for 30 s)."""

    name: str
    location: str
    code: Code | None
    waits_because: str = ""


class Store(Protocol):
    location: str

    def entries(self) -> list[Entry]:
        """Every credential held, without secrets."""
        ...

    def add(self, credential: Credential, *, replace: bool = False) -> None:
        """Store `credential`; ExistsError if its name is taken and `replace` is false."""
        ...

    def calculate(self, entry: Entry, now: float) -> Code:
        """The current code for `entry` (moves an HOTP counter)."""
        ...

    def codes(self, now: float) -> list[Computed]:
        """Every code that can be computed without asking (no HOTP, no touch), cheaply."""
        ...

    def delete(self, entry: Entry) -> None: ...

    def rename(self, entry: Entry, issuer: str, account: str) -> None: ...
