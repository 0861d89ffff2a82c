"""What the commands share: where the vault is and how to ask for its passphrase."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hwotp.cli.failures import prefixed
from hwotp.cli.output import note
from hwotp.errors import CancelledError, InputError

if TYPE_CHECKING:
    from hwotp.stores import Store
    from hwotp.stores.vault import VaultStore
    from hwotp.stores.yubikey import YubiKeyStore
    from hwotp.yubikey.device import YubiKey


def clock() -> float:
    """The time codes are computed for; tests replace it to fix the time."""
    return time.time()


@dataclass
class App:
    vault_override: Path | None = None
    # Which keys (`--device`, `--reader`), whether the vault joins in, the OATH password.
    serials: tuple[int, ...] = ()
    reader: str | None = None
    no_vault: bool = False
    oath_password: str | None = None
    remember: bool = False
    _keys: list[YubiKey] | None = None

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
        """Every chosen key, then the vault (unless --no-vault). No key is one note, not an
        error, unless keys were asked for by serial or the vault is off."""
        from hwotp.errors import KeyUnavailableError

        try:
            stores: list[Store] = list(self.key_stores())
        except KeyUnavailableError as error:
            if self.serials or self.reader or self.no_vault:
                raise
            note(f"{error}; using the vault only.")
            stores = []
        if not self.no_vault:
            stores.append(self.vault_store())
        return stores

    def keys(self) -> list[YubiKey]:
        """The YubiKeys of this command: all found, or those named by --device."""
        if self._keys is None:
            from hwotp.yubikey.device import choose, find_keys

            hook = self._remember_access_key if self.remember else None
            self._keys = choose(find_keys(self.reader, hook), self.serials)
        return self._keys

    def key_stores(self, touch: bool = True) -> list[YubiKeyStore]:
        from hwotp.stores.yubikey import YubiKeyStore

        return [
            YubiKeyStore(key, self.ask_oath_password, touch, touch_prompt=note)
            for key in self.keys()
        ]

    def ask_oath_password(self, key_label: str, failed: bool) -> str:
        """--password, else HWOTP_OATH_PASSWORD, else the terminal (again after a wrong one),
        else one line of standard input."""
        from hwotp.errors import WrongPassphraseError

        given = self.oath_password or os.environ.get("HWOTP_OATH_PASSWORD")
        if failed and (given is not None or not is_terminal()):
            raise WrongPassphraseError(f"wrong OATH password for {key_label}")
        if failed:
            note(prefixed("wrong password; try again"))  # a wrong answer, said as an error is
        if given is not None:
            return given
        return read_hidden(f"OATH password for {key_label}", variable="HWOTP_OATH_PASSWORD")

    def _remember_access_key(self, device_id: str, access_key: bytes) -> None:
        from hwotp.yubikey import remember

        if remember.remember(device_id, access_key):
            note("Remembered the OATH password's key in the OS keyring.")
        else:
            note("No usable OS keyring: the OATH password was not remembered.")

    def close(self) -> None:
        for key in self._keys or []:
            key.close()

    def now(self) -> float:
        return clock()

    def ask_passphrase(self, creating: bool) -> str:
        """The vault passphrase; `creating` asks twice and says where the new vault goes."""
        if creating and is_terminal() and "HWOTP_PASSPHRASE" not in os.environ:
            note(f"Creating a new vault at {self.vault_path}.")
        label = "New vault passphrase" if creating else "Vault passphrase"
        return read_hidden(label, variable="HWOTP_PASSPHRASE", twice=creating)

    def ask_new_passphrase(self) -> str:
        """A replacement passphrase: asked twice, or HWOTP_NEW_PASSPHRASE, or the next line."""
        return read_hidden("New vault passphrase", variable="HWOTP_NEW_PASSPHRASE", twice=True)


def read_hidden(label: str, variable: str | None = None, twice: bool = False) -> str:
    """A secret input from `variable`, else the terminal without echo, else one line of
    standard input (scripts); an empty answer is an error."""
    what = _in_a_sentence(label)
    value = os.environ.get(variable) if variable else None
    if value is None and is_terminal():
        from hwotp.cli.prompts import ask_hidden

        value = ask_hidden(label, twice)
    elif value is None:
        try:
            line = sys.stdin.readline() if sys.stdin else ""
        except UnicodeDecodeError:
            raise InputError(f"the {what} is not valid text (UTF-8)") from None
        if not line:  # nothing to read and no terminal to ask: not bad input, no input at all
            where = f"set {variable}, " if variable else ""
            raise CancelledError(
                f"no {what}: type it at a terminal, {where}"
                "or give it as one line on standard input"
            )
        value = line
    # A line end is never part of a passphrase: `echo pw` and typing pw must open the same vault.
    value = value.rstrip("\r\n")
    if not value:
        raise InputError(f"the {what} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"the {what} is not valid text (UTF-8)") from None
    return value


def _in_a_sentence(label: str) -> str:
    """`Vault passphrase` -> `vault passphrase`, but `OATH password for YubiKey 1234` as is."""
    first, space, rest = label.partition(" ")
    return (first if first.isupper() else first.lower()) + space + rest


def is_terminal() -> bool:
    """Whether a person can be asked: standard input is an open terminal."""
    return sys.stdin is not None and sys.stdin.isatty()


def key_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--device, --reader, --no-vault, --password: which keys a command uses, and how."""

    def setter(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
            if value not in (None, (), False):
                setattr(ctx.ensure_object(App), field, value)

        return store

    options = [
        click.option("--device", "serials", type=int, multiple=True, expose_value=False,
                     callback=setter("serials"), metavar="SERIAL",
                     help="Use the YubiKey with this serial (repeat for several)."),
        click.option("--reader", expose_value=False, callback=setter("reader"),
                     help="Use the PC/SC reader whose name contains this."),
        click.option("--no-vault", is_flag=True, expose_value=False,
                     callback=setter("no_vault"), help="Leave the software vault out."),
        click.option("--password", expose_value=False, callback=setter("oath_password"),
                     help="The YubiKey's OATH password (or HWOTP_OATH_PASSWORD)."),
        click.option("--remember", is_flag=True, expose_value=False, callback=setter("remember"),
                     help="Keep the OATH password's key in the OS keyring."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
