"""`hwotp unlock`: the vault's master key held in the Linux kernel's user keyring for a while.

The key lives in kernel memory, never in a file: the kernel drops it when its timeout ends,
on `hwotp lock`, and when the user's last process ends (logout without lingering, reboot).
Processes of the same user can read it (as they can talk to ssh-agent or read each other's
memory); other users and root-less processes of other users cannot. Reached through the
`add_key` and `keyctl` system calls (ctypes), as keyctl(1) and ecryptfs use them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform
import sys
from pathlib import Path

from hwotp.errors import NotSupportedError, StorageError

# System call numbers per architecture (asm/unistd.h).
_SYSCALLS = {
    "x86_64": (248, 250),
    "aarch64": (217, 219),
    "arm64": (217, 219),
    "i686": (286, 288),
    "i386": (286, 288),
    "armv7l": (309, 311),
    "riscv64": (217, 219),
    "ppc64le": (269, 271),
    "s390x": (278, 280),
}
KEY_SPEC_USER_KEYRING = -4
KEYCTL_UNLINK = 9
KEYCTL_SEARCH = 10
KEYCTL_READ = 11
KEYCTL_SET_TIMEOUT = 15
KEYCTL_SETPERM = 5
# Possessor: everything; the same user: view, read, search (any process of the user may read
# it, whether it "possesses" the user keyring or not); nobody else anything.
KEY_PERMISSIONS = 0x3F000000 | 0x000B0000
KEY_TYPE = b"user"
PREFIX = "hwotp:vault:"


def supported() -> bool:
    return sys.platform.startswith("linux") and platform.machine() in _SYSCALLS


def not_supported_error() -> NotSupportedError:
    return NotSupportedError(
        "keeping the vault unlocked needs the Linux kernel keyring, which this system does "
        "not have; the vault asks for its passphrase each time"
    )


def hold(vault: Path, secret: bytes, seconds: int) -> None:
    """Put `secret` into the user keyring under the vault's name, gone after `seconds`."""
    if not supported():
        raise not_supported_error()
    add_key, keyctl = _calls()
    key = add_key(KEY_TYPE, _description(vault), secret, len(secret),
                  ctypes.c_int(KEY_SPEC_USER_KEYRING))
    if key < 0:
        raise StorageError(f"the kernel keyring refused the key ({_error()})")
    for operation, argument in ((KEYCTL_SETPERM, KEY_PERMISSIONS),
                                (KEYCTL_SET_TIMEOUT, seconds)):
        if keyctl(operation, key, ctypes.c_ulong(argument)) < 0:
            reason = _error()
            drop(vault)
            raise StorageError(f"the kernel keyring could not limit the key ({reason})")


def held(vault: Path, size: int = 256) -> bytes | None:
    """The secret held for this vault, or None (never unlocked, expired, locked)."""
    if not supported():
        return None
    key = _find(vault)
    if key is None:
        return None
    _add_key, keyctl = _calls()
    buffer = ctypes.create_string_buffer(size)
    length = keyctl(KEYCTL_READ, key, buffer, ctypes.c_ulong(size))
    if length < 0 or length > size:
        return None
    return buffer.raw[:length]


def drop(vault: Path) -> bool:
    """Remove the held secret at once; whether there was one."""
    if not supported():
        raise not_supported_error()
    key = _find(vault)
    if key is None:
        return False
    _add_key, keyctl = _calls()
    return keyctl(KEYCTL_UNLINK, key, ctypes.c_int(KEY_SPEC_USER_KEYRING)) == 0


def _find(vault: Path) -> int | None:
    _add_key, keyctl = _calls()
    key = keyctl(KEYCTL_SEARCH, ctypes.c_int(KEY_SPEC_USER_KEYRING), KEY_TYPE,
                 _description(vault), ctypes.c_int(0))
    return key if key > 0 else None


def _description(vault: Path) -> bytes:
    """One key per vault file, named by its real path."""
    return (PREFIX + os.path.realpath(vault)).encode("utf-8", "surrogateescape")


def _error() -> str:
    return os.strerror(ctypes.get_errno())


@functools.cache
def _calls() -> tuple[functools.partial[int], functools.partial[int]]:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    add_key, keyctl = _SYSCALLS[platform.machine()]
    return functools.partial(libc.syscall, add_key), functools.partial(libc.syscall, keyctl)
