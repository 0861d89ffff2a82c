"""otpauth:// URIs and base32 secrets: what services send, what hwotp refuses, and round trips.

Cases come from Google's Key Uri Format wiki, pyotp's own test suite and URIs seen in the wild
(Microsoft 365's issuer mismatch, grouped lowercase secrets).
"""

from __future__ import annotations

import base64
import hashlib
import random

import pyotp
import pytest

from helpers.samples import WIKI_LONG_SECRET, WIKI_SECRET, LenientHOTP, LenientTOTP
from hwotp.credential import Algorithm, Credential, Kind
from hwotp.errors import ExitCode, InputError
from hwotp.formats.otpauth import format_uri, parse_uri, split_label
from hwotp.otp import compute
from hwotp.secret import decode_secret, encode_secret


def refusal(uri: str, *secrets: str) -> str:
    """The InputError message for `uri`, checked to repeat none of `secrets` in any case."""
    with pytest.raises(InputError) as caught:
        parse_uri(uri)
    message = str(caught.value)
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    for secret in secrets:
        assert secret.casefold() not in message.casefold()
    return message


# --- base32 secrets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "JBSWY3DPEHPK3PXP",
        "jbswy3dpehpk3pxp",
        "JbSwY3dPeHpK3pXp",
        "jbsw y3dp ehpk 3pxp",
        "JBSW-Y3DP-EHPK-3PXP",
        " jbsw\ty3dp\u00a0ehpk 3pxp\n",
        "JBSWY3DPEHPK3PXP======",  # more padding than needed is harmless
    ],
)
def test_decode_secret_accepts_what_services_write(text: str) -> None:
    assert decode_secret(text) == b"Hello!\xde\xad\xbe\xef"


@pytest.mark.parametrize(("text", "expected"), [("GE", b"1"), ("ge======", b"1"), ("GEZA", b"12")])
def test_decode_secret_padded_or_not(text: str, expected: bytes) -> None:
    assert decode_secret(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "----", "======", " - = "])
def test_decode_secret_refuses_empty(text: str) -> None:
    with pytest.raises(InputError, match="the secret is empty"):
        decode_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "JBSWY3DPEHPK3PX1",  # 1 is not base32
        "JBSWY3DPEHPK3PX0",
        "JBSWY3DPEHPK3PX8",
        "JBSW=Y3DPEHPK3PXP",  # padding inside
        "JBSWY3DPEHPK3PX_",
        "JBSWY3DPEHPK3Pß",  # upper() would make this "SS": 16 valid characters
        "JBSWY3DPEHPK3PXÄ",
        "ABC",  # 3, 1 and 6 characters cannot hold whole bytes
        "AAAAAAAAA",
        "ABCDEF",
        "JBSWY3DPEHPK3PXPA",
    ],
)
def test_decode_secret_refuses_non_base32_without_echoing_it(text: str) -> None:
    with pytest.raises(InputError) as caught:
        decode_secret(text)
    message = str(caught.value)
    assert "secret" in message and "base32" in message
    assert text.casefold() not in message.casefold()
    assert "JBSW" not in message


def test_encode_secret_is_unpadded_uppercase_and_round_trips() -> None:
    assert encode_secret(b"Hello!\xde\xad\xbe\xef") == WIKI_SECRET
    assert encode_secret(b"1") == "GE"
    rng = random.Random(32)
    for length in range(1, 70):
        secret = rng.randbytes(length)
        text = encode_secret(secret)
        assert "=" not in text and text == text.upper()
        assert decode_secret(text) == secret
        assert decode_secret(text.lower()) == secret


# --- accepted URIs ---------------------------------------------------------------------------


