"""The CTAP 2.1 authenticator of the virtual YubiKey: one request in, one answer out.

A request is the CTAP command byte and its CBOR parameters; the answer is a status byte and,
on success, canonical CBOR. Transports (CTAPHID, the NFC-style FIDO applet, the in-process
adapter) pass their keepalive and cancel hooks along with each request.

Choices where a real YubiKey's behaviour is not known or not wanted in tests:

- ``deny_status``: what a missing touch answers. USER_ACTION_TIMEOUT (0x2F) by default, as the
  spec says for a touch that never comes; set OPERATION_DENIED (0x27) to model an explicit "no".
- ``reset_window``: authenticatorReset is only allowed this many seconds after power-up
  (NOT_ALLOWED after). ykman says 5 s for a YubiKey (the spec suggests 10); None lifts it.
- Resident capacity: 25 below firmware 5.7, 100 from 5.7 (override with ``capacity``).
- The AAGUID is the real model's (``aaguid_for``), as a YubiKey 5.7 reports it in getInfo and
  in attested credential data; attestation is still self attestation (no Yubico batch
  certificate here), so a relying party that checks attestation does not take it for a real key.

getInfo lists what a YubiKey 5.7 lists (Yubico's YubiKey 5.7 technical manual, "CTAP 2.1
Features" and "FIDO2 Extensions"): versions U2F_V2, FIDO_2_0, FIDO_2_1_PRE, FIDO_2_1; the
extensions credProtect, hmac-secret, largeBlobKey, credBlob, minPinLength; the algorithms ES256,
EdDSA, ES384; maxMsgSize 1280; maxSerializedLargeBlobArray 4096; maxCredBlobLength 32.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..presence import Presence
from . import cbor
from .assertion import PendingAssertions, get_assertion, get_next_assertion
from .config import MAX_RP_IDS_FOR_MIN_PIN_LENGTH, authenticator_config
from .credentials import ALGORITHMS, CredentialStore
from .credman import Enumeration, credential_management
from .large_blobs import MAX_SERIALIZED_LARGE_BLOB_ARRAY, LargeBlobStore, large_blobs
from .pin import ClientPin
from .registration import MAX_CRED_BLOB_LENGTH, make_credential
from .request import Interaction, ignore_keepalive, never_cancelled
from .status import CtapFailure, CtapStatus

MAKE_CREDENTIAL, GET_ASSERTION, GET_INFO, CLIENT_PIN, RESET, GET_NEXT_ASSERTION = (
    0x01, 0x02, 0x04, 0x06, 0x07, 0x08,
)
CREDENTIAL_MANAGEMENT, SELECTION, LARGE_BLOBS, CONFIG = 0x0A, 0x0B, 0x0C, 0x0D
CREDENTIAL_MANAGEMENT_PREVIEW = 0x41

# AAGUIDs of YubiKey 5 models with firmware 5.7 (Yubico's list, https://yubi.co/aaguids, as
# Microsoft's Entra FIDO2 compatibility table repeats it).
AAGUID_YUBIKEY5_NFC = bytes.fromhex("a25342c03cdc44148e46f4807fca511c")  # "with NFC"
AAGUID_YUBIKEY5 = bytes.fromhex("19083c3d83834b18bc038f1c9ab2fd1b")  # USB only: 5, 5C, Nanos
AAGUID_YUBIKEY5_LIGHTNING = bytes.fromhex("a02167b9ae714ac79a0706432ebb6f1c")  # 5Ci
FORM_FACTOR_USB_C_LIGHTNING = 0x05
AAGUID = AAGUID_YUBIKEY5_NFC
MAX_MESSAGE_SIZE = 1280
MAX_CREDENTIALS_IN_LIST = 8
MAX_CREDENTIAL_ID_LENGTH = 128
RESET_WINDOW = 5.0


def resident_capacity(firmware: tuple[int, int, int]) -> int:
    return 100 if firmware >= (5, 7, 0) else 25


def aaguid_for(form_factor: int, nfc: bool) -> bytes:
    """The AAGUID of the YubiKey 5 (firmware 5.7) model with this form factor.
    # choice: Yubico lists a second AAGUID for some 5.7 models (d7781e5d-... for the 5 NFC,
    ff4dac45-... and 24673149-... for others) without saying which firmware reports which;
    the first-listed one is used."""
    if form_factor == FORM_FACTOR_USB_C_LIGHTNING:
        return AAGUID_YUBIKEY5_LIGHTNING
    return AAGUID_YUBIKEY5_NFC if nfc else AAGUID_YUBIKEY5


class Authenticator:
    def __init__(
        self,
        firmware: tuple[int, int, int],
        presence: Presence,
        capacity: int | None = None,
        aaguid: bytes = AAGUID,
    ) -> None:
        self.firmware = firmware
        self.presence = presence
        self.aaguid = aaguid
        self.deny_status = CtapStatus.USER_ACTION_TIMEOUT
        self.reset_window: float | None = RESET_WINDOW
        self.store = CredentialStore(capacity or resident_capacity(firmware))
        self.pin = ClientPin()
        self.large_blobs = LargeBlobStore()
        self.max_message_size = MAX_MESSAGE_SIZE
        self.always_uv = False
        self.min_pin_length_rp_ids: list[str] = []
        self.counter = 0
        # Every CTAP request and its answer, as bytes: what a relying party's checks need to
        # verify what the key signed for a client in another process.
        self.exchanges: list[tuple[bytes, bytes]] = []
        self._lock = threading.Lock()
        self.power_cycle()

    def power_cycle(self) -> None:
        """Unplug and plug in: PIN tokens and the three-in-a-row block are gone, the reset
        window opens again; credentials, PIN and retries stay."""
        self.powered_at = time.monotonic()
        self.pin.power_cycle()
        self.pending_assertions: PendingAssertions | None = None
        self.enumeration: Enumeration | None = None

    def exclusive(self) -> threading.Lock:
        """The lock every request holds: U2F requests (``u2f.py``) take it too."""
        return self._lock

    def call(
        self,
        request: bytes,
        keepalive: Callable[[int], None] = ignore_keepalive,
        cancelled: Callable[[], bool] = never_cancelled,
    ) -> bytes:
        """One CTAP request (command byte + CBOR) in, status byte (+ CBOR) out."""
        with self._lock:
            answer = self._answer(bytes(request), Interaction(keepalive, cancelled))
            self.exchanges.append((bytes(request), answer))
            return answer

    def _answer(self, request: bytes, interaction: Interaction) -> bytes:
        try:
            answer = self._dispatch(request, interaction)
        except CtapFailure as failure:
            return bytes([failure.status])
        except cbor.CborError:
            return bytes([CtapStatus.INVALID_CBOR])
        return b"\x00" + (cbor.encode(answer) if answer else b"")

    def _dispatch(self, request: bytes, interaction: Interaction) -> dict[Any, Any]:
        if not request:
            raise CtapFailure(CtapStatus.INVALID_LENGTH, "empty request")
        if len(request) > self.max_message_size:
            raise CtapFailure(CtapStatus.REQUEST_TOO_LARGE)
        command, params = request[0], _parameters(request[1:])
        # "next" commands continue only the command right before them
        if command != GET_NEXT_ASSERTION:
            self.pending_assertions = None
        if command not in (CREDENTIAL_MANAGEMENT, CREDENTIAL_MANAGEMENT_PREVIEW):
            self.enumeration = None
        if command == GET_INFO:
            return self.info()
        if command == MAKE_CREDENTIAL:
            return make_credential(self, params, interaction)
        if command == GET_ASSERTION:
            return get_assertion(self, params, interaction)
        if command == GET_NEXT_ASSERTION:
            return get_next_assertion(self)
        if command == CLIENT_PIN:
            return self.pin.handle(params)
        if command in (CREDENTIAL_MANAGEMENT, CREDENTIAL_MANAGEMENT_PREVIEW):
            return credential_management(self, params)
        if command == RESET:
            return self.reset(interaction)
        if command == LARGE_BLOBS:
            return large_blobs(self, params)
        if command == CONFIG:
            return authenticator_config(self, params)
        if command == SELECTION:
            self.wait_for_presence(interaction)
            return {}
        raise CtapFailure(CtapStatus.INVALID_COMMAND, f"CTAP command 0x{command:02X}")

    def info(self) -> dict[int, Any]:
        major, minor, patch = self.firmware
        options = {
            "rk": True, "up": True, "plat": False, "alwaysUv": self.always_uv,
            "credMgmt": True, "authnrCfg": True, "clientPin": self.pin.is_set,
            "largeBlobs": True, "pinUvAuthToken": True, "setMinPINLength": True,
            # with alwaysUv on, every credential needs UV (CTAP 2.1 6.4: makeCredUvNotRqd)
            "makeCredUvNotRqd": not self.always_uv, "credentialMgmtPreview": True,
        }
        versions = ["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"]
        if self.always_uv:
            versions.remove("U2F_V2")  # CTAP 2.1 7.2: no U2F while alwaysUv is on
        return {
            0x01: versions,
            0x02: ["credProtect", "hmac-secret", "largeBlobKey", "credBlob", "minPinLength"],
            0x03: self.aaguid,
            0x04: options,
            0x05: self.max_message_size,
            0x06: [2, 1],
            0x07: MAX_CREDENTIALS_IN_LIST,
            0x08: MAX_CREDENTIAL_ID_LENGTH,
            0x09: ["nfc", "usb"],
            0x0A: [{"alg": alg, "type": "public-key"} for alg in ALGORITHMS],
            0x0B: MAX_SERIALIZED_LARGE_BLOB_ARRAY,
            0x0C: self.pin.force_change,
            0x0D: self.pin.min_length,
            0x0E: major << 16 | minor << 8 | patch,
            0x0F: MAX_CRED_BLOB_LENGTH,
            0x10: MAX_RP_IDS_FOR_MIN_PIN_LENGTH,
            0x14: self.store.remaining,
        }

    def reset(self, interaction: Interaction) -> dict[int, Any]:
        """Forget credentials and PIN; needs a touch, and only soon after power-up."""
        window = self.reset_window
        if window is not None and time.monotonic() - self.powered_at > window:
            raise CtapFailure(CtapStatus.NOT_ALLOWED, "reset only right after power-up")
        self.wait_for_presence(interaction)
        self.store.reset()
        self.pin.reset()
        self.large_blobs.reset()
        self.always_uv = False
        self.min_pin_length_rp_ids = []
        self.counter = 0
        return {}

    def wait_for_presence(self, interaction: Interaction) -> None:
        interaction.wait_for_presence(self.presence, self.deny_status)

    def user_verified(
        self, auth_param: bytes | None, protocol: Any, client_data_hash: bytes,
        permission: int, rp_id: str, interaction: Interaction,
    ) -> bool:
        """Checks the pinUvAuthParam of makeCredential or getAssertion; True if present."""
        if auth_param == b"":
            # "Is this the key you mean?" from CTAP 2.0 platforms: touch, then the PIN state.
            self.wait_for_presence(interaction)
            raise CtapFailure(CtapStatus.PIN_INVALID if self.pin.is_set else CtapStatus.PIN_NOT_SET)
        if auth_param is None:
            if self.always_uv:
                # CTAP 2.1 6.1.2 step 6 / 6.2.2 step 6: alwaysUv needs UV on every request.
                # choice: with no PIN to verify, PIN_NOT_SET (the platform should set one).
                status = CtapStatus.PUAT_REQUIRED if self.pin.is_set else CtapStatus.PIN_NOT_SET
                raise CtapFailure(status, "alwaysUv: user verification required")
            return False
        self.pin.verify_token(protocol, auth_param, client_data_hash, permission, rp_id)
        return True

    def next_counter(self) -> int:
        """The signature counter: one for the whole key, as on a YubiKey."""
        self.counter += 1
        return self.counter


def _parameters(body: bytes) -> Mapping[Any, Any]:
    if not body:
        return {}
    params = cbor.decode(body)
    if not isinstance(params, Mapping):
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, "CTAP parameters are a map")
    return params
