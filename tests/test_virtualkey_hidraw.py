"""FIDO2 over USB as a user's machine has it: python-fido2's own Linux HID discovery, in a
separate process, finds each virtual USB key at /dev/hidrawN (FUSE in the rig's mount
namespace, see docs/testing.md) and runs the real Fido2Client over it; Fido2Server verifies
every registration and assertion here, in the test process.

The process is tests/fido2_user.py, run through the `run_on_keys` fixture (nsenter into the
namespace); it knows nothing of the virtual key.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fido2.attestation import AttestationType, PackedAttestation
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationObject,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
)

from virtualkey.key import KeyConfig

USER_PROGRAM = Path(__file__).with_name("fido2_user.py")
WITH_KEYS = Path(__file__).parent / "virtualkey" / "with-keys"
RP_ID = "example.com"
SALT1, SALT2 = b"\x01" * 32, b"\x02" * 32
YUBICO_VID, YUBIKEY5_PID = 0x1050, 0x0407
PRODUCT = "Yubico YubiKey OTP+FIDO+CCID"


def fido2_user(run_on_keys, *steps: dict, pin: str | None = None,
               device: str | None = None) -> list[dict]:
    """Runs the user's program on the steps; its JSON lines, the last one checked."""
    job = json.dumps({"pin": pin, "device": device, "steps": list(steps)})
    result = run_on_keys([sys.executable, USER_PROGRAM], stdin=job + "\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, result.stderr
    return lines


def answers(lines: list[dict]) -> list[dict]:
    """The steps' results, touch events left out; fails on an error."""
    assert lines[-1] == {"done": True}, lines[-1]
    return [line for line in lines[:-1] if "event" not in line]


@pytest.fixture
def server() -> Fido2Server:
    return Fido2Server(PublicKeyCredentialRpEntity(id=RP_ID, name="Example"),
                       attestation="direct", verify_attestation=_self_attested)


def _self_attested(attestation: AttestationObject, client_data_hash: bytes) -> None:
    result = PackedAttestation().verify(attestation.att_stmt, attestation.auth_data,
                                        client_data_hash)
    assert result.attestation_type == AttestationType.SELF


def user() -> PublicKeyCredentialUserEntity:
    return PublicKeyCredentialUserEntity(id=b"user-1", name="user1", display_name="User 1")


def register(server, run_on_keys, *, uv="discouraged", extensions=None, pin=None, device=None):
    options, state = server.register_begin(user(), user_verification=uv, extensions=extensions)
    lines = fido2_user(run_on_keys, {"op": "register", "options": dict(options)["publicKey"]},
                       pin=pin, device=device)
    response = RegistrationResponse.from_dict(answers(lines)[0]["response"])
    return server.register_complete(state, response), response, lines


def authenticate(server, run_on_keys, credentials, *, uv="discouraged", extensions=None,
                 pin=None, device=None) -> AuthenticationResponse:
    options, state = server.authenticate_begin(credentials, user_verification=uv,
                                               extensions=extensions)
    lines = fido2_user(run_on_keys, {"op": "authenticate", "options": dict(options)["publicKey"]},
                       pin=pin, device=device)
    response = AuthenticationResponse.from_dict(answers(lines)[0]["response"])
    server.authenticate_complete(state, credentials, response)
    return response


# Discovery


def test_python_fido2_finds_the_key_by_its_linux_hid_discovery(plug_keys, run_on_keys):
    plug_keys(KeyConfig(serial=20000001))
    (listing, info) = answers(fido2_user(run_on_keys, {"op": "list"}, {"op": "info"}))
    assert listing["devices"] == [{
        "path": "/dev/hidraw0", "vid": YUBICO_VID, "pid": YUBIKEY5_PID, "product_name": PRODUCT,
        "serial_number": "20000001", "report_size_in": 64, "report_size_out": 64,
    }]
    assert "FIDO_2_1" in info["versions"] and "hmac-secret" in info["extensions"]


def test_the_test_process_itself_sees_no_hidraw_node(plug_keys):
    """The nodes exist only in the rig's namespace: nothing on the machine changes."""
    before = sorted(os.listdir("/dev")), Path("/proc/self/mounts").read_text()
    plug_keys(KeyConfig(serial=20000002))
    assert (sorted(os.listdir("/dev")), Path("/proc/self/mounts").read_text()) == before


def test_two_keys_are_two_hidraw_devices(plug_keys, run_on_keys):
    rig = plug_keys(KeyConfig(serial=20000011), KeyConfig(serial=20000012))
    assert {serial: device.path for serial, device in rig.hidraw.items()} == {
        20000011: "/dev/hidraw0", 20000012: "/dev/hidraw1"}
    (listing,) = answers(fido2_user(run_on_keys, {"op": "list"}))
    found = {device["path"]: device["serial_number"] for device in listing["devices"]}
    assert found == {"/dev/hidraw0": "20000011", "/dev/hidraw1": "20000012"}
    for path in found:
        (info,) = answers(fido2_user(run_on_keys, {"op": "info"}, device=path))
        assert info["device"]["path"] == path


def test_ykman_lists_the_keys_from_inside_the_namespace(plug_keys, run_on_keys):
    """ykman also opens the FIDO hidraw nodes on Linux; it still lists each key once."""
    plug_keys(KeyConfig(serial=20000021))
    result = run_on_keys([Path(sys.executable).with_name("ykman"), "list", "--serials"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["20000021"]


RAW_CHECKS = """
import errno, fcntl, json, os, struct
def ioc(number, size):  # _IOC(_IOC_READ, 'H', number, size)
    return (2 << 30) | (size << 16) | (ord('H') << 8) | number
def failure(call):
    try:
        call()
    except OSError as error:
        return errno.errorcode[error.errno]
out = {}
first = os.open('/dev/hidraw0', os.O_RDWR)
second = os.open('/dev/hidraw0', os.O_RDWR | os.O_NONBLOCK)
buffer = bytearray(8)
fcntl.ioctl(first, ioc(3, 8), buffer, True)
out['info'] = list(struct.unpack('<IHH', buffer))
short = bytearray(8)
out['name_short'] = [fcntl.ioctl(first, ioc(4, 8), short, True), bytes(short).decode()]
phys = bytearray(64)
length = fcntl.ioctl(first, ioc(5, 64), phys, True)
out['phys'] = bytes(phys[:length - 1]).decode()
out['tty_ioctl'] = failure(lambda: fcntl.ioctl(first, 0x5401, bytearray(64), True))
out['empty_nonblocking_read'] = failure(lambda: os.read(second, 64))
out['one_byte_write'] = failure(lambda: os.write(first, b'\\0'))
nonce = bytes(range(8))
init = b'\\0' + bytes.fromhex('ffffffff86') + struct.pack('>H', 8) + nonce
out['written'] = os.write(first, init.ljust(65, b'\\0'))
answers = [os.read(first, 64), os.read(second, 64)]
out['both_opens_got_it'] = answers[0] == answers[1]
out['answer'] = [len(answers[0]), answers[0][:5].hex(), answers[0][7:15] == nonce]
print(json.dumps(out))
"""


def test_the_node_answers_as_the_hidraw_driver_does(plug_keys, run_on_keys):
    plug_keys(KeyConfig(serial=20000091))
    result = run_on_keys([sys.executable, "-c", RAW_CHECKS])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "info": [3, YUBICO_VID, YUBIKEY5_PID],  # BUS_USB
        "name_short": [8, PRODUCT[:8]],  # at most the size asked, no NUL then
        "phys": "usb-0000:00:14.0-1/input1",
        "tty_ioctl": "ENOTTY",
        "empty_nonblocking_read": "EAGAIN",
        "one_byte_write": "EINVAL",
        "written": 65,
        "both_opens_got_it": True,  # every open file gets every input report
        "answer": [64, "ffffffff86", True],
    }


# FIDO2 through the hidraw node, verified by Fido2Server


def test_register_and_authenticate_over_hidraw_are_verified(plug_keys, run_on_keys, server):
    plug_keys(KeyConfig(serial=20000031, touch_delay=0.25))
    credential, response, lines = register(server, run_on_keys)
    assert {"event": "touch"} in lines  # KEEPALIVE UPNEEDED reached the client's prompt
    auth_data = response.response.attestation_object.auth_data
    assert auth_data.is_user_present() and not auth_data.is_user_verified()
    first = authenticate(server, run_on_keys, [credential.credential_data])
    second = authenticate(server, run_on_keys, [credential.credential_data])
    counters = [r.response.authenticator_data.counter for r in (first, second)]
    assert counters[1] > counters[0] > auth_data.counter


def test_client_pin_set_and_change_over_hidraw(plug_keys, run_on_keys, server):
    plug_keys(KeyConfig(serial=20000041))
    results = answers(fido2_user(
        run_on_keys, {"op": "set_pin", "pin": "4711"}, {"op": "pin_retries"},
        {"op": "change_pin", "old": "4711", "new": "271828"}, {"op": "pin_retries"},
    ))
    assert results == [{"pin": "set"}, {"retries": 8}, {"pin": "changed"}, {"retries": 8}]
    credential, response, _ = register(server, run_on_keys, uv="required", pin="271828")
    assert response.response.attestation_object.auth_data.is_user_verified()
    wrong = fido2_user(run_on_keys, {"op": "change_pin", "old": "4711", "new": "1234"})
    assert wrong[-1]["ctap"] == "PIN_INVALID"
    assert answers(fido2_user(run_on_keys, {"op": "pin_retries"})) == [{"retries": 7}]
    verified = authenticate(server, run_on_keys, [credential.credential_data], uv="required",
                            pin="271828")
    assert verified.response.authenticator_data.is_user_verified()


def test_hmac_secret_over_hidraw(plug_keys, run_on_keys, server):
    plug_keys(KeyConfig(serial=20000051))
    credential, response, _ = register(server, run_on_keys,
                                       extensions={"hmacCreateSecret": True})
    assert response.client_extension_results["hmacCreateSecret"] is True

    def hmac_get(*salts: bytes) -> list[bytes]:
        names = ("salt1", "salt2")
        inputs = {name: base64.urlsafe_b64encode(salt).decode() for name, salt in
                  zip(names, salts, strict=False)}
        answer = authenticate(server, run_on_keys, [credential.credential_data],
                              extensions={"hmacGetSecret": inputs})
        outputs = answer.client_extension_results["hmacGetSecret"]
        return [_b64(outputs[f"output{i + 1}"]) for i in range(len(salts))]

    (first,) = hmac_get(SALT1)
    (again,) = hmac_get(SALT1)
    one, two = hmac_get(SALT1, SALT2)
    assert len(first) == 32 and first == again == one != two


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# Pulled keys


def test_a_pulled_key_fails_a_waiting_read_and_leaves_dev(plug_keys, run_on_keys, server):
    """Pulled while the client waits for a touch: its blocked read fails with EIO (as hidraw
    answers a read once the device is gone), and the node leaves /dev."""
    rig = plug_keys(KeyConfig(serial=20000061, touch="signal", touch_timeout=30))
    options, _ = server.register_begin(user(), user_verification="discouraged")
    job = json.dumps({"steps": [{"op": "register", "options": dict(options)["publicKey"]}]})
    child = subprocess.Popen(rig.command([sys.executable, str(USER_PROGRAM)]),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        child.stdin.write(job + "\n")
        child.stdin.flush()
        assert json.loads(child.stdout.readline()) == {"event": "touch"}
        rig.pull_out(20000061)
        failure = json.loads(child.stdout.readline())
        assert child.wait(timeout=10) == 1
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert failure["errno"] == 5, failure  # EIO
    results = answers(fido2_user(run_on_keys, {"op": "list"},
                                 {"op": "exists", "path": "/dev/hidraw0"}))
    assert results == [{"devices": []}, {"exists": False}]
    rig.plug_in(20000061)
    (listing,) = answers(fido2_user(run_on_keys, {"op": "list"}))
    assert [d["path"] for d in listing["devices"]] == ["/dev/hidraw0"]


def test_the_key_fault_switch_pulls_the_hidraw_node(plug_keys, run_on_keys):
    rig = plug_keys(KeyConfig(serial=20000071), KeyConfig(serial=20000072))
    rig.key(20000071).faults.pulled = True
    deadline = time.monotonic() + 5
    while rig.devns.filesystem.present()[0].key.serial == 20000071:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (listing,) = answers(fido2_user(run_on_keys, {"op": "list"}))
    assert [(d["path"], d["serial_number"]) for d in listing["devices"]] == [
        ("/dev/hidraw1", "20000072")]


def test_nothing_is_left_after_the_rig_stops(plug_keys):
    rig = plug_keys(KeyConfig(serial=20000081))
    agent = rig.devns.agent.pid
    rig.stop()
    assert not Path(f"/proc/{agent}").exists() or _zombie(agent)
    assert "virtualkey-hidraw" not in Path("/proc/self/mounts").read_text()


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


# with-keys


def test_with_keys_gives_a_hidraw_device_per_usb_key():
    result = subprocess.run(
        [WITH_KEYS, "--keys", "2", "--", sys.executable, USER_PROGRAM],
        input=json.dumps({"steps": [{"op": "list"}]}) + "\n",
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout.splitlines()[0])
    assert sorted((d["path"], d["serial_number"]) for d in listing["devices"]) == [
        ("/dev/hidraw0", "10000001"), ("/dev/hidraw1", "10000002")]


def test_with_keys_nfc_gives_a_yubikey_5_nfc_on_a_reader():
    script = (
        "import os; from fido2.pcsc import CtapPcscDevice; from fido2.ctap2 import Ctap2; "
        "devices = list(CtapPcscDevice.list_devices()); print(devices); "
        "print('FIDO_2_1' in Ctap2(devices[0]).get_info().versions); "
        "print(sorted(n for n in os.listdir('/dev') if n.startswith('hidraw'))); "
        "print(repr(os.environ['VIRTUALKEY_HIDRAW'])); devices[0].close(release=True)"
    )
    result = subprocess.run([WITH_KEYS, "--transport", "nfc", "--", sys.executable, "-c", script],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[CtapPcscDevice(Virtual NFC Reader 00 00)]", "True", "[]", "''"]