def test_google_wiki_example() -> None:
    parsed = parse_uri(
        f"otpauth://totp/Example:alice@google.com?secret={WIKI_SECRET}&issuer=Example"
    )
    assert parsed.credential == Credential(
        b"Hello!\xde\xad\xbe\xef", "Example", "alice@google.com", Kind.TOTP, Algorithm.SHA1, 6, 30
    )
    # 80 bits: usable, but worth a word.
    assert len(parsed.warnings) == 1
    assert "80 bits" in parsed.warnings[0] and "112" in parsed.warnings[0]
    assert WIKI_SECRET not in parsed.warnings[0]


def test_google_wiki_full_example() -> None:
    parsed = parse_uri(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
    credential = parsed.credential
    assert (credential.issuer, credential.account) == ("ACME Co", "john.doe@email.com")
    assert credential.secret == base64.b32decode(WIKI_LONG_SECRET)
    assert (credential.algorithm, credential.digits, credential.period) == (Algorithm.SHA1, 6, 30)
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("label", "issuer", "account"),
    [
        ("Example:alice@google.com", "Example", "alice@google.com"),
        ("Provider1:Alice%20Smith", "Provider1", "Alice Smith"),
        ("Big%20Corporation%3A%20alice%40bigco.com", "Big Corporation", "alice@bigco.com"),
        ("Big Corporation:   alice@bigco.com", "Big Corporation", "alice@bigco.com"),
        ("Example%3aalice", "Example", "alice"),
        ("alice@google.com", "", "alice@google.com"),
        ("Secret", "", "Secret"),  # pyotp's default label
        (":alice", "", "alice"),
        ("GitHub:alice:work", "GitHub", "alice:work"),
        ("Example:alice+2fa@example.com", "Example", "alice+2fa@example.com"),  # '+' is literal
        ("Soci%C3%A9t%C3%A9:j%C3%BCrgen", "Société", "jürgen"),
        ("Société:jürgen", "Société", "jürgen"),
        ("Steam:", "Steam", ""),  # pyotp's Steam example: issuer only
    ],
)
def test_label_forms(label: str, issuer: str, account: str) -> None:
    credential = parse_uri(f"otpauth://totp/{label}?secret={WIKI_LONG_SECRET}").credential
    assert (credential.issuer, credential.account) == (issuer, account)


def test_issuer_parameter_alone() -> None:
    parsed = parse_uri(f"otpauth://totp/alice@google.com?secret={WIKI_LONG_SECRET}&issuer=Example")
    assert (parsed.credential.issuer, parsed.credential.account) == ("Example", "alice@google.com")
    assert parsed.warnings == ()


def test_issuer_parameter_with_plus_means_space() -> None:
    parsed = parse_uri(f"otpauth://totp/ACME Co:john?secret={WIKI_LONG_SECRET}&issuer=ACME+Co")
    assert parsed.credential.issuer == "ACME Co"
    assert parsed.warnings == ()


def test_issuer_parameter_wins_over_a_different_label_prefix_with_a_warning() -> None:
    # Microsoft 365 labels with the tenant and names itself in the issuer parameter.
    parsed = parse_uri(
        f"otpauth://totp/Contoso:alice%40contoso.com?secret={WIKI_LONG_SECRET}&issuer=Microsoft"
    )
    assert (parsed.credential.issuer, parsed.credential.account) == (
        "Microsoft",
        "alice@contoso.com",
    )
    assert len(parsed.warnings) == 1
    assert "Contoso" in parsed.warnings[0] and "Microsoft" in parsed.warnings[0]


def test_pyotp_issuer_mismatch_case_is_a_warning_here() -> None:
    # pyotp.parse_uri raises on this one; hwotp keeps going.
    with pytest.raises(ValueError):
        pyotp.parse_uri(f"otpauth://totp/SomeIssuer:?secret={WIKI_LONG_SECRET}&issuer=AnotherIssuer")
    parsed = parse_uri(f"otpauth://totp/SomeIssuer:?secret={WIKI_LONG_SECRET}&issuer=AnotherIssuer")
    assert (parsed.credential.issuer, parsed.credential.account) == ("AnotherIssuer", "")
    assert len(parsed.warnings) == 1


