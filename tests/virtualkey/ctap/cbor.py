"""CTAP2 canonical CBOR: the subset CTAP uses (ints, byte and text strings, arrays, maps, bools).

Encoding is canonical (CTAP 2.1 section 8): shortest integer and length forms, definite lengths,
map keys sorted by major type, then encoded length, then bytes. Decoding refuses anything a
canonical encoder would not produce, as a strict authenticator may.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAJOR_UINT, MAJOR_NINT, MAJOR_BYTES, MAJOR_TEXT, MAJOR_ARRAY, MAJOR_MAP = 0, 1, 2, 3, 4, 5
MAJOR_SIMPLE = 7
SIMPLE_FALSE, SIMPLE_TRUE = 0xF4, 0xF5
MAX_DEPTH = 16  # CTAP nests four deep; deeper input is refused rather than recursed into


class CborError(ValueError):
    """Input that is not canonical CTAP2 CBOR (the authenticator answers INVALID_CBOR)."""


def encode(value: Any) -> bytes:
    """Canonical encoding of bool, int, bytes, str, list/tuple and dict values."""
    if isinstance(value, bool):
        return bytes([SIMPLE_TRUE if value else SIMPLE_FALSE])
    if isinstance(value, int):
        if value < 0:
            return _head(MAJOR_NINT, -1 - value)
        return _head(MAJOR_UINT, value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _head(MAJOR_BYTES, len(value)) + bytes(value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(MAJOR_TEXT, len(raw)) + raw
    if isinstance(value, Mapping):
        items = sorted(((encode(k), encode(v)) for k, v in value.items()),
                       key=lambda item: _key_order(item[0]))
        return _head(MAJOR_MAP, len(items)) + b"".join(k + v for k, v in items)
    if isinstance(value, Sequence):
        return _head(MAJOR_ARRAY, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} as CTAP CBOR")


def _key_order(encoded: bytes) -> tuple[int, int, bytes]:
    return encoded[0] >> 5, len(encoded), encoded


def _head(major: int, number: int) -> bytes:
    if number < 24:
        return bytes([major << 5 | number])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if number < 1 << (8 * size):
            return bytes([major << 5 | info]) + number.to_bytes(size, "big")
    raise CborError("integer too large for CBOR")


def decode(data: bytes) -> Any:
    """Decodes one canonical item that fills ``data`` exactly; CborError otherwise."""
    value, end = _Decoder(bytes(data)).item(0, 0)
    if end != len(data):
        raise CborError("extra bytes after the CBOR item")
    return value


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def _take(self, start: int, size: int) -> bytes:
        if start + size > len(self.data):
            raise CborError("truncated CBOR")
        return self.data[start : start + size]

    def _head(self, at: int) -> tuple[int, int, int]:
        """Returns (major type, argument, offset after the head); refuses long forms."""
        first = self._take(at, 1)[0]
        major, info = first >> 5, first & 0x1F
        if major == MAJOR_SIMPLE:
            return major, info, at + 1
        if info < 24:
            return major, info, at + 1
        if info > 27:
            raise CborError("indefinite or reserved length")
        size = 1 << (info - 24)
        number = int.from_bytes(self._take(at + 1, size), "big")
        if number < (24 if size == 1 else 1 << (4 * size)):
            raise CborError("integer or length not in its shortest form")
        return major, number, at + 1 + size

    def item(self, at: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise CborError("nested too deep")
        major, arg, at = self._head(at)
        if major == MAJOR_UINT:
            return arg, at
        if major == MAJOR_NINT:
            return -1 - arg, at
        if major in (MAJOR_BYTES, MAJOR_TEXT):
            raw = self._take(at, arg)
            return (raw if major == MAJOR_BYTES else _text(raw)), at + arg
        if major == MAJOR_ARRAY:
            return self._array(at, arg, depth + 1)
        if major == MAJOR_MAP:
            return self._map(at, arg, depth + 1)
        if major == MAJOR_SIMPLE and arg in (SIMPLE_FALSE & 0x1F, SIMPLE_TRUE & 0x1F):
            return arg == SIMPLE_TRUE & 0x1F, at
        raise CborError("tags, floats, null and undefined are not CTAP CBOR")

    def _array(self, at: int, count: int, depth: int) -> tuple[list[Any], int]:
        values = []
        for _ in range(count):
            value, at = self.item(at, depth)
            values.append(value)
        return values, at

    def _map(self, at: int, count: int, depth: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        previous: bytes | None = None
        for _ in range(count):
            start = at
            key, at = self.item(at, depth)
            raw_key = self.data[start:at]
            if previous is not None and _key_order(raw_key) <= _key_order(previous):
                raise CborError("map keys out of canonical order or repeated")
            if isinstance(key, list | dict):
                raise CborError("map keys must be integers or strings")
            previous = raw_key
            result[key], at = self.item(at, depth)
        return result, at


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CborError("text string is not UTF-8") from error
