"""A file the user names (a screenshot, an export): a regular file only, opened without
blocking, so a FIFO or a device is refused rather than waited on; every failure one sentence."""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from hwotp.errors import InputError


def open_regular(name: str, kind: str) -> BinaryIO:
    """`name` opened for reading; `kind` ("image", "export") words the refusals."""
    try:
        _refuse_special(os.stat(name).st_mode, name, kind)  # before opening: a FIFO would block
        # O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not wait.
        file = open(name, "rb", opener=_open_nonblocking)  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise InputError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{name} is a folder, not an {kind} file") from None
    except PermissionError:
        raise InputError(f"{name} cannot be read: permission denied") from None
    except OSError as error:
        raise InputError(f"{name} cannot be read: {error.strerror or error}") from None
    try:
        _refuse_special(os.fstat(file.fileno()).st_mode, name, kind)  # what was opened
    except InputError:
        file.close()
        raise
    return file


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)


def _refuse_special(mode: int, name: str, kind: str) -> None:
    """Only regular files are read: a folder, pipe, socket or device is refused unread."""
    if stat.S_ISDIR(mode):
        raise InputError(f"{name} is a folder, not an {kind} file")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{name} is not a regular file (a pipe, socket or device); save the {kind} to a file"
        )


def overwrite_and_delete(name: str) -> None:
    """Overwrite a regular file with zeros, flush it to the disk, then remove it. On an SSD or
    a copy-on-write filesystem the old blocks may survive: callers say so. A symbolic link is
    refused (its target is not the file the user named)."""
    try:
        descriptor = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InputError(f"{name} could not be deleted: {error.strerror or error}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name} is not a regular file; it was not deleted")
        zeros = bytes(min(info.st_size, 1 << 16))
        left = info.st_size
        while left > 0:
            left -= os.write(descriptor, zeros[:left])
        os.fsync(descriptor)
    except OSError as error:
        raise InputError(f"{name} could not be overwritten: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    try:
        os.unlink(name)
    except OSError as error:
        raise InputError(f"{name} was overwritten but not deleted: {error.strerror or error}") \
            from None
