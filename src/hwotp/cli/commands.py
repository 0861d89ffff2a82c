"""`hwotp list`, `code`, `delete`, `rename`: each a few lines over the use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli import cli
from hwotp.cli import doctor as _doctor  # noqa: F401 - registers doctor
from hwotp.cli import enroll as _enroll  # noqa: F401 - registers `enroll`
from hwotp.cli import keys as _keys  # noqa: F401 - registers `keys` and `key`
from hwotp.cli.app import App, is_terminal, key_options
from hwotp.cli.output import (
    code_fields,
    code_text,
    computed_fields,
    describe,
    emit_json,
    entry_fields,
    note,
)
from hwotp.cli.prompts import confirm
from hwotp.credential import display_name, split_name

if TYPE_CHECKING:
    from hwotp.usecases.codes import Located
from hwotp.errors import CancelledError, InputError, NotFoundError

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable result."
)




@cli.command(name="list")
@key_options
@click.option("--all", "show_hidden", is_flag=True, help="Also show _hidden credentials.")
@json_option
@click.pass_obj
def list_(app: App, show_hidden: bool, as_json: bool) -> None:
    """Show every credential on each YubiKey and in the vault (never a secret)."""
    from hwotp.usecases.codes import locate_all

    located = locate_all(app.stores())
    if not show_hidden:
        located = [item for item in located if not item.entry.hidden]
    if as_json:
        emit_json([entry_fields(item.entry) for item in located])
        return
    if not located:
        note(
            f"No credentials yet (vault: {app.vault_path}). Add one with `hwotp enroll --qr FILE`."
        )
    for item in located:
        touch = ", touch" if item.entry.touch else ""
        click.echo(
            f"{item.entry.name}  [{describe(item.entry)}{touch}]  in the {item.entry.location}"
        )


@cli.command()
@click.argument("query", required=False)
@key_options
@click.option("--copy", is_flag=True, help="Put the code on the clipboard (one code only).")
@json_option
@click.pass_obj
def code(app: App, query: str | None, copy: bool, as_json: bool) -> None:
    """Print the current code of the credential matching QUERY (part of issuer:account).

    Without QUERY, print every time-based code that needs no touch; HOTP, touch and (on a
    YubiKey) non-30 s credentials are computed only when asked for by name, because asking
    moves an HOTP counter or waits for a finger.
    """
    if query is None:
        if copy:
            raise click.UsageError("--copy needs a QUERY naming one credential")
        _all_codes(app, as_json)
        return
    from hwotp.usecases.codes import locate_all, select_one

    item = select_one(locate_all(app.stores()), query)
    result = item.store.calculate(item.entry, app.now())
    now = app.now()  # seconds left as of printing, not as of asking
    if copy:
        from hwotp.cli.clipboard import copy_to_clipboard

        note(copy_to_clipboard(result.value))
    if as_json:
        emit_json([{**entry_fields(item.entry), **code_fields(result, now)}])
        return
    click.echo(f"{item.entry.name}: {code_text(result, now)}")


def _all_codes(app: App, as_json: bool) -> None:
    from hwotp.usecases.codes import all_codes

    computed = [item for item in all_codes(app.stores(), app.now()) if not item.hidden]
    now = app.now()
    if as_json:
        emit_json([computed_fields(item, now) for item in computed])
        return
    if not computed:
        note("No credentials stored yet.")
    for item in computed:
        if item.code is None:
            note(f"{item.name}: ask by name ({item.not_computed_because}; in the {item.location})")
        else:
            click.echo(f"{item.name}: {code_text(item.code, now)}")


@cli.command()
@click.argument("query")
@key_options
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def delete(app: App, query: str, force: bool) -> None:
    """Delete the credential matching QUERY. Its secret is gone for good (from that place:
    a copy on another key or in the vault stays, and is named)."""
    from hwotp.usecases.codes import locate_all, select_one

    located = locate_all(app.stores())
    item = select_one(located, query)
    if not force:
        _confirm_delete(
            f"Delete {item.entry.name} from the {item.entry.location}? It cannot be undone."
        )
    item.store.delete(item.entry)
    note(f"Deleted {item.entry.name} from the {item.entry.location}.")
    _name_copies(located, item, "A copy stays in the")


def _name_copies(located: list[Located], item: Located, saying: str) -> None:
    """Copies of one credential elsewhere (backup keys, the vault) are not touched: say where."""
    copies = [
        other.entry.location
        for other in located
        if other is not item and other.entry.is_copy_of(item.entry)
    ]
    if copies:
        note(f"{saying} {' and the '.join(copies)}.")


@cli.command()
@click.argument("query")
@click.argument("new_name")
@key_options
@click.pass_obj
def rename(app: App, query: str, new_name: str) -> None:
    """Rename the credential matching QUERY to NEW_NAME ("issuer:account", or just "account" to
    keep the issuer)."""
    from hwotp.credential import CredentialError, clean_name
    from hwotp.usecases.codes import locate_all, select_one

    located = locate_all(app.stores())
    item = select_one(located, query)
    try:
        issuer, account = clean_name(*_split_name(new_name, keep_issuer=item.entry.issuer))
    except CredentialError as error:
        raise InputError(f"{error}; nothing renamed") from None
    item.store.rename(item.entry, issuer, account)
    note(f"Renamed {item.entry.name} to {display_name(issuer, account)} in the "
         f"{item.entry.location}.")
    _name_copies(located, item, "It keeps its old name in the")


def _split_name(new_name: str, keep_issuer: str) -> tuple[str, str]:
    """`issuer:account`, or just `account` to keep the issuer."""
    issuer, account = split_name(new_name)
    issuer = keep_issuer if issuer is None else issuer
    if not account.strip():
        raise click.UsageError("NEW_NAME needs an account part, as in issuer:account")
    return issuer.strip(), account.strip()


def _confirm_delete(question: str) -> None:
    if not is_terminal():
        raise CancelledError("nothing deleted: there is no terminal to confirm; pass --force")
    try:
        agreed = confirm(question, default=False)
    except click.Abort as aborted:  # Ctrl-D at the question is a no; Ctrl-C stays an interrupt
        if isinstance(aborted.__context__, KeyboardInterrupt):
            raise
        agreed = False
    if not agreed:
        raise CancelledError("nothing deleted")


@cli.group(name="vault")
def vault_group() -> None:
    """Manage the encrypted software vault."""


@vault_group.command(name="passphrase")
@click.pass_obj
def change_passphrase(app: App) -> None:
    """Change the vault passphrase.

    Asks for the current passphrase, then the new one twice (for scripts: HWOTP_PASSPHRASE and
    HWOTP_NEW_PASSPHRASE, or two lines on standard input). The previous file, which the old
    passphrase still opens, stays as the backup until the next write: delete it if the old
    passphrase leaked.
    """
    store = app.vault_store()
    if not store.exists():
        raise NotFoundError(f"there is no vault at {store.path} yet")
    vault = store.unlocked()
    vault.change_passphrase(app.ask_new_passphrase())
    note(f"Changed the passphrase of {store.path}.")


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
    from hwotp.cli.targets import Placement, store_everywhere

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
