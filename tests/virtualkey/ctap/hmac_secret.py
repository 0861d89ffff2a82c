"""The hmac-secret extension (CTAP 2.1 section 12.5): a per-credential PRF for the platform.

At registration the credential is marked; at assertion the platform sends one or two 32-byte
salts encrypted under a PIN-protocol shared secret, and gets HMAC-SHA-256(CredRandom, salt)
back encrypted the same way. CredRandomWithUV is used when the user was verified (PIN token),
CredRandomWithoutUV otherwise, so the two give different outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .credentials import Credential
from .pin import ClientPin
from .protocols import PinProtocolV1, hmac_sha256
from .status import CtapFailure, CtapStatus

NAME = "hmac-secret"
SALT_BYTES = 32
K_KEY_AGREEMENT, K_SALT_ENC, K_SALT_AUTH, K_PROTOCOL = 1, 2, 3, 4


def registration_input(value: Any) -> bool:
    """True when the platform asks for hmac-secret on a new credential."""
    if not isinstance(value, bool):
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, "hmac-secret at registration is a bool")
    return value


@dataclass(frozen=True)
class SaltRequest:
    protocol: PinProtocolV1
    shared: bytes = field(repr=False)
    salts: tuple[bytes, ...]

    def output(self, credential: Credential, user_verified: bool) -> bytes | None:
        """The encrypted outputs for one credential; None if it was made without hmac-secret."""
        if not credential.hmac_secret:
            return None
        key = credential.cred_random(user_verified)
        plain = b"".join(hmac_sha256(key, salt) for salt in self.salts)
        return self.protocol.encrypt(self.shared, plain)


def assertion_input(value: Any, pin: ClientPin) -> SaltRequest:
    """Checks saltAuth and decrypts the salts (PIN protocol 1 by default, as the spec says)."""
    if not isinstance(value, Mapping):
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, "hmac-secret input is a map")
    if any(key not in value for key in (K_KEY_AGREEMENT, K_SALT_ENC, K_SALT_AUTH)):
        raise CtapFailure(CtapStatus.MISSING_PARAMETER,
                          "hmac-secret needs keyAgreement, saltEnc, saltAuth")
    protocol = pin.protocol(value.get(K_PROTOCOL, 1))
    shared = protocol.decapsulate(value[K_KEY_AGREEMENT])
    salt_enc = value[K_SALT_ENC]
    if not isinstance(salt_enc, bytes):
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, "saltEnc is a byte string")
    if not protocol.verify(shared, salt_enc, value[K_SALT_AUTH]):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "saltAuth does not verify")
    plain = protocol.decrypt(shared, salt_enc)
    if len(plain) not in (SALT_BYTES, 2 * SALT_BYTES):
        raise CtapFailure(CtapStatus.INVALID_LENGTH, "one or two 32-byte salts")
    salts = tuple(plain[i : i + SALT_BYTES] for i in range(0, len(plain), SALT_BYTES))
    return SaltRequest(protocol, shared, salts)
