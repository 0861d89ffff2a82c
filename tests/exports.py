"""Authenticator exports built the way each app writes them, for the import tests.

Every builder follows the app's documented layout and encrypts with the documented KDF and
cipher through `cryptography` (and `hmac`/`hashlib`), never through hwotp's importers: the
parser is judged by an independent writer. Ente's secretstream is put together here from
ChaCha20 and Poly1305 as libsodium specifies it, so the parser's libsodium is checked against it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, padding, poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


@dataclass(frozen=True)
class Account:
    """One credential as a test writes it into an export."""

    secret: bytes
    issuer: str
    account: str
    kind: str = "totp"  # totp | hotp
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30
    counter: int = 0

    @property
    def base32(self) -> str:
        return base64.b32encode(self.secret).decode().rstrip("=")

    @property
    def uri(self) -> str:
        label = f"{quote(self.issuer, safe='')}:{quote(self.account, safe='')}"
        extra = f"counter={self.counter}" if self.kind == "hotp" else f"period={self.period}"
        return (
            f"otpauth://{self.kind}/{label}?secret={self.base32}&issuer={quote(self.issuer)}"
            f"&algorithm={self.algorithm}&digits={self.digits}&{extra}"
        )


ACCOUNTS = (
    Account(bytes(range(1, 21)), "Deno", "mason@example.com"),
    Account(bytes(range(40, 72)), "SPDX", "james", algorithm="SHA256", digits=7, period=20),
    Account(bytes(range(100, 164)), "Airbnb", "elijah", algorithm="SHA512", digits=8, period=60),
    Account(bytes(range(200, 220)), "Issuu", "james", kind="hotp", counter=42),
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _seal_gcm(key: bytes, plaintext: bytes, aad: bytes | None = None) -> tuple[bytes, bytes, bytes]:
    """(nonce, ciphertext, tag) of AES-GCM with a fresh 12-byte nonce."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    return nonce, sealed[:-16], sealed[-16:]


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()


# --- Aegis (docs/vault.md) ----------------------------------------------------------------------


def aegis_entry(account: Account, kind: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "secret": account.base32,
        "algo": account.algorithm,
        "digits": account.digits,
    }
    if account.kind == "hotp":
        info["counter"] = account.counter
    else:
        info["period"] = account.period
    return {
        "type": kind or account.kind,
        "uuid": str(uuid.uuid4()),
        "name": account.account,
        "issuer": account.issuer,
        "note": "",
        "favorite": False,
        "icon": None,
        "info": info,
        "groups": [],
    }


def aegis(
    entries: Sequence[dict[str, Any]],
    password: str | None = None,
    *,
    n: int = 2**15,
    biometric_slot: bool = True,
) -> bytes:
    content = {"version": 3, "entries": list(entries), "groups": []}
    if password is None:
        return _json({"version": 1, "header": {"slots": None, "params": None}, "db": content})
    master_key = os.urandom(32)
    nonce, ciphertext, tag = _seal_gcm(master_key, json.dumps(content).encode())
    slots = []
    if biometric_slot:  # wrapped with a key the phone's keystore holds: unusable elsewhere
        k_nonce, k_wrapped, k_tag = _seal_gcm(os.urandom(32), master_key)
        slots.append(_slot(2, k_wrapped, k_nonce, k_tag))
    salt = os.urandom(32)
    kek = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(password.encode())
    k_nonce, k_wrapped, k_tag = _seal_gcm(kek, master_key)
    slots.append(_slot(1, k_wrapped, k_nonce, k_tag) | {"n": n, "r": 8, "p": 1, "salt": salt.hex()})
    header = {"slots": slots, "params": {"nonce": nonce.hex(), "tag": tag.hex()}}
    return _json({"version": 1, "header": header, "db": _b64(ciphertext)})


