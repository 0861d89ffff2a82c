"""authenticatorCredentialManagement (0x0A, and the 2.1-PRE command 0x41 with the same layout).

Every subcommand but the two "next" ones needs a pinUvAuthParam over subCommand || CBOR(params)
made with a token that has the credential-management permission. A token bound to an RP may
only enumerate, delete or update that RP's credentials.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import cbor
from .credentials import Credential
from .pin import PERMISSION_CM
from .request import optional, required
from .status import CtapFailure, CtapStatus

if TYPE_CHECKING:
    from .authenticator import Authenticator

GET_METADATA, RPS_BEGIN, RPS_NEXT, CREDS_BEGIN, CREDS_NEXT, DELETE, UPDATE_USER = range(1, 8)
P_SUBCOMMAND, P_SUBCOMMAND_PARAMS, P_PROTOCOL, P_AUTH_PARAM = 1, 2, 3, 4
S_RP_ID_HASH, S_CREDENTIAL_ID, S_USER = 1, 2, 3
(R_EXISTING, R_REMAINING, R_RP, R_RP_ID_HASH, R_TOTAL_RPS, R_USER, R_CREDENTIAL_ID,
 R_PUBLIC_KEY, R_TOTAL_CREDENTIALS, R_CRED_PROTECT) = range(1, 11)


@dataclass
class Enumeration:
    """The rest of an RP or credential listing, for the "next" subcommands."""

    subcommand: int  # the "next" subcommand that may continue it
    answers: list[dict[int, Any]]


def credential_management(auth: Authenticator, params: Mapping[int, Any]) -> dict[int, Any]:
    sub = required(params, P_SUBCOMMAND, int)
    if sub in (RPS_NEXT, CREDS_NEXT):
        return _next(auth, sub)
    auth.enumeration = None
    sub_params = optional(params, P_SUBCOMMAND_PARAMS, Mapping, {})
    _authorize(auth, params, sub)
    if sub == GET_METADATA:
        _check_scope(auth, None)
        return {R_EXISTING: len(auth.store.resident), R_REMAINING: auth.store.remaining}
    if sub == RPS_BEGIN:
        _check_scope(auth, None)
        return _begin(auth, _rp_answers(auth), R_TOTAL_RPS, RPS_NEXT)
    if sub == CREDS_BEGIN:
        rp_id_hash = required(sub_params, S_RP_ID_HASH, bytes)
        _check_scope(auth, rp_id_hash)
        return _begin(auth, _credential_answers(auth, rp_id_hash), R_TOTAL_CREDENTIALS,
                      CREDS_NEXT)
    if sub in (DELETE, UPDATE_USER):
        return _change(auth, sub, sub_params)
    raise CtapFailure(CtapStatus.INVALID_SUBCOMMAND, f"credentialManagement subcommand {sub}")


def _authorize(auth: Authenticator, params: Mapping[int, Any], sub: int) -> None:
    auth_param = params.get(P_AUTH_PARAM)
    if auth_param is None:
        raise CtapFailure(CtapStatus.PUAT_REQUIRED, "credential management needs a PIN token")
    message = bytes([sub])
    if P_SUBCOMMAND_PARAMS in params:
        message += cbor.encode(params[P_SUBCOMMAND_PARAMS])
    auth.pin.verify_token(params.get(P_PROTOCOL), auth_param, message, PERMISSION_CM, None)


def _check_scope(auth: Authenticator, rp_id_hash: bytes | None) -> None:
    token = auth.pin.token
    if token is None or token.rp_id is None:
        return
    if rp_id_hash is None or hashlib.sha256(token.rp_id.encode()).digest() != rp_id_hash:
        raise CtapFailure(CtapStatus.PIN_AUTH_INVALID, "the token is bound to another RP")


def _begin(
    auth: Authenticator, answers: list[dict[int, Any]], total_key: int, next_sub: int
) -> dict[int, Any]:
    if not answers:
        raise CtapFailure(CtapStatus.NO_CREDENTIALS)
    first = {**answers[0], total_key: len(answers)}
    auth.enumeration = Enumeration(next_sub, answers[1:])
    return first


def _next(auth: Authenticator, sub: int) -> dict[int, Any]:
    enumeration = auth.enumeration
    if enumeration is None or enumeration.subcommand != sub or not enumeration.answers:
        auth.enumeration = None
        raise CtapFailure(CtapStatus.NOT_ALLOWED, "nothing to continue")
    return enumeration.answers.pop(0)


def _rp_answers(auth: Authenticator) -> list[dict[int, Any]]:
    seen: dict[bytes, dict[str, Any]] = {}
    for credential in sorted(auth.store.resident, key=lambda c: c.created):
        seen.setdefault(credential.rp_id_hash, credential.rp)
    return [{R_RP: rp, R_RP_ID_HASH: rp_id_hash} for rp_id_hash, rp in seen.items()]


def _credential_answers(auth: Authenticator, rp_id_hash: bytes) -> list[dict[int, Any]]:
    return [_describe(c) for c in auth.store.discoverable(rp_id_hash)]


def _describe(credential: Credential) -> dict[int, Any]:
    return {
        R_USER: credential.user,
        R_CREDENTIAL_ID: {"id": credential.id, "type": "public-key"},
        R_PUBLIC_KEY: credential.public_cose(),
        R_CRED_PROTECT: credential.cred_protect,
    }


def _change(auth: Authenticator, sub: int, sub_params: Mapping[int, Any]) -> dict[int, Any]:
    descriptor = required(sub_params, S_CREDENTIAL_ID, Mapping)
    credential = next((c for c in auth.store.resident if c.id == descriptor.get("id")), None)
    if credential is None:
        raise CtapFailure(CtapStatus.NO_CREDENTIALS, "no such resident credential")
    _check_scope(auth, credential.rp_id_hash)
    if sub == DELETE:
        auth.store.delete(credential.id)
        return {}
    user = required(sub_params, S_USER, Mapping)
    if user.get("id") != credential.user_id:
        raise CtapFailure(CtapStatus.INVALID_PARAMETER, "the user id cannot change")
    credential.user = {k: v for k, v in user.items() if k in ("id", "name", "displayName")}
    return {}
