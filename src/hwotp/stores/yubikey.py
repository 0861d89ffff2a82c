"""A YubiKey's OATH applet as a store: the secret goes in and never comes back out.

Listing reads LIST (kind and algorithm) and CALCULATE_ALL (digits, touch); codes in bulk come
from CALCULATE_ALL alone, so `hwotp code` costs SELECT + CALCULATE_ALL (+ SEND_REMAINING).
Touch, HOTP and non-30 s credentials get their own CALCULATE, only when asked for by name.
The wire format (ids, answers, truncation) is `yubikey/oathwire.py`'s; this module maps it to
entries and codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from hwotp.credential import (
    Algorithm,
    Code,
    Credential,
    Entry,
    Kind,
    display_name,
    is_steam,
    printable,
)
from hwotp.errors import (
    ExistsError,
    InputError,
    KeyFullError,
    KeyUnavailableError,
    NotFoundError,
    NotSupportedError,
    Remedy,
    TouchTimeoutError,
)
from hwotp.otp import hmac_answer, steam_code
from hwotp.stores.base import Comparison, Computed
from hwotp.yubikey import oathwire
from hwotp.yubikey.device import PasswordSource, YubiKey
from hwotp.yubikey.oathwire import DEFAULT_PERIOD, MAX_ID_BYTES, CalculateAllItem

if TYPE_CHECKING:
    from yubikit.oath import CredentialData, OathSession

TOUCH_FIRMWARE = (4, 2, 6)
SHA512_FIRMWARE = (4, 3, 1)
RENAME_FIRMWARE = (5, 3, 1)


def check_fits(credential: Credential, firmware: tuple[int, int, int], touch: bool) -> None:
    """Everything a key would refuse or misread, refused before anything is written."""
    raw_id = _id_of(credential)
    if len(raw_id) > MAX_ID_BYTES:
        raise InputError(
            f"the name {credential.name} takes {len(raw_id)} bytes on a YubiKey, which allows "
            f"{MAX_ID_BYTES}",
            remedy=Remedy.OTHER_NAME,
        )
    _refuse_misread(credential.issuer, credential.account, credential.kind, credential.period,
                    Remedy.OTHER_NAME)
    version = ".".join(map(str, firmware))
    if credential.algorithm is Algorithm.SHA512 and firmware < SHA512_FIRMWARE:
        raise NotSupportedError(
            f"SHA-512 credentials need YubiKey firmware 4.3.1 or later; this key has {version}"
        )
    if touch and firmware < TOUCH_FIRMWARE:
        raise NotSupportedError(
            f"touch needs YubiKey firmware 4.2.6 or later; this key has {version}",
            remedy=Remedy.NO_TOUCH,
        )


def _refuse_misread(
    issuer: str, account: str, kind: Kind, period: int, remedy: Remedy | None = None
) -> None:
    if not oathwire.round_trips(issuer, account, kind, period):
        raise InputError(
            f"a YubiKey would read the start of {display_name(issuer, account)} as a period "
            "and give wrong codes (ykman too)",
            remedy=remedy,
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

    def prepare_to_write(self) -> None:
        """The OATH password, if the key has one, is asked now (before any write)."""
        with self._session():
            pass

    def same_slot(self, entry: Entry, credential: Credential) -> bool:
        return entry.handle == _id_of(credential)

    def compare(self, entry: Entry, credential: Credential, now: float) -> Comparison:
        """The key's full HMAC answer for this time step against the one the secret gives:
        160 bits or more compared, not a 6-digit code. A touch credential needs a touch."""
        import hmac

        fields = (entry.kind, entry.algorithm, entry.digits, entry.period, entry.touch)
        if fields != (credential.kind, credential.algorithm, credential.digits,
                      credential.period, self.touch) or not self.same_slot(entry, credential):
            return Comparison(False)
        if entry.kind is Kind.HOTP:
            return Comparison(False, "a counter-based credential on a YubiKey is not compared: "
                                     "that would use up one of its codes")
        if entry.touch:
            self.touch_prompt(f"Touch your {self.location} to compare {entry.name} with the "
                              "one on it")
        step = int(now) // entry.period
        with self._session() as session, self._missing(entry), self._touch_for(entry):
            answer = session.calculate(self._id(entry), step.to_bytes(8, "big"))
        return Comparison(hmac.compare_digest(answer, hmac_answer(credential, step)))

    def entries(self) -> list[Entry]:
        quick = self.key.quick_listing()
        if quick is None:
            with self._session() as session:
                quick = oathwire.list_credentials(session), oathwire.calculate_all_in(session, 0)
        listing, calculated = quick
        listed = {item.id: item for item in listing}
        return [self._entry(item, listed.get(item.id)) for item in calculated]

    def codes(self, now: float) -> list[Computed]:
        """Codes of every plain 30 s TOTP credential from one CALCULATE_ALL; the others are
        named with the reason they are computed only when asked for by name."""
        calculated = self.key.quick_codes(int(now))
        if calculated is None:
            with self._session() as session:
                calculated = oathwire.calculate_all_in(session, int(now))
        location = self.location
        return [_computed(item, location, int(now)) for item in calculated]

    def check_writable(self, credentials: Sequence[Credential]) -> None:
        firmware = self.key.info().firmware
        for credential in credentials:
            check_fits(credential, firmware, self.touch)

    def add(self, credential: Credential, *, replace: bool = False) -> Entry:
        """Write `credential`, which the caller checked (`check_writable`, and its name is not
        taken unless `replace`): the key itself replaces a credential of the same id."""
        try:
            with self._session() as session:
                self._put(session, credential)
        except KeyUnavailableError as error:
            raise KeyUnavailableError(
                f"{error} while {credential.name} was being written"
            ) from None
        return credential.entry(self.location, self.touch, handle=_id_of(credential))

    def full_message(self) -> str:
        used, limit = len(self.entries()), self.capacity
        return f"the {self.location} is full: it holds {used} credentials, its limit is {limit}"

    def calculate(self, entry: Entry, now: float) -> Code:
        bulk = self._from_bulk(entry, now)
        if bulk is not None:
            return bulk
        from yubikit.oath import OATH_TYPE, Credential

        if entry.touch:
            self.touch_prompt(f"Touch your {self.location} for {entry.name}")
        with self._session() as session, self._missing(entry), self._touch_for(entry):
            target = Credential(session.device_id, self._id(entry), entry.issuer or None,
                                entry.account, OATH_TYPE[entry.kind.name], entry.period,
                                entry.touch)
            if entry.steam:
                return self._steam_code(session, entry, now)
            code = session.calculate_code(target, int(now))
        if entry.kind is Kind.HOTP:
            return Code(code.value)
        return Code(code.value, code.valid_from, code.valid_to)

    def _from_bulk(self, entry: Entry, now: float) -> Code | None:
        """The code of a credential that CALCULATE_ALL computes (TOTP, 30 s, no touch), taken
        from its answer on a key seen before (as `codes`, without yubikit); None otherwise."""
        if entry.touch or entry.kind is not Kind.TOTP or entry.period != DEFAULT_PERIOD:
            return None
        calculated = self.key.quick_codes(int(now))
        wanted = self._id(entry)
        for item in calculated or []:
            if item.id == wanted:
                return _computed(item, self.location, int(now)).code  # None: not computed
        return None

    def _steam_code(self, session: OathSession, entry: Entry, now: float) -> Code:
        """Steam Guard's code from the key's full HMAC answer (CALCULATE without truncation),
        as Yubico Authenticator computes it."""
        step = int(now) // entry.period
        answer = session.calculate(self._id(entry), step.to_bytes(8, "big"))
        start = step * entry.period
        return Code(steam_code(answer), start, start + entry.period)

    def delete(self, entry: Entry) -> None:
        with self._session() as session, self._missing(entry):
            session.delete_credential(self._id(entry))

    def check_rename(self, entry: Entry, issuer: str, account: str) -> None:
        firmware = self.key.info().firmware
        if firmware < RENAME_FIRMWARE:
            version = ".".join(map(str, firmware))
            raise NotSupportedError(
                f"renaming on a YubiKey needs firmware 5.3.1 or later; the {self.location} "
                f"has {version} (enrol it again under the new name, then delete the old one)"
            )
        new_id = oathwire.format_credential_id(issuer, account, entry.kind, entry.period)
        if len(new_id) > MAX_ID_BYTES:
            raise InputError(f"the new name takes {len(new_id)} bytes; a YubiKey allows 64")
        _refuse_misread(issuer, account, entry.kind, entry.period)
        if new_id != self._id(entry) and new_id in {self._id(other) for other in self.entries()}:
            # The key would answer 6A80 (wrong data): say what is wrong instead.
            raise ExistsError(f"another credential on the {self.location} already has that name")

    def rename(self, entry: Entry, issuer: str, account: str) -> None:
        self.check_rename(entry, issuer, account)
        new_id = oathwire.format_credential_id(issuer, account, entry.kind, entry.period)
        if new_id == self._id(entry):
            return  # the name it has already (as the vault treats it)
        with self._session() as session, self._missing(entry):
            oathwire.rename_in(session, self._id(entry), new_id)

    @contextmanager
    def _touch_for(self, entry: Entry) -> Iterator[None]:
        from yubikit.core.smartcard import ApduError

        try:
            yield
        except ApduError as error:
            if error.sw == oathwire.SW_SECURITY_CONDITION and entry.touch:
                raise TouchTimeoutError(
                    f"the {self.location} was not touched in time for {entry.name}"
                ) from None
            raise

    @contextmanager
    def _missing(self, entry: Entry) -> Iterator[None]:
        from yubikit.core.smartcard import ApduError

        try:
            yield
        except ApduError as error:
            if error.sw == oathwire.SW_NO_SUCH_OBJECT:
                raise NotFoundError(f"{entry.name} is no longer on the {self.location}") from None
            raise

    @contextmanager
    def _session(self) -> Iterator[OathSession]:
        with self.key.reporting_lost_key():
            try:
                yield self.key.unlocked_session(self.passwords)
            except oathwire.WireError as error:  # yubikit's path has no other to fall back on
                raise KeyUnavailableError(
                    f"the {self.location} gave {error}"
                ) from None

    def _id(self, entry: Entry) -> bytes:
        """The id the key knows the entry by: read from the key, or built from its name."""
        if entry.handle is not None:
            return entry.handle
        return oathwire.format_credential_id(entry.issuer, entry.account, entry.kind,
                                             entry.period)

    def _put(self, session: OathSession, credential: Credential) -> None:
        from yubikit.core.smartcard import ApduError

        try:
            session.put_credential(_credential_data(credential), touch_required=self.touch)
        except ApduError as error:
            if error.sw == oathwire.SW_NO_SPACE:
                raise KeyFullError(self.full_message()) from None
            raise

    def _entry(self, item: CalculateAllItem, listed: oathwire.ListItem | None) -> Entry:
        kind = (listed and listed.kind) or item.kind
        read = oathwire.parse_credential_id(item.id, kind)
        return Entry(
            location=self.location,
            issuer=printable(read.issuer),
            account=printable(read.account),
            kind=kind,
            algorithm=(listed and listed.algorithm) or Algorithm.SHA1,
            digits=item.digits,
            period=read.period,
            touch=item.needs_touch,
            handle=item.id,
        )


def _id_of(credential: Credential) -> bytes:
    return oathwire.format_credential_id(credential.issuer, credential.account, credential.kind,
                                         credential.period)


def _credential_data(credential: Credential) -> CredentialData:
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


def _computed(item: CalculateAllItem, location: str, timestamp: int) -> Computed:
    read = oathwire.parse_credential_id(item.id, item.kind)
    name = printable(read.name)
    if item.needs_touch:
        return Computed(name, location, None, "needs a touch")
    if item.kind is Kind.HOTP:
        return Computed(name, location, None, "HOTP")
    if is_steam(item.kind, read.issuer):  # its code needs the full HMAC answer
        return Computed(name, location, None, "Steam Guard")
    if read.period != DEFAULT_PERIOD:
        return Computed(name, location, None, f"every {read.period} s")
    start = timestamp // DEFAULT_PERIOD * DEFAULT_PERIOD
    return Computed(name, location, Code(oathwire.truncated_code(item), start,
                                         start + DEFAULT_PERIOD))
