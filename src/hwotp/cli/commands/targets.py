"""Where `enroll` puts credentials: the chosen YubiKeys, the vault, or both, and what goes to
the vault when a key has no room. The whole enrolment is planned first: every target checked,
every question asked, the free slots of every key counted, before the first write; a failure
part-way says exactly which targets hold which credentials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, is_terminal
from hwotp.cli.output import note
from hwotp.cli.prompts import ask_number, confirm
from hwotp.credential import Code, Credential
from hwotp.errors import (
    CancelledError,
    HwotpError,
    Interrupted,
    KeyFullError,
    KeyUnavailableError,
    Remedy,
)
from hwotp.stores import Store

if TYPE_CHECKING:
    from hwotp.usecases.enroll import Checked, Enrolled


@dataclass(frozen=True)
class Placement:
    touch: bool = True
    all_keys: bool = False
    also_vault: bool = False
    in_vault: bool = False
    fallback: str | None = None  # "vault": where to go when a key is full
    from_vault: bool = False  # `vault push`: the vault is the source, never a fallback


@dataclass
class Target:
    """One store of the plan and what goes there."""

    store: Store
    checked: Checked
    credentials: list[Credential]
    overflow_of: list[str] = field(default_factory=list)  # the full keys it takes over from


@dataclass
class Stored:
    """What each location holds of the batch now (written, or found there already)."""

    placed: dict[str, list[Enrolled]] = field(default_factory=dict)
    codes: list[tuple[Credential, Code]] = field(default_factory=list)
    overflow_of: dict[str, list[str]] = field(default_factory=dict)

    @property
    def locations(self) -> list[str]:
        return list(self.placed)

    def add(self, target: Target, enrolled: list[Enrolled]) -> None:
        self.placed[target.store.location] = enrolled
        if target.overflow_of:
            self.overflow_of[target.store.location] = target.overflow_of
        known = {credential.name for credential, _ in self.codes}
        self.codes += [(e.credential, e.code) for e in enrolled if e.credential.name not in known]

    def copies(self, name: str) -> list[str]:
        """The locations holding `name` after this enrolment."""
        return [location for location, enrolled in self.placed.items()
                if any(e.credential.name == name for e in enrolled)]


def store_everywhere(
    app: App, credentials: Sequence[Credential], placement: Placement, *, replace: bool
) -> Stored:
    from hwotp.cli.process import terminate_as_interrupt

    with terminate_as_interrupt():
        targets = plan(app, credentials, placement, replace=replace)
        return _carry_out(app, targets, replace)


def plan(
    app: App, credentials: Sequence[Credential], placement: Placement, *, replace: bool
) -> list[Target]:
    """Every target checked (and every question asked) before anything is written; the
    credentials a key has no room for go to the vault when the user chose it, else nothing is
    written and the refusal says how many fit."""
    from hwotp.usecases.enroll import check

    stores = choose_targets(app, placement)
    targets = [Target(store, check(credentials, store, app.now, replace=replace),
                      list(credentials)) for store in stores]
    full = [(target, target.checked.overflow(credentials)) for target in targets]
    full = [(target, overflow) for target, overflow in full if overflow]
    if not full:
        return targets
    vault = _fallback_vault(app, full, placement, len(credentials))
    for target, overflow in full:
        moved = {credential.name for credential in overflow}
        target.credentials = [c for c in target.credentials if c.name not in moved]
    targets = [target for target in targets if target.credentials]
    if vault is None:  # --also-vault: the vault takes every credential already
        return targets
    moved = {credential.name for _, overflow in full for credential in overflow}
    taken_over = [credential for credential in credentials if credential.name in moved]
    checked = check(taken_over, vault, app.now, replace=replace)
    keys = [target.store.location for target, _ in full]
    return [*targets, Target(vault, checked, taken_over, keys)]


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


def _fallback_vault(
    app: App, full: list[tuple[Target, list[Credential]]], placement: Placement, count: int
) -> Store | None:
    """The vault for what does not fit, when the user chose it (--fallback vault, or yes at
    the prompt); None when the vault is a target already (--also-vault). Otherwise the
    refusal, before anything is written."""
    target, overflow = full[0]
    refusal = KeyFullError(_no_room(target, len(overflow), count))
    can_fall_back = not (app.vault_left_out or placement.from_vault)
    if can_fall_back:
        refusal.remedy = Remedy.FALLBACK
    refusal.add_context("nothing was stored")
    if not can_fall_back:
        raise refusal
    if placement.fallback != "vault":
        if not is_terminal():
            raise refusal
        for target, overflow in full:
            note(f"{_no_room(target, len(overflow), count)}.")
        moved = len({credential.name for _, overflow in full for credential in overflow})
        question = ("Store it in the encrypted vault instead?" if moved == 1 else
                    f"Store the {moved} that do not fit in the encrypted vault instead?")
        if not confirm(question, default=True):
            raise CancelledError("nothing stored: the YubiKey has no room for them all")
    for target, overflow in full:
        names = ", ".join(credential.name for credential in overflow)
        if placement.also_vault:
            note(f"{_no_room(target, len(overflow), count)}; {names} only in the vault, as "
                 "asked for with --also-vault.")
        else:
            note(f"{_no_room(target, len(overflow), count)}; storing {names} in the "
                 "encrypted vault instead.")
    return None if placement.also_vault else app.vault_store()


def _no_room(target: Target, overflow: int, count: int) -> str:
    free = target.checked.free or 0
    limit = target.store.capacity or 0
    used = limit - free
    if free == 0:
        return f"the {target.store.location} is full: it holds {used} credentials, its limit " \
               f"is {limit}"
    return (f"the {target.store.location} has room for {count - overflow} of these {count} "
            f"credentials: it holds {used}, its limit is {limit}")


def _carry_out(app: App, targets: list[Target], replace: bool) -> Stored:
    from hwotp.usecases.enroll import enroll

    stored = Stored()
    for number, target in enumerate(targets):
        try:
            enrolled = enroll(target.credentials, target.store, app.now, replace=replace,
                              checked=target.checked)
        except (HwotpError, Interrupted) as error:
            _say_where(error, stored, targets, targets[number + 1:])
            raise
        stored.add(target, enrolled)
    return stored


def _say_where(
    error: HwotpError | Interrupted, stored: Stored, targets: list[Target], later: list[Target]
) -> None:
    """What may be left where a key stopped answering (and the command that shows it), what
    the earlier targets hold, and which were not reached."""
    for name, location in error.left_behind:
        store = next(t.store for t in targets if t.store.location == location)
        error.add_context(f"{name} may be on the {location}: `{_list_command(store)}` "
                          "shows whether it is")
    held: dict[tuple[str, ...], list[str]] = {}
    for location, enrolled in stored.placed.items():
        names = tuple(e.credential.name for e in enrolled)
        held.setdefault(names, []).append(location)
    for names, locations in held.items():
        error.add_context(f"{', '.join(names)} is stored in the {' and the '.join(locations)} "
                          "only")
    not_reached = [target.store.location for target in later]
    if not_reached:
        error.add_context(f"nothing was stored in the {' or the '.join(not_reached)}")


def _list_command(store: Store) -> str:
    """`hwotp list --device SERIAL` for a key (by reader when its serial is unknown)."""
    from hwotp.stores.yubikey import YubiKeyStore

    if not isinstance(store, YubiKeyStore):
        return "hwotp list"
    info = store.key.info()
    if info.serial is not None:
        return f"hwotp list --device {info.serial}"
    return f"hwotp list --reader '{info.reader}'"
