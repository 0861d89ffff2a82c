"""PSKC files (RFC 6030, XML), plain and passphrase-protected, read with python-pskc.

This is the format `ykman oath accounts import` reads, and names are worked out as ykman does:
the key id, unless the friendly name holds `issuer:account`; then the `Issuer` element, and the
`CN` of the key's user id (or the user id itself). The algorithm URN gives HOTP or TOTP
(`urn:ietf:params:xml:ns:keyprov:pskc:hotp` / `:totp`), `Suite` the hash, `ResponseFormat
Length` the digits, `TimeInterval` the period, `Counter` the counter.

Passphrase protection (RFC 6030 section 6.2): PBKDF2 (the file gives salt, iteration count, key
length and PRF) derives the key that decrypts each secret (AES-CBC) and the MAC key; python-pskc
checks the MAC. A file encrypted with a pre-shared key instead of a passphrase is refused with
that reason. A wrong passphrase and a modified file look the same, so the refusal names both.
XML declarations of entities or document types are refused before parsing: PSKC needs neither.
"""

from __future__ import annotations

import io
import re
from functools import partial
from typing import Any

from hwotp.credential import Credential, Kind, display_name
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    Collector,
    EntryRefused,
    Imported,
    PasswordSource,
    Source,
    algorithm,
    ask_password,
    bounded,
    credential,
    damaged,
    describe,
    wrong_password,
)

LABEL = "PSKC"
_PREFIX = "urn:ietf:params:xml:ns:keyprov:pskc:"
_KINDS = {"hotp": Kind.HOTP, "totp": Kind.TOTP}
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_ITERATIONS = 10_000_000


def matches(source: Source) -> bool:
    text = source.text
    return text is not None and text.lstrip()[:1] == "<" and "KeyContainer" in text


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    from pskc import PSKC
    from pskc.exceptions import PSKCError

    if not matches(source):
        raise InputError(f"this is not a {LABEL} file: it has no KeyContainer")
    if _DTD.search(source.data):
        damaged(LABEL, "it declares XML entities or a document type, which PSKC never needs")
    try:
        container = PSKC(io.BytesIO(source.data))
    except (PSKCError, SyntaxError, ValueError):  # ElementTree's ParseError is a SyntaxError
        damaged(LABEL, "its XML cannot be read")
    encrypted = _unlock(container, password)
    collector = Collector(LABEL)
    for index, key in enumerate(container.keys, start=1):
        issuer, account = _name(key)
        name = display_name(issuer, account) or f"key {index}"
        collector.entry(name, partial(_credential, key))
    return collector.result(encrypted=encrypted)


def _unlock(container: Any, password: PasswordSource | None) -> bool:
    """Derive the key of a passphrase-protected file; False for a plain one."""
    from pskc.exceptions import DecryptionError, PSKCError

    try:
        for key in container.keys:
            key.secret  # noqa: B018 - reading it is the test
    except DecryptionError:
        pass
    else:
        return False
    derivation = container.encryption.derivation
    if not derivation.algorithm:
        raise InputError(
            f"this {LABEL} file is encrypted with a pre-shared key, not a passphrase;"
            " hwotp reads passphrase-protected PSKC only"
        )
    bounded(derivation.pbkdf2_iterations, "PBKDF2 iterations", LABEL, 1, MAX_ITERATIONS)
    try:
        container.encryption.derive_key(ask_password(password, LABEL))
        for key in container.keys:
            key.secret  # noqa: B018 - the MAC and padding checks run here
    except DecryptionError:
        wrong_password(LABEL, or_damaged=True)
    except PSKCError:
        damaged(LABEL, "its key derivation settings are not supported")
    return True


def _name(key: Any) -> tuple[str, str]:
    """(issuer, account) by ykman's rules for `oath accounts import`."""
    issuer, account = "", key.id or ""
    friendly = key.friendly_name or ""
    if ":" in friendly:
        issuer, account = friendly.split(":", 1)
    if key.issuer:
        issuer = key.issuer
    if key.key_userid:
        account = _common_name(key.key_userid)
    return issuer, account


def _common_name(userid: str) -> str:
    """The CN of a user id that is a distinguished name (RFC 4514, escapes undone), else the
    user id itself, as ykman's import does (with its own RFC 4514 parser)."""
    from cryptography.x509 import NameOID
    from cryptography.x509.name import Name

    try:
        names = Name.from_rfc4514_string(userid).get_attributes_for_oid(NameOID.COMMON_NAME)
        value = names[0].value
    except (ValueError, IndexError):
        return userid
    return value if isinstance(value, str) else userid


def _credential(key: Any) -> Credential:
    urn = key.algorithm or ""
    kind_name = urn[len(_PREFIX) :] if urn.startswith(_PREFIX) else ""
    if kind_name not in _KINDS:
        raise EntryRefused(f"the algorithm {describe(urn.rpartition(':')[2])} is not HOTP or TOTP")
    secret = key.secret
    if not secret:
        raise EntryRefused("the secret is missing")
    issuer, account = _name(key)
    return credential(
        secret=bytes(secret),
        issuer=issuer,
        account=account,
        kind=_KINDS[kind_name],
        algorithm=algorithm(key.algorithm_suite),
        digits=_whole(key.response_length, "digits", 6),
        period=_whole(key.time_interval, "period", 30),
        counter=_whole(key.counter, "counter", 0),
    )


def _whole(value: object, field_name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise EntryRefused(f"{field_name} is not a whole number")
