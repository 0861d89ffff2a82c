"""The vault file format (docs/vault-format.md): bytes <-> header, key slots and payload.

Pure: no file access. `cryptography` is imported inside the functions that use it so that
importing hwotp stays fast. No error message here contains key material, a passphrase or a
secret; they name what is wrong, never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hwotp.credential import Credential, CredentialError, fold
from hwotp.errors import InputError, VaultDamagedError, WrongPassphraseError
from hwotp.recovery import MAX_CODES as MAX_RECOVERY_CODES
from hwotp.recovery import MAX_SERVICES, RecoveryCode, RecoveryError, RecoverySet
from hwotp.secret import decode_secret, encode_secret

FORMAT_NAME = "hwotp-vault"
VERSION = 1
SCRYPT_TYPE = "scrypt"
FIDO2_TYPE = "fido2-hmac-secret"
RECOVERY_TYPE = "recovery-key"

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SALT_BYTES = 16
TRAILER_BYTES = 32
PAD_TO = 256

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MIN_FILE_BYTES = 1 + TAG_BYTES + TRAILER_BYTES
MAX_SLOTS = 16

# What writers use, and what readers accept (see "Bounds" in the format document).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_N_RANGE = (2**17, 2**20)
SCRYPT_P_RANGE = (1, 4)
SCRYPT_WORK_BUDGET = 2**22  # sum of n * p over all scrypt slots

# A security key slot (see "Type fido2-hmac-secret" in the format document).
HMAC_SALT_BYTES = 32  # CTAP's hmac-secret takes exactly 32-byte salts
HMAC_OUTPUT_BYTES = 32
CREDENTIAL_ID_RANGE = (16, 1023)  # CTAP 2.1 maxCredentialIdLength; YubiKeys use 64 or more
MAX_LABEL_CHARS = 64
MAX_RP_ID_CHARS = 253  # a DNS name's length
FIDO2_KDF_INFO = b"hwotp vault fido2-hmac-secret kek v1"
# A printed recovery key: 160 random bits (see "Type recovery-key").
RECOVERY_KEY_BYTES = 20
RECOVERY_KDF_INFO = b"hwotp vault recovery-key kek v1"

DAMAGED = "the vault file is damaged or was modified"
WRONG_PASSPHRASE = "wrong passphrase"

_SLOT_ID = re.compile(r"[0-9a-f]{8}\Z")
_HEADER_KEYS = {"format", "nonce", "slots", "version"}
_SCRYPT_KEYS = {"id", "key", "n", "nonce", "p", "r", "salt", "type"}
RECOVERY_MEMBER = "recovery_codes"
_RECOVERY_SET_KEYS = {"codes", "service"}
_RECOVERY_CODE_KEYS = {"code", "used"}
_FIDO2_KEYS = {"aaguid", "credential", "id", "key", "label", "nonce", "rp", "salt", "type", "uv"}
_RECOVERY_KEYS = {"id", "key", "nonce", "salt", "type"}
_VAULT_ID = re.compile(r"[0-9a-f]{32}\Z")
_AAGUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_RP_ID = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?\Z")
_CREDENTIAL_KEYS = (
    "account",
    "algorithm",
    "counter",
    "digits",
    "issuer",
    "kind",
    "period",
    "secret",
)

Slot = Mapping[str, Any]


class _Invalid(Exception):
    """Internal: the header breaks a rule; turned into VaultDamagedError by `parse`."""


@dataclass(frozen=True)
class ScryptSlot:
    """A validated `scrypt` slot."""

    id: str
    n: int
    r: int
    p: int
    salt: bytes
    nonce: bytes
    key: bytes = field(repr=False)
    raw: Slot = field(repr=False, compare=False)


@dataclass(frozen=True)
class Fido2Slot:
    """A validated `fido2-hmac-secret` slot: a security key's credential and the salt whose
    hmac-secret output is the key-encryption key."""

    id: str
    label: str
    credential_id: bytes
    rp_id: str
    salt: bytes
    uv: bool  # the key derives another secret with user verification (PIN) than without
    aaguid: str
    nonce: bytes
    key: bytes = field(repr=False)
    raw: Slot = field(repr=False, compare=False)


@dataclass(frozen=True)
class RecoverySlot:
    """A validated `recovery-key` slot."""

    id: str
    salt: bytes
    nonce: bytes
    key: bytes = field(repr=False)
    raw: Slot = field(repr=False, compare=False)


# Every slot type this version opens; any other is kept as read.
KNOWN_TYPES = (SCRYPT_TYPE, FIDO2_TYPE, RECOVERY_TYPE)


@dataclass(frozen=True)
class Header:
    nonce: bytes
    slots: tuple[Slot, ...]

    def scrypt_slots(self) -> list[ScryptSlot]:
        return [_scrypt_slot(slot) for slot in self.slots if slot["type"] == SCRYPT_TYPE]

    def fido2_slots(self) -> list[Fido2Slot]:
        return [_fido2_slot(slot) for slot in self.slots if slot["type"] == FIDO2_TYPE]

    def recovery_slots(self) -> list[RecoverySlot]:
        return [_recovery_slot(slot) for slot in self.slots if slot["type"] == RECOVERY_TYPE]


@dataclass(frozen=True)
class Envelope:
    """A vault file whose trailer and header have been checked, not yet decrypted."""

    header: Header
    header_line: bytes
    ciphertext: bytes = field(repr=False)


@dataclass
class Payload:
    """The decrypted contents. Unknown JSON members are kept so a rewrite does not drop them."""

    credentials: list[Credential]
    extra: dict[str, Any] = field(default_factory=dict)
    # Counts the writes: 1 for a new vault, one more on every write; 0 for a file written before
    # hwotp counted them. Inside the payload, so it is encrypted and authenticated.
    generation: int = 0
    # When each security key or recovery key slot last opened the vault on purpose (register,
    # `fido2 verify`), by slot id, in Unix seconds. Only the master key's holders need it.
    verified: dict[str, int] = field(default_factory=dict)
    # Keyed by name and secret, which identify a credential: a counter step keeps its unknown
    # members, and two credentials that share a secret never trade them.
    credential_extra: dict[tuple[str, bytes], dict[str, Any]] = field(
        default_factory=dict, repr=False
    )
    # Recovery codes by service (`recovery_codes`; absent in files without any).
    recovery: list[RecoverySet] = field(default_factory=list, repr=False)
    # Random, made with the vault and kept by every write (`vault_id`; files of an hwotp before
    # it have none until their next write): what the generations seen are recorded under.
    vault_id: str | None = None


# --- canonical JSON and base64 ------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _no_floats(text: str) -> Any:
    raise _Invalid("floating point numbers are not allowed in the header")


def _load_canonical(line: bytes) -> Any:
    try:
        value = json.loads(line.decode("ascii"), parse_float=_no_floats, parse_constant=_no_floats)
    except (ValueError, RecursionError) as err:  # JSON, ASCII and int-size errors
        raise _Invalid("the header is not JSON") from err
    if canonical_json(value) != line:
        raise _Invalid("the header is not in canonical form")
    return value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise _Invalid(f"{what} is not a string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise _Invalid(f"{what} is not base64") from err
    if len(data) != length or b64(data) != value:
        raise _Invalid(f"{what} has the wrong length or form")
    return data


def _integer(value: object, what: str) -> int:
    if type(value) is not int:  # JSON true would otherwise pass as 1
        raise _Invalid(f"{what} is not an integer")
    return value


# --- header ----------------------------------------------------------------------------------


def parse(data: bytes) -> Envelope:
    """Check size, trailer and header of a vault file; VaultDamagedError if anything is off."""
    if not MIN_FILE_BYTES <= len(data) <= MAX_FILE_BYTES:
        raise VaultDamagedError(DAMAGED)
    body, trailer = data[:-TRAILER_BYTES], data[-TRAILER_BYTES:]
    if hashlib.sha256(body).digest() != trailer:
        raise VaultDamagedError(DAMAGED)
    header_line, newline, ciphertext = body.partition(b"\n")
    if not newline or len(header_line) > MAX_HEADER_BYTES or len(ciphertext) < TAG_BYTES:
        raise VaultDamagedError(DAMAGED)
    try:
        header = _header(_load_canonical(header_line))
    except _Invalid as err:
        raise VaultDamagedError(f"{DAMAGED} ({err})") from None
    return Envelope(header, header_line, ciphertext)


def _header(value: Any) -> Header:
    if not isinstance(value, dict) or value.get("format") != FORMAT_NAME:
        raise _Invalid("it is not an hwotp vault")
    version = value.get("version")
    if type(version) is not int:
        raise _Invalid("the header has no format version")
    if version != VERSION:
        shown = version if 0 < version < 1000 else "?"  # a modified file may hold any integer
        raise _Invalid(f"format version {shown} is not supported")
    if set(value) != _HEADER_KEYS:
        raise _Invalid("the header has unexpected members")
    nonce = _unb64(value["nonce"], NONCE_BYTES, "the payload nonce")
    slots = value["slots"]
    if not isinstance(slots, list):
        raise _Invalid("the key slots are not a list")
    _check_slots(slots)
    return Header(nonce, tuple(slots))


def slots_problem(slots: Sequence[Slot]) -> str | None:
    """Why a reader would reject this slot list, or None: writers check before writing."""
    try:
        _check_slots(list(slots))
    except _Invalid as err:
        return str(err)
    return None


def _check_slots(slots: list[Any]) -> None:
    if not 1 <= len(slots) <= MAX_SLOTS:
        raise _Invalid(f"a vault has 1 to {MAX_SLOTS} key slots")
    ids = set()
    work = 0
    for slot in slots:
        if not isinstance(slot, dict) or not isinstance(slot.get("type"), str):
            raise _Invalid("a key slot has no type")
        if not isinstance(slot.get("id"), str) or not _SLOT_ID.match(slot["id"]):
            raise _Invalid("a key slot has no valid id")
        ids.add(slot["id"])
        if slot["type"] == SCRYPT_TYPE:
            parsed = _scrypt_slot(slot)
            work += parsed.n * parsed.p
        elif slot["type"] == FIDO2_TYPE:
            _fido2_slot(slot)
        elif slot["type"] == RECOVERY_TYPE:
            _recovery_slot(slot)
    if len(ids) != len(slots):
        raise _Invalid("two key slots have the same id")
    if work > SCRYPT_WORK_BUDGET:
        raise _Invalid("the key slots ask for too much passphrase-hashing work")


def _scrypt_slot(slot: Slot) -> ScryptSlot:
    if set(slot) != _SCRYPT_KEYS:
        raise _Invalid("a passphrase slot has unexpected members")
    n, r, p = (_integer(slot[k], f"scrypt {k}") for k in ("n", "r", "p"))
    low, high = SCRYPT_N_RANGE
    if not low <= n <= high or n & (n - 1):
        raise _Invalid("scrypt n is out of bounds")
    if r != SCRYPT_R or not SCRYPT_P_RANGE[0] <= p <= SCRYPT_P_RANGE[1]:
        raise _Invalid("scrypt r or p is out of bounds")
    return ScryptSlot(
        id=slot["id"],
        n=n,
        r=r,
        p=p,
        salt=_unb64(slot["salt"], SALT_BYTES, "a slot salt"),
        nonce=_unb64(slot["nonce"], NONCE_BYTES, "a slot nonce"),
        key=_unb64(slot["key"], KEY_BYTES + TAG_BYTES, "a wrapped key"),
        raw=slot,
    )


def _fido2_slot(slot: Slot) -> Fido2Slot:
    if set(slot) != _FIDO2_KEYS:
        raise _Invalid("a security key slot has unexpected members")
    label, rp_id, aaguid, uv = slot["label"], slot["rp"], slot["aaguid"], slot["uv"]
    if not isinstance(label, str) or label_problem(label):
        raise _Invalid("a security key slot's label is not valid")
    if not isinstance(rp_id, str) or len(rp_id) > MAX_RP_ID_CHARS or not _RP_ID.match(rp_id):
        raise _Invalid("a security key slot's relying party id is not valid")
    if not isinstance(aaguid, str) or not _AAGUID.match(aaguid):
        raise _Invalid("a security key slot's AAGUID is not valid")
    if type(uv) is not bool:
        raise _Invalid("a security key slot's user verification is not true or false")
    return Fido2Slot(
        id=slot["id"],
        label=label,
        credential_id=_unb64_range(slot["credential"], CREDENTIAL_ID_RANGE, "a credential id"),
        rp_id=rp_id,
        salt=_unb64(slot["salt"], HMAC_SALT_BYTES, "a slot salt"),
        uv=uv,
        aaguid=aaguid,
        nonce=_unb64(slot["nonce"], NONCE_BYTES, "a slot nonce"),
        key=_unb64(slot["key"], KEY_BYTES + TAG_BYTES, "a wrapped key"),
        raw=slot,
    )


def _recovery_slot(slot: Slot) -> RecoverySlot:
    if set(slot) != _RECOVERY_KEYS:
        raise _Invalid("a recovery key slot has unexpected members")
    return RecoverySlot(
        id=slot["id"],
        salt=_unb64(slot["salt"], SALT_BYTES, "a slot salt"),
        nonce=_unb64(slot["nonce"], NONCE_BYTES, "a slot nonce"),
        key=_unb64(slot["key"], KEY_BYTES + TAG_BYTES, "a wrapped key"),
        raw=slot,
    )


def _unb64_range(value: object, bounds: tuple[int, int], what: str) -> bytes:
    """Base64 of a length within `bounds`, in canonical form."""
    if not isinstance(value, str) or not 0 < len(value) <= (bounds[1] + 2) // 3 * 4:
        raise _Invalid(f"{what} has the wrong length or form")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise _Invalid(f"{what} is not base64") from err
    if not bounds[0] <= len(data) <= bounds[1] or b64(data) != value:
        raise _Invalid(f"{what} has the wrong length or form")
    return data


def label_problem(label: str) -> str | None:
    """Why `label` cannot name a security key slot, or None. Labels are shown in the UI: 1 to
    64 characters in NFC without surrounding blanks, no control or format characters."""
    if not label or len(label) > MAX_LABEL_CHARS:
        return f"a label has 1 to {MAX_LABEL_CHARS} characters"
    if unicodedata.normalize("NFC", label).strip() != label:
        return "a label has no surrounding blanks"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
           for char in label):
        return "a label holds no control or invisible characters"
    return None


def header_line(header: Header) -> bytes:
    value = {"format": FORMAT_NAME, "nonce": b64(header.nonce), "slots": list(header.slots)}
    return canonical_json({**value, "version": VERSION})


# --- key slots -------------------------------------------------------------------------------


def _aesgcm(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def slot_aad(slot: Slot) -> bytes:
    """A slot's associated data: the slot without its wrapped key, as canonical JSON."""
    return canonical_json({k: v for k, v in slot.items() if k != "key"})


