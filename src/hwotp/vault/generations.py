"""The newest generation seen of each vault, kept outside the vault (in the user cache folder),
so that an older copy put in its place (a rollback: a restored backup, a sync conflict, or
someone replaying a file to have an HOTP code issued twice) is noticed.

Keyed by the vault's id (a random member of its authenticated payload), so that neither a
symbolic link to an older copy elsewhere nor a new vault made at the same path loses what was
seen; a file of an hwotp before ids has none and is keyed by its real path, which every
write also raises for such copies' sake. Nothing secret: an id or a path, and a count. A cache
that cannot be read or written only turns the check off; it never stops a command.
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


def last_seen(vault: Path, vault_id: str | None) -> int | None:
    """The newest generation of the vault `vault_id` (without one: of the file at `vault`)
    this user's hwotp has read or written, if any."""
    value = _read(cache_path()).get(_key(vault, vault_id))
    return value if type(value) is int and value >= 0 else None


def remember(vault: Path, vault_id: str | None, generation: int, *, newer_only: bool) -> None:
    """Record `generation` for the vault; with `newer_only`, only if it is newer than the one
    recorded (a reader), else in any case (a writer: what it wrote is the vault now). Under
    its path, only ever raised: an id-less older copy put there is measured against it."""
    path = cache_path()
    with contextlib.suppress(OSError, StorageError):
        file.make_private_folder(path.parent)
        with file.exclusive_lock(path, timeout=2.0):  # no entry is lost to a race
            known = _read(path)
            changed = _record(known, _key(vault, vault_id), generation, newer_only)
            if vault_id is not None:
                changed |= _record(known, _key(vault, None), generation, newer_only=True)
            if changed:
                file.write_atomic(path, json.dumps(known, indent=1, sort_keys=True).encode())


def _key(vault: Path, vault_id: str | None) -> str:
    return str(vault) if vault_id is None else f"id:{vault_id}"


def _record(known: dict[str, object], key: str, generation: int, newer_only: bool) -> bool:
    """Whether `known` changed."""
    previous = known.get(key)
    if previous == generation or (newer_only and type(previous) is int and previous > generation):
        return False
    known[key] = generation
    return True


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # absent, unreadable or not JSON
        return {}
    return data if isinstance(data, dict) else {}
