"""The config file: defaults a user sets once (TOML in the user config folder, or HWOTP_CONFIG).

Every setting is a default only: the options on the command line override it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from hwotp.errors import InputError
from hwotp.folders import cache_folder, config_folder, data_folder

FILE_NAME = "config.toml"
VAULT_NAME = "vault.hwotp"
EXAMPLE = """\
# hwotp settings; every one is optional and the command line overrides it.
vault = "~/secrets/vault.hwotp"  # the vault file (--vault, HWOTP_VAULT)
device = 12345678                # the YubiKey to use by default (--device)
keys = true                      # false: this machine has no YubiKeys, never look for one
use_vault = true                 # false: leave the vault out (--no-vault)
quiet = false                    # true: no notes about missing keys or a vault left out
next_within = 5                  # seconds: a code with less left comes with the next one
clipboard_clear = 45             # seconds after which --copy clears the clipboard (0: never)
"""


class Config(NamedTuple):
    vault: Path | None = None
    device: int | None = None
    keys: bool = True
    use_vault: bool = True
    quiet: bool = False
    next_within: float = 5.0
    clipboard_clear: float = 45.0


def config_path() -> Path:
    """HWOTP_CONFIG, else config.toml in the platform's user config folder."""
    given = os.environ.get("HWOTP_CONFIG")
    if given:
        return Path(given).expanduser()
    return config_folder() / FILE_NAME


def default_vault_path() -> Path:
    """`vault.hwotp` in the platform's user data folder: the vault unless --vault, HWOTP_VAULT
    or the config file names another. Here rather than in the vault package, so `hwotp code`
    with no vault file loads no vault code to learn that."""
    return data_folder() / VAULT_NAME


def load(path: Path | None = None) -> Config:
    """The settings in the file; none when it does not exist. A file that cannot be used is
    one sentence naming the file and the setting, never silently ignored."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"the config file {path} cannot be read ({error})") from None
    import tomllib  # only when there is a file: most runs have none

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"the config file {path} is not valid TOML ({error})") from None
    return _parsed(path, data)


def _parsed(path: Path, data: dict[str, Any]) -> Config:
    known = set(Config._fields)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"the config file {path} has an unknown setting: {unknown[0]} "
                         f"(known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for name, value in data.items():
        values[name] = _checked(path, name, value)
    return Config(**values)


def _checked(path: Path, name: str, value: object) -> object:
    def wrong(expected: str) -> InputError:
        return InputError(f"the config file {path} sets {name} to something other than "
                          f"{expected}")

    if name == "vault":
        if not isinstance(value, str) or not value:
            raise wrong("a file path")
        return Path(value).expanduser()
    if name == "device":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise wrong("a key's serial number")
        return value
    if name in {"keys", "use_vault", "quiet"}:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise wrong("a number of seconds")
    return float(value)


def shown(config: Config) -> str:
    """The settings in effect, as TOML."""
    lines = []
    for name, value in config._asdict().items():
        if value is None:
            lines.append(f"# {name} is not set")
        else:
            lines.append(f"{name} = {_toml(value)}")
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return json.dumps(str(value))  # a TOML basic string is a JSON string
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---- notes shown once per situation ------------------------------------------------------------

NOTES_FILE = "notes.json"


def first_time(topic: str, situation: str) -> bool:
    """Whether `situation` (a sentence) is new for `topic` since it was last noted; remembers
    it in the cache folder. A cache that cannot be written means the note is shown again."""
    path = cache_folder() / NOTES_FILE
    try:
        seen = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seen = {}
    if not isinstance(seen, dict):
        seen = {}
    if seen.get(topic) == situation:
        return False
    seen[topic] = situation
    _write(path, seen)
    return True


def forget(topic: str) -> None:
    """The situation is over (a key answered): the next time it happens is noted again."""
    path = cache_folder() / NOTES_FILE
    try:
        seen = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(seen, dict) and topic in seen:
        del seen[topic]
        _write(path, seen)


def _write(path: Path, seen: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + f".{os.getpid()}")
        staging.write_text(json.dumps(seen), encoding="utf-8")
        staging.replace(path)
    except OSError:
        pass