def _slot(kind: int, wrapped: bytes, nonce: bytes, tag: bytes) -> dict[str, Any]:
    return {
        "type": kind,
        "uuid": str(uuid.uuid4()),
        "key": wrapped.hex(),
        "key_params": {"nonce": nonce.hex(), "tag": tag.hex()},
    }


# --- 2FAS (BackupContent, BackupCipherImpl) -----------------------------------------------------

TWOFAS_REFERENCE = "tRViSsLKzd86Hprh4ceC2OP7xazn4rrt4xhfEUbOjxLX8Rc3mkISXE0lWbmnWfggogbBJhtY"


def twofas_service(
    account: Account, schema: int = 4, token_type: str | None = None
) -> dict[str, Any]:
    otp: dict[str, Any] = {
        "link": account.uri,
        "label": account.account if schema >= 4 else f"{account.issuer}:{account.account}",
        "account": account.account,
        "issuer": account.issuer,
        "digits": account.digits,
        "algorithm": account.algorithm,
        "tokenType": token_type or account.kind.upper(),
        "source": "Link",
    }
    if account.kind == "hotp":
        otp["counter"] = account.counter
    else:
        otp["period"] = account.period
    return {
        "name": account.issuer,
        "secret": account.base32,
        "updatedAt": 1702934567518,
        "otp": otp,
        "order": {"position": 0},
        "icon": {"selected": "Label", "label": {"text": "DE", "backgroundColor": "Yellow"}},
    }


def twofas(
    services: Sequence[dict[str, Any]],
    password: str | None = None,
    *,
    schema: int = 4,
    reference: bool = True,
) -> bytes:
    document: dict[str, Any] = {
        "services": list(services),
        "groups": [],
        "updatedAt": 1702934782660,
        "schemaVersion": schema,
        "appVersionCode": 5000009,
        "appVersionName": "5.1.0",
        "appOrigin": "android",
    }
    if password is None:
        return _json(document)
    salt = os.urandom(256)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=10_000)
    key = kdf.derive(password.encode())

    def field(plaintext: str) -> str:
        iv = os.urandom(12)
        return ":".join(
            (_b64(AESGCM(key).encrypt(iv, plaintext.encode(), None)), _b64(salt), _b64(iv))
        )

    document["services"] = []
    document["servicesEncrypted"] = field(json.dumps(list(services)))
    if reference:
        document["reference"] = field(TWOFAS_REFERENCE)
    return _json(document)


# --- andOTP (Entry.toJSON, BackupHelper) --------------------------------------------------------


def andotp_entry(account: Account, kind: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "secret": account.base32,
        "issuer": account.issuer,
        "label": account.account,
        "digits": account.digits,
        "type": kind or account.kind.upper(),
        "algorithm": account.algorithm,
        "thumbnail": "Default",
        "last_used": 0,
        "used_frequency": 0,
        "tags": [],
    }
    if account.kind == "hotp":
        entry["counter"] = account.counter
    else:
        entry["period"] = account.period
    return entry


def andotp(
    entries: Sequence[dict[str, Any]],
    password: str | None = None,
    *,
    old: bool = False,
    iterations: int = 140_000,
) -> bytes:
    plain = json.dumps(list(entries)).encode()
    if password is None:
        return plain
    if old:
        key = hashlib.sha256(password.encode()).digest()
        nonce, ciphertext, tag = _seal_gcm(key, plain)
        return nonce + ciphertext + tag
    salt = os.urandom(12)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=iterations)
    nonce, ciphertext, tag = _seal_gcm(kdf.derive(password.encode()), plain)
    return struct.pack(">I", iterations) + salt + nonce + ciphertext + tag


# --- Bitwarden ----------------------------------------------------------------------------------


def bitwarden_item(name: str, username: str, totp: str | None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "folderId": None,
        "type": 1,
        "reprompt": 0,
        "name": name,
        "notes": None,
        "favorite": False,
        "login": {"uris": [], "username": username, "password": "hunter2", "totp": totp},
        "collectionIds": None,
    }


