"""andOTP backups: a JSON array, plain or encrypted.

Layout (andOTP's `Entry.toJSON`): `[{secret (base32), issuer, label, digits, type (TOTP | HOTP
| STEAM), algorithm, period | counter, tags, thumbnail, ...}]`; backups from before issuers had
their own field hold `label` only.

Encrypted (`.json.aes`, andOTP's `BackupHelper`): `iterations (4 bytes, big-endian) | salt (12)
| nonce (12) | ciphertext | tag (16)`, the key PBKDF2-HMAC-SHA1 of the password (256 bits; andOTP
picks 140,000 to 160,000 iterations), the cipher AES-256-GCM. The old format is `nonce (12) |
ciphertext | tag (16)` keyed with SHA-256 of the password. Nothing in the file says which it
is, so the new format is tried first (when its iteration count is plausible), then the old.
GCM cannot tell a wrong password from a modified file, so the refusal names both.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

from hwotp.credential import Credential, Kind
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Collector,
    EntryRefused,
    Imported,
    PasswordSource,
    Source,
    aes_gcm_open,
    algorithm,
    ask_password,
    base32_secret,
    credential,
    damaged,
    describe,
    entry_name,
    load_inner_json,
    number,
    objects,
    pbkdf2,
    steam_credential,
    text_field,
    utf8,
    wrong_password,
)

LABEL = "andOTP"
_INT, _SALT, _NONCE, _TAG = 4, 12, 12, 16
MAX_ITERATIONS = 2_000_000  # andOTP writes 140,000..160,000; more would only cost time
_KINDS = {"TOTP": Kind.TOTP, "HOTP": Kind.HOTP}
# Image formats and archives that are not encrypted backups, by their first bytes.
_NOT_BACKUPS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"%PDF": "a PDF document",
    b"SQLite format 3": "an SQLite database",
}


def matches(source: Source) -> bool:
    """A JSON array of entries, or binary data (the only binary format hwotp reads) that is not
    a text file with a damaged byte."""
    document = source.json
    if isinstance(document, list):
        return all(isinstance(entry, dict) and "secret" in entry for entry in document)
    return source.text is None and not source.mostly_text


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    if source.text is None:
        return _entries(_decrypt(source.data, password), encrypted=True)
    document = source.json_document(LABEL)
    if not isinstance(document, list):
        raise InputError(f"this is not an {LABEL} backup: it is not a JSON list")
    return _entries(document, encrypted=False)


def _decrypt(data: bytes, password: PasswordSource | None) -> Any:
    for magic, kind in _NOT_BACKUPS.items():
        if data.startswith(magic):
            raise InputError(f"this file is {kind}, not an authenticator export")
    if len(data) < _NONCE + _TAG + 1:
        damaged(LABEL, "it is too short to be an encrypted backup")
    secret = ask_password(password, LABEL).encode("utf-8")
    plaintext = _new_format(data, secret)
    if plaintext is None:
        # The old format: WARNING, a single SHA-256 is no KDF; read only, never written.
        plaintext = aes_gcm_open(hashlib.sha256(secret).digest(), data[:_NONCE], data[_NONCE:])
    if plaintext is None:
        wrong_password(LABEL, or_damaged=True)
    return load_inner_json(utf8(plaintext, LABEL), LABEL)


def _new_format(data: bytes, secret: bytes) -> bytes | None:
    iterations = int.from_bytes(data[:_INT], "big")
    body = data[_INT + _SALT :]
    if not 1 <= iterations <= MAX_ITERATIONS or len(body) < _NONCE + _TAG + 1:
        return None
    key = pbkdf2("sha1", secret, data[_INT : _INT + _SALT], iterations)
    return aes_gcm_open(key, body[:_NONCE], body[_NONCE:])


def _entries(document: object, *, encrypted: bool) -> Imported:
    collector = Collector(LABEL)
    for index, entry in objects(document, "entries", LABEL):
        if not isinstance(entry, dict):
            damaged(LABEL, f"entry {index} is not an object")
        issuer, account = _name(entry)
        name = entry_name(issuer, account, index)
        collector.entry(name, partial(_credential, entry, issuer, account))
    return collector.result(encrypted=encrypted)


def _name(entry: dict[str, Any]) -> tuple[str, str]:
    label = text_field(entry, "label")
    if "issuer" in entry:
        return text_field(entry, "issuer"), label
    # Old backups: "Issuer - account" in the label, as Aegis's importer reads them.
    issuer, dash, account = label.partition(" - ")
    return (issuer, account) if dash else ("", label)


def _credential(entry: dict[str, Any], issuer: str, account: str) -> Credential:
    type_text = entry.get("type") or "TOTP"
    kind_name = type_text.upper() if isinstance(type_text, str) else ""
    if kind_name == "STEAM":
        return steam_credential(base32_secret(entry.get("secret")), account)
    if kind_name not in _KINDS:
        raise EntryRefused(f"the OTP type {describe(type_text)} is not supported")
    return credential(
        secret=base32_secret(entry.get("secret")),
        issuer=issuer,
        account=account,
        kind=_KINDS[kind_name],
        algorithm=algorithm(entry.get("algorithm")),
        digits=number(entry.get("digits"), "digits", 6),
        period=number(entry.get("period"), "period", 30),
        counter=number(entry.get("counter"), "counter", 0),
    )
