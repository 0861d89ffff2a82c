"""Credentials: ES256, EdDSA and ES384 key pairs, the resident store, wrapped ids for
non-resident credentials.

Every credential has a 32-byte seed; its private key (P-256, Ed25519 or P-384, as its algorithm
says), its two hmac-secret CredRandoms and its largeBlobKey derive from that seed. A credential
id is the seed, the algorithm, the credProtect level, flags and the credBlob sealed with
AES-256-GCM under a device key (the RP ID hash as associated data), so non-resident credentials
need no storage and stop working after a reset, as on a real key. Resident credentials are kept
in the store as well; their ids carry a resident mark, so a deleted one no longer works as a
non-resident one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .protocols import cose_ec2_public, cose_okp_public
from .status import CtapFailure, CtapStatus

# COSE algorithms, in the order a YubiKey 5.7 lists them in getInfo (CTAP 2.1 6.4, member 0x0A).
ES256, EDDSA, ES384 = -7, -8, -35
ALGORITHMS = (ES256, EDDSA, ES384)
ID_VERSION = 2
_FLAG_HMAC_SECRET, _FLAG_RESIDENT, _FLAG_LARGE_BLOB_KEY = 0x01, 0x02, 0x04
_ORDERS = {
    ES256: int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16),
    ES384: int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77A"
               "ECEC196ACCC52973", 16),
}
_CURVES = {ES256: ec.SECP256R1, ES384: ec.SECP384R1}
_HASHES = {ES256: hashes.SHA256, ES384: hashes.SHA384}

# credProtect levels (CTAP 2.1 section 12.1).
UV_OPTIONAL, UV_OPTIONAL_WITH_LIST, UV_REQUIRED = 1, 2, 3


@dataclass
class Credential:
    id: bytes
    rp_id_hash: bytes
    seed: bytes = field(repr=False)  # the private key and CredRandoms derive from it
    cred_protect: int = UV_OPTIONAL
    hmac_secret: bool = False
    resident: bool = False
    algorithm: int = ES256
    cred_blob: bytes = field(default=b"", repr=False)
    large_blob_key: bool = False  # made with the largeBlobKey extension
    rp: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    created: int = 0

    @cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
        if self.algorithm == EDDSA:
            return ed25519.Ed25519PrivateKey.from_private_bytes(
                _derive(self.seed, b"EdDSA private key"))
        label = b"ES256 private key" if self.algorithm == ES256 else b"ES384 private key"
        material = _derive(self.seed, label) + _derive(self.seed, label + b" more")
        order = _ORDERS[self.algorithm]
        scalar = int.from_bytes(material, "big") % (order - 1) + 1
        return ec.derive_private_key(scalar, _CURVES[self.algorithm]())

    def public_cose(self) -> dict[int, Any]:
        public = self.private_key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            return cose_okp_public(public, EDDSA)
        return cose_ec2_public(public, self.algorithm)

    def sign(self, message: bytes) -> bytes:
        """ES256/ES384: ECDSA over SHA-256/SHA-384, DER encoded as WebAuthn wants; EdDSA:
        the 64-byte Ed25519 signature of the message itself (RFC 8032, no pre-hash)."""
        key = self.private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(message)
        return key.sign(message, ec.ECDSA(_HASHES[self.algorithm]()))

    def large_blob_key_value(self) -> bytes:
        """The largeBlobKey (CTAP 2.1 12.3): 32 bytes, fixed for the credential's life."""
        return _derive(self.seed, b"largeBlobKey")

    def cred_random(self, user_verified: bool) -> bytes:
        """CredRandomWithUV or CredRandomWithoutUV: the hmac-secret key."""
        label = b"CredRandomWithUV" if user_verified else b"CredRandomWithoutUV"
        return _derive(self.seed, label)

    def usable(self, user_verified: bool, listed: bool) -> bool:
        """credProtect: level 3 needs UV, level 2 needs UV or the id in an allow list."""
        if self.cred_protect == UV_REQUIRED:
            return user_verified
        if self.cred_protect == UV_OPTIONAL_WITH_LIST:
            return user_verified or listed
        return True

    @property
    def user_id(self) -> bytes:
        return self.user.get("id", b"")


