"""YubiKeys over PC/SC: find them, tell them apart, open their OATH applet through yubikit.

One `YubiKey` is one key for the length of a command: one exclusive connection (shared when
another program holds the key; nothing is killed to get it), the device info read at most once,
the OATH applet selected (and unlocked) at most once. Reading the serial needs the management
applet, which costs two APDUs and locks OATH again, so the serial of a key seen before comes
from a small cache keyed by the OATH device id (`keycache.py`), and `hwotp code` asks a known,
unlocked key for nothing but its codes, without yubikit (`oathwire.py`). Reading commands
(`code`, `list`) also choose a key seen before by its cached serial (`known_info`); everything
that writes, deletes or resets a key chosen by serial reads the serial from the key itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from hwotp.debuglog import Logger
from hwotp.errors import (
    HwotpError,
    KeyUnavailableError,
    NoKeyError,
    PcscUnavailableError,
    Remedy,
    WrongPassphraseError,
)
from hwotp.yubikey.info import KeyInfo

if TYPE_CHECKING:
    from smartcard.CardConnection import CardConnection
    from smartcard.CardConnectionDecorator import CardConnectionDecorator
    from smartcard.reader.Reader import Reader
    from yubikit.oath import OathSession

    from hwotp.yubikey.oathwire import CalculateAllItem, ListItem, Selected
    from hwotp.yubikey.pcsc import PyscardConnection

YUBIKEY_READER = "yubico yubikey"  # ykman's rule: such a reader is a USB YubiKey
CONNECT_ATTEMPTS, CONNECT_PAUSE = 12, 0.25  # a key just plugged in: ykman too waits up to 3 s
# One wording of the fix, for the errors here and for `hwotp doctor`.
PCSCD_FIX = "sudo apt install pcscd && sudo systemctl enable --now pcscd.socket"

logger = Logger(__name__)
T = TypeVar("T")

# Asked when a key's OATH applet has a password: (key label, previous attempt failed) -> password.
PasswordSource = Callable[[str, bool], str]
# Told (OATH device id, access key) once a password worked: `--remember` keeps it.
UnlockHook = Callable[[str, bytes], None]


def find_keys(reader: str | None = None, on_unlock: UnlockHook | None = None) -> list[YubiKey]:
    """Every YubiKey pcscd shows (or every reader whose name contains `reader`), as ykman
    finds them: by reader name."""
    wanted = (reader or YUBIKEY_READER).lower()
    with pcsc_errors():
        from smartcard.System import readers

        present = readers()
    found = [item for item in present if wanted in item.name.lower()]
    logger.debug("readers matching %r: %s", wanted,
                 ", ".join(item.name for item in found) or "none")
    if not found and present and reader is None:
        names = ", ".join(item.name for item in present)
        raise NoKeyError(f"no YubiKey reader found (readers present: {names})",
                         remedy=Remedy.NAME_READER)
    return [YubiKey(item, on_unlock) for item in found]


def choose(keys: list[YubiKey], serials: tuple[int, ...], reading: bool = False) -> list[YubiKey]:
    """The keys named by serial, in that order; all of them when none is named. `reading`: a
    command that only reads (`code`, `list`) may find them by the serials the key cache
    remembers, without yubikit; each key's own serial is read when one is not found so."""
    if not keys:
        raise NoKeyError("no YubiKey found")
    if not serials:
        return keys
    by_serial = {}
    if reading:
        by_serial = {known.serial: key for key in keys if (known := key.known_info())}
    if any(serial not in by_serial for serial in serials):
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
            f"pcscd (the smart card service) is not running; start it: {PCSCD_FIX}"
        ) from None
    except ListReadersException as error:
        if error.hresult == _NO_READERS:
            raise NoKeyError("no YubiKey found") from None
        raise PcscUnavailableError(
            f"pcscd could not list readers; start it: {PCSCD_FIX}"
        ) from None


_NO_READERS = -2146435026  # SCARD_E_NO_READERS_AVAILABLE as pyscard reports it


