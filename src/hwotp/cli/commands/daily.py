"""`hwotp list`, `code`, `delete`, `rename`: each a few lines over the use cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hwotp.cli.app import App, is_terminal
from hwotp.cli.completion import SHELLS, complete_names
from hwotp.cli.lazy import LazyGroup
from hwotp.cli.options import key_options, weak_passphrase_option
from hwotp.cli.output import note
from hwotp.cli.prompts import confirm
from hwotp.cli.readout import select, show_codes, show_list
from hwotp.cli.root import cli
from hwotp.credential import display_name, split_name
from hwotp.errors import CancelledError, HwotpError, InputError, NotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from hwotp.stores import Store
    from hwotp.usecases.codes import Located
    from hwotp.vault import FileCheck, WayIn

T = TypeVar("T")

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable result."
)


def next_within_option(command: Callable[..., Any]) -> Callable[..., Any]:
    def store(ctx: click.Context, _param: click.Parameter, value: float | None) -> None:
        if value is not None:
            ctx.ensure_object(App).next_within = value

    return click.option(
        "--next-within", type=click.FloatRange(min=0), expose_value=False, callback=store,
        metavar="SECONDS",
        help="Also show the next code when fewer seconds than this are left (default 5; "
        "0: never).",
    )(command)


@cli.command(name="list")
@key_options
@click.option("--all", "show_hidden", is_flag=True, help="Also show _hidden credentials.")
@json_option
@click.pass_obj
def list_(app: App, show_hidden: bool, as_json: bool) -> None:
    """Show every credential, sorted by name, with where its copies are (each YubiKey by
    serial, the vault); never a secret. The keys are listed before the vault is opened."""
    show_list(app, show_hidden, as_json)


@cli.command()
@click.argument("query", required=False, shell_complete=complete_names)
@key_options
@click.option("--copy", is_flag=True, help="Put the code on the clipboard (one code only).")
@next_within_option
@json_option
@click.pass_obj
def code(app: App, query: str | None, copy: bool, as_json: bool) -> None:
    """Print the current code of each credential matching QUERY (part of issuer:account; an
    exact name wins). A match on a YubiKey is printed without opening the vault.

    Without QUERY, print every time-based code that needs no touch: the keys' first, then
    the vault's. HOTP, touch and (on a YubiKey) non-30 s credentials are computed only when
    asked for by name, because asking moves an HOTP counter or waits for a finger. A code
    with fewer than --next-within seconds left comes with the next one.
    """
    if query is None and copy:
        raise click.UsageError("--copy needs a QUERY naming one credential")
    show_codes(app, query, as_json, copy)


in_vault_option = click.option(
    "--in-vault", is_flag=True, help="Only the vault's copy (keys are not looked at)."
)


@cli.command()
@click.argument("query", shell_complete=complete_names)
@key_options
@in_vault_option
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def delete(app: App, query: str, in_vault: bool, force: bool) -> None:
    """Delete the credential matching QUERY: every copy, on each YubiKey plugged in and in the
    vault (--device SERIAL: on those keys only; --in-vault: in the vault only). A copy on a
    key that is not plugged in, or not chosen by --device, stays there: the keys checked are
    named.

    On a YubiKey the secret is gone for good. In the vault it is gone from the vault file and
    from its backup (vault.hwotp.bak beside it), which is rewritten without it; copies of the
    vault file made by other means (your backups, a synced folder's history) still hold it.
    """
    stores = _copy_stores(app, in_vault)
    copies = _copies(stores, query)
    name = copies[0].entry.name
    if not force:
        _confirm_delete(f"Delete {name} from the {_places(copies)}? It cannot be undone.")
    _on_every_copy(copies, lambda item: item.store.delete(item.entry),
                   lambda item: f"Deleted {name} from the {item.entry.location}.", "deleted from")
    _name_keys_checked(app, stores, "stays there")


@cli.command()
@click.argument("query", shell_complete=complete_names)
@click.argument("new_name")
@key_options
@in_vault_option
@click.pass_obj
def rename(app: App, query: str, new_name: str, in_vault: bool) -> None:
    """Rename the credential matching QUERY to NEW_NAME ("issuer:account", or just "account" to
    keep the issuer): every copy, on each YubiKey plugged in and in the vault (--device
    SERIAL: on those keys only; --in-vault: in the vault only). Every copy is checked before
    the first is renamed."""
    from hwotp.credential import CredentialError, clean_name

    stores = _copy_stores(app, in_vault)
    copies = _copies(stores, query)
    old = copies[0].entry
    try:
        issuer, account = clean_name(*_split_name(new_name, keep_issuer=old.issuer))
    except CredentialError as error:
        raise InputError(f"{error}; nothing renamed") from None
    for item in copies:
        try:
            item.store.check_rename(item.entry, issuer, account)
        except HwotpError as error:
            error.add_context("nothing renamed")
            raise
    renamed = display_name(issuer, account)
    _on_every_copy(copies, lambda item: item.store.rename(item.entry, issuer, account),
                   lambda item: f"Renamed {old.name} to {renamed} in the {item.entry.location}.",
                   "renamed in")
    _name_keys_checked(app, stores, "keeps its old name")


def _copy_stores(app: App, in_vault: bool) -> list[Store]:
    """Where `delete` and `rename` look: every key plugged in and the vault; --device (or
    --reader): those keys only; --in-vault: the vault only."""
    keys_named = bool(app.serials or app.reader)
    if in_vault:
        if keys_named or app.no_vault:
            raise click.UsageError(
                "--in-vault acts on the vault only; leave out --device, --reader and --no-vault"
            )
        return [app.vault_store()]
    if keys_named:
        return list(app.keys_or_note(reading=False))
    return app.stores()


def _copies(stores: list[Store], query: str) -> list[Located]:
    """The credential the query names, with its copies in the other stores."""
    from hwotp.usecases.codes import copies_of, locate_all

    located = locate_all(stores)
    (item,) = select(located, query)
    return copies_of(located, item)


def _on_every_copy(
    copies: list[Located], act: Callable[[Located], None], said: Callable[[Located], str],
    past: str,
) -> None:
    """`act` on each copy, saying so in one line each; a failure adds which copies were done
    and which not (the failing one counted as not: `hwotp list` tells). `past`: "deleted
    from", "renamed in"."""
    for number, item in enumerate(copies):
        try:
            act(item)
        except HwotpError as error:
            done = f"{past} the {_places(copies[:number])} only; " if number else ""
            preposition = past.split()[-1]
            error.add_context(f"{done}not {preposition} the {_places(copies[number:], 'or')}")
            raise
        note(said(item))


def _places(copies: list[Located], joined: str = "and") -> str:
    """"YubiKey 1, the YubiKey 2 and the vault"."""
    places = [item.entry.location for item in copies]
    if len(places) == 1:
        return places[0]
    return ", the ".join(places[:-1]) + f" {joined} the {places[-1]}"


def _name_keys_checked(app: App, stores: list[Store], left: str) -> None:
    """hwotp can see only the keys plugged in: a backup key in a drawer keeps its copy, and so
    does a plugged key that --device (or --reader, or the config's device) left out."""
    keys = [store.location for store in stores if store.location != "vault"]
    if not keys:
        return
    others = "a key not plugged in"
    if app.chosen_serials or app.reader:
        chooser = "--device" if app.serials else "--reader" if app.reader else "the config"
        others = f"any other key (not chosen by {chooser}, or not plugged in)"
    note(f"Checked the {' and the '.join(keys)}: a copy on {others} {left}.")


def _split_name(new_name: str, keep_issuer: str) -> tuple[str, str]:
    """`issuer:account`, or just `account` to keep the issuer."""
    issuer, account = split_name(new_name)
    issuer = keep_issuer if issuer is None else issuer
    if not account.strip():
        raise click.UsageError("NEW_NAME needs an account part, as in issuer:account")
    return issuer.strip(), account.strip()


def _confirm_delete(question: str) -> None:
    _confirm(question, "nothing deleted")


def _confirm(question: str, refused: str) -> None:
    """Yes at the terminal, else CancelledError(`refused`): no terminal means --force."""
    if not is_terminal():
        raise CancelledError(f"{refused}: there is no terminal to confirm; pass --force")
    try:
        agreed = confirm(question, default=False)
    except click.Abort as aborted:  # Ctrl-D at the question is a no; Ctrl-C stays an interrupt
        if isinstance(aborted.__context__, KeyboardInterrupt):
            raise
        agreed = False
    if not agreed:
        raise CancelledError(refused)


# `vault slots` and `vault recovery-key` (commands/slots.py) load only when they run.
VAULT_SLOT_COMMANDS = {
    "slots": "hwotp.cli.commands.slots",
    "recovery-key": "hwotp.cli.commands.slots",
}


@cli.group(name="vault", cls=LazyGroup, lazy_commands=VAULT_SLOT_COMMANDS)
def vault_group() -> None:
    """Manage the encrypted software vault."""


@vault_group.command(name="passphrase")
@weak_passphrase_option
@click.pass_obj
def change_passphrase(app: App) -> None:
    """Change the vault passphrase.

    Asks for the current passphrase, then the new one twice (for scripts: HWOTP_PASSPHRASE and
    HWOTP_NEW_PASSPHRASE, or two lines on standard input). The new one must be at least 10
    characters and hard to guess by zxcvbn's estimate (--weak-passphrase accepts any, for a
    throwaway vault). The backup (vault.hwotp.bak) is rewritten under the new passphrase too:
    no file hwotp keeps opens with the old one (copies you made yourself still do).
    """
    from hwotp.vault.file import backup_path

    store = app.existing_vault_store(held=False, security_key=False)  # the current one is asked
    _require_a_passphrase_slot(store.path)
    vault = store.unlocked()
    vault.change_passphrase(app.ask_new_passphrase())
    note(f"Changed the passphrase of {store.path} and of its backup {backup_path(store.path)}.")


def _require_a_passphrase_slot(path: Path) -> None:
    """A vault opened only by security keys or recovery keys has no passphrase to change: said
    from its header, before anything is asked."""
    from hwotp.errors import VaultDamagedError
    from hwotp.vault import file
    from hwotp.vault import format as fmt

    try:
        header = fmt.parse(file.read(path, fmt.MAX_FILE_BYTES)).header
    except VaultDamagedError:  # opening it says so, in its turn
        return
    if not header.scrypt_slots():
        raise click.UsageError("this vault has no passphrase; add one with "
                               "'hwotp vault slots add-passphrase'")


@vault_group.command(name="check")
@click.option("--backup", is_flag=True, help="Check the backup (vault.hwotp.bak) instead.")
@click.pass_obj
def check_vault(app: App, backup: bool) -> None:
    """Open the vault (or its backup) and verify it: the header and its checksum, the key
    slots, the encrypted and authenticated credentials. It opens as any command opens it: a
    registered security key plugged in, else the passphrase or the recovery key typed where
    the passphrase is asked. This is the drill for a recovery key (type it here once a year):
    a recovery key or security key that opens the vault records when (`hwotp vault slots`);
    nothing else changes. Exit 0: intact; 6: damaged or modified; 5: wrong passphrase."""
    from hwotp.vault import check_file
    from hwotp.vault.file import backup_path

    path = backup_path(app.vault_path) if backup else app.vault_path
    if not path.exists():
        raise NotFoundError(f"there is no backup at {path}") if backup else app.no_vault_yet()
    checked = check_file(path, _way_into(app, path)) if backup else _checked_vault(app)
    note(f"{checked.path} is intact: {_counted(checked.credentials, 'credential')}, "
         f"{_counted(checked.slots, 'key slot')}, generation {checked.generation}.")


def _checked_vault(app: App) -> FileCheck:
    """The vault opened as every command opens it, then verified; a recovery key or security
    key that opened it has proved itself, and its slot records when."""
    vault = app.vault_store(held=False).unlocked()  # a way in proven now, not the held key
    checked = vault.check()
    opened_by = next(slot for slot in vault.slots() if slot.id == vault.unlocked_slot)
    if opened_by.type in _PROVED_BY_OPENING:
        vault.record_verified(opened_by.id, int(app.now()))
        note(f"The {_PROVED_BY_OPENING[opened_by.type]} (slot {opened_by.id}) opened it: "
             "recorded as proved now.")
    return checked


# The slot types whose `vault slots` line says when they last proved themselves.
_PROVED_BY_OPENING = {"recovery-key": "recovery key", "fido2-hmac-secret": "security key"}


def _way_into(app: App, path: Path) -> WayIn:
    """What opens the vault file at `path` (the backup, when the vault may be the damaged
    one), as the vault is opened (`App.security_key_for`): a plugged security key registered
    to the file, else what is typed where the passphrase is asked (a passphrase or the
    recovery key). Damage is said before anything is asked."""
    from hwotp.errors import VaultDamagedError
    from hwotp.vault import Vault

    try:
        Vault.security_key_slots(path)
    except VaultDamagedError as err:
        raise VaultDamagedError(f"{path}: {err}") from None
    return app.security_key_answer(path) or app.ask_passphrase(creating=False)


# A restore is a rollback accepted on purpose: codes handed out since the backup come again.
ROLLED_BACK = "HOTP counters and used recovery codes go back to the backup's too"


@vault_group.command(name="restore-backup")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def restore_backup(app: App, force: bool) -> None:
    """Put the backup (vault.hwotp.bak, the version before the last write) in the vault's
    place, after checking that it is intact and opens (a registered security key plugged in,
    the passphrase, or the recovery key typed where the passphrase is asked). Changes made by
    the last write are lost, HOTP counters and recovery codes' used marks too (codes given out
    since may come again); the backup stays as it is."""
    from hwotp.vault import check_file
    from hwotp.vault import restore_backup as restore
    from hwotp.vault.file import backup_path

    backup = backup_path(app.vault_path)
    if not backup.exists():
        raise NotFoundError(f"there is no backup at {backup}")
    way_in = _way_into(app, backup)
    checked = check_file(backup, way_in)  # a backup that does not open is never offered
    if not force:
        held = _counted(checked.credentials, "credential")
        _confirm(f"Replace {app.vault_path} by its backup ({held}, generation "
                 f"{checked.generation})? Changes of the last write are lost; {ROLLED_BACK}.",
                 "nothing restored")
    restored = restore(app.vault_path, way_in)
    note(f"Restored {app.vault_path} from {backup}: "
         f"{_counted(restored.credentials, 'credential')}; {ROLLED_BACK}.")


@vault_group.command(name="accept-rollback")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def accept_rollback(app: App, force: bool) -> None:
    """Accept the vault file as it is now when it is older than a version seen before (a copy
    you put back on purpose). Until then hwotp reads it, but writes nothing to it, exports
    nothing from it and gives no HOTP or recovery code from it: counters moving on from an
    older copy would hand out codes a second time. It opens as `vault check` opens it and asks
    first (--force without a terminal); what the newer version had stays lost. After a sync
    conflict, put the newer copy back instead."""
    vault = app.existing_vault_store(held=False).unlocked()  # a way in proven now
    generation, seen = vault.generation_and_newest_seen()
    if generation >= seen:
        note(f"{vault.path} is generation {generation}, the newest seen: nothing to accept.")
        return
    if not force:
        _confirm(f"Accept {vault.path} at generation {generation} as the vault? What generation "
                 f"{seen} had since is not in it, and its HOTP counters and used recovery codes "
                 "go back.", "nothing accepted")
    generation, seen = vault.accept_rollback()
    note(f"Accepted {vault.path} at generation {generation} (generation {seen} was seen "
         "before). Its HOTP counters are as this copy had them: a service may refuse the "
         "first codes, having taken them already.")


def _counted(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


@vault_group.command(name="push")
@click.argument("queries", nargs=-1)
@key_options
@click.option("--no-touch", is_flag=True, help="Give codes without a touch on the key.")
@click.option("--force", is_flag=True, help="Replace credentials of the same name on the key.")
@click.pass_obj
def push(app: App, queries: tuple[str, ...], no_touch: bool, force: bool) -> None:
    """Write vault credentials (all, or those matching QUERIES) onto a YubiKey: a new or
    replacement key gets the escrowed secrets. Each is verified on the key; the vault keeps
    its copy."""
    from hwotp.cli.commands.targets import Placement, store_everywhere

    if not app.serials:
        raise click.UsageError("name the key to write to with --device SERIAL")
    vault = app.vault_store()
    chosen = [
        credential
        for credential in vault.escrowed()
        if not queries or any(credential.entry("vault").matches(query) for query in queries)
    ]
    if not chosen:
        raise NotFoundError("no vault credential to push" + (" matches" if queries else ""))
    placement = Placement(touch=not no_touch, all_keys=True, from_vault=True)
    stored = store_everywhere(app, chosen, placement, replace=force)
    names = ", ".join(credential.name for credential in chosen)
    note(f"Pushed {names} onto the {' and the '.join(stored.locations)}.")


@cli.group(name="config")
def config_group() -> None:
    """Defaults set once: the vault, the key, notes, the next-code threshold (TOML)."""


@config_group.command(name="path")
def config_path_command() -> None:
    """Print where the config file is read from (HWOTP_CONFIG overrides it)."""
    from hwotp.cli.config import config_path

    click.echo(str(config_path()))


@config_group.command(name="show")
@click.option("--example", is_flag=True, help="Print a commented example file instead.")
@click.pass_obj
def config_show(app: App, example: bool) -> None:
    """Print the settings in effect (the file's, else the defaults)."""
    from hwotp.cli.config import EXAMPLE, config_path, shown

    if example:
        click.echo(EXAMPLE, nl=False)
        return
    path = config_path()
    note(f"From {path}." if path.exists() else f"No file at {path}: the defaults.")
    click.echo(shown(app.config))


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL. Names complete from the keys, and from the vault
    while `hwotp unlock` keeps it open (completion never asks for a passphrase); --device
    completes serials.

    \b
    bash:  hwotp completion bash > ~/.local/share/bash-completion/completions/hwotp
    zsh:   hwotp completion zsh > ~/.zfunc/_hwotp   (with fpath+=~/.zfunc before compinit)
    fish:  hwotp completion fish > ~/.config/fish/completions/hwotp.fish
    """
    from hwotp.cli.completion import script

    click.echo(script(shell), nl=False)
