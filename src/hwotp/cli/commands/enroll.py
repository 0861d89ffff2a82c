"""`hwotp enroll`: read credentials, show what was found, store them, print the code to confirm."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from click.core import ParameterSource

from hwotp.cli.app import App, is_terminal, read_hidden
from hwotp.cli.commands.targets import Placement
from hwotp.cli.options import key_options, weak_passphrase_option
from hwotp.cli.output import (
    code_fields,
    code_text,
    describe,
    emit_json,
    entry_fields,
    note,
    seconds_left,
    warn,
)
from hwotp.cli.root import cli
from hwotp.credential import Code, Credential, Kind, split_name
from hwotp.errors import ArgumentError, InputError
from hwotp.secret import looks_like_a_secret
from hwotp.usecases.sources import Found

if TYPE_CHECKING:
    from hwotp.cli.commands.targets import Stored
    from hwotp.formats.imports import Refusal
    from hwotp.usecases.enroll import Enrolled
    from hwotp.usecases.sources import Uri

# The options that describe a setup key, and how the user spells them.
SETUP_KEY_FLAGS = {
    "issuer": "--issuer",
    "account": "--account",
    "kind": "--type",
    "algorithm": "--algorithm",
    "digits": "--digits",
    "period": "--period",
    "counter": "--counter",
}

ONE_SOURCE = ("give exactly one of --secret, --screen, --clipboard, or --qr and --uri (each once "
              "or more, together too)")
NUMBER = re.compile(r"[0-9]+")
LOOKS_LIKE_A_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")  # a Path folds "://" into ":/"


def _choices(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[int, ...]:
    """`--pick 1,3 --pick 4` -> (1, 3, 4); plain decimal numbers only."""
    parts = [part.strip() for value in values for part in value.split(",")]
    if values and not all(NUMBER.fullmatch(part) for part in parts):
        raise click.UsageError("--pick takes credential numbers, for example --pick 1,3")
    return tuple(int(part) for part in parts)


@dataclass(frozen=True)
class Enrolment:
    """What to keep of what was read, and where and how to store it: the options `enroll`
    and `import` share."""

    pick: tuple[int, ...]
    new_name: str | None
    dry_run: bool
    force: bool
    as_json: bool
    placement: Placement


_ENROLMENT_OPTIONS = (
    click.option(
        "--pick", multiple=True, callback=_choices, help="Enrol only these (numbers as listed)."
    ),
    click.option("--name", "new_name", help="Store it as ISSUER:ACCOUNT (one credential only)."),
    click.option("--dry-run", is_flag=True, help="Decode and show the code, store nothing."),
    click.option(
        "--force",
        is_flag=True,
        help="Replace a stored credential of the same name (the vault's backup is rewritten "
        "without the old secret).",
    ),
    key_options,
    weak_passphrase_option,
    click.option("--no-touch", is_flag=True, help="On a YubiKey: give codes without a touch."),
    click.option("--all-keys", is_flag=True, help="Write it to every YubiKey present (backups)."),
    click.option("--also-vault", is_flag=True, help="Keep an encrypted copy in the vault too."),
    click.option(
        "--in-vault", is_flag=True, help="Store in the vault only, even with keys present."
    ),
    click.option(
        "--fallback",
        type=click.Choice(["vault"]),
        help="Where to store it when the YubiKey is full (else asked at a terminal).",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result."),
)


def enrolment_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of `Enrolment`, handed to `command` as one `enrolment` argument."""

    @functools.wraps(command)
    def with_enrolment(
        *args: Any,
        pick: tuple[int, ...],
        new_name: str | None,
        dry_run: bool,
        force: bool,
        as_json: bool,
        no_touch: bool,
        all_keys: bool,
        also_vault: bool,
        in_vault: bool,
        fallback: str | None,
        **kwargs: Any,
    ) -> Any:
        placement = Placement(not no_touch, all_keys, also_vault, in_vault, fallback)
        enrolment = Enrolment(pick, new_name, dry_run, force, as_json, placement)
        return command(*args, enrolment=enrolment, **kwargs)

    decorated: Callable[..., Any] = with_enrolment
    for option in reversed(_ENROLMENT_OPTIONS):
        decorated = option(decorated)
    return decorated


