"""authenticatorMakeCredential (0x01): ES256 only, packed self attestation.

The order of checks follows CTAP 2.1 section 6.1.2: parameters, algorithms, options, the
pinUvAuthParam, the exclude list (a match still waits for a touch, then CREDENTIAL_EXCLUDED),
user presence, then the resident store (KEY_STORE_FULL comes after the touch).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import hmac_secret
from .authdata import FLAG_UP, FLAG_UV, attested_credential, authenticator_data
from .credentials import ES256, UV_OPTIONAL, UV_REQUIRED, Credential
from .pin import PERMISSION_MC
from .request import Interaction, optional, required
from .status import (
    CREDENTIAL_EXCLUDED,
    INVALID_OPTION,
    INVALID_PARAMETER,
    PUAT_REQUIRED,
    UNSUPPORTED_ALGORITHM,
    CtapFailure,
)

if TYPE_CHECKING:
    from .authenticator import Authenticator

(P_CLIENT_DATA_HASH, P_RP, P_USER, P_ALGORITHMS, P_EXCLUDE, P_EXTENSIONS, P_OPTIONS,
 P_AUTH_PARAM, P_PROTOCOL) = range(1, 10)
MAX_USER_ID = 64
CRED_PROTECT = "credProtect"


def make_credential(
    auth: Authenticator, params: Mapping[int, Any], interaction: Interaction
) -> dict[int, Any]:
    client_data_hash = required(params, P_CLIENT_DATA_HASH, bytes)
    rp_id = required(required(params, P_RP, Mapping), "id", str)
    rp_entity, user = params[P_RP], required(params, P_USER, Mapping)
    user_id = required(user, "id", bytes)
    if len(user_id) > MAX_USER_ID:
        raise CtapFailure(INVALID_PARAMETER, "user id longer than 64 bytes")
    _check_algorithms(required(params, P_ALGORITHMS, list))
    options = optional(params, P_OPTIONS, Mapping, {})
    resident = _check_options(options)
    user_verified = auth.user_verified(
        optional(params, P_AUTH_PARAM, bytes), params.get(P_PROTOCOL), client_data_hash,
        PERMISSION_MC, rp_id, interaction,
    )
    if auth.pin.is_set and resident and not user_verified:
        # makeCredUvNotRqd: only discoverable credentials need the PIN once one is set
        raise CtapFailure(PUAT_REQUIRED, "a discoverable credential needs the PIN")
    cred_protect, wants_hmac = _extensions(optional(params, P_EXTENSIONS, Mapping, {}))
    rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
    if _excluded(auth, optional(params, P_EXCLUDE, list, []), rp_id_hash, user_verified):
        auth.wait_for_presence(interaction)
        raise CtapFailure(CREDENTIAL_EXCLUDED)
    auth.wait_for_presence(interaction)
    auth.pin.presence_used()
    credential = auth.store.create(rp_id_hash, cred_protect, wants_hmac, resident)
    if resident:
        credential.rp = {k: v for k, v in rp_entity.items() if k in ("id", "name")}
        credential.user = {k: v for k, v in user.items() if k in ("id", "name", "displayName")}
        auth.store.keep(credential)
    return _attestation(auth, credential, client_data_hash, user_verified)


def _attestation(
    auth: Authenticator, credential: Credential, client_data_hash: bytes, user_verified: bool
) -> dict[int, Any]:
    """The attestation object: packed self attestation, signed by the new credential."""
    outputs: dict[str, Any] = {}
    if credential.hmac_secret:
        outputs[hmac_secret.NAME] = True
    if credential.cred_protect != UV_OPTIONAL:
        outputs[CRED_PROTECT] = credential.cred_protect
    flags = FLAG_UP | (FLAG_UV if user_verified else 0)
    data = authenticator_data(credential.rp_id_hash, flags, auth.next_counter(),
                              attested_credential(auth.aaguid, credential), outputs)
    statement = {"alg": ES256, "sig": credential.sign(data + client_data_hash)}
    return {1: "packed", 2: data, 3: statement}


def _check_algorithms(algorithms: list[Any]) -> None:
    for entry in algorithms:
        if not isinstance(entry, Mapping):
            raise CtapFailure(INVALID_PARAMETER, "pubKeyCredParams entry is not a map")
        if entry.get("type") == "public-key" and entry.get("alg") == ES256:
            return
    raise CtapFailure(UNSUPPORTED_ALGORITHM, "only ES256 (-7) is supported")


def _check_options(options: Mapping[str, Any]) -> bool:
    """Returns rk. There is no built-in UV (uv: true is refused) and up cannot be turned off."""
    for name, value in options.items():
        if not isinstance(value, bool):
            raise CtapFailure(INVALID_PARAMETER, f"option {name} is not a bool")
    if options.get("uv") or options.get("up") is False:
        raise CtapFailure(INVALID_OPTION, "no built-in user verification; up cannot be off")
    return bool(options.get("rk", False))


def _extensions(extensions: Mapping[str, Any]) -> tuple[int, bool]:
    cred_protect = extensions.get(CRED_PROTECT, UV_OPTIONAL)
    if cred_protect not in (1, 2, 3) or isinstance(cred_protect, bool):
        raise CtapFailure(INVALID_PARAMETER, "credProtect is 1, 2 or 3")
    wants_hmac = False
    if hmac_secret.NAME in extensions:
        wants_hmac = hmac_secret.registration_input(extensions[hmac_secret.NAME])
    return cred_protect, wants_hmac


def _excluded(
    auth: Authenticator, exclude: list[Any], rp_id_hash: bytes, user_verified: bool
) -> bool:
    for descriptor in exclude:
        if not isinstance(descriptor, Mapping):
            raise CtapFailure(INVALID_PARAMETER, "excludeList entry is not a map")
        found = auth.store.find(descriptor.get("id"), rp_id_hash)
        # A UV-required credential is only revealed to a verified user.
        if found and (found.cred_protect != UV_REQUIRED or user_verified):
            return True
    return False
