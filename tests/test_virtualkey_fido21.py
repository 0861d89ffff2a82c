"""The virtual authenticator as a YubiKey 5 (firmware 5.7): what CTAP 2.1 added and U2F.

python-fido2 is the platform here as in test_virtualkey_fido.py (Ctap2, ClientPin, LargeBlobs,
Config, Ctap1, Fido2Client) and Fido2Server the relying party; most tests run over every
transport: in process, CTAPHID framing, and the FIDO applet of an NFC-style key in a private
pcscd.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from fido2 import cbor
from fido2.attestation.base import InvalidSignature as BadAttestation
from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.cose import CoseKey
from fido2.ctap import CtapError
from fido2.ctap1 import ApduError, Ctap1
from fido2.ctap2 import Ctap2
from fido2.ctap2.blob import LargeBlobs
from fido2.ctap2.config import Config
from fido2.ctap2.extensions import (
    CredBlobExtension,
    CredProtectExtension,
    LargeBlobExtension,
    MinPinLengthExtension,
)
from fido2.ctap2.pin import ClientPin, PinProtocolV2
from fido2.pcsc import CtapPcscDevice
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
)
from smartcard.scard import SCARD_RESET_CARD, SCARD_UNPOWER_CARD
from smartcard.System import readers

from helpers.fido import (
    ERR,
    ORIGIN,
    PERM,
    PIN,
    RP_ID,
    TRANSPORTS,
    Prompts,
    Rig,
    ThroughPcscd,
    authenticate,
    close,
    direct,
    make_request,
    register,
    verify_self_attestation,
    wrong_pin,
)
from virtualkey.ctap.authenticator import (
    AAGUID_YUBIKEY5,
    AAGUID_YUBIKEY5_LIGHTNING,
    AAGUID_YUBIKEY5_NFC,
    Authenticator,
)
from virtualkey.key import KeyConfig, VirtualKey
from virtualkey.presence import Presence
from virtualkey.transports import CtapAdapter

ES256, EDDSA, ES384, RS256 = -7, -8, -35, -257
RP_HASH = hashlib.sha256(RP_ID.encode()).digest()
EMPTY_LARGE_BLOB_ARRAY = bytes.fromhex("80") + hashlib.sha256(b"\x80").digest()[:16]


@pytest.fixture(params=sorted(TRANSPORTS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    transport = TRANSPORTS[request.param] or ThroughPcscd(request.getfixturevalue("plug_keys"))
    rig = Rig(transport)
    yield rig
    close(rig.device)  # before its pcscd goes


@pytest.fixture
def server() -> Fido2Server:
    return Fido2Server(PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
                       attestation="direct", verify_attestation=verify_self_attestation)


def client(rig: Rig, pin: str | None = None) -> Fido2Client:
    """A client with the CTAP 2.1 extensions (python-fido2's defaults have no hmac-secret)."""
    extensions = [CredBlobExtension(), CredProtectExtension(), LargeBlobExtension(),
                  MinPinLengthExtension()]
    return Fido2Client(rig.device, DefaultClientDataCollector(ORIGIN), Prompts(pin), extensions)


def token(rig: Rig, permissions: ClientPin.PERMISSION, rp_id: str | None = None) -> bytes:
    return ClientPin(rig.ctap2(), PinProtocolV2()).get_pin_token(PIN, permissions, rp_id)


def raises(code: int, call: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(CtapError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code


# getInfo and the model


def test_get_info_is_a_yubikey_5_7(rig: Rig):
    info = rig.ctap2().get_info()
    assert info.versions == ["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"]
    assert info.extensions == ["credProtect", "hmac-secret", "largeBlobKey", "credBlob",
                               "minPinLength"]
    assert [a["alg"] for a in info.algorithms] == [ES256, EDDSA, ES384]
    assert info.max_msg_size == 1280 and info.max_large_blob == 4096
    assert info.max_cred_blob_length == 32 and info.min_pin_length == 4
    assert info.remaining_disc_creds == 100 and info.force_pin_change is False
    for option in ("alwaysUv", "authnrCfg", "largeBlobs", "setMinPINLength"):
        assert option in info.options
    assert info.options["alwaysUv"] is False and info.options["largeBlobs"] is True
    assert bytes(info.aaguid) == AAGUID_YUBIKEY5_NFC


def test_the_aaguid_is_the_models():
    def aaguid(**config: Any) -> bytes:
        key = VirtualKey(KeyConfig(**config))
        return bytes(Ctap2(CtapAdapter(key.authenticator)).info.aaguid)

    assert aaguid() == bytes.fromhex("a25342c03cdc44148e46f4807fca511c")  # YubiKey 5 NFC
    assert aaguid(nfc=False) == AAGUID_YUBIKEY5 != AAGUID_YUBIKEY5_NFC
    assert aaguid(nfc=False, form_factor=0x03) == AAGUID_YUBIKEY5  # 5C
    assert aaguid(form_factor=0x05) == AAGUID_YUBIKEY5_LIGHTNING  # 5Ci
    with pytest.raises(ValueError, match="NFC"):
        KeyConfig(transport="nfc", nfc=False)


# Algorithms


@pytest.mark.parametrize("alg", [ES256, EDDSA, ES384])
def test_each_algorithm_is_verified_by_the_server(rig: Rig, server: Fido2Server, alg: int):
    server.allowed_algorithms = [
        PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
    ]
    credential, response = register(server, rig.client())
    key = credential.credential_data.public_key
    assert key[3] == alg and response.response.attestation_object.att_stmt["alg"] == alg
    kty_crv = {ES256: (2, 1), EDDSA: (1, 6), ES384: (2, 2)}[alg]
    assert (key[1], key[-1]) == kty_crv
    assert len(key[-2]) == {ES256: 32, EDDSA: 32, ES384: 48}[alg]
    (assertion,) = authenticate(server, rig.client(), [credential.credential_data])
    signed = bytes(assertion.response.authenticator_data) + hashlib.sha256(
        bytes(assertion.response.client_data)).digest()
    CoseKey.for_alg(alg)(key).verify(signed, assertion.response.signature)
    with pytest.raises(InvalidSignature):  # the check above can fail
        CoseKey.for_alg(alg)(key).verify(signed + b"x", assertion.response.signature)


def test_the_first_supported_algorithm_of_the_list_wins():
    ctap2 = Rig(direct).ctap2()

    def made(*algs: int) -> int:
        params = [{"type": "public-key", "alg": alg} for alg in algs]
        answer = ctap2.make_credential(b"\0" * 32, {"id": RP_ID}, {"id": b"u"}, params)
        return answer.auth_data.credential_data.public_key[3]

    assert made(RS256, EDDSA, ES256) == EDDSA
    assert made(ES384, ES256) == ES384
    raises(ERR.UNSUPPORTED_ALGORITHM, made, RS256)


# PIN


def test_pin_retries_need_a_pin(rig: Rig):
    raises(ERR.PIN_NOT_SET, ClientPin(rig.ctap2()).get_pin_retries)
    rig.set_pin()
    assert ClientPin(rig.ctap2()).get_pin_retries() == (8, False)


def reader_connection(name_part: str) -> Any:
    (reader,) = [r for r in readers() if name_part in str(r)]
    connection = reader.createConnection()
    connection.connect()
    return connection


def test_a_reader_power_cycle_of_an_nfc_key_is_a_power_cycle(plug_keys):
    """RF off and on: a YubiKey NFC loses its power, so the three-wrong-PINs block and PIN
    tokens go, as after a re-plug; python-fido2 then works on with the right PIN."""
    rig = Rig(ThroughPcscd(plug_keys))
    try:
        rig.set_pin()
        assert [wrong_pin(rig) for _ in range(3)][-1] == ERR.PIN_AUTH_BLOCKED
        raises(ERR.PIN_AUTH_BLOCKED, ClientPin(rig.ctap2()).get_pin_token, PIN)
        rig.device._conn.reconnect(disposition=SCARD_UNPOWER_CARD)  # the reader's field
        rig.device._select()
        assert ClientPin(rig.ctap2()).get_pin_retries() == (5, False)
        credential, _ = register(Fido2Server({"id": RP_ID, "name": "Example"}),
                                 rig.client(PIN), uv="required")
        assert credential.is_user_verified()
        # A warm reset of the card is the field going off too, on a contactless reader.
        assert [wrong_pin(rig) for _ in range(3)][-1] == ERR.PIN_AUTH_BLOCKED
        rig.device._conn.reconnect(disposition=SCARD_RESET_CARD)
        rig.device._select()
        assert ClientPin(rig.ctap2()).get_pin_retries() == (5, False)
        # A PIN token dies with the field, and the reset window opens again.
        param = PinProtocolV2().authenticate(token(rig, PERM.MAKE_CREDENTIAL, RP_ID), bytes(32))
        assert make_request(rig.ctap2(), pin_uv_param=param, pin_uv_protocol=2)
        param = PinProtocolV2().authenticate(token(rig, PERM.MAKE_CREDENTIAL, RP_ID), bytes(32))
        rig.authenticator.reset_window = 0.5
        time.sleep(0.6)
        raises(ERR.NOT_ALLOWED, rig.ctap2().reset)
        rig.device._conn.reconnect(disposition=SCARD_UNPOWER_CARD)
        rig.device._select()
        raises(ERR.PIN_AUTH_INVALID, make_request, rig.ctap2(), pin_uv_param=param,
               pin_uv_protocol=2)
        rig.ctap2().reset()
        assert rig.ctap2().get_info().options["clientPin"] is False
    finally:
        close(rig.device)


def test_a_card_reset_of_a_usb_key_is_no_power_cycle(plug_keys):
    """Over USB, CCID power and reset reach the smart-card interface only: the key keeps its
    power, and FIDO2 on HID keeps its PIN_AUTH_BLOCKED state."""
    key = VirtualKey(KeyConfig(serial=5550002))
    plug_keys(key)
    rig = Rig(lambda authenticator: CtapAdapter(authenticator))
    rig.authenticator = key.authenticator
    rig.device = CtapAdapter(key.authenticator)
    rig.set_pin()
    assert [wrong_pin(rig) for _ in range(3)][-1] == ERR.PIN_AUTH_BLOCKED
    connection = reader_connection("Yubico")
    try:
        for disposition in (SCARD_RESET_CARD, SCARD_UNPOWER_CARD):
            connection.reconnect(disposition=disposition)
            assert connection.transmit(list(bytes.fromhex("00a4040007a0000005272101")))[1:] \
                == (0x90, 0x00)
            raises(ERR.PIN_AUTH_BLOCKED, ClientPin(rig.ctap2()).get_pin_token, PIN)
    finally:
        connection.disconnect()
        connection.release()
    key.power_cycle()  # a re-plug does unblock it
    ClientPin(rig.ctap2()).get_pin_token(PIN)


# Large blobs


def test_large_blobs_through_the_client(rig: Rig, server: Fido2Server):
    assert LargeBlobs(rig.ctap2()).read_blob_array() == []
    assert rig.ctap2().large_blobs(0, get=100)[1] == EMPTY_LARGE_BLOB_ARRAY
    rig.set_pin()
    credential, response = register(server, client(rig, PIN), resident=True, uv="required",
                                    extensions={"largeBlob": {"support": "required"}})
    assert response.client_extension_results.large_blob.supported is True
    data = b"a secret kept beside the credential " * 20
    (written,) = authenticate(server, client(rig, PIN), [credential.credential_data],
                              uv="required", extensions={"largeBlob": {"write": data}})
    assert written.client_extension_results.large_blob.written is True
    (read,) = authenticate(server, client(rig, PIN), [credential.credential_data],
                           extensions={"largeBlob": {"read": True}})
    assert read.client_extension_results.large_blob.blob == data
    assert len(LargeBlobs(rig.ctap2()).read_blob_array()) == 1


def large_blob_key(rig: Rig) -> bytes:
    param = PinProtocolV2().authenticate(token(rig, PERM.MAKE_CREDENTIAL, RP_ID), b"\0" * 32)
    made = make_request(rig.ctap2(), options={"rk": True}, extensions={"largeBlobKey": True},
                        pin_uv_param=param, pin_uv_protocol=2)
    assert len(made.large_blob_key) == 32
    return made.large_blob_key


def test_large_blob_writes_need_the_lbw_permission(rig: Rig):
    rig.set_pin()
    key = large_blob_key(rig)
    raises(ERR.PUAT_REQUIRED, LargeBlobs(rig.ctap2()).put_blob, key, b"no token")
    no_lbw = token(rig, PERM.CREDENTIAL_MGMT)
    raises(ERR.PIN_AUTH_INVALID, LargeBlobs(rig.ctap2(), PinProtocolV2(), no_lbw).put_blob,
           key, b"wrong permission")
    blobs = LargeBlobs(rig.ctap2(), PinProtocolV2(), token(rig, PERM.LARGE_BLOB_WRITE))
    blobs.put_blob(key, b"x" * 2000)  # two fragments of at most 1216 bytes
    assert LargeBlobs(rig.ctap2()).get_blob(key) == b"x" * 2000
    found = rig.ctap2().get_assertion(RP_ID, b"\0" * 32, extensions={"largeBlobKey": True})
    assert found.large_blob_key == key  # getAssertion hands out the same key


def test_large_blob_sizes_order_and_integrity():
    rig = Rig(direct)
    ctap2 = rig.ctap2()
    raises(ERR.INVALID_LENGTH, ctap2.large_blobs, 0, get=1217)  # maxMsgSize - 64 is the most
    raises(ERR.INVALID_PARAMETER, ctap2.large_blobs, 0, get=1, set=b"x")
    raises(ERR.INVALID_PARAMETER, ctap2.large_blobs, 18, get=1)  # past the array
    raises(ERR.LARGE_BLOB_STORAGE_FULL, ctap2.large_blobs, 0, set=b"x", length=4097)
    raises(ERR.INVALID_PARAMETER, ctap2.large_blobs, 0, set=b"x", length=16)
    raises(ERR.INVALID_SEQ, ctap2.large_blobs, 5, set=b"x")  # no write in progress
    array = b"\x81\xa0"  # [{}] is no valid entry, but only the check bytes are the key's
    good = array + hashlib.sha256(array).digest()[:16]
    bad = array + bytes(16)
    raises(ERR.INTEGRITY_FAILURE, ctap2.large_blobs, 0, set=bad, length=len(bad))
    assert ctap2.large_blobs(0, get=100)[1] == EMPTY_LARGE_BLOB_ARRAY  # nothing replaced
    ctap2.large_blobs(0, set=good[:5], length=len(good))
    raises(ERR.INVALID_SEQ, ctap2.large_blobs, 4, set=good[5:])
    raises(ERR.INVALID_PARAMETER, ctap2.large_blobs, 5, set=good[5:] + b"!")
    ctap2.large_blobs(5, set=good[5:])
    assert ctap2.large_blobs(0, get=100)[1] == good
    def entry(size: int) -> list[dict[int, Any]]:
        return [{1: b"x" * size, 2: b"n" * 12, 3: 4000}]

    size = 4096 - 16 - len(cbor.encode(entry(0))) - 2  # a 2-byte length for the bytes
    assert len(cbor.encode(entry(size))) + 16 == 4096
    LargeBlobs(ctap2).write_blob_array(entry(size))  # exactly 4096: four fragments
    assert LargeBlobs(ctap2).read_blob_array() == entry(size)
    raises(ERR.LARGE_BLOB_STORAGE_FULL, LargeBlobs(ctap2).write_blob_array, entry(size + 1))
    rig.ctap2().reset()
    assert rig.ctap2().large_blobs(0, get=100)[1] == EMPTY_LARGE_BLOB_ARRAY


# credBlob


def test_cred_blob_is_kept_and_given_back(rig: Rig, server: Fido2Server):
    blob = bytes(range(32))
    credential, response = register(server, client(rig), extensions={"credBlob": blob})
    assert response.response.attestation_object.auth_data.extensions == {"credBlob": True}
    (found,) = authenticate(server, client(rig), [credential.credential_data],
                            extensions={"getCredBlob": True})
    assert found.response.authenticator_data.extensions == {"credBlob": blob}


def test_a_cred_blob_too_long_is_not_kept():
    ctap2 = Rig(direct).ctap2()
    made = make_request(ctap2, extensions={"credBlob": b"x" * 33})
    assert made.auth_data.extensions == {"credBlob": False}
    descriptor = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}
    found = ctap2.get_assertion(RP_ID, b"\0" * 32, [descriptor], {"credBlob": True})
    assert found.auth_data.extensions == {"credBlob": b""}


# authenticatorConfig


def config(rig: Rig, permissions: ClientPin.PERMISSION = PERM.AUTHENTICATOR_CFG) -> Config:
    return Config(rig.ctap2(), PinProtocolV2(), token(rig, permissions))


def test_always_uv_needs_the_pin_for_everything(rig: Rig, server: Fido2Server):
    rig.set_pin()
    raises(ERR.PUAT_REQUIRED, Config(rig.ctap2()).toggle_always_uv)
    raises(ERR.PIN_AUTH_INVALID, config(rig, PERM.CREDENTIAL_MGMT).toggle_always_uv)
    config(rig).toggle_always_uv()
    info = rig.ctap2().get_info()
    assert info.options["alwaysUv"] is True and info.options["makeCredUvNotRqd"] is False
    assert "U2F_V2" not in info.versions
    raises(ERR.PUAT_REQUIRED, make_request, rig.ctap2())
    raises(ERR.PUAT_REQUIRED, rig.ctap2().get_assertion, RP_ID, b"\0" * 32)
    with pytest.raises(ApduError) as refused:
        Ctap1(rig.device).register(b"\0" * 32, RP_HASH)
    assert refused.value.code == 0x6985
    credential, _ = register(server, rig.client(PIN), uv="discouraged")  # the client asks
    assert credential.is_user_verified()
    config(rig).toggle_always_uv()
    assert rig.ctap2().get_info().options["alwaysUv"] is False
    assert make_request(rig.ctap2()).auth_data.is_user_present()


def test_set_min_pin_length_forces_a_pin_change(rig: Rig, server: Fido2Server):
    rig.set_pin()  # 4 digits
    config(rig).set_min_pin_length(6, rp_ids=[RP_ID])
    info = rig.ctap2().get_info()
    assert (info.min_pin_length, info.force_pin_change) == (6, True)
    raises(ERR.PIN_POLICY_VIOLATION, ClientPin(rig.ctap2()).get_pin_token, PIN)
    raises(ERR.PIN_POLICY_VIOLATION, ClientPin(rig.ctap2()).change_pin, PIN, "12345")
    ClientPin(rig.ctap2()).change_pin(PIN, "654321")
    assert rig.ctap2().get_info().force_pin_change is False
    assert ClientPin(rig.ctap2()).get_pin_retries() == (8, False)
    _, response = register(server, client(rig, "654321"), uv="required",
                           extensions={"minPinLength": True})
    assert response.response.attestation_object.auth_data.extensions == {"minPinLength": 6}
    other = Fido2Server(PublicKeyCredentialRpEntity(id="login.example.com", name="Login"))
    other_client = Fido2Client(rig.device, DefaultClientDataCollector("https://login.example.com"),
                               Prompts("654321"), [MinPinLengthExtension()])
    _, response = register(other, other_client, uv="required", extensions={"minPinLength": True})
    assert not response.response.attestation_object.auth_data.extensions  # not a listed RP


def test_min_pin_length_only_goes_up_and_force_change_needs_a_pin():
    rig = Rig(direct)
    raises(ERR.PIN_NOT_SET, Config(rig.ctap2()).set_min_pin_length, force_change_pin=True)
    Config(rig.ctap2()).set_min_pin_length(5)  # no PIN yet: no token needed
    raises(ERR.PIN_POLICY_VIOLATION, Config(rig.ctap2()).set_min_pin_length, 4)
    protocol = PinProtocolV2()
    key_agreement, shared = ClientPin(rig.ctap2(), protocol)._get_shared_secret()
    new_pin_enc = protocol.encrypt(shared, PIN.encode().ljust(64, b"\0"))
    raises(ERR.PIN_POLICY_VIOLATION, rig.ctap2().client_pin, 2, 3, key_agreement=key_agreement,
           new_pin_enc=new_pin_enc, pin_uv_param=protocol.authenticate(shared, new_pin_enc))
    rig.set_pin("12345")
    token_ = ClientPin(rig.ctap2(), protocol).get_pin_token("12345", PERM.AUTHENTICATOR_CFG)
    Config(rig.ctap2(), protocol, token_).set_min_pin_length(force_change_pin=True)
    assert rig.ctap2().get_info().force_pin_change is True
    raises(ERR.PIN_POLICY_VIOLATION, ClientPin(rig.ctap2()).change_pin, "12345", "12345")
    rig.ctap2().reset()
    info = rig.ctap2().get_info()
    assert (info.min_pin_length, info.force_pin_change) == (4, False)


# hmac-secret


def test_hmac_secret_is_refused_without_user_presence():
    rig = Rig(direct)
    ctap2 = rig.ctap2()
    made = make_request(ctap2, extensions={"hmac-secret": True})
    descriptor = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}
    protocol = PinProtocolV2()
    key_agreement, shared = ClientPin(ctap2, protocol)._get_shared_secret()
    salt_enc = protocol.encrypt(shared, b"\1" * 32)
    extension = {1: key_agreement, 2: salt_enc, 3: protocol.authenticate(shared, salt_enc), 4: 2}
    raises(ERR.UNSUPPORTED_OPTION, ctap2.get_assertion, RP_ID, b"\0" * 32, [descriptor],
           {"hmac-secret": extension}, {"up": False})
    silent = ctap2.get_assertion(RP_ID, b"\0" * 32, [descriptor], options={"up": False})
    assert not silent.auth_data.is_user_present()  # up false alone is fine
    answer = ctap2.get_assertion(RP_ID, b"\0" * 32, [descriptor], {"hmac-secret": extension})
    assert len(protocol.decrypt(shared, answer.auth_data.extensions["hmac-secret"])) == 32


# U2F (CTAP1)


def test_u2f_register_and_authenticate(rig: Rig, server: Fido2Server):
    ctap1 = Ctap1(rig.device)
    assert ctap1.get_version() == "U2F_V2"
    client_param = hashlib.sha256(b"client data").digest()
    registration = ctap1.register(client_param, RP_HASH)
    registration.verify(RP_HASH, client_param)  # the self-signed attestation certificate
    with pytest.raises(BadAttestation):  # the check can fail
        registration.verify(RP_HASH, bytes(32))
    handle = registration.key_handle
    first = ctap1.authenticate(client_param, RP_HASH, handle)
    first.verify(RP_HASH, client_param, registration.public_key)
    second = ctap1.authenticate(client_param, RP_HASH, handle)
    assert second.counter > first.counter and second.user_presence == 1
    for check_only, app, code in ((True, RP_HASH, 0x6985), (True, bytes(32), 0x6A80),
                                  (False, bytes(32), 0x6A80)):
        with pytest.raises(ApduError) as refused:
            ctap1.authenticate(client_param, app, handle, check_only=check_only)
        assert refused.value.code == code
    # The U2F credential answers CTAP2 too, and the server verifies it.
    credential = AttestedCredentialData.from_ctap1(handle, registration.public_key)
    (assertion,) = authenticate(server, rig.client(), [credential])
    assert assertion.response.authenticator_data.counter > second.counter


def test_u2f_signs_with_a_ctap2_credential(rig: Rig, server: Fido2Server):
    credential, _ = register(server, rig.client())
    data = credential.credential_data
    public = b"\x04" + data.public_key[-2] + data.public_key[-3]
    client_param = hashlib.sha256(b"client data").digest()
    signature = Ctap1(rig.device).authenticate(client_param, RP_HASH, data.credential_id)
    signature.verify(RP_HASH, client_param, public)


def test_u2f_needs_a_touch_and_no_uv_only_credential():
    rig = Rig(direct)
    rig.presence.policy, rig.presence.timeout = "deny", 0.1
    ctap1 = Ctap1(rig.device)
    with pytest.raises(ApduError) as refused:
        ctap1.register(bytes(32), RP_HASH)
    assert refused.value.code == 0x6985
    rig.presence.policy = "auto"
    made = make_request(rig.ctap2(), extensions={"credProtect": 3}, options={"rk": True})
    with pytest.raises(ApduError) as refused:
        ctap1.authenticate(bytes(32), RP_HASH, made.auth_data.credential_data.credential_id)
    assert refused.value.code == 0x6A80
    eddsa = rig.ctap2().make_credential(bytes(32), {"id": RP_ID}, {"id": b"e"},
                                        [{"type": "public-key", "alg": EDDSA}])
    with pytest.raises(ApduError) as refused:  # U2F is P-256 only
        ctap1.authenticate(bytes(32), RP_HASH, eddsa.auth_data.credential_data.credential_id)
    assert refused.value.code == 0x6A80
    answer = rig.device.call(0x03, struct.pack(">BBBBBH", 0x80, 0x03, 0, 0, 0, 0))
    assert answer == b"\x6e\x00"  # U2F is CLA 00


def test_u2f_through_a_pcscd_reader_answers_as_an_nfc_yubikey(plug_keys):
    authenticator = Authenticator((5, 7, 2), Presence())
    device = ThroughPcscd(plug_keys)(authenticator)
    try:
        assert isinstance(device, CtapPcscDevice)
        assert device.apdu_exchange(bytes.fromhex("00a4040008a0000006472f0001")) == (
            b"U2F_V2", 0x90, 0x00)
        registration = Ctap1(device).register(bytes(32), RP_HASH)
        registration.verify(RP_HASH, bytes(32))
        assert authenticator.store.find(registration.key_handle, RP_HASH) is not None
        started = time.monotonic()
        Ctap1(device).authenticate(bytes(32), RP_HASH, registration.key_handle)
        assert time.monotonic() - started < 5
    finally:
        close(device)
