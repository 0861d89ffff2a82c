"""authenticatorClientPIN (0x06): PIN set and change, retries, pinUvAuthTokens with permissions.

Retries: 8 in all. Three wrong PINs in a row block PIN use until a power cycle
(PIN_AUTH_BLOCKED); the eighth wrong PIN blocks it for good (PIN_BLOCKED, reset only). When both
happen on one attempt, PIN_BLOCKED wins: it is the state the user has to act on.

getPINRetries without a PIN answers PIN_NOT_SET, as a YubiKey does (ykman only asks for the
retries when getInfo says clientPin is true). The PIN policy of authenticatorConfig lives here:
the minimum PIN length (4 code points until setMinPINLength raises it; it never goes down) and
forcePINChange, under which a right PIN still gets no token (PIN_POLICY_VIOLATION, CTAP 2.1
6.5.5.7 steps after the PIN check) until changePIN sets a new PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .protocols import PinProtocolV1, PinProtocolV2
from .status import CtapFailure, CtapStatus

MAX_RETRIES = 8
FAILURES_UNTIL_POWER_CYCLE = 3
MIN_PIN_LENGTH = 4  # Unicode code points
MAX_PIN_BYTES = 63
PADDED_PIN_BYTES = 64

GET_RETRIES, GET_KEY_AGREEMENT, SET_PIN, CHANGE_PIN, GET_TOKEN_LEGACY = 1, 2, 3, 4, 5
GET_TOKEN_WITH_PERMISSIONS = 9

# Request parameters.
P_PROTOCOL, P_SUBCOMMAND, P_KEY_AGREEMENT, P_AUTH_PARAM = 1, 2, 3, 4
P_NEW_PIN_ENC, P_PIN_HASH_ENC = 5, 6
P_PERMISSIONS, P_RP_ID = 9, 10
# Response members.
R_KEY_AGREEMENT, R_TOKEN, R_RETRIES, R_POWER_CYCLE_STATE = 1, 2, 3, 4

PERMISSION_MC, PERMISSION_GA, PERMISSION_CM = 0x01, 0x02, 0x04
PERMISSION_LBW, PERMISSION_ACFG = 0x10, 0x20
# Bio enrolment (0x08) is refused: a YubiKey 5 has no fingerprint sensor.
SUPPORTED_PERMISSIONS = (PERMISSION_MC | PERMISSION_GA | PERMISSION_CM | PERMISSION_LBW
                         | PERMISSION_ACFG)
NEEDS_RP_ID = PERMISSION_MC | PERMISSION_GA


@dataclass
class PinToken:
    value: bytes = field(repr=False)
    protocol: int
    permissions: int
    rp_id: str | None = None


class ClientPin:
    def __init__(self) -> None:
        self.protocols = {1: PinProtocolV1(), 2: PinProtocolV2()}
        self.pin_hash: bytes | None = None
        self.pin_length = 0  # code points of the current PIN, for setMinPINLength
        self.retries = MAX_RETRIES
        self.min_length = MIN_PIN_LENGTH
        self.force_change = False
        self.power_cycle()

    @property
    def is_set(self) -> bool:
        return self.pin_hash is not None

    def power_cycle(self) -> None:
        """Power-up: new key-agreement keys, no token, the in-a-row count forgotten."""
        self.failures_in_a_row = 0
        self.token: PinToken | None = None
        for protocol in self.protocols.values():
            protocol.regenerate()

    def reset(self) -> None:
        self.pin_hash = None
        self.pin_length = 0
        self.retries = MAX_RETRIES
        self.min_length = MIN_PIN_LENGTH
        self.force_change = False
        self.power_cycle()

    def handle(self, params: Mapping[int, Any]) -> dict[int, Any]:
        sub = params.get(P_SUBCOMMAND)
        if sub is None:
            raise CtapFailure(CtapStatus.MISSING_PARAMETER, "clientPIN without subCommand")
        if sub == GET_RETRIES:
            if not self.is_set:
                raise CtapFailure(CtapStatus.PIN_NOT_SET, "getPINRetries without a PIN")
            return {R_RETRIES: self.retries, R_POWER_CYCLE_STATE: self._auth_blocked}
        protocol = self.protocol(params.get(P_PROTOCOL))
        if sub == GET_KEY_AGREEMENT:
            return {R_KEY_AGREEMENT: protocol.key_agreement()}
        if sub == SET_PIN:
            return self._set_pin(protocol, params)
        if sub == CHANGE_PIN:
            return self._change_pin(protocol, params)
        if sub in (GET_TOKEN_LEGACY, GET_TOKEN_WITH_PERMISSIONS):
            return self._get_token(protocol, params, sub)
        raise CtapFailure(CtapStatus.INVALID_SUBCOMMAND, f"clientPIN subcommand {sub}")

    def protocol(self, version: Any) -> PinProtocolV1:
        if version is None:
            raise CtapFailure(CtapStatus.MISSING_PARAMETER, "pinUvAuthProtocol missing")
        if version not in self.protocols:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER,
                              f"pinUvAuthProtocol {version} unsupported")
        return self.protocols[version]

    @property
    def _auth_blocked(self) -> bool:
        return self.failures_in_a_row >= FAILURES_UNTIL_POWER_CYCLE

    def _set_pin(self, protocol: PinProtocolV1, params: Mapping[int, Any]) -> dict[int, Any]:
        _require(params, P_KEY_AGREEMENT, P_AUTH_PARAM, P_NEW_PIN_ENC)
        if self.is_set:
            raise CtapFailure(CtapStatus.NOT_ALLOWED, "a PIN is set: use changePIN")
        shared = protocol.decapsulate(params[P_KEY_AGREEMENT])
        if not protocol.verify(shared, params[P_NEW_PIN_ENC], params[P_AUTH_PARAM]):
            raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "setPIN pinUvAuthParam")
        self.pin_hash, self.pin_length = _new_pin(protocol, shared, params[P_NEW_PIN_ENC],
                                                  self.min_length)
        self.retries = MAX_RETRIES
        return {}

    def _change_pin(self, protocol: PinProtocolV1, params: Mapping[int, Any]) -> dict[int, Any]:
        _require(params, P_KEY_AGREEMENT, P_AUTH_PARAM, P_NEW_PIN_ENC, P_PIN_HASH_ENC)
        self._check_usable()
        shared = protocol.decapsulate(params[P_KEY_AGREEMENT])
        message = params[P_NEW_PIN_ENC] + params[P_PIN_HASH_ENC]
        if not protocol.verify(shared, message, params[P_AUTH_PARAM]):
            raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "changePIN pinUvAuthParam")
        self._check_pin(protocol, shared, params[P_PIN_HASH_ENC])
        pin_hash, length = _new_pin(protocol, shared, params[P_NEW_PIN_ENC], self.min_length)
        # choice: under forcePINChange the same PIN again is refused (CTAP 2.2 says so; 2.1
        # only asks for a change).
        if self.force_change and pin_hash == self.pin_hash:
            raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION,
                              "forcePINChange needs a different PIN")
        self.pin_hash, self.pin_length = pin_hash, length
        self.force_change = False
        self.token = None  # a new PIN ends every token
        return {}

    def _get_token(
        self, protocol: PinProtocolV1, params: Mapping[int, Any], sub: int
    ) -> dict[int, Any]:
        _require(params, P_KEY_AGREEMENT, P_PIN_HASH_ENC)
        permissions, rp_id = _permissions(params, sub)
        self._check_usable()
        shared = protocol.decapsulate(params[P_KEY_AGREEMENT])
        self._check_pin(protocol, shared, params[P_PIN_HASH_ENC])
        if self.force_change:
            raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION,
                              "forcePINChange: change the PIN first")
        self.token = PinToken(os.urandom(32), protocol.version, permissions, rp_id)
        return {R_TOKEN: protocol.encrypt(shared, self.token.value)}

    def _check_usable(self) -> None:
        if not self.is_set:
            raise CtapFailure(CtapStatus.PIN_NOT_SET)
        if self.retries == 0:
            raise CtapFailure(CtapStatus.PIN_BLOCKED)
        if self._auth_blocked:
            raise CtapFailure(CtapStatus.PIN_AUTH_BLOCKED, "three wrong PINs in a row: power cycle")

    def _check_pin(self, protocol: PinProtocolV1, shared: bytes, pin_hash_enc: Any) -> None:
        if not isinstance(pin_hash_enc, bytes):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "pinHashEnc")
        pin_hash = protocol.decrypt(shared, pin_hash_enc)
        self.retries -= 1  # counted before the comparison, so pulling the key does not help
        if not (self.pin_hash and hmac.compare_digest(pin_hash, self.pin_hash)):
            protocol.regenerate()
            self.failures_in_a_row += 1
            if self.retries == 0:
                raise CtapFailure(CtapStatus.PIN_BLOCKED)
            if self._auth_blocked:
                raise CtapFailure(CtapStatus.PIN_AUTH_BLOCKED)
            raise CtapFailure(CtapStatus.PIN_INVALID)
        self.retries = MAX_RETRIES
        self.failures_in_a_row = 0

    def verify_token(
        self, version: Any, auth_param: Any, message: bytes, permission: int, rp_id: str | None
    ) -> None:
        """Checks a pinUvAuthParam made with the current token; PIN_AUTH_INVALID otherwise.
        A token without an RP ID is bound to the first RP it is used for."""
        protocol = self.protocol(version)
        token = self.token
        if token is None or token.protocol != version:
            raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "no token for this protocol")
        if not protocol.verify(token.value, message, auth_param):
            raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "pinUvAuthParam does not verify")
        if not token.permissions & permission:
            raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "token lacks the permission")
        if rp_id is not None:
            if token.rp_id not in (None, rp_id):
                raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "token is bound to another RP")
            token.rp_id = rp_id

    def set_min_length(self, length: int, force_change: bool) -> None:
        """setMinPINLength (CTAP 2.1 6.11.4): never lower; a shorter current PIN, or
        forceChangePin, makes the next getPinToken fail until changePIN."""
        if length < self.min_length:
            raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION,
                              "the minimum PIN length cannot go down")
        if force_change and not self.is_set:
            raise CtapFailure(CtapStatus.PIN_NOT_SET, "forceChangePin without a PIN")
        self.min_length = length
        if force_change or (self.is_set and self.pin_length < length):
            self.force_change = True
            self.token = None

    def presence_used(self) -> None:
        """After a touch in makeCredential/getAssertion the token's permissions are spent."""
        if self.token is not None:
            self.token.permissions &= PERMISSION_LBW


