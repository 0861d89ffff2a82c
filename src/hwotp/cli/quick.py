"""`hwotp code` as people type it every day, parsed without click.

Importing click and building its command tree was about 26 ms of the daily command's 90
(bench/code.py). The lines this parser knows - `code`, at most one QUERY, --no-vault, --json,
--device SERIAL - run the same `readout.show_codes` that click's `code` runs, through the same
`run.run_command`. Every other line (another command, any other option, --help, a value click
would read differently, a root option's environment variable, a shell's completion request) is
left to click. So the two parsers differ only in which lines they take, never in what a line
does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

from hwotp.cli.app import start
from hwotp.cli.readout import show_codes
from hwotp.cli.run import run_command

# The root options' variables (--vault, --use-passphrase, --use-security-key), and the one
# through which a shell asks click to complete a line: click reads them.
CLICK_VARIABLES = ("HWOTP_VAULT", "HWOTP_SKIP_SECURITY_KEYS", "HWOTP_USE_SECURITY_KEY",
                   "_HWOTP_COMPLETE")
FLAGS = ("--no-vault", "--json")
MAX_SERIAL_DIGITS = 20  # a serial has 10 at most; a longer one is click's to refuse or read


class CodeLine(NamedTuple):
    query: str | None
    serials: tuple[int, ...]
    no_vault: bool
    as_json: bool


def parse(args: Sequence[str]) -> CodeLine | None:
    """The `hwotp code` line that `args` (the words after `hwotp`) is, or None: click's to
    parse."""
    if not args or args[0] != "code" or any(name in os.environ for name in CLICK_VARIABLES):
        return None
    query: str | None = None
    serials: list[int] = []
    flags: set[str] = set()
    words = iter(args[1:])
    for word in words:
        if word in FLAGS:
            flags.add(word)
        elif word == "--device":
            serial = next(words, "")
            if not (serial.isascii() and serial.isdigit()) or len(serial) > MAX_SERIAL_DIGITS:
                return None  # click says what is wrong with it
            serials.append(int(serial))
        elif word.startswith("-") or query is not None:
            return None
        else:
            query = word
    return CodeLine(query, tuple(serials), "--no-vault" in flags, "--json" in flags)


def run(line: CodeLine) -> NoReturn:
    run_command(lambda: _code(line))


def _code(line: CodeLine) -> None:
    app = start()
    app.serials, app.no_vault = line.serials, line.no_vault
    try:
        show_codes(app, line.query, line.as_json)
    finally:
        app.close()  # release the keys' PC/SC connections
