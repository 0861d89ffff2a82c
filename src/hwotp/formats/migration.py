"""Google Authenticator exports: `otpauth-migration://offline?data=<base64 protobuf>`.

The payload is a small protobuf message (MigrationPayload). A few dozen lines of wire-format
reading replace a run-time dependency on the protobuf package; anything malformed is reported
as a damaged export, never as a traceback, and no message carries secret bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from hwotp.credential import Algorithm, Credential, CredentialError, Kind, display_name
from hwotp.errors import InputError
from hwotp.formats.otpauth import secret_warnings, split_label

SCHEME = "otpauth-migration://"
DAMAGED = "the Google Authenticator export is damaged"  # a QR code's or a URI's

# Enum values of OtpParameters; 0 (unspecified) means what Google Authenticator assumes.
_ALGORITHMS = {0: Algorithm.SHA1, 1: Algorithm.SHA1, 2: Algorithm.SHA256, 3: Algorithm.SHA512}
_MD5 = 4
_DIGITS = {0: 6, 1: 6, 2: 8}
_KINDS = {0: Kind.TOTP, 1: Kind.HOTP, 2: Kind.TOTP}

# Protobuf wire types.
_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5
_MAX_GROUP_DEPTH = 32
_BASE64 = re.compile(r"[A-Za-z0-9+/]*")


@dataclass(frozen=True)
class Migration:
    """One QR code of an export; a large export is split into several batches."""

    credentials: tuple[Credential, ...]
    batch_index: int  # 0-based, as in the payload
    batch_size: int
    batch_id: int
    version: int
    warnings: tuple[str, ...] = ()

    @property
    def batch_label(self) -> str:
        """'batch 2 of 3' for the second of three QR codes."""
        if self.batch_size > 0:
            return f"batch {self.batch_index + 1} of {self.batch_size}"
        return f"batch {self.batch_index + 1}"


def parse_migration(uri: str) -> Migration:
    """The credentials in an `otpauth-migration://offline?data=...` URI."""
    text = uri.strip()
    if text[: len(SCHEME)].lower() != SCHEME:
        raise InputError("the URI scheme must be otpauth-migration://")
    _, _, query = text.partition("?")
    data = ""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() == "data":
            data = value
    if not data.strip():
        raise InputError(f"{DAMAGED}: it has no data parameter")
    return read_migration_payload(_decode_base64(data))


def read_migration_payload(data: bytes) -> Migration:
    """The credentials in the protobuf bytes of a MigrationPayload."""
    try:
        raw_entries, numbers = _read_payload(data)
        entries = [_read_entry(raw) for raw in raw_entries]
    except _Damaged:
        raise InputError(f"{DAMAGED}: its data cannot be read; export the accounts again") from None
    if not entries:
        raise InputError(f"{DAMAGED} or empty: it holds no accounts")
    credentials = []
    warnings: list[str] = []
    for number, entry in enumerate(entries, start=1):
        credential, entry_warnings = entry.credential(number)
        credentials.append(credential)
        warnings.extend(entry_warnings)
    return Migration(
        credentials=tuple(credentials),
        version=numbers.get(2, 0),
        batch_size=numbers.get(3, 0),
        batch_index=numbers.get(4, 0),
        batch_id=numbers.get(5, 0),
        warnings=tuple(warnings),
    )


def _decode_base64(value: str) -> bytes:
    # URL decoding turns '+' into a space; base64 has no spaces, so turning them back is safe.
    # The urlsafe alphabet and missing padding turn up too.
    compact = value.strip().replace(" ", "+").translate(str.maketrans("-_", "+/")).rstrip("=")
    if not _BASE64.fullmatch(compact) or len(compact) % 4 == 1:
        raise InputError(f"{DAMAGED}: its data is not valid base64")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error:  # pragma: no cover - the checks above leave nothing to reject
        raise InputError(f"{DAMAGED}: its data is not valid base64") from None


@dataclass(frozen=True)
class _Entry:
    """OtpParameters as stored, before any interpretation."""

    secret: bytes = b""
    name: str = ""
    issuer: str = ""
    algorithm: int = 0
    digits: int = 0
    kind: int = 0
    counter: int = 0

    def credential(self, number: int) -> tuple[Credential, tuple[str, ...]]:
        """The credential of entry `number` (1-based, for messages) and its warnings."""
        issuer, account, warnings = split_label(self.name, self.issuer)
        name = display_name(issuer, account)
        where = f"entry {number} ({name})" if name else f"entry {number}"
        if self.algorithm == _MD5:
            raise InputError(f"{where} uses MD5, which hwotp does not support")
        if self.algorithm not in _ALGORITHMS:
            raise InputError(f"{where} uses an unknown algorithm (code {self.algorithm})")
        if self.digits not in _DIGITS:
            raise InputError(f"{where} has an unknown number of digits (code {self.digits})")
        if self.kind not in _KINDS:
            raise InputError(f"{where} has an unknown OTP type (code {self.kind})")
        kind = _KINDS[self.kind]
        try:
            credential = Credential(
                secret=self.secret,
                issuer=issuer,
                account=account,
                kind=kind,
                algorithm=_ALGORITHMS[self.algorithm],
                digits=_DIGITS[self.digits],
                counter=self.counter if kind is Kind.HOTP else 0,
            )
        except CredentialError as error:
            raise InputError(f"{where}: {error}") from error
        notes = tuple(f"{where}: {warning}" for warning in warnings)
        return credential, notes + secret_warnings(credential)


class _Damaged(Exception):
    """Malformed protobuf; turned into one InputError at the boundary."""


def _read_payload(data: bytes) -> tuple[list[bytes], dict[int, int]]:
    """MigrationPayload: the raw otp_parameters messages and the int32 fields by number."""
    entries: list[bytes] = []
    numbers: dict[int, int] = {}
    for number, wire, value in _fields(data):
        if number == 1:
            entries.append(_as_bytes(wire, value))
        elif number in (2, 3, 4, 5):
            numbers[number] = _signed(_as_int(wire, value), 32)
    return entries, numbers


def _read_entry(data: bytes) -> _Entry:
    """OtpParameters; for a repeated scalar field the last value wins, as in protobuf."""
    secret, name, issuer = b"", "", ""
    enums = {4: 0, 5: 0, 6: 0}  # algorithm, digits, type
    counter = 0
    for number, wire, value in _fields(data):
        if number == 1:
            secret = _as_bytes(wire, value)
        elif number == 2:
            name = _as_text(wire, value)
        elif number == 3:
            issuer = _as_text(wire, value)
        elif number in enums:
            enums[number] = _signed(_as_int(wire, value), 32)
        elif number == 7:
            counter = _signed(_as_int(wire, value), 64)
    return _Entry(secret, name, issuer, enums[4], enums[5], enums[6], counter)


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes | None]]:
    """(field number, wire type, value) of each field of a message, in order."""
    pos = 0
    while pos < len(data):
        number, wire, value, pos = _next_field(data, pos, depth=0)
        yield number, wire, value


def _next_field(data: bytes, pos: int, depth: int) -> tuple[int, int, int | bytes | None, int]:
    key, pos = _varint(data, pos)
    number, wire = key >> 3, key & 7
    if not 0 < number < 2**29:
        raise _Damaged
    if wire == _VARINT:
        value, pos = _varint(data, pos)
        return number, wire, value, pos
    if wire in (_I64, _I32):
        raw, pos = _take(data, pos, 8 if wire == _I64 else 4)
        return number, wire, int.from_bytes(raw, "little"), pos
    if wire == _LEN:
        length, pos = _varint(data, pos)
        raw, pos = _take(data, pos, length)
        return number, wire, raw, pos
    if wire == _SGROUP:  # deprecated groups: skip up to the matching end-group tag
        return number, wire, None, _skip_group(data, pos, number, depth + 1)
    raise _Damaged  # an end-group tag without a start, or wire types 6 and 7


def _skip_group(data: bytes, pos: int, number: int, depth: int) -> int:
    if depth > _MAX_GROUP_DEPTH:
        raise _Damaged
    while pos < len(data):
        key, after = _varint(data, pos)
        if key & 7 == _EGROUP:
            if key >> 3 != number:
                raise _Damaged
            return after
        _, _, _, pos = _next_field(data, pos, depth)
    raise _Damaged  # the group never ends


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):  # at most 10 bytes
        if pos >= len(data):
            raise _Damaged
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & (2**64 - 1), pos
    raise _Damaged


def _take(data: bytes, pos: int, length: int) -> tuple[bytes, int]:
    end = pos + length
    if end > len(data):
        raise _Damaged
    return data[pos:end], end


def _as_bytes(wire: int, value: int | bytes | None) -> bytes:
    if wire != _LEN or not isinstance(value, bytes):
        raise _Damaged
    return value


def _as_text(wire: int, value: int | bytes | None) -> str:
    try:
        return _as_bytes(wire, value).decode("utf-8")
    except UnicodeDecodeError:
        raise _Damaged from None


def _as_int(wire: int, value: int | bytes | None) -> int:
    if wire != _VARINT or not isinstance(value, int):
        raise _Damaged
    return value


def _signed(value: int, bits: int) -> int:
    """Two's complement, as protobuf int32/int64/enum fields are read (negatives use 10 bytes)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value
