"""The YKOATH bulk path of `hwotp code`, over a pyscard connection: SELECT, CALCULATE_ALL and
the SEND_REMAINING its answer needs, plus the parsing both paths share.

Why not yubikit here: importing its smart-card layer costs ~110 ms (its SCP module loads
cryptography.x509; ykman.pcsc loads fido2.hid), half of a whole `hwotp code` run (measured with
bench/code.py). Everything else (writing, a password, a credential asked for by name, a key
not seen before) goes through yubikit's OathSession.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

from hwotp.yubikey.apdus import ApduLog

OATH_AID = bytes.fromhex("a0000005272101")
INS_SELECT, INS_CALCULATE_ALL, INS_SEND_REMAINING = 0xA4, 0xA4, 0xA5
TAG_NAME, TAG_SALT, TAG_CHALLENGE, TAG_VERSION = 0x71, 0x71, 0x74, 0x79
SW_OK, SW1_MORE_DATA = 0x9000, 0x61
TOTP_PERIOD = 30

logger = logging.getLogger(__name__)


class WireError(Exception):
    """The key answered with an error status: the caller takes the yubikit path instead."""


@dataclass(frozen=True)
class Selected:
    device_id: str
    locked: bool


@dataclass(frozen=True)
class Listed:
    """One CALCULATE_ALL answer: the credential id, the answer's tag and its payload."""

    id: bytes
    tag: int
    payload: bytes

    @property
    def digits(self) -> int:
        return self.payload[0]


def device_id(salt: bytes) -> str:
    """The OATH device id as yubikit derives it, so both paths name a key alike."""
    return b64encode(hashlib.sha256(salt).digest()[:16]).replace(b"=", b"").decode()


def select(connection: Any) -> Selected:
    answer = exchange(connection, bytes([0, INS_SELECT, 4, 0, len(OATH_AID)]) + OATH_AID)
    fields = dict(parse_tlvs(answer))
    if TAG_SALT not in fields or TAG_VERSION not in fields:
        raise WireError("not an OATH applet")
    return Selected(device_id(fields[TAG_SALT]), locked=TAG_CHALLENGE in fields)


def calculate_all(connection: Any, timestamp: int) -> list[Listed]:
    body = calculate_all_body(timestamp)
    return parse_calculate_all(
        exchange(connection, bytes([0, INS_CALCULATE_ALL, 0, 1, len(body)]) + body)
    )


def calculate_all_body(timestamp: int) -> bytes:
    """CALCULATE_ALL's data, for both paths: the 30 s time step as the challenge."""
    challenge = struct.pack(">q", timestamp // TOTP_PERIOD)
    return bytes([TAG_CHALLENGE, len(challenge)]) + challenge


def parse_calculate_all(answer: bytes) -> list[Listed]:
    items = parse_tlvs(answer)
    if len(items) % 2 or any(tag != TAG_NAME for tag, _ in items[::2]):
        raise WireError("a CALCULATE_ALL answer out of order")
    return [Listed(name, tag, value) for (_, name), (tag, value) in zip(
        items[::2], items[1::2], strict=True
    )]


def exchange(connection: Any, apdu: bytes) -> bytes:
    """One command and every SEND_REMAINING its answer needs."""
    log = ApduLog(logger, "OATH")  # this path selects nothing else
    data, sw1, sw2 = connection.transmit(list(apdu))
    log.record(apdu, len(data), sw1 << 8 | sw2)
    answer = bytes(data)
    while sw1 == SW1_MORE_DATA:
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