def test_split_label_same_issuer_twice_gives_no_warning() -> None:
    assert split_label("GitHub:alice", "GitHub") == ("GitHub", "alice", ())
    assert split_label("GitHub:alice", " ") == ("GitHub", "alice", ())
    assert split_label("alice", None) == ("", "alice", ())


@pytest.mark.parametrize(
    "uri",
    [
        f"OTPAUTH://TOTP/Example:alice?secret={WIKI_LONG_SECRET}",
        f"OtpAuth://Totp/Example:alice?secret={WIKI_LONG_SECRET}",
        f"  otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}\n",
    ],
)
def test_scheme_and_type_in_any_case_and_surrounding_space(uri: str) -> None:
    credential = parse_uri(uri).credential
    assert (credential.kind, credential.issuer, credential.account) == (
        Kind.TOTP,
        "Example",
        "alice",
    )


@pytest.mark.parametrize(
    "secret",
    [
        WIKI_LONG_SECRET.lower(),
        "hxdm vjec jjws rb3h wizr 4ifu gftm xboz",
        "hxdm%20vjec%20jjws%20rb3h%20wizr%204ifu%20gftm%20xboz",
        "HXDM+VJEC+JJWS+RB3H+WIZR+4IFU+GFTM+XBOZ",  # '+' is a space in a query
        "HXDM-VJEC-JJWS-RB3H-WIZR-4IFU-GFTM-XBOZ",
        WIKI_LONG_SECRET + "========",
        WIKI_LONG_SECRET + "%3D%3D",
    ],
)
def test_secret_forms(secret: str) -> None:
    credential = parse_uri(f"otpauth://totp/Example:alice?secret={secret}").credential
    assert credential.secret == base64.b32decode(WIKI_LONG_SECRET)


def test_padded_short_secret() -> None:
    credential = parse_uri("otpauth://totp/Example:alice?secret=GEZDGNBVGY======").credential
    assert credential.secret == b"123456"


def test_unknown_parameters_are_ignored() -> None:
    parsed = parse_uri(
        f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&issuer=Example"
        "&image=https%3A%2F%2Fexample.com%2Flogo.png&color=ff0000&foo&lock=true&encoder=base32"
    )
    assert parsed.credential == Credential(base64.b32decode(WIKI_LONG_SECRET), "Example", "alice")
    assert parsed.warnings == ()


def test_parameter_names_in_any_case() -> None:
    credential = parse_uri(f"otpauth://totp/Example:alice?Secret={WIKI_LONG_SECRET}&DIGITS=8").credential
    assert credential.digits == 8


def test_hotp_without_counter_starts_at_zero() -> None:
    credential = parse_uri(f"otpauth://hotp/Example:alice?secret={WIKI_LONG_SECRET}").credential
    assert (credential.kind, credential.counter) == (Kind.HOTP, 0)


def test_hotp_counter() -> None:
    credential = parse_uri(
        f"otpauth://hotp/Example:alice?secret={WIKI_LONG_SECRET}&counter=12"
    ).credential
    assert (credential.kind, credential.counter) == (Kind.HOTP, 12)


def test_totp_ignores_counter() -> None:
    credential = parse_uri(
        f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&counter=x"
    ).credential
    assert credential.counter == 0


@pytest.mark.parametrize(
    ("text", "algorithm"),
    [
        ("SHA1", Algorithm.SHA1),
        ("sha1", Algorithm.SHA1),
        ("SHA256", Algorithm.SHA256),
        ("sha256", Algorithm.SHA256),
        ("Sha512", Algorithm.SHA512),
        ("SHA-512", Algorithm.SHA512),
        ("", Algorithm.SHA1),
    ],
)
def test_algorithm_any_case(text: str, algorithm: Algorithm) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&algorithm={text}"
    assert parse_uri(uri).credential.algorithm is algorithm


