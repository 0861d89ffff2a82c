"""Aegis Authenticator vault exports (JSON), plain and encrypted.

Layout (Aegis `docs/vault.md`): `{version: 1, header: {slots, params: {nonce, tag}}, db}`.
Plain: `slots` and `params` are null and `db` is the content object. Encrypted: `db` is base64
of AES-256-GCM ciphertext under a random master key (nonce and tag hex in `header.params`); each
slot wraps the master key with AES-256-GCM (`key`, `key_params {nonce, tag}`, hex). Password
slots (type 1) derive their key with scrypt (`n`, `r`, `p`, 32-byte hex `salt`; Aegis writes
N 2^15, r 8, p 1); biometric slots (type 2) are bound to the phone and skipped. Content:
`{version, entries: [{type, uuid, name, issuer, info: {secret (base32), algo, digits, period |
counter}}]}`; types totp, hotp, steam, yandex (and motp in newer versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from hwotp.credential import Credential, Kind
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    MOTP,
    YANDEX,
    Collector,
    EntryRefused,
    Imported,
    PasswordSource,
    Source,
    aes_gcm_open,
    algorithm,
    ask_password,
    base32_secret,
    bounded,
    credential,
    damaged,
    describe,
    entry_name,
    load_inner_json,
    number,
    objects,
    scrypt,
    steam_credential,
    text_field,
    unbase64,
    unhex,
    utf8,
    wrong_password,
)

LABEL = "Aegis"
_PASSWORD_SLOT = 1
_MAX_PASSWORD_SLOTS = 4  # each costs an scrypt run; Aegis writes one
_MAX_SCRYPT_BYTES = 2**30
_KINDS = {"totp": Kind.TOTP, "hotp": Kind.HOTP}
_STEAM = "steam"
_REFUSED = {"yandex": YANDEX, "motp": MOTP}


def matches(source: Source) -> bool:
    document = source.json
    return isinstance(document, dict) and "header" in document and "db" in document


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    document = source.json_object(LABEL)
    if "header" not in document or "db" not in document:
        raise InputError(f"this is not an {LABEL} export: it has no header and db")
    if document.get("version") != 1:
        raise InputError(f"this {LABEL} export has a version hwotp does not know (it reads 1)")
    db = document["db"]
    if isinstance(db, dict):
        return _entries(db, encrypted=False)
    if isinstance(db, str):
        header = document["header"]
        if not isinstance(header, dict):
            damaged(LABEL, "its header is not an object")
        return _entries(_decrypt(header, db, password), encrypted=True)
    damaged(LABEL, "its db is neither an object nor encrypted text")


def _decrypt(header: dict[str, Any], db: str, password: PasswordSource | None) -> Any:
    slots = [_PasswordSlot.read(slot) for slot in _password_slots(header.get("slots"))]
    params = header.get("params")
    if not isinstance(params, dict):
        damaged(LABEL, "its header has no params")
    nonce = unhex(params.get("nonce"), "nonce", LABEL, 12)
    tag = unhex(params.get("tag"), "tag", LABEL, 16)
    content = unbase64(db, "db", LABEL)
    secret = ask_password(password, LABEL).encode("utf-8")
    master_key = next((key for slot in slots if (key := slot.unwrap(secret)) is not None), None)
    if master_key is None:
        wrong_password(LABEL)
    plaintext = aes_gcm_open(master_key, nonce, content + tag)
    if plaintext is None:
        damaged(LABEL, "its entries fail their integrity check")
    return load_inner_json(utf8(plaintext, LABEL), LABEL)


def _password_slots(slots: object) -> list[dict[str, Any]]:
    if not isinstance(slots, list):
        damaged(LABEL, "its header has no list of slots")
    chosen = [s for s in slots if isinstance(s, dict) and s.get("type") == _PASSWORD_SLOT]
    if not chosen:
        raise InputError(
            f"this {LABEL} export can only be opened with the phone's biometrics;"
            " export it again from Aegis with a password"
        )
    if len(chosen) > _MAX_PASSWORD_SLOTS:
        damaged(LABEL, f"it has more than {_MAX_PASSWORD_SLOTS} password slots")
    return chosen


@dataclass(frozen=True)
class _PasswordSlot:
    """A password slot, its scrypt parameters checked before any password is asked for."""

    n: int
    r: int
    p: int
    salt: bytes
    wrapped: bytes  # the encrypted master key followed by its tag
    nonce: bytes

    @classmethod
    def read(cls, slot: dict[str, Any]) -> _PasswordSlot:
        n = bounded(slot.get("n"), "scrypt N", LABEL, 2**10, 2**20)
        if n & (n - 1):
            damaged(LABEL, "its scrypt N is not a power of two")
        r = bounded(slot.get("r"), "scrypt r", LABEL, 1, 16)
        p = bounded(slot.get("p"), "scrypt p", LABEL, 1, 4)
        if 128 * n * r > _MAX_SCRYPT_BYTES:
            raise InputError(f"this {LABEL} export asks for more than 1 GiB of scrypt memory")
        key_params = slot.get("key_params")
        if not isinstance(key_params, dict):
            damaged(LABEL, "a password slot has no key_params")
        return cls(
            n=n,
            r=r,
            p=p,
            salt=unhex(slot.get("salt"), "slot salt", LABEL),
            wrapped=unhex(slot.get("key"), "slot key", LABEL, 32)
            + unhex(key_params.get("tag"), "slot tag", LABEL, 16),
            nonce=unhex(key_params.get("nonce"), "slot nonce", LABEL, 12),
        )

    def unwrap(self, secret: bytes) -> bytes | None:
        """The master key, or None if the password does not open this slot."""
        kek = scrypt(secret, self.salt, self.n, self.r, self.p)
        return aes_gcm_open(kek, self.nonce, self.wrapped)


def _entries(content: object, *, encrypted: bool) -> Imported:
    if not isinstance(content, dict):
        damaged(LABEL, "its contents are not an object")
    collector = Collector(LABEL)
    for index, entry in objects(content.get("entries"), "entries", LABEL):
        if not isinstance(entry, dict):
            damaged(LABEL, f"entry {index} is not an object")
        name = entry_name(entry.get("issuer"), entry.get("name"), index)
        collector.entry(name, partial(_credential, entry))
    return collector.result(encrypted=encrypted)


def _credential(entry: dict[str, Any]) -> Credential:
    kind_text = entry.get("type")
    kind_name = kind_text.lower() if isinstance(kind_text, str) else ""
    if kind_name in _REFUSED:
        raise EntryRefused(_REFUSED[kind_name])
    if kind_name not in _KINDS and kind_name != _STEAM:
        raise EntryRefused(f"the OTP type {describe(kind_text)} is not supported")
    info = entry.get("info")
    if not isinstance(info, dict):
        raise EntryRefused("its info (secret and settings) is missing")
    if kind_name == _STEAM:
        return steam_credential(base32_secret(info.get("secret")), text_field(entry, "name"))
    return credential(
        secret=base32_secret(info.get("secret")),
        issuer=text_field(entry, "issuer"),
        account=text_field(entry, "name"),
        kind=_KINDS[kind_name],
        algorithm=algorithm(info.get("algo")),
        digits=number(info.get("digits"), "digits", 6),
        period=number(info.get("period"), "period", 30),
        counter=number(info.get("counter"), "counter", 0),
    )
