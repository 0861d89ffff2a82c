"""Which key is which, remembered: OATH device id -> serial, firmware and form factor.

Nothing secret: a serial is printed on the key. It saves `hwotp code` the two APDUs (and the
re-select) that reading the management applet costs. A key reset gets a new device id, so a
stale entry is never used for another key. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from hwotp.folders import cache_folder
from hwotp.yubikey.info import KeyInfo

FILE_NAME = "keys.json"
FOLDER_MODE = 0o700


def cache_path() -> Path:
    return cache_folder() / FILE_NAME


def lookup(device_id: str, reader: str) -> KeyInfo | None:
    entry = _read().get(device_id)
    if not isinstance(entry, dict):
        return None
    try:
        serial, firmware = entry["serial"], entry["firmware"]
        valid = (
            isinstance(serial, int) and 0 < serial < 2**32
            and isinstance(firmware, list) and len(firmware) == 3
            and all(isinstance(part, int) and 0 <= part < 256 for part in firmware)
        )
        if not valid:
            return None  # a damaged or hand-edited cache: read the key instead
        return KeyInfo(serial, (firmware[0], firmware[1], firmware[2]),
                       str(entry["form_factor"]), reader)
    except (TypeError, KeyError):
        return None


def remember(device_id: str, info: KeyInfo) -> None:
    if info.serial is None:
        return
    known = _read()
    known[device_id] = {
        "serial": info.serial,
        "firmware": list(info.firmware),
        "form_factor": info.form_factor,
    }
    with contextlib.suppress(OSError):
        _write_private(cache_path(), json.dumps(known, indent=1).encode("utf-8"))


def _write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically: folder 0700 and file 0600 whatever the umask, through a
    temporary file that mkstemp names unpredictably and creates exclusively (no planted link
    is followed)."""
    import tempfile  # only for a write: `hwotp code` on a known key reads

    _make_private_folder(path.parent)
    fd, staging = tempfile.mkstemp(prefix=f".{FILE_NAME}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:  # mkstemp makes it 0600
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise


def _make_private_folder(folder: Path) -> None:
    """Create `folder` and its missing parents as 0700; of the folders already there, only
    the cache folder itself is closed, when it is this user's (an older hwotp left it open)."""
    missing = [part for part in (folder, *folder.parents) if not part.exists()]
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            part.mkdir(mode=FOLDER_MODE)
            os.chmod(part, FOLDER_MODE)  # mkdir's mode is reduced by the umask
    state = folder.stat()
    if state.st_uid == os.getuid() and state.st_mode & 0o077:
        os.chmod(folder, FOLDER_MODE)


def _read() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, absurdly nested
        return {}
    return data if isinstance(data, dict) else {}


def seen_any() -> bool:
    """Whether hwotp has read a YubiKey here before: `doctor`'s sign that keys are used."""
    return bool(_read())
