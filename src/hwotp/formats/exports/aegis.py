"""Aegis Authenticator's encrypted vault (Aegis `docs/vault.md`, repo beemdevelopment/Aegis),
which Aegis imports on a phone.

A random 256-bit master key encrypts the content (`{version: 1, entries}`, UTF-8 JSON) with
AES-256-GCM: `db` is its base64 (padded), `header.params` the 12-byte nonce and 16-byte tag in
hex. One password slot (type 1) wraps the master key with AES-256-GCM under the key scrypt
derives from the UTF-8 password (N 2^15, r 8, p 1, a random 32-byte salt, as Aegis writes);
`repaired: true` as Aegis writes on its own slots (the password is encoded as UTF-8, not by the
old Aegis versions' faulty conversion). Entries: `{type, uuid, name (the account), issuer, icon,
info: {secret (base32, unpadded), algo, digits, period | counter}}`.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Sequence
from typing import Any

from hwotp.credential import Credential, Kind
from hwotp.secret import encode_secret

LABEL = "Aegis"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def write(credentials: Sequence[Credential], password: str) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    master_key = AESGCM.generate_key(bit_length=256)
    content = json.dumps({"version": 1, "entries": [_entry(c) for c in credentials]})
    nonce = os.urandom(12)
    sealed = AESGCM(master_key).encrypt(nonce, content.encode("utf-8"), None)
    salt = os.urandom(32)
    wrapping_key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
        password.encode("utf-8")
    )
    slot_nonce = os.urandom(12)
    wrapped = AESGCM(wrapping_key).encrypt(slot_nonce, master_key, None)
    slot = {
        "type": 1,
        "uuid": str(uuid.uuid4()),
        "key": wrapped[:-16].hex(),
        "key_params": {"nonce": slot_nonce.hex(), "tag": wrapped[-16:].hex()},
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": salt.hex(),
        "repaired": True,
    }
    document = {
        "version": 1,
        "header": {"slots": [slot], "params": {"nonce": nonce.hex(), "tag": sealed[-16:].hex()}},
        "db": base64.b64encode(sealed[:-16]).decode("ascii"),
    }
    return (json.dumps(document, indent=4) + "\n").encode("utf-8")


def _entry(credential: Credential) -> dict[str, Any]:
    info: dict[str, Any] = {
        "secret": encode_secret(credential.secret),
        "algo": credential.algorithm.value,
        "digits": credential.digits,
    }
    if credential.kind is Kind.TOTP:
        info["period"] = credential.period
    else:
        info["counter"] = credential.counter
    if credential.steam:  # Aegis's own Steam type: five characters, SHA-1, 30 s
        info |= {"digits": 5, "period": 30, "algo": "SHA1"}
    return {
        "type": "steam" if credential.steam else credential.kind.value,
        "uuid": str(uuid.uuid4()),
        "name": credential.account,
        "issuer": credential.issuer,
        "icon": None,
        "info": info,
    }
