"""`otpauth://` key URIs (Google Authenticator Key URI format), parsed leniently, written strictly.

Services deviate from the format in harmless ways (lowercase or grouped secrets, an issuer
parameter that differs from the label prefix, extra parameters), so parsing accepts those and
reports doubts as warnings. What would give wrong codes (an unknown algorithm, MD5, digits or
period out of range) is refused with an InputError that names the field and never the secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

from hwotp.credential import (
    STEAM_ISSUER,
    Algorithm,
    Credential,
    CredentialError,
    Kind,
    split_name,
)
from hwotp.errors import InputError
from hwotp.otp import is_short_secret
from hwotp.secret import decode_secret, encode_secret

SCHEME = "otpauth://"
_NUMBER = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class ParsedUri:
    credential: Credential
    warnings: tuple[str, ...] = ()


def parse_uri(uri: str) -> ParsedUri:
    """The credential in an `otpauth://` URI, with warnings about doubtful but usable input."""
    kind, label, params = _split_uri(uri)
    issuer, account, warnings = split_label(label, params.get("issuer"))
    if kind is Kind.TOTP and _is_steam(uri, params, issuer):
        return _steam(params, account, warnings)
    secret = _secret(params)
    algorithm = _algorithm(params.get("algorithm"))
    digits = _number(params, "digits", default=6)
    # Each kind reads only its own parameter: HOTP has no period, TOTP no counter.
    period = _number(params, "period", default=30) if kind is Kind.TOTP else 30
    counter = _number(params, "counter", default=0) if kind is Kind.HOTP else 0
    try:
        credential = Credential(
            secret=secret,
            issuer=issuer,
            account=account,
            kind=kind,
            algorithm=algorithm,
            digits=digits,
            period=period,
            counter=counter,
        )
    except CredentialError as error:  # digits, period: the model names the field
        raise InputError(str(error)) from None
    return ParsedUri(credential, (*warnings, *secret_warnings(credential)))


def format_uri(credential: Credential) -> str:
    """An `otpauth://` URI that `parse_uri` reads back as an equal credential.

    Defaults (SHA1, 6 digits, 30 s) are left out to keep QR codes small; HOTP always carries
    its counter because Google's format requires it, and never a period (pyotp.parse_uri fails
    on one), so an HOTP credential round-trips only with the model's default period.
    """
    params: dict[str, str] = {"secret": encode_secret(credential.secret)}
    if credential.issuer:
        params["issuer"] = credential.issuer
    if credential.algorithm is not Algorithm.SHA1:
        params["algorithm"] = credential.algorithm.value
    if credential.digits != 6:
        params["digits"] = str(credential.digits)
    if credential.kind is Kind.TOTP and credential.period != 30:
        params["period"] = str(credential.period)
    if credential.kind is Kind.HOTP:
        params["counter"] = str(credential.counter)
    if credential.steam:  # as ykman and WinAuth read Steam Guard, and pyotp (encoder)
        params |= {"digits": "5", "encoder": "steam"}
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())
    return f"{SCHEME}{credential.kind.value}/{_format_label(credential)}?{query}"


def split_label(label: str, issuer_param: str | None) -> tuple[str, str, tuple[str, ...]]:
    """(issuer, account, warnings) from a decoded label `[issuer:]account` and an issuer field.

    The issuer field wins over a differing label prefix (Microsoft 365 sends such URIs); that is
    worth a warning, not a refusal.
    """
    prefix, account = split_name(label)
    prefix, account = (prefix or "").strip(), account.strip()
    issuer = (issuer_param or "").strip()
    if issuer and prefix and prefix != issuer:
        warning = (
            f'the label names the issuer "{prefix}" but the issuer parameter says "{issuer}";'
            f' using "{issuer}"'
        )
        return issuer, account, (warning,)
    return issuer or prefix, account, ()


def secret_warnings(credential: Credential) -> tuple[str, ...]:
    """Short secrets work (services still issue 80-bit ones) but deserve a word."""
    if not is_short_secret(credential):
        return ()
    bits = len(credential.secret) * 8
    return (
        f"the secret of {credential.name} is only {bits} bits long, below the 112 bits NIST"
        " recommends; it works, but the service should issue a longer one",
    )


def _split_uri(uri: str) -> tuple[Kind, str, dict[str, str]]:
    """(type, decoded label, parameters) of the URI; parameter names lower-cased, last one wins."""
    text = uri.strip()
    if text[: len(SCHEME)].lower() != SCHEME:
        raise InputError("the URI scheme must be otpauth://")
    path, _, query = text[len(SCHEME) :].partition("?")
    type_text, _, raw_label = path.partition("/")
    try:  # Steam Guard's type is TOTP with its own codes (see _is_steam)
        kind = Kind.TOTP if type_text.lower() == "steam" else Kind(type_text.lower())
    except ValueError:
        raise InputError("the OTP type must be totp or hotp") from None
    try:
        # The label is a path: '+' is a literal plus there, unlike in the query.
        label = unquote(raw_label, errors="strict")
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InputError("the URI's percent-encoded text is not valid UTF-8") from None
    if not label.strip():
        raise InputError("the label (the account name after the OTP type) is missing")
    return kind, label, {name.lower(): value for name, value in pairs}


def _format_label(credential: Credential) -> str:
    # A colon in the issuer would split the label in the wrong place: then only the issuer
    # parameter carries it. An empty prefix keeps a colon in the account from being read as one.
    prefix = "" if ":" in credential.issuer else credential.issuer
    account = quote(credential.account, safe="")
    if prefix or ":" in credential.account or not credential.account:
        return f"{quote(prefix, safe='')}:{account}"
    return account


def _is_steam(uri: str, params: Mapping[str, str], issuer: str) -> bool:
    """Steam Guard, however an app writes it: the type `steam` (Aegis, andOTP), `encoder=steam`
    (pyotp, KeeWeb), or TOTP under the issuer Steam (WinAuth, ykman, Yubico Authenticator;
    with digits=5, which is no TOTP length)."""
    steam_type = uri.strip()[len(SCHEME) :].lower().startswith("steam/")
    encoder = params.get("encoder", "").strip().lower() == "steam"
    return steam_type or encoder or issuer == STEAM_ISSUER


def _steam(params: Mapping[str, str], account: str, warnings: tuple[str, ...]) -> ParsedUri:
    """Steam's codes are five characters from SHA-1 every 30 s, whatever the URI says of
    digits, algorithm or period."""
    try:
        credential = Credential(_secret(params), STEAM_ISSUER, account, Kind.TOTP)
    except CredentialError as error:
        raise InputError(str(error)) from None
    return ParsedUri(credential, (*warnings, *secret_warnings(credential)))


def _secret(params: Mapping[str, str]) -> bytes:
    if "secret" not in params:
        raise InputError("the secret parameter is missing")
    return decode_secret(params["secret"])


def _algorithm(text: str | None) -> Algorithm:
    name = (text or "").strip().upper().replace("-", "")
    if not name:
        return Algorithm.SHA1
    if name == "MD5":
        raise InputError("algorithm MD5 is not supported (only SHA1, SHA256 and SHA512 are)")
    try:
        return Algorithm(name)
    except ValueError:
        raise InputError("algorithm must be SHA1, SHA256 or SHA512") from None


def _number(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not _NUMBER.fullmatch(text):
        raise InputError(f"{name} must be a whole number")
    return int(text)
