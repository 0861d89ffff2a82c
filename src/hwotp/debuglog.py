"""hwotp's debug lines, without loading `logging` for a command nobody debugs.

hwotp logs at DEBUG only, and such a line goes nowhere until `--debug` (`cli/debug.py`) or a
library configures logging, which imports it first. So a line is handed to `logging` only once
that module is loaded, which changes nothing about what is logged: `hwotp code` on a known key
(the bulk path, no yubikit) then never loads it, a few milliseconds of every run.
"""

from __future__ import annotations

import sys


class Logger:
    """The part of `logging.Logger` hwotp uses, by name; `logging` itself looked up per line."""

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(self.name).debug(message, *args)

    def debugging(self) -> bool:
        """Whether a debug line would be written: worth the work of building one."""
        logging = sys.modules.get("logging")
        return logging is not None and logging.getLogger(self.name).isEnabledFor(logging.DEBUG)
