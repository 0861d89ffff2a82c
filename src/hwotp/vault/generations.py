"""The newest generation seen of each vault, kept outside the vault (in the user cache folder),
so that an older copy put in its place (a rollback: a restored backup, a sync conflict, or
someone replaying a file to have an HOTP code issued twice) is noticed.

Keyed by the vault's real path. Nothing secret: a path and a count. A cache that cannot be read
or written only turns the check off; it never stops a command.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hwotp.errors import StorageError
from hwotp.folders import cache_folder
from hwotp.vault import file

FILE_NAME = "vault-generations.json"


def cache_path() -> Path:
    """Beside the key cache: HWOTP_CACHE_DIR, else the platform's user cache folder."""
    return cache_folder() / FILE_NAME


def last_seen(vault: Path) -> int | None:
    """The newest generation of `vault` this user's hwotp has read or written, if any."""
    value = _read(cache_path()).get(str(vault))
    return value if type(value) is int and value >= 0 else None


def remember(vault: Path, generation: int, *, newer_only: bool) -> None:
    """Record `generation` for `vault`; with `newer_only`, only if it is newer than the one
    recorded (a reader), else in any case (a writer: what it wrote is the vault now)."""
    path = cache_path()
    with contextlib.suppress(OSError, StorageError):
        file.make_private_folder(path.parent)
        with file.exclusive_lock(path, timeout=2.0):  # no entry is lost to a race
            known = _read(path)
            previous = known.get(str(vault))
            if newer_only and type(previous) is int and previous >= generation:
                return
            known[str(vault)] = generation
            file.write_atomic(path, json.dumps(known, indent=1, sort_keys=True).encode())


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # absent, unreadable or not JSON
        return {}
    return data if isinstance(data, dict) else {}
