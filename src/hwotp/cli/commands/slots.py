"""`hwotp vault slots`: every way to open the vault (passphrases, security keys, printed
recovery keys), adding a passphrase or a recovery key, and removing one, never the last.
Security keys are added by `hwotp fido2 register` (cli/commands/backup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from hwotp.cli.app import App
from hwotp.cli.commands.daily import vault_group
from hwotp.cli.options import weak_passphrase_option
from hwotp.cli.output import emit_json, note
from hwotp.credential import printable
from hwotp.errors import CancelledError, ExitCode, HwotpError, InputError

if TYPE_CHECKING:
    from hwotp.vault import SlotInfo, Vault

class KeyNotShownError(HwotpError):
    """The output failed before a new recovery key was seen: nothing was kept (so not the
    usual "changes made before that are kept" of a failed output)."""

    exit_code = ExitCode.OUTPUT


SLOT_KINDS = {
    "scrypt": "passphrase (scrypt)",
    "fido2-hmac-secret": "security key",
    "recovery-key": "recovery key",
}


@vault_group.group(name="slots", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def slots(ctx: click.Context, as_json: bool) -> None:
    """List the vault's key slots: every way to open it."""
    if ctx.invoked_subcommand is not None:
        return
    vault = _unlocked(ctx.obj)
    rows = [_row(slot, vault.unlocked_slot) for slot in vault.slots()]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(_line(row))


def _row(slot: SlotInfo, opened_by: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": slot.id, "type": slot.type, "usable": slot.usable,
                           "opened_this_time": slot.id == opened_by}
    if slot.type == "fido2-hmac-secret":
        row |= {"label": slot.label, "aaguid": slot.aaguid, "uv": slot.uv}
    if slot.type in ("fido2-hmac-secret", "recovery-key"):
        row["last_verified"] = _iso(slot.last_verified)
    return row


def _line(row: dict[str, Any]) -> str:
    kind = SLOT_KINDS.get(str(row["type"]), str(row["type"]))
    parts = [f"{row['id']}  {kind}"]
    if row.get("label") is not None:
        pin = ", PIN" if row.get("uv") else ""
        parts.append(f" {printable(row['label'])!r}{pin}")
    if "last_verified" in row:
        when = row["last_verified"]
        parts.append(f"  (last proved {when[:10]})" if when else "  (never proved)")
    if not row["usable"]:
        parts.append("  (this hwotp cannot open it)")
    if row["opened_this_time"]:
        parts.append("  (opened it now)")
    return "".join(parts)


def _iso(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


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
    """Remove the slot SLOT_ID (see `hwotp vault slots`). The vault must be opened by another
    slot in the same command (another passphrase, a registered security key plugged in, or the
    recovery key typed where the passphrase is asked), so the way in that remains is proven;
    the last way in is never removed.

    Removing a slot does not re-key the vault: a copy of the file from before still opens
    with the removed passphrase (not the backup, which is rewritten as the new version).
    After removing a leaked one, change the remaining passphrase with `hwotp vault
    passphrase`, which re-keys a one-slot vault.
    """
    vault = _unlocked(app)
    if slot_id == vault.unlocked_slot and len(vault.slots()) > 1:  # the last: refused below
        raise InputError(
            f"nothing removed: slot {slot_id} is the one that opened the vault; open it with "
            "another slot (another passphrase, a registered security key, or the recovery "
            "key; `hwotp --use-passphrase vault slots remove` leaves plugged keys out), so the "
            "way in that stays is proven"
        )
    vault.remove_slot(slot_id)
    note(f"Removed slot {slot_id} from {vault.path}.")


@vault_group.command(name="recovery-key")
@click.option("--force", is_flag=True,
              help="Print it even when standard output is not a terminal (e.g. | lpr).")
@click.pass_obj
def recovery_key(app: App, force: bool) -> None:
    """Make a printed recovery key: one more way into the vault, for the day the passphrase is
    forgotten and the security keys are lost. It is shown once, here; write it down or print
    it, and keep it apart from your keys. Type it where the vault passphrase is asked. It
    counts as proved once it has opened the vault at `hwotp vault check` (do that now, from
    what you wrote down, and once a year).

    The vault must be opened first (passphrase or a registered security key). If the key
    cannot be shown (a full disk, a closed pipe), its slot is removed again. Only to a
    terminal unless --force: in a file the key would open the vault for whoever reads it.
    An earlier recovery key still opens the vault until its slot is removed."""
    import sys

    from hwotp.vault.recoverykey import format_recovery_key, new_recovery_key

    store = app.existing_vault_store(held=False)  # no vault yet: said before anything else
    if not force and not sys.stdout.isatty():
        raise CancelledError(
            "nothing made: standard output is not a terminal, and the recovery key would stay "
            "in clear wherever it goes; pass --force to send it there (a printer, say)"
        )
    vault = store.unlocked()  # slots change who can open it: a way in proven now
    earlier = [slot.id for slot in vault.slots() if slot.type == "recovery-key"]
    key = new_recovery_key()
    slot_id = vault.add_recovery_key(key)
    _show_or_remove(vault, slot_id, format_recovery_key(key))
    note(f"Added recovery key slot {slot_id} to {vault.path}. Write the key down now: it is "
         "shown only this once, and hwotp keeps no copy it could show again. Then prove it: "
         "type it at `hwotp vault check`.")
    for slot in earlier:
        note(f"The earlier recovery key (slot {slot}) still opens the vault: once the new one "
             f"is written down, remove it with `hwotp vault slots remove {slot}`.")


def _show_or_remove(vault: Vault, slot_id: str, written: str) -> None:
    """Print the key; a key nobody saw must not stay a way in (nor count as one), so its slot
    goes again when the output fails."""
    import sys

    try:
        click.echo(written)
        sys.stdout.flush()  # a full disk shows only here
    except OSError as error:
        vault.remove_slot(slot_id)
        reason = "closed pipe" if isinstance(error, BrokenPipeError) else (
            error.strerror or "input/output error")
        raise KeyNotShownError(f"the recovery key could not be shown ({reason}), so its slot "
                          f"{slot_id} was removed again") from None


def _unlocked(app: App) -> Vault:
    store = app.existing_vault_store(held=False)  # slots change who can open it: proven now
    return store.unlocked()
