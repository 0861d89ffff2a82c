"""The python-fido2 side of the FIDO2 tests: the platform (transports, a user who types the
PIN), the relying party's checks and the requests the tests make, shared by the test files."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fido2.attestation import AttestationType, PackedAttestation
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2 import AttestationResponse, Ctap2
from fido2.ctap2.extensions import HmacSecretExtension
from fido2.ctap2.pin import ClientPin
from fido2.pcsc import CtapPcscDevice
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationObject,
    AuthenticationResponse,
    AuthenticatorData,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
)

from virtualkey.ctap.authenticator import Authenticator
from virtualkey.hid import open_hid_device
from virtualkey.key import KeyConfig, VirtualKey
from virtualkey.presence import Presence
from virtualkey.transports import CtapAdapter

RP_ID = "example.com"
ORIGIN = "https://example.com"
PIN = "4711"
ERR = CtapError.ERR
PERM = ClientPin.PERMISSION


def direct(authenticator: Authenticator) -> CtapDevice:
    return CtapAdapter(authenticator)


def ctaphid(authenticator: Authenticator) -> CtapDevice:
    return open_hid_device(authenticator)


class ThroughPcscd:
    """The FIDO applet of a virtual key plugged into a private pcscd, reached the way
    python-fido2 finds NFC-style authenticators: CtapPcscDevice over pyscard."""

    def __init__(self, plug_keys: Callable[..., Any]) -> None:
        self.plug_keys = plug_keys
        self.rig: Any = None

    def __call__(self, authenticator: Authenticator) -> CtapDevice:
        if self.rig is None:
            # FIDO2 over PC/SC is an NFC thing: a YubiKey over USB refuses it on CCID.
            config = KeyConfig(serial=5550001, transport="nfc")
            key = VirtualKey(config, authenticator=authenticator)
            self.rig = self.plug_keys(key)
        # The bridge is ready once pcscd powered the card on; pcscd may still be reading the
        # ATR then, and python-fido2 skips a reader whose card it cannot open yet.
        deadline = time.monotonic() + 2.0
        while not (devices := list(CtapPcscDevice.list_devices())):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(devices) == 1
        return devices[0]


def close(device: CtapDevice) -> None:
    """Closes a device; a pyscard connection also releases its context (else its finaliser
    runs after the test's pcscd is gone, and fails)."""
    if isinstance(device, CtapPcscDevice):
        device.close(release=True)
    else:
        device.close()


TRANSPORTS: dict[str, Callable[[Authenticator], CtapDevice] | None] = {
    "direct": direct,
    "ctaphid": ctaphid,
    "pcscd": None,  # needs the plug_keys fixture: see rig()
}


class Prompts(UserInteraction):
    """The user at the platform: types the PIN when asked and notes touch prompts."""

    def __init__(self, pin: str | None = None) -> None:
        self.pin = pin
        self.touch_prompts = 0

    def prompt_up(self) -> None:
        self.touch_prompts += 1

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        return self.pin


@dataclass
class Rig:
    """One virtual authenticator seen through one transport."""

    transport: Callable[[Authenticator], CtapDevice]
    firmware: tuple[int, int, int] = (5, 7, 2)
    presence: Presence = field(default_factory=Presence)

    def __post_init__(self) -> None:
        self.authenticator = Authenticator(self.firmware, self.presence)
        self.device = self.transport(self.authenticator)

    def power_cycle(self) -> None:
        """Unplug and plug in: a new connection to the same authenticator."""
        close(self.device)
        self.authenticator.power_cycle()
        self.device = self.transport(self.authenticator)

    def ctap2(self) -> Ctap2:
        return Ctap2(self.device)

    def client(
        self, pin: str | None = None, prompts: Prompts | None = None, origin: str = ORIGIN
    ) -> Fido2Client:
        prompts = prompts or Prompts(pin)
        extensions = [HmacSecretExtension(allow_hmac_secret=True)]
        return Fido2Client(self.device, DefaultClientDataCollector(origin), prompts, extensions)

    def set_pin(self, pin: str = PIN) -> None:
        ClientPin(self.ctap2()).set_pin(pin)


def verify_self_attestation(attestation: AttestationObject, client_data_hash: bytes) -> None:
    """Packed self attestation: the credential's own key signed authData || clientDataHash."""
    result = PackedAttestation().verify(attestation.att_stmt, attestation.auth_data,
                                        client_data_hash)
    assert result.attestation_type == AttestationType.SELF


def user(number: int = 1) -> PublicKeyCredentialUserEntity:
    return PublicKeyCredentialUserEntity(id=b"user-%d" % number, name=f"user{number}",
                                         display_name=f"User {number}")


def register(
    server: Fido2Server, client: Fido2Client, number: int = 1, *, resident: bool = False,
    uv: str = "discouraged", extensions: dict | None = None,
) -> tuple[AuthenticatorData, RegistrationResponse]:
    options, state = server.register_begin(
        user(number), resident_key_requirement="required" if resident else "discouraged",
        user_verification=uv, extensions=extensions,
    )
    response = client.make_credential(options.public_key)
    return server.register_complete(state, response), response


def authenticate(
    server: Fido2Server, client: Fido2Client, credentials: list, *, uv: str = "discouraged",
    extensions: dict | None = None, allow: bool = True,
) -> list[AuthenticationResponse]:
    options, state = server.authenticate_begin(credentials if allow else None,
                                               user_verification=uv, extensions=extensions)
    selection = client.get_assertion(options.public_key)
    count = len(selection.get_assertions())
    responses = [selection.get_response(index) for index in range(count)]
    for response in responses:
        server.authenticate_complete(state, credentials, response)
    return responses


def wrong_pin(rig: Rig) -> CtapError.ERR:
    with pytest.raises(CtapError) as raised:
        ClientPin(rig.ctap2()).get_pin_token("0000")
    return raised.value.code


def make_request(ctap2: Ctap2, **kwargs: Any) -> AttestationResponse:
    return ctap2.make_credential(b"\0" * 32, {"id": RP_ID}, {"id": b"u"},
                                 [{"type": "public-key", "alg": -7}], **kwargs)
