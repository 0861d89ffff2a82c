"""Where `enroll` puts credentials: the chosen YubiKeys, the vault, or both, and what to do
when a key is full. Every target is checked before the first write, and a failure part-way
says exactly which targets hold the credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, is_terminal
from hwotp.cli.output import note
from hwotp.cli.prompts import ask_number, confirm
from hwotp.credential import Code, Credential
from hwotp.errors import CancelledError, HwotpError, KeyFullError, KeyUnavailableError
from hwotp.stores import Store

if TYPE_CHECKING:
    from hwotp.usecases.enroll import Checked


@dataclass(frozen=True)
class Placement:
    touch: bool = True
    all_keys: bool = False
    also_vault: bool = False
    in_vault: bool = False
    fallback: str | None = None  # "vault": where to go when a key is full
    from_vault: bool = False  # `vault push`: the vault is the source, never a fallback


@dataclass
class Stored:
    locations: list[str] = field(default_factory=list)
    codes: list[tuple[Credential, Code]] = field(default_factory=list)


def store_everywhere(
    app: App, credentials: Sequence[Credential], placement: Placement, *, replace: bool
) -> Stored:
    from hwotp.usecases.enroll import check

    stores = choose_targets(app, placement)
    checked = [(store, check(credentials, store, replace=replace)) for store in stores]
    stored = Stored()
    for number, (store, verdict) in enumerate(checked):
        try:
            _enroll_into(app, store, verdict, credentials, placement, replace, stored)
        except HwotpError as error:
            if stored.locations:
                error.add_context(_held_by(stored, credentials))
            not_reached = [later.location for later, _ in checked[number + 1 :]]
            if not_reached:
                error.add_context(f"nothing was stored in the {' or the '.join(not_reached)}")
            raise
    return stored


def choose_targets(app: App, placement: Placement) -> list[Store]:
    no_keys_here = not app.config.keys and not (app.serials or app.reader or placement.all_keys)
    if placement.in_vault or no_keys_here:  # the config says this machine has no keys
        return [app.vault_store()]
    try:
        keys: list[Store] = list(app.key_stores(touch=placement.touch))
    except KeyUnavailableError as error:
        if app.chosen_serials or app.reader or app.vault_left_out or placement.all_keys:
            raise
        note(f"{error}; storing in the encrypted vault instead.")
        return [app.vault_store()]
    if len(keys) > 1 and not (placement.all_keys or app.serials):
        keys = [_ask_which(keys)]
    if placement.also_vault and not app.vault_left_out:
        keys.append(app.vault_store())
    return keys


def _ask_which(keys: list[Store]) -> Store:
    names = ", ".join(store.location for store in keys)
    if not is_terminal():
        raise click.UsageError(
            f"{len(keys)} YubiKeys are present ({names}): choose with --device SERIAL, or "
            "--all-keys to write to every one"
        )
    for number, store in enumerate(keys, start=1):
        note(f"  {number}. {store.location}")
    return keys[ask_number("Which YubiKey", len(keys)) - 1]


def _enroll_into(
    app: App,
    store: Store,
    checked: Checked,
    credentials: Sequence[Credential],
    placement: Placement,
    replace: bool,
    stored: Stored,
) -> None:
    from hwotp.usecases.enroll import enroll

    try:
        enrolled = enroll(credentials, store, app.now, replace=replace, checked=checked)
    except KeyFullError as full:
        if placement.also_vault and placement.fallback == "vault" and not app.vault_left_out:
            note(f"{full}; skipping it: the vault copy asked for with --also-vault will be there.")
            return
        vault = _fallback_vault(app, full, placement, stored)
        if vault is None:
            raise
        enrolled = enroll(credentials, vault, app.now, replace=replace)
        store = vault
    stored.locations.append(store.location)
    if not stored.codes:
        stored.codes = [(item.credential, item.code) for item in enrolled]


def _fallback_vault(
    app: App, full: KeyFullError, placement: Placement, stored: Stored
) -> Store | None:
    """The vault, when the user chose it (--fallback vault, or yes at the prompt) and it is
    not a target already."""
    already = placement.also_vault or "vault" in stored.locations
    if app.vault_left_out or placement.from_vault or already:
        return None
    if placement.fallback != "vault":
        if not is_terminal():
            return None
        note(f"{full}.")
        if not confirm("Store it in the encrypted vault instead?", default=True):
            raise CancelledError("nothing stored: the YubiKey is full")
    note(f"{full}; storing in the encrypted vault instead.")
    return app.vault_store()


def _held_by(stored: Stored, credentials: Sequence[Credential]) -> str:
    names = ", ".join(credential.name for credential in credentials)
    return f"{names} is stored in the {' and the '.join(stored.locations)} only"