@pytest.mark.parametrize(("digits", "period"), [(6, 30), (7, 1), (8, 60), (8, 300), (6, 15)])
def test_digits_and_period(digits: int, period: int) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&digits={digits}&period={period}"
    credential = parse_uri(uri).credential
    assert (credential.digits, credential.period) == (digits, period)


@pytest.mark.parametrize(
    ("query", "times", "codes"),
    [
        # pyotp's test_algorithms, with a label added (hwotp requires one) and the repeated
        # algorithm parameter of the original: the last one wins, as in pyotp.
        (
            "algorithm=SHA1&secret=GEZDGNBV&algorithm=SHA1",
            (0, 30, 60),
            ("734055", "662488", "289363"),
        ),
        ("algorithm=SHA1&secret=GEZDGNBV&algorithm=SHA1&period=60", (30, 60), ("734055", "662488")),
        ("algorithm=SHA1&secret=GEZDGNBV&algorithm=SHA256", (0, 9000), ("918961", "934470")),
        ("algorithm=SHA1&secret=GEZDGNBV&algorithm=SHA512", (0, 9000), ("816660", "524153")),
    ],
)
def test_pyotp_algorithm_cases(query: str, times: tuple[int, ...], codes: tuple[str, ...]) -> None:
    parsed = parse_uri(f"otpauth://totp/i:n?{query}")
    assert [compute(parsed.credential, now).value for now in times] == list(codes)
    assert parsed.warnings  # 40 bits


def test_pyotp_hotp_counter_case() -> None:
    parsed = parse_uri("otpauth://hotp/i:n?algorithm=SHA1&secret=GEZDGNBV&algorithm=SHA1&counter=1")
    assert compute(parsed.credential, 0).value == "662488"


@pytest.mark.parametrize(
    "otp",
    [
        LenientTOTP("wrn3pqx5uqxqvnqr", name="mark@percival"),
        LenientTOTP("wrn3pqx5uqxqvnqr", name="mark@percival", issuer="FooCorp!"),
        pyotp.TOTP(
            "c7uxuqhgflpw7oruedmglbrk7u6242vb",
            digits=8,
            interval=60,
            digest=hashlib.sha256,
            name="baco@peperina",
            issuer="FooCorp",
        ),
        pyotp.TOTP("c7uxuqhgflpw7oruedmglbrk7u6242vb", digits=8, name="b", issuer="Foo Corp"),
        LenientHOTP("wrn3pqx5uqxqvnqr", name="mark@percival", initial_count=12),
        pyotp.HOTP(
            "c7uxuqhgflpw7oruedmglbrk7u6242vb",
            digits=8,
            name="baco@peperina",
            issuer="Foo Corp",
            initial_count=10,
        ),
    ],
    ids=["plain", "issuer", "sha256-60s", "space-issuer", "hotp", "hotp-issuer"],
)
def test_pyotp_provisioning_uris(otp: pyotp.OTP) -> None:
    uri = otp.provisioning_uri()
    credential = parse_uri(uri).credential
    assert credential.account == otp.name
    assert credential.issuer == (otp.issuer or "")
    assert credential.digits == otp.digits
    assert credential.secret == otp.byte_secret()
    if isinstance(otp, pyotp.HOTP):
        assert credential.counter == otp.initial_count
        assert compute(credential, 0).value == otp.at(0)  # pyotp adds initial_count itself
    else:
        assert credential.period == otp.interval
        assert compute(credential, 1297553958).value == otp.at(1297553958)


def test_short_secret_warning_threshold() -> None:
    thirteen = encode_secret(bytes(range(13)))
    fourteen = encode_secret(bytes(range(14)))
    assert len(parse_uri(f"otpauth://totp/X:a?secret={thirteen}").warnings) == 1
    assert parse_uri(f"otpauth://totp/X:a?secret={fourteen}").warnings == ()


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/Example:alice",
        "otpauth://totp/Example:alice?issuer=Example",
        "otpauth://totp/Example:alice?SECRET",  # a bare name is an empty value
    ],
)
def test_refuses_missing_secret(uri: str) -> None:
    assert "secret" in refusal(uri)