def _require(params: Mapping[int, Any], *keys: int) -> None:
    missing = [key for key in keys if key not in params]
    if missing:
        raise CtapFailure(CtapStatus.MISSING_PARAMETER, f"clientPIN parameters {missing} missing")


def _permissions(params: Mapping[int, Any], sub: int) -> tuple[int, str | None]:
    if sub == GET_TOKEN_LEGACY:
        if P_PERMISSIONS in params or P_RP_ID in params:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "getPinToken takes no permissions")
        return PERMISSION_MC | PERMISSION_GA, None
    _require(params, P_PERMISSIONS)
    permissions, rp_id = params[P_PERMISSIONS], params.get(P_RP_ID)
    if not isinstance(permissions, int) or permissions <= 0:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "permissions must be a positive integer")
    if permissions & ~SUPPORTED_PERMISSIONS:
        raise CtapFailure(CtapStatus.UNAUTHORIZED_PERMISSION, "bio enrolment, large blobs, config")
    if permissions & NEEDS_RP_ID and rp_id is None:
        raise CtapFailure(CtapStatus.MISSING_PARAMETER, "mc and ga permissions need an rpId")
    return permissions, rp_id


def _new_pin(
    protocol: PinProtocolV1, shared: bytes, new_pin_enc: Any, min_length: int
) -> tuple[bytes, int]:
    """The new PIN's LEFT(SHA-256, 16) and its length in code points."""
    if not isinstance(new_pin_enc, bytes):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "newPinEnc")
    padded = protocol.decrypt(shared, new_pin_enc)
    if len(padded) != PADDED_PIN_BYTES:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "the padded PIN must be 64 bytes")
    pin = padded.split(b"\0", 1)[0]
    try:
        length = len(pin.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION, "PIN is not UTF-8") from error
    if length < min_length or len(pin) > MAX_PIN_BYTES:
        raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION, "PIN length")
    return hashlib.sha256(pin).digest()[:16], length