@cli.command()
@click.option(
    "--qr", "qr_files", type=click.Path(path_type=Path), multiple=True,
    help="Screenshot or photo of the QR code (repeat for the parts of an export; '-' reads "
    "the image from standard input).",
)
@click.option(
    "--uri", "uris", multiple=True,
    help="An otpauth:// or otpauth-migration:// URI (repeat for several); '-' reads them "
    "from standard input, one a line, out of your shell history.",
)
@click.option("--screen", is_flag=True, help="Find the QR codes on the screen (kept in memory).")
@click.option(
    "--clipboard", is_flag=True, help="Read a QR code image or otpauth URIs from the clipboard."
)
@click.option("--secret", help="The setup key (base32); '-' reads it without echo.")
@click.option("--issuer", default="", help="With --secret: the service, e.g. GitHub.")
@click.option("--account", help="With --secret: your account name at the service.")
@click.option(
    "--type", "kind", type=click.Choice(["totp", "hotp"], case_sensitive=False), default="totp"
)
@click.option(
    "--algorithm",
    type=click.Choice(["SHA1", "SHA256", "SHA512"], case_sensitive=False),
    default="SHA1",
)
@click.option("--digits", type=int, default=6, show_default=True)
@click.option("--period", type=int, default=30, show_default=True, help="TOTP step in seconds.")
@click.option("--counter", type=int, default=0, show_default=True, help="HOTP initial counter.")
@enrolment_options
@click.pass_obj
def enroll(
    app: App,
    qr_files: tuple[Path, ...],
    uris: tuple[str, ...],
    secret: str | None,
    screen: bool,
    clipboard: bool,
    enrolment: Enrolment,
    **setup_key: Any,
) -> None:
    """Store a new credential from a QR image (a file, the screen or the clipboard), a URI or a
    setup key, and print its first code.

    The QR code is decoded on this machine; nothing is sent anywhere. With a YubiKey present
    the secret is written into it (touch required unless --no-touch), where it cannot be read
    back; without one it goes into the encrypted vault.
    """
    others = bool(qr_files or uris) or secret is not None
    found = _from_desktop(screen, clipboard, others) or _read_found(app, qr_files, uris, secret,
                                                                    setup_key)
    enrol_found(app, found, enrolment)


def _from_desktop(screen: bool, clipboard: bool, others: bool) -> Found | None:
    """`--screen` or `--clipboard`, when given (alone): the desktop's pixels or text."""
    from hwotp.usecases import sources

    if not (screen or clipboard):
        return None
    if others or (screen and clipboard):
        raise click.UsageError(ONE_SOURCE)
    _refuse_setup_key_options("the screen" if screen else "the clipboard")
    return sources.from_screen() if screen else sources.from_clipboard()


def enrol_found(
    app: App, found: Found, enrolment: Enrolment, refused: Sequence[Refusal] | None = None
) -> None:
    """Show what was read (and what was `refused`), pick, rename, then store it as chosen, or
    show the codes of a dry run: `enroll` and `import` alike."""
    from hwotp.usecases import sources

    _show_found(found, refused or ())  # numbered as --pick counts, before any are picked
    if enrolment.pick:
        count = len(found.credentials)
        wrong = [n for n in enrolment.pick if not 1 <= n <= count]
        if wrong:
            raise ArgumentError(f"--pick {wrong[0]} is out of range: found {count} credential(s)")
        found = sources.pick(found, enrolment.pick)
        note(f"Picked {', '.join(map(str, dict.fromkeys(enrolment.pick)))}.")
    if enrolment.new_name is not None:
        found = _renamed(found, enrolment.new_name)
    # Only `import` has refusals; its --json always lists them, enroll's never does.
    refusals = None if refused is None else [{"name": r.name, "reason": r.reason} for r in refused]
    if enrolment.dry_run:
        _finish_dry_run(found, app.now(), enrolment.as_json, refusals)
        return
    placement = enrolment.placement
    if placement.in_vault and (placement.all_keys or placement.also_vault or app.serials):
        raise click.UsageError("--in-vault stores in the vault only; leave out the key options")
    if placement.all_keys and (app.serials or app.reader):
        raise click.UsageError("--all-keys writes to every key present; leave out --device and "
                               "--reader, or repeat --device SERIAL for each key to write to")
    if app.no_vault and (placement.in_vault or placement.also_vault or placement.fallback):
        raise click.UsageError("--no-vault contradicts --in-vault, --also-vault and --fallback")
    _store(app, found, enrolment.force, enrolment.as_json, placement, refusals)


