"""What every importer shares: the result type, the file as read, entry conversion and refusal,
and thin wrappers over the ciphers and KDFs the apps use.

Ciphers and KDFs are imported inside the functions that use them, so reading a plain export (or
just importing this package) never loads cryptography, argon2 or libsodium. Messages name the
app, the entry and the field, never a value: any field of an export may be a secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from hwotp.credential import (
    STEAM_ISSUER,
    Algorithm,
    Credential,
    CredentialError,
    Kind,
    display_name,
)
from hwotp.errors import InputError, WrongPassphraseError
from hwotp.formats.otpauth import secret_warnings
from hwotp.secret import decode_secret

PasswordSource = Callable[[], str]

MAX_EXPORT_BYTES = 64 * 1024 * 1024  # a thousand entries with icons are a few MiB
YANDEX = "Yandex OTP entries are not supported"
MOTP = "mOTP entries are not supported"
_NAME_CHARS = 80
_WORD = re.compile(r"[A-Za-z0-9_+-]{1,16}")


@dataclass(frozen=True)
class Refusal:
    """An entry that was not imported: its name (never its secret) and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Imported:
    """What an export holds that hwotp can keep, and every entry it cannot, with the reason."""

    format: str  # the app, as people call it: "Aegis", "2FAS", ...
    credentials: tuple[Credential, ...]
    refusals: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()
    encrypted: bool = False


class EntryRefused(Exception):
    """One entry cannot be kept; the importer goes on with the next. The text is the reason."""


class Source:
    """The bytes of an export, with its text and JSON worked out once, on demand."""

    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_EXPORT_BYTES:
            raise InputError(
                f"the file is larger than {MAX_EXPORT_BYTES // 2**20} MiB, too large for an export"
            )
        self.data = data
        self._text: str | None = None
        self._json: Any = _UNSET

    @property
    def text(self) -> str | None:
        """The file as UTF-8 text without a byte order mark, or None for binary data."""
        if self._text is None:
            try:
                text = self.data.decode("utf-8")
            except UnicodeDecodeError:
                return None
            if "\x00" in text:
                return None
            self._text = text.removeprefix("\ufeff")
        return self._text

    @property
    def mostly_text(self) -> bool:
        """Printable ASCII or line breaks in nine bytes of ten: a text export with a damaged
        byte, not ciphertext (random bytes are such text one time in three)."""
        sample = self.data[:4096]
        texty = sum(1 for byte in sample if 32 <= byte < 127 or byte in b"\t\r\n")
        return len(sample) > 0 and texty >= 0.9 * len(sample)

    @property
    def looks_like_json(self) -> bool:
        text = self.text
        return text is not None and text.lstrip()[:1] in ("{", "[")

    @property
    def json(self) -> Any:
        """The parsed JSON document, or None when the file is not valid JSON."""
        if self._json is _UNSET:
            self._json = None
            if self.looks_like_json:
                with contextlib.suppress(ValueError):
                    self._json = _load_json(self.text or "")
        return self._json

    def json_problem(self) -> str:
        """What is wrong with the JSON, in words (empty when it parses)."""
        try:
            _load_json(self.text or "")
        except ValueError as error:
            return str(error)
        return ""

    def json_object(self, label: str) -> dict[str, Any]:
        """The top-level JSON object, or an InputError saying why the file is not one."""
        document = self.json_document(label)
        if not isinstance(document, dict):
            raise InputError(f"this is not a {label} export: it is not a JSON object")
        return document

    def json_document(self, label: str) -> Any:
        if not self.looks_like_json:
            raise InputError(f"this is not a {label} export: it is not JSON")
        try:
            return _load_json(self.text or "")
        except ValueError as error:
            raise InputError(f"this {label} export is damaged: {error}") from None


_UNSET = object()


def _load_json(text: str) -> Any:
    """JSON as the apps write it; a ValueError names where it breaks, never what it holds."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            raise ValueError("its JSON ends early (the file may be truncated)") from None
        raise ValueError(f"its JSON is invalid at line {error.lineno}") from None
    except RecursionError:
        raise ValueError("its JSON is nested too deeply") from None


def load_inner_json(text: str, label: str) -> Any:
    """JSON found inside an export after decryption; damage is the file's fault."""
    try:
        return _load_json(text)
    except ValueError as error:
        raise InputError(
            f"this {label} export is damaged: its decrypted contents: {error}"
        ) from None


