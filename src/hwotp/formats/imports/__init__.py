"""Authenticator exports read into credentials: one entry point, the format found from the
content, one module per app.

`read_export` returns an `Imported`: the credentials (parsed by the model's rules and hwotp's
URI rules) and a `Refusal` for every entry that cannot be kept, naming it and saying why. A file
that cannot be read at all raises: `InputError` naming what is wrong (never a value), or
`WrongPassphraseError` for a wrong password; nothing is returned for it. `password` is called
only when the file turns out to be encrypted, and at most once.

Pure: no I/O. Ciphers and KDFs (cryptography, libsodium through PyNaCl, python-pskc) load only
when a file needs them. May import the model and the other parsers of `hwotp.formats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from hwotp.errors import InputError, Remedy
from hwotp.formats.imports import (
    aegis,
    andotp,
    bitwarden,
    ente,
    freeotp,
    otpauth_list,
    proton,
    pskc,
    twofas,
)
from hwotp.formats.imports.common import Imported, PasswordSource, Refusal, Source

__all__ = ["FORMATS", "Imported", "PasswordSource", "Refusal", "read_export"]


@dataclass(frozen=True)
class Format:
    name: str  # as given to `--from`
    module: ModuleType

    @property
    def label(self) -> str:
        return str(self.module.LABEL)


# In the order detection tries them: the most specific structure first; andOTP last, as it
# takes any binary file (its encrypted backups have no marker at all).
FORMATS = (
    Format("aegis", aegis),
    Format("2fas", twofas),
    Format("bitwarden", bitwarden),
    Format("freeotp", freeotp),
    Format("proton", proton),
    Format("ente", ente),
    Format("pskc", pskc),
    Format("otpauth", otpauth_list),
    Format("andotp", andotp),
)
_BY_NAME = {f.name: f for f in FORMATS}
_ALIASES = {"freeotp+": "freeotp", "twofas": "2fas", "otpauth-list": "otpauth", "uris": "otpauth"}


def format_names() -> tuple[str, ...]:
    return tuple(f.name for f in FORMATS)


def read_export(
    data: bytes, *, format: str | None = None, password: PasswordSource | None = None
) -> Imported:
    """The credentials in an authenticator export, and a refusal for each entry not kept.

    `format` (a name of `FORMATS`) skips detection; `password` is asked only if needed.
    """
    source = Source(data)
    chosen = _named(format) if format else _detect(source)
    asked: list[str] = []

    def once() -> str:
        # A format may try its password on several slots or layouts: ask the user once.
        if not asked:
            if password is None:
                raise InputError(f"this {chosen.label} export is encrypted; its password is needed")
            asked.append(password())
        return asked[0]

    return chosen.module.read(source, once)


def _named(name: str) -> Format:
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _BY_NAME:
        raise InputError(f"unknown export format; hwotp reads {', '.join(format_names())}")
    return _BY_NAME[key]


def _detect(source: Source) -> Format:
    if not source.data.strip():
        raise InputError("the file is empty")
    for candidate in FORMATS:
        if candidate.module.matches(source):
            return candidate
    if source.text is None and source.mostly_text:
        raise InputError("the file is text with bytes that are not UTF-8: it may be damaged")
    if source.looks_like_json and source.json is None:
        problem = source.json_problem()
        raise InputError(f"the file looks like JSON but cannot be read: {problem}")
    raise InputError(
        "hwotp does not recognise this file as an authenticator export (it reads "
        f"{', '.join(format_names())})",
        remedy=Remedy.NAME_FORMAT,
    )
