"""Questions at the terminal. click's own prompts report a wrong answer on a line starting
with "Error:"; these say it as hwotp says an error (`hwotp: ...`) and ask again."""

from __future__ import annotations

import click

from hwotp.cli.failures import prefixed
from hwotp.cli.output import note

YES = ("y", "yes")
NO = ("n", "no")


def ask_hidden(label: str, twice: bool = False) -> str:
    """A hidden answer; with `twice`, asked again until both entries agree."""
    while True:
        value: str = click.prompt(label, hide_input=True, err=True)
        if not twice or click.prompt("Repeat for confirmation", hide_input=True, err=True) == value:
            return value
        _wrong("the two entries do not match; type them again")


def ask_number(question: str, count: int, default: int = 1) -> int:
    """A number from 1 to `count`; Enter takes `default`."""
    while True:
        answer = str(click.prompt(question, default=str(default), err=True)).strip()
        if answer.isdigit() and 1 <= int(answer) <= count:
            return int(answer)
        _wrong(f"type a number from 1 to {count}")


def ask_line(question: str) -> str:
    """A line of text; Enter gives ""."""
    return str(click.prompt(question, default="", show_default=False, err=True))


def confirm(question: str, default: bool) -> bool:
    """Yes or no; Enter takes `default`. Ctrl-D and Ctrl-C end in click.Abort, as click.confirm
    does."""
    choices = "Y/n" if default else "y/N"
    while True:
        answer = click.prompt(
            f"{question} [{choices}]",
            default=YES[0] if default else NO[0],
            show_default=False,
            err=True,
        )
        answer = str(answer).strip().lower()
        if answer in YES or answer in NO:
            return answer in YES
        _wrong("answer y or n")


def _wrong(message: str) -> None:
    """A wrong answer is said as an error is, and the question comes again."""
    note(prefixed(message))