@pytest.mark.parametrize(
    "secret",
    ["JBSWY3DPEHPK3PX1", "JBSWY3DPEHPK3PX%21", "not a secret!", WIKI_LONG_SECRET + "A"],
)
def test_refuses_non_base32_secret(secret: str) -> None:
    message = refusal(f"otpauth://totp/Example:alice?secret={secret}", secret, secret[:12])
    assert "secret" in message and "base32" in message


@pytest.mark.parametrize("digits", ["5", "9", "10", "0", "six", "-1", "6.0", "٦"])
def test_refuses_digits(digits: str) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&digits={digits}"
    assert "digits" in refusal(uri, WIKI_LONG_SECRET)


def test_empty_digits_means_the_default() -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&digits="
    assert parse_uri(uri).credential.digits == 6


@pytest.mark.parametrize("period", ["0", "301", "3600", "abc", "-30", "30s", "1e2"])
def test_refuses_period(period: str) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&period={period}"
    assert "period" in refusal(uri, WIKI_LONG_SECRET)


@pytest.mark.parametrize("counter", ["abc", "-1", "18446744073709551616", "1.5"])
def test_refuses_hotp_counter(counter: str) -> None:
    uri = f"otpauth://hotp/Example:alice?secret={WIKI_LONG_SECRET}&counter={counter}"
    assert "counter" in refusal(uri, WIKI_LONG_SECRET)


def test_largest_hotp_counter() -> None:
    uri = f"otpauth://hotp/Example:alice?secret={WIKI_LONG_SECRET}&counter=18446744073709551615"
    assert parse_uri(uri).credential.counter == 2**64 - 1


@pytest.mark.parametrize("algorithm", ["aes", "SHA3", "SHA384", "SHA224", "sha-1-but-not"])
def test_refuses_unknown_algorithm(algorithm: str) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&algorithm={algorithm}"
    message = refusal(uri, WIKI_LONG_SECRET)
    assert "algorithm" in message and "SHA1" in message


@pytest.mark.parametrize("algorithm", ["MD5", "md5", "Md5"])
def test_refuses_md5_saying_so(algorithm: str) -> None:
    uri = f"otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}&algorithm={algorithm}"
    message = refusal(uri, WIKI_LONG_SECRET)
    assert "MD5" in message and "not supported" in message


@pytest.mark.parametrize(
    "uri",
    [
        f"otpauth://derp/Example:alice?secret={WIKI_LONG_SECRET}",
        f"otpauth:///Example:alice?secret={WIKI_LONG_SECRET}",
        f"otpauth://Example:alice?secret={WIKI_LONG_SECRET}",
    ],
)
def test_refuses_unknown_type(uri: str) -> None:
    message = refusal(uri, WIKI_LONG_SECRET)
    assert "type" in message and "totp" in message


@pytest.mark.parametrize(
    "uri",
    [
        "http://hello.com",
        f"https://example.com/otpauth://totp/Example:alice?secret={WIKI_LONG_SECRET}",
        f"otpauth:totp/Example:alice?secret={WIKI_LONG_SECRET}",
        f"otpauth-migration://offline?data={WIKI_LONG_SECRET}",
        f"{WIKI_LONG_SECRET}",
        "",
    ],
)
def test_refuses_wrong_scheme(uri: str) -> None:
    assert "otpauth://" in refusal(uri, WIKI_LONG_SECRET)


@pytest.mark.parametrize(
    "uri",
    [
        f"otpauth://totp?secret={WIKI_LONG_SECRET}&issuer=Example",
        f"otpauth://totp/?secret={WIKI_LONG_SECRET}&issuer=Example",
        f"otpauth://totp/%20%20?secret={WIKI_LONG_SECRET}",
    ],
)
def test_refuses_missing_label(uri: str) -> None:
    assert "label" in refusal(uri, WIKI_LONG_SECRET)


