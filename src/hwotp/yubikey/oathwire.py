"""The YKOATH wire format in one place: instructions, tags and status words, credential ids,
LIST and CALCULATE_ALL answers and code truncation; and the bulk path of `hwotp code`, which
sends SELECT, CALCULATE_ALL and the SEND_REMAINING its answer needs over pyscard.

Why not yubikit for the bulk path: importing its smart-card layer costs ~110 ms (its SCP module
loads cryptography.x509; ykman.pcsc loads fido2.hid), half of a whole `hwotp code` run (measured
with bench/code.py). Everything else (writing, a password, a credential asked for by name, a key
not seen before) goes through yubikit's OathSession, with the parsing here.
"""

from __future__ import annotations

import re
import struct
from base64 import b64encode
from typing import TYPE_CHECKING, NamedTuple, Protocol

from hwotp.credential import DIGITS, Algorithm, Kind, display_name
from hwotp.debuglog import Logger

if TYPE_CHECKING:
    from yubikit.oath import OathSession

from hwotp.yubikey.apdus import ApduLog

OATH_AID = bytes.fromhex("a0000005272101")
# SELECT and CALCULATE_ALL share A4; P1 tells them apart (04 select by AID, 00 calculate).
INS_SELECT, INS_LIST, INS_CALCULATE_ALL, INS_SEND_REMAINING = 0xA4, 0xA1, 0xA4, 0xA5
INS_RENAME = 0x05
TAG_NAME = TAG_SALT = 0x71
TAG_NAME_LIST, TAG_CHALLENGE, TAG_VERSION = 0x72, 0x74, 0x79
TAG_TRUNCATED, TAG_HOTP, TAG_TOUCH = 0x76, 0x77, 0x7C
SW_OK, SW1_MORE_DATA = 0x9000, 0x61
SW_SECURITY_CONDITION = 0x6982  # locked, or a touch that did not come
SW_NO_SPACE = 0x6A84
SW_NO_SUCH_OBJECT = 0x6984
KINDS = {0x10: Kind.HOTP, 0x20: Kind.TOTP}
ALGORITHMS = {1: Algorithm.SHA1, 2: Algorithm.SHA256, 3: Algorithm.SHA512}

DEFAULT_PERIOD = 30  # CALCULATE_ALL's challenge is always this step
MAX_ID_BYTES = 64  # what ykman allows for `[period/][issuer:]account`
# SEND_REMAINING rounds one answer may take: 64 credentials' CALCULATE_ALL is under 6 KB, a
# round up to 256 bytes; a card that keeps saying "more" is not followed for ever.
MAX_SEND_REMAINING = 256
# yubikit's TOTP_ID_PATTERN: `[period/][issuer:]account`, the period in (Unicode) digits.
TOTP_ID = re.compile(r"^((\d+)/)?(([^:]+):)?(.+)$")
ISSUER_ACCOUNT = re.compile(r"^(([^:]+):)?(.+)$")

logger = Logger(__name__)


class WireError(Exception):
    """The key answered with an error status, or with an answer hwotp cannot read: the raw
    path leaves the key to yubikit; on yubikit's path it is a key that cannot be used."""


class Transmitter(Protocol):
    """A pyscard card connection, as far as the bulk path uses it."""

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]: ...


class Selected(NamedTuple):
    device_id: str
    locked: bool


class CredentialId(NamedTuple):
    """A credential id as read back: what ykman and hwotp show for it."""

    issuer: str
    account: str
    period: int

    @property
    def name(self) -> str:
        return display_name(self.issuer, self.account)


class ListItem(NamedTuple):
    """One LIST answer: the raw credential id, its kind and algorithm (None when unknown)."""

    id: bytes
    kind: Kind | None
    algorithm: Algorithm | None


class CalculateAllItem(NamedTuple):
    """One CALCULATE_ALL answer: the raw credential id, the answer's tag and its payload
    (`[digits]` then, for a computed code, four bytes to truncate)."""

    id: bytes
    tag: int
    payload: bytes

    @property
    def digits(self) -> int:
        return self.payload[0]

    @property
    def kind(self) -> Kind:
        return Kind.HOTP if self.tag == TAG_HOTP else Kind.TOTP

    @property
    def needs_touch(self) -> bool:
        return self.tag == TAG_TOUCH


