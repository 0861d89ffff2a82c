"""The model's own rules: what any store or parser can rely on."""

from __future__ import annotations

import copy
import operator
import pickle

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


def test_a_credential_is_a_value_that_cannot_change() -> None:
    """A plain class since the daily path loads no dataclasses: the same promises."""
    github = Credential(SECRET, "GitHub", "alice", "totp", "SHA256", 8, 60)
    assert (github.secret, github.kind, github.algorithm, github.digits, github.period) == (
        SECRET, Kind.TOTP, "SHA256", 8, 60)
    same = Credential(SECRET, "GitHub", "alice", Kind.TOTP, "SHA256", 8, 60)
    assert github == same and hash(github) == hash(same) and len({github, same}) == 1
    assert github != Credential(SECRET[::-1], "GitHub", "alice", Kind.TOTP, "SHA256", 8, 60)
    assert github != github.replace(counter=1) and github != "GitHub:alice"
    for change in (lambda: setattr(github, "secret", b"x"), lambda: delattr(github, "secret"),
                   lambda: setattr(github, "other", 1)):
        with pytest.raises(AttributeError):
            change()
    assert github.secret == SECRET
    assert not hasattr(github, "__dict__")  # nothing else can be hung on it


def test_replace_checks_the_copy_as_a_new_credential() -> None:
    github = Credential(SECRET, "GitHub", "alice")
    renamed = github.replace(account=" bob ")
    assert (renamed.name, renamed.secret, github.name) == ("GitHub:bob", SECRET, "GitHub:alice")
    with pytest.raises(CredentialError, match="digits"):
        github.replace(digits=9)
    assert "1234567890" not in repr(github.replace(issuer="Other"))


def test_entries_are_equal_whatever_their_handle_and_counter() -> None:
    """The handle says how a store reaches a credential and the counter where it stands: two
    entries telling of one credential are equal (as when they were dataclass fields left out
    of comparison)."""
    entry = Credential(SECRET, "GitHub", "alice").entry("vault")
    reached = Credential(SECRET, "GitHub", "alice").entry("vault", handle=b"x", counter=3)
    assert entry == reached and hash(entry) == hash(reached)
    assert operator.ne(entry, reached) is False  # a tuple would compare the handle here
    assert entry != Credential(SECRET, "GitHub", "alice").entry("vault", touch=True)
    assert entry != Credential(SECRET, "GitHub", "alice").entry("YubiKey 1")


def test_a_credential_copies_as_itself_and_is_never_pickled() -> None:
    github = Credential(SECRET, "GitHub", "alice")
    assert copy.copy(github) is github and copy.deepcopy([github])[0] is github
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(github)
