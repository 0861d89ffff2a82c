"""A sibling module that attaches a command to `hwotp fido2`, as the vault's register and
verify commands do from their own module; loaded only through `LAZY_SUBCOMMANDS`."""

from __future__ import annotations

import click

from hwotp.cli.commands.fido2 import fido2_group


@fido2_group.command(name="sibling-drill")
def sibling_drill() -> None:
    """Say that it ran."""
    click.echo("the sibling command ran")
