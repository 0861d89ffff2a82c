"""A security key as a vault key: a non-resident credential with hmac-secret, the silent probe
that tells which key holds a credential, and the assertion (touch, PIN if chosen) that gives
the hmac-secret output for a salt.

The relying party id is `hwotp` (RP_ID): one label that no web site can have (it has no dot,
so no domain and no origin a browser loads can claim it), as systemd-cryptenroll uses
`io.systemd.cryptsetup`. Requests go through python-fido2's `Fido2Client`, which handles the
PIN, user verification and the hmac-secret key agreement; its client data is reproducible
(`client_data`: origin `https://hwotp`, the challenge derived from the slot's salt), so a
relying party's checks (python-fido2's `Fido2Server`, in the tests) can verify what a key
signed. hwotp itself trusts only the hmac-secret output: it opens the vault or it does not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hwotp.errors import HwotpError, InputError, NotSupportedError
from hwotp.fido2.device import SecurityKey, ctap_failures

if TYPE_CHECKING:
    from fido2.client import Fido2Client
    from fido2.ctap2.pin import ClientPin
    from fido2.webauthn import CollectedClientData

logger = logging.getLogger(__name__)

RP_ID = "hwotp"
RP_NAME = "hwotp vault"
ORIGIN = "https://hwotp"
USER_ID = b"hwotp-vault"  # a non-resident credential: the key stores nothing of it
CHALLENGE_PREFIX = b"hwotp-vault challenge\0"
SALT_BYTES = 32

PinSource = Callable[[], str]
TouchPrompt = Callable[[], None]


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    aaguid: str


def challenge_for(salt: bytes) -> bytes:
    """The WebAuthn challenge of every request for a slot: SHA-256 over a fixed prefix and the
    slot's salt. hwotp checks no signature (the hmac-secret output is the proof), so it needs
    no fresh challenge; a fixed one lets a relying party's checks be replayed in tests."""
    return hashlib.sha256(CHALLENGE_PREFIX + salt).digest()


def client_data(kind: str, salt: bytes) -> CollectedClientData:
    """The client data of a request (`webauthn.create` or `webauthn.get`) for a slot's salt."""
    from fido2.webauthn import CollectedClientData

    return CollectedClientData.create(type=kind, challenge=challenge_for(salt), origin=ORIGIN,
                                      cross_origin=False)


def can_hold_a_backup(key: SecurityKey) -> bool:
    return "hmac-secret" in (key.info.extensions or [])


def check_can_register(key: SecurityKey, *, uv: bool) -> None:
    """What refuses a registration before the key is asked anything: no hmac-secret, or
    `uv` on a key without a PIN."""
    if not can_hold_a_backup(key):
        raise NotSupportedError(f"{key.name} has no hmac-secret, so it cannot open a vault")
    if uv and not key.pin_set:
        from hwotp.errors import PinNotSetError

        raise PinNotSetError(f"{key.name} has no PIN yet; set one first, or register without "
                             "user verification")


def register(key: SecurityKey, salt: bytes, *, uv: bool, pin: PinSource,
             touch: TouchPrompt) -> NewCredential:
    """Make a non-resident credential with hmac-secret on `key` (a touch; the PIN when the
    key has one and asks for it, or when `uv`)."""
    from fido2.webauthn import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialCreationOptions,
        PublicKeyCredentialParameters,
        PublicKeyCredentialRpEntity,
        PublicKeyCredentialType,
        PublicKeyCredentialUserEntity,
        ResidentKeyRequirement,
    )

    check_can_register(key, uv=uv)
    options = PublicKeyCredentialCreationOptions(
        rp=PublicKeyCredentialRpEntity(id=RP_ID, name=RP_NAME),
        user=PublicKeyCredentialUserEntity(id=USER_ID, name="hwotp", display_name="hwotp"),
        challenge=challenge_for(salt),
        pub_key_cred_params=[
            PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=-7),
            PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=-8),
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=_uv(uv),
        ),
        extensions={"hmacCreateSecret": True},
    )
    with _client_failures(key):
        response = _client(key, "webauthn.create", salt, pin, touch).make_credential(options)
    if response.client_extension_results.hmac_create_secret is not True:
        raise NotSupportedError(f"{key.name} made no hmac-secret for the credential")
    credential = response.response.attestation_object.auth_data.credential_data
    if credential is None:
        raise InputError(f"{key.name} answered without a credential")
    logger.debug("%s made a credential of %d bytes", key.path, len(credential.credential_id))
    return NewCredential(credential.credential_id, str(credential.aaguid))