class Collector:
    """Gathers an export's credentials and refusals in order.

    An entry exported twice (same name, same secret and parameters) is kept once, with a warning.
    Two different entries with one name are both kept and named in a warning: which one is right
    is the user's choice (enrolment refuses the pair until one is picked).
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.credentials: list[Credential] = []
        self.refusals: list[Refusal] = []
        self.warnings: list[str] = []
        self._by_name: dict[str, Credential] = {}

    def add(self, credential: Credential, warnings: tuple[str, ...] = ()) -> None:
        earlier = self._by_name.get(credential.name)
        if earlier == credential:
            self.warnings.append(f"{printable(credential.name)} appears twice; imported once")
            return
        if earlier is not None:
            self.warnings.append(
                f"{printable(credential.name)} appears twice with different secrets or settings"
            )
        self._by_name.setdefault(credential.name, credential)
        self.credentials.append(credential)
        for warning in (*warnings, *secret_warnings(credential)):
            if warning not in self.warnings:  # parsers of URIs already add the secret's
                self.warnings.append(warning)

    def refuse(self, name: str, reason: str) -> None:
        self.refusals.append(Refusal(printable(name), reason))

    def entry(self, name: str, convert: Callable[[], Credential | None]) -> None:
        """Add what `convert` returns (None: nothing to import), or refuse the entry."""
        try:
            credential = convert()
        except EntryRefused as refusal:
            self.refuse(name, str(refusal))
            return
        if credential is not None:
            self.add(credential)

    def result(self, *, encrypted: bool) -> Imported:
        if not self.credentials and not self.refusals:
            raise InputError(f"this {self.label} export holds no accounts")
        return Imported(
            format=self.label,
            credentials=tuple(self.credentials),
            refusals=tuple(self.refusals),
            warnings=tuple(self.warnings),
            encrypted=encrypted,
        )


def printable(name: str, limit: int = _NAME_CHARS) -> str:
    """A name safe to print: control and invisible characters shown as '?', length bounded."""
    shown = "".join(
        "?" if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in name
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def entry_name(issuer: object, account: object, number: int) -> str:
    """How a refusal names entry `number` (1-based): `issuer:account`, else its number."""
    issuer_text = issuer.strip() if isinstance(issuer, str) else ""
    account_text = account.strip() if isinstance(account, str) else ""
    name = display_name(issuer_text, account_text)
    return name if name else f"entry {number}"


def describe(value: object) -> str:
    """A type or algorithm name from a file, quoted only when it is a short plain word."""
    if isinstance(value, str) and _WORD.fullmatch(value):
        return f'"{value}"'
    return "an unreadable value"


def credential(
    secret: bytes,
    issuer: str,
    account: str,
    kind: Kind,
    algorithm: Algorithm = Algorithm.SHA1,
    digits: int = 6,
    period: int = 30,
    counter: int = 0,
) -> Credential:
    """A Credential by the model's rules; a field out of range refuses the entry."""
    try:
        return Credential(
            secret=secret,
            issuer=issuer,
            account=account,
            kind=kind,
            algorithm=algorithm,
            digits=digits,
            period=period if kind is Kind.TOTP else 30,
            counter=counter if kind is Kind.HOTP else 0,
        )
    except CredentialError as error:
        raise EntryRefused(str(error)) from None


def steam_credential(secret: bytes, account: str) -> Credential:
    """A Steam Guard entry as the model keeps it: TOTP (SHA-1, 30 s) under the issuer "Steam",
    whose code is Steam's five characters; whatever digits the app wrote (5) is not a TOTP
    length, so the stored one is the default."""
    return credential(secret=secret, issuer=STEAM_ISSUER, account=account, kind=Kind.TOTP)


def base32_secret(value: object) -> bytes:
    if not isinstance(value, str):
        raise EntryRefused("the secret is missing")
    try:
        return decode_secret(value)
    except InputError as error:
        raise EntryRefused(str(error)) from None


