"""FIDO2 security keys: find them over USB HID and PC/SC, choose one, get a PIN token.

Every authenticator python-fido2 can reach is one `SecurityKey`: a USB key through its hidraw
node, an NFC key through its reader (a USB YubiKey's CCID reader refuses the FIDO applet, so
no key is found twice). The serial is what the key itself reports: over HID the USB serial
string when it is a number, over PC/SC the YubiKey management applet. Every CTAP error a
command can meet becomes one hwotp sentence here (`ctap_failures`), so no PIN, salt or
credential id ever reaches a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from hwotp.errors import (
    ArgumentError,
    HwotpError,
    InputError,
    KeyUnavailableError,
    NoKeyError,
    NotSupportedError,
    PinBlockedError,
    PinNotSetError,
    PinRefusedError,
    Remedy,
    TouchTimeoutError,
    WrongPinError,
)

if TYPE_CHECKING:
    from fido2.ctap import CtapDevice
    from fido2.ctap2 import Ctap2, Info
    from fido2.ctap2.pin import ClientPin, PinProtocol
    from fido2.hid import CtapHidDevice
    from fido2.hid.base import HidDescriptor
    from fido2.pcsc import CtapPcscDevice

logger = logging.getLogger(__name__)

# AAGUIDs of YubiKey 5 models with firmware 5.7, from Yubico's list (https://yubi.co/aaguids).
MODELS = {
    "a25342c0-3cdc-4414-8e46-f4807fca511c": "YubiKey 5 NFC",
    "d7781e5d-e353-46aa-afe2-3ca49f13332a": "YubiKey 5 NFC",
    "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b": "YubiKey 5",
    "a02167b9-ae71-4ac7-9a07-06432ebb6f1c": "YubiKey 5Ci",
}
PIN_MAX_BYTES = 63  # CTAP 2.1 6.5.5.5: a PIN is at most 63 bytes of UTF-8
MAX_PIN_RETRIES = 8  # CTAP 2.1 6.5.2.2: the tries a key starts with, and a right PIN restores
POWER_CYCLE = "unplug the key and plug it back in (take it off the reader), then try again"


@dataclass
class SecurityKey:
    """One FIDO2 authenticator for the length of a command."""

    device: CtapDevice
    info: Info
    path: str  # the hidraw node, or "pcsc:<reader name>"
    serial: int | None
    transport: str  # "usb" or "nfc"

    @property
    def model(self) -> str:
        """The model its AAGUID names, else what its USB descriptor says."""
        known = MODELS.get(str(self.info.aaguid))
        if known:
            return known
        product = getattr(self.device, "product_name", None)
        return product or "security key"

    @property
    def name(self) -> str:
        """How messages name the key: model and serial, else model and path."""
        return f"{self.model} {self.serial}" if self.serial is not None else (
            f"{self.model} at {self.path}")

    @property
    def pin_set(self) -> bool:
        return bool(self.info.options.get("clientPin"))

    @property
    def supports_pin(self) -> bool:
        return "clientPin" in self.info.options

    def ctap2(self) -> Ctap2:
        """CTAP2 on this key; reads its info again (a PIN set since shows)."""
        from fido2.ctap2 import Ctap2

        with ctap_failures(self):
            ctap = Ctap2(self.device)
        self.info = ctap.info
        return ctap

    def close(self) -> None:
        from fido2.pcsc import CtapPcscDevice

        try:
            if isinstance(self.device, CtapPcscDevice):
                self.device.close(release=True)  # else its finaliser talks to pcscd later
            else:
                self.device.close()
        except Exception as error:  # a key pulled out cannot be closed; nothing is lost
            logger.debug("closing %s: %s", self.path, type(error).__name__)


def find_security_keys() -> list[SecurityKey]:
    """Every FIDO2 authenticator over USB HID, then every one on a PC/SC reader."""
    keys = _hid_keys() + _pcsc_keys()
    logger.debug("security keys found: %s", ", ".join(key.path for key in keys) or "none")
    return keys


def _hid_keys() -> list[SecurityKey]:
    from fido2.hid import list_descriptors

    keys = []
    for descriptor in list_descriptors():  # nodes it cannot read are skipped (logged there)
        device = _open_hid(descriptor)
        path = str(descriptor.path)
        info = _read_info(device, path) if device is not None else None
        if device is None or info is None:
            continue
        serial = device.serial_number
        keys.append(SecurityKey(device, info, path,
                                int(serial) if serial and serial.isdigit() else None, "usb"))
    # The same order every run (the nodes are globbed unsorted): hidraw2 before hidraw10.
    return sorted(keys, key=lambda key: (len(key.path), key.path))


def _open_hid(descriptor: HidDescriptor) -> CtapHidDevice | None:
    """One node; a key that fails to open (pulled out meanwhile, busy) does not hide the
    others."""
    from fido2.hid import CtapHidDevice, open_connection

    try:
        return CtapHidDevice(descriptor, open_connection(descriptor))
    except Exception as error:
        logger.debug("%s could not be opened: %s", descriptor.path, type(error).__name__)
        return None


def _pcsc_keys() -> list[SecurityKey]:
    """Every reader whose card answers the FIDO applet, as python-fido2's own list_devices
    finds them, but by reader name, and releasing the connection to a card that does not."""
    try:
        from smartcard.System import readers

        present = readers()
    except Exception as error:  # no pcscd: no readers, which is no error for USB keys
        logger.debug("PC/SC discovery failed: %s", type(error).__name__)
        return []
    keys = []
    for reader in present:
        key = _pcsc_key(reader)
        if key is not None:
            keys.append(key)
    return keys


def _pcsc_key(reader: Any) -> SecurityKey | None:
    """The key on `reader`, or None: no FIDO applet, no CTAP2, or the card taken off the
    reader while it was being asked (pyscard's exception, then no key is there)."""
    from smartcard.Exceptions import SmartcardException

    device = _open_pcsc(reader)
    if device is None:
        return None
    path = f"pcsc:{reader.name}"
    try:
        info = _read_info(device, path)
        if info is None:
            return None
        return SecurityKey(device, info, path, _pcsc_serial(device), "nfc")
    except SmartcardException as error:
        logger.debug("%s stopped answering while it was found: %s", path, type(error).__name__)
        with suppress(Exception):
            device.close(release=True)
        return None


def _open_pcsc(reader: Any) -> CtapPcscDevice | None:
    """The FIDO applet of the card in `reader`; None for an empty reader or a card without
    one (a USB YubiKey's CCID interface refuses it, as a real one does)."""
    from fido2.pcsc import CtapPcscDevice

    connection = reader.createConnection()
    try:
        return CtapPcscDevice(connection, reader.name)
    except Exception as error:
        logger.debug("no FIDO applet in %s: %s", reader.name, type(error).__name__)
        with suppress(Exception):
            connection.disconnect()
        with suppress(Exception):
            connection.release()
        return None


def _read_info(device: CtapDevice, path: str) -> Info | None:
    """getInfo; None for a U2F-only device (no CTAP2), which hwotp cannot use."""
    from fido2.ctap import CtapError
    from fido2.ctap2 import Ctap2

    try:
        return Ctap2(device).info
    except (CtapError, ValueError, OSError) as error:
        logger.debug("%s answers no CTAP2 getInfo: %s", path, type(error).__name__)
        return None


def _pcsc_serial(device: CtapPcscDevice) -> int | None:
    """A YubiKey's serial from its management applet, then the FIDO applet selected again;
    None for any other card."""
    from fido2.pcsc import AID_FIDO

    try:
        serial = _management_serial(device)
    except Exception as error:  # not a YubiKey, or no serial to read
        logger.debug("no serial from the management applet: %s", type(error).__name__)
        serial = None
    device.apdu_exchange(b"\x00\xa4\x04\x00" + bytes([len(AID_FIDO)]) + AID_FIDO)
    return serial


def _management_serial(device: CtapPcscDevice) -> int | None:
    """Through yubikit's management session, over python-fido2's connection to the card."""
    from yubikit.core import TRANSPORT
    from yubikit.core.smartcard import SmartCardConnection
    from yubikit.management import ManagementSession

    class ApduConnection(SmartCardConnection):
        @property
        def transport(self) -> TRANSPORT:
            return TRANSPORT.NFC

        def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
            response, sw1, sw2 = device.apdu_exchange(apdu)
            return response, sw1 << 8 | sw2

    return ManagementSession(ApduConnection()).read_device_info().serial


def choose_security_key(keys: list[SecurityKey], device: str | None) -> SecurityKey:
    """The key `device` names (its serial or its path), else the only one present."""
    if not keys:
        raise NoKeyError("no FIDO2 security key found")
    if device is None:
        if len(keys) > 1:
            names = ", ".join(key.name for key in keys)
            raise ArgumentError(f"{len(keys)} security keys are present ({names})",
                                remedy=Remedy.PICK_SECURITY_KEY)
        return keys[0]
    for key in keys:
        if device in (key.path, str(key.serial)):
            return key
    found = ", ".join(str(key.serial) if key.serial is not None else key.path for key in keys)
    raise NoKeyError(f"no security key with serial or path {device} (found: {found})")


class PinToken(NamedTuple):
    """A PIN/UV auth token and the protocol that made it: CredentialManagement and
    pinUvAuthParam both need the pair."""

    protocol: PinProtocol
    token: bytes


def pin_token(key: SecurityKey, pin: str, permissions: ClientPin.PERMISSION,
              rp_id: str | None = None) -> PinToken:
    """A token for `permissions` (and `rp_id` where they need one); a wrong, blocked or unset
    PIN is one sentence (PinRefusedError) with the retries left."""
    from fido2.ctap2.pin import ClientPin

    client_pin = _client_pin(key)
    if not key.pin_set:
        raise PinNotSetError(f"{key.name} has no PIN yet; set one first")
    if key.info.force_pin_change:  # the key answers PIN_POLICY_VIOLATION until then
        raise PinRefusedError(f"{key.name} takes its PIN only after it was changed; change it "
                              "first")
    with ctap_failures(key, client_pin):
        token = client_pin.get_pin_token(pin, ClientPin.PERMISSION(permissions), rp_id)
    return PinToken(client_pin.protocol, token)


def pin_retries(key: SecurityKey) -> tuple[int, bool]:
    """PIN tries left before the PIN blocks, and whether the key must be power-cycled first
    (three wrong in a row)."""
    client_pin = _client_pin(key)
    with ctap_failures(key, client_pin):
        retries, power_cycle = client_pin.get_pin_retries()
    return retries, bool(power_cycle)


def set_pin(key: SecurityKey, new_pin: str) -> None:
    """Set the first PIN of a key that has none."""
    client_pin = _client_pin(key)  # reads the key's info: its minimum as it is now
    check_new_pin(key, new_pin)
    with ctap_failures(key, client_pin):
        client_pin.set_pin(new_pin)


def change_pin(key: SecurityKey, pin: str, new_pin: str) -> None:
    """Change the PIN; a wrong current PIN costs a try, as any wrong PIN does."""
    client_pin = _client_pin(key)  # reads the key's info: its minimum as it is now
    check_new_pin(key, new_pin)
    with ctap_failures(key, client_pin):
        client_pin.change_pin(pin, new_pin)


def check_new_pin(key: SecurityKey, new_pin: str) -> None:
    """The key's own rules, checked before anything is sent: its minimum length (in
    characters, as CTAP counts them) and 63 bytes at most."""
    minimum = key.info.min_pin_length
    if len(new_pin) < minimum:
        raise PinRefusedError(f"the new PIN is too short: {key.name} needs at least {minimum} "
                              "characters")
    if len(new_pin.encode()) > PIN_MAX_BYTES:
        raise PinRefusedError(f"the new PIN is too long: at most {PIN_MAX_BYTES} bytes")


def _client_pin(key: SecurityKey) -> ClientPin:
    from fido2.ctap2.pin import ClientPin

    ctap = key.ctap2()
    if not ClientPin.is_supported(ctap.info):
        raise NotSupportedError(f"{key.name} has no PIN support")
    return ClientPin(ctap)


@contextmanager
def ctap_failures(key: SecurityKey, client_pin: ClientPin | None = None) -> Iterator[None]:
    """A key's CTAP error, or the key gone, as one hwotp sentence naming the key. With the
    ClientPin at hand, a wrong PIN says how many tries are left."""
    from fido2.ctap import CtapError

    try:
        yield
    except HwotpError:
        raise
    except CtapError as error:
        logger.debug("%s answered %s", key.path, error.code.name if hasattr(
            error.code, "name") else error.code)
        raise _ctap_error(key, error.code, client_pin) from None
    except (OSError, ValueError, EOFError) as error:
        logger.debug("%s stopped answering: %s", key.path, type(error).__name__)
        raise KeyUnavailableError(
            f"{key.name} stopped answering (pulled out, or used by another program)") from None
    except Exception as error:
        from smartcard.Exceptions import SmartcardException

        if not isinstance(error, SmartcardException):
            raise
        logger.debug("%s stopped answering: %s", key.path, type(error).__name__)
        raise KeyUnavailableError(
            f"{key.name} stopped answering (taken off the reader, or used by another program)"
        ) from None


def _ctap_error(key: SecurityKey, code: int, client_pin: ClientPin | None) -> HwotpError:
    from fido2.ctap import CtapError

    err = CtapError.ERR
    name = key.name
    if code == err.PIN_INVALID:
        return WrongPinError(f"wrong PIN for {name}{_tries_left(client_pin)}")
    if code == err.PIN_BLOCKED:
        return _blocked(key)
    if code == err.PIN_AUTH_BLOCKED:
        return _waiting_for_power_cycle(key, _tries_left(client_pin))
    if code == err.PIN_NOT_SET:
        return PinNotSetError(f"{name} has no PIN yet; set one first")
    if code == err.PIN_POLICY_VIOLATION:
        return PinRefusedError(f"{name} did not accept the new PIN (at least "
                               f"{key.info.min_pin_length} characters, at most "
                               f"{PIN_MAX_BYTES} bytes, not the current one)")
    if code in (err.PIN_AUTH_INVALID, err.PUAT_REQUIRED):
        return PinRefusedError(f"{name} did not accept the PIN token; try again")
    if code in (err.USER_ACTION_TIMEOUT, err.ACTION_TIMEOUT):
        return TouchTimeoutError(f"{name} was not touched in time")
    if code == err.OPERATION_DENIED:
        return TouchTimeoutError(f"{name} was not touched (the request was denied)")
    if code == err.KEY_STORE_FULL:
        from hwotp.errors import KeyFullError

        return KeyFullError(f"{name} has no room for another passkey")
    if code == err.NOT_ALLOWED:
        return NotSupportedError(f"{name} did not allow this now")
    if code in (err.UNSUPPORTED_OPTION, err.INVALID_COMMAND, err.UNSUPPORTED_ALGORITHM):
        return NotSupportedError(f"{name} cannot do this (its firmware lacks it)")
    if code in (err.NO_CREDENTIALS, err.INVALID_CREDENTIAL):
        from hwotp.errors import NotFoundError

        return NotFoundError(f"{name} holds no matching credential")
    return InputError(f"{name} refused the request (CTAP error 0x{int(code):02X})")


def _tries_left(client_pin: ClientPin | None) -> str:
    """` (5 tries left before the PIN blocks)` after a wrong PIN; nothing when the key cannot
    be asked."""
    if client_pin is None:
        return ""
    from fido2.ctap import CtapError

    try:
        retries, _ = client_pin.get_pin_retries()
    except (CtapError, OSError, ValueError):
        return ""
    return f" ({_tries(retries)} left before the PIN blocks)"


def _tries(count: int) -> str:
    return f"{count} {'try' if count == 1 else 'tries'}"


def _blocked(key: SecurityKey) -> PinBlockedError:
    return PinBlockedError(f"the PIN of {key.name} is blocked after too many wrong tries; only "
                           "a reset of the key (which deletes its passkeys) makes it usable",
                           remedy=Remedy.RESET_SECURITY_KEY)


def _waiting_for_power_cycle(key: SecurityKey, tries_left: str) -> PinRefusedError:
    return PinRefusedError(f"{key.name} takes no more PINs after three wrong ones in a "
                           f"row{tries_left}: {POWER_CYCLE}")


def usable_pin_retries(key: SecurityKey) -> int:
    """The PIN tries left, checked before a PIN is asked: a blocked PIN, or a key waiting for
    a power cycle, ends the command at once (no PIN typed in vain)."""
    retries, power_cycle = pin_retries(key)
    if retries == 0:
        raise _blocked(key)
    if power_cycle:
        raise _waiting_for_power_cycle(key, f" ({_tries(retries)} left before the PIN blocks)")
    return retries


RESET_WINDOW = 5  # seconds after power-up in which a YubiKey takes a reset (ykman says so)


def reset_key(key: SecurityKey, on_touch: Callable[[], None]) -> None:
    """authenticatorReset: every credential and the PIN gone. The key asks for a touch
    (`on_touch` is told once) and takes it only within seconds of being plugged in."""
    from fido2.ctap import STATUS, CtapError

    asked: list[int] = []

    def keepalive(status: int) -> None:
        if status == STATUS.UPNEEDED and not asked:
            asked.append(status)
            on_touch()

    ctap = key.ctap2()
    try:
        with ctap_failures(key):
            try:
                ctap.reset(on_keepalive=keepalive)
            except CtapError as error:
                if error.code != CtapError.ERR.NOT_ALLOWED:
                    raise
                # The window is the maker's choice: ykman's for a YubiKey, CTAP suggests 10 s.
                window = (f"{RESET_WINDOW} seconds" if key.model.startswith("YubiKey")
                          else "seconds")
                raise KeyUnavailableError(
                    f"{key.name} takes a reset only within {window} of being plugged in: "
                    f"{_replug_words(key)} and run the reset again at once"
                ) from None
    except TouchTimeoutError:
        raise TouchTimeoutError(f"{key.name} was not touched in time; nothing was reset"
                                ) from None


def _replug_words(key: SecurityKey) -> str:
    return ("take it off the reader and put it back" if key.transport == "nfc"
            else "unplug it, plug it back in")


def wait_for_replug(key: SecurityKey, timeout: float, pause: float = 0.2) -> SecurityKey:
    """Waits until the key is gone and back (found again by serial, else the only key), and
    returns it as found again; `key` is closed."""
    import time

    key.close()
    deadline = time.monotonic() + timeout
    gone = False
    while time.monotonic() < deadline:
        present = find_security_keys()
        again = [item for item in present if _same_key(key, item, len(present))]
        if again and gone:
            for item in present:
                if item is not again[0]:
                    item.close()
            return again[0]
        gone = gone or not again
        for item in present:
            item.close()
        time.sleep(pause)
    raise KeyUnavailableError(f"{key.name} was not {'plugged back in' if gone else 'unplugged'} "
                              f"within {int(timeout)} seconds; nothing was reset")


def _same_key(key: SecurityKey, other: SecurityKey, count: int) -> bool:
    """The key found again: by serial; without one, an NFC key by its reader, a USB key as
    the only one present (its hidraw number may change)."""
    if key.serial is not None:
        return other.serial == key.serial
    return other.path == key.path if other.transport == "nfc" else count == 1
