"""authenticatorMakeCredential (0x01): ES256, EdDSA or ES384, packed self attestation.

The order of checks follows CTAP 2.1 section 6.1.2: parameters, algorithms (the first entry of
pubKeyCredParams the key supports wins, step 3), options, the pinUvAuthParam (with alwaysUv on,
one is required: step 6), the exclude list (a match still waits for a touch, then
CREDENTIAL_EXCLUDED), extensions, user presence, then the resident store (KEY_STORE_FULL comes
after the touch).

Extensions (CTAP 2.1 section 12): credProtect, hmac-secret, credBlob (12.2: at most
maxCredBlobLength = 32 bytes are kept, the output says whether they were), largeBlobKey (12.3:
true only; the key comes back as member 0x05 of the answer) and minPinLength (12.4: the
current minimum PIN length, only for RP IDs that setMinPINLength listed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import hmac_secret
from .authdata import FLAG_UP, FLAG_UV, attested_credential, authenticator_data
from .credentials import ALGORITHMS, UV_OPTIONAL, UV_REQUIRED, Credential
from .pin import PERMISSION_MC
from .request import Interaction, optional, required
from .status import CtapFailure, CtapStatus

if TYPE_CHECKING:
    from .authenticator import Authenticator

(P_CLIENT_DATA_HASH, P_RP, P_USER, P_ALGORITHMS, P_EXCLUDE, P_EXTENSIONS, P_OPTIONS,
 P_AUTH_PARAM, P_PROTOCOL) = range(1, 10)
MAX_USER_ID = 64
MAX_CRED_BLOB_LENGTH = 32  # a YubiKey 5.7's getInfo 0x0F
CRED_PROTECT, CRED_BLOB, LARGE_BLOB_KEY, MIN_PIN_LENGTH = (
    "credProtect", "credBlob", "largeBlobKey", "minPinLength",
)
R_LARGE_BLOB_KEY = 5


def make_credential(
    auth: Authenticator, params: Mapping[int, Any], interaction: Interaction
) -> dict[int, Any]:
    client_data_hash = required(params, P_CLIENT_DATA_HASH, bytes)
    rp_id = required(required(params, P_RP, Mapping), "id", str)
    rp_entity, user = params[P_RP], required(params, P_USER, Mapping)
    user_id = required(user, "id", bytes)
    if len(user_id) > MAX_USER_ID:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "user id longer than 64 bytes")
    algorithm = _choose_algorithm(required(params, P_ALGORITHMS, list))
    options = optional(params, P_OPTIONS, Mapping, {})
    resident = _check_options(options)
    user_verified = auth.user_verified(
        optional(params, P_AUTH_PARAM, bytes), params.get(P_PROTOCOL), client_data_hash,
        PERMISSION_MC, rp_id, interaction,
    )
    if auth.pin.is_set and resident and not user_verified:
        # makeCredUvNotRqd: only discoverable credentials need the PIN once one is set
        raise CtapFailure(CtapStatus.PUAT_REQUIRED, "a discoverable credential needs the PIN")
    wanted = _extensions(optional(params, P_EXTENSIONS, Mapping, {}))
    rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
    if _excluded(auth, optional(params, P_EXCLUDE, list, []), rp_id_hash, user_verified):
        auth.wait_for_presence(interaction)
        raise CtapFailure(CtapStatus.CREDENTIAL_EXCLUDED)
    auth.wait_for_presence(interaction)
    auth.pin.presence_used()
    blob = wanted.cred_blob if len(wanted.cred_blob or b"") <= MAX_CRED_BLOB_LENGTH else None
    credential = auth.store.create(rp_id_hash, wanted.cred_protect, wanted.hmac_secret, resident,
                                   algorithm, blob or b"", wanted.large_blob_key)
    if resident:
        credential.rp = {k: v for k, v in rp_entity.items() if k in ("id", "name")}
        credential.user = {k: v for k, v in user.items() if k in ("id", "name", "displayName")}
        auth.store.keep(credential)
    outputs: dict[str, Any] = {}
    if credential.hmac_secret:
        outputs[hmac_secret.NAME] = True
    if credential.cred_protect != UV_OPTIONAL:
        outputs[CRED_PROTECT] = credential.cred_protect
    if wanted.cred_blob is not None:
        outputs[CRED_BLOB] = blob is not None
    if wanted.min_pin_length and rp_id in auth.min_pin_length_rp_ids:
        outputs[MIN_PIN_LENGTH] = auth.pin.min_length
    answer = _attestation(auth, credential, client_data_hash, user_verified, outputs)
    if wanted.large_blob_key:
        answer[R_LARGE_BLOB_KEY] = credential.large_blob_key_value()
    return answer


def _attestation(
    auth: Authenticator, credential: Credential, client_data_hash: bytes, user_verified: bool,
    outputs: dict[str, Any],
) -> dict[int, Any]:
    """The attestation object: packed self attestation, signed by the new credential."""
    flags = FLAG_UP | (FLAG_UV if user_verified else 0)
    data = authenticator_data(credential.rp_id_hash, flags, auth.next_counter(),
                              attested_credential(auth.aaguid, credential), outputs)
    statement = {"alg": credential.algorithm, "sig": credential.sign(data + client_data_hash)}
    return {1: "packed", 2: data, 3: statement}


def _choose_algorithm(algorithms: list[Any]) -> int:
    """The first public-key entry with an algorithm the key has (CTAP 2.1 6.1.2 step 3)."""
    for entry in algorithms:
        if not isinstance(entry, Mapping):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "pubKeyCredParams entry is not a map")
        if entry.get("type") == "public-key" and entry.get("alg") in ALGORITHMS:
            return entry["alg"]
    raise CtapFailure(CtapStatus.UNSUPPORTED_ALGORITHM,
                      "ES256 (-7), EdDSA (-8) and ES384 (-35) only")


def _check_options(options: Mapping[str, Any]) -> bool:
    """Returns rk. There is no built-in UV (uv: true is refused) and up cannot be turned off."""
    for name, value in options.items():
        if not isinstance(value, bool):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, f"option {name} is not a bool")
    if options.get("uv") or options.get("up") is False:
        raise CtapFailure(CtapStatus.INVALID_OPTION,
                          "no built-in user verification; up cannot be off")
    return bool(options.get("rk", False))


@dataclass
class _Wanted:
    """What the platform asked for in the extensions map."""

    cred_protect: int = UV_OPTIONAL
    hmac_secret: bool = False
    cred_blob: bytes | None = None
    large_blob_key: bool = False
    min_pin_length: bool = False


def _extensions(extensions: Mapping[str, Any]) -> _Wanted:
    """Unknown extensions are ignored (CTAP 2.1 6.1.2 step 10)."""
    wanted = _Wanted()
    wanted.cred_protect = extensions.get(CRED_PROTECT, UV_OPTIONAL)
    if wanted.cred_protect not in (1, 2, 3) or isinstance(wanted.cred_protect, bool):
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "credProtect is 1, 2 or 3")
    if hmac_secret.NAME in extensions:
        wanted.hmac_secret = hmac_secret.registration_input(extensions[hmac_secret.NAME])
    if CRED_BLOB in extensions:
        wanted.cred_blob = optional(extensions, CRED_BLOB, bytes)
    if LARGE_BLOB_KEY in extensions:
        if extensions[LARGE_BLOB_KEY] is not True:
            # CTAP 2.1 12.3: "If the value is not true, return CTAP2_ERR_INVALID_OPTION"
            raise CtapFailure(CtapStatus.INVALID_OPTION, "largeBlobKey is true or absent")
        wanted.large_blob_key = True
    if MIN_PIN_LENGTH in extensions:
        if not isinstance(extensions[MIN_PIN_LENGTH], bool):
            raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, "minPinLength is a bool")
        wanted.min_pin_length = extensions[MIN_PIN_LENGTH]
    return wanted


def _excluded(
    auth: Authenticator, exclude: list[Any], rp_id_hash: bytes, user_verified: bool
) -> bool:
    for descriptor in exclude:
        if not isinstance(descriptor, Mapping):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "excludeList entry is not a map")
        found = auth.store.find(descriptor.get("id"), rp_id_hash)
        # A UV-required credential is only revealed to a verified user.
        if found and (found.cred_protect != UV_REQUIRED or user_verified):
            return True
    return False
