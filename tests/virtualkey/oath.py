"""The YKOATH applet of a YubiKey 5: TOTP/HOTP credentials, access password, touch policy.

Follows Yubico's YKOATH description and what yubikit's ``OathSession`` sends and expects. Where a
real key's behaviour is not documented the choice is marked "choice:" below.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field

from . import tlv
from .apdu import (
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_DATA_INVALID,
    SW_INS_NOT_SUPPORTED,
    SW_NO_SPACE,
    SW_SECURITY_CONDITION_NOT_SATISFIED,
    SW_WRONG_DATA,
    SW_WRONG_P1P2,
    ApduError,
    Command,
)
from .presence import Presence

AID = bytes.fromhex("a0000005272101")

TAG_NAME = 0x71
TAG_NAME_LIST = 0x72
TAG_KEY = 0x73
TAG_CHALLENGE = 0x74
TAG_RESPONSE = 0x75
TAG_TRUNCATED = 0x76
TAG_HOTP = 0x77
TAG_PROPERTY = 0x78
TAG_VERSION = 0x79
TAG_IMF = 0x7A
TAG_ALGORITHM = 0x7B
TAG_TOUCH = 0x7C

INS_PUT = 0x01
INS_DELETE = 0x02
INS_SET_CODE = 0x03
INS_RESET = 0x04
INS_RENAME = 0x05
INS_LIST = 0xA1
INS_CALCULATE = 0xA2
INS_VALIDATE = 0xA3
INS_CALCULATE_ALL = 0xA4
INS_SEND_REMAINING = 0xA5

TYPE_HOTP = 0x10
TYPE_TOTP = 0x20
ALGORITHMS = {0x01: "sha1", 0x02: "sha256", 0x03: "sha512"}
ALGORITHM_SHA512 = 0x03
PROP_INCREASING = 0x01
PROP_TOUCH = 0x02

MAX_NAME_BYTES = 64
MIN_KEY_BYTES = 14
SALT_BYTES = 8
CHALLENGE_BYTES = 8
# choice: 6-8 digits, what ykman and the YubiKey documentation offer; others answer 6A80.
DIGITS = range(6, 9)

# choice: a real key's OATH applet answers long LIST / CALCULATE_ALL results in chunks behind
# 61xx even with extended APDUs; the exact chunk size is not documented, 255 is ours.
RESPONSE_LIMIT = 255

FIRMWARE_SHA512 = (4, 3, 1)
FIRMWARE_TOUCH = (4, 2, 6)
FIRMWARE_RENAME = (5, 3, 1)
FIRMWARE_64_SLOTS = (5, 7, 0)

# Instructions refused with 6982 while a password is set and not yet validated.
NEEDS_ACCESS = frozenset(
    {INS_PUT, INS_DELETE, INS_SET_CODE, INS_RENAME, INS_LIST, INS_CALCULATE, INS_CALCULATE_ALL}
)


class _Keyed:
    """HMAC under the holder's key and algorithm: credentials and the access key alike."""

    key: bytes
    algorithm: int

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self.key, message, ALGORITHMS[self.algorithm]).digest()


@dataclass
class OathCredential(_Keyed):
    name: bytes
    oath_type: int
    algorithm: int
    digits: int
    key: bytes = field(repr=False)
    touch: bool = False
    increasing: bool = False
    counter: int = 0  # HOTP moving factor; the next CALCULATE uses it, then adds one
    last_challenge: int | None = None  # for the only-increasing property

    @property
    def kind(self) -> int:
        return self.oath_type | self.algorithm


@dataclass
class AccessKey(_Keyed):
    algorithm: int
    key: bytes = field(repr=False)


def normalise_key(secret: bytes, algorithm: int) -> bytes:
    """As the card stores a key: hashed when longer than the hash block, padded to 14 bytes.

    Neither step changes the HMAC (RFC 2104), so codes equal those of the key as given.
    choice: yubikit hashes and pads on the client side, so what a YubiKey 5 does with a raw
    key outside 14..block bytes is not known (ykneo-oath refused keys over 64 bytes with 6A80).
    """
    hasher = hashlib.new(ALGORITHMS[algorithm])
    if len(secret) > hasher.block_size:
        hasher.update(secret)
        secret = hasher.digest()
    return secret.ljust(MIN_KEY_BYTES, b"\0")


def truncate(digest: bytes) -> bytes:
    """RFC 4226 dynamic truncation: 4 bytes with the top bit cleared.

    choice: whether a real key clears the top bit is not documented; clients mask it anyway.
    """
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return value.to_bytes(4, "big")


