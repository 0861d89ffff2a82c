"""PSKC (RFC 6030) protected with a passphrase, written with python-pskc as ykman writes it
(`ykman oath accounts add --output --pskc-passphrase`): PBKDF2 with python-pskc's defaults
derives the key that encrypts each secret (AES-CBC) and the MAC key. `ykman oath accounts
import FILE` and hwotp's `import` read it back.

Names are written so that ykman's import rules give them back exactly: the account is the key's
`Id` (ykman's name when nothing more specific is there), the issuer the `Issuer` element; no
`FriendlyName` and no `UserId`, which those rules would prefer and split or parse (a colon in
the issuer, a comma in the account would move).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from hwotp.credential import Credential, Kind

LABEL = "PSKC"
_ALGORITHM = "urn:ietf:params:xml:ns:keyprov:pskc:"


def write(credentials: Sequence[Credential], passphrase: str) -> bytes:
    from pskc import PSKC

    container = PSKC()
    container.encryption.setup_pbkdf2(passphrase)
    for credential in credentials:
        container.add_key(**_fields(credential))
    out = io.BytesIO()
    container.write(out)
    return out.getvalue()


def _fields(credential: Credential) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": credential.account,
        "secret": credential.secret,
        "algorithm": f"{_ALGORITHM}{credential.kind.value}",
        "algorithm_suite": credential.algorithm.value,
        "response_length": credential.digits,
        "response_encoding": "DECIMAL",
    }
    if credential.issuer:
        fields["issuer"] = credential.issuer
    if credential.kind is Kind.TOTP:
        fields["time_interval"] = credential.period
    else:
        fields["counter"] = credential.counter
    return fields
