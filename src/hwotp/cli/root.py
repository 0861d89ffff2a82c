"""The click group every command hangs on: parses, and maps errors to exit codes.

Only click and hwotp's light modules load at start-up; each command imports what it needs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import click

from hwotp import __version__
from hwotp.cli.failures import EXIT_CODE_MEANINGS
from hwotp.cli.lazy import LazyGroup
from hwotp.cli.run import CLOSED_PIPE, EXIT_INTERRUPTED, fail, run_command, start_debugging
from hwotp.errors import OutputError

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())
    + f"\n  {EXIT_INTERRUPTED:>3}  interrupted (Ctrl-C, or SIGTERM during an enrolment)"
)


# Each command's module loads only when it runs (or for --help): `hwotp code` does not pay for
# importing the enrolment, import/export, doctor and key-management code.
DAILY = "hwotp.cli.commands.daily"
LAZY_COMMANDS = {
    **dict.fromkeys(["list", "code", "delete", "rename", "vault", "config", "completion"], DAILY),
    "enroll": "hwotp.cli.commands.enroll",
    "import": "hwotp.cli.commands.transfer",
    "export": "hwotp.cli.commands.transfer",
    "doctor": "hwotp.cli.commands.doctor",
    "keys": "hwotp.cli.commands.keys",
    "key": "hwotp.cli.commands.keys",
    "unlock": "hwotp.cli.commands.unlock",
    "lock": "hwotp.cli.commands.unlock",
    "recovery": "hwotp.cli.commands.recovery",
    "status": "hwotp.cli.commands.status",
    "fido2": "hwotp.cli.commands.fido2",
}


class HwotpGroup(LazyGroup):
    """Parses with click, and runs the command as `run` runs every command: click's failures
    become hwotp's sentences and exit codes too."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        run_command(lambda: self._parse_and_invoke(*args, **kwargs))

    def _parse_and_invoke(self, *args: Any, **kwargs: Any) -> object:
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as error:  # `hwotp` or `hwotp vault` alone
            click.echo(error.ctx.get_help() if error.ctx else error.format_message())
            return 0
        except click.UsageError as error:
            message = _usage_message(error)
            if error.ctx and not message.endswith("?"):  # "did you mean ...?" says enough
                message += f"; see '{error.ctx.command_path} --help'"
            fail(message, error.exit_code)
        except click.ClickException as error:
            fail(error.format_message(), error.exit_code)
        # Without standalone mode click returns the code of --help/--version exits, else None.

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Caught here because click would end a closed pipe with a silent exit 1.
            raise OutputError(CLOSED_PIPE) from None


def _debug_option(_ctx: click.Context, _param: click.Parameter, given: bool) -> None:
    if given:
        start_debugging()


def _usage_message(error: click.UsageError) -> str:
    """click's sentence without the value it would repeat: a secret typed in the wrong place
    must not be printed back."""
    param_type = getattr(getattr(error, "param", None), "type", None)
    if isinstance(param_type, click.Path):  # a path is no secret, and why it fails matters
        return error.format_message().rstrip(".")
    if isinstance(error, click.BadParameter) and not isinstance(error, click.MissingParameter):
        hint = error.param.get_error_hint(error.ctx) if error.param and error.ctx else "an option"
        choices = getattr(error.param.type, "choices", None) if error.param else None
        return f"invalid value for {hint}" + (f" (one of {', '.join(choices)})" if choices else "")
    if isinstance(error, click.NoSuchOption):  # an option name is no secret: it starts with -
        near = error.possibilities  # click's close matches
        suggestion = f"; did you mean '{near[0]}'?" if near else ""
        return f"no such option '{error.option_name}'{suggestion}"
    message = error.format_message()
    if message.startswith("Got unexpected extra argument"):
        return "unexpected extra argument; put each value after its option"
    if message.startswith("No such command"):
        group = error.ctx.command if error.ctx else None
        names: list[str] = []
        if error.ctx and isinstance(group, click.Group):
            names = group.list_commands(error.ctx)  # lazy commands too, loaded or not
        return _no_such_command(getattr(error, "command_name", ""), names)
    return _lower_first(message.rstrip("."))


