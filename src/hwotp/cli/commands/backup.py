"""`hwotp fido2 register` and `hwotp fido2 verify`: a security key as a way into the vault,
and the drill that proves each plugged key still opens it. (`hwotp vault recovery-key` and
the list of every way in are `cli/commands/slots.py`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, touch_prompt
from hwotp.cli.commands.fido2 import device_option, fido2_group
from hwotp.cli.output import note
from hwotp.errors import NoKeyError

if TYPE_CHECKING:
    from hwotp.fido2.device import SecurityKey
    from hwotp.vault import Vault


@fido2_group.command(name="register")
@click.option("--label", help="A name for the key in `hwotp vault slots` (default: its model "
              "and serial).")
@click.option("--uv/--no-uv", "uv", default=None,
              help="Ask for the key's PIN on every unlock (default: when the key has a PIN). "
              "Fixed at registration: the key derives another secret with its PIN than without.")
@device_option
@click.pass_obj
def register(app: App, label: str | None, uv: bool | None, device: str | None) -> None:
    """Register a FIDO2 security key as a way into the vault: a credential on the key (no
    passkey slot used, relying party `hwotp`) whose hmac-secret opens a new key slot. Which
    key, its PIN for --uv, hmac-secret and the label are checked first; then the vault is
    opened (passphrase, or another registered key); then the new key's PIN, once, when it
    has one, and two touches of it.

    Once registered, the vault opens with a touch whenever the key is plugged in; with none
    plugged in, the passphrase. Register two keys and keep one apart."""
    from hwotp.usecases import backup

    path = app.existing_vault_store().path
    key = _key_to_register(app, device)
    chosen_uv = key.pin_set if uv is None else uv
    chosen_label = label or key.name
    # Everything the key and the vault's header can tell is checked before the passphrase.
    backup.check_registrable(path, key, label=chosen_label, uv=chosen_uv)
    vault = _opened_vault(app)
    slot_id = backup.register(
        vault, key, label=chosen_label, uv=chosen_uv, pin=app.ask_security_key_pin,
        touch=touch_prompt, now=app.now(),
    )
    how = "a touch and its PIN" if chosen_uv else "a touch"
    note(f"Registered {key.name} as key slot {slot_id} of {vault.path}: it opens the vault "
         f"with {how}. `hwotp fido2 verify` proves it again later.")


@fido2_group.command(name="verify")
@click.pass_obj
def verify(app: App) -> None:
    """A backup drill: each registered security key plugged in opens the vault (a touch, its
    PIN if it was registered with one), and its slot records when (`hwotp vault slots`)."""
    from hwotp.usecases import backup

    path = app.existing_vault_store().path
    backup.require_slots(path)
    keys = app.security_keys()
    if not keys:
        raise NoKeyError("no security key found; plug in a registered one")
    proven = backup.verify(path, keys, app.ask_security_key_pin, touch_prompt, app.now())
    for match in proven:
        click.echo(f"{match.slot.id}  {match.slot.label!r} ({match.key.name}): opens the vault")
    registered = {id(match.key) for match in proven}
    for key in keys:
        if id(key) not in registered:
            note(f"{key.name} is not registered to this vault.")


def _opened_vault(app: App) -> Vault:
    # A new way in: proven by a passphrase or a key, not by the key `hwotp unlock` holds.
    return app.vault_store(held=False).unlocked()


def _key_to_register(app: App, device: str | None) -> SecurityKey:
    """The key --device names, else the only plugged key not registered yet."""
    from hwotp.fido2.device import choose_security_key
    from hwotp.usecases import backup

    keys = app.security_keys()
    if device is None:
        registered = {id(match.key) for match in backup.matches(app.vault_path, keys)}
        keys = [key for key in keys if id(key) not in registered] or keys
    return choose_security_key(keys, device)
