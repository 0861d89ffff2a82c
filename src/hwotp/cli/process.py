"""What a process that holds secrets does to itself: secret variables out of the environment,
no core dumps, no debugger attaching (as gpg-agent and ssh-agent do)."""

from __future__ import annotations

import contextlib
import os
import sys

# Every environment variable that carries a secret: the one list. They are taken out of the
# environment when a command starts, so no child process (the clipboard tool that `--copy`
# starts and that stays running to serve the clipboard, a keyring helper) inherits them.
SECRET_VARIABLES = (
    "HWOTP_PASSPHRASE",
    "HWOTP_NEW_PASSPHRASE",
    "HWOTP_OATH_PASSWORD",
    "HWOTP_NEW_OATH_PASSWORD",
    "HWOTP_IMPORT_PASSWORD",
    "HWOTP_EXPORT_PASSWORD",
    "HWOTP_FIDO2_PIN",
    "HWOTP_FIDO2_NEW_PIN",
)

_taken: dict[str, str] = {}

_PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def take_secret_variables() -> None:
    """Move the secret variables from the environment into this process's memory."""
    _taken.clear()
    for name in SECRET_VARIABLES:
        value = os.environ.pop(name, None)
        if value is not None:
            _taken[name] = value


def secret_variable(name: str) -> str | None:
    """The value `name` had when the command started; only names in SECRET_VARIABLES."""
    if name not in SECRET_VARIABLES:
        raise ValueError(f"{name} is not a secret variable")
    return _taken.get(name)


def forbid_core_dumps() -> None:
    """No core file (RLIMIT_CORE 0) and, on Linux, not dumpable: no core even for a raised
    limit, and other processes of the same user cannot ptrace it or read its memory. Costs about
    3 ms (importing ctypes), paid by commands only: `hwotp --help` does not come here.
    Elsewhere, or where the call fails, the process runs as before."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
