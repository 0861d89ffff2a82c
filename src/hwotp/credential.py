"""The model: one OTP credential, what a store tells about it, and one computed code.

Pure data with validation; no I/O and no imports beyond the standard library.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import NamedTuple, NoReturn

DIGITS = range(6, 9)
PERIODS = range(1, 301)
SECRET_BYTES = range(1, 257)  # services issue 10 to 64; HMAC hashes anything past a block
COUNTERS = range(2**64)  # RFC 4226 hashes the counter as 8 bytes
HIDDEN_ISSUER = "_hidden"  # ykman's convention for credentials kept out of listings
# Steam Guard: a TOTP credential of this issuer gives 5-character codes, as Yubico Authenticator
# and ykman read it on a YubiKey (which stores it as a plain TOTP credential).
STEAM_ISSUER = "Steam"
MAX_NAME_CHARS = 256  # a YubiKey takes 64 bytes for issuer:account; the vault is more lenient
# Joiners shape emoji and some scripts; every other format character (bidi controls, zero
# widths, tags, soft hyphens) reorders or hides text.
_VISIBLE_FORMAT = frozenset("\u200c\u200d")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class Kind(StrEnum):
    TOTP = "totp"
    HOTP = "hotp"


class Algorithm(StrEnum):
    SHA1 = "SHA1"
    SHA256 = "SHA256"
    SHA512 = "SHA512"


class CredentialError(ValueError):
    """A credential field is out of range; the message names the field, never the secret."""


# In the order Credential takes them (a literal __slots__ would be sorted by ruff's fixes).
_CREDENTIAL_FIELDS = ("secret", "issuer", "account", "kind", "algorithm", "digits", "period",
                      "counter")


class Credential:
    """An OTP credential including its secret; immutable, compared by every field. `repr`
    never shows the secret.

    A plain class, not a dataclass, as every value class `hwotp code` loads: a dataclass
    writes and compiles its methods when its module is imported, and importing `dataclasses`
    loads `inspect` (docs/architecture.md, "Start-up cost")."""

    __slots__ = _CREDENTIAL_FIELDS
    secret: bytes
    issuer: str
    account: str
    kind: Kind
    algorithm: Algorithm
    digits: int
    period: int
    counter: int

    def __init__(self, secret: bytes, issuer: str, account: str, kind: Kind | str = Kind.TOTP,
                 algorithm: Algorithm | str = Algorithm.SHA1, digits: int = 6,
                 period: int = 30, counter: int = 0) -> None:
        if not secret:
            raise CredentialError("the secret is empty")
        if len(secret) not in SECRET_BYTES:
            raise CredentialError(f"the secret is longer than {SECRET_BYTES[-1]} bytes")
        # One spelling per name: NFC (as passphrases) and no surrounding blanks, so the name a
        # user types later finds the one stored.
        issuer, account = _clean_text("issuer", issuer), _clean_text("account name", account)
        if not account and not issuer:
            raise CredentialError("the credential has neither an issuer nor an account name")
        if digits not in DIGITS:
            raise CredentialError(f"digits must be 6, 7 or 8, not {digits}")
        if period not in PERIODS:
            raise CredentialError(f"period must be 1 to 300 seconds, not {period}")
        if counter not in COUNTERS:
            raise CredentialError("counter must be from 0 to 2^64 - 1")
        # Coerce plain strings so callers may pass "totp" or "SHA256".
        values = (secret, issuer, account, Kind(kind), Algorithm(algorithm), digits, period,
                  counter)
        for name, value in zip(_CREDENTIAL_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def replace(self, **changes: object) -> Credential:
        """A copy with `changes`, checked as a new credential is."""
        fields = {name: getattr(self, name) for name in _CREDENTIAL_FIELDS}
        return Credential(**{**fields, **changes})

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _CREDENTIAL_FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a credential cannot be changed (its {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a credential cannot be changed (its {name})")

    def __copy__(self) -> Credential:
        return self  # immutable: a copy would be the same value

    def __deepcopy__(self, _memo: object) -> Credential:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a credential is not pickled: it holds a secret")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _CREDENTIAL_FIELDS[1:])
        return f"Credential({shown})"

    @property
    def name(self) -> str:
        """`issuer:account`, or just the account when there is no issuer."""
        return display_name(self.issuer, self.account)

    @property
    def steam(self) -> bool:
        return is_steam(self.kind, self.issuer)

    def entry(self, location: str, touch: bool = False, handle: bytes | None = None,
              counter: int | None = None) -> Entry:
        return Entry(
            location=location,
            issuer=self.issuer,
            account=self.account,
            kind=self.kind,
            algorithm=self.algorithm,
            digits=self.digits,
            period=self.period,
            touch=touch,
            handle=handle,
            counter=counter,
        )


class Entry(NamedTuple):
    """What a store tells about one credential: everything but the secret."""

    location: str
    issuer: str
    account: str
    kind: Kind
    algorithm: Algorithm
    digits: int
    period: int
    touch: bool = False
    # How the store addresses it where that is not the name: a YubiKey's raw credential id,
    # so a name that another tool wrote and hwotp shows escaped can still be deleted.
    handle: bytes | None = None
    # HOTP: the counter of the next code, where the store knows it (the vault; a YubiKey keeps
    # its own and does not report it). Copies count separately.
    counter: int | None = None

    def _compared(self) -> tuple[object, ...]:
        return self[:8]  # the handle and the counter say how to reach it, not what it is

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self._compared() == other._compared()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self._compared())

    @property
    def name(self) -> str:
        return display_name(self.issuer, self.account)

    @property
    def hidden(self) -> bool:
        return is_hidden(self.name)

    @property
    def handle_text(self) -> str | None:
        """The handle as a person can type it (a key's raw id: `60/Site:x`), or None."""
        if self.handle is None:
            return None
        return printable(self.handle.decode("utf-8", errors="backslashreplace"))

    @property
    def steam(self) -> bool:
        return is_steam(self.kind, self.issuer)

    def is_copy_of(self, other: Entry) -> bool:
        """Names identify credentials in every store: the same name elsewhere is a copy (two
        of one name in one store are twins another tool made, not copies)."""
        return self.name == other.name and self.location != other.location

    def matches(self, query: str) -> bool:
        """Case-insensitive substring match on `issuer:account`, in any Unicode spelling."""
        return fold(query) in fold(self.name)


class Code(NamedTuple):
    """A computed one-time code. `valid_until` is None for HOTP (valid until used)."""

    value: str
    valid_from: int | None = None
    valid_until: int | None = None

    def seconds_left(self, now: float) -> int | None:
        if self.valid_until is None:
            return None
        return max(0, int(self.valid_until - now))


def is_steam(kind: Kind, issuer: str) -> bool:
    """Steam Guard: TOTP under the issuer "Steam", the mark Yubico's tools use on a YubiKey."""
    return kind is Kind.TOTP and issuer == STEAM_ISSUER


def clean_name(issuer: str, account: str) -> tuple[str, str]:
    """A new name checked and normalised by the same rules as a credential's (CredentialError)."""
    issuer, account = _clean_text("issuer", issuer), _clean_text("account name", account)
    if not account:
        raise CredentialError("the account name is empty")
    return issuer, account


def clean_text(field_name: str, text: str) -> str:
    """`text` by the rules of a name part (NFC, trimmed, nothing unsafe, bounded); a
    CredentialError names `field_name`, never the text."""
    return _clean_text(field_name, text)


def _clean_text(field_name: str, text: str) -> str:
    """`text` in NFC without surrounding blanks. Names reach terminals and files: no control
    or invisible reordering characters (a label could fake a line of output or pass for
    another name), nothing that is not encodable text, and a bounded length."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CredentialError(f"the {field_name} is not valid text (UTF-8)") from None
    text = unicodedata.normalize("NFC", text).strip()
    categories = {unicodedata.category(char) for char in text if _unsafe(char)}
    if categories & {"Cc", "Zl", "Zp"}:
        raise CredentialError(f"the {field_name} contains a control character")
    if "Cf" in categories:
        raise CredentialError(f"the {field_name} contains an invisible or reordering character")
    if len(text) > MAX_NAME_CHARS:
        raise CredentialError(f"the {field_name} is longer than {MAX_NAME_CHARS} characters")
    return text


def printable(text: str) -> str:
    """`text` with every character a name may not hold (control, invisible or reordering)
    escaped as `\\uXXXX`, and nothing else changed: a name hwotp stored prints as it is, and
    a name another tool wrote on a key cannot fake a line of output."""
    return "".join(f"\\u{ord(char):04x}" if _unsafe(char) else char for char in text)


def _unsafe(char: str) -> bool:
    return char not in _VISIBLE_FORMAT and unicodedata.category(char) in _UNSAFE_CATEGORIES


def fold(text: str) -> str:
    """What two spellings of a name share: NFC, then case-folded."""
    return unicodedata.normalize("NFC", text).casefold()


def display_name(issuer: str, account: str) -> str:
    return f"{issuer}:{account}" if issuer else account


def split_name(name: str) -> tuple[str | None, str]:
    """`issuer:account` split at the first colon, as labels and YubiKey ids are written; the
    issuer is None when there is no colon."""
    issuer, colon, account = name.partition(":")
    return (issuer, account) if colon else (None, name)


def is_hidden(name: str) -> bool:
    """ykman's convention: credentials under the issuer `_hidden` stay out of listings."""
    return split_name(name)[0] == HIDDEN_ISSUER
