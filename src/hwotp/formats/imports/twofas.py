"""2FAS Authenticator backups (`.2fas`, JSON), plain and encrypted, schema versions up to 4.

Layout (2FAS's backup model `BackupContent`, and the files Aegis tests its importer with):
`{services: [{name, secret (base32), otp: {link, label, account, issuer, digits, period,
algorithm, tokenType (TOTP | HOTP | STEAM), counter}}], groups, schemaVersion, ...}`. Version 3
writes `otp.label` as `issuer:account`, version 4 as the account alone; both carry `account`.
Encrypted: `services` is empty and `servicesEncrypted` is `base64(ciphertext + tag) :
base64(salt) : base64(iv)`; the key is PBKDF2-HMAC-SHA256 of the password (10,000 iterations,
256 bits, the 256-byte salt), the cipher AES-256-GCM with a 12-byte IV. `reference` is a known
text encrypted the same way (same salt, its own IV): it tells a wrong password from damage.
"""

from __future__ import annotations

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
    unbase64,
    utf8,
    wrong_password,
)

LABEL = "2FAS"
ITERATIONS = 10_000
_NEWEST_SCHEMA = 4
_KINDS = {"TOTP": Kind.TOTP, "HOTP": Kind.HOTP}


def matches(source: Source) -> bool:
    document = source.json
    return isinstance(document, dict) and (
        "servicesEncrypted" in document or ("services" in document and "schemaVersion" in document)
    )


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    document = source.json_object(LABEL)
    version = document.get("schemaVersion")
    if "services" not in document and "servicesEncrypted" not in document:
        raise InputError(f"this is not a {LABEL} backup: it has no services")
    if isinstance(version, int) and not isinstance(version, bool) and version > _NEWEST_SCHEMA:
        raise InputError(
            f"this {LABEL} backup has schema version {version}; hwotp reads versions up to"
            f" {_NEWEST_SCHEMA}"
        )
    encrypted = document.get("servicesEncrypted")
    if encrypted:
        services = _decrypt(encrypted, document.get("reference"), password)
        return _services(services, encrypted=True)
    return _services(document.get("services"), encrypted=False)


def _parts(value: object, what: str) -> tuple[bytes, bytes, bytes]:
    """(ciphertext + tag, salt, iv) of one `data:salt:iv` field."""
    if not isinstance(value, str) or value.count(":") != 2:
        damaged(LABEL, f"its {what} is not data:salt:iv")
    data, salt, iv = value.split(":")
    return (
        unbase64(data, what, LABEL),
        unbase64(salt, f"{what} salt", LABEL),
        unbase64(iv, f"{what} IV", LABEL, 12),
    )


def _decrypt(encrypted: object, reference: object, password: PasswordSource | None) -> Any:
    data, salt, iv = _parts(encrypted, "servicesEncrypted")
    checked = _parts(reference, "reference") if reference else None
    key = pbkdf2("sha256", ask_password(password, LABEL).encode("utf-8"), salt, ITERATIONS)
    if checked is not None:
        reference_data, reference_salt, reference_iv = checked
        if reference_salt != salt:
            damaged(LABEL, "its reference and services use different salts")
        if aes_gcm_open(key, reference_iv, reference_data) is None:
            wrong_password(LABEL)
    plaintext = aes_gcm_open(key, iv, data)
    if plaintext is None:
        if checked is not None:
            damaged(LABEL, "its services fail their integrity check")
        wrong_password(LABEL, or_damaged=True)
    return load_inner_json(utf8(plaintext, LABEL), LABEL)


def _services(services: object, *, encrypted: bool) -> Imported:
    collector = Collector(LABEL)
    for index, service in objects(services, "services", LABEL):
        if not isinstance(service, dict):
            damaged(LABEL, f"service {index} is not an object")
        otp = service.get("otp")
        otp = otp if isinstance(otp, dict) else {}
        issuer, account = _name(service, otp)
        name = entry_name(issuer, account, index)
        collector.entry(name, partial(_credential, service, otp, issuer, account))
    return collector.result(encrypted=encrypted)


def _name(service: dict[str, Any], otp: dict[str, Any]) -> tuple[str, str]:
    """The service name is what 2FAS shows (and the user may have edited): the issuer."""
    issuer = text_field(service, "name") or text_field(otp, "issuer")
    account = text_field(otp, "account")
    if not account:
        label = text_field(otp, "label")
        prefix, colon, rest = label.partition(":")
        account = rest if colon and prefix.strip() == issuer.strip() else label
    return issuer, account


def _credential(
    service: dict[str, Any], otp: dict[str, Any], issuer: str, account: str
) -> Credential:
    token_type = otp.get("tokenType") or "TOTP"
    if token_type == "STEAM":
        return steam_credential(base32_secret(service.get("secret")), account)
    if token_type not in _KINDS:
        raise EntryRefused(f"the OTP type {describe(token_type)} is not supported")
    return credential(
        secret=base32_secret(service.get("secret")),
        issuer=issuer,
        account=account,
        kind=_KINDS[token_type],
        algorithm=algorithm(otp.get("algorithm")),
        digits=number(otp.get("digits"), "digits", 6),
        period=number(otp.get("period"), "period", 30),
        counter=number(otp.get("counter"), "counter", 0),
    )
