"""Proton Authenticator exports (JSON), plain and password-protected.

Layout (Proton's `proton-authenticator` crate, `entry/exporter.rs`): `{version: 1, entries:
[{id, content: {uri, entry_type (Totp | Steam), name}, note}]}`; `uri` is an otpauth URI, or
`steam://SECRET` for Steam Guard entries.

Password-protected (`entry/password_exporter.rs`): `{version: 1, salt, content}`, both base64.
The key is Argon2id (version 0x13, 19 MiB = 19,456 KiB, 2 passes, 1 lane, 32 bytes) of the
password with the 16-byte salt; `content` is `nonce (12) | ciphertext | tag (16)` of AES-256-GCM
with the associated data `proton.authenticator.export.v1`, and decrypts to the plain export.
The parameters are fixed by the format, so a file cannot ask for more work. GCM cannot tell a
wrong password from a modified file, so the refusal names both.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from hwotp.credential import STEAM_ISSUER, Credential, display_name
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Collector,
    Imported,
    PasswordSource,
    Source,
    aes_gcm_open,
    argon2id,
    ask_password,
    base32_secret,
    damaged,
    entry_name,
    load_inner_json,
    objects,
    steam_credential,
    text_field,
    unbase64,
    utf8,
    wrong_password,
)
from hwotp.formats.imports.otpauth_list import add_uri, uri_name

LABEL = "Proton Authenticator"
AAD = b"proton.authenticator.export.v1"
ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES = 19 * 1024, 2, 1
_NONCE = 12


def matches(source: Source) -> bool:
    document = source.json
    if not isinstance(document, dict) or "version" not in document:
        return False
    return isinstance(document.get("entries"), list) or {"salt", "content"} <= document.keys()


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    document = source.json_object(LABEL)
    if document.get("version") != 1:
        raise InputError(f"this {LABEL} export has a version hwotp does not know (it reads 1)")
    if "entries" in document:
        return _entries(document, encrypted=False)
    if "salt" in document and "content" in document:
        return _entries(_decrypt(document, password), encrypted=True)
    raise InputError(f"this is not a {LABEL} export: it has neither entries nor content")


def _decrypt(document: dict[str, Any], password: PasswordSource | None) -> Any:
    salt = unbase64(document.get("salt"), "salt", LABEL, 16)
    sealed = unbase64(document.get("content"), "content", LABEL)
    if len(sealed) < _NONCE + 16 + 1:
        damaged(LABEL, "its content is too short")
    secret = ask_password(password, LABEL).encode("utf-8")
    key = argon2id(secret, salt, ARGON2_PASSES, ARGON2_MEMORY_KIB, ARGON2_LANES)
    plaintext = aes_gcm_open(key, sealed[:_NONCE], sealed[_NONCE:], AAD)
    if plaintext is None:
        wrong_password(LABEL, or_damaged=True)
    inner = load_inner_json(utf8(plaintext, LABEL), LABEL)
    if not isinstance(inner, dict) or inner.get("version") != 1:
        damaged(LABEL, "its decrypted contents are not a version 1 export")
    return inner


def _steam(uri: str, account: str) -> Credential:
    return steam_credential(base32_secret(uri[len("steam://") :]), account)


def _entries(document: dict[str, Any], *, encrypted: bool) -> Imported:
    collector = Collector(LABEL)
    for index, entry in objects(document.get("entries"), "entries", LABEL):
        content = entry.get("content") if isinstance(entry, dict) else None
        if not isinstance(content, dict):
            damaged(LABEL, f"entry {index} has no content")
        uri = text_field(content, "uri")
        name = uri_name(uri) if uri.lower().startswith("otpauth://") else ""
        name = name or entry_name("", content.get("name"), index)
        if uri.lower().startswith("steam://"):
            account = text_field(content, "name")
            collector.entry(display_name(STEAM_ISSUER, account),
                            partial(_steam, uri, account))
        elif not uri.lower().startswith("otpauth://"):
            collector.refuse(name, "it holds no otpauth:// URI")
        else:
            add_uri(collector, uri, name)
    return collector.result(encrypted=encrypted)
