"""`hwotp recovery add|show|use|list`: a service's recovery codes, kept encrypted in the vault."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, is_terminal
from hwotp.cli.options import weak_passphrase_option
from hwotp.cli.output import emit_json, note, warn
from hwotp.cli.prompts import confirm
from hwotp.cli.root import cli
from hwotp.errors import CancelledError, InputError, NotFoundError
from hwotp.recovery import FEW_LEFT

if TYPE_CHECKING:
    from hwotp.recovery import RecoverySet
    from hwotp.vault import Vault

MAX_FILE_BYTES = 64 * 1024  # a hundred codes of 64 characters, numbered, fit many times
COPIES_REMAIN = (
    "an SSD, a copy-on-write filesystem (btrfs, ZFS) or a backup or synced copy may still "
    "hold its old contents"
)


@cli.group(name="recovery")
def recovery_group() -> None:
    """Recovery codes: the one-time codes a service gives for the day every second factor is
    lost. Kept encrypted in the vault, handed out one at a time."""


@recovery_group.command(name="add")
@click.argument("service")
@click.option("--file", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the codes from this file (then offered for deletion).")
@click.option("--replace", is_flag=True,
              help="Replace the codes kept for SERVICE (a new set voids the old one).")
@click.option("--force", is_flag=True, help="Overwrite and delete --file without asking.")
@click.option("--keep-file", is_flag=True, help="Leave --file as it is.")
@weak_passphrase_option
@click.pass_obj
def add(app: App, service: str, from_file: Path | None, replace: bool, force: bool,
        keep_file: bool) -> None:
    """Keep the recovery codes of SERVICE (a name of your choice; the account's issuer, e.g.
    GitHub, lets `hwotp status` count them for that account).

    The codes are read one per line from --file, or from standard input until an empty line
    or its end (paste them at the terminal). Blank lines, surrounding blanks and the numbering
    of a list ("1. ", "2) ", or bullets on every line) are removed. A code given twice, or a
    line that is not a code, stops everything; nothing is stored. The vault is opened first:
    a script gives its passphrase as the first line, or passes --use-security-key (before the
    command) and only the codes when a registered security key opens the vault.

    A --file that held the codes is offered for deletion afterwards: overwritten with zeros,
    then removed. An SSD or a copy-on-write filesystem may keep the old blocks, and backups
    or synced copies are out of reach: delete those yourself.
    """
    from hwotp.recovery import clean_service, parse_pasted
    from hwotp.usecases.recovery import add_codes

    if force and keep_file:
        raise click.UsageError("--force and --keep-file contradict each other")
    if (force or keep_file) and from_file is None:
        raise click.UsageError("--force and --keep-file are about --file")
    service = clean_service(service)  # a bad name fails before anything is asked
    store = app.vault_store()
    # The passphrase before the codes, always: a wrong one fails before anything is pasted,
    # and a script gives it as the first line whether or not the vault exists.
    vault = store.unlocked() if store.exists() else None
    new_passphrase = app.ask_passphrase(True) if vault is None else None
    codes = parse_pasted(_read_file(from_file) if from_file else _read_pasted(service))
    if new_passphrase is not None:  # created only now: bad input leaves no empty vault behind
        from hwotp.vault import Vault

        vault = Vault.create(store.path, new_passphrase)
    assert vault is not None
    added = add_codes(vault, service, codes, replace=replace)
    note(f"Kept {added.total} recovery codes for {added.service} in {vault.path}.")
    if from_file is not None:
        _offer_deletion(from_file, force, keep_file)


@recovery_group.command(name="show")
@click.argument("service")
@click.option("--force", is_flag=True,
              help="Print them even when standard output is not a terminal.")
@click.pass_obj
def show(app: App, service: str, force: bool) -> None:
    """Print every recovery code of SERVICE, used ones marked. Only to a terminal unless
    --force: sent to a file or another program the codes would be kept there in clear."""
    from hwotp.usecases.recovery import find_set

    if not force and not sys.stdout.isatty():
        raise CancelledError(
            "nothing shown: standard output is not a terminal, and the codes would stay in "
            "clear wherever it goes; pass --force to send them there"
        )
    found = find_set(_vault(app).recovery_sets(), service)
    width = len(str(found.total))
    for number, code in enumerate(found.codes, start=1):
        click.echo(f"{number:>{width}}. {code.value}" + ("  (used)" if code.used else ""))
    _tell_left(found)


@recovery_group.command(name="use")
@click.argument("service")
@click.pass_obj
def use(app: App, service: str) -> None:
    """Print the next unused recovery code of SERVICE and mark it used (once printed: a code
    that could not be printed stays unused). Two at once never get the same code."""
    from hwotp.usecases.recovery import use_next

    def hand_out(code: str) -> None:
        click.echo(code)

    _tell_left(use_next(_vault(app), service, hand_out))


@recovery_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_obj
def list_(app: App, as_json: bool) -> None:
    """Every service with recovery codes, and how many are left; never a code."""
    sets = sorted(_vault(app).recovery_sets(), key=lambda item: item.service.casefold())
    if as_json:
        emit_json([{"service": s.service, "left": s.left, "total": s.total} for s in sets])
        return
    if not sets:
        note("No recovery codes are kept yet. Add some with `hwotp recovery add SERVICE`.")
    width = max((len(item.service) for item in sets), default=0)
    for item in sets:
        click.echo(f"{item.service.ljust(width)}  {item.left} of {item.total} left")


def _vault(app: App) -> Vault:
    store = app.vault_store()
    if not store.exists():
        raise NotFoundError(f"there is no vault at {store.path} yet, so no recovery codes")
    return store.unlocked()


def _tell_left(found: RecoverySet) -> None:
    left = found.left
    message = f"{left} of {found.total} recovery codes left for {found.service}"
    if left <= FEW_LEFT:
        warn(f"{message}: make a new set at the service and keep it with "
             f"`hwotp recovery add {found.service} --replace`")
    else:
        note(f"{message}.")


def _read_pasted(service: str) -> str:
    """Lines from standard input up to an empty line or its end."""
    if is_terminal():
        note(f"Paste the recovery codes for {service}, one per line; an empty line ends.")
    lines = []
    try:
        for line in iter(sys.stdin.readline, ""):
            if not line.strip():
                break
            lines.append(line)
    except UnicodeDecodeError:
        raise InputError("the recovery codes are not valid text (UTF-8)") from None
    return "".join(lines)


def _read_file(path: Path) -> str:
    from hwotp.inputs.files import open_regular

    with open_regular(str(path), "input") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path} is too large for a list of recovery codes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not text (UTF-8)") from None


def _offer_deletion(path: Path, force: bool, keep_file: bool) -> None:
    """The file still holds the codes in clear: overwrite and delete it, if the user agrees."""
    from hwotp.inputs.files import overwrite_and_delete

    if keep_file:
        note(f"{path} still holds the codes in clear.")
        return
    if not force:
        if not is_terminal():
            warn(f"{path} still holds the codes in clear; delete it, or pass --force to "
                 "have hwotp overwrite and delete it")
            return
        if not _agrees(f"Overwrite and delete {path}, which holds the codes in clear?"):
            note(f"{path} still holds the codes in clear.")
            return
    try:
        overwrite_and_delete(str(path))
    except InputError as error:  # the codes are kept: the file is a warning, not a failure
        warn(str(error))
        return
    note(f"Overwrote and deleted {path}; {COPIES_REMAIN}.")


def _agrees(question: str) -> bool:
    try:
        return confirm(question, default=True)
    except click.Abort as aborted:  # Ctrl-D is a no; Ctrl-C stays an interrupt
        if isinstance(aborted.__context__, KeyboardInterrupt):
            raise
        return False
