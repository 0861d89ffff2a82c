"""A text file of `otpauth://` URIs, one a line: Ente Auth's plain export, WinAuth's, `pass otp`
URIs, or any list; `otpauth-migration://` lines (Google Authenticator) are read too.

Also the URI reader the JSON importers share (Bitwarden, Proton and Ente hold URIs), so every
app's URI gets the same rules: Steam Guard entries are kept, Yandex and mOTP entries are
refused by name with the reason, Ente's `codeDisplay` trash flag is honoured, and its literal
`null` parameters mean "the default".
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote

from hwotp.credential import display_name
from hwotp.errors import InputError
from hwotp.formats.imports.common import (
    MOTP,
    YANDEX,
    Collector,
    EntryRefused,
    Imported,
    PasswordSource,
    Source,
    describe,
)
from hwotp.formats.migration import parse_migration
from hwotp.formats.otpauth import ParsedUri, parse_uri, secret_warnings, split_label

LABEL = "otpauth list"
_SCHEME = "otpauth://"
_MIGRATION = "otpauth-migration://"


def matches(source: Source) -> bool:
    text = source.text
    if text is None or source.looks_like_json:
        return False
    return any(_is_uri(line.strip()) for line in text.splitlines())


def read(source: Source, password: PasswordSource | None = None) -> Imported:
    text = source.text
    if text is None:
        raise InputError("this is not a text file of otpauth:// URIs")
    return read_lines(text, LABEL, encrypted=False)


def read_lines(text: str, label: str, *, encrypted: bool) -> Imported:
    """Every URI line of `text`; blank lines and `#` comments are skipped, other lines refused
    by number (never quoted: a stray line may be a password)."""
    collector = Collector(label)
    uris = 0
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry[: len(_MIGRATION)].lower() == _MIGRATION:
            uris += 1
            _add_migration(collector, entry, number)
        elif entry[: len(_SCHEME)].lower() == _SCHEME:
            uris += 1
            add_uri(collector, entry, uri_name(entry) or f"line {number}")
        else:
            collector.refuse(f"line {number}", "is not an otpauth:// URI")
    if not uris:
        raise InputError(f"this {label} holds no otpauth:// URIs")
    return collector.result(encrypted=encrypted)


def add_uri(collector: Collector, uri: str, name: str) -> None:
    """Add the credential of `uri` to `collector`, or refuse it under `name`."""
    try:
        parsed = uri_credential(uri)
    except EntryRefused as refusal:
        collector.refuse(name, str(refusal))
        return
    about_secret = secret_warnings(parsed.credential)  # these name the credential already
    named = tuple(w if w in about_secret else f"{name}: {w}" for w in parsed.warnings)
    collector.add(parsed.credential, named)


def uri_credential(uri: str) -> ParsedUri:
    """The credential of one URI by hwotp's URI rules; EntryRefused says why not."""
    kind, params = _peek(uri)
    if kind == "yandex":
        raise EntryRefused(YANDEX)
    if kind == "motp":
        raise EntryRefused(MOTP)
    if kind not in ("totp", "hotp", "steam"):
        raise EntryRefused(f"the OTP type {describe(kind)} is not supported")
    if _trashed(params.get("codedisplay", "")):
        raise EntryRefused("it is in Ente Auth's trash")
    try:
        return parse_uri(_without_nulls(uri))
    except InputError as error:
        raise EntryRefused(str(error)) from None


def uri_name(uri: str) -> str:
    """`issuer:account` of a URI, read leniently to name an entry that may be refused; "" for
    a URI without a query, whose "label" may be the query itself, secret included (a damaged
    file lost its "?"): the caller names such an entry another way."""
    _, params = _peek(uri)
    path, question_mark, _ = uri.strip().partition("?")
    if not question_mark:
        return ""
    label = unquote(path[len(_SCHEME) :].partition("/")[2], errors="replace")
    issuer, account, _ = split_label(label, params.get("issuer"))
    return display_name(issuer, account)


def _is_uri(line: str) -> bool:
    head = line[: len(_MIGRATION)].lower()
    return head.startswith(_SCHEME) or head == _MIGRATION


def _peek(uri: str) -> tuple[str, dict[str, str]]:
    """(type, parameters with lower-case names) without judging anything."""
    text = uri.strip()
    path, _, query = text[len(_SCHEME) :].partition("?")
    kind = path.partition("/")[0].lower()
    pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
    return kind, {name.lower(): value for name, value in pairs}


def _trashed(code_display: str) -> bool:
    try:
        shown = json.loads(code_display) if code_display else {}
    except (ValueError, RecursionError):
        return False
    return isinstance(shown, dict) and shown.get("trashed") is True


def _without_nulls(uri: str) -> str:
    """Ente writes `algorithm=null&digits=null` for defaults: drop those parameters."""
    base, question, query = uri.strip().partition("?")
    if not question:
        return base
    kept = [part for part in query.split("&") if part.partition("=")[2].lower() != "null"]
    return f"{base}?{'&'.join(kept)}"


def _add_migration(collector: Collector, uri: str, number: int) -> None:
    try:
        migration = parse_migration(uri)
    except InputError as error:
        collector.refuse(f"line {number}", str(error))
        return
    for credential in migration.credentials:
        collector.add(credential)
    collector.warnings.extend(w for w in migration.warnings if w not in collector.warnings)
