"""What the commands share: where the vault is and how to ask for its passphrase."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hwotp.errors import InputError

if TYPE_CHECKING:
    from hwotp.stores import Store
    from hwotp.stores.vault import VaultStore


def clock() -> float:
    """The time codes are computed for; tests replace it to fix the time."""
    return time.time()


@dataclass
class App:
    vault_override: Path | None = None

    @property
    def vault_path(self) -> Path:
        if self.vault_override is not None:
            return self.vault_override
        from hwotp.vault import default_vault_path

        return default_vault_path()

    def vault_store(self) -> VaultStore:
        from hwotp.stores.vault import VaultStore

        return VaultStore(self.vault_path, self.ask_passphrase)

    def stores(self) -> list[Store]:
        return [self.vault_store()]

    def now(self) -> float:
        return clock()

    def ask_passphrase(self, creating: bool) -> str:
        """The vault passphrase; `creating` asks twice and says where the new vault goes."""
        if creating and sys.stdin.isatty() and "HWOTP_PASSPHRASE" not in os.environ:
            click.echo(f"Creating a new vault at {self.vault_path}.", err=True)
        label = "New vault passphrase" if creating else "Vault passphrase"
        return _passphrase("HWOTP_PASSPHRASE", label, twice=creating)

    def ask_new_passphrase(self) -> str:
        """A replacement passphrase: asked twice, or HWOTP_NEW_PASSPHRASE, or the next line."""
        return _passphrase("HWOTP_NEW_PASSPHRASE", "New vault passphrase", twice=True)


def _passphrase(variable: str, label: str, twice: bool) -> str:
    """From `variable`, else the terminal (hidden), else one line of standard input."""
    passphrase = os.environ.get(variable)
    if passphrase is None and sys.stdin.isatty():
        passphrase = click.prompt(label, hide_input=True, confirmation_prompt=twice, err=True)
    elif passphrase is None:
        line = sys.stdin.readline()
        if not line:
            raise InputError(
                f"no {label.lower()}: type it at a terminal, set {variable}, "
                "or give it as one line on standard input"
            )
        passphrase = line.rstrip("\r\n")
    if not passphrase:
        raise InputError("the vault passphrase must not be empty")
    return passphrase
