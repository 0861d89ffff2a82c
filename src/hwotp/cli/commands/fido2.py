"""`hwotp fido2 ...`: FIDO2 security keys themselves: list them, their PIN, a reset, and the
passkeys they hold.

Other modules attach commands to `fido2_group` (`@fido2_group.command(...)`); those named in
`LAZY_SUBCOMMANDS` load only when they run, as the top level's `LAZY_COMMANDS` do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from hwotp.cli.app import App, is_terminal, read_hidden
from hwotp.cli.lazy import LazyGroup
from hwotp.cli.output import emit_json, note
from hwotp.cli.root import cli
from hwotp.errors import CancelledError

if TYPE_CHECKING:
    from hwotp.fido2.device import PinToken, SecurityKey
    from hwotp.fido2.passkeys import Passkey

# Subcommand -> the module that attaches it to `fido2_group`; only modules that exist.
LAZY_SUBCOMMANDS: dict[str, str] = {
    "register": "hwotp.cli.commands.backup",
    "verify": "hwotp.cli.commands.backup",
}

REPLUG_TIMEOUT = 60.0  # seconds a person gets to unplug the key and plug it back in


@cli.group(name="fido2", cls=LazyGroup, lazy_commands=LAZY_SUBCOMMANDS)
def fido2_group() -> None:
    """FIDO2 security keys (USB and NFC readers): list them, set their PIN, reset them, and
    manage the passkeys they hold.

    A PIN is asked at the terminal, or read from HWOTP_FIDO2_PIN (a new one from
    HWOTP_FIDO2_NEW_PIN), or from one line of standard input per question when that is not a
    terminal.
    """


def device_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--device: the security key by serial (where it reports one) or path."""
    return click.option(
        "--device", metavar="SERIAL|PATH",
        help="Use the security key with this serial, or at this path (/dev/hidrawN, "
        "pcsc:READER), when several are plugged in.",
    )(command)


@contextmanager
def security_keys() -> Iterator[list[SecurityKey]]:
    """Every security key present, closed when the command ends."""
    from hwotp.fido2.device import find_security_keys

    keys = find_security_keys()
    try:
        yield keys
    finally:
        for key in keys:
            key.close()


@contextmanager
def one_security_key(device: str | None) -> Iterator[SecurityKey]:
    from hwotp.fido2.device import choose_security_key

    with security_keys() as keys:
        yield choose_security_key(keys, device)


# hwotp fido2 keys


@fido2_group.command(name="keys")
@device_option
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
def list_keys(device: str | None, as_json: bool) -> None:
    """List the FIDO2 security keys present: model, AAGUID, firmware, CTAP versions,
    extensions, PIN state, free passkey slots, and whether one can hold a vault backup."""
    from hwotp.errors import NoKeyError
    from hwotp.fido2.device import choose_security_key

    with security_keys() as keys:
        if not keys:
            raise NoKeyError("no FIDO2 security key found")
        chosen = keys if device is None else [choose_security_key(keys, device)]
        rows = [_key_fields(key) for key in chosen]
    if as_json:
        emit_json(rows)
        return
    for number, row in enumerate(rows):
        if number:
            click.echo("")
        click.echo("\n".join(_key_lines(row)))


def _key_fields(key: SecurityKey) -> dict[str, object]:
    from hwotp.fido2.device import pin_retries

    info = key.info
    retries = pin_retries(key) if key.pin_set else None
    return {
        "name": key.name,
        "model": key.model,
        "serial": key.serial,
        "path": key.path,
        "transport": key.transport,
        "aaguid": str(info.aaguid),
        "firmware": _firmware(info.firmware_version),
        "versions": list(info.versions),
        "extensions": list(info.extensions),
        "pin_set": key.pin_set if key.supports_pin else None,
        "pin_min_length": info.min_pin_length,
        "pin_retries": retries[0] if retries else None,
        "pin_needs_power_cycle": retries[1] if retries else None,
        "free_passkey_slots": info.remaining_disc_creds,
        "can_hold_backup": "hmac-secret" in info.extensions,
    }


def _firmware(version: int) -> str | None:
    """getInfo's firmwareVersion as a YubiKey writes it (major << 16 | minor << 8 | patch)."""
    if not version:
        return None
    return f"{version >> 16 & 0xFF}.{version >> 8 & 0xFF}.{version & 0xFF}"


