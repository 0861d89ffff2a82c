"""Loaded by every Python process a `pytest --real-key` test starts (its PYTHONPATH has this
folder): when hwotp or ykman says "Touch your ...", the person at the keys is also asked, with
one line through the FIFO REALKEY_PERSON names (pytest passes it on to its terminal), as
conftest.py does for hwotp in-process. Outside such runs it does nothing."""

from __future__ import annotations

import os
import re
import sys

_PERSON = os.environ.get("REALKEY_PERSON")


def _ask(person: str, serial: str | None) -> None:
    line = f"touch YubiKey {serial}" if serial else "touch your YubiKey"
    _tell(person, f"{line}\n")


def _tell(person: str, line: str) -> None:
    """Never blocks: a process left running after pytest ended finds no reader (ENXIO) and asks
    nobody; the test (if any) will say that the touch was missing."""
    try:
        relay = os.open(person, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: nobody reads; ENOENT: the run is over
        return
    try:
        os.write(relay, line.encode())
    except OSError:
        pass
    finally:
        os.close(relay)


def _ask_for_touches(person: str) -> None:
    try:
        from hwotp.cli import app
    except ImportError:  # a Python program that is not hwotp's
        return
    said = app.note

    def note(message: str) -> None:
        if message.startswith("Touch your"):
            serials = re.findall(r"\b\d{6,}\b", message)
            _ask(person, serials[-1] if serials else None)
        said(message)

    app.note = note


def _ask_for_ykman_touches(person: str) -> None:
    """ykman says "Touch your YubiKey..." without a serial: the one after --device, else the
    run's only key (HWOTP_TEST_WIPE_KEY names the run's keys)."""
    if not os.path.basename(sys.argv[0] if sys.argv else "").startswith("ykman"):
        return
    from ykman._cli import util

    argv = sys.argv[1:]
    given = argv[argv.index("--device") + 1] if "--device" in argv[:-1] else None
    wiped = re.findall(r"\d+", os.environ.get("HWOTP_TEST_WIPE_KEY", ""))
    serial = given or (wiped[0] if len(wiped) == 1 else None)
    prompt = util.prompt_for_touch

    def prompt_for_touch(*args: object, **kwargs: object) -> None:
        _ask(person, serial)
        prompt(*args, **kwargs)

    util.prompt_for_touch = prompt_for_touch


if _PERSON:
    _ask_for_touches(_PERSON)
    _ask_for_ykman_touches(_PERSON)
