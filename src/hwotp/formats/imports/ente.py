"""Ente Auth exports: the plain one is a text file of otpauth URIs (read by `otpauth_list`,
under Ente's name when `--from ente` is given); the encrypted one is JSON.

Encrypted layout (Ente's `docs/auth/migration/export.md` and its `EnteAuthExport` model):
`{version: 1, kdfParams: {memLimit, opsLimit, salt}, encryptedData, encryptionNonce}`, base64.
The key is libsodium's `crypto_pwhash` Argon2id13 (32 bytes; `memLimit` in bytes, `opsLimit`
passes, one lane) of the password with the 16-byte salt. `encryptedData` is one message of
libsodium's `crypto_secretstream_xchacha20poly1305` with `encryptionNonce` as its 24-byte header;
it decrypts to the plain export, one URI a line. libsodium comes through PyNaCl, which binds
both `crypto_pwhash` and `crypto_secretstream`. The AEAD cannot tell a wrong password from a
modified file, so the refusal names both.
"""

from __future__ import annotations

from typing import Any

from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Imported,
    PasswordSource,
    Source,
    ask_password,
    bounded,
    damaged,
    unbase64,
    utf8,
    wrong_password,
)
from hwotp.formats.imports.otpauth_list import read_lines

LABEL = "Ente Auth"
_HEADER_BYTES = 24
_SALT_BYTES = 16
# libsodium's own minimum is 8 KiB and 1 pass; Ente writes its "sensitive" or "interactive"
# limits (up to 1 GiB, 4 passes). More than that would only cost memory and time.
MEMORY_LIMITS = (8 * 1024, 1024 * 1024 * 1024)
PASS_LIMITS = (1, 10)


def matches(source: Source) -> bool:
    document = source.json
    return isinstance(document, dict) and "kdfParams" in document and "encryptedData" in document


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    if not source.looks_like_json:
        text = source.text
        if text is None:
            raise InputError(f"this is not an {LABEL} export: it is neither text nor JSON")
        return read_lines(text, LABEL, encrypted=False)
    document = source.json_object(LABEL)
    if "encryptedData" not in document:
        raise InputError(f"this is not an {LABEL} export: it has no encryptedData")
    if document.get("version") != 1:
        raise InputError(f"this {LABEL} export has a version hwotp does not know (it reads 1)")
    return read_lines(_decrypt(document, password), LABEL, encrypted=True)


def _decrypt(document: dict[str, Any], password: PasswordSource | None) -> str:
    params = document.get("kdfParams")
    if not isinstance(params, dict):
        damaged(LABEL, "its kdfParams are missing")
    memory = bounded(params.get("memLimit"), "Argon2 memory (bytes)", LABEL, *MEMORY_LIMITS)
    passes = bounded(params.get("opsLimit"), "Argon2 passes", LABEL, *PASS_LIMITS)
    salt = unbase64(params.get("salt"), "salt", LABEL, _SALT_BYTES)
    header = unbase64(document.get("encryptionNonce"), "encryptionNonce", LABEL, _HEADER_BYTES)
    sealed = unbase64(document.get("encryptedData"), "encryptedData", LABEL)
    if len(sealed) < 17:
        damaged(LABEL, "its encryptedData is too short")
    secret = ask_password(password, LABEL).encode("utf-8")
    return utf8(_open(_key(secret, salt, passes, memory), header, sealed), LABEL)


def _key(secret: bytes, salt: bytes, passes: int, memory: int) -> bytes:
    from nacl import pwhash

    return pwhash.argon2id.kdf(32, secret, salt, opslimit=passes, memlimit=memory)


def _open(key: bytes, header: bytes, sealed: bytes) -> bytes:
    from nacl import bindings
    from nacl.exceptions import CryptoError

    state = bindings.crypto_secretstream_xchacha20poly1305_state()
    bindings.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    try:
        message, tag = bindings.crypto_secretstream_xchacha20poly1305_pull(state, sealed, None)
    except CryptoError:
        wrong_password(LABEL, or_damaged=True)
    if tag not in (
        bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
        bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
    ):
        damaged(LABEL, "its encryptedData is not one whole message")
    return message