def wrap(kek: bytes, master_key: bytes, slot_without_key: Slot) -> dict[str, Any]:
    """Return the slot with `key` = the master key wrapped under `kek`."""
    nonce = _unb64(slot_without_key["nonce"], NONCE_BYTES, "a slot nonce")
    sealed = _aesgcm(kek).encrypt(nonce, master_key, slot_aad(slot_without_key))
    return {**slot_without_key, "key": b64(sealed)}


def unwrap(kek: bytes, slot: ScryptSlot | Fido2Slot | RecoverySlot) -> bytes | None:
    """The master key, or None if `kek` does not open the slot."""
    from cryptography.exceptions import InvalidTag

    try:
        return _aesgcm(kek).decrypt(slot.nonce, slot.key, slot_aad(slot.raw))
    except InvalidTag:
        return None


def scrypt_kek(passphrase: str, slot: ScryptSlot) -> bytes:
    """The key-encryption key of a passphrase slot: the expensive step, ~0.5 s at 2^17."""
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return Scrypt(salt=slot.salt, length=KEY_BYTES, n=slot.n, r=slot.r, p=slot.p).derive(password)


Deriver = Callable[[str, ScryptSlot], bytes]


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(ikm)


def fido2_kek(hmac_output: bytes) -> bytes:
    """The key-encryption key of a security key slot: HKDF-SHA256 over the key's hmac-secret
    output for the slot's salt (no HKDF salt: the output is already uniform and per slot)."""
    if len(hmac_output) != HMAC_OUTPUT_BYTES:
        raise ValueError("an hmac-secret output is 32 bytes")
    return _hkdf(hmac_output, None, FIDO2_KDF_INFO)


