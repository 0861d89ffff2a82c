"""A YubiKey's OATH applet as a store: the secret goes in and never comes back out.

Listing reads LIST (kind and algorithm) and CALCULATE_ALL (digits, touch); codes in bulk come
from CALCULATE_ALL alone, so `hwotp code` costs SELECT + CALCULATE_ALL (+ SEND_REMAINING).
Touch, HOTP and non-30 s credentials get their own CALCULATE, only when asked for by name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hwotp.credential import Algorithm, Code, Credential, Entry, Kind
from hwotp.errors import (
    ExistsError,
    InputError,
    KeyFullError,
    KeyUnavailableError,
    NotFoundError,
    NotSupportedError,
    TouchTimeoutError,
)
from hwotp.stores.base import Computed
from hwotp.yubikey.device import PasswordSource, YubiKey
from hwotp.yubikey.oathwire import Listed, calculate_all_body, parse_calculate_all

MAX_ID_BYTES = 64
TOUCH_FIRMWARE = (4, 2, 6)
SHA512_FIRMWARE = (4, 3, 1)
RENAME_FIRMWARE = (5, 3, 1)
DEFAULT_PERIOD = 30
PERIOD_PREFIX = re.compile(r"\d+/")  # how yubikit recognises `[period/]` in a TOTP id

INS_LIST, INS_CALCULATE_ALL = 0xA1, 0xA4
TAG_NAME_LIST = 0x72
TAG_TRUNCATED, TAG_HOTP, TAG_TOUCH = 0x76, 0x77, 0x7C
SW_SECURITY_CONDITION = 0x6982
SW_NO_SPACE = 0x6A84
SW_NO_SUCH_OBJECT = 0x6984
ALGORITHMS = {1: Algorithm.SHA1, 2: Algorithm.SHA256, 3: Algorithm.SHA512}
KINDS = {0x10: Kind.HOTP, 0x20: Kind.TOTP}


def credential_id(issuer: str, account: str, kind: Kind, period: int) -> bytes:
    """`[period/][issuer:]account` as yubikit and ykman build it."""
    prefix = f"{period}/" if kind is Kind.TOTP and period != DEFAULT_PERIOD else ""
    return (prefix + (f"{issuer}:" if issuer else "") + account).encode()


def check_fits(credential: Credential, firmware: tuple[int, int, int], touch: bool) -> None:
    """Everything a key would refuse, refused before anything is written, with the reason."""
    size = len(credential_id(credential.issuer, credential.account, credential.kind,
                             credential.period))
    if size > MAX_ID_BYTES:
        raise InputError(
            f"the name {credential.name} takes {size} bytes on a YubiKey, which allows "
            f"{MAX_ID_BYTES}; choose a shorter one with --name ISSUER:ACCOUNT"
        )
    if credential.kind is Kind.TOTP and PERIOD_PREFIX.match(credential.name):
        raise InputError(
            f"a YubiKey would read the start of {credential.name} as a period and give wrong "
            "codes; choose another name with --name ISSUER:ACCOUNT"
        )
    version = ".".join(map(str, firmware))
    if credential.algorithm is Algorithm.SHA512 and firmware < SHA512_FIRMWARE:
        raise NotSupportedError(
            f"SHA-512 credentials need YubiKey firmware 4.3.1 or later; this key has {version}"
        )
    if touch and firmware < TOUCH_FIRMWARE:
        raise NotSupportedError(
            f"touch needs YubiKey firmware 4.2.6 or later; this key has {version} "
            "(use --no-touch)"
        )


class YubiKeyStore:
    def __init__(
        self,
        key: YubiKey,
        passwords: PasswordSource | None = None,
        touch: bool = True,
        touch_prompt: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.key = key
        self.passwords = passwords
        self.touch = touch  # for credentials this store writes
        self.touch_prompt = touch_prompt

    @property
    def location(self) -> str:
        return self.key.label

    @property
    def capacity(self) -> int:
        return self.key.info().oath_capacity

    def entries(self) -> list[Entry]:
        with self._session() as session:
            kinds = self._list(session)
            listed = self._calculate_all(session, 0)
        return [self._entry(item, *kinds.get(item.id, (None, None))) for item in listed]

    def codes(self, now: float) -> list[Computed]:
        """Codes of every plain 30 s TOTP credential from one CALCULATE_ALL; the others are
        named with the reason they wait to be asked for."""
        listed = self.key.quick_codes(int(now))
        if listed is None:
            with self._session() as session:
                listed = self._calculate_all(session, int(now))
        location = self.location
        return [_computed(item, location, int(now)) for item in listed]

    def add(self, credential: Credential, *, replace: bool = False) -> None:
        check_fits(credential, self.key.info().firmware, self.touch)
        if not replace and any(entry.name == credential.name for entry in self.entries()):
            raise ExistsError(f"{credential.name} already on the {self.location}; use --force")
        try:
            with self._session() as session:
                self._put(session, credential)
        except KeyUnavailableError as error:
            raise KeyUnavailableError(
                f"{error} while {credential.name} was being written; `hwotp list` shows "
                "whether it got onto it"
            ) from None

    def full_message(self) -> str:
        used, limit = len(self.entries()), self.capacity
        return f"the {self.location} is full: it holds {used} credentials, its limit is {limit}"

    def calculate(self, entry: Entry, now: float) -> Code:
        from yubikit.core.smartcard import ApduError
        from yubikit.oath import OATH_TYPE, Credential

        if entry.touch:
            self.touch_prompt(f"Touch your {self.location} for {entry.name}")
        with self._session() as session:
            target = Credential(
                session.device_id,
                credential_id(entry.issuer, entry.account, entry.kind, entry.period),
                entry.issuer or None,
                entry.account,
                OATH_TYPE[entry.kind.name],
                entry.period,
                entry.touch,
            )
            try:
                code = session.calculate_code(target, int(now))
            except ApduError as error:
                if error.sw == SW_SECURITY_CONDITION and entry.touch:
                    raise TouchTimeoutError(
                        f"the {self.location} was not touched in time for {entry.name}"
                    ) from None
                raise
        if entry.kind is Kind.HOTP:
            return Code(code.value)
        return Code(code.value, code.valid_from, code.valid_to)

    def delete(self, entry: Entry) -> None:
        with self._session() as session, self._missing(entry):
            session.delete_credential(self._id(entry))

    def rename(self, entry: Entry, issuer: str, account: str) -> None:
        firmware = self.key.info().firmware
        if firmware < RENAME_FIRMWARE:
            version = ".".join(map(str, firmware))
            raise NotSupportedError(
                f"renaming on a YubiKey needs firmware 5.3.1 or later; the {self.location} "
                f"has {version} (enrol it again under the new name, then delete the old one)"
            )
        new_id = credential_id(issuer, account, entry.kind, entry.period)
        if len(new_id) > MAX_ID_BYTES:
            raise InputError(f"the new name takes {len(new_id)} bytes; a YubiKey allows 64")
        if new_id == self._id(entry):
            return  # the name it has already (as the vault treats it)
        if new_id in {self._id(other) for other in self.entries()}:
            # The key would answer 6A80 (wrong data): say what is wrong instead.
            raise ExistsError(f"another credential on the {self.location} already has that name")
        with self._session() as session, self._missing(entry):
            session.rename_credential(self._id(entry), account, issuer or None)

    @contextmanager
    def _missing(self, entry: Entry) -> Iterator[None]:
        from yubikit.core.smartcard import ApduError

        try:
            yield
        except ApduError as error:
            if error.sw == SW_NO_SUCH_OBJECT:
                raise NotFoundError(f"{entry.name} is no longer on the {self.location}") from None
            raise

    @contextmanager
    def _session(self) -> Iterator:
        with self.key.errors():
            yield self.key.oath(self.passwords)

    def _id(self, entry: Entry) -> bytes:
        return credential_id(entry.issuer, entry.account, entry.kind, entry.period)

    def _put(self, session, credential: Credential) -> None:
        from yubikit.core.smartcard import ApduError

        try:
            session.put_credential(_credential_data(credential), touch_required=self.touch)
        except ApduError as error:
            if error.sw == SW_NO_SPACE:
                raise KeyFullError(self.full_message()) from None
            raise

    @staticmethod
    def _list(session) -> dict[bytes, tuple[Kind | None, Algorithm | None]]:
        from yubikit.core import Tlv

        kinds = {}
        for tlv in Tlv.parse_list(session.protocol.send_apdu(0, INS_LIST, 0, 0)):
            value = Tlv.unpack(TAG_NAME_LIST, tlv)
            kinds[value[1:]] = (KINDS.get(value[0] & 0xF0), ALGORITHMS.get(value[0] & 0x0F))
        return kinds

    @staticmethod
    def _calculate_all(session, timestamp: int) -> list[Listed]:
        answer = session.protocol.send_apdu(
            0, INS_CALCULATE_ALL, 0, 1, calculate_all_body(timestamp)
        )
        return parse_calculate_all(answer)

    def _entry(self, item: Listed, kind: Kind | None, algorithm: Algorithm | None) -> Entry:
        kind = kind or (Kind.HOTP if item.tag == TAG_HOTP else Kind.TOTP)
        issuer, account, period = _parse_id(item.id, kind)
        return Entry(
            location=self.location,
            issuer=issuer,
            account=account,
            kind=kind,
            algorithm=algorithm or Algorithm.SHA1,
            digits=item.digits,
            period=period,
            touch=item.tag == TAG_TOUCH,
        )


def _credential_data(credential: Credential):
    from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData

    return CredentialData(
        name=credential.account,
        oath_type=OATH_TYPE[credential.kind.name],
        hash_algorithm=HASH_ALGORITHM[credential.algorithm.name],
        secret=credential.secret,
        digits=credential.digits,
        period=credential.period,
        counter=credential.counter,
        issuer=credential.issuer or None,
    )


def _parse_id(raw: bytes, kind: Kind) -> tuple[str, str, int]:
    """`[period/][issuer:]account` back into its parts (yubikit's rule: HOTP has no period).
    Another tool may have written anything: control and invisible characters are escaped, so
    a name cannot fake a line of output."""
    text = _printable(raw.decode("utf-8", errors="replace"))
    period = DEFAULT_PERIOD
    if kind is Kind.TOTP:
        head, slash, rest = text.partition("/")
        if slash and head.isdigit():
            period, text = int(head), rest
    issuer, colon, account = text.partition(":")
    if not colon or not issuer:
        return "", text, period
    return issuer, account, period


def _printable(text: str) -> str:
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in UNSAFE_CATEGORIES else char
        for char in text
    )


UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def _computed(item: Listed, location: str, timestamp: int) -> Computed:
    kind = Kind.HOTP if item.tag == TAG_HOTP else Kind.TOTP
    issuer, account, period = _parse_id(item.id, kind)
    name = f"{issuer}:{account}" if issuer else account
    if item.tag == TAG_TOUCH:
        return Computed(name, location, None, "needs a touch")
    if item.tag == TAG_HOTP:
        return Computed(name, location, None, "HOTP")
    if period != DEFAULT_PERIOD:
        return Computed(name, location, None, f"every {period} s")
    value = (int.from_bytes(item.payload[1:5], "big") & 0x7FFFFFFF) % 10**item.digits
    start = timestamp // DEFAULT_PERIOD * DEFAULT_PERIOD
    code = Code(str(value).rjust(item.digits, "0"), start, start + DEFAULT_PERIOD)
    return Computed(name, location, code)
