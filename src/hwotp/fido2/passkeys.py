"""Passkeys (discoverable credentials) on a security key, through CTAP 2.1 credential
management: list them by relying party, count the free slots, delete one. Every call needs a
PIN token with the credential-management permission (`device.pin_token`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwotp.errors import NotFoundError, NotSupportedError
from hwotp.fido2.device import PinToken, SecurityKey, ctap_failures

if TYPE_CHECKING:
    from fido2.ctap2 import CredentialManagement


@dataclass(frozen=True)
class Passkey:
    rp_id: str
    user_name: str | None
    user_display_name: str | None
    user_id: bytes
    credential_id: bytes

    @property
    def credential_id_text(self) -> str:
        """The id as `credentials delete` takes it: base64url without padding, as WebAuthn."""
        return base64.urlsafe_b64encode(self.credential_id).rstrip(b"=").decode()


@dataclass(frozen=True)
class PasskeyListing:
    passkeys: list[Passkey]
    free_slots: int


def list_passkeys(key: SecurityKey, token: PinToken) -> PasskeyListing:
    """Every passkey on the key, relying party by relying party, and the slots left."""
    from fido2.ctap2 import CredentialManagement

    manager = _manager(key, token)
    result = CredentialManagement.RESULT
    with ctap_failures(key):
        metadata = manager.get_metadata()
        passkeys = []
        for party in manager.enumerate_rps():  # an empty key: python-fido2 says []
            rp_id = party[result.RP]["id"]
            for credential in manager.enumerate_creds(party[result.RP_ID_HASH]):
                user = credential[result.USER]
                passkeys.append(Passkey(rp_id, user.get("name"), user.get("displayName"),
                                        user["id"], credential[result.CREDENTIAL_ID]["id"]))
    return PasskeyListing(passkeys, metadata[result.MAX_REMAINING_COUNT])


def delete_passkey(key: SecurityKey, token: PinToken, passkey: Passkey) -> None:
    from fido2.webauthn import PublicKeyCredentialDescriptor, PublicKeyCredentialType

    manager = _manager(key, token)
    with ctap_failures(key):
        manager.delete_cred(PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY, id=passkey.credential_id))


def find_passkeys(passkeys: list[Passkey], credential_id: str | None = None,
                  rp_id: str | None = None, user: str | None = None) -> list[Passkey]:
    """Those with this credential id (base64url, padded or not), or of this relying party
    (and user name, when given); none matching is NotFoundError."""
    if credential_id is not None:
        matches = [item for item in passkeys
                   if item.credential_id_text == credential_id.rstrip("=")]
        what = "that credential id"
    else:
        matches = [item for item in passkeys if item.rp_id == rp_id
                   and (user is None or user in (item.user_name, item.user_display_name))]
        what = f"relying party {rp_id}" + (f" and user {user}" if user is not None else "")
    if not matches:
        raise NotFoundError(f"no passkey with {what} on this key")
    return matches


def _manager(key: SecurityKey, token: PinToken) -> CredentialManagement:
    from fido2.ctap2 import CredentialManagement

    ctap = key.ctap2()
    if not CredentialManagement.is_supported(ctap.info):
        raise NotSupportedError(f"{key.name} cannot list or delete its passkeys (no credential "
                                "management)")
    return CredentialManagement(ctap, token.protocol, token.token)
