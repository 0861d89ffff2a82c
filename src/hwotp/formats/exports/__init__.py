"""What the vault holds, written in formats other apps read: Aegis's encrypted vault (phone
apps), PSKC with a passphrase (`ykman oath accounts import`), a plain list of otpauth URIs.

Pure: credentials (and a password) in, the file's bytes out; the command line writes the file.
Ciphers and python-pskc load only inside the writer that needs them. May import the model and
`hwotp.formats.otpauth`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hwotp.credential import Credential
from hwotp.formats.exports import aegis, otpauth_list, pskc

__all__ = ["EXPORTS", "Export", "export_names", "write_export"]


@dataclass(frozen=True)
class Export:
    name: str  # as given to `--to`
    label: str  # as people call it
    encrypted: bool  # takes a password; else the file holds the secrets in clear
    write: Callable[[Sequence[Credential], str], bytes]


def _plain(credentials: Sequence[Credential], _password: str) -> bytes:
    return otpauth_list.write(credentials)


EXPORTS = (
    Export("aegis", aegis.LABEL, True, aegis.write),
    Export("pskc", pskc.LABEL, True, pskc.write),
    Export("otpauth", otpauth_list.LABEL, False, _plain),
)
_BY_NAME = {export.name: export for export in EXPORTS}


def export_names() -> tuple[str, ...]:
    return tuple(export.name for export in EXPORTS)


def named(name: str) -> Export:
    return _BY_NAME[name]


def write_export(credentials: Sequence[Credential], name: str, password: str = "") -> bytes:
    """The bytes of an export in the format `name`; `password` for the encrypted ones."""
    export = _BY_NAME[name]
    if export.encrypted and not password:
        raise ValueError(f"a {export.label} export needs a password")
    return export.write(credentials, password)