# How close a mistyped command must be to a real one before it is echoed with a suggestion:
# close enough that it cannot be a secret typed in the wrong place (`enrol`, `lst`, `Enroll`).
SUGGESTION_CUTOFF = 0.75


def _no_such_command(typed: str, names: list[str]) -> str:
    """`no such command 'enrol'; did you mean 'enroll'?` when the word is close to a command;
    otherwise the word is not repeated."""
    import difflib

    near = difflib.get_close_matches(typed.lower(), names, n=1, cutoff=SUGGESTION_CUTOFF)
    if not typed or not near:
        return "no such command"
    return f"no such command '{typed}'; did you mean '{near[0]}'?"


def _lower_first(message: str) -> str:
    """click's `Missing argument 'X'` in the lower case of hwotp's sentences. Only a plain
    capitalised first word is lowered: a name (`YubiKey 5 NFC`, `FIDO2`) stays as written."""
    word = message.split(" ", 1)[0]
    if word[:1].isupper() and word[1:].islower():
        return message[0].lower() + message[1:]
    return message


@click.group(
    cls=HwotpGroup,
    lazy_commands=LAZY_COMMANDS,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="hwotp", message="%(prog)s %(version)s")
@click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_debug_option,
    help="Log what hwotp does with keys and the vault on standard error (also HWOTP_DEBUG=1); "
    "never secrets.",
)
@click.option(
    "--vault",
    "vault_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HWOTP_VAULT",
    help="Vault file (default: in your user data folder; also HWOTP_VAULT).",
)
@click.option(
    "--use-passphrase",
    is_flag=True,
    envvar="HWOTP_SKIP_SECURITY_KEYS",
    help="Open the vault with its passphrase even when a registered security key is plugged "
    "in (also HWOTP_SKIP_SECURITY_KEYS=1).",
)
@click.option(
    "--use-security-key",
    is_flag=True,
    envvar="HWOTP_USE_SECURITY_KEY",
    help="Without a terminal: open the vault with a registered security key plugged in, and "
    "read no passphrase from standard input (also HWOTP_USE_SECURITY_KEY=1; HWOTP_FIDO2_PIN "
    "set means the same).",
)
@click.pass_context
def cli(ctx: click.Context, vault_path: Path | None, use_passphrase: bool,
        use_security_key: bool) -> None:
    """Keep one-time-password secrets on this machine: decode MFA QR codes locally, write the
    secret into a YubiKey (touch required) or an encrypted vault, and print codes.

    The vault passphrase is asked at the terminal, or read from HWOTP_PASSPHRASE, or from one
    line of standard input when that is not a terminal. A registered security key plugged in
    opens the vault instead (a touch; its PIN at the terminal or from HWOTP_FIDO2_PIN, never
    from standard input); with no terminal, only when standard input is empty, or with
    --use-security-key or HWOTP_FIDO2_PIN set.
    """
    from hwotp.cli.app import start

    # click reads an empty HWOTP_VAULT as unset: a script meaning a throwaway vault would
    # write into the real one.
    if vault_path == Path("") or (vault_path is None and os.environ.get("HWOTP_VAULT") == ""):
        raise click.UsageError("the vault path is empty: name a file with --vault or HWOTP_VAULT")
    if use_passphrase and use_security_key:
        raise click.UsageError("--use-passphrase and --use-security-key contradict each other "
                               "(or HWOTP_SKIP_SECURITY_KEYS and HWOTP_USE_SECURITY_KEY)")
    ctx.obj = start(vault_path, use_passphrase, use_security_key)
    ctx.call_on_close(ctx.obj.close)  # release the keys' PC/SC connections


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="hwotp")