def bitwarden(items: Sequence[dict[str, Any]]) -> bytes:
    return _json({"encrypted": False, "folders": [], "items": list(items)})


def bitwarden_csv(rows: Sequence[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    columns = ["folder", "favorite", "type", "name", "notes", "fields", "reprompt", "login_uri",
               "login_username", "login_password", "login_totp"]  # fmt: skip
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for name, username, totp in rows:
        writer.writerow({"type": "login", "name": name, "login_username": username,
                         "login_password": "pw, with a comma", "login_totp": totp})  # fmt: skip
    return out.getvalue().encode()


def _hkdf_expand(prk: bytes, info: bytes) -> bytes:
    """RFC 5869 HKDF-Expand for one 32-byte block: T(1) = HMAC(PRK, info | 0x01)."""
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _enc_string(enc_key: bytes, mac_key: bytes, plaintext: bytes) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.new(mac_key, iv + ciphertext, hashlib.sha256).digest()
    return f"2.{_b64(iv)}|{_b64(ciphertext)}|{_b64(mac)}"


def bitwarden_protected(
    plain: bytes, password: str, *, kdf: str = "pbkdf2", iterations: int = 600_000
) -> bytes:
    salt = _b64(os.urandom(16))
    if kdf == "pbkdf2":
        params = {"kdfType": 0, "kdfIterations": iterations, "kdfMemory": None,
                  "kdfParallelism": None}  # fmt: skip
        derive = PBKDF2HMAC(
            algorithm=hashes.SHA256(), length=32, salt=salt.encode(), iterations=iterations
        )
    else:
        params = {"kdfType": 1, "kdfIterations": 3, "kdfMemory": 16, "kdfParallelism": 2}
        derive = Argon2id(
            salt=hashlib.sha256(salt.encode()).digest(), length=32, iterations=3, lanes=2,
            memory_cost=16 * 1024,
        )  # fmt: skip
    key = derive.derive(password.encode())
    enc_key, mac_key = _hkdf_expand(key, b"enc"), _hkdf_expand(key, b"mac")
    return _json(
        {
            "encrypted": True,
            "passwordProtected": True,
            "salt": salt,
            **params,
            "encKeyValidation_DO_NOT_EDIT": _enc_string(
                enc_key, mac_key, str(uuid.uuid4()).encode()
            ),
            "data": _enc_string(enc_key, mac_key, plain),
        }
    )


# --- FreeOTP+ (SavedTokens) ---------------------------------------------------------------------


def freeotp_token(account: Account, issuer: str | None = None) -> dict[str, Any]:
    return {
        "algo": account.algorithm,
        "counter": account.counter,
        "digits": account.digits,
        "issuerExt": account.issuer if issuer is None else issuer,
        "issuerInt": account.issuer,
        "label": account.account,
        "period": account.period,
        "secret": [b - 256 if b > 127 else b for b in account.secret],  # Java's signed bytes
        "type": account.kind.upper(),
    }


def freeotp(tokens: Sequence[dict[str, Any]]) -> bytes:
    order = [f"{t['issuerExt']}:{t['label']}" for t in tokens]
    return _json({"tokenOrder": order, "tokens": list(tokens)})


# --- Proton Authenticator (exporter.rs, password_exporter.rs) ----------------------------------

PROTON_AAD = b"proton.authenticator.export.v1"


def proton_entry(uri: str, name: str, entry_type: str = "Totp") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "content": {"uri": uri, "entry_type": entry_type, "name": name},
        "note": None,
    }


def proton(entries: Sequence[dict[str, Any]], password: str | None = None) -> bytes:
    plain = json.dumps({"version": 1, "entries": list(entries)}).encode()
    if password is None:
        return plain
    salt = os.urandom(16)
    kdf = Argon2id(salt=salt, length=32, iterations=2, lanes=1, memory_cost=19 * 1024)
    nonce, ciphertext, tag = _seal_gcm(kdf.derive(password.encode()), plain, PROTON_AAD)
    return json.dumps(
        {"version": 1, "salt": _b64(salt), "content": _b64(nonce + ciphertext + tag)}
    ).encode()


# --- Ente Auth (export.md; libsodium crypto_pwhash + crypto_secretstream) -----------------------

_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_TAG_FINAL = 3


def _hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 from cryptography's ChaCha20: its first keystream block is the permuted state
    plus the input state, and HChaCha20 is words 0-3 and 12-15 of the permuted state alone."""
    block = Cipher(algorithms.ChaCha20(key, nonce16), None).encryptor().update(bytes(64))
    words = struct.unpack("<16I", block)
    inputs = struct.unpack("<4I", nonce16)
    out = [(words[i] - _SIGMA[i]) % 2**32 for i in range(4)]
    out += [(words[12 + i] - inputs[i]) % 2**32 for i in range(4)]
    return struct.pack("<8I", *out)


def _chacha20_ietf(key: bytes, nonce12: bytes, counter: int, data: bytes) -> bytes:
    nonce16 = struct.pack("<I", counter) + nonce12
    return Cipher(algorithms.ChaCha20(key, nonce16), None).encryptor().update(data)


def secretstream_push_final(key: bytes, message: bytes) -> tuple[bytes, bytes]:
    """(header, ciphertext) of one crypto_secretstream_xchacha20poly1305 message, TAG_FINAL."""
    header = os.urandom(24)
    subkey = _hchacha20(key, header[:16])
    nonce = struct.pack("<I", 1) + header[16:]
    poly_key = _chacha20_ietf(subkey, nonce, 0, bytes(64))[:32]
    block = _chacha20_ietf(subkey, nonce, 1, bytes([_TAG_FINAL]) + bytes(63))
    ciphertext = _chacha20_ietf(subkey, nonce, 2, message)
    pad = bytes((0x10 - 64 + len(message)) & 0xF)
    mac_input = block + ciphertext + pad + struct.pack("<QQ", 0, 64 + len(message))
    mac = poly1305.Poly1305.generate_tag(poly_key, mac_input)
    return header, block[:1] + ciphertext + mac


def ente(
    text: str, password: str, *, mem_limit: int = 16 * 1024 * 1024, ops_limit: int = 2
) -> bytes:
    salt = os.urandom(16)
    kdf = Argon2id(
        salt=salt, length=32, iterations=ops_limit, lanes=1, memory_cost=mem_limit // 1024
    )
    header, sealed = secretstream_push_final(kdf.derive(password.encode()), text.encode())
    return _json(
        {
            "version": 1,
            "kdfParams": {"memLimit": mem_limit, "opsLimit": ops_limit, "salt": _b64(salt)},
            "encryptedData": _b64(sealed),
            "encryptionNonce": _b64(header),
        }
    )


def ente_line(account: Account, trashed: bool = False) -> str:
    display = json.dumps(
        {"pinned": False, "trashed": trashed, "lastUsedAt": 0, "tapCount": 0, "tags": []},
        separators=(",", ":"),
    )
    return f"{account.uri}&codeDisplay={quote(display, safe='')}"


# --- PSKC (RFC 6030) ----------------------------------------------------------------------------


def pskc_plain(accounts: Sequence[Account], *, extra_keys: str = "") -> bytes:
    """A plain PSKC document written out by hand after RFC 6030's examples (figure 2)."""
    keys = []
    for number, account in enumerate(accounts, start=1):
        kind = account.kind
        data = (
            f"<pskc:Secret><pskc:PlainValue>{_b64(account.secret)}</pskc:PlainValue></pskc:Secret>"
        )
        if kind == "hotp":
            data += (
                f"<pskc:Counter><pskc:PlainValue>{account.counter}</pskc:PlainValue></pskc:Counter>"
            )
        else:
            interval = f"<pskc:PlainValue>{account.period}</pskc:PlainValue>"
            data += f"<pskc:TimeInterval>{interval}</pskc:TimeInterval>"
        keys.append(
            f"""<pskc:KeyPackage>
    <pskc:DeviceInfo><pskc:Manufacturer>Yubico</pskc:Manufacturer></pskc:DeviceInfo>
    <pskc:Key Id="{number}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:{kind}">
      <pskc:Issuer>{account.issuer}</pskc:Issuer>
      <pskc:AlgorithmParameters>
        <pskc:Suite>{account.algorithm}</pskc:Suite>
        <pskc:ResponseFormat Encoding="DECIMAL" Length="{account.digits}"/>
      </pskc:AlgorithmParameters>
      <pskc:Data>{data}</pskc:Data>
      <pskc:UserId>CN={account.account}</pskc:UserId>
    </pskc:Key>
  </pskc:KeyPackage>"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<pskc:KeyContainer Version="1.0" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">\n'
        + "\n".join(keys)
        + extra_keys
        + "\n</pskc:KeyContainer>\n"
    ).encode()


def pskc_protected(accounts: Sequence[Account], passphrase: str, iterations: int = 10_000) -> bytes:
    """A passphrase-protected PSKC file written by python-pskc the way ykman writes one."""
    from pskc import PSKC

    container = PSKC()
    container.encryption.setup_pbkdf2(passphrase, iterations=iterations)
    for account in accounts:
        fields: dict[str, Any] = {
            "secret": account.secret,
            "algorithm": f"urn:ietf:params:xml:ns:keyprov:pskc:{account.kind}",
            "id": "12345678",
            "manufacturer": "Yubico",
            "issuer": account.issuer,
            "key_userid": f"CN={account.account}",
            "friendly_name": f"{account.issuer}:{account.account}",
            "response_length": str(account.digits),
            "response_encoding": "DECIMAL",
            "algorithm_suite": account.algorithm,
        }
        if account.kind == "totp":
            fields["time_interval"] = str(account.period)
        else:
            fields["counter"] = str(account.counter)
        container.add_key(**fields)
    out = io.BytesIO()
    container.write(out)
    return out.getvalue()


# --- reading what hwotp writes, by the apps' documented rules ---------------------------------


def open_aegis(data: bytes, password: str) -> dict:
    """Aegis's vault, opened by the rules of its docs/vault.md, written here independently of
    hwotp's reader: the fields checked by name, type and length."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    document = json.loads(data)
    assert set(document) == {"version", "header", "db"} and document["version"] == 1
    assert set(document["header"]) == {"slots", "params"}
    (slot,) = document["header"]["slots"]
    assert set(slot) == {"type", "uuid", "key", "key_params", "n", "r", "p", "salt", "repaired"}
    assert (slot["type"], slot["n"], slot["r"], slot["p"], slot["repaired"]) == (1, 2**15, 8, 1,
                                                                                True)
    salt, wrapped = bytes.fromhex(slot["salt"]), bytes.fromhex(slot["key"])
    nonce, tag = (bytes.fromhex(slot["key_params"][k]) for k in ("nonce", "tag"))
    assert (len(salt), len(wrapped), len(nonce), len(tag)) == (32, 32, 12, 16)
    assert len(slot["uuid"]) == 36 and slot["uuid"][14] == "4"  # a version 4 UUID
    kek = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(password.encode("utf-8"))
    master_key = AESGCM(kek).decrypt(nonce, wrapped + tag, None)
    params = document["header"]["params"]
    nonce, tag = bytes.fromhex(params["nonce"]), bytes.fromhex(params["tag"])
    assert (len(nonce), len(tag)) == (12, 16)
    db = document["db"]
    assert len(db) % 4 == 0  # base64 with padding
    content = json.loads(AESGCM(master_key).decrypt(nonce, base64.b64decode(db) + tag, None))
    assert set(content) == {"version", "entries"} and content["version"] == 1
    return content
