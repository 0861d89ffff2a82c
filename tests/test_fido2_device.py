"""hwotp.fido2.device against the virtual key: discovery over PC/SC in this process and over
USB HID (hidraw) in a process in the rig's namespace, the choice by serial or path, and the PIN
answers turned into hwotp errors. python-fido2 is real throughout."""

from __future__ import annotations

import json
import sys

import pytest
from fido2.ctap2.pin import ClientPin

from helpers.fido import PIN
from hwotp.errors import (
    ArgumentError,
    ExitCode,
    NoKeyError,
    PinBlockedError,
    PinNotSetError,
    PinRefusedError,
    WrongPinError,
)
from hwotp.fido2.device import (
    SecurityKey,
    change_pin,
    choose_security_key,
    find_security_keys,
    pin_retries,
    pin_token,
    set_pin,
)
from virtualkey.key import KeyConfig

NFC_SERIAL = 5550011
PERMISSIONS = ClientPin.PERMISSION.CREDENTIAL_MGMT


@pytest.fixture
def nfc_key(plug_keys, monkeypatch):
    """One YubiKey 5 NFC on a reader, found by hwotp's own discovery in this process. Its
    PC/SC half only: this process is not in the rig's mount namespace, so the HID half would
    open the machine's own /dev/hidraw* and ask a developer's plugged-in key (wrong PINs
    included); the USB half is tested inside the rig (run_on_keys)."""
    monkeypatch.setattr("hwotp.fido2.device._hid_keys", list)
    rig = plug_keys(KeyConfig(serial=NFC_SERIAL, transport="nfc"))
    keys = find_security_keys()
    yield rig, keys
    for key in keys:
        key.close()


def test_a_key_on_a_reader_is_found_with_its_serial(nfc_key):
    _, keys = nfc_key
    (key,) = keys
    assert key.transport == "nfc" and key.path.startswith("pcsc:")
    assert key.serial == NFC_SERIAL
    assert key.name == f"YubiKey 5 NFC {NFC_SERIAL}"
    # The FIDO applet answers again after the management applet gave the serial.
    assert "FIDO_2_1" in key.ctap2().info.versions and not key.pin_set


LIST_KEYS = """
import json
from hwotp.fido2.device import find_security_keys
keys = find_security_keys()
print(json.dumps([[k.path, k.serial, k.transport, k.name] for k in keys]))
"""


def test_usb_keys_are_found_over_hidraw_by_serial_and_path(plug_keys, run_on_keys):
    plug_keys(KeyConfig(serial=20100001), KeyConfig(serial=20100002, nfc=False))
    result = run_on_keys([sys.executable, "-c", LIST_KEYS])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        ["/dev/hidraw0", 20100001, "usb", "YubiKey 5 NFC 20100001"],
        ["/dev/hidraw1", 20100002, "usb", "YubiKey 5 20100002"],
    ]


def _stand_in(path: str, serial: int | None) -> SecurityKey:
    """The choice reads only path and serial: keys found for real are tested above."""
    from fido2.ctap2 import Info

    return SecurityKey(device=None, info=Info(versions=["FIDO_2_1"]),  # type: ignore[arg-type]
                       path=path, serial=serial, transport="usb")


def test_choosing_a_key_by_serial_or_path_and_the_failures():
    first, second = _stand_in("/dev/hidraw0", 1001), _stand_in("/dev/hidraw1", None)
    assert choose_security_key([first], None) is first
    assert choose_security_key([first, second], "1001") is first
    assert choose_security_key([first, second], "/dev/hidraw1") is second
    with pytest.raises(NoKeyError) as none:
        choose_security_key([], None)
    assert none.value.exit_code == ExitCode.KEY_UNAVAILABLE
    with pytest.raises(ArgumentError) as several:
        choose_security_key([first, second], None)
    assert several.value.exit_code == ExitCode.USAGE
    assert "2 security keys are present" in str(several.value)
    with pytest.raises(NoKeyError, match=r"serial or path 7 \(found: 1001, /dev/hidraw1\)"):
        choose_security_key([first, second], "7")


def test_pin_set_token_and_wrong_pin_with_retries_left(nfc_key):
    _, (key,) = nfc_key
    with pytest.raises(PinNotSetError):
        pin_token(key, PIN, PERMISSIONS)
    set_pin(key, PIN)
    assert pin_token(key, PIN, PERMISSIONS).token
    with pytest.raises(WrongPinError) as wrong:
        pin_token(key, "0000", PERMISSIONS)
    assert wrong.value.exit_code == ExitCode.PIN_REFUSED == 17
    assert "wrong PIN" in str(wrong.value) and "7 tries left" in str(wrong.value)
    assert "0000" not in str(wrong.value) and PIN not in str(wrong.value)
    assert pin_retries(key) == (7, False)
    change_pin(key, PIN, "2468")
    assert pin_token(key, "2468", PERMISSIONS).token
    assert pin_retries(key) == (8, False)  # a right PIN restores the tries


def test_a_new_pin_shorter_than_the_minimum_is_refused_before_sending(nfc_key):
    _, (key,) = nfc_key
    with pytest.raises(PinRefusedError, match="at least 4 characters"):
        set_pin(key, "123")
    assert not key.ctap2().info.options["clientPin"]


def test_three_wrong_pins_ask_for_a_power_cycle_and_eight_block(nfc_key):
    rig, (key,) = nfc_key
    set_pin(key, PIN)
    for _ in range(2):
        with pytest.raises(WrongPinError):
            pin_token(key, "0000", PERMISSIONS)
    with pytest.raises(PinRefusedError) as third:
        pin_token(key, "0000", PERMISSIONS)
    assert "plug it back in" in str(third.value)
    with pytest.raises(PinRefusedError, match="no more PINs after three wrong ones"):
        pin_token(key, PIN, PERMISSIONS)  # even the right PIN, until a power cycle
    for tries in (3, 2):  # eight wrong in all, a power cycle after each three
        key.close()
        rig.pull_out(NFC_SERIAL)
        rig.plug_in(NFC_SERIAL)
        (key,) = find_security_keys()
        for _ in range(tries):
            with pytest.raises(PinRefusedError):
                pin_token(key, "0000", PERMISSIONS)
    with pytest.raises(PinBlockedError) as blocked:
        pin_token(key, PIN, PERMISSIONS)
    assert blocked.value.exit_code == 17 and "blocked" in str(blocked.value)
    key.close()


def test_the_keys_own_minimum_and_a_forced_pin_change_are_followed(nfc_key):
    """An administrator (python-fido2's Config here) raises the minimum to 6 and forces a
    change: hwotp reads both from the key's info."""
    from fido2.ctap2.config import Config

    _, (key,) = nfc_key
    set_pin(key, PIN)
    token = pin_token(key, PIN, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    Config(key.ctap2(), token.protocol, token.token).set_min_pin_length(
        6, force_change_pin=True)
    with pytest.raises(PinRefusedError, match="takes its PIN only after it was changed"):
        pin_token(key, PIN, PERMISSIONS)
    with pytest.raises(PinRefusedError, match="needs at least 6 characters"):
        change_pin(key, PIN, "24680")
    assert pin_retries(key) == (8, False)  # refused before the current PIN was sent
    change_pin(key, PIN, "246802")
    assert pin_token(key, "246802", PERMISSIONS).token
