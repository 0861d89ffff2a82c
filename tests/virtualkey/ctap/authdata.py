"""Authenticator data (WebAuthn section 6.1): what makeCredential and getAssertion sign."""

from __future__ import annotations

from typing import Any

from . import cbor
from .credentials import Credential

FLAG_UP, FLAG_UV, FLAG_AT, FLAG_ED = 0x01, 0x04, 0x40, 0x80


def authenticator_data(
    rp_id_hash: bytes,
    flags: int,
    counter: int,
    attested: bytes = b"",
    extensions: dict[str, Any] | None = None,
) -> bytes:
    """rpIdHash | flags | signCount | attested credential data | extensions; AT and ED are
    set here from what is present."""
    if attested:
        flags |= FLAG_AT
    if extensions:
        flags |= FLAG_ED
    tail = cbor.encode(extensions) if extensions else b""
    return rp_id_hash + bytes([flags]) + counter.to_bytes(4, "big") + attested + tail


def attested_credential(aaguid: bytes, credential: Credential) -> bytes:
    """aaguid | credentialIdLength | credentialId | credentialPublicKey (COSE)."""
    cid = credential.id
    return aaguid + len(cid).to_bytes(2, "big") + cid + cbor.encode(credential.public_cose())
