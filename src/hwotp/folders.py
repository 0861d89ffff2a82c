"""Where hwotp keeps its files: the user's config, data and cache folders (`hwotp` in each).

platformdirs decides them. On Linux they follow the XDG base directory rules, which are worked
out here for the usual case (an absolute XDG_*_HOME, else an absolute HOME): the same paths,
without importing platformdirs, which loads tempfile and shutil, several milliseconds of every
`hwotp code`. Anything else (another system, Android, no usable HOME) asks platformdirs; a test
compares both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "hwotp"


def config_folder() -> Path:
    """The user config folder (~/.config/hwotp on Linux)."""
    return _xdg("XDG_CONFIG_HOME", ".config") or _platformdirs("user_config_path")


def data_folder() -> Path:
    """The user data folder (~/.local/share/hwotp on Linux): the vault's default place."""
    return _xdg("XDG_DATA_HOME", ".local/share") or _platformdirs("user_data_path")


def cache_folder() -> Path:
    """HWOTP_CACHE_DIR, else the user cache folder (~/.cache/hwotp on Linux): the key cache,
    the vault generations seen and the notes shown once. A relative HWOTP_CACHE_DIR is ignored,
    as XDG ignores a relative folder: it would be another folder in every working directory,
    and the generations seen (rollback checks) with it."""
    given = os.environ.get("HWOTP_CACHE_DIR", "")
    if os.path.isabs(given):
        return Path(given)
    return _xdg("XDG_CACHE_HOME", ".cache") or _platformdirs("user_cache_path")


def _xdg(variable: str, under_home: str) -> Path | None:
    """The XDG rule: the variable when it is an absolute path (a relative one is ignored),
    else `under_home` in HOME, spelled as `os.path.expanduser` spells it."""
    android = hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ
    if sys.platform != "linux" or android:
        return None
    base = os.environ.get(variable, "")
    if os.path.isabs(base):
        return Path(base) / APP
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return Path(home.rstrip("/") + "/" + under_home) / APP
    return None


def _platformdirs(function: str) -> Path:
    import platformdirs

    folder: Path = getattr(platformdirs, function)(APP, appauthor=False)
    return folder
