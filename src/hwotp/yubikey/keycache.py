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

from hwotp.yubikey.info import KeyInfo

FILE_NAME = "keys.json"


def cache_path() -> Path:
    folder = os.environ.get("HWOTP_CACHE_DIR")
    if folder:
        return Path(folder) / FILE_NAME
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hwotp")) / FILE_NAME


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
    path = cache_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        staging.write_text(json.dumps(known, indent=1), encoding="utf-8")
        staging.replace(path)


def _read() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, absurdly nested
        return {}
    return data if isinstance(data, dict) else {}


def seen_any() -> bool:
    """Whether hwotp has read a YubiKey here before: `doctor`'s sign that keys are used."""
    return bool(_read())
