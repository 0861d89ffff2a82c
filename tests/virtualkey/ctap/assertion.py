"""authenticatorGetAssertion (0x02) and authenticatorGetNextAssertion (0x08).

With an allow list the first usable listed credential answers. Without one every discoverable
credential of the RP answers, the most recent first; numberOfCredentials tells the platform to
fetch the rest with getNextAssertion, which must follow at once and within 30 seconds.
When ``up`` is true the touch is asked for even if no credential matches (then NO_CREDENTIALS),
so a site cannot probe silently which credentials a key holds.

Extensions: hmac-secret (refused with ``up`` false: UNSUPPORTED_OPTION, CTAP 2.1 12.5 -- a
secret only after a touch; python-fido2 never asks for one without), getCredBlob (12.2: the
credential's credBlob, empty if it has none) and largeBlobKey (12.3: true only; the key comes
back as member 0x07 for every credential, also one made without the extension).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import hmac_secret
from .authdata import FLAG_UP, FLAG_UV, authenticator_data
from .credentials import Credential
from .pin import PERMISSION_GA
from .request import Interaction, optional, required
from .status import CtapFailure, CtapStatus

if TYPE_CHECKING:
    from .authenticator import Authenticator

P_RP_ID, P_CLIENT_DATA_HASH, P_ALLOW, P_EXTENSIONS, P_OPTIONS, P_AUTH_PARAM, P_PROTOCOL = range(
    1, 8
)
R_CREDENTIAL, R_AUTH_DATA, R_SIGNATURE, R_USER, R_COUNT, R_LARGE_BLOB_KEY = 1, 2, 3, 4, 5, 7
CRED_BLOB, LARGE_BLOB_KEY = "credBlob", "largeBlobKey"
NEXT_ASSERTION_SECONDS = 30.0


@dataclass
class PendingAssertions:
    """What getNextAssertion needs: the request's outcome and the credentials still to sign."""

    rp_id_hash: bytes
    client_data_hash: bytes
    flags: int
    discoverable: bool
    salts: hmac_secret.SaltRequest | None
    remaining: list[Credential] = field(default_factory=list)
    cred_blob: bool = False  # getCredBlob asked for
    large_blob_key: bool = False
    started: float = field(default_factory=time.monotonic)


def get_assertion(
    auth: Authenticator, params: Mapping[int, Any], interaction: Interaction
) -> dict[int, Any]:
    rp_id = required(params, P_RP_ID, str)
    client_data_hash = required(params, P_CLIENT_DATA_HASH, bytes)
    allow = optional(params, P_ALLOW, list, [])
    up = _check_options(optional(params, P_OPTIONS, Mapping, {}))
    user_verified = auth.user_verified(
        optional(params, P_AUTH_PARAM, bytes), params.get(P_PROTOCOL), client_data_hash,
        PERMISSION_GA, rp_id, interaction,
    )
    extensions = optional(params, P_EXTENSIONS, Mapping, {})
    salts = None
    if hmac_secret.NAME in extensions:
        if not up:
            raise CtapFailure(CtapStatus.UNSUPPORTED_OPTION, "hmac-secret needs user presence")
        salts = hmac_secret.assertion_input(extensions[hmac_secret.NAME], auth.pin)
    get_cred_blob = optional(extensions, CRED_BLOB, bool, False)
    large_blob_key = LARGE_BLOB_KEY in extensions
    if large_blob_key and extensions[LARGE_BLOB_KEY] is not True:
        raise CtapFailure(CtapStatus.INVALID_OPTION, "largeBlobKey is true or absent")
    rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
    credentials = _locate(auth, rp_id_hash, allow, user_verified)
    if up:
        auth.wait_for_presence(interaction)
        auth.pin.presence_used()
    if not credentials:
        raise CtapFailure(CtapStatus.NO_CREDENTIALS)
    flags = (FLAG_UP if up else 0) | (FLAG_UV if user_verified else 0)
    pending = PendingAssertions(rp_id_hash, client_data_hash, flags, not allow, salts,
                                credentials[1:], get_cred_blob, large_blob_key)
    response = _sign(auth, pending, credentials[0])
    if pending.remaining:
        response[R_COUNT] = len(credentials)
        auth.pending_assertions = pending
    return response


def get_next_assertion(auth: Authenticator) -> dict[int, Any]:
    pending = auth.pending_assertions
    if pending is None or not pending.remaining:
        raise CtapFailure(CtapStatus.NOT_ALLOWED, "no getAssertion to continue")
    if time.monotonic() - pending.started > NEXT_ASSERTION_SECONDS:
        auth.pending_assertions = None
        raise CtapFailure(CtapStatus.NOT_ALLOWED, "getNextAssertion came too late")
    return _sign(auth, pending, pending.remaining.pop(0))


def _check_options(options: Mapping[str, Any]) -> bool:
    """Returns up (default true). rk is not a getAssertion option; there is no built-in UV."""
    for name, value in options.items():
        if not isinstance(value, bool):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, f"option {name} is not a bool")
    if "rk" in options:
        raise CtapFailure(CtapStatus.UNSUPPORTED_OPTION, "rk is not a getAssertion option")
    if options.get("uv"):
        raise CtapFailure(CtapStatus.INVALID_OPTION, "no built-in user verification")
    return options.get("up", True)


def _locate(
    auth: Authenticator, rp_id_hash: bytes, allow: list[Any], user_verified: bool
) -> list[Credential]:
    if not allow:
        found = auth.store.discoverable(rp_id_hash)
        return [c for c in found if c.usable(user_verified, listed=False)]
    for descriptor in allow:
        if not isinstance(descriptor, Mapping):
            raise CtapFailure(CtapStatus.INVALID_PARAMETER, "allowList entry is not a map")
        if descriptor.get("type") != "public-key":
            continue
        found = auth.store.find(descriptor.get("id"), rp_id_hash)
        if found and found.usable(user_verified, listed=True):
            return [found]
    return []


def _sign(auth: Authenticator, pending: PendingAssertions, credential: Credential) -> dict:
    user_verified = bool(pending.flags & FLAG_UV)
    outputs = {}
    if pending.salts is not None:
        output = pending.salts.output(credential, user_verified)
        if output is not None:
            outputs[hmac_secret.NAME] = output
    if pending.cred_blob:
        outputs[CRED_BLOB] = credential.cred_blob
    data = authenticator_data(pending.rp_id_hash, pending.flags, auth.next_counter(),
                              extensions=outputs)
    response: dict[int, Any] = {
        R_CREDENTIAL: {"id": credential.id, "type": "public-key"},
        R_AUTH_DATA: data,
        R_SIGNATURE: credential.sign(data + pending.client_data_hash),
    }
    if credential.resident:
        # Names only to a verified user (CTAP 2.1 6.2.2); the user handle always.
        response[R_USER] = dict(credential.user) if user_verified else {"id": credential.user_id}
    if pending.large_blob_key:
        response[R_LARGE_BLOB_KEY] = credential.large_blob_key_value()
    return response
