"""`hwotp list`, `code`, `delete`, `rename`: each a few lines over the use cases."""

from __future__ import annotations

import click

from hwotp.cli import cli
from hwotp.cli import enroll as _enroll  # noqa: F401 - registers `enroll`
from hwotp.cli.app import App, is_terminal
from hwotp.cli.output import code_fields, code_text, describe, emit_json, entry_fields, note
from hwotp.credential import Kind, display_name
from hwotp.errors import CancelledError, NotFoundError

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable result."
)


@cli.command(name="list")
@json_option
@click.pass_obj
def list_(app: App, as_json: bool) -> None:
    """Show every stored credential (never its secret)."""
    from hwotp.codes import locate_all

    located = locate_all(app.stores())
    if as_json:
        emit_json([entry_fields(item.entry) for item in located])
        return
    if not located:
        note(
            f"No credentials yet (vault: {app.vault_path}). Add one with `hwotp enroll --qr FILE`."
        )
    for item in located:
        click.echo(f"{item.entry.name}  [{describe(item.entry)}]  in the {item.entry.location}")


@cli.command()
@click.argument("query", required=False)
@json_option
@click.pass_obj
def code(app: App, query: str | None, as_json: bool) -> None:
    """Print the current code of the credential matching QUERY (part of issuer:account).

    Without QUERY, print every time-based code; HOTP codes are only computed when asked by name,
    because asking moves their counter.
    """
    from hwotp.codes import locate_all, select_one

    located = locate_all(app.stores())
    if query is not None:
        chosen = [select_one(located, query)]
    else:
        chosen = [item for item in located if item.entry.kind is Kind.TOTP]
    now = app.now()
    results = [(item, item.store.calculate(item.entry, now)) for item in chosen]
    now = app.now()  # seconds left as of printing, not as of asking
    if as_json:
        emit_json([{**entry_fields(item.entry), **code_fields(c, now)} for item, c in results])
        return
    if not results:
        note("No time-based credentials stored yet.")
    for item, result in results:
        click.echo(f"{item.entry.name}: {code_text(result, now)}")


@cli.command()
@click.argument("query")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def delete(app: App, query: str, force: bool) -> None:
    """Delete the credential matching QUERY. Its secret is gone for good."""
    from hwotp.codes import locate_all, select_one

    item = select_one(locate_all(app.stores()), query)
    if not force:
        _confirm_delete(
            f"Delete {item.entry.name} from the {item.entry.location}? It cannot be undone."
        )
    item.store.delete(item.entry)
    note(f"Deleted {item.entry.name} from the {item.entry.location}.")


@cli.command()
@click.argument("query")
@click.argument("new_name")
@click.pass_obj
def rename(app: App, query: str, new_name: str) -> None:
    """Rename the credential matching QUERY to NEW_NAME ("issuer:account", or just "account" to
    keep the issuer)."""
    from hwotp.codes import locate_all, select_one

    item = select_one(locate_all(app.stores()), query)
    issuer, account = _split_name(new_name, keep_issuer=item.entry.issuer)
    item.store.rename(item.entry, issuer, account)
    note(f"Renamed {item.entry.name} to {display_name(issuer, account)}.")


def _split_name(new_name: str, keep_issuer: str) -> tuple[str, str]:
    """Split at the first colon, as otpauth labels are; no colon keeps the issuer."""
    issuer, colon, account = new_name.partition(":")
    if not colon:
        issuer, account = keep_issuer, new_name
    if not account.strip():
        raise click.UsageError("NEW_NAME needs an account part, as in issuer:account")
    return issuer.strip(), account.strip()


def _confirm_delete(question: str) -> None:
    if not is_terminal():
        raise CancelledError("nothing deleted: there is no terminal to confirm; pass --force")
    try:
        agreed = click.confirm(question, default=False, err=True)
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
