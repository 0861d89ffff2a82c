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
        if creating and is_terminal() and "HWOTP_PASSPHRASE" not in os.environ:
            click.echo(f"Creating a new vault at {self.vault_path}.", err=True)
        label = "New vault passphrase" if creating else "Vault passphrase"
        return read_hidden(label, variable="HWOTP_PASSPHRASE", twice=creating)

    def ask_new_passphrase(self) -> str:
        """A replacement passphrase: asked twice, or HWOTP_NEW_PASSPHRASE, or the next line."""
        return read_hidden("New vault passphrase", variable="HWOTP_NEW_PASSPHRASE", twice=True)


def read_hidden(label: str, variable: str | None = None, twice: bool = False) -> str:
    """A secret input from `variable`, else the terminal without echo, else one line of
    standard input (scripts); an empty answer is an error."""
    value = os.environ.get(variable) if variable else None
    if value is None and is_terminal():
        value = click.prompt(label, hide_input=True, confirmation_prompt=twice, err=True)
    elif value is None:
        try:
            line = sys.stdin.readline() if sys.stdin else ""
        except UnicodeDecodeError:
            raise InputError(f"the {label.lower()} is not valid text (UTF-8)") from None
        if not line:
            where = f"set {variable}, " if variable else ""
            raise InputError(
                f"no {label.lower()}: type it at a terminal, {where}"
                "or give it as one line on standard input"
            )
        value = line
    # A line end is never part of a passphrase: `echo pw` and typing pw must open the same vault.
    value = value.rstrip("\r\n")
    if not value:
        raise InputError(f"the {label.lower()} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"the {label.lower()} is not valid text (UTF-8)") from None
    return value


def is_terminal() -> bool:
    """Whether a person can be asked: standard input is an open terminal."""
    return sys.stdin is not None and sys.stdin.isatty()
