"""The model's own rules: what any store or parser can rely on."""

from __future__ import annotations

import pytest

from helpers.samples import RFC4226_KEY as SECRET
from hwotp.credential import Credential, CredentialError, Entry, Kind
from hwotp.errors import InputError
from hwotp.formats.otpauth import parse_uri


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"account": "me\nhwotp: wrong passphrase"}, "account name contains a control character"),
        ({"issuer": "Bank\x1b[2J"}, "issuer contains a control character"),
        ({"account": "tab\there"}, "control character"),
        ({"account": "\udcff"}, "account name is not valid text"),
        ({"counter": 2**64}, "counter must be from 0 to 2^64 - 1"),
        ({"counter": -1}, "counter must be from 0 to 2^64 - 1"),
        ({"digits": 9}, "digits must be 6, 7 or 8"),
        ({"period": 301}, "period must be 1 to 300"),
        ({"secret": b""}, "the secret is empty"),
        ({"issuer": "", "account": ""}, "neither an issuer nor an account"),
        ({"account": "al\u200bice"}, "invisible or reordering character"),
        ({"issuer": "\u202eevil"}, "invisible or reordering character"),
        ({"issuer": "\u061cBank"}, "invisible or reordering character"),
        ({"account": "soft\u00adhyphen"}, "invisible or reordering character"),
        ({"account": "line\u2028break"}, "control character"),
        ({"account": "x" * 257}, "longer than 256 characters"),
        ({"secret": bytes(257)}, "longer than 256 bytes"),
        ({"issuer": "  ", "account": " "}, "neither an issuer nor an account"),
    ],
)
def test_refusals_name_the_field(fields: dict[str, object], words: str) -> None:
    arguments = {"secret": SECRET, "issuer": "Bank", "account": "me", **fields}
    with pytest.raises(CredentialError, match=words.replace("^", r"\^")):
        Credential(**arguments)


def test_joiners_in_emoji_and_scripts_are_fine() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert (
        Credential(SECRET, family, "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645").issuer
        == family
    )


def test_names_have_one_spelling() -> None:
    decomposed = Credential(SECRET, " Socie\u0301te\u0301 ", "me ")
    assert (decomposed.issuer, decomposed.account) == ("Soci\u00e9t\u00e9", "me")
    assert decomposed.entry("vault").matches("SOCIE\u0301TE\u0301:ME")


def test_percent_encoded_bytes_must_be_utf8() -> None:
    with pytest.raises(InputError, match="not valid UTF-8"):
        parse_uri("otpauth://totp/%FF%FE?secret=JBSWY3DPEHPK3PXP")


def test_the_largest_counter_is_accepted() -> None:
    assert Credential(SECRET, "Bank", "me", Kind.HOTP, counter=2**64 - 1).counter == 2**64 - 1


def test_a_label_cannot_inject_a_line_of_output() -> None:
    with pytest.raises(InputError, match="control character"):
        parse_uri("otpauth://totp/Bank:me%0Ahwotp:%20wrong?secret=JBSWY3DPEHPK3PXP")


def test_repr_never_shows_the_secret() -> None:
    assert "1234567890" not in repr(Credential(SECRET, "Bank", "me"))


def test_entry_matching_is_case_insensitive_substring() -> None:
    entry = Credential(SECRET, "GitHub", "alice").entry("vault")
    assert isinstance(entry, Entry)
    assert entry.matches("github:ALI") and not entry.matches("gitlab")
