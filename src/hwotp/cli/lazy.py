"""A click group whose subcommands live in modules imported only when one of them is used (or
listed for help): `hwotp code` does not pay for importing the code of commands it does not run.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    """`lazy_commands` maps a subcommand's name to the dotted path of the module that defines
    it; importing that module attaches the command to this group (`@group.command(...)`)."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands if lazy_commands is not None else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            importlib.import_module(self.lazy_commands[cmd_name])  # attaches itself here
        return self.commands.get(cmd_name)