def test_refuses_label_without_issuer_or_account() -> None:
    # The model's CredentialError comes out as an InputError.
    message = refusal(f"otpauth://totp/:?secret={WIKI_LONG_SECRET}", WIKI_LONG_SECRET)
    assert "issuer" in message and "account" in message


@pytest.mark.parametrize(
    "uri",
    [
        f"otpauth://steam/Steam:gaben?secret={WIKI_LONG_SECRET}",  # Aegis, andOTP
        f"otpauth://totp/Steam:gaben?secret={WIKI_LONG_SECRET}&issuer=Steam&digits=5",  # WinAuth
        f"otpauth://totp/Valve:gaben?secret={WIKI_LONG_SECRET}&encoder=steam",  # pyotp, KeeWeb
        # ykman, Yubico Authenticator:
        f"otpauth://totp/gaben?secret={WIKI_LONG_SECRET}&issuer=Steam",
    ],
)
def test_steam_guard_uris_are_kept_with_steams_codes(uri: str) -> None:
    from pyotp.contrib import Steam

    parsed = parse_uri(uri)
    credential = parsed.credential
    assert credential.steam and credential.name == "Steam:gaben"
    assert (credential.kind, credential.algorithm, credential.period) == (Kind.TOTP, "SHA1", 30)
    for moment in (0, 59, 1_111_111_109, 2_000_000_000):
        assert compute(credential, moment).value == Steam(WIKI_LONG_SECRET).at(moment)
    # Written back as ykman and WinAuth read Steam Guard (issuer Steam, digits=5), and pyotp
    # (encoder=steam): every reader gives Steam's codes.
    written = format_uri(credential)
    assert "issuer=Steam" in written and "digits=5" in written and "encoder=steam" in written
    assert parse_uri(written).credential == credential
    assert pyotp.parse_uri(written).at(1_111_111_109) == Steam(WIKI_LONG_SECRET).at(1_111_111_109)


def test_hotp_under_the_issuer_steam_is_plain_hotp() -> None:
    uri = f"otpauth://hotp/Steam:gaben?secret={WIKI_LONG_SECRET}&counter=3"
    credential = parse_uri(uri).credential
    assert not credential.steam
    assert compute(credential, 0).value == pyotp.HOTP(WIKI_LONG_SECRET).at(3)


# --- writing URIs ----------------------------------------------------------------------------