def _key_lines(row: dict[str, Any]) -> list[str]:
    serial = f"serial {row['serial']}, " if row["serial"] is not None else ""
    return [
        f"{row['name']}  ({serial}{row['transport']}, {row['path']})",
        f"  AAGUID      {row['aaguid']}",
        f"  firmware    {row['firmware'] or 'not reported'}",
        f"  CTAP        {', '.join(row['versions'])}",
        f"  extensions  {', '.join(row['extensions']) or 'none'}",
        f"  PIN         {_pin_state(row)}",
        f"  passkeys    {_free_slots(row['free_passkey_slots'])}",
        "  backup      " + ("can hold a vault backup (hmac-secret)" if row["can_hold_backup"]
                            else "cannot hold a vault backup (no hmac-secret)"),
    ]


def _pin_state(row: dict[str, Any]) -> str:
    if row["pin_set"] is None:
        return "not supported"
    if not row["pin_set"]:
        return (f"not set (at least {row['pin_min_length']} characters; "
                "hwotp fido2 pin set)")
    retries = row["pin_retries"]
    if retries == 0:
        return "set, blocked (only a reset makes the key usable)"
    waiting = "; three wrong in a row: unplug and replug it" if row[
        "pin_needs_power_cycle"] else ""
    return f"set, {retries} {'try' if retries == 1 else 'tries'} left before it blocks{waiting}"


def _free_slots(free: int | None) -> str:
    return "free slots not reported" if free is None else f"{free} free slots"


# hwotp fido2 pin set|change


@fido2_group.group(name="pin")
def pin_group() -> None:
    """Set or change the PIN of a security key."""


@pin_group.command(name="set")
@device_option
def set_pin(device: str | None) -> None:
    """Set the first PIN of a security key (HWOTP_FIDO2_NEW_PIN for scripts)."""
    from hwotp.fido2 import device as fido2_device

    with one_security_key(device) as key:
        if not key.supports_pin:
            from hwotp.errors import NotSupportedError

            raise NotSupportedError(f"{key.name} has no PIN support")
        if key.pin_set:
            raise click.UsageError(f"{key.name} has a PIN already; use 'hwotp fido2 pin change'")
        note(f"The PIN of {key.name} needs at least {key.info.min_pin_length} characters; "
             f"{fido2_device.MAX_PIN_RETRIES} wrong tries in all block it for good (only a "
             "reset, which deletes its passkeys, helps then).")
        fido2_device.set_pin(key, _new_pin(key))
        note(f"Set the PIN of {key.name}.")


@pin_group.command(name="change")
@device_option
def change_pin(device: str | None) -> None:
    """Change the PIN of a security key (HWOTP_FIDO2_PIN and HWOTP_FIDO2_NEW_PIN for
    scripts)."""
    from hwotp.fido2 import device as fido2_device

    with one_security_key(device) as key:
        if not key.pin_set:
            raise click.UsageError(f"{key.name} has no PIN yet; use 'hwotp fido2 pin set'")
        _say_retries(key)
        pin = read_hidden(f"PIN for {key.name}", variable="HWOTP_FIDO2_PIN")
        new_pin = _new_pin(key)  # checked before the current PIN costs a try
        fido2_device.change_pin(key, pin, new_pin)
        note(f"Changed the PIN of {key.name}.")


def _new_pin(key: SecurityKey) -> str:
    """A new PIN (HWOTP_FIDO2_NEW_PIN, else the terminal, else one line of standard input),
    checked against the key's rules right after it is typed: a PIN too short is said before
    the confirmation is asked for."""
    from hwotp.cli.failures import prefixed
    from hwotp.cli.process import secret_variable
    from hwotp.fido2.device import check_new_pin

    variable = "HWOTP_FIDO2_NEW_PIN"
    confirming = is_terminal() and secret_variable(variable) is None
    while True:
        new_pin = read_hidden(f"New PIN for {key.name}", variable=variable)
        check_new_pin(key, new_pin)
        if not confirming or read_hidden("Repeat for confirmation") == new_pin:
            return new_pin
        note(prefixed("the two entries do not match; type them again"))


