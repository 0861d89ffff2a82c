"""`--debug` and HWOTP_DEBUG: hwotp's loggers, and yubikit's, ykman's and python-fido2's, on
standard error.

Imported only when debugging is asked for: otherwise no handler is installed, hwotp's loggers
stay at the default WARNING threshold (hwotp logs at DEBUG only) and nothing is logged.
Libraries are configured by logger name, so none of them is imported for it.

yubikit, ykman and python-fido2 log every APDU and HID packet *with its data* at their own
TRAFFIC level (5, below DEBUG): secrets, access keys and codes. Their loggers are set to DEBUG
exactly, which leaves TRAFFIC off whatever the root logger's level; hwotp's own APDU lines
(`yubikey/apdus.py`) carry the header bytes and lengths only.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

HWOTP_LOGGER = "hwotp"
LIBRARY_LOGGERS = ("yubikit", "ykman", "fido2")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to `sys.stderr` as it is when a record comes: click's test runner replaces it
    for each in-process run."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


_handler: logging.Handler | None = None


def enable() -> None:
    """hwotp's and the device libraries' debug lines on standard error (idempotent)."""
    global _handler
    if _handler is not None:
        return
    _handler = _StderrHandler()
    _handler.setFormatter(logging.Formatter(FORMAT))
    for name in (HWOTP_LOGGER, *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)  # exactly DEBUG: the libraries' TRAFFIC stays off
        logger.addHandler(_handler)


def disable() -> None:
    """Back to nothing logged: one process may run several commands (tests do)."""
    global _handler
    if _handler is None:
        return
    for name in (HWOTP_LOGGER, *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        logger.removeHandler(_handler)
        logger.setLevel(logging.NOTSET)
    _handler = None


def log_unexpected(error: BaseException) -> None:
    """The traceback of an error the boundary does not know, for the report."""
    logging.getLogger(HWOTP_LOGGER).error("unexpected error", exc_info=error)
