"""`hwotp import` and `hwotp export`: move credentials in from other authenticator apps, and
out of the vault into files other apps read (or a QR code on the screen)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hwotp.cli.app import App, is_terminal, read_hidden, read_strong
from hwotp.cli.commands.enroll import Enrolment, enrol_found, enrolment_options
from hwotp.cli.output import note
from hwotp.cli.root import cli
from hwotp.errors import (
    CancelledError,
    ExistsError,
    InputError,
    NotFoundError,
    Remedy,
    StorageError,
)

if TYPE_CHECKING:
    from hwotp.credential import Credential

# The names of `hwotp.formats.imports.FORMATS` and `hwotp.formats.exports.EXPORTS`, spelled out
# so that `hwotp --help` does not load the parsers (a test holds them equal).
IMPORT_FORMATS = (
    "aegis", "2fas", "bitwarden", "freeotp", "proton", "ente", "pskc", "otpauth", "andotp"
)
EXPORT_FORMATS = ("aegis", "pskc", "otpauth")
MIN_EXPORT_PASSWORD = 8  # ykman refuses shorter PSKC passphrases
NO_SECRETS_FROM_KEYS = (
    "A YubiKey never gives a secret back: only the vault's credentials can be exported "
    "(enrol with --also-vault to keep an escrowed copy of a key's credential in the vault)."
)
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"  # home, clear, and clear the scrollback too


@cli.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--from",
    "format_name",
    type=click.Choice(IMPORT_FORMATS, case_sensitive=False),
    help="The app that wrote FILE (found from its content otherwise).",
)
@enrolment_options
@click.pass_obj
def import_(app: App, file: Path, format_name: str | None, enrolment: Enrolment) -> None:
    """Store the credentials of another authenticator app's export FILE, as `enroll` does.

    Reads Aegis, 2FAS, andOTP, Bitwarden, FreeOTP+, Proton Authenticator and Ente Auth
    exports, PSKC (ykman) and lists of otpauth:// URIs, plain or encrypted. The password of an
    encrypted export is asked at the terminal, or read from HWOTP_IMPORT_PASSWORD, or from one
    line of standard input (before the vault passphrase's line). Entries hwotp cannot keep are
    named with the reason; the others are imported. Nothing is stored from a file that fails.
    """
    from hwotp.formats.imports import read_export
    from hwotp.usecases.sources import Found

    data = read_regular_file(file)
    imported = read_export(data, format=format_name, password=_import_password)
    if not imported.credentials:
        for refusal in imported.refusals:
            note(f"  {refusal}")
        raise InputError(f"{file} holds no entry hwotp can import")
    source = f"{file} ({imported.format} export{', encrypted' if imported.encrypted else ''})"
    found = Found(imported.credentials, imported.warnings, source)
    enrol_found(app, found, enrolment, imported.refusals)


def _import_password() -> str:
    return read_hidden("Export password", variable="HWOTP_IMPORT_PASSWORD")


def read_regular_file(path: Path) -> bytes:
    """The bytes of `path`, a regular file (`inputs.files`), up to one byte past the limit."""
    from hwotp.formats.imports.common import MAX_EXPORT_BYTES
    from hwotp.inputs.files import open_regular

    with open_regular(str(path), "export") as file:
        try:
            return file.read(MAX_EXPORT_BYTES + 1)
        except OSError as error:
            raise InputError(f"{path} cannot be read: {error.strerror or error}") from None


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--to",
    "format_name",
    type=click.Choice(EXPORT_FORMATS, case_sensitive=False),
    help="aegis: Aegis's encrypted vault; pskc: PSKC with a passphrase (ykman, YubiKey "
    "tools); otpauth: a plain list of otpauth:// URIs (secrets in clear).",
)
@click.option("--qr", "qr_query", metavar="NAME",
              help="Show the QR code of the credential matching NAME here (to add it to a phone).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--unencrypted", is_flag=True,
              help="With --to otpauth: write the secrets in clear without asking.")
@click.option("--weak-password", is_flag=True,
              help="Accept any export password of 8 characters or more (a throwaway export).")
@click.pass_obj
def export(
    app: App,
    file: Path | None,
    format_name: str | None,
    qr_query: str | None,
    force: bool,
    unencrypted: bool,
    weak_password: bool,
) -> None:
    """Write every credential the vault holds to FILE, in a format another app imports, or
    show one credential's QR code.

    A YubiKey never gives a secret back: only the vault's credentials (those enrolled with
    --in-vault or --also-vault, or without a key) can be exported. The password of an encrypted
    export is asked twice at the terminal, or read from HWOTP_EXPORT_PASSWORD, or from one line
    of standard input (after the vault passphrase's line); the file can be copied and searched
    offline, and its key derivation is cheaper to attack than the vault's, so it must be
    stronger than a vault passphrase (at least 10 characters, over 10^10 guesses by zxcvbn's
    estimate; --weak-password: 8). A plain otpauth list asks to type
    "yes" first, or needs --unencrypted. FILE is written readable by you only, and never
    replaces a file without --force.
    """
    if qr_query is not None:
        if file is not None or format_name or force or unencrypted or weak_password:
            raise click.UsageError("--qr shows one credential; leave out FILE and the file options")
        _show_qr(app, qr_query)
        return
    if file is None or format_name is None:
        raise click.UsageError("give --to FORMAT and FILE, or --qr NAME")
    _export_file(app, file, format_name.lower(), force, unencrypted, weak_password)


def _export_file(app: App, file: Path, format_name: str, force: bool, unencrypted: bool,
                 weak_password: bool) -> None:
    from hwotp.formats.exports import named, write_export

    chosen = named(format_name)
    if unencrypted and chosen.encrypted:
        raise click.UsageError(f"--unencrypted goes with --to otpauth; {chosen.label} is encrypted")
    if weak_password and not chosen.encrypted:
        raise click.UsageError("--weak-password goes with an encrypted format, not otpauth")
    if file.exists() and not force:
        raise ExistsError(f"{file} already exists", remedy=Remedy.REPLACE)
    credentials = _vault_credentials(app)
    if chosen.encrypted:
        password = _export_password(chosen.label, weak_password)
    else:
        _confirm_plain(file, len(credentials), unencrypted)
        password = ""
    write_private(file, write_export(credentials, format_name, password), replace=force)
    count = len(credentials)
    note(f"Wrote {count} credential{'s' if count > 1 else ''} to {file} ({chosen.label}).")
    note(NO_SECRETS_FROM_KEYS)


def _vault_credentials(app: App) -> list[Credential]:
    vault = app.vault_store()
    if not vault.exists():
        raise NotFoundError(f"there is no vault at {vault.path}. {NO_SECRETS_FROM_KEYS}")
    credentials = vault.escrowed()
    if not credentials:
        raise NotFoundError(f"the vault holds no credentials. {NO_SECRETS_FROM_KEYS}")
    return credentials


def _export_password(label: str, weak_password: bool) -> str:
    from hwotp.vault.strength import EXPORT

    # An export's key derivation is cheaper to attack than the vault's: a higher floor.
    password = read_strong(f"Password for the {label} export", "HWOTP_EXPORT_PASSWORD",
                           allow_weak=weak_password, floor=EXPORT,
                           weak_option="--weak-password for a throwaway export")
    if len(password) < MIN_EXPORT_PASSWORD:
        raise InputError(f"the export password must be at least {MIN_EXPORT_PASSWORD} characters")
    return password


def _confirm_plain(file: Path, count: int, unencrypted: bool) -> None:
    """A file of secrets in clear is written only when the user says so in so many words."""
    if unencrypted:
        return
    if not is_terminal():
        raise CancelledError(
            "a plain otpauth list holds every secret in clear: add --unencrypted to write one"
        )
    note(f"{file} will hold the secrets of {count} credential{'s' if count != 1 else ''} in "
         "clear: anyone who can read it can make your codes.")
    answer = click.prompt('Type "yes" to write it', default="", show_default=False, err=True)
    if answer.strip().lower() != "yes":
        raise CancelledError("nothing written")


def write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """Write `data` to `path` readable by the owner only, all or nothing: a temporary file in
    the same folder, flushed to disk, then moved into place (linked, when nothing may be
    replaced, so a file created meanwhile is not overwritten either)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise StorageError(f"{path} cannot be written: {error.strerror or error}") from None
    try:
        with open(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    except FileExistsError:
        raise ExistsError(f"{path} already exists", remedy=Remedy.REPLACE) from None
    except OSError as error:
        raise StorageError(f"{path} cannot be written: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _show_qr(app: App, query: str) -> None:
    from hwotp.usecases.codes import locate_all, select_one

    if not (is_terminal() and sys.stdout.isatty()):
        raise CancelledError("a QR code is shown only at a terminal (its secret is in it)")
    vault = app.vault_store()
    if not vault.exists():
        raise NotFoundError(f"there is no vault at {vault.path}. {NO_SECRETS_FROM_KEYS}")
    item = select_one(locate_all([vault]), query)
    credential = next(c for c in vault.escrowed() if c.name == item.entry.name)
    note(f"The QR code holds the secret of {credential.name}: anyone who sees it (or a "
         "screenshot) can make your codes.")
    if not click.confirm("Show it?", default=False, err=True):
        raise CancelledError("nothing shown")
    _print_qr(_uri_of(credential))
    try:
        click.prompt("Press Enter when it is scanned", default="", show_default=False,
                     prompt_suffix="", err=True)
    finally:
        click.echo(CLEAR_SCREEN, nl=False)
    note(f"Cleared the screen; {credential.name} was shown as a QR code.")


def _uri_of(credential: Credential) -> str:
    from hwotp.formats.otpauth import format_uri

    return format_uri(credential)


def _print_qr(text: str) -> None:
    """Two columns a module where the terminal is wide enough, else half blocks (half the
    width and height; some scanners need the colours inverted for those)."""
    import shutil

    import segno

    code = segno.make(text, error="m")
    border = 2
    wide = 2 * (code.symbol_size(border=border)[0]) <= shutil.get_terminal_size().columns
    code.terminal(out=sys.stdout, border=border, compact=not wide)
    sys.stdout.flush()

