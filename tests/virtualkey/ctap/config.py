"""authenticatorConfig (0x0D): toggleAlwaysUv and setMinPINLength (CTAP 2.1 section 6.11).

The order of checks is the specification's (6.11 "authenticatorConfig"): the subcommand must be
one the key has (INVALID_SUBCOMMAND); once a PIN is set or alwaysUv is on, a pinUvAuthParam is
needed (PUAT_REQUIRED), with a protocol (MISSING_PARAMETER) the key knows (INVALID_PARAMETER),
made over 32 x 0xFF || 0x0D || subCommand || CBOR(subCommandParams) (PIN_AUTH_INVALID) with a
token holding the acfg permission (PIN_AUTH_INVALID). enableEnterpriseAttestation is not there:
a retail YubiKey 5 has no enterprise attestation (getInfo has no "ep").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import cbor
from .pin import PERMISSION_ACFG
from .request import optional, required
from .status import CtapFailure, CtapStatus

if TYPE_CHECKING:
    from .authenticator import Authenticator

TOGGLE_ALWAYS_UV, SET_MIN_PIN_LENGTH = 0x02, 0x03
P_SUBCOMMAND, P_SUBCOMMAND_PARAMS, P_PROTOCOL, P_AUTH_PARAM = 1, 2, 3, 4
S_NEW_MIN_PIN_LENGTH, S_MIN_PIN_LENGTH_RP_IDS, S_FORCE_CHANGE_PIN = 1, 2, 3
# choice: how many RP IDs setMinPINLength takes (getInfo 0x10) is not published for a YubiKey.
MAX_RP_IDS_FOR_MIN_PIN_LENGTH = 8
# choice: a PIN is at most 63 bytes, so no longer minimum is taken.
MAX_MIN_PIN_LENGTH = 63


def authenticator_config(auth: Authenticator, params: Mapping[int, Any]) -> dict[int, Any]:
    sub = required(params, P_SUBCOMMAND, int)
    if sub not in (TOGGLE_ALWAYS_UV, SET_MIN_PIN_LENGTH):
        raise CtapFailure(CtapStatus.INVALID_SUBCOMMAND, f"authenticatorConfig subcommand {sub}")
    sub_params = optional(params, P_SUBCOMMAND_PARAMS, Mapping, {})
    if auth.pin.is_set or auth.always_uv:
        auth_param = params.get(P_AUTH_PARAM)
        if auth_param is None:
            raise CtapFailure(CtapStatus.PUAT_REQUIRED, "authenticatorConfig needs a PIN token")
        message = b"\xff" * 32 + bytes([0x0D, sub])
        if P_SUBCOMMAND_PARAMS in params:
            message += cbor.encode(params[P_SUBCOMMAND_PARAMS])
        auth.pin.verify_token(params.get(P_PROTOCOL), auth_param, message, PERMISSION_ACFG,
                              None)
    if sub == TOGGLE_ALWAYS_UV:
        auth.always_uv = not auth.always_uv
        return {}
    return _set_min_pin_length(auth, sub_params)


def _set_min_pin_length(auth: Authenticator, sub_params: Mapping[int, Any]) -> dict[int, Any]:
    length = optional(sub_params, S_NEW_MIN_PIN_LENGTH, int, auth.pin.min_length)
    rp_ids = optional(sub_params, S_MIN_PIN_LENGTH_RP_IDS, list)
    force = optional(sub_params, S_FORCE_CHANGE_PIN, bool, False)
    if length > MAX_MIN_PIN_LENGTH:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "newMinPINLength over 63")
    if rp_ids is not None:
        if not all(isinstance(rp_id, str) for rp_id in rp_ids):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "minPinLengthRPIDs are strings")
        if len(rp_ids) > MAX_RP_IDS_FOR_MIN_PIN_LENGTH:
            raise CtapFailure(CtapStatus.PIN_POLICY_VIOLATION,
                              "more RP IDs than maxRPIDsForSetMinPINLength")
    auth.pin.set_min_length(length, force)
    if rp_ids is not None:
        auth.min_pin_length_rp_ids = list(rp_ids)
    return {}
