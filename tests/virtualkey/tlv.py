"""Small BER-TLV helpers: one-byte tags, lengths of 1 to 3 bytes (00-7F, 81 xx, 82 xx xx).

Enough for the YubiKey applets (OATH, management); not a general BER codec.
"""

from __future__ import annotations

from collections.abc import Collection


class TlvError(ValueError):
    """The bytes are not a well-formed TLV list (an applet answers 'wrong data')."""


def encode_length(length: int) -> bytes:
    if length < 0 or length > 0xFFFF:
        raise TlvError(f"TLV length {length} out of range")
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    return bytes([0x82]) + length.to_bytes(2, "big")


def encode(tag: int, value: bytes = b"") -> bytes:
    """One TLV: tag, length, value."""
    if not 0 <= tag <= 0xFF:
        raise TlvError(f"tag {tag:#x} is not one byte")
    return bytes([tag]) + encode_length(len(value)) + value


def _read_length(data: bytes, offset: int) -> tuple[int, int]:
    """Returns (length, offset of the value)."""
    if offset >= len(data):
        raise TlvError("TLV ends before its length")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size not in (1, 2) or offset + 1 + size > len(data):
        raise TlvError("unsupported or truncated TLV length")
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def parse(data: bytes, bare_tags: Collection[int] = ()) -> list[tuple[int, bytes]]:
    """Splits ``data`` into (tag, value) pairs, in order.

    ``bare_tags`` are tags followed by exactly one value byte and no length byte (YKOATH's
    property tag 78 is sent that way).
    """
    items: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data):
        tag = data[offset]
        if tag in bare_tags:
            if offset + 2 > len(data):
                raise TlvError("bare tag without its value byte")
            items.append((tag, data[offset + 1 : offset + 2]))
            offset += 2
            continue
        length, start = _read_length(data, offset + 1)
        if start + length > len(data):
            raise TlvError("TLV value runs past the end of the data")
        items.append((tag, data[start : start + length]))
        offset = start + length
    return items


def parse_dict(data: bytes, bare_tags: Collection[int] = ()) -> dict[int, bytes]:
    """Like ``parse`` but keyed by tag; a repeated tag keeps its first value."""
    result: dict[int, bytes] = {}
    for tag, value in parse(data, bare_tags):
        result.setdefault(tag, value)
    return result