def holds(key: SecurityKey, credential_id: bytes, rp_id: str = RP_ID) -> bool:
    """Whether `key` made this credential for `rp_id`: an assertion without user presence and
    without extensions (keys refuse hmac-secret then), so it needs no touch and shows
    nothing."""
    from fido2.ctap import CtapError

    with ctap_failures(key):
        ctap = key.ctap2()
        try:
            ctap.get_assertion(rp_id, client_data("webauthn.get", b"").hash,
                               [{"type": "public-key", "id": credential_id}],
                               options={"up": False})
        except CtapError as error:
            if error.code in (CtapError.ERR.NO_CREDENTIALS, CtapError.ERR.INVALID_CREDENTIAL):
                return False
            raise
    return True


def hmac_secret(key: SecurityKey, credential_id: bytes, salt: bytes, *, uv: bool,
                pin: PinSource, touch: TouchPrompt, rp_id: str = RP_ID) -> bytes:
    """The key's hmac-secret output for `salt` from the credential made for `rp_id` (a touch;
    the PIN when `uv`)."""
    from fido2.webauthn import (
        PublicKeyCredentialDescriptor,
        PublicKeyCredentialRequestOptions,
        PublicKeyCredentialType,
    )

    options = PublicKeyCredentialRequestOptions(
        challenge=challenge_for(salt),
        rp_id=rp_id,
        allow_credentials=[PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY, id=credential_id)],
        user_verification=_uv(uv),
        extensions={"hmacGetSecret": {"salt1": salt}},
    )
    with _client_failures(key):
        selection = _client(key, "webauthn.get", salt, pin, touch, rp_id).get_assertion(options)
        response = selection.get_response(0)
    # Attribute access gives bytes (item access gives base64url text).
    output = response.client_extension_results.hmac_get_secret
    first = getattr(output, "output1", None)
    if not isinstance(first, bytes) or len(first) != SALT_BYTES:
        raise NotSupportedError(f"{key.name} gave no hmac-secret output")
    return first


def _uv(uv: bool) -> Any:
    from fido2.webauthn import UserVerificationRequirement

    # "discouraged" explicitly: left unset, a key with a PIN would be asked for it anyway.
    return UserVerificationRequirement.REQUIRED if uv else UserVerificationRequirement.DISCOURAGED


def _client(key: SecurityKey, kind: str, salt: bytes, pin: PinSource,
            touch: TouchPrompt, rp_id: str = RP_ID) -> Fido2Client:
    from fido2.client import ClientDataCollector, Fido2Client, UserInteraction
    from fido2.ctap2.extensions import HmacSecretExtension

    class Collector(ClientDataCollector):
        def collect_client_data(self, options: Any) -> tuple[CollectedClientData, str]:
            return client_data(kind, salt), rp_id

    class Person(UserInteraction):
        def prompt_up(self) -> None:
            touch()

        def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
            return pin()

        def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
            return False  # a PIN, not a built-in fingerprint reader: the slot's UV is a PIN

    # hmac-secret itself, not PRF (which hashes the salt first): the output matches what
    # libfido2-based tools would derive from the same credential and salt.
    extensions = [HmacSecretExtension(allow_hmac_secret=True)]
    with ctap_failures(key):
        return Fido2Client(key.device, Collector(), Person(), extensions)


@contextmanager
def _client_failures(key: SecurityKey) -> Iterator[None]:
    """Fido2Client wraps the key's CTAP error in a ClientError: unwrapped here, so the key's
    answer reads as `ctap_failures` words it (a wrong PIN with the tries left)."""
    from fido2.client import ClientError

    with ctap_failures(key, _pin_client(key)):
        try:
            yield
        except ClientError as error:
            cause = error.cause
            if isinstance(cause, Exception) and not isinstance(cause, str):
                raise cause from None
            if error.code == ClientError.ERR.TIMEOUT:
                from hwotp.errors import TouchTimeoutError

                raise TouchTimeoutError(f"{key.name} was not touched in time") from None
            raise InputError(f"{key.name} refused the request ({error.code.name})") from None
        except HwotpError:
            raise


def _pin_client(key: SecurityKey) -> ClientPin | None:
    """A ClientPin to count the tries left after a wrong PIN; None for a key without a PIN."""
    from fido2.ctap2.pin import ClientPin

    if not key.pin_set:
        return None
    try:
        return ClientPin(key.ctap2())
    except HwotpError:
        return None
