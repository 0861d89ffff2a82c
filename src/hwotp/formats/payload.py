"""Whatever text a QR code (or a URI) holds, turned into credentials or one clear refusal.

QR decoders hand back web addresses, Wi-Fi settings and plain text unchanged, so the scheme is
checked here. Refusals never repeat the text: a wrong QR code may still hold a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hwotp.credential import Credential
from hwotp.errors import InputError
from hwotp.formats.migration import Migration, parse_migration
from hwotp.formats.otpauth import parse_uri

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}):(//)?")
# What a QR code that is not an authenticator secret most often holds, by scheme.
_KNOWN = {
    "http": "a web address",
    "https": "a web address",
    "wifi": "Wi-Fi settings",
    "mailto": "an e-mail address",
    "matmsg": "an e-mail message",
    "tel": "a phone number",
    "sms": "a text message",
    "smsto": "a text message",
    "mms": "a text message",
    "mmsto": "a text message",
    "geo": "a map location",
    "mecard": "a contact card",
    "bitcoin": "a payment request",
    "upi": "a payment request",
    "steam": "a Steam link",
    "market": "an app store link",
    "itms-apps": "an app store link",
}


@dataclass(frozen=True)
class Origin:
    """How a refusal names where the text came from: a URI typed or pasted is not a QR code."""

    empty: str
    holds: str  # with {what}


QR_CODE = Origin(
    "found a QR code, but it is empty",
    "found a QR code, but it holds {what}, not an authenticator secret",
)
URI = Origin("the URI is empty", "the URI holds {what}, not an authenticator secret")
CLIPBOARD = Origin(
    "the clipboard is empty",
    "the clipboard holds {what}, not an authenticator secret or a QR code's image",
)
CLIPBOARD_LINE = Origin(
    "the clipboard is empty", "a line of the clipboard holds {what}, not an authenticator secret"
)


@dataclass(frozen=True)
class Decoded:
    credentials: tuple[Credential, ...]
    warnings: tuple[str, ...] = ()
    part: Migration | None = None  # one QR code of a Google Authenticator export

    @property
    def batch(self) -> str | None:
        """"batch 2 of 3" for one QR code of a multi-code export."""
        if self.part is None or self.part.batch_size <= 1:
            return None
        return self.part.batch_label


def read_payload(text: str, origin: Origin = QR_CODE) -> Decoded:
    """The credentials in the decoded text of a QR code (or a URI), or an InputError saying
    what it holds."""
    payload = text.strip().lstrip("\ufeff").strip()
    if not payload:
        raise InputError(origin.empty)
    match = _SCHEME.match(payload)
    scheme = match.group(1).lower() if match else ""
    if scheme == "otpauth":
        parsed = parse_uri(payload)
        return Decoded((parsed.credential,), parsed.warnings)
    if scheme == "otpauth-migration":
        migration = parse_migration(payload)
        return Decoded(migration.credentials, migration.warnings, migration)
    raise InputError(origin.holds.format(what=_describe(payload, match)))


def _describe(payload: str, match: re.Match[str] | None) -> str:
    """What the payload is, in words; a scheme name at most, never the content."""
    head = payload[:16].upper()
    if head.startswith(("BEGIN:VCARD", "MECARD:")):
        return "a contact card"
    if head.startswith(("BEGIN:VCALENDAR", "BEGIN:VEVENT")):
        return "a calendar event"
    if match is None:
        return "plain text"
    scheme = match.group(1).lower()
    if scheme in _KNOWN:
        return _KNOWN[scheme]
    # Only known schemes are named: an unknown `word://` may begin with a secret.
    return "a link of a kind hwotp does not know" if match.group(2) else "plain text"
