"""How with-keys runs COMMAND, so that nothing COMMAND starts outlives with-keys:

    python -m virtualkey.reaper COMMAND...

As root, this process forks the first process of a new PID namespace, which runs COMMAND,
forwards signals to it and exits with its status; the kernel then kills whatever is left in the
namespace. Each step dies with its parent (PR_SET_PDEATHSIG, SIGKILL), so a SIGKILL of
with-keys takes COMMAND and everything it started too. Without root (a PID namespace would need
a user namespace, where COMMAND would see itself as root) this process is a child subreaper
instead: COMMAND's orphans become its children and are killed when COMMAND ends or when
with-keys dies (SIGTERM through PR_SET_PDEATHSIG); only a SIGKILL of this process itself
escapes that. The exit status is COMMAND's (128 + N when a signal N ended it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_libc = ctypes.CDLL(None, use_errno=True)


def main(argv: list[str]) -> int:
    if os.geteuid() == 0 and _libc.unshare(CLONE_NEWPID) == 0:
        return _start_namespace(argv)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        return _run(argv)
    finally:
        _kill_orphans()


def _start_namespace(argv: list[str]) -> int:
    """Forks the namespace's first process (PID 1 there) and waits for it."""
    init = os.fork()
    if init == 0:
        status = 127
        try:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            status = _run(argv)
        finally:
            os._exit(status)  # its end kills the rest of the namespace
    _forward_signals_to(init)
    return _exit_code(os.waitstatus_to_exitcode(os.waitpid(init, 0)[1]))


def _run(argv: list[str]) -> int:
    try:
        command = subprocess.Popen(argv)
    except OSError as error:
        print(f"with-keys: cannot run {argv[0]}: {error.strerror}", file=sys.stderr)
        return 127
    _forward_signals_to(command.pid)
    return _exit_code(command.wait())


def _forward_signals_to(pid: int) -> None:
    def forward(number: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, number)

    for number in FORWARDED:
        signal.signal(number, forward)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _kill_orphans() -> None:
    """Kills and reaps this subreaper's children (COMMAND's orphans) until none is left."""
    while children := _children():
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == me:  # state, ppid, ...
            found.append(int(stat.parent.name))
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