def _say_retries(key: SecurityKey) -> None:
    """The tries left, before a PIN is asked; a key that takes none says why at once."""
    from hwotp.fido2.device import MAX_PIN_RETRIES, usable_pin_retries

    retries = usable_pin_retries(key)
    if retries < MAX_PIN_RETRIES:
        note(f"{key.name}: {retries} PIN {'try' if retries == 1 else 'tries'} left before the "
             "PIN blocks (a right PIN restores them).")


def _pin_token(key: SecurityKey) -> PinToken:
    from fido2.ctap2.pin import ClientPin

    from hwotp.fido2.device import pin_token

    _say_retries(key)
    pin = read_hidden(f"PIN for {key.name}", variable="HWOTP_FIDO2_PIN")
    return pin_token(key, pin, ClientPin.PERMISSION.CREDENTIAL_MGMT)


# hwotp fido2 reset


@fido2_group.command(name="reset")
@device_option
@click.option("--force", is_flag=True, help="Do not ask; for scripts (the key must have been "
              "plugged in within the last seconds). A key that is the last way into the vault "
              "is still refused.")
@click.option("--even-if-vault-lost", "vault_lost", is_flag=True,
              help="Reset even a key that is the last way into the vault: the vault can never "
              "be opened again.")
@click.pass_obj
def reset(app: App, device: str | None, force: bool, vault_lost: bool) -> None:
    """Reset a security key's FIDO applet: every passkey and credential on it and its PIN are
    deleted; sites that use it as a security key no longer accept it. Cannot be undone.

    A key takes a reset only within seconds of being plugged in, and asks for a touch: at a
    terminal hwotp asks you to unplug and replug it first; scripts pass --force and run it
    right after plugging the key in.

    A key registered to the vault (`hwotp fido2 register`) no longer opens it after a reset:
    the confirmation says so, and a key that is the vault's last way in is refused unless
    --even-if-vault-lost.
    """
    from hwotp.fido2.device import choose_security_key, reset_key, wait_for_replug

    with security_keys() as keys:
        key = choose_security_key(keys, device)
        cost = _vault_cost(app, key, vault_lost)
        if not force:
            _confirm_reset(key, cost)
        elif cost is not None:
            note(cost)
        if is_terminal():
            where = ("Take it off the reader and put it back"
                     if key.transport == "nfc" else "Unplug it and plug it back in")
            note(f"{key.name} takes a reset only within seconds of being plugged in. {where} "
                 "now.")
            key = wait_for_replug(key, REPLUG_TIMEOUT)
            keys.append(key)  # closed with the rest
        reset_key(key, lambda: note(f"Touch {key.name} to confirm the reset."))
        note(f"Reset {key.name}: its passkeys, credentials and PIN are gone.")


def _vault_cost(app: App, key: SecurityKey, vault_lost: bool) -> str | None:
    """What a reset of `key` costs the vault (HWOTP_VAULT, else the config's, else the default
    one), or None. Refused (exit 8) when the key is its last way in, unless `vault_lost`:
    --force alone must not lose the vault."""
    from hwotp.errors import HwotpError
    from hwotp.usecases.backup import key_in_vault

    path = app.vault_path
    try:
        found = key_in_vault(path, key)
    except HwotpError as error:  # a damaged vault, a key that stopped answering
        note(f"Could not tell whether {key.name} opens the vault at {path}: {error}.")
        return None
    if not found.held:
        return None
    slots = ", ".join(f"{slot.id} ({slot.label!r})" for slot in found.held)
    if found.other_ways == 0 and not vault_lost:
        raise CancelledError(
            f"nothing reset: {key.name} is the last way into the vault at {path} (key slot "
            f"{slots}), which nothing could open after the reset; add another first (hwotp "
            "vault slots add-passphrase, hwotp vault recovery-key), or pass "
            "--even-if-vault-lost"
        )
    if found.other_ways == 0:
        return (f"{key.name} is the last way into the vault at {path} (key slot {slots}): "
                "after the reset nothing can ever open it.")
    ways = "way in stays" if found.other_ways == 1 else "ways in stay"
    return (f"{key.name} opens the vault at {path} (key slot {slots}); after the reset it no "
            f"longer does, and {found.other_ways} other {ways} (hwotp vault slots).")


