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
        passphrase = _passphrase(creating, self.vault_path)
        if not passphrase:
            raise InputError("the vault passphrase must not be empty")
        return passphrase


def _passphrase(creating: bool, path: Path) -> str:
    from_env = os.environ.get("HWOTP_PASSPHRASE")
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        if creating:
            click.echo(f"Creating a new vault at {path}.", err=True)
        prompt = "New vault passphrase" if creating else "Vault passphrase"
        return click.prompt(prompt, hide_input=True, confirmation_prompt=creating, err=True)
    line = sys.stdin.readline()
    if not line:
        raise InputError(
            "no vault passphrase: type it at a terminal, set HWOTP_PASSPHRASE, "
            "or give it as one line on standard input"
        )
    return line.rstrip("\r\n")
