"""Faults on demand: a pulled key, a slow key, a chosen status word for a chosen instruction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class KeyPulled(ConnectionError):
    """The key is gone: the connection fails as when a key is pulled out of its port."""


@dataclass
class Faults:
    # APDUs 1..N are answered; APDU N+1 and everything after fail as a pulled key.
    pull_after: int | None = None
    # APDU N is carried out by the key but its answer is lost (pulled mid-command).
    pull_during: int | None = None
    # Seconds the key waits before answering each APDU.
    delay: float = 0.0
    # Instruction byte -> status word answered instead of carrying the command out.
    statuses: dict[int, int] = field(default_factory=dict)
    pulled: bool = False

    def before(self, number: int) -> None:
        """Called before APDU ``number`` (1-based) reaches the applets."""
        if self.pull_after is not None and number > self.pull_after:
            self.pulled = True
        self.check_present()
        if self.delay:
            time.sleep(self.delay)

    def after(self, number: int) -> None:
        """Called after APDU ``number`` was carried out, before its answer leaves the key."""
        if self.pull_during is not None and number >= self.pull_during:
            self.pulled = True
            raise KeyPulled("the key was pulled out")

    def check_present(self) -> None:
        if self.pulled:
            raise KeyPulled("the key was pulled out")

    def status_for(self, ins: int) -> int | None:
        return self.statuses.get(ins)

    def plug_in(self) -> None:
        """The key is back (its state kept, as a real key keeps its credentials)."""
        self.pull_after = self.pull_during = None
        self.pulled = False
