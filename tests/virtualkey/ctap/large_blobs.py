"""authenticatorLargeBlobs (0x0C): the serialized large-blob array (CTAP 2.1 section 6.10).

The array is CBOR followed by LEFT(SHA-256(CBOR), 16); a new or reset key holds the empty array
``80`` and its 16 check bytes. Reads (get) need no authorisation. Writes (set) come in fragments
of at most maxFragmentLength = maxMsgSize - 64 bytes, starting at offset 0 with the total length;
the new array only replaces the old one once the last fragment is in and its check bytes match.

The order of checks is 6.10.2's: exactly one of get and set (INVALID_PARAMETER); for get, no
length (INVALID_PARAMETER), get within maxFragmentLength (INVALID_LENGTH), offset within the
array (INVALID_PARAMETER); for set, the fragment within maxFragmentLength (INVALID_LENGTH), at
offset 0 a length (INVALID_PARAMETER) within maxSerializedLargeBlobArray
(LARGE_BLOB_STORAGE_FULL) and at least 17 (INVALID_PARAMETER), elsewhere no length
(INVALID_PARAMETER) and the expected offset (INVALID_SEQ); then, once a PIN is set or alwaysUv
is on, a pinUvAuthParam (PUAT_REQUIRED) over 32 x 0xFF || 0C 00 || uint32LE(offset) ||
SHA-256(set) with a token holding lbw (PIN_AUTH_INVALID); the fragment must not run past the
announced length (INVALID_PARAMETER); the check bytes of the whole (INTEGRITY_FAILURE).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .pin import PERMISSION_LBW
from .request import optional, required
from .status import CtapFailure, CtapStatus

if TYPE_CHECKING:
    from .authenticator import Authenticator

MAX_SERIALIZED_LARGE_BLOB_ARRAY = 4096  # a YubiKey 5.7's getInfo 0x0B
P_GET, P_SET, P_OFFSET, P_LENGTH, P_AUTH_PARAM, P_PROTOCOL = range(1, 7)
R_CONFIG = 1
CHECK_BYTES = 16
EMPTY_ARRAY = b"\x80" + hashlib.sha256(b"\x80").digest()[:CHECK_BYTES]


@dataclass
class LargeBlobStore:
    serialized: bytes = EMPTY_ARRAY
    # A write in progress: what has arrived, and how long it will be.
    _pending: bytearray = field(default_factory=bytearray, repr=False)
    _expected_length: int = 0
    _expected_offset: int = 0

    def reset(self) -> None:
        self.serialized = EMPTY_ARRAY
        self._pending = bytearray()
        self._expected_length = self._expected_offset = 0


def large_blobs(auth: Authenticator, params: Mapping[int, Any]) -> dict[int, Any]:
    get = optional(params, P_GET, int)
    fragment = optional(params, P_SET, bytes)
    offset = required(params, P_OFFSET, int)
    length = optional(params, P_LENGTH, int)
    if (get is None) == (fragment is None):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "exactly one of get and set")
    max_fragment = auth.max_message_size - 64
    store = auth.large_blobs
    if get is not None:
        if length is not None:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "length only with set")
        if get > max_fragment:
            raise CtapFailure(CtapStatus.INVALID_LENGTH, "get over maxFragmentLength")
        if offset > len(store.serialized):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "offset past the array")
        return {R_CONFIG: store.serialized[offset : offset + get]}
    assert fragment is not None
    if len(fragment) > max_fragment:
        raise CtapFailure(CtapStatus.INVALID_LENGTH, "set over maxFragmentLength")
    if offset == 0:
        if length is None:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "the first fragment carries the length")
        if length > MAX_SERIALIZED_LARGE_BLOB_ARRAY:
            raise CtapFailure(CtapStatus.LARGE_BLOB_STORAGE_FULL,
                              "over maxSerializedLargeBlobArray")
        if length < CHECK_BYTES + 1:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "shorter than an array and its check")
        store._expected_length, store._expected_offset = length, 0
    elif length is not None:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "length only with the first fragment")
    if offset != store._expected_offset:
        raise CtapFailure(CtapStatus.INVALID_SEQ, "fragment out of order")
    if auth.pin.is_set or auth.always_uv:
        auth_param = params.get(P_AUTH_PARAM)
        if auth_param is None:
            raise CtapFailure(CtapStatus.PUAT_REQUIRED, "writing large blobs needs a PIN token")
        message = (b"\xff" * 32 + b"\x0c\x00" + offset.to_bytes(4, "little")
                   + hashlib.sha256(fragment).digest())
        auth.pin.verify_token(params.get(P_PROTOCOL), auth_param, message, PERMISSION_LBW,
                              None)
    if offset + len(fragment) > store._expected_length:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "past the announced length")
    if offset == 0:
        store._pending = bytearray()
    store._pending += fragment
    store._expected_offset += len(fragment)
    if store._expected_offset == store._expected_length:
        whole = bytes(store._pending)
        store._pending = bytearray()
        store._expected_offset = 0
        body, check = whole[:-CHECK_BYTES], whole[-CHECK_BYTES:]
        if hashlib.sha256(body).digest()[:CHECK_BYTES] != check:
            raise CtapFailure(CtapStatus.INTEGRITY_FAILURE, "the array's check bytes do not match")
        store.serialized = whole
    return {}