def algorithm(value: object, default: Algorithm = Algorithm.SHA1) -> Algorithm:
    if value is None or value == "":
        return default
    name = value.strip().upper().replace("-", "") if isinstance(value, str) else ""
    if name == "MD5":
        raise EntryRefused("algorithm MD5 is not supported (only SHA1, SHA256 and SHA512 are)")
    try:
        return Algorithm(name)
    except ValueError:
        raise EntryRefused(f"the algorithm {describe(value)} is not supported") from None


def number(value: object, field_name: str, default: int) -> int:
    """A whole number as JSON (or a string of digits); absent or null gives `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise EntryRefused(f"{field_name} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 20:
        return int(value.strip())
    raise EntryRefused(f"{field_name} is not a whole number")


def text_field(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def objects(value: object, what: str, label: str) -> Iterator[tuple[int, Any]]:
    """(1-based number, item) of a JSON list that must be there."""
    if not isinstance(value, list):
        raise InputError(f"this {label} export is damaged: it has no list of {what}")
    yield from enumerate(value, start=1)


# --- passwords and damage ---------------------------------------------------------------------


def ask_password(password: PasswordSource | None, label: str) -> str:
    if password is None:
        raise InputError(f"this {label} export is encrypted; its password is needed")
    return password()


def wrong_password(label: str, *, or_damaged: bool = False) -> NoReturn:
    """Some formats cannot tell a wrong password from a modified file: then say both."""
    if or_damaged:
        raise WrongPassphraseError(
            f"wrong password for this {label} export, or the file is damaged"
        )
    raise WrongPassphraseError(f"wrong password for this {label} export")


def damaged(label: str, what: str) -> NoReturn:
    raise InputError(f"this {label} export is damaged: {what}")


def unbase64(value: object, what: str, label: str, length: int | None = None) -> bytes:
    """Standard base64 (URL-safe and unpadded accepted) of a field that must be there."""
    if not isinstance(value, str) or not value.strip():
        damaged(label, f"its {what} is missing")
    compact = re.sub(r"\s+", "", value).translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        damaged(label, f"its {what} is not valid base64")
    if length is not None and len(raw) != length:
        damaged(label, f"its {what} is {len(raw)} bytes long, not {length}")
    return raw


def unhex(value: object, what: str, label: str, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        damaged(label, f"its {what} is missing")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        damaged(label, f"its {what} is not valid hexadecimal")
    if length is not None and len(raw) != length:
        damaged(label, f"its {what} is {len(raw)} bytes long, not {length}")
    return raw


def bounded(value: object, what: str, label: str, lowest: int, highest: int) -> int:
    """A KDF parameter from the file, refused outside what the app writes (a modified file
    could otherwise ask for gigabytes of memory or hours of work)."""
    if isinstance(value, bool) or not isinstance(value, int):
        damaged(label, f"its {what} is not a whole number")
    if not lowest <= value <= highest:
        raise InputError(
            f"this {label} export asks for {what} {value}, outside {lowest}..{highest};"
            " hwotp refuses it rather than spend that much memory or time"
        )
    return value


# --- ciphers and KDFs (imported on use) -------------------------------------------------------


def aes_gcm_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes | None = None) -> bytes | None:
    """The plaintext of AES-GCM `sealed` (ciphertext + 16-byte tag), or None if it fails."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(sealed) < 16 or not 8 <= len(nonce) <= 128:
        return None
    try:
        return AESGCM(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        return None


def pbkdf2(digest: str, password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    algorithm_class = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}[digest]
    kdf = PBKDF2HMAC(algorithm=algorithm_class(), length=length, salt=salt, iterations=iterations)
    return kdf.derive(password)


def scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(password)


def argon2id(
    password: bytes, salt: bytes, iterations: int, memory_kib: int, lanes: int, length: int = 32
) -> bytes:
    """Argon2id (version 0x13) through cryptography, which has it from version 44 on."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf = Argon2id(
        salt=salt, length=length, iterations=iterations, lanes=lanes, memory_cost=memory_kib
    )
    return kdf.derive(password)


def utf8(plaintext: bytes, label: str) -> str:
    try:
        return plaintext.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        damaged(label, "its decrypted contents are not UTF-8 text")
