"""Credentials: ES256 key pairs, the resident store, wrapped ids for non-resident credentials.

Every credential has a 32-byte seed; its P-256 private key and its two hmac-secret CredRandoms
derive from that seed. A credential id is the seed sealed with AES-256-GCM under a device key
(the RP ID hash as associated data), so non-resident credentials need no storage and stop
working after a reset, as on a real key. Resident credentials are kept in the store as well;
their ids carry a resident mark, so a deleted one no longer works as a non-resident one.
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
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .protocols import cose_ec2_public
from .status import KEY_STORE_FULL, CtapFailure

ES256 = -7
ID_VERSION = 1
_FLAG_HMAC_SECRET, _FLAG_RESIDENT = 0x01, 0x02
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)

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
    rp: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    created: int = 0

    @cached_property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        scalar = int.from_bytes(_derive(self.seed, b"ES256 private key"), "big")
        return ec.derive_private_key(scalar % (_P256_ORDER - 1) + 1, ec.SECP256R1())

    def public_cose(self) -> dict[int, Any]:
        return cose_ec2_public(self.private_key.public_key(), ES256)

    def sign(self, message: bytes) -> bytes:
        """ES256 signature, DER encoded as WebAuthn wants."""
        return self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))

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
        self, rp_id_hash: bytes, cred_protect: int, hmac_secret: bool, resident: bool
    ) -> Credential:
        seed = os.urandom(32)
        flags = (_FLAG_HMAC_SECRET if hmac_secret else 0) | (_FLAG_RESIDENT if resident else 0)
        nonce = os.urandom(12)
        sealed = self._wrap.encrypt(nonce, seed + bytes([cred_protect, flags]), rp_id_hash)
        self._created += 1
        return Credential(
            bytes([ID_VERSION]) + nonce + sealed, rp_id_hash, seed, cred_protect,
            hmac_secret, resident, created=self._created,
        )

    def keep(self, credential: Credential) -> None:
        """Stores a resident credential; one per RP and user id (a new one replaces the old)."""
        same = self._same_user(credential)
        if same is None and self.remaining <= 0:
            raise CtapFailure(KEY_STORE_FULL, f"{self.capacity} resident credentials stored")
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
        seed, cred_protect, flags = plain[:32], plain[32], plain[33]
        if flags & _FLAG_RESIDENT:
            return None  # a deleted resident credential
        return Credential(credential_id, rp_id_hash, seed, cred_protect,
                          bool(flags & _FLAG_HMAC_SECRET))

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
