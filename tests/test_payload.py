"""What a QR code holds, sorted: authenticator secrets in, everything else refused in words."""

from __future__ import annotations

import base64

import pytest

from helpers.migration import PUBLISHED
from helpers.samples import WIKI_LONG_SECRET
from hwotp.credential import Credential
from hwotp.errors import ExitCode, InputError
from hwotp.formats.payload import URI as FROM_A_URI
from hwotp.formats.payload import Decoded, read_payload

URI = f"otpauth://totp/ACME%20Co:john@example.com?secret={WIKI_LONG_SECRET}&issuer=ACME%20Co"


def refusal(text: str) -> str:
    with pytest.raises(InputError) as caught:
        read_payload(text)
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    message = str(caught.value)
    assert message.startswith("found a QR code, but it ")
    return message


def test_otpauth_uri() -> None:
    decoded = read_payload(URI)
    assert decoded == Decoded(
        (Credential(base64.b32decode(WIKI_LONG_SECRET), "ACME Co", "john@example.com"),), (), None
    )


@pytest.mark.parametrize(
    "text", [f"\ufeff{URI}", f"  {URI}\r\n", URI.replace("otpauth", "OTPAUTH")]
)
def test_otpauth_uri_with_noise(text: str) -> None:
    assert read_payload(text).credentials[0].account == "john@example.com"


def test_otpauth_warnings_pass_through() -> None:
    decoded = read_payload("otpauth://totp/Contoso:a?secret=JBSWY3DPEHPK3PXP&issuer=Microsoft")
    assert len(decoded.warnings) == 2  # issuer mismatch and 80-bit secret
    assert decoded.credentials[0].issuer == "Microsoft"


def test_otpauth_errors_pass_through_unchanged() -> None:
    with pytest.raises(InputError, match="digits"):
        read_payload(URI + "&digits=12")


def test_migration() -> None:
    decoded = read_payload(PUBLISHED)
    assert decoded.credentials == (
        Credential(b"Hello!\xde\xad\xbe\xef", "Example", "alice@google.com"),
    )
    assert decoded.batch is None
    assert len(decoded.warnings) == 1


def test_migration_errors_pass_through() -> None:
    with pytest.raises(InputError, match="Google Authenticator export is damaged"):
        read_payload("otpauth-migration://offline?data=!!!!")


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("https://example.com/2fa/setup", "a web address"),
        (f"HTTP://example.com/?secret={WIKI_LONG_SECRET}", "a web address"),
        (f"https://evil.example/otpauth://totp/x?secret={WIKI_LONG_SECRET}", "a web address"),
        (f"WIFI:T:WPA;S:home;P:{WIKI_LONG_SECRET};;", "Wi-Fi settings"),
        (f"wifi:S:home;P:{WIKI_LONG_SECRET};;", "Wi-Fi settings"),
        ("mailto:alice@example.com", "an e-mail address"),
        ("MATMSG:TO:alice@example.com;SUB:hi;;", "an e-mail message"),
        ("tel:+15555550100", "a phone number"),
        ("SMSTO:+15555550100:hello", "a text message"),
        ("sms:+15555550100", "a text message"),
        ("geo:48.85,2.35", "a map location"),
        ("BEGIN:VCARD\nVERSION:3.0\nN:Doe;John\nEND:VCARD", "a contact card"),
        ("MECARD:N:Doe,John;TEL:5555550100;;", "a contact card"),
        ("BEGIN:VEVENT\nSUMMARY:Meeting\nEND:VEVENT", "a calendar event"),
        ("bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "a payment request"),
        ("steam://open/games", "a Steam link"),
        ("market://details?id=com.google.android.apps.authenticator2", "an app store link"),
        ("foo://details", "a link of a kind hwotp does not know"),
        (f"{WIKI_LONG_SECRET[:16]}://x", "a link of a kind hwotp does not know"),
        (WIKI_LONG_SECRET, "plain text"),
        (f"Secret: {WIKI_LONG_SECRET}", "plain text"),
        (f"{WIKI_LONG_SECRET}:{WIKI_LONG_SECRET}", "plain text"),
        ("Hello, world", "plain text"),
        ("4006381333931", "plain text"),
    ],
)
def test_other_payloads_are_named_not_echoed(text: str, what: str) -> None:
    message = refusal(text)
    assert message == f"found a QR code, but it holds {what}, not an authenticator secret"
    assert WIKI_LONG_SECRET not in message and WIKI_LONG_SECRET.lower() not in message.lower()


@pytest.mark.parametrize("text", ["", "   ", "\ufeff", "\n\t"])
def test_empty(text: str) -> None:
    assert refusal(text) == "found a QR code, but it is empty"


def test_long_scheme_is_not_echoed() -> None:
    # A "scheme" longer than any real one is treated as text, so a secret cannot ride along.
    assert "plain text" in refusal(f"{WIKI_LONG_SECRET * 2}://x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the URI is empty"),
        ("https://example.com", "the URI holds a web address, not an authenticator secret"),
        (
            "motp://x?secret=" + WIKI_LONG_SECRET,
            "the URI holds a link of a kind hwotp does not know, not an authenticator secret",
        ),
    ],
)
def test_a_uri_is_refused_as_a_uri_not_as_a_qr_code(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_payload(text, FROM_A_URI)
    assert str(caught.value) == message