def _confirm_reset(key: SecurityKey, vault_cost: str | None) -> None:
    if not is_terminal():
        raise CancelledError("nothing reset: there is no terminal to confirm; pass --force")
    word = str(key.serial) if key.serial is not None else "reset"
    note(f"This deletes every passkey and credential on {key.name}, and its PIN. Sites where "
         "it is your security key will no longer accept it.")
    if vault_cost is not None:
        note(vault_cost)
    what = "the serial " if key.serial is not None else ""
    typed = click.prompt(f"Type {what}{word} to confirm", default="", err=True,
                         show_default=False)
    if typed.strip() != word:
        raise CancelledError("nothing reset")


# hwotp fido2 credentials list|delete


@fido2_group.group(name="credentials")
def credentials_group() -> None:
    """The passkeys (discoverable credentials) a security key holds; needs its PIN."""


@credentials_group.command(name="list")
@device_option
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
def list_credentials(device: str | None, as_json: bool) -> None:
    """List the passkeys on a security key by relying party, and the free slots."""
    from hwotp.fido2.passkeys import list_passkeys

    with one_security_key(device) as key:
        listing = list_passkeys(key, _pin_token(key))
    if as_json:
        emit_json({"key": key.name, "free_slots": listing.free_slots,
                   "passkeys": [_passkey_fields(item) for item in listing.passkeys]})
        return
    if not listing.passkeys:
        note(f"{key.name} holds no passkeys ({listing.free_slots} free slots).")
        return
    for rp_id in dict.fromkeys(item.rp_id for item in listing.passkeys):
        click.echo(rp_id)
        for item in listing.passkeys:
            if item.rp_id == rp_id:
                click.echo(f"  {_user_text(item)}  {item.credential_id_text}")
    note(f"{len(listing.passkeys)} passkeys on {key.name}, {listing.free_slots} free slots.")


def _passkey_fields(item: Passkey) -> dict[str, object]:
    return {"rp_id": item.rp_id, "user_name": item.user_name,
            "user_display_name": item.user_display_name,
            "credential_id": item.credential_id_text}


def _user_text(item: Passkey) -> str:
    name = item.user_name or "(no user name)"
    shown = f" ({item.user_display_name})" if item.user_display_name not in (
        None, "", item.user_name) else ""
    return name + shown


@credentials_group.command(name="delete")
@click.argument("credential_id", required=False, metavar="[CREDENTIAL_ID]")
@click.option("--rp", "rp_id", help="Delete the passkeys of this relying party (with --user: "
              "only that user's).")
@click.option("--user", help="The user name (or display name) with --rp.")
@click.option("--force", is_flag=True, help="Do not ask; for scripts.")
@device_option
def delete_credential(credential_id: str | None, rp_id: str | None, user: str | None,
                      force: bool, device: str | None) -> None:
    """Delete a passkey from a security key, by its credential id (as `credentials list`
    shows it) or by --rp (and --user). The site it belongs to no longer accepts it."""
    from hwotp.fido2.passkeys import delete_passkey, find_passkeys, list_passkeys

    if (credential_id is None) == (rp_id is None):
        raise click.UsageError("name the passkey by its credential id, or by --rp (and --user)")
    if user is not None and rp_id is None:
        raise click.UsageError("--user needs --rp")
    if not force and not is_terminal():  # said before the PIN is asked for nothing
        raise CancelledError("nothing deleted: there is no terminal to confirm; pass --force")
    with one_security_key(device) as key:
        token = _pin_token(key)
        chosen = find_passkeys(list_passkeys(key, token).passkeys, credential_id, rp_id, user)
        if not force:
            _confirm_delete(key, chosen)
        for item in chosen:
            delete_passkey(key, token, item)
            note(f"Deleted the passkey of {_user_text(item)} for {item.rp_id} from {key.name}.")


def _confirm_delete(key: SecurityKey, chosen: list[Passkey]) -> None:
    from hwotp.cli.prompts import confirm

    for item in chosen:
        note(f"  {item.rp_id}  {_user_text(item)}")
    count = "this passkey" if len(chosen) == 1 else f"these {len(chosen)} passkeys"
    if not confirm(f"Delete {count} from {key.name}? The site will no longer accept it",
                   default=False):
        raise CancelledError("nothing deleted")
