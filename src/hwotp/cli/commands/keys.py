"""`hwotp keys` and `hwotp key ...`: the YubiKeys themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, is_terminal, read_hidden
from hwotp.cli.options import key_options
from hwotp.cli.output import emit_json, note
from hwotp.cli.root import cli
from hwotp.errors import CancelledError

if TYPE_CHECKING:
    from hwotp.stores.yubikey import YubiKeyStore


@cli.command()
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_obj
def keys(app: App, as_json: bool) -> None:
    """List the YubiKeys present: serial, firmware, form factor, OATH slots used."""
    rows = [_key_fields(app, store) for store in app.key_stores()]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        used = "?" if row["oath_used"] is None else row["oath_used"]
        locked = " (password-protected: give it to count)" if row["oath_used"] is None else ""
        click.echo(
            f"YubiKey {row['serial']}  firmware {row['firmware']}  {row['form_factor']}  "
            f"OATH {used} of {row['oath_capacity']} used{locked}"
        )


def _key_fields(app: App, store: YubiKeyStore) -> dict[str, object]:
    info = store.key.info()
    # Listing a password-protected key is not worth a password prompt, unless one was given.
    # (HWOTP_OATH_PASSWORD is in app.oath_password: secret variables leave the environment.)
    countable = app.oath_password or not store.key.password_locked()
    return {
        "serial": info.serial,
        "firmware": ".".join(map(str, info.firmware)),
        "form_factor": info.form_factor,
        "reader": info.reader,
        "oath_used": len(store.entries()) if countable else None,
        "oath_capacity": info.oath_capacity,
    }


@cli.group(name="key")
def key_group() -> None:
    """Manage a YubiKey's OATH applet: its password, or a reset."""


def _one_key(app: App) -> YubiKeyStore:
    stores = app.key_stores()
    if len(stores) > 1:
        names = ", ".join(store.location for store in stores)
        raise click.UsageError(f"{len(stores)} YubiKeys are present ({names}): pick one with "
                               "--device SERIAL")
    return stores[0]


@key_group.command(name="password")
@click.argument("action", type=click.Choice(["set", "change", "clear"]))
@key_options
@click.pass_obj
def password(app: App, action: str) -> None:
    """Set, change or clear the OATH password of a YubiKey.

    The current password (change, clear) is asked as for any command (--password,
    HWOTP_OATH_PASSWORD); the new one at the terminal twice, or HWOTP_NEW_OATH_PASSWORD.
    """
    store = _one_key(app)
    # A key with a password answers SELECT locked: no need to ask for it just to say so.
    has_password = store.key.password_locked() or store.key.has_password(app.ask_oath_password)
    if action == "set" and has_password:
        raise click.UsageError(f"the {store.location} has a password already; use change")
    if action != "set" and not has_password:
        raise click.UsageError(f"the {store.location} has no password; use set")
    new = None
    if action != "clear":
        new = read_hidden("New OATH password", variable="HWOTP_NEW_OATH_PASSWORD", twice=True)
    store.key.set_password(new, app.ask_oath_password)
    done = {"set": "Set", "change": "Changed", "clear": "Cleared"}[action]
    note(f"{done} the OATH password of the {store.location}.")


@key_group.command(name="reset")
@key_options
@click.option("--force", is_flag=True, help="Do not ask; for scripts.")
@click.pass_obj
def reset(app: App, force: bool) -> None:
    """Wipe the OATH applet of a YubiKey: every credential and the password. Cannot be undone."""
    store = _one_key(app)
    serial = str(store.key.info().serial)
    if not force:
        if not is_terminal():
            raise CancelledError("nothing reset: there is no terminal to confirm; pass --force")
        # A reset needs no password, so nor does counting what it deletes.
        what = "every OATH credential" if store.key.password_locked() else (
            f"all {store.key.count_credentials()} OATH credentials")
        note(f"This deletes {what} on the {store.location}.")
        typed = click.prompt(f"Type the serial {serial} to confirm", default="", err=True,
                             show_default=False)
        if typed.strip() != serial:
            raise CancelledError("nothing reset")
    store.key.reset_oath()
    note(f"Reset the OATH applet of the {store.location}.")