def _fields(data: bytes) -> list[tuple[int, bytes]]:
    try:
        return tlv.parse(data, bare_tags=(TAG_PROPERTY,))
    except tlv.TlvError as error:
        raise ApduError(SW_WRONG_DATA, "malformed TLV") from error


def _first(fields: list[tuple[int, bytes]], tag: int) -> bytes | None:
    return next((value for item_tag, value in fields if item_tag == tag), None)


def _required(fields: list[tuple[int, bytes]], tag: int) -> bytes:
    value = _first(fields, tag)
    if value is None:
        raise ApduError(SW_WRONG_DATA, f"tag {tag:02X} missing")
    return value


class OathApplet:
    name = "oath"
    aid = AID
    send_remaining_ins = INS_SEND_REMAINING
    response_limit = RESPONSE_LIMIT

    def __init__(self, firmware: tuple[int, int, int], presence: Presence) -> None:
        self.firmware = tuple(firmware)
        self.presence = presence
        self.credentials: dict[bytes, OathCredential] = {}
        self.salt = os.urandom(SALT_BYTES)
        self.access_key: AccessKey | None = None
        self.unlocked = False
        self._challenge: bytes | None = None
        self._handlers = self._build_handlers()

    def _build_handlers(self) -> dict[int, Callable[[Command], bytes]]:
        handlers = {
            INS_PUT: self._put,
            INS_DELETE: self._delete,
            INS_SET_CODE: self._set_code,
            INS_RESET: self._reset,
            INS_LIST: self._list,
            INS_CALCULATE: self._calculate,
            INS_VALIDATE: self._validate,
            INS_CALCULATE_ALL: self._calculate_all,
            INS_SEND_REMAINING: self._send_remaining,
        }
        if self.firmware >= FIRMWARE_RENAME:  # older keys do not know the instruction
            handlers[INS_RENAME] = self._rename
        return handlers

    @property
    def capacity(self) -> int:
        return 64 if self.firmware >= FIRMWARE_64_SLOTS else 32

    @property
    def locked(self) -> bool:
        return self.access_key is not None and not self.unlocked

    @property
    def device_id(self) -> str:
        """What yubikit derives from the salt (changes on RESET)."""
        return b64encode(hashlib.sha256(self.salt).digest()[:16]).decode().rstrip("=")

    # Applet protocol

    def select(self, command: Command) -> bytes:
        """Every SELECT locks again and, with a password set, issues a fresh challenge."""
        self.unlocked = False
        answer = tlv.encode(TAG_VERSION, bytes(self.firmware)) + tlv.encode(TAG_NAME, self.salt)
        if self.access_key is None:
            self._challenge = None
            return answer
        self._challenge = os.urandom(CHALLENGE_BYTES)
        return (
            answer
            + tlv.encode(TAG_CHALLENGE, self._challenge)
            + tlv.encode(TAG_ALGORITHM, bytes([self.access_key.algorithm]))
        )

    def deselect(self) -> None:
        self.unlocked = False
        self._challenge = None

    def process(self, command: Command) -> bytes:
        if command.cla != 0:
            raise ApduError(SW_CLA_NOT_SUPPORTED)
        handler = self._handlers.get(command.ins)
        if handler is None:
            raise ApduError(SW_INS_NOT_SUPPORTED)
        if command.ins in NEEDS_ACCESS and self.locked:
            raise ApduError(SW_SECURITY_CONDITION_NOT_SATISFIED, "password not validated")
        return handler(command)

    # Credentials

    def _check_name(self, name: bytes) -> None:
        if not name or len(name) > MAX_NAME_BYTES:
            raise ApduError(SW_WRONG_DATA, "name empty or longer than 64 bytes")

    def _put(self, command: Command) -> bytes:
        fields = _fields(command.data)
        name = _required(fields, TAG_NAME)
        self._check_name(name)
        credential = self._parse_credential(name, _required(fields, TAG_KEY))
        self._apply_options(credential, fields)
        if name not in self.credentials and len(self.credentials) >= self.capacity:
            raise ApduError(SW_NO_SPACE, "no space for another credential")
        self.credentials[name] = credential  # replacing keeps the slot: no space needed
        return b""

    def _parse_credential(self, name: bytes, key_field: bytes) -> OathCredential:
        if len(key_field) < 3:
            raise ApduError(SW_WRONG_DATA, "key field too short")
        kind, digits, secret = key_field[0], key_field[1], key_field[2:]
        oath_type, algorithm = kind & 0xF0, kind & 0x0F
        if oath_type not in (TYPE_HOTP, TYPE_TOTP) or algorithm not in ALGORITHMS:
            raise ApduError(SW_WRONG_DATA, "unknown type or algorithm")
        # choice: the answer of a pre-4.3.1 key to SHA-512 is not documented; 6A80 here.
        if algorithm == ALGORITHM_SHA512 and self.firmware < FIRMWARE_SHA512:
            raise ApduError(SW_WRONG_DATA, "SHA-512 needs firmware 4.3.1")
        if digits not in DIGITS:
            raise ApduError(SW_WRONG_DATA, "unsupported number of digits")
        key = normalise_key(secret, algorithm)
        return OathCredential(name, oath_type, algorithm, digits, key)

    def _apply_options(self, credential: OathCredential, fields: list[tuple[int, bytes]]) -> None:
        prop = _first(fields, TAG_PROPERTY)
        flags = prop[0] if prop else 0
        # choice: a pre-4.2.6 key's answer to the touch property is not documented; 6A80 here.
        if flags & PROP_TOUCH and self.firmware < FIRMWARE_TOUCH:
            raise ApduError(SW_WRONG_DATA, "touch needs firmware 4.2.6")
        credential.touch = bool(flags & PROP_TOUCH)
        credential.increasing = bool(flags & PROP_INCREASING)
        imf = _first(fields, TAG_IMF)
        if imf is not None:
            if len(imf) != 4:
                raise ApduError(SW_WRONG_DATA, "IMF must be 4 bytes")
            if credential.oath_type == TYPE_HOTP:
                credential.counter = int.from_bytes(imf, "big")

    def _find(self, name: bytes) -> OathCredential:
        credential = self.credentials.get(name)
        if credential is None:
            raise ApduError(SW_DATA_INVALID, "no such credential")
        return credential

    def _delete(self, command: Command) -> bytes:
        name = _required(_fields(command.data), TAG_NAME)
        self._find(name)
        del self.credentials[name]
        return b""

    def _rename(self, command: Command) -> bytes:
        names = [value for tag, value in _fields(command.data) if tag == TAG_NAME]
        if len(names) != 2:
            raise ApduError(SW_WRONG_DATA, "RENAME needs the old and the new name")
        old, new = names
        self._check_name(new)
        credential = self._find(old)
        # A taken name is refused, the credential's own current name too, as on a real key.
        # choice: the status for it is not documented; 6A80.
        if new in self.credentials:
            raise ApduError(SW_WRONG_DATA, "the new name is taken")
        credential.name = new
        # Rebuild in order: a renamed credential keeps its place in LIST.
        self.credentials = {(new if key == old else key): c for key, c in self.credentials.items()}
        return b""

    def _list(self, command: Command) -> bytes:
        return b"".join(
            tlv.encode(TAG_NAME_LIST, bytes([c.kind]) + c.name) for c in self.credentials.values()
        )

    # Codes

    def _calculate(self, command: Command) -> bytes:
        if command.p2 not in (0, 1):
            raise ApduError(SW_WRONG_P1P2)
        fields = _fields(command.data)
        credential = self._find(_required(fields, TAG_NAME))
        challenge = _first(fields, TAG_CHALLENGE)
        if challenge is None:
            # ykneo-oath answers 6A80 without the tag; HOTP (which ignores it) is let through.
            if credential.oath_type == TYPE_TOTP:
                raise ApduError(SW_WRONG_DATA, "TOTP needs a challenge")
            challenge = b""
        if credential.touch and not self.presence.wait():
            raise ApduError(SW_SECURITY_CONDITION_NOT_SATISFIED, "no touch")
        digest = self._digest(credential, challenge)
        return self._code(credential, digest, truncated=command.p2 == 1)

    def _digest(self, credential: OathCredential, challenge: bytes) -> bytes:
        """HOTP uses (and then advances) the card's counter; TOTP signs the challenge."""
        if credential.oath_type == TYPE_HOTP:
            message = credential.counter.to_bytes(8, "big")
            credential.counter += 1
            return credential.digest(message)
        if credential.increasing:
            self._check_increasing(credential, challenge)
        return credential.digest(challenge)

    def _check_increasing(self, credential: OathCredential, challenge: bytes) -> None:
        # choice: the status for a lower challenge is not documented; 6985 here. An equal
        # challenge (the same TOTP window asked twice) is allowed.
        value = int.from_bytes(challenge, "big")
        if credential.last_challenge is not None and value < credential.last_challenge:
            raise ApduError(SW_CONDITIONS_NOT_SATISFIED, "challenge lower than the last one")
        credential.last_challenge = value

    def _code(self, credential: OathCredential, digest: bytes, truncated: bool) -> bytes:
        if truncated:
            return tlv.encode(TAG_TRUNCATED, bytes([credential.digits]) + truncate(digest))
        return tlv.encode(TAG_RESPONSE, bytes([credential.digits]) + digest)

    def _calculate_all(self, command: Command) -> bytes:
        """One challenge for every plain TOTP credential, whatever its period.

        A real key does not know a credential's period (it is only part of the name), so a
        period-60 credential is answered with the 30 s challenge too; yubikit recomputes those
        with CALCULATE. HOTP (even with touch, as ykman's comment "HOTP might require touch, we
        don't know" shows) answers 77 and touch TOTP 7C: neither is computed, no counter moves.
        Only-increasing is neither checked nor recorded here (choice).
        """
        if command.p2 not in (0, 1):
            raise ApduError(SW_WRONG_P1P2)
        challenge = _required(_fields(command.data), TAG_CHALLENGE)
        truncated = command.p2 == 1
        return b"".join(self._entry(c, challenge, truncated) for c in self.credentials.values())

    def _entry(self, credential: OathCredential, challenge: bytes, truncated: bool) -> bytes:
        name = tlv.encode(TAG_NAME, credential.name)
        if credential.oath_type == TYPE_HOTP:
            return name + tlv.encode(TAG_HOTP, bytes([credential.digits]))
        if credential.touch:
            return name + tlv.encode(TAG_TOUCH, bytes([credential.digits]))
        return name + self._code(credential, credential.digest(challenge), truncated)

    def _send_remaining(self, command: Command) -> bytes:
        # The card answers SEND_REMAINING itself while data is pending; reaching the applet
        # means nothing is left. choice: 6985, not documented.
        raise ApduError(SW_CONDITIONS_NOT_SATISFIED, "nothing to send")

    # Password

    def _set_code(self, command: Command) -> bytes:
        fields = _fields(command.data)
        key_field = _required(fields, TAG_KEY)
        if not key_field:  # an empty key removes the password
            self.access_key = None
            return b""
        algorithm = key_field[0] & 0x0F
        if algorithm not in ALGORITHMS or len(key_field) < 2:
            raise ApduError(SW_WRONG_DATA, "bad access key")
        new_key = AccessKey(algorithm, key_field[1:])
        challenge = _required(fields, TAG_CHALLENGE)
        if not hmac.compare_digest(_required(fields, TAG_RESPONSE), new_key.digest(challenge)):
            # 6984, as ykneo-oath answers (yubikit and ykman see only an ApduError).
            raise ApduError(SW_DATA_INVALID, "the host could not prove the new key")
        self.access_key = new_key
        # The session that set the password stays usable (yubikit does not validate after).
        self.unlocked = True
        return b""

    def _validate(self, command: Command) -> bytes:
        """Mutual proof: the host answers the SELECT challenge, the card the host's."""
        if self.access_key is None:
            raise ApduError(SW_DATA_INVALID, "no password set")
        fields = _fields(command.data)
        response = _required(fields, TAG_RESPONSE)
        host_challenge = _required(fields, TAG_CHALLENGE)
        if len(host_challenge) < CHALLENGE_BYTES:
            # ykneo-oath refuses it with 6A80 too (after unlocking; here the lock stays).
            raise ApduError(SW_WRONG_DATA, "host challenge shorter than 8 bytes")
        # choice: the SELECT challenge stays valid until the next SELECT, so a client may retry
        # with another password (ykman does); a wrong answer leaves the lock as it was.
        expected = self.access_key.digest(self._challenge or b"")
        if self._challenge is None or not hmac.compare_digest(response, expected):
            raise ApduError(SW_WRONG_DATA, "wrong password")
        self.unlocked = True
        return tlv.encode(TAG_RESPONSE, self.access_key.digest(host_challenge))

    def _reset(self, command: Command) -> bytes:
        """Factory reset of the applet: new salt (so a new device id), no credentials, no
        password. Allowed while locked: it is how a forgotten password is recovered."""
        if (command.p1, command.p2) != (0xDE, 0xAD):
            raise ApduError(SW_WRONG_P1P2, "RESET needs P1P2 DEAD")
        self.credentials = {}
        self.salt = os.urandom(SALT_BYTES)
        self.access_key = None
        self.unlocked = False
        self._challenge = None
        return b""
