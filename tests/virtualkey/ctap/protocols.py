"""PIN/UV auth protocols 1 and 2, authenticator side (CTAP 2.1 section 6.5.6 and 6.5.7).

Each protocol owns a P-256 key-agreement key, made at power-up and again after a wrong PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .status import CtapFailure, CtapStatus

COSE_KTY_OKP, COSE_KTY_EC2, COSE_CRV_P256, COSE_ALG_ECDH_ES_HKDF_256 = 1, 2, 1, -25
COSE_CRV_P384, COSE_CRV_ED25519 = 2, 6


def cose_ec2_public(key: ec.EllipticCurvePublicKey, alg: int) -> dict[int, Any]:
    """A P-256 or P-384 public key as a COSE_Key map (RFC 9053 7.1.1: kty 2, crv 1 or 2)."""
    numbers = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    return {
        1: COSE_KTY_EC2,
        3: alg,
        -1: COSE_CRV_P384 if key.curve.key_size == 384 else COSE_CRV_P256,
        -2: numbers.x.to_bytes(size, "big"),
        -3: numbers.y.to_bytes(size, "big"),
    }


def cose_okp_public(key: ed25519.Ed25519PublicKey, alg: int) -> dict[int, Any]:
    """An Ed25519 public key as a COSE_Key map (RFC 9053 7.2: kty 1 OKP, crv 6, x)."""
    return {1: COSE_KTY_OKP, 3: alg, -1: COSE_CRV_ED25519, -2: key.public_bytes_raw()}


def parse_peer_key(cose: Any) -> ec.EllipticCurvePublicKey:
    """The platform's key-agreement key; INVALID_PARAMETER unless a P-256 point."""
    if not isinstance(cose, Mapping):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "keyAgreement is not a COSE key")
    x, y = cose.get(-2), cose.get(-3)
    if cose.get(1) != COSE_KTY_EC2 or cose.get(-1) != COSE_CRV_P256:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "keyAgreement is not an EC2 P-256 key")
    if not (isinstance(x, bytes) and isinstance(y, bytes) and len(x) == len(y) == 32):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "keyAgreement coordinates")
    try:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        )
        return numbers.public_key()
    except ValueError as error:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER,
                          "keyAgreement is not on the curve") from error


def _aes_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    if len(data) % 16:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "ciphertext is not whole AES blocks")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


class PinProtocolV1:
    version = 1

    def __init__(self) -> None:
        self.regenerate()

    def regenerate(self) -> None:
        """A fresh key-agreement key (power-up, wrong PIN)."""
        self._key = ec.generate_private_key(ec.SECP256R1())

    def key_agreement(self) -> dict[int, Any]:
        return cose_ec2_public(self._key.public_key(), COSE_ALG_ECDH_ES_HKDF_256)

    def decapsulate(self, peer_cose: Any) -> bytes:
        """The shared secret with the platform's key-agreement key."""
        z = self._key.exchange(ec.ECDH(), parse_peer_key(peer_cose))
        return self.kdf(z)

    def kdf(self, z: bytes) -> bytes:
        return hashlib.sha256(z).digest()

    def encrypt(self, key: bytes, plaintext: bytes) -> bytes:
        return _aes_cbc(key, bytes(16), plaintext, encrypt=True)

    def decrypt(self, key: bytes, ciphertext: bytes) -> bytes:
        return _aes_cbc(key, bytes(16), ciphertext, encrypt=False)

    def authenticate(self, key: bytes, message: bytes) -> bytes:
        return hmac_sha256(key, message)[:16]

    def verify(self, key: bytes, message: bytes, signature: Any) -> bool:
        expected = self.authenticate(key, message)
        return isinstance(signature, bytes) and hmac.compare_digest(expected, signature)


class PinProtocolV2(PinProtocolV1):
    version = 2

    def kdf(self, z: bytes) -> bytes:
        return _hkdf(z, b"CTAP2 HMAC key") + _hkdf(z, b"CTAP2 AES key")

    def encrypt(self, key: bytes, plaintext: bytes) -> bytes:
        iv = os.urandom(16)
        return iv + _aes_cbc(key[32:], iv, plaintext, encrypt=True)

    def decrypt(self, key: bytes, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 16:
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "ciphertext shorter than its IV")
        return _aes_cbc(key[32:], ciphertext[:16], ciphertext[16:], encrypt=False)

    def authenticate(self, key: bytes, message: bytes) -> bytes:
        # A 64-byte shared secret authenticates with its first half; a 32-byte token as is.
        return hmac_sha256(key[:32], message)


def _hkdf(z: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)
