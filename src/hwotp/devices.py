"""YubiKeys over PC/SC through yubikey-manager: find them, tell them apart, open their OATH applet.

One `YubiKey` is one key for the length of a command: one exclusive connection, the device info
read at most once, the OATH applet selected (and unlocked) at most once. Reading the serial
needs the management applet, which costs two APDUs and locks OATH again, so the serial of a key
seen before comes from a small cache keyed by the OATH device id (`keycache.py`), and `hwotp
code` asks a known key for nothing but its codes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hwotp.errors import (
    HwotpError,
    KeyUnavailableError,
    NoKeyError,
    PcscUnavailableError,
    WrongPassphraseError,
)

if TYPE_CHECKING:
    from yubikit.oath import OathSession

YUBIKEY_READER = "yubico yubikey"  # ykman's rule: such a reader is a USB YubiKey
START_PCSCD = "start it with `sudo systemctl enable --now pcscd.socket` (Debian: apt install pcscd)"

# Asked when a key's OATH applet has a password: (key label, previous attempt failed) -> password.
PasswordSource = Callable[[str, bool], str]
# Told (OATH device id, access key) once a password worked: `--remember` keeps it.
UnlockHook = Callable[[str, bytes], None]


@dataclass(frozen=True)
class KeyInfo:
    serial: int | None
    firmware: tuple[int, int, int]
    form_factor: str
    reader: str

    @property
    def oath_capacity(self) -> int:
        return 64 if self.firmware >= (5, 7, 0) else 32


def find_keys(reader: str | None = None, on_unlock: UnlockHook | None = None) -> list[YubiKey]:
    """Every YubiKey pcscd shows (or every reader whose name contains `reader`)."""
    with pcsc_errors():
        from ykman.pcsc import list_devices

        devices = list_devices(reader or YUBIKEY_READER)
    return [YubiKey(device, on_unlock) for device in devices]


def choose(keys: list[YubiKey], serials: tuple[int, ...]) -> list[YubiKey]:
    """The keys named by serial, in that order; all of them when none is named."""
    if not keys:
        raise NoKeyError("no YubiKey found")
    if not serials:
        return keys
    by_serial = {key.info().serial: key for key in keys}
    missing = [str(serial) for serial in serials if serial not in by_serial]
    if missing:
        found = ", ".join(str(serial) for serial in by_serial) or "none"
        raise NoKeyError(f"no YubiKey with serial {', '.join(missing)} (found: {found})")
    return [by_serial[serial] for serial in dict.fromkeys(serials)]


@contextmanager
def pcsc_errors() -> Iterator[None]:
    """pcscd missing or not answering is one sentence with the way to start it."""
    from smartcard.Exceptions import ListReadersException
    from smartcard.pcsc.PCSCExceptions import EstablishContextException

    try:
        yield
    except EstablishContextException:
        raise PcscUnavailableError(
            f"pcscd (the smart card service) is not running; {START_PCSCD}"
        ) from None
    except ListReadersException as error:
        if error.hresult == _NO_READERS:
            raise NoKeyError("no YubiKey found") from None
        raise PcscUnavailableError(f"pcscd could not list readers; {START_PCSCD}") from None


_NO_READERS = -2146435026  # SCARD_E_NO_READERS_AVAILABLE as pyscard reports it


class YubiKey:
    def __init__(self, device: Any, on_unlock: UnlockHook | None = None) -> None:
        self.device = device
        self.on_unlock = on_unlock  # told (device id, access key) after a password worked
        self.reader = device.reader.name
        self._connection: Any = None
        self._info: KeyInfo | None = None
        self._session: OathSession | None = None
        self._access_key: bytes | None = None

    @property
    def label(self) -> str:
        """`YubiKey 12345678`, as every message and listing names a key."""
        serial = self.info().serial
        return f"YubiKey {serial}" if serial is not None else f"the YubiKey in {self.reader}"

    def info(self) -> KeyInfo:
        if self._info is None:
            self._info = self._known_info() or self._read_info()
        return self._info

    def oath(self, passwords: PasswordSource | None = None) -> OathSession:
        """The OATH applet, selected once and unlocked with a password when it has one."""
        session = self.selected()
        if session.locked:
            with self.errors():
                self._unlock(session, passwords)
        return session

    def connection(self) -> Any:
        if self._connection is None:
            from yubikit.core.smartcard import SmartCardConnection

            with self.errors():
                self._connection = self.device.open_connection(SmartCardConnection)
        return self._connection

    def close(self) -> None:
        connection, self._connection, self._session = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a pulled key cannot be closed; nothing lost
                connection.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """A key pulled out or held by another program is one sentence naming the key."""
        from smartcard.Exceptions import SmartcardException
        from yubikit.core import CommandError

        try:
            yield
        except HwotpError:
            raise
        except (SmartcardException, CommandError, OSError) as error:
            if type(error).__name__ == "ApduError":
                raise
            self._session = None
            name = self._info and self._info.serial
            what = f"YubiKey {name}" if name else f"the YubiKey in {self.reader}"
            raise KeyUnavailableError(
                f"{what} stopped answering (pulled out, or used by another program)"
            ) from None

    def _known_info(self) -> KeyInfo | None:
        from hwotp import keycache

        return keycache.lookup(self.selected().device_id, self.reader)

    def selected(self) -> OathSession:
        """The OATH applet selected, locked or not (its device id is readable either way)."""
        if self._session is None:
            from yubikit.oath import OathSession

            with self.errors():
                self._session = OathSession(self.connection())
        return self._session

    def _read_info(self) -> KeyInfo:
        from yubikit.support import read_info

        from hwotp import keycache

        with self.errors():
            device_info = read_info(self.connection(), self.device.pid)
        self._session = None  # selecting the management applet deselected OATH
        version = device_info.version
        info = KeyInfo(
            serial=device_info.serial,
            firmware=(version.major, version.minor, version.patch),
            form_factor=str(device_info.form_factor),
            reader=self.reader,
        )
        keycache.remember(self.selected().device_id, info)
        return info

    def _unlock(self, session: OathSession, passwords: PasswordSource | None) -> None:
        from yubikit.core.smartcard import ApduError

        from hwotp import remember

        known = self._access_key or remember.recall(session.device_id)
        if known is not None:
            try:
                session.validate(known)
            except ApduError:
                remember.forget(session.device_id)  # the password changed since
            else:
                self._access_key = known
                return
        if passwords is None:
            raise WrongPassphraseError(f"{self.label} has an OATH password; give it")
        failed = False
        for _attempt in range(3):
            key = session.derive_key(passwords(self.label, failed))
            try:
                session.validate(key)
            except ApduError:
                failed = True
                continue
            self._access_key = key
            if self.on_unlock is not None:
                self.on_unlock(session.device_id, key)
            return
        raise WrongPassphraseError(f"wrong OATH password for {self.label}")
