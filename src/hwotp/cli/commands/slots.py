"""`hwotp vault slots`: every way to open the vault, and adding or removing one.

Today a slot is a passphrase; security keys (hmac-secret) and printed recovery keys come next,
each as one more slot of the same list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, weak_passphrase_option
from hwotp.cli.commands.daily import vault_group
from hwotp.cli.output import emit_json, note
from hwotp.errors import CancelledError, NotFoundError

if TYPE_CHECKING:
    from hwotp.vault import Vault

SLOT_KINDS = {"scrypt": "passphrase (scrypt)"}


@vault_group.group(name="slots", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def slots(ctx: click.Context, as_json: bool) -> None:
    """List the vault's key slots: every way to open it."""
    if ctx.invoked_subcommand is not None:
        return
    vault = _unlocked(ctx.obj)
    rows = [{"id": slot.id, "type": slot.type, "usable": slot.usable,
             "opened_this_time": slot.id == vault.unlocked_slot} for slot in vault.slots()]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        usable = "" if row["usable"] else "  (this hwotp cannot open it)"
        now = "  (opened it now)" if row["opened_this_time"] else ""
        kind = SLOT_KINDS.get(str(row["type"]), str(row["type"]))
        click.echo(f"{row['id']}  {kind}{usable}{now}")


@slots.command(name="add-passphrase")
@weak_passphrase_option
@click.pass_obj
def add_passphrase(app: App) -> None:
    """Add another passphrase that opens the vault (asked twice, or HWOTP_NEW_PASSPHRASE)."""
    vault = _unlocked(app)
    slot_id = vault.add_passphrase(app.ask_new_passphrase())
    note(f"Added passphrase slot {slot_id} to {vault.path}.")


@slots.command(name="remove")
@click.argument("slot_id")
@click.pass_obj
def remove(app: App, slot_id: str) -> None:
    """Remove the slot SLOT_ID (see `hwotp vault slots`). Open the vault with another slot's
    passphrase: the way in that remains is proven in the same command, and the last passphrase
    is never removed.

    Removing a slot does not re-key the vault: a copy of the file from before still opens
    with the removed passphrase (not the backup, which is rewritten as the new version).
    After removing a leaked one, change the remaining passphrase with `hwotp vault
    passphrase`, which re-keys a one-slot vault.
    """
    vault = _unlocked(app)
    if slot_id == vault.unlocked_slot and len(vault.slots()) > 1:  # the last: refused below
        raise CancelledError(
            f"nothing removed: slot {slot_id} is the one that opened the vault; open it with "
            "another slot's passphrase, so the way in that stays is proven"
        )
    vault.remove_slot(slot_id)
    note(f"Removed slot {slot_id} from {vault.path}.")


def _unlocked(app: App) -> Vault:
    store = app.vault_store(held=False)  # slots change who can open it: the passphrase first
    if not store.exists():
        raise NotFoundError(f"there is no vault at {store.path} yet")
    return store.unlocked()
