"""Vault files on disk: the lock, atomic writes with a backup, modes and folders.

Knows nothing of the format: it moves bytes. Errors name paths, never contents.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from hwotp.errors import StorageError

FILE_MODE = 0o600
FOLDER_MODE = 0o700
LOCK_TIMEOUT = 15.0  # seconds; a writer holds the lock for milliseconds
_POLL = 0.005

logger = logging.getLogger(__name__)  # paths and sizes; never contents


class VaultMissingError(StorageError):
    """There is no vault file at the path."""


class VaultExistsError(StorageError):
    """A vault is already at the path (perhaps another process created it a moment ago)."""


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def _temp_glob(path: Path) -> str:
    return f".{path.name}.*.tmp"


def _problem(action: str, path: Path, err: OSError) -> StorageError:
    return StorageError(f"cannot {action} {path}: {err.strerror or err}")


def read(path: Path, limit: int) -> bytes:
    """At most `limit + 1` bytes of `path`, so the caller can reject an oversized file."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise VaultMissingError(f"there is no vault at {path}") from None
    except OSError as err:
        raise _problem("read the vault", path, err) from None
    logger.debug("read %d bytes from %s", len(data), path)
    return data


def make_private_folder(folder: Path) -> None:
    """`make_folder`, and the folder itself closed to others when it is this user's: for
    hwotp's own cache, which an older hwotp may have left open."""
    make_folder(folder)
    state = folder.stat()
    if state.st_uid == os.getuid() and state.st_mode & 0o077:
        os.chmod(folder, FOLDER_MODE)


def make_folder(folder: Path) -> None:
    """Create `folder` and missing parents with mode 0700; existing folders are left alone."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for part in reversed(missing):
        try:
            part.mkdir(mode=FOLDER_MODE)
            os.chmod(part, FOLDER_MODE)  # mkdir's mode is reduced by the umask
        except FileExistsError:
            pass  # another process made it first
        except OSError as err:
            raise _problem("create the folder", part, err) from None


@contextlib.contextmanager
def exclusive_lock(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the vault's lock file exclusively; StorageError if another process keeps it."""
    lock = lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as err:
        raise _problem("open the lock file", lock, err) from None
    try:
        _acquire(fd, lock, timeout)
        yield
    finally:
        os.close(fd)  # releases the flock


def _acquire(fd: int, lock: Path, timeout: float) -> None:
    # Polling rather than a blocking flock, so a stuck process ends in an error, not a hang.
    started = time.monotonic()
    deadline = started + timeout
    waiting = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            logger.debug("locked %s after %.3f s", lock, time.monotonic() - started)
            return
        except BlockingIOError:
            if not waiting:
                logger.debug("waiting for %s: another process holds it", lock)
                waiting = True
            if time.monotonic() > deadline:
                logger.debug("gave up on %s after %.1f s", lock, timeout)
                raise StorageError(
                    f"the vault is locked by another hwotp process ({lock})"
                ) from None
            time.sleep(_POLL)
        except OSError as err:
            raise _problem("lock", lock, err) from None


def remove_stale_temp_files(path: Path) -> None:
    """Delete temporary files of killed writers. Only call while holding the lock."""
    for stale in path.parent.glob(_temp_glob(path)):
        with contextlib.suppress(OSError):
            stale.unlink()
            logger.debug("removed %s, left by a writer that was stopped", stale)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temporary file, fsync, rename, fsync of the folder."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        _write_new(temp, data)
        logger.debug("wrote %d bytes to %s and synced them", len(data), temp.name)
        os.replace(temp, path)
        _fsync_folder(path.parent)
        logger.debug("renamed it to %s and synced the folder", path)
    except OSError as err:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise _problem("write", path, err) from None


def _write_new(temp: Path, data: bytes) -> None:
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_keeping_backup(path: Path, old: bytes, new: bytes) -> None:
    """Write `old` as the backup, then `new` as the vault; each step atomic on its own. The
    backup goes first: a writer killed in between leaves the vault as it was."""
    logger.debug("keeping the previous version (%d bytes) as the backup", len(old))
    write_atomic(backup_path(path), old)
    write_atomic(path, new)
