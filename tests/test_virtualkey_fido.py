"""The virtual key's FIDO2 authenticator, checked by python-fido2's real client and server.

The authenticator side (tests/virtualkey/ctap) never imports python-fido2; here python-fido2 is
the platform (Fido2Client, Ctap2, ClientPin, CredentialManagement) and the relying party
(Fido2Server), so every signature, encryption and CBOR answer is checked independently.
Most tests run over every transport in TRANSPORTS: the authenticator in process, CTAPHID
framing, and the FIDO applet of a key plugged into a private pcscd, through python-fido2's
CtapPcscDevice over pyscard.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fido2 import cbor
from fido2.client import ClientError, Fido2Client
from fido2.ctap import STATUS, CtapError
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
)

from helpers.fido import (
    ERR,
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
    user,
    verify_self_attestation,
    wrong_pin,
)
from helpers.keys import transmit
from virtualkey.card import Card
from virtualkey.ctap import cbor as own_cbor
from virtualkey.ctap import protocols as own_protocols
from virtualkey.ctap.assertion import PendingAssertions
from virtualkey.ctap.authenticator import Authenticator
from virtualkey.ctap.credentials import Credential
from virtualkey.ctap.hmac_secret import SaltRequest
from virtualkey.ctap.pin import PinToken
from virtualkey.fido import FidoApplet
from virtualkey.hid import VirtualHidConnection, open_hid_device, virtual_descriptor
from virtualkey.oath import AccessKey, OathCredential
from virtualkey.presence import Presence

# Transports: each builds a python-fido2 CtapDevice around an authenticator.
















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










# Registration and authentication, verified by Fido2Server


def test_register_and_authenticate_are_verified_by_the_server(rig: Rig, server: Fido2Server):
    client = rig.client()
    credential, response = register(server, client)
    auth_data = response.response.attestation_object.auth_data
    assert response.response.attestation_object.fmt == "packed"
    assert auth_data.is_user_present() and not auth_data.is_user_verified()
    assert bytes(credential.credential_data.aaguid) == rig.authenticator.aaguid
    first = authenticate(server, client, [credential.credential_data])[0]
    second = authenticate(server, client, [credential.credential_data])[0]
    counters = [r.response.authenticator_data.counter for r in (first, second)]
    assert counters[1] > counters[0] > auth_data.counter


def test_a_signature_over_other_data_fails_the_server(rig: Rig, server: Fido2Server):
    """The check above can fail: the server refuses an assertion made for another challenge."""
    client = rig.client()
    credential, _ = register(server, client)
    _, state = server.authenticate_begin([credential.credential_data], "discouraged")
    other, _ = server.authenticate_begin([credential.credential_data], "discouraged")
    response = client.get_assertion(other.public_key).get_response(0)
    with pytest.raises(ValueError, match="challenge"):
        server.authenticate_complete(state, [credential.credential_data], response)


def test_discoverable_credentials_answer_without_an_allow_list(rig: Rig, server: Fido2Server):
    client = rig.client()
    made = [register(server, client, n, resident=True)[0] for n in (1, 2)]
    responses = authenticate(server, client, [m.credential_data for m in made], allow=False)
    handles = [r.response.user_handle for r in responses]
    assert handles == [b"user-2", b"user-1"]  # the most recent first


def test_an_excluded_credential_is_refused(rig: Rig, server: Fido2Server):
    client = rig.client()
    credential, _ = register(server, client)
    options, _ = server.register_begin(user(), [credential.credential_data],
                                       user_verification="discouraged")
    with pytest.raises(ClientError) as raised:
        client.make_credential(options.public_key)
    assert raised.value.cause.code == ERR.CREDENTIAL_EXCLUDED


def test_a_reset_forgets_credentials_and_pin(rig: Rig, server: Fido2Server):
    client = rig.client()
    credential, _ = register(server, client)
    rig.set_pin()
    rig.ctap2().reset()
    assert rig.ctap2().get_info().options["clientPin"] is False
    options, _ = server.authenticate_begin([credential.credential_data],
                                           user_verification="discouraged")
    with pytest.raises(ClientError) as raised:
        rig.client().get_assertion(options.public_key)
    assert raised.value.code == ClientError.ERR.DEVICE_INELIGIBLE


def test_reset_is_refused_late_after_power_up():
    rig = Rig(direct)
    rig.authenticator.reset_window = 0.0
    time.sleep(0.01)
    with pytest.raises(CtapError) as raised:
        rig.ctap2().reset()
    assert raised.value.code == ERR.NOT_ALLOWED


# hmac-secret and PRF


SALT1, SALT2 = b"\x01" * 32, b"\x02" * 32


def hmac_get(
    server: Fido2Server, client: Fido2Client, credential: AuthenticatorData, *salts: bytes,
    uv: str = "discouraged",
) -> tuple[bytes, bytes | None]:
    inputs = {"salt1": salts[0], **({"salt2": salts[1]} if len(salts) > 1 else {})}
    response = authenticate(server, client, [credential.credential_data], uv=uv,
                            extensions={"hmacGetSecret": inputs})[0]
    outputs = response.client_extension_results.hmac_get_secret
    return outputs.output1, outputs.output2


def test_hmac_secret_is_stable_and_depends_on_uv(rig: Rig, server: Fido2Server):
    credential, response = register(server, rig.client(), extensions={"hmacCreateSecret": True})
    assert response.client_extension_results.hmac_create_secret is True
    first, _ = hmac_get(server, rig.client(), credential, SALT1)
    rig.power_cycle()
    again, _ = hmac_get(server, rig.client(), credential, SALT1)
    assert len(first) == 32 and first == again
    other, _ = hmac_get(server, rig.client(), credential, SALT2)
    assert other != first
    one, two = hmac_get(server, rig.client(), credential, SALT1, SALT2)
    assert (one, two) == (first, other)
    rig.set_pin()
    verified, _ = hmac_get(server, rig.client(PIN), credential, SALT1, uv="required")
    assert verified != first  # CredRandomWithUV, not WithoutUV


def test_prf_is_hmac_secret_of_the_hashed_salt(rig: Rig, server: Fido2Server):
    credential, _ = register(server, rig.client(), extensions={"prf": {}})
    response = authenticate(server, rig.client(), [credential.credential_data],
                            extensions={"prf": {"eval": {"first": b"vault"}}})[0]
    prf = response.client_extension_results.prf.results.first
    salt = hashlib.sha256(b"WebAuthn PRF\0vault").digest()
    raw, _ = hmac_get(server, rig.client(), credential, salt)
    assert prf == raw


def test_hmac_secret_with_pin_protocol_one_and_two_agree():
    rig = Rig(direct)
    ctap2 = rig.ctap2()
    made = ctap2.make_credential(b"\0" * 32, {"id": RP_ID}, {"id": b"u"},
                                 [{"type": "public-key", "alg": -7}],
                                 extensions={"hmac-secret": True})
    descriptor = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}
    outputs = []
    for protocol in (PinProtocolV1(), PinProtocolV2()):
        key_agreement, shared = ClientPin(ctap2, protocol)._get_shared_secret()
        salt_enc = protocol.encrypt(shared, SALT1)
        extension = {1: key_agreement, 2: salt_enc, 3: protocol.authenticate(shared, salt_enc),
                     4: protocol.VERSION}
        answer = ctap2.get_assertion(RP_ID, b"\0" * 32, [descriptor],
                                     {"hmac-secret": extension})
        outputs.append(protocol.decrypt(shared, answer.auth_data.extensions["hmac-secret"]))
    assert outputs[0] == outputs[1]
    bad = {**extension, 3: bytes(32)}
    with pytest.raises(CtapError) as error:
        ctap2.get_assertion(RP_ID, b"\0" * 32, [descriptor], {"hmac-secret": bad})
    assert error.value.code == ERR.INVALID_PARAMETER  # saltAuth does not verify


# PIN


def test_pin_set_and_change(rig: Rig):
    rig.set_pin()
    client_pin = ClientPin(rig.ctap2())
    assert rig.ctap2().get_info().options["clientPin"] is True
    client_pin.change_pin(PIN, "123456")
    with pytest.raises(CtapError) as raised:
        client_pin.get_pin_token(PIN)
    assert raised.value.code == ERR.PIN_INVALID
    assert len(client_pin.get_pin_token("123456")) == 32
    assert client_pin.get_pin_retries()[0] == 8
    with pytest.raises(CtapError) as raised:
        client_pin.set_pin("999999")
    assert raised.value.code == ERR.NOT_ALLOWED


def test_a_pin_too_short_is_refused():
    rig = Rig(direct)
    with pytest.raises(ValueError, match="4"):  # python-fido2 refuses it first...
        ClientPin(rig.ctap2()).set_pin("12")
    # ...so the short PIN is padded and sent by hand
    protocol = PinProtocolV2()
    key_agreement, shared = ClientPin(rig.ctap2(), protocol)._get_shared_secret()
    new_pin_enc = protocol.encrypt(shared, b"12".ljust(64, b"\0"))
    with pytest.raises(CtapError) as raised:
        rig.ctap2().client_pin(2, 3, key_agreement=key_agreement, new_pin_enc=new_pin_enc,
                               pin_uv_param=protocol.authenticate(shared, new_pin_enc))
    assert raised.value.code == ERR.PIN_POLICY_VIOLATION




def test_three_wrong_pins_block_until_power_cycle_and_eight_for_good(rig: Rig):
    rig.set_pin()
    assert [wrong_pin(rig) for _ in range(3)] == [ERR.PIN_INVALID] * 2 + [ERR.PIN_AUTH_BLOCKED]
    with pytest.raises(CtapError) as raised:
        ClientPin(rig.ctap2()).get_pin_token(PIN)  # even the right PIN, until power cycle
    assert raised.value.code == ERR.PIN_AUTH_BLOCKED
    assert ClientPin(rig.ctap2()).get_pin_retries() == (5, True)
    rig.power_cycle()
    ClientPin(rig.ctap2()).get_pin_token(PIN)
    assert ClientPin(rig.ctap2()).get_pin_retries() == (8, False)
    codes = [wrong_pin(rig) for _ in range(3)]
    rig.power_cycle()
    codes += [wrong_pin(rig) for _ in range(3)]
    rig.power_cycle()
    codes += [wrong_pin(rig) for _ in range(2)]
    assert codes[2] == codes[5] == ERR.PIN_AUTH_BLOCKED and codes[7] == ERR.PIN_BLOCKED
    rig.power_cycle()
    with pytest.raises(CtapError) as raised:
        ClientPin(rig.ctap2()).get_pin_token(PIN)
    assert raised.value.code == ERR.PIN_BLOCKED
    rig.ctap2().reset()
    rig.set_pin()
    assert ClientPin(rig.ctap2()).get_pin_retries() == (8, False)


def test_a_wrong_pin_renews_the_key_agreement_key():
    rig = Rig(direct)
    rig.set_pin()
    ctap2 = rig.ctap2()

    def key_agreement() -> dict:
        return ctap2.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[1]

    before = key_agreement()
    assert key_agreement() == before
    wrong_pin(rig)
    assert key_agreement() != before


def test_a_discoverable_credential_needs_the_pin_once_set(rig: Rig, server: Fido2Server):
    rig.set_pin()
    _, response = register(server, rig.client(PIN), resident=True)
    assert response.response.attestation_object.auth_data.is_user_verified()
    with pytest.raises(CtapError) as raised:
        rig.ctap2().make_credential(b"\0" * 32, {"id": RP_ID}, {"id": b"u"},
                                    [{"type": "public-key", "alg": -7}], options={"rk": True})
    assert raised.value.code == ERR.PUAT_REQUIRED


def test_token_permissions_and_rp_binding():
    rig = Rig(direct)
    rig.set_pin()
    ctap2 = rig.ctap2()
    for protocol in (PinProtocolV1(), PinProtocolV2()):
        client_pin = ClientPin(ctap2, protocol)
        token = client_pin.get_pin_token(PIN, PERM.GET_ASSERTION, "other.example")
        param = protocol.authenticate(token, b"\0" * 32)
        with pytest.raises(CtapError) as raised:
            ctap2.get_assertion(RP_ID, b"\0" * 32, pin_uv_param=param,
                                pin_uv_protocol=protocol.VERSION)
        assert raised.value.code == ERR.PIN_AUTH_INVALID
        with pytest.raises(CtapError) as raised:
            CredentialManagement(ctap2, protocol, token).get_metadata()
        assert raised.value.code == ERR.PIN_AUTH_INVALID


def test_cred_protect_hides_a_credential_from_an_unverified_user():
    rig = Rig(direct)
    made = make_request(rig.ctap2(), extensions={"credProtect": 3}, options={"rk": True})
    assert made.auth_data.extensions == {"credProtect": 3}
    descriptor = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}
    for allow in (None, [descriptor]):
        with pytest.raises(CtapError) as raised:
            rig.ctap2().get_assertion(RP_ID, b"\0" * 32, allow)
        assert raised.value.code == ERR.NO_CREDENTIALS
    rig.set_pin()
    token = ClientPin(rig.ctap2()).get_pin_token(PIN, PERM.GET_ASSERTION, RP_ID)
    param = PinProtocolV2().authenticate(token, b"\0" * 32)
    found = rig.ctap2().get_assertion(RP_ID, b"\0" * 32, pin_uv_param=param, pin_uv_protocol=2)
    assert found.user == {"id": b"u"} and found.auth_data.is_user_verified()


# Credential management


def test_credential_management_enumerates_and_deletes(rig: Rig, server: Fido2Server):
    rig.set_pin()
    made = [register(server, rig.client(PIN), n, resident=True)[0] for n in (1, 2)]
    other = Fido2Server(PublicKeyCredentialRpEntity(id="login.example.com", name="Login"))
    register(other, rig.client(PIN, origin="https://login.example.com"), 3, resident=True)
    protocol = PinProtocolV2()
    token = ClientPin(rig.ctap2(), protocol).get_pin_token(PIN, PERM.CREDENTIAL_MGMT)
    credman = CredentialManagement(rig.ctap2(), protocol, token)
    metadata = credman.get_metadata()
    assert metadata[1] == 3 and metadata[2] == 97
    rps = credman.enumerate_rps()
    assert sorted(rp[3]["id"] for rp in rps) == ["example.com", "login.example.com"]
    rp_hash = hashlib.sha256(RP_ID.encode()).digest()
    creds = credman.enumerate_creds(rp_hash)
    assert sorted(c[6]["id"] for c in creds) == [b"user-1", b"user-2"]
    credman.update_user_info(creds[1][7], {"id": b"user-1", "name": "renamed"})
    credman.delete_cred(creds[0][7])
    assert [c[6] for c in credman.enumerate_creds(rp_hash)] == [{"id": b"user-1",
                                                                  "name": "renamed"}]
    assert rig.ctap2().get_info().remaining_disc_creds == 98
    responses = authenticate(server, rig.client(PIN), [m.credential_data for m in made],
                             allow=False, uv="required")
    assert [r.response.user_handle for r in responses] == [b"user-1"]
    deleted = made[1].credential_data
    with pytest.raises(ClientError) as raised:  # not even as a non-resident credential
        authenticate(server, rig.client(PIN), [deleted], uv="required")
    assert raised.value.code == ClientError.ERR.DEVICE_INELIGIBLE


def test_credential_management_preview_command_and_missing_token():
    rig = Rig(direct)
    rig.set_pin()
    protocol = PinProtocolV1()
    token = ClientPin(rig.ctap2(), protocol).get_pin_token(PIN, PERM.CREDENTIAL_MGMT)
    param = protocol.authenticate(token, b"\x01")
    answer = rig.ctap2().send_cbor(0x41, {1: 1, 3: 1, 4: param})
    assert answer == {1: 0, 2: 100}
    with pytest.raises(CtapError) as raised:
        rig.ctap2().send_cbor(0x0A, {1: 1})
    assert raised.value.code == ERR.PUAT_REQUIRED


# Capacity


def test_the_resident_store_fills_up():
    rig = Rig(direct, firmware=(5, 4, 3))
    ctap2 = rig.ctap2()
    assert ctap2.info.remaining_disc_creds == 25

    def make(user_id: bytes) -> None:
        ctap2.make_credential(b"\0" * 32, {"id": RP_ID}, {"id": user_id},
                              [{"type": "public-key", "alg": -7}], options={"rk": True})

    for number in range(25):
        make(b"%d" % number)
    with pytest.raises(CtapError) as raised:
        make(b"one too many")
    assert raised.value.code == ERR.KEY_STORE_FULL
    make(b"3")  # the same user again replaces the old credential
    assert ctap2.get_info().remaining_disc_creds == 0
    assert Rig(direct).ctap2().info.remaining_disc_creds == 100  # firmware 5.7


# User presence: deny, cancel, keepalive




@pytest.mark.parametrize("status", [ERR.USER_ACTION_TIMEOUT, ERR.OPERATION_DENIED])
def test_denied_presence_answers_the_chosen_status(rig: Rig, status: CtapError.ERR):
    rig.presence.policy, rig.presence.timeout = "deny", 0.1
    if status == ERR.OPERATION_DENIED:
        rig.authenticator.deny_status = status
    with pytest.raises(CtapError) as raised:
        make_request(rig.ctap2())
    assert raised.value.code == status
    with pytest.raises(CtapError) as raised:
        rig.ctap2().reset()
    assert raised.value.code == status


def test_cancel_ends_a_presence_wait(rig: Rig):
    rig.presence.policy, rig.presence.timeout = "signal", 5.0
    event = threading.Event()
    threading.Timer(0.2, event.set).start()
    started = time.monotonic()
    with pytest.raises(CtapError) as raised:
        make_request(rig.ctap2(), event=event)
    assert raised.value.code == ERR.KEEPALIVE_CANCEL
    assert time.monotonic() - started < 2.0
    rig.presence.policy = "auto"
    assert make_request(rig.ctap2()).auth_data.is_user_present()  # the key works on


def test_keepalive_asks_for_a_touch(rig: Rig, server: Fido2Server):
    rig.presence.policy, rig.presence.timeout = "signal", 5.0
    statuses: list[STATUS] = []
    threading.Timer(0.3, rig.presence.touch).start()
    make_request(rig.ctap2(), on_keepalive=statuses.append)
    # Over NFC the first poll may still say PROCESSING; then it asks for the touch, once.
    assert statuses in ([STATUS.UPNEEDED], [STATUS.PROCESSING, STATUS.UPNEEDED])
    prompts = Prompts()
    threading.Timer(0.3, rig.presence.touch).start()
    register(server, rig.client(prompts=prompts))
    assert prompts.touch_prompts == 1


# CTAPHID framing


class HidHost:
    """Raw reports to and from a VirtualHidConnection."""

    def __init__(self, authenticator: Authenticator | None = None) -> None:
        self.connection = VirtualHidConnection(authenticator or Authenticator((5, 7, 2),
                                                                               Presence()),
                                               read_timeout=2.0)

    def send(self, channel: int, command: int, data: bytes = b"", length: int | None = None):
        size = len(data) if length is None else length
        header = channel.to_bytes(4, "big") + bytes([0x80 | command]) + size.to_bytes(2, "big")
        self.connection.write_packet((header + data[:57]).ljust(64, b"\0"))
        rest, seq = data[57:], 0
        while rest:
            packet = channel.to_bytes(4, "big") + bytes([seq]) + rest[:59]
            self.connection.write_packet(packet.ljust(64, b"\0"))
            rest, seq = rest[59:], seq + 1

    def receive(self) -> tuple[int, int, bytes]:
        packet = self.connection.read_packet()
        length = int.from_bytes(packet[5:7], "big")
        data = packet[7:][:length]
        while len(data) < length:
            data += self.connection.read_packet()[5:][: length - len(data)]
        return int.from_bytes(packet[:4], "big"), packet[4] & 0x7F, data

    def allocate(self) -> int:
        self.send(0xFFFFFFFF, 0x06, b"12345678")
        _, _, data = self.receive()
        return int.from_bytes(data[8:12], "big")


def test_ctaphid_init_allocates_channels_and_echoes_the_nonce():
    host = HidHost()
    host.send(0xFFFFFFFF, 0x06, b"noncenon")
    channel, command, data = host.receive()
    assert (channel, command, data[:8]) == (0xFFFFFFFF, 0x06, b"noncenon")
    assert data[12:17] == bytes([2, 5, 7, 2, 0x05])  # CTAPHID 2, firmware, WINK|CBOR (U2F: no NMSG)
    assert host.allocate() != int.from_bytes(data[8:12], "big")


def test_ctaphid_ping_wink_and_errors():
    host = HidHost()
    channel = host.allocate()
    host.send(channel, 0x01, bytes(range(200)))
    assert host.receive() == (channel, 0x01, bytes(range(200)))
    host.send(channel, 0x08)
    assert host.receive() == (channel, 0x08, b"") and host.connection.winks == 1
    host.send(channel, 0x03, b"\x00\x03\x00\x00")  # MSG: U2F VERSION
    assert host.receive() == (channel, 0x03, b"U2F_V2\x90\x00")
    host.send(channel, 0x03, b"\x00\x01\x00\x00")  # U2F REGISTER without its 64 bytes
    assert host.receive() == (channel, 0x03, b"\x67\x00")
    host.send(channel, 0x04)  # LOCK is not there
    assert host.receive() == (channel, 0x3F, bytes([ERR.INVALID_COMMAND]))
    host.send(0x12345678, 0x01, b"x")
    assert host.receive() == (0x12345678, 0x3F, bytes([ERR.INVALID_CHANNEL]))
    host.send(channel, 0x06, b"short")
    assert host.receive() == (channel, 0x3F, bytes([ERR.INVALID_LENGTH]))
    host.send(channel, 0x01, b"x" * 57, length=100)
    host.connection.write_packet(channel.to_bytes(4, "big") + b"\x05" + b"y" * 59)
    assert host.receive() == (channel, 0x3F, bytes([ERR.INVALID_SEQ]))
    host.send(channel, 0x01, b"", length=10000)
    assert host.receive() == (channel, 0x3F, bytes([ERR.INVALID_LENGTH]))


def test_ctaphid_keepalives_and_busy_channel_while_waiting_for_a_touch():
    presence = Presence("signal", timeout=5.0)
    host = HidHost(Authenticator((5, 7, 2), presence))
    first, second = host.allocate(), host.allocate()
    host.send(first, 0x10, b"\x0b")  # authenticatorSelection: waits for a touch
    keepalives = [host.receive() for _ in range(3)]
    assert keepalives == [(first, 0x3B, b"\x02")] * 3
    host.send(second, 0x01, b"ping")
    answers = [host.receive() for _ in range(2)]
    assert (second, 0x3F, bytes([ERR.CHANNEL_BUSY])) in answers
    host.send(first, 0x11)
    while (answer := host.receive())[1] == 0x3B:
        pass
    assert answer == (first, 0x10, bytes([ERR.KEEPALIVE_CANCEL]))


class SlowQueue(queue.Queue):
    """The worker thread queues its reports slowly, so that any report the host thread queues
    meanwhile would land between them."""

    def put(self, item: bytes, block: bool = True, timeout: float | None = None) -> None:
        if threading.current_thread().name == "virtual-ctaphid-request":
            time.sleep(0.002)
        super().put(item, block, timeout)


class LongAnswer:
    """An authenticator that thinks for a while, then answers 1025 bytes (18 reports)."""

    firmware = (5, 7, 2)
    answer = b"\0" + bytes(range(256)) * 4

    def call(self, request: bytes, keepalive: Any, cancelled: Any) -> bytes:
        time.sleep(0.03)
        return self.answer


def test_ctaphid_an_answer_stays_whole_while_another_channel_gets_busy():
    host = HidHost(LongAnswer())  # type: ignore[arg-type]
    first, second = host.allocate(), host.allocate()
    host.connection._to_host = SlowQueue()
    before = set(threading.enumerate())
    host.send(first, 0x10, b"\x04")
    (worker,) = set(threading.enumerate()) - before
    deadline = time.monotonic() + 5.0
    while worker.is_alive() and time.monotonic() < deadline:
        host.send(second, 0x01, b"ping")  # CHANNEL_BUSY while the request runs
        time.sleep(0.001)
    packets = []
    while not host.connection._to_host.empty():
        packets.append(host.connection.read_packet())
    channels = [int.from_bytes(packet[:4], "big") for packet in packets]
    answer_at = [index for index, channel in enumerate(channels) if channel == first]
    assert answer_at == list(range(answer_at[0], answer_at[0] + 18))
    head, *rest = (packets[index] for index in answer_at)
    assert head[4:7] == bytes([0x90]) + (1025).to_bytes(2, "big")
    assert (head[7:] + b"".join(packet[5:] for packet in rest))[:1025] == LongAnswer.answer
    busy = (second.to_bytes(4, "big") + bytes([0xBF, 0, 1, ERR.CHANNEL_BUSY])).ljust(64, b"\0")
    assert busy in packets


def test_ctaphid_device_helper_works_with_python_fido2():
    device = open_hid_device(Authenticator((5, 7, 2), Presence()))
    assert device.ping(b"hello" * 40) == b"hello" * 40
    device.wink()
    assert device.device_version == (5, 7, 2)
    assert virtual_descriptor().report_size_in == 64


# The FIDO applet through raw APDUs


def select_fido(card: Card) -> bytes:
    data, sw = transmit(card, "00a4040008a0000006472f0001")
    assert sw == 0x9000
    return data


def test_applet_select_and_get_info_through_61xx():
    card = Card([FidoApplet(Authenticator((5, 7, 2), Presence()))])
    assert select_fido(card) == b"U2F_V2"
    data, sw = transmit(card, "80108000010440")  # Le 64: the rest behind 61xx
    assert sw >> 8 == 0x61
    while sw >> 8 == 0x61:
        more, sw = transmit(card, bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
        data += more
    assert sw == 0x9000 and data[0] == 0
    info = cbor.decode(data[1:])
    assert info[1] == ["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE", "FIDO_2_1"] and info[6] == [2, 1]
    assert info[14] == 0x050702


def test_applet_answers_9100_while_waiting_and_the_result_after_a_touch():
    presence = Presence("signal", timeout=5.0)
    card = Card([FidoApplet(Authenticator((5, 7, 2), presence))])
    select_fido(card)
    data, sw = transmit(card, "80108000010b00")
    polls = 1
    while sw == 0x9100 and polls < 5:
        assert data in (b"\x01", b"\x02")
        data, sw = transmit(card, "80110000")
        polls += 1
    assert (data, sw) == (b"\x02", 0x9100)
    presence.touch()
    # The worker polls presence every 20 ms; on a busy machine it may take longer than that.
    deadline = time.monotonic() + 5.0
    while (answer := transmit(card, "80110000"))[1] == 0x9100 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert answer == (b"\x00", 0x9000)
    assert transmit(card, "80110000")[1] == 0x6985  # nothing pending now


def test_applet_cancel_and_deselect_end_a_wait():
    presence = Presence("signal", timeout=5.0)
    card = Card([FidoApplet(Authenticator((5, 7, 2), presence))])
    select_fido(card)
    assert transmit(card, "80108000010b00")[1] == 0x9100
    data, sw = transmit(card, "80111100")
    while sw == 0x9100:
        data, sw = transmit(card, "80110000")
    assert (data, sw) == (bytes([ERR.KEEPALIVE_CANCEL]), 0x9000)
    assert transmit(card, "80108000010b00")[1] == 0x9100
    card.reset()  # deselects: the pending request is cancelled and forgotten
    select_fido(card)
    assert transmit(card, "80110000")[1] == 0x6985
    assert transmit(card, "80010000")[1] == 0x6E00  # U2F is CLA 00
    assert transmit(card, "00030000") == (b"U2F_V2", 0x9000)
    assert transmit(card, "00040000")[1] == 0x6D00


def test_applet_takes_chained_requests():
    card = Card([FidoApplet(Authenticator((5, 7, 2), Presence()))])
    select_fido(card)
    exclude = [{"type": "public-key", "id": bytes([n]) * 64} for n in range(6)]
    request = b"\x01" + cbor.encode({1: b"\0" * 32, 2: {"id": RP_ID}, 3: {"id": b"u"},
                                     4: [{"type": "public-key", "alg": -7}], 5: exclude})
    assert len(request) > 255
    parts = [request[i : i + 250] for i in range(0, len(request), 250)]
    for part in parts[:-1]:
        assert transmit(card, bytes([0x90, 0x10, 0x00, 0x00, len(part)]) + part)[1] == 0x9000
    data, sw = transmit(card, bytes([0x80, 0x10, 0x00, 0x00, len(parts[-1])]) + parts[-1] + b"\0")
    while sw >> 8 == 0x61:
        more, sw = transmit(card, bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
        data += more
    assert sw == 0x9000 and data[0] == 0 and cbor.decode(data[1:])[1] == "packed"


# Secrets


def test_no_secret_appears_in_a_repr():
    """Key material, PIN tokens and shared secrets stay out of reprs (and so out of pytest's
    failure output and logs)."""
    secrets = [bytes([0xA0 + n]) * 8 + bytes(range(n, n + 24)) for n in range(5)]
    seed, token, shared, oath_key, access_key = secrets
    credential = Credential(b"id", b"\0" * 32, seed, rp={"id": RP_ID}, user={"id": b"u"})
    salts = SaltRequest(own_protocols.PinProtocolV1(), shared, (SALT1,))
    objects = [
        credential,
        PinToken(token, 2, 0x03, RP_ID),
        salts,
        PendingAssertions(b"\0" * 32, b"\1" * 32, 0x01, True, salts, [credential]),
        OathCredential(b"oath", 0x20, 0x01, 6, oath_key),
        AccessKey(0x01, access_key),
    ]
    for thing in objects:
        text = repr(thing)
        for secret in secrets:
            assert secret.hex() not in text.lower()
            assert repr(secret)[2:-1] not in text
            assert str(list(secret)) not in text


# CBOR and malformed requests


@pytest.mark.parametrize(
    "value",
    [0, 23, 24, 255, 256, 65536, 2**32, -1, -24, -25, -257, b"", b"x" * 300, "é", [1, [2]],
     {1: 2, 3: -7, -1: 1, -2: b"x"}, {"type": "public-key", "alg": -7}, {"b": 1, "aa": 2, 10: 3},
     True, False],
)
def test_own_cbor_matches_python_fido2(value: Any):
    encoded = own_cbor.encode(value)
    assert encoded == cbor.encode(value)
    assert own_cbor.decode(encoded) == value


@pytest.mark.parametrize(
    "hex_request",
    [
        "04ff",  # a break code
        "0218",  # truncated
        "02a20101a1",  # truncated inside a map
        "02a202010101",  # keys out of order
        "02a201010101",  # a repeated key
        "021801",  # 1 in a two-byte form
        "02a1180101",  # a key in a long form
        "02a18001",  # an array as a key
        "02f6",  # null
        "02c001",  # a tag
        "02a1010102",  # bytes after the item
        "0261ff",  # text that is not UTF-8
        "02" + "81" * 40 + "01",  # nested too deep
    ],
)
def test_non_canonical_or_broken_cbor_is_refused(hex_request: str):
    authenticator = Authenticator((5, 7, 2), Presence())
    assert authenticator.call(bytes.fromhex(hex_request)) == bytes([ERR.INVALID_CBOR])


def test_unknown_commands_and_missing_parameters():
    authenticator = Authenticator((5, 7, 2), Presence())
    assert authenticator.call(b"\x55") == bytes([ERR.INVALID_COMMAND])
    assert authenticator.call(b"\x01" + cbor.encode({1: b"\0" * 32})) == bytes(
        [ERR.MISSING_PARAMETER]
    )
    algorithms = [{"type": "public-key", "alg": -257}, {"type": "other", "alg": -7}]  # RS256
    request = {1: b"\0" * 32, 2: {"id": RP_ID}, 3: {"id": b"u"}, 4: algorithms}
    assert authenticator.call(b"\x01" + cbor.encode(request)) == bytes(
        [ERR.UNSUPPORTED_ALGORITHM]
    )
    assert authenticator.call(b"\x08") == bytes([ERR.NOT_ALLOWED])
    assert authenticator.call(b"\x02\x01") == bytes([ERR.CBOR_UNEXPECTED_TYPE])


def test_a_pin_token_is_spent_by_a_touch():
    """CTAP 2.1: after user presence, makeCredential and getAssertion clear the token's
    permissions (all but large-blob write); the platform asks for a new token each time."""
    rig = Rig(direct)
    rig.set_pin()
    protocol = PinProtocolV2()
    token = ClientPin(rig.ctap2(), protocol).get_pin_token(PIN)
    param = protocol.authenticate(token, b"\0" * 32)
    made = make_request(rig.ctap2(), pin_uv_param=param, pin_uv_protocol=2)
    assert made.auth_data.is_user_verified()
    with pytest.raises(CtapError) as raised:
        make_request(rig.ctap2(), pin_uv_param=param, pin_uv_protocol=2)
    assert raised.value.code == ERR.PIN_AUTH_INVALID