def format_credential_id(issuer: str, account: str, kind: Kind, period: int) -> bytes:
    """`[period/][issuer:]account`, as yubikit's `_format_cred_id` builds it."""
    prefix = f"{period}/" if kind is Kind.TOTP and period != DEFAULT_PERIOD else ""
    return (prefix + (f"{issuer}:" if issuer else "") + account).encode()


def parse_credential_id(raw: bytes, kind: Kind) -> CredentialId:
    """The id back into its parts exactly as yubikit's `_parse_cred_id` reads it, so hwotp and
    ykman name every credential alike; bytes that are not UTF-8 are shown as `\\xNN`, not
    refused."""
    text = raw.decode("utf-8", errors="backslashreplace")
    if kind is not Kind.TOTP:
        if ":" in text and not text.startswith(":"):
            issuer, account = text.split(":", 1)
            return CredentialId(issuer, account, DEFAULT_PERIOD)
        return CredentialId("", text, DEFAULT_PERIOD)
    match = TOTP_ID.match(text)
    if match and match.group(2):
        if int(match.group(2)):
            return CredentialId(match.group(4) or "", match.group(5), int(match.group(2)))
        # Choice: a zero period, which yubikit would divide by, stays in the name, and the
        # name is the whole id (the pattern's `$` would drop a last newline).
        issuer, colon, account = text.partition(":")
        if colon and account:
            return CredentialId(issuer, account, DEFAULT_PERIOD)
        return CredentialId("", text, DEFAULT_PERIOD)
    match = ISSUER_ACCOUNT.match(text)
    if match is None:  # only an empty id
        return CredentialId("", text, DEFAULT_PERIOD)
    return CredentialId(match.group(2) or "", match.group(3), DEFAULT_PERIOD)


def round_trips(issuer: str, account: str, kind: Kind, period: int) -> bool:
    """Whether hwotp and ykman list the credential back under the same name and period. A
    TOTP name that starts with digits and a slash never does: yubikit reads them as a period
    (even `0/`, which it then divides by)."""
    raw = format_credential_id(issuer, account, kind, period)
    read = parse_credential_id(raw, kind)
    expected_period = period if kind is Kind.TOTP else DEFAULT_PERIOD
    unasked_period = TOTP_ID.match(raw.decode()) if period == DEFAULT_PERIOD else None
    if kind is Kind.TOTP and unasked_period and unasked_period.group(2):
        return False
    return read.name == display_name(issuer, account) and read.period == expected_period


def truncated_code(item: CalculateAllItem) -> str:
    """The code in a truncated answer: `[digits][4 bytes]`, RFC 4226's 31 bits mod 10^digits."""
    value = (int.from_bytes(item.payload[1:5], "big") & 0x7FFFFFFF) % 10**item.digits
    return str(value).rjust(item.digits, "0")


def device_id(salt: bytes) -> str:
    """The OATH device id as yubikit derives it, so both paths name a key alike."""
    return b64encode(_sha256(salt)[:16]).replace(b"=", b"").decode()


def _sha256(data: bytes) -> bytes:
    """SHA-256 by CPython's own implementation where it has one: `hwotp code` needs no other
    hash, and hashlib's first import loads OpenSSL (~5 ms of its ~70, bench/code.py)."""
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # 3.12 on
        except ImportError:
            from hashlib import sha256
    return sha256(data).digest()


