"""FreeOTP+ JSON exports.

Layout (FreeOTP+'s `SavedTokens`, the legacy token list it exports): `{tokenOrder: [...],
tokens: [{algo, counter, digits, issuerExt, issuerInt, label, period, secret, type (TOTP |
HOTP)}]}`, the secret a JSON array of signed bytes (-128..127). FreeOTP+ computes Steam Guard
codes for a token whose issuer is "Steam", so such a token is kept as one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hwotp.credential import STEAM_ISSUER, Credential, Kind
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Collector,
    EntryRefused,
    Imported,
    PasswordSource,
    Source,
    algorithm,
    credential,
    damaged,
    describe,
    entry_name,
    number,
    objects,
    steam_credential,
    text_field,
)

LABEL = "FreeOTP+"
_KINDS = {"TOTP": Kind.TOTP, "HOTP": Kind.HOTP}


def matches(source: Source) -> bool:
    document = source.json
    return isinstance(document, dict) and isinstance(document.get("tokens"), list)


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    document = source.json_object(LABEL)
    if "tokens" not in document:
        raise InputError(f"this is not a {LABEL} export: it has no tokens")
    collector = Collector(LABEL)
    for index, token in objects(document["tokens"], "tokens", LABEL):
        if not isinstance(token, dict):
            damaged(LABEL, f"token {index} is not an object")
        name = entry_name(token.get("issuerExt"), token.get("label"), index)
        collector.entry(name, partial(_credential, token))
    return collector.result(encrypted=False)


def _credential(token: dict[str, Any]) -> Credential:
    issuer = text_field(token, "issuerExt")
    if issuer == STEAM_ISSUER:  # FreeOTP+ gives Steam Guard codes for these
        return steam_credential(_signed_bytes(token.get("secret")), text_field(token, "label"))
    type_text = token.get("type")
    if type_text not in _KINDS:
        raise EntryRefused(f"the OTP type {describe(type_text)} is not supported")
    return credential(
        secret=_signed_bytes(token.get("secret")),
        issuer=issuer,
        account=text_field(token, "label"),
        kind=_KINDS[type_text],
        algorithm=algorithm(token.get("algo")),
        digits=number(token.get("digits"), "digits", 6),
        period=number(token.get("period"), "period", 30),
        counter=number(token.get("counter"), "counter", 0),
    )


def _signed_bytes(value: object) -> bytes:
    """Java's signed bytes as JSON numbers; 128..255 are accepted as the same bytes."""
    if not isinstance(value, list) or not value:
        raise EntryRefused("the secret is missing")
    if not all(isinstance(b, int) and not isinstance(b, bool) and -128 <= b <= 255 for b in value):
        raise EntryRefused("the secret is not a list of bytes")
    return bytes(b & 0xFF for b in value)
