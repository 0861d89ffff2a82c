"""The one protocol every store answers, so the command line never branches on "key or vault"."""

from __future__ import annotations

from typing import Protocol

from hwotp.credential import Code, Credential, Entry


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

    def delete(self, entry: Entry) -> None: ...

    def rename(self, entry: Entry, issuer: str, account: str) -> None: ...