def calculate_all_body(timestamp: int) -> bytes:
    """CALCULATE_ALL's data: the 30 s time step as the challenge."""
    return tlv(TAG_CHALLENGE, struct.pack(">q", timestamp // DEFAULT_PERIOD))


def parse_list(answer: bytes) -> list[ListItem]:
    items = []
    for tag, value in parse_tlvs(answer):
        if tag != TAG_NAME_LIST or not value or len(value) > 1 + MAX_ID_BYTES:
            raise WireError("a LIST answer out of order")
        items.append(ListItem(value[1:], KINDS.get(value[0] & 0xF0),
                              ALGORITHMS.get(value[0] & 0x0F)))
    return items


def parse_calculate_all(answer: bytes) -> list[CalculateAllItem]:
    items = parse_tlvs(answer)
    if len(items) % 2 or any(tag != TAG_NAME for tag, _ in items[::2]):
        raise WireError("a CALCULATE_ALL answer out of order")
    listed = [CalculateAllItem(name, tag, value)
              for (_, name), (tag, value) in zip(items[::2], items[1::2], strict=True)]
    if not all(map(_readable, listed)):
        raise WireError("a CALCULATE_ALL answer hwotp cannot read")
    return listed


# YKOATH's answers in CALCULATE_ALL: a truncated code is the digits and 4 bytes; HOTP and touch
# credentials give their digits only. An answer of any other tag or size is not read: a code
# is printed from the answer YKOATH defines, or not at all.
_ANSWER_SIZES = {TAG_TRUNCATED: range(5, 6), TAG_HOTP: range(1, 6), TAG_TOUCH: range(1, 6)}


def _readable(item: CalculateAllItem) -> bool:
    sizes = _ANSWER_SIZES.get(item.tag)
    return (sizes is not None and len(item.payload) in sizes and item.payload[0] in DIGITS
            and 0 < len(item.id) <= MAX_ID_BYTES)


def list_credentials(session: OathSession) -> list[ListItem]:
    """LIST through yubikit's session (yubikit's own `list_credentials` drops the algorithm)."""
    return parse_list(session.protocol.send_apdu(0, INS_LIST, 0, 0))


def calculate_all_in(session: OathSession, timestamp: int) -> list[CalculateAllItem]:
    """CALCULATE_ALL through yubikit's session: its own `calculate_all` recomputes every
    non-30 s credential with an extra CALCULATE and drops the digits."""
    body = calculate_all_body(timestamp)
    return parse_calculate_all(session.protocol.send_apdu(0, INS_CALCULATE_ALL, 0, 1, body))


def rename_in(session: OathSession, old_id: bytes, new_id: bytes) -> None:
    """RENAME through yubikit's session, with both ids as given: yubikit's own
    `rename_credential` decodes the old id as UTF-8 and reads a period into HOTP ids."""
    body = tlv(TAG_NAME, old_id) + tlv(TAG_NAME, new_id)
    session.protocol.send_apdu(0, INS_RENAME, 0, 0, body)


def tlv(tag: int, value: bytes) -> bytes:
    """A one-byte tag and a short length: credential ids are at most 64 bytes."""
    return bytes([tag, len(value)]) + value


def select(connection: Transmitter) -> Selected:
    answer = exchange(connection, bytes([0, INS_SELECT, 4, 0, len(OATH_AID)]) + OATH_AID)
    fields = dict(parse_tlvs(answer))
    if TAG_SALT not in fields or TAG_VERSION not in fields:
        raise WireError("not an OATH applet")
    return Selected(device_id(fields[TAG_SALT]), locked=TAG_CHALLENGE in fields)


def list_all(connection: Transmitter) -> list[ListItem]:
    """LIST: every credential's id, kind and algorithm."""
    return parse_list(exchange(connection, bytes([0, INS_LIST, 0, 0])))


def calculate_all(connection: Transmitter, timestamp: int) -> list[CalculateAllItem]:
    body = calculate_all_body(timestamp)
    return parse_calculate_all(
        exchange(connection, bytes([0, INS_CALCULATE_ALL, 0, 1, len(body)]) + body)
    )


def exchange(connection: Transmitter, apdu: bytes) -> bytes:
    """One command and every SEND_REMAINING its answer needs."""
    log = ApduLog(logger, "OATH")  # this path selects nothing else
    data, sw1, sw2 = connection.transmit(list(apdu))
    log.record(apdu, len(data), sw1 << 8 | sw2)
    answer, rounds = bytes(data), 0
    while sw1 == SW1_MORE_DATA:
        rounds += 1
        if rounds > MAX_SEND_REMAINING:
            raise WireError("an answer that does not end")
        data, sw1, sw2 = connection.transmit([0, INS_SEND_REMAINING, 0, 0])
        log.record(bytes([0, INS_SEND_REMAINING, 0, 0]), len(data), sw1 << 8 | sw2)
        answer += bytes(data)
    if (sw1 << 8 | sw2) != SW_OK:
        raise WireError(f"status {sw1:02X}{sw2:02X}")
    return answer


def parse_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """One-byte tags, BER lengths (81 xx, 82 xx xx), as YKOATH answers are built."""
    items, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise WireError("a truncated answer")
        tag, length = data[offset], data[offset + 1]
        offset += 2
        if length > 0x80:
            size = length - 0x80
            length = int.from_bytes(data[offset : offset + size], "big")
            offset += size
        if offset + length > len(data):
            raise WireError("a truncated answer")
        items.append((tag, data[offset : offset + length]))
        offset += length
    return items