def recovery_kek(recovery_key: bytes, slot_salt: bytes) -> bytes:
    """The key-encryption key of a recovery key slot: HKDF-SHA256, as the key is 160 random
    bits (no guessing to slow down, so no scrypt)."""
    if len(recovery_key) != RECOVERY_KEY_BYTES:
        raise ValueError("a recovery key is 20 bytes")
    return _hkdf(recovery_key, slot_salt, RECOVERY_KDF_INFO)


def new_fido2_slot(
    master_key: bytes,
    kek: bytes,
    *,
    slot_id: str,
    label: str,
    credential_id: bytes,
    rp_id: str,
    salt: bytes,
    uv: bool,
    aaguid: str,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """A new security key slot wrapping `master_key` under `kek` (from `fido2_kek`)."""
    slot: dict[str, Any] = {
        "aaguid": aaguid,
        "credential": b64(credential_id),
        "id": slot_id,
        "label": label,
        "nonce": b64(nonce or os.urandom(NONCE_BYTES)),
        "rp": rp_id,
        "salt": b64(salt),
        "type": FIDO2_TYPE,
        "uv": uv,
    }
    return wrap(kek, master_key, slot)


def new_recovery_slot(
    master_key: bytes,
    recovery_key: bytes,
    *,
    slot_id: str,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """A new recovery key slot. Fixed randomness is for test vectors only."""
    salt = salt or os.urandom(SALT_BYTES)
    slot: dict[str, Any] = {
        "id": slot_id,
        "nonce": b64(nonce or os.urandom(NONCE_BYTES)),
        "salt": b64(salt),
        "type": RECOVERY_TYPE,
    }
    return wrap(recovery_kek(recovery_key, salt), master_key, slot)


def new_scrypt_slot(
    master_key: bytes,
    passphrase: str,
    *,
    slot_id: str | None = None,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """A new passphrase slot with the default cost. Fixed randomness is for test vectors only."""
    salt = salt or os.urandom(SALT_BYTES)
    nonce = nonce or os.urandom(NONCE_BYTES)
    slot: dict[str, Any] = {
        "id": slot_id or new_slot_id(),
        "n": SCRYPT_N,
        "nonce": b64(nonce),
        "p": SCRYPT_P,
        "r": SCRYPT_R,
        "salt": b64(salt),
        "type": SCRYPT_TYPE,
    }
    params = ScryptSlot(slot["id"], SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, nonce, b"", slot)
    return wrap(scrypt_kek(passphrase, params), master_key, slot)


def new_slot_id(taken: Iterable[str] = ()) -> str:
    taken = set(taken)
    while (slot_id := os.urandom(4).hex()) in taken:
        pass
    return slot_id


def new_master_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_vault_id() -> str:
    return os.urandom(16).hex()


def open_master_key(
    envelope: Envelope, passphrase: str, derive: Deriver = scrypt_kek
) -> tuple[bytes, str]:
    """(master key, id of the slot that opened it); WrongPassphraseError if no slot opens.

    `derive` is a parameter so tests can reuse one derived key across many modified files.
    """
    for slot in envelope.header.scrypt_slots():
        master_key = unwrap(derive(passphrase, slot), slot)
        if master_key is not None:
            return master_key, slot.id
    raise WrongPassphraseError(WRONG_PASSPHRASE)


def open_with_recovery_key(envelope: Envelope, recovery_key: bytes) -> tuple[bytes, str]:
    """(master key, slot id) from the first recovery key slot the key opens; one HKDF each."""
    for slot in envelope.header.recovery_slots():
        master_key = unwrap(recovery_kek(recovery_key, slot.salt), slot)
        if master_key is not None:
            return master_key, slot.id
    raise WrongPassphraseError("the recovery key opens no slot of this vault")


# --- payload ---------------------------------------------------------------------------------


def decrypt(envelope: Envelope, master_key: bytes) -> Payload:
    """Decrypt and parse the payload; VaultDamagedError if it was changed or cannot be read."""
    from cryptography.exceptions import InvalidTag

    try:
        plaintext = _aesgcm(master_key).decrypt(
            envelope.header.nonce, envelope.ciphertext, envelope.header_line
        )
    except InvalidTag:
        raise VaultDamagedError(DAMAGED) from None
    try:
        return _payload(json.loads(plaintext.decode("utf-8")))
    except RecoveryError as err:  # the reason names a line or rule, never a code
        raise VaultDamagedError(f"the vault holds recovery codes hwotp refuses: {err}") from None
    except CredentialError as err:  # a rule newer than the file; the reason names no value
        raise VaultDamagedError(f"the vault holds a credential this hwotp refuses: {err}") from None
    except (ValueError, TypeError, KeyError, RecursionError):
        # Authentic but unreadable: written by something else. Never echo its contents.
        raise VaultDamagedError("the vault's contents are not in a form hwotp can read") from None


def _payload(value: Any) -> Payload:
    if not isinstance(value, dict) or not isinstance(value["credentials"], list):
        raise ValueError("payload")
    generation = value.get("generation", 0)
    if type(generation) is not int or not 0 <= generation < 2**63:
        raise ValueError("generation")
    verified = value.get("verified", {})
    if not isinstance(verified, dict) or not all(
        isinstance(k, str) and _SLOT_ID.match(k) and type(v) is int and 0 <= v < 2**63
        for k, v in verified.items()
    ):
        raise ValueError("verified")
    vault_id = value.get("vault_id")
    if vault_id is not None and not (isinstance(vault_id, str) and _VAULT_ID.match(vault_id)):
        raise ValueError("vault_id")
    known = ("credentials", "generation", "verified", "vault_id", RECOVERY_MEMBER)
    extra = {k: v for k, v in value.items() if k not in known}
    payload = Payload([], extra, generation=generation, verified=dict(verified),
                      vault_id=vault_id)
    payload.recovery = _recovery_sets(value.get(RECOVERY_MEMBER, []))
    for item in value["credentials"]:
        credential = _credential(item)
        payload.credentials.append(credential)
        extra = {k: v for k, v in item.items() if k not in _CREDENTIAL_KEYS}
        if extra:
            payload.credential_extra[_identity(credential)] = extra
    return payload


def _recovery_sets(value: Any) -> list[RecoverySet]:
    """`recovery_codes`: exact members, bounded counts, one set per service (any case)."""
    if not isinstance(value, list) or len(value) > MAX_SERVICES:
        raise ValueError("recovery codes")
    sets = [_recovery_set(item) for item in value]
    services = {fold(item.service) for item in sets}
    if len(services) != len(sets):
        raise RecoveryError("two sets of recovery codes are for one service")
    return sets


def _recovery_set(item: Any) -> RecoverySet:
    if not isinstance(item, dict) or set(item) != _RECOVERY_SET_KEYS:
        raise ValueError("recovery set")
    codes = item["codes"]
    if not isinstance(item["service"], str) or not isinstance(codes, list):
        raise ValueError("recovery set")
    if len(codes) > MAX_RECOVERY_CODES:  # before building anything from a long list
        raise ValueError("recovery codes")
    return RecoverySet(item["service"], tuple(_recovery_code(code) for code in codes))


def _recovery_code(item: Any) -> RecoveryCode:
    if not isinstance(item, dict) or set(item) != _RECOVERY_CODE_KEYS:
        raise ValueError("recovery code")
    if not isinstance(item["code"], str) or type(item["used"]) is not bool:
        raise ValueError("recovery code")
    return RecoveryCode(item["code"], item["used"])


def _credential(item: Any) -> Credential:
    if not isinstance(item, dict):
        raise ValueError("credential")
    for name in ("issuer", "account", "kind", "algorithm", "secret"):
        if not isinstance(item[name], str):
            raise ValueError(name)
    for name in ("digits", "period", "counter"):
        if type(item[name]) is not int:
            raise ValueError(name)
    try:
        return Credential(
            secret=decode_secret(item["secret"]),
            issuer=item["issuer"],
            account=item["account"],
            kind=item["kind"],
            algorithm=item["algorithm"],
            digits=item["digits"],
            period=item["period"],
            counter=item["counter"],
        )
    except InputError as err:  # a secret that is not base32: never echoed
        raise ValueError("credential") from err


def _identity(credential: Credential) -> tuple[str, bytes]:
    return credential.name, credential.secret


def payload_json(payload: Payload) -> bytes:
    items = []
    for c in payload.credentials:
        fields = {
            "account": c.account,
            "algorithm": c.algorithm.value,
            "counter": c.counter,
            "digits": c.digits,
            "issuer": c.issuer,
            "kind": c.kind.value,
            "period": c.period,
            "secret": encode_secret(c.secret),
        }
        items.append({**payload.credential_extra.get(_identity(c), {}), **fields})
    value = {**payload.extra, "credentials": items}
    if payload.generation:  # a file of an hwotp before generations has none
        value["generation"] = payload.generation
    if payload.vault_id is not None:  # nor has one of an hwotp before ids
        value["vault_id"] = payload.vault_id
    if payload.verified:  # nor has a vault opened only by passphrases
        value["verified"] = payload.verified
    if payload.recovery:  # absent when empty: a vault without codes reads as it did before
        value[RECOVERY_MEMBER] = [
            {"codes": [{"code": c.value, "used": c.used} for c in item.codes],
             "service": item.service}
            for item in payload.recovery
        ]
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    plaintext = text.encode("utf-8")
    return plaintext + b" " * (-len(plaintext) % PAD_TO)


# --- whole file ------------------------------------------------------------------------------


def seal(
    slots: Sequence[Slot], master_key: bytes, payload: Payload, *, nonce: bytes | None = None
) -> bytes:
    """The bytes of a vault file. A fresh random nonce unless one is given (test vectors)."""
    header = Header(nonce or os.urandom(NONCE_BYTES), tuple(slots))
    line = header_line(header)
    ciphertext = _aesgcm(master_key).encrypt(header.nonce, payload_json(payload), line)
    body = line + b"\n" + ciphertext
    return body + hashlib.sha256(body).digest()
