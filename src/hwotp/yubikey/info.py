"""What tells one YubiKey from another, and what its firmware allows."""

from __future__ import annotations

from typing import NamedTuple


class KeyInfo(NamedTuple):
    serial: int | None
    firmware: tuple[int, int, int]
    form_factor: str
    reader: str

    @property
    def oath_capacity(self) -> int:
        return 64 if self.firmware >= (5, 7, 0) else 32
