"""The options several commands share, as click decorators over `App`: which keys, a weak
vault passphrase allowed, and --device's completion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from hwotp.cli.app import App


def weak_passphrase_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--weak-passphrase: accept a new vault passphrase below the strength floor."""

    def allow(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(App).weak_passphrase = True

    return click.option(
        "--weak-passphrase", is_flag=True, expose_value=False, callback=allow,
        help="Accept a weak new vault passphrase (for a throwaway vault).",
    )(command)


def complete_serials(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """--device's completion: the serials of the keys present. Never prompts, never prints a
    note (it would land in the command line being typed), never fails."""
    import contextlib
    import io

    from click.shell_completion import CompletionItem

    app = App(ctx.find_root().params.get("vault_path"))
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            present = app.keys(reading=True)
            serials = [(key.known_info() or key.info()).serial for key in present]
        except Exception:
            serials = []
        finally:
            app.close()
    return [CompletionItem(str(serial)) for serial in serials
            if serial is not None and str(serial).startswith(incomplete)]


def key_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--device, --reader, --no-vault, --password: which keys a command uses, and how."""

    def setter(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
            if value not in (None, (), False):
                setattr(ctx.ensure_object(App), field, value)

        return store

    options = [
        click.option("--device", "serials", type=int, multiple=True, expose_value=False,
                     callback=setter("serials"), metavar="SERIAL",
                     shell_complete=complete_serials,
                     help="Use the YubiKey with this serial (repeat for several)."),
        click.option("--reader", expose_value=False, callback=setter("reader"),
                     help="Use the PC/SC reader whose name contains this."),
        click.option("--no-vault", is_flag=True, expose_value=False,
                     callback=setter("no_vault"), help="Leave the software vault out."),
        click.option("--password", expose_value=False, callback=setter("oath_password"),
                     help="The YubiKey's OATH password (or HWOTP_OATH_PASSWORD)."),
        click.option("--remember", is_flag=True, expose_value=False, callback=setter("remember"),
                     help="Keep the OATH password's key in the OS keyring."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