class YubiKey:
    def __init__(self, reader: Reader, on_unlock: UnlockHook | None = None) -> None:
        self.pcsc_reader = reader
        self.on_unlock = on_unlock  # told (device id, access key) after a password worked
        self.reader = reader.name
        self._pyscard: CardConnection | None = None
        self._connection: PyscardConnection | None = None
        self._info: KeyInfo | None = None  # read from the key itself
        self._known: KeyInfo | None = None  # remembered by the key cache
        self._looked_up = False  # in the key cache, hit or miss
        self._selected: Selected | None = None  # OATH selected over pyscard, yubikit not used
        self._session: OathSession | None = None
        self._access_key: bytes | None = None

    @property
    def label(self) -> str:
        """`YubiKey 12345678`, as every message and listing names a key."""
        serial = (self._info or self._known or self.info()).serial
        return f"YubiKey {serial}" if serial is not None else f"the YubiKey in {self.reader}"

    def info(self) -> KeyInfo:
        if self._info is None:
            # Read from the key itself: a serial chosen with --device decides what is written,
            # deleted or reset. Only reading commands trust the cache (`known_info`).
            self._info = self._read_info()
        return self._info

    def unlocked_session(self, passwords: PasswordSource | None = None) -> OathSession:
        """The OATH applet, selected once and unlocked with a password when it has one."""
        session = self.selected_session()
        if session.locked:
            # The password prompt names the key; reading an unknown key's serial selects the
            # management applet, which would deselect OATH under a half-done VALIDATE.
            self.info()
            session = self.selected_session()
            with self.reporting_lost_key():
                self._unlock(session, passwords)
        return session

    def known_info(self) -> KeyInfo | None:
        """What the key cache remembers of this key, found by the device id its OATH applet
        answers to SELECT (over pyscard, without yubikit); None for a key not seen before.
        Trusted by reading commands only: labels, and `--device` for `code` and `list`."""
        selected = None if self._looked_up else self._select_over_pyscard()
        if selected is not None:
            from hwotp.yubikey import keycache

            self._known = keycache.lookup(selected.device_id, self.reader)
            self._looked_up = True
            logger.debug("key cache %s for %s", "hit" if self._known else "miss", self.reader)
        return self._known

    def quick_codes(self, timestamp: int) -> list[CalculateAllItem] | None:
        """CALCULATE_ALL without yubikit, for a key seen before and not locked; None when the
        yubikit path must answer instead."""
        from hwotp.yubikey import oathwire

        return self._without_yubikit(lambda card: oathwire.calculate_all(card, timestamp))

    def quick_listing(self) -> tuple[list[ListItem], list[CalculateAllItem]] | None:
        """LIST and CALCULATE_ALL (for digits and touch) without yubikit, as `quick_codes`."""
        from hwotp.yubikey import oathwire

        return self._without_yubikit(
            lambda card: (oathwire.list_all(card), oathwire.calculate_all(card, 0)))

    def _without_yubikit(self, ask: Callable[[CardConnection], T]) -> T | None:
        """`ask` of the OATH applet selected over pyscard, for a key seen before and not
        locked; None when yubikit must answer (a new key, a password, a refusal)."""
        from hwotp.yubikey import oathwire

        selected = self._select_over_pyscard()
        if selected is None or self.known_info() is None:
            return None
        if selected.locked:
            logger.debug("OATH locked: yubikit answers")
            return None
        with self.reporting_lost_key():
            try:
                return ask(self.pcsc_connection())
            except oathwire.WireError as error:
                logger.debug("path without yubikit refused (%s); yubikit answers", error)
                return None

    def _select_over_pyscard(self) -> Selected | None:
        """OATH selected without yubikit, once; None once yubikit talks to the key (it selects
        for itself) or when the key refuses."""
        from hwotp.yubikey import oathwire

        if self._connection is not None:
            return None
        if self._selected is None:
            with self.reporting_lost_key():
                try:
                    self._selected = oathwire.select(self.pcsc_connection())
                except oathwire.WireError as error:
                    logger.debug("OATH SELECT refused (%s); yubikit answers instead", error)
        return self._selected

    def smart_card_connection(self) -> PyscardConnection:
        """The key as yubikit's SmartCardConnection."""
        if self._connection is None:
            from hwotp.yubikey.pcsc import PyscardConnection

            self._selected = None  # yubikit selects what it needs from here on

            self._connection = PyscardConnection(self.pcsc_connection())
        return self._connection

    def pcsc_connection(self) -> CardConnection:
        """The key's pyscard connection: exclusive, or shared when another program holds it."""
        if self._pyscard is None:
            from smartcard.Exceptions import NoCardException
            from smartcard.ExclusiveConnectCardConnection import ExclusiveConnectCardConnection

            with self.reporting_lost_key():
                for attempt in range(CONNECT_ATTEMPTS):
                    try:
                        connection = self._connect(ExclusiveConnectCardConnection)
                        break
                    except NoCardException:  # a key just plugged in may need a moment
                        logger.debug("no card in %s yet (attempt %d)", self.reader, attempt + 1)
                        if attempt == CONNECT_ATTEMPTS - 1:
                            raise
                        time.sleep(CONNECT_PAUSE)
            self._pyscard = connection
        return self._pyscard

    def _connect(self, exclusive: type[CardConnectionDecorator]) -> CardConnection:
        """Exclusive, else shared when another program holds the key. A connection that did
        not work is released at once: left to the garbage collector, it would talk to pcscd
        whenever that runs."""
        from smartcard.Exceptions import CardConnectionException

        try:
            logger.debug("connecting to %s, exclusive", self.reader)
            return _connected(exclusive(self.pcsc_reader.createConnection()))
        except CardConnectionException:  # another program holds it: share
            logger.debug("%s is held by another program: connecting shared", self.reader)
            return _connected(self.pcsc_reader.createConnection())

    def password_locked(self) -> bool:
        """Whether the OATH applet waits for its password (asks for none)."""
        with self.reporting_lost_key():
            return self.selected_session().locked

    def has_password(self, passwords: PasswordSource | None) -> bool:
        return self.unlocked_session(passwords).has_key

    def set_password(self, password: str | None, passwords: PasswordSource | None) -> None:
        """Set or change the OATH password (None clears it), unlocking with `passwords`; a
        remembered access key for the old password is forgotten."""
        from hwotp.yubikey import remember

        session = self.unlocked_session(passwords)
        with self.reporting_lost_key():
            if password is None:
                session.unset_key()
            else:
                session.set_key(session.derive_key(password))
        remember.forget(session.device_id)

    def count_credentials(self) -> int:
        """How many credentials the applet holds; it must not be password-locked."""
        from hwotp.yubikey import oathwire

        with self.reporting_lost_key():
            return len(oathwire.list_credentials(self.selected_session()))

    def reset_oath(self) -> None:
        """Wipe the OATH applet: every credential and the password. Needs no password."""
        with self.reporting_lost_key():
            self.selected_session().reset()

    def close(self) -> None:
        connection, self._pyscard = self._pyscard, None
        self._connection = self._session = self._selected = None
        if connection is not None:
            logger.debug("released %s", self.reader)
            _release(connection)

    @contextmanager
    def reporting_lost_key(self) -> Iterator[None]:
        """A key pulled out or held by another program is one sentence naming the key."""
        try:
            yield
        except HwotpError:
            raise
        except Exception as error:
            if not _lost_key(error):
                raise
            logger.debug("%s stopped answering: %s", self.reader, type(error).__name__)
            self._session = self._selected = None
            known = self._info or self._known
            name = known and known.serial
            what = f"YubiKey {name}" if name else f"the YubiKey in {self.reader}"
            raise KeyUnavailableError(
                f"{what} stopped answering (pulled out, or used by another program)"
            ) from None

    def selected_session(self) -> OathSession:
        """The OATH applet selected, locked or not (its device id is readable either way)."""
        if self._session is None:
            from yubikit.oath import OathSession

            with self.reporting_lost_key():
                self._session = OathSession(self.smart_card_connection())
        return self._session

    def _read_info(self) -> KeyInfo:
        from ykman.pcsc import ScardYubiKeyDevice
        from yubikit.support import read_info

        from hwotp.yubikey import keycache

        with self.reporting_lost_key():
            pid = ScardYubiKeyDevice(self.pcsc_reader).pid  # from the reader name, as ykman
            device_info = read_info(self.smart_card_connection(), pid)
        self._session = None  # selecting the management applet deselected OATH
        version = device_info.version
        info = KeyInfo(
            serial=device_info.serial,
            firmware=(version.major, version.minor, version.patch),
            form_factor=str(device_info.form_factor),
            reader=self.reader,
        )
        logger.debug("key info read from %s: serial %s, firmware %s, %s", self.reader,
                     info.serial, ".".join(map(str, info.firmware)), info.form_factor)
        self._info = info  # known from here on, for messages too
        keycache.remember(self.selected_session().device_id, info)
        return info

    def _unlock(self, session: OathSession, passwords: PasswordSource | None) -> None:
        from yubikit.core.smartcard import ApduError

        from hwotp.yubikey import remember

        known = self._access_key or remember.recall(session.device_id)
        if known is not None:
            logger.debug("OATH locked: trying the access key known already (--remember)")
            try:
                session.validate(known)
            except ApduError:
                logger.debug("the remembered access key was refused: forgotten")
                remember.forget(session.device_id)  # the password changed since
            else:
                self._access_key = known
                return
        if passwords is None:
            raise WrongPassphraseError(f"{self.label} has an OATH password; give it")
        failed = False
        for attempt in range(3):
            key = session.derive_key(passwords(self.label, failed))
            try:
                session.validate(key)
            except ApduError:
                logger.debug("OATH password attempt %d of 3 refused", attempt + 1)
                failed = True
                continue
            logger.debug("OATH unlocked with a password (attempt %d)", attempt + 1)
            self._access_key = key
            if self.on_unlock is not None:
                self.on_unlock(session.device_id, key)
            return
        raise WrongPassphraseError(f"wrong OATH password for {self.label}")


def _lost_key(error: Exception) -> bool:
    """PC/SC or transport trouble, as opposed to an answer from the key (ApduError), which the
    caller interprets. Imported only on failure: the bulk path never loads yubikit."""
    from smartcard.Exceptions import SmartcardException
    from yubikit.core import CommandError
    from yubikit.core.smartcard import ApduError

    if isinstance(error, ApduError):
        return False
    return isinstance(error, SmartcardException | CommandError | OSError)


def _connected(connection: CardConnection) -> CardConnection:
    try:
        connection.connect()
    except BaseException:
        _release(connection)
        raise
    return connection


def _release(connection: CardConnection) -> None:
    """Disconnect and free the PC/SC context; a key pulled out cannot disconnect, which loses
    nothing, but the context is freed all the same."""
    with contextlib.suppress(Exception):
        connection.disconnect()
    with contextlib.suppress(Exception):
        connection.release()