def _read_found(
    app: App, qr_files: tuple[Path, ...], uris: tuple[str, ...], secret: str | None,
    setup_key: dict[str, Any],
) -> Found:
    from hwotp.usecases import sources

    app.stdin_taken = _stdin_reader(qr_files, uris, secret)
    if bool(qr_files or uris) == (secret is not None):
        raise click.UsageError(ONE_SOURCE)
    if secret is None:
        _refuse_setup_key_options("the QR code" if qr_files else "the URI")
        for qr_file in qr_files:
            if qr_file != sources.STDIN:
                _refuse_secret_as_file(qr_file)
        found = sources.from_inputs(qr_files, _uris(uris), _stdin_image(qr_files))
        _warn_of_secrets_in_arguments(uris)  # once read: a refusal stays one sentence
        return found
    if not setup_key["account"]:
        raise click.UsageError("--secret needs --account (and usually --issuer)")
    key = read_hidden("Setup key") if secret == "-" else secret
    found = sources.from_secret(key, **setup_key)
    if secret != "-":
        warn("the setup key given on the command line stays in your shell history; next time "
             "use --secret - (asked without echo, or read from standard input)")
    return found


def _stdin_reader(
    qr_files: tuple[Path, ...], uris: tuple[str, ...], secret: str | None
) -> str | None:
    """The one option that reads standard input to its end (`--qr -`, `--uri -`), if any;
    two options cannot share it (`--secret -` reads one line: a passphrase may follow)."""
    from hwotp.usecases.sources import STDIN

    users = ["--qr -"] * qr_files.count(STDIN) + ["--uri -"] * uris.count("-")
    users += ["--secret -"] if secret == "-" else []
    if len(users) > 1:
        raise click.UsageError("standard input carries one input per command: give only one of "
                               "--qr -, --uri - and --secret -, once")
    return users[0] if users and users[0] != "--secret -" else None


def _stdin_image(qr_files: tuple[Path, ...]) -> BinaryIO | None:
    """Standard input for `--qr -`: piped bytes, never a terminal's keystrokes."""
    from hwotp.usecases.sources import STDIN

    if STDIN not in qr_files:
        return None
    if sys.stdin is None or is_terminal():
        raise click.UsageError("--qr - reads an image piped to standard input, as in "
                               "`wl-paste | hwotp enroll --qr -`; nothing is piped")
    return sys.stdin.buffer


# The most a list of URIs on standard input may hold: thousands of credentials.
MAX_STDIN_TEXT = 2**20


def _uris(given: tuple[str, ...]) -> list[Uri]:
    """The URIs given, `-` replaced by those read from standard input; each says where it was
    given, for a refusal to name."""
    from hwotp.usecases.sources import Uri

    uris: list[Uri] = []
    for number, text in enumerate(given, start=1):
        if text == "-":
            uris += _stdin_uris()
        else:
            uris.append(Uri(text, f"URI {number}" if len(given) > 1 else ""))
    return uris