def test_format_wiki_example() -> None:
    credential = Credential(b"Hello!\xde\xad\xbe\xef", "Example", "alice@google.com")
    assert format_uri(credential) == (
        "otpauth://totp/Example:alice%40google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    )


def test_format_spells_out_what_is_not_default() -> None:
    credential = Credential(bytes(20), "ACME Co", "john doe", Kind.TOTP, Algorithm.SHA512, 8, 60)
    assert format_uri(credential) == (
        "otpauth://totp/ACME%20Co:john%20doe?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "&issuer=ACME%20Co&algorithm=SHA512&digits=8&period=60"
    )


def test_format_hotp_has_a_counter_and_no_period() -> None:
    # pyotp.parse_uri fails with a TypeError on an HOTP URI that has a period.
    credential = Credential(bytes(20), "ACME", "john", Kind.HOTP, Algorithm.SHA256, 7, counter=9)
    assert format_uri(credential) == (
        "otpauth://hotp/ACME:john?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "&issuer=ACME&algorithm=SHA256&digits=7&counter=9"
    )


def test_hotp_ignores_period() -> None:
    credential = parse_uri(f"otpauth://hotp/Example:a?secret={WIKI_LONG_SECRET}&period=x").credential
    assert credential.period == 30


def test_format_hotp_always_has_a_counter() -> None:
    uri = format_uri(Credential(bytes(20), "X", "a", Kind.HOTP))
    assert uri.endswith("&counter=0")


NASTY = [
    "a",
    "Z",
    "0",
    " ",
    "@",
    ":",
    "&",
    "=",
    "?",
    "#",
    "/",
    "%",
    "%3A",
    "+",
    "é",
    "ü",
    "😀",
    "\\",
    ".",
    "'",
    '"',
]


def _name(rng: random.Random, allow_colon: bool) -> str:
    parts = [rng.choice(NASTY) for _ in range(rng.randint(0, 8))]
    text = "".join(parts)
    text = text if allow_colon else text.replace(":", "")
    return text.strip()  # surrounding spaces are not kept (see split_label)


def test_round_trip_random_credentials() -> None:
    rng = random.Random(6238)
    for _ in range(500):
        issuer = _name(rng, allow_colon=rng.random() < 0.2)
        account = _name(rng, allow_colon=True) or ("" if issuer else "x")
        credential = Credential(
            secret=rng.randbytes(rng.randint(1, 64)),
            issuer=issuer,
            account=account,
            kind=rng.choice(list(Kind)),
            algorithm=rng.choice(list(Algorithm)),
            digits=rng.choice([6, 7, 8]),
            period=rng.randint(1, 300),
            counter=rng.choice([0, 1, rng.randint(0, 2**64 - 1)]),
        )
        # Each kind keeps only its own field: a TOTP counter or HOTP period is not written.
        if credential.kind is Kind.TOTP:
            credential = credential.replace(counter=0)
        else:
            credential = credential.replace(period=30)
        uri = format_uri(credential)
        parsed = parse_uri(uri)
        assert parsed.credential == credential, uri
        # No issuer-mismatch warnings from our own output; only short-secret ones.
        assert all("bits long" in warning for warning in parsed.warnings)


@pytest.mark.parametrize(
    ("issuer", "account"),
    [
        ("Example", "alice@google.com"),
        ("", "alice"),
        ("Issuer:With:Colons", "alice"),
        ("Issuer:With:Colons", "a:b"),
        ("", "a:b"),
        ("Steam", ""),
        ("a:b", ""),
        ("100%", "50%3A"),
        ("Q&A", "x=y?z#w"),
    ],
)
def test_round_trip_awkward_names(issuer: str, account: str) -> None:
    credential = Credential(bytes(range(20)), issuer, account)
    parsed = parse_uri(format_uri(credential))
    assert parsed.credential == credential
    assert parsed.warnings == ()


def test_pyotp_reads_what_hwotp_writes() -> None:
    # An independent reader: same secret, parameters and codes.
    rng = random.Random(4226)
    for _ in range(100):
        credential = Credential(
            secret=rng.randbytes(rng.randint(14, 40)),
            issuer=rng.choice(["GitHub", "ACME Co", "Société", ""]),
            account=rng.choice(["alice@example.com", "bob smith", "a+b@c.d"]),
            kind=rng.choice(list(Kind)),
            algorithm=rng.choice(list(Algorithm)),
            digits=rng.choice([6, 7, 8]),
            period=rng.randint(1, 120),  # pyotp refuses longer periods
            counter=rng.randint(0, 1000),
        )
        otp = pyotp.parse_uri(format_uri(credential))
        assert otp.byte_secret() == credential.secret
        assert otp.name == credential.account
        assert (otp.issuer or "") == credential.issuer
        if credential.kind is Kind.HOTP:
            assert isinstance(otp, pyotp.HOTP)
            assert otp.initial_count == credential.counter
            assert otp.at(0) == compute(credential, 0).value
        else:
            assert isinstance(otp, pyotp.TOTP)
            assert otp.at(1700000000) == compute(credential, 1700000000).value


def test_label_is_percent_encoded() -> None:
    credential = Credential(bytes(20), "A/B", "c d?e")
    uri = format_uri(credential)
    label = uri[len("otpauth://totp/") : uri.index("?")]
    assert label == "A%2FB:c%20d%3Fe"
    assert " " not in uri
