"""Bitwarden vault exports: JSON, CSV, and the password-protected JSON.

JSON: `{encrypted: false, folders, items: [{type, name, login: {username, password, totp,
uris}}]}`; CSV: a header row with `name`, `login_username` and `login_totp` among its columns.
`totp` holds an otpauth URI, a bare base32 secret (Bitwarden's defaults: SHA1, 6 digits, 30 s;
named by the item name and user name), or `steam://SECRET` (Steam Guard). Items without a
`totp` are passwords only and are not mentioned.

Password-protected (Bitwarden's `export_encrypted_json`): `{encrypted: true, passwordProtected:
true, salt, kdfType, kdfIterations, kdfMemory, kdfParallelism, encKeyValidation_DO_NOT_EDIT,
data}`. The key is PBKDF2-HMAC-SHA256 (kdfType 0) of the password with the salt text as bytes,
or Argon2id (kdfType 1) with salt SHA-256(salt text), memory in MiB; it is stretched with
HKDF-Expand-SHA256 into an encryption key (info "enc") and a MAC key (info "mac"). Both fields
are EncStrings of type 2: `2.base64(iv)|base64(ciphertext)|base64(mac)`, AES-256-CBC with PKCS#7
padding, HMAC-SHA256 over iv + ciphertext. The validation field tells a wrong password from a
damaged `data`. Exports encrypted with the account key ("account restricted") cannot be opened
outside that account and are refused with that reason.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from typing import Any

from hwotp.credential import STEAM_ISSUER, Credential, Kind, display_name
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Collector,
    Imported,
    PasswordSource,
    Source,
    argon2id,
    ask_password,
    base32_secret,
    bounded,
    credential,
    damaged,
    entry_name,
    load_inner_json,
    pbkdf2,
    steam_credential,
    text_field,
    unbase64,
    utf8,
    wrong_password,
)
from hwotp.formats.imports.otpauth_list import add_uri, uri_name

LABEL = "Bitwarden"
_LOGIN = 1
_PBKDF2, _ARGON2ID = 0, 1
_CSV_COLUMN = "login_totp"


def matches(source: Source) -> bool:
    document = source.json
    if isinstance(document, dict):
        return "items" in document or "encKeyValidation_DO_NOT_EDIT" in document
    text = source.text
    return text is not None and _CSV_COLUMN in text.partition("\n")[0]


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    if not source.looks_like_json:
        return _csv(source.text)
    document = source.json_object(LABEL)
    if document.get("encrypted") is True:
        if document.get("passwordProtected") is not True:
            raise InputError(
                f"this {LABEL} export is encrypted with the account's key and opens only in that"
                " account; export it again as password protected or unencrypted"
            )
        return _items(_decrypt(document, password), encrypted=True)
    if "items" not in document:
        raise InputError(f"this is not a {LABEL} export: it has no items")
    return _items(document, encrypted=False)


# --- plain JSON and CSV ------------------------------------------------------------------------


def _items(document: object, *, encrypted: bool) -> Imported:
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        damaged(LABEL, "it has no list of items")
    collector = Collector(LABEL)
    for index, item in enumerate(document["items"], start=1):
        if not isinstance(item, dict):
            damaged(LABEL, f"item {index} is not an object")
        login = item.get("login")
        if item.get("type", _LOGIN) != _LOGIN or not isinstance(login, dict):
            continue
        name, username = text_field(item, "name"), text_field(login, "username")
        _add(collector, login.get("totp"), name, username, index)
    return _result(collector, encrypted)


def _csv(text: str | None) -> Imported:
    if text is None or _CSV_COLUMN not in text.partition("\n")[0]:
        raise InputError(
            f"this is not a {LABEL} export: it is neither JSON nor CSV with login_totp"
        )
    collector = Collector(LABEL)
    try:
        rows = csv.DictReader(io.StringIO(text, newline=""))
        for index, row in enumerate(rows, start=1):
            name, username = row.get("name") or "", row.get("login_username") or ""
            _add(collector, row.get(_CSV_COLUMN), name, username, index)
    except csv.Error:
        damaged(LABEL, "its CSV cannot be read")
    return _result(collector, encrypted=False)


def _result(collector: Collector, encrypted: bool) -> Imported:
    if not collector.credentials and not collector.refusals:
        raise InputError(f"this {LABEL} export holds no item with a TOTP secret")
    return collector.result(encrypted=encrypted)


def _add(collector: Collector, totp: object, item_name: str, username: str, index: int) -> None:
    if not isinstance(totp, str) or not totp.strip():
        return
    value = totp.strip()
    fallback = entry_name(item_name, username, index)
    if value[:10].lower() == "otpauth://":
        add_uri(collector, value, uri_name(value) or fallback)
    elif value[:8].lower() == "steam://":
        account = username or item_name
        collector.entry(
            display_name(STEAM_ISSUER, account),
            lambda: steam_credential(base32_secret(value[8:]), account),
        )
    else:
        collector.entry(fallback, lambda: _bare_secret(value, item_name, username))


def _bare_secret(value: str, item_name: str, username: str) -> Credential:
    return credential(
        secret=base32_secret(value), issuer=item_name, account=username, kind=Kind.TOTP
    )


# --- password-protected JSON -------------------------------------------------------------------


def _decrypt(document: dict[str, Any], password: PasswordSource | None) -> Any:
    salt = document.get("salt")
    if not isinstance(salt, str) or not salt:
        damaged(LABEL, "its salt is missing")
    validation = _enc_string(document.get("encKeyValidation_DO_NOT_EDIT"), "validation field")
    data = _enc_string(document.get("data"), "data")
    derive = _kdf(document)  # parameters checked before the password is asked for
    enc_key, mac_key = _stretch(derive(ask_password(password, LABEL).encode("utf-8"), salt))
    if _open(validation, enc_key, mac_key) is None:
        wrong_password(LABEL)
    plaintext = _open(data, enc_key, mac_key)
    if plaintext is None:
        damaged(LABEL, "its data fails its integrity check")
    return load_inner_json(utf8(plaintext, LABEL), LABEL)


def _kdf(document: dict[str, Any]) -> Any:
    kdf_type = document.get("kdfType")
    if kdf_type == _PBKDF2:
        iterations = bounded(
            document.get("kdfIterations"), "PBKDF2 iterations", LABEL, 5_000, 5_000_000
        )
        return lambda secret, salt: pbkdf2("sha256", secret, salt.encode("utf-8"), iterations)
    if kdf_type == _ARGON2ID:
        # Bitwarden's own limits: 2..10 passes, 16..1024 MiB, 1..16 lanes.
        iterations = bounded(document.get("kdfIterations"), "Argon2 iterations", LABEL, 2, 10)
        memory = bounded(document.get("kdfMemory"), "Argon2 memory (MiB)", LABEL, 16, 1024)
        lanes = bounded(document.get("kdfParallelism"), "Argon2 parallelism", LABEL, 1, 16)
        return lambda secret, salt: argon2id(
            secret, hashlib.sha256(salt.encode("utf-8")).digest(), iterations, memory * 1024, lanes
        )
    damaged(LABEL, "its kdfType is neither 0 (PBKDF2) nor 1 (Argon2id)")


def _stretch(key: bytes) -> tuple[bytes, bytes]:
    """HKDF-Expand (RFC 5869) without the extract step, as Bitwarden stretches a KDF key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    def expand(info: bytes) -> bytes:
        return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(key)

    return expand(b"enc"), expand(b"mac")


def _enc_string(value: object, what: str) -> tuple[bytes, bytes, bytes]:
    """(iv, ciphertext, mac) of a type 2 EncString."""
    if not isinstance(value, str) or not value.startswith("2."):
        damaged(LABEL, f"its {what} is not an AES-CBC + HMAC encrypted string (type 2)")
    parts = value[2:].split("|")
    if len(parts) != 3:
        damaged(LABEL, f"its {what} does not have three parts")
    iv, ciphertext, mac = (unbase64(part, what, LABEL) for part in parts)
    if len(iv) != 16 or len(mac) != 32 or not ciphertext or len(ciphertext) % 16:
        damaged(LABEL, f"its {what} has parts of the wrong length")
    return iv, ciphertext, mac


def _open(sealed: tuple[bytes, bytes, bytes], enc_key: bytes, mac_key: bytes) -> bytes | None:
    """The plaintext of an EncString, or None when its MAC or padding is wrong."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv, ciphertext, mac = sealed
    expected = hmac.new(mac_key, iv + ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, mac):
        return None
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None