def _stdin_uris() -> list[Uri]:
    """At a terminal one URI, asked without echo; piped, one URI a line (blank lines left
    out), each named by its line number."""
    from hwotp.usecases.sources import STDIN_NAME, Uri

    if is_terminal():
        return [Uri(read_hidden("URI"), "the URI typed at the terminal")]
    try:
        text = sys.stdin.read(MAX_STDIN_TEXT + 1) if sys.stdin else ""
    except UnicodeDecodeError:
        raise InputError(f"{STDIN_NAME} is not valid text (UTF-8)") from None
    if len(text) > MAX_STDIN_TEXT:
        raise InputError(f"{STDIN_NAME} holds more than {MAX_STDIN_TEXT // 2**10} KiB of URIs")
    uris = [Uri(line, f"line {number} of {STDIN_NAME}")
            for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not uris:
        raise InputError(f"{STDIN_NAME} holds no URI: pipe them in, one a line")
    return uris


SECRET_IN_URI = re.compile(r"[?&](secret|data)=", re.IGNORECASE)


def _warn_of_secrets_in_arguments(uris: tuple[str, ...]) -> None:
    if any(uri != "-" and SECRET_IN_URI.search(uri) for uri in uris):
        warn("a URI given on the command line stays in your shell history with its secret; "
             "next time use --uri - (read from standard input)")


def _refuse_secret_as_file(qr_file: Path) -> None:
    """A URI or setup key pasted after --qr would be echoed by "no such file": refuse it
    without repeating it."""
    text = str(qr_file)
    if LOOKS_LIKE_A_URI.match(text) or (not qr_file.exists() and looks_like_a_secret(text)):
        raise click.UsageError(
            "--qr takes an image file; give a URI with --uri or a setup key with --secret -"
        )


def _refuse_setup_key_options(source: str) -> None:
    """A QR code or URI says all that --digits and the like would: silently ignoring a
    contradicting option would store something the user did not ask for."""
    context = click.get_current_context()
    for name, flag in SETUP_KEY_FLAGS.items():
        if context.get_parameter_source(name) is not ParameterSource.DEFAULT:
            raise click.UsageError(f"{flag} goes with --secret only; {source} sets it")


def _show_found(found: Found, refused: Sequence[Refusal]) -> None:
    count = len(found.credentials)
    note(f"Found {count} credential{'s' if count > 1 else ''} in {found.source}:")
    for number, credential in enumerate(found.credentials, start=1):
        note(f"  {number}. {credential.name} ({describe(credential)})")
    for refusal in refused:
        warn(f"not imported: {refusal}")
    for message in found.warnings:
        warn(message)


def _finish_dry_run(found: Found, now: float, as_json: bool, refusals: Refusals) -> None:
    from hwotp.otp import compute

    codes = [(c, compute(c, now)) for c in found.credentials]
    if as_json:
        emit_json(_result(codes, None, found.warnings, now, refusals))
        return
    note("Dry run: nothing was stored.")
    for credential, code in codes:
        click.echo(f"{credential.name}  {code_text(code, now)}")


def _renamed(found: Found, new_name: str) -> Found:
    from dataclasses import replace

    if len(found.credentials) != 1:
        raise click.UsageError("--name renames one credential; pick it with --pick")
    issuer, account = split_name(new_name)
    issuer = issuer or ""
    if not account.strip():
        raise click.UsageError("--name needs an account part, as in ISSUER:ACCOUNT")
    credential = found.credentials[0].replace(issuer=issuer, account=account)
    return replace(found, credentials=(credential,))


def _store(
    app: App, found: Found, force: bool, as_json: bool, placement: Placement, refusals: Refusals
) -> None:
    from hwotp.cli.commands.targets import store_everywhere

    stored = store_everywhere(app, found.credentials, placement, replace=force)
    now = app.now()
    if as_json:
        emit_json(_result(stored.codes, stored, found.warnings, now, refusals))
        return
    for location, enrolled in stored.placed.items():
        _say_stored(app, location, enrolled)
    _say_copies_count_separately(stored)
    for credential, code in stored.codes:
        _offer_code(credential, code, now, setting_up=refusals is None)


def _say_stored(app: App, location: str, enrolled: Sequence[Enrolled]) -> None:
    """Which credential went where: written, found there already, a twin replaced."""
    where = f"vault at {app.vault_path}" if location == "vault" else location
    written = [item.credential.name for item in enrolled if not item.present]
    present = [item.credential.name for item in enrolled if item.present]
    if written:
        note(f"Stored {', '.join(written)} in the {where}.")
    if present:
        preposition = "in" if location == "vault" else "on"
        note(f"{', '.join(present)}: already {preposition} the {location}, same secret; "
             "not written again.")
    for item in enrolled:
        for raw_id in item.replaced:
            note(f"Replaced {raw_id} on the {location}: the same name under another period.")


def _say_copies_count_separately(stored: Stored) -> None:
    """HOTP copies each keep a counter: one note, for every HOTP credential now in several
    places."""
    names = [credential.name for credential, _ in stored.codes
             if credential.kind is Kind.HOTP and len(stored.copies(credential.name)) > 1]
    if not names:
        return
    note(f"HOTP copies count separately ({', '.join(names)}): a code used from one copy "
         "moves only that copy's counter, and a site accepts only a few codes past the last "
         "one it saw, so the copies used least fall out of step; use one copy, and keep the "
         "others for when it is lost.")


# Seconds a person needs to read a code and type it into a site: a code with less left is
# not offered, the next one is.
TYPING_SECONDS = 10


def _offer_code(credential: Credential, code: Code, now: float, setting_up: bool) -> None:
    """The code the site's setup asks for; when it is about to expire, the next one and
    from when it counts. An import moves credentials that are set up already: no offer."""
    import time

    following = _next_if_close(credential, code, now)
    if following is None or code.valid_until is None:
        click.echo(f"{credential.name}  {code_text(code, now)}")
        if setting_up:
            note("Type this code into the site to finish its setup.")
        return
    left = seconds_left(code, now)
    click.echo(f"{credential.name}  {code_text(code, now, following)}")
    if not setting_up:
        return
    starts = time.strftime("%H:%M:%S", time.localtime(code.valid_until))
    note(f"That code expires in {left} s: type the next one, {following.value}, into the site "
         f"from {starts} (in {left} s) to finish its setup.")


def _names(found: Found) -> str:
    return ", ".join(credential.name for credential in found.credentials)


def _next_if_close(credential: Credential, code: Code, now: float) -> Code | None:
    from hwotp.otp import compute

    left = seconds_left(code, now)
    if left is None or left >= TYPING_SECONDS or code.valid_until is None:
        return None
    return compute(credential, code.valid_until)


CodedCredentials = list[tuple[Credential, Code]]


Refusals = list[dict[str, str]] | None  # None: not an import


def _result(
    codes: CodedCredentials,
    stored: Stored | None,
    warnings: tuple[str, ...],
    now: float,
    refusals: Refusals,
) -> dict[str, object]:
    locations = stored.locations if stored else []
    result: dict[str, object] = {
        "stored": bool(locations),
        "stored_in": locations,
        "warnings": list(warnings),
        "credentials": [
            _credential_result(credential, code, stored, now) for credential, code in codes
        ],
    }
    if refusals is not None:
        result["refused"] = refusals
    return result


def _credential_result(
    credential: Credential, code: Code, stored: Stored | None, now: float
) -> dict[str, object]:
    """Its fields and code, where it is now (`stored_in`), and where it was found already,
    same secret, and not written again (`already_in`)."""
    copies = stored.copies(credential.name) if stored else []
    fields = {**entry_fields(credential.entry(copies[0] if copies else "nowhere (dry run)")),
              **code_fields(code, now, _next_if_close(credential, code, now))}
    if stored:
        fields["stored_in"] = copies
        fields["already_in"] = [location for location in copies
                                if any(e.present for e in stored.placed[location]
                                       if e.credential.name == credential.name)]
    return fields