def _derive(seed: bytes, label: bytes) -> bytes:
    return hmac.new(seed, label, hashlib.sha256).digest()


class CredentialStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.reset()

    def reset(self) -> None:
        """Forgets every credential: resident ones are deleted, wrapped ids no longer open."""
        self.resident: list[Credential] = []
        self._wrap = AESGCM(AESGCM.generate_key(bit_length=256))
        self._created = 0

    @property
    def remaining(self) -> int:
        return self.capacity - len(self.resident)

    def create(
        self, rp_id_hash: bytes, cred_protect: int, hmac_secret: bool, resident: bool,
        algorithm: int = ES256, cred_blob: bytes = b"", large_blob_key: bool = False,
    ) -> Credential:
        seed = os.urandom(32)
        flags = (_FLAG_HMAC_SECRET if hmac_secret else 0) | (_FLAG_RESIDENT if resident else 0)
        flags |= _FLAG_LARGE_BLOB_KEY if large_blob_key else 0
        nonce = os.urandom(12)
        plain = seed + bytes([cred_protect, flags, ALGORITHMS.index(algorithm)]) + cred_blob
        sealed = self._wrap.encrypt(nonce, plain, rp_id_hash)
        self._created += 1
        return Credential(
            bytes([ID_VERSION]) + nonce + sealed, rp_id_hash, seed, cred_protect,
            hmac_secret, resident, algorithm, cred_blob, large_blob_key, created=self._created,
        )

    def keep(self, credential: Credential) -> None:
        """Stores a resident credential; one per RP and user id (a new one replaces the old)."""
        same = self._same_user(credential)
        if same is None and self.remaining <= 0:
            raise CtapFailure(CtapStatus.KEY_STORE_FULL,
                              f"{self.capacity} resident credentials stored")
        if same is not None:
            self.resident.remove(same)
        self.resident.append(credential)

    def _same_user(self, credential: Credential) -> Credential | None:
        for stored in self.resident:
            if stored.rp_id_hash == credential.rp_id_hash and stored.user_id == credential.user_id:
                return stored
        return None

    def find(self, credential_id: Any, rp_id_hash: bytes) -> Credential | None:
        """The credential with this id for this RP, resident or wrapped; None if not ours."""
        if not isinstance(credential_id, bytes):
            return None
        for stored in self.resident:
            if stored.id == credential_id:
                return stored if stored.rp_id_hash == rp_id_hash else None
        return self._unwrap(credential_id, rp_id_hash)

    def _unwrap(self, credential_id: bytes, rp_id_hash: bytes) -> Credential | None:
        if len(credential_id) < 13 or credential_id[0] != ID_VERSION:
            return None
        try:
            plain = self._wrap.decrypt(credential_id[1:13], credential_id[13:], rp_id_hash)
        except InvalidTag:
            return None
        seed, cred_protect, flags, algorithm = plain[:32], plain[32], plain[33], plain[34]
        if flags & _FLAG_RESIDENT:
            return None  # a deleted resident credential
        return Credential(credential_id, rp_id_hash, seed, cred_protect,
                          bool(flags & _FLAG_HMAC_SECRET), algorithm=ALGORITHMS[algorithm],
                          cred_blob=plain[35:], large_blob_key=bool(flags & _FLAG_LARGE_BLOB_KEY))

    def discoverable(self, rp_id_hash: bytes) -> list[Credential]:
        """Resident credentials of one RP, the most recent first."""
        found = [c for c in self.resident if c.rp_id_hash == rp_id_hash]
        return sorted(found, key=lambda c: c.created, reverse=True)

    def delete(self, credential_id: Any) -> bool:
        for stored in self.resident:
            if stored.id == credential_id:
                self.resident.remove(stored)
                return True
        return False
