"""Google Authenticator exports, encoded by the real protobuf package and read by hwotp's reader.

The exports are built by helpers/migration.py: google.protobuf is the independent encoder (and,
for damaged data, the independent judge of what is well-formed).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
from google.protobuf.message import DecodeError

from helpers.migration import PUBLISHED, entry, message_classes, payload_bytes, uri
from helpers.samples import RAW_SECRET
from hwotp.credential import Algorithm, Credential, Kind
from hwotp.errors import ExitCode, InputError
from hwotp.formats.migration import Migration, parse_migration, read_migration_payload
from hwotp.formats.payload import read_payload
from hwotp.otp import compute


def refusal(text: str, *secrets: bytes) -> str:
    """The InputError message for `text`, checked to carry no secret in any common spelling."""
    with pytest.raises(InputError) as caught:
        parse_migration(text)
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    message = str(caught.value)
    for secret in secrets:
        for spelling in (
            secret.hex(),
            base64.b32encode(secret).decode().rstrip("="),
            base64.b64encode(secret).decode().rstrip("="),
            secret.decode("latin-1"),
        ):
            assert spelling.casefold() not in message.casefold()
    return message


# --- reading ---------------------------------------------------------------------------------


def test_published_vector() -> None:
    migration = parse_migration(PUBLISHED)
    assert migration.credentials == (
        Credential(b"Hello!\xde\xad\xbe\xef", "Example", "alice@google.com"),
    )
    assert (migration.batch_index, migration.batch_size, migration.version) == (0, 0, 0)
    assert len(migration.warnings) == 1 and "80 bits" in migration.warnings[0]


def test_single_totp_entry() -> None:
    data = payload_bytes(
        [entry(algorithm=1, digits=1, type=2)], version=1, batch_size=1, batch_id=-7
    )
    migration = parse_migration(uri(data))
    assert migration == Migration(
        credentials=(Credential(RAW_SECRET, "GitHub", "alice@example.com"),),
        batch_index=0,
        batch_size=1,
        batch_id=-7,  # int32: negative values arrive as ten-byte varints
        version=1,
    )
    assert migration.batch_label == "batch 1 of 1"
    assert migration.warnings == ()


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [(0, Algorithm.SHA1), (1, Algorithm.SHA1), (2, Algorithm.SHA256), (3, Algorithm.SHA512)],
)
def test_algorithms(algorithm: int, expected: Algorithm) -> None:
    migration = parse_migration(uri(payload_bytes([entry(algorithm=algorithm)])))
    assert migration.credentials[0].algorithm is expected


@pytest.mark.parametrize(("digits", "expected"), [(0, 6), (1, 6), (2, 8)])
def test_digits(digits: int, expected: int) -> None:
    migration = parse_migration(uri(payload_bytes([entry(digits=digits)])))
    assert migration.credentials[0].digits == expected


@pytest.mark.parametrize(("kind", "expected"), [(0, Kind.TOTP), (1, Kind.HOTP), (2, Kind.TOTP)])
def test_types(kind: int, expected: Kind) -> None:
    migration = parse_migration(uri(payload_bytes([entry(type=kind)])))
    assert migration.credentials[0].kind is expected
    assert migration.credentials[0].period == 30


def test_hotp_counter_and_codes() -> None:
    data = payload_bytes([entry(type=1, counter=2**40 + 5, digits=2, algorithm=3)])
    credential = parse_migration(uri(data)).credentials[0]
    assert (credential.kind, credential.counter) == (Kind.HOTP, 2**40 + 5)
    assert (credential.digits, credential.algorithm) == (8, Algorithm.SHA512)
    reference = pyotp.HOTP(base64.b32encode(RAW_SECRET).decode(), digits=8, digest="sha512")
    assert compute(credential, 0).value == reference.at(2**40 + 5)


def test_totp_ignores_counter() -> None:
    credential = parse_migration(uri(payload_bytes([entry(type=2, counter=9)]))).credentials[0]
    assert credential.counter == 0


def test_several_entries_in_order() -> None:
    names = [f"user{i}@example.com" for i in range(12)]
    data = payload_bytes([entry(name=name, secret=bytes([i]) * 20) for i, name in enumerate(names)])
    migration = parse_migration(uri(data))
    assert [c.account for c in migration.credentials] == names
    assert [c.secret[0] for c in migration.credentials] == list(range(12))


def test_unicode_names() -> None:
    data = payload_bytes([entry(name="jürgen 😀", issuer="Société")])
    credential = parse_migration(uri(data)).credentials[0]
    assert (credential.issuer, credential.account) == ("Société", "jürgen 😀")


@pytest.mark.parametrize(
    ("name", "issuer", "expected", "warned"),
    [
        ("GitHub:alice", "GitHub", ("GitHub", "alice"), False),
        ("GitHub: alice", "", ("GitHub", "alice"), False),
        ("alice", "GitHub", ("GitHub", "alice"), False),
        ("alice", "", ("", "alice"), False),
        ("Contoso:alice@contoso.com", "Microsoft", ("Microsoft", "alice@contoso.com"), True),
    ],
)
def test_name_split_like_a_label(
    name: str, issuer: str, expected: tuple[str, str], warned: bool
) -> None:
    migration = parse_migration(uri(payload_bytes([entry(name=name, issuer=issuer)])))
    credential = migration.credentials[0]
    assert (credential.issuer, credential.account) == expected
    assert bool(migration.warnings) is warned
    if warned:
        assert migration.warnings[0].startswith("entry 1 (Microsoft:alice@contoso.com)")


def test_short_secret_warning_names_the_entry() -> None:
    data = payload_bytes([entry(), entry(name="bob", secret=bytes(10))])
    warnings = parse_migration(uri(data)).warnings
    assert len(warnings) == 1
    assert "GitHub:bob" in warnings[0] and "80 bits" in warnings[0]


# --- batches and encodings -------------------------------------------------------------------


def test_batches() -> None:
    batches = [
        payload_bytes(
            [entry(name=f"user{index}")], version=1, batch_size=3, batch_index=index, batch_id=99
        )
        for index in range(3)
    ]
    migrations = [parse_migration(uri(data)) for data in batches]
    assert [m.batch_label for m in migrations] == ["batch 1 of 3", "batch 2 of 3", "batch 3 of 3"]
    assert {m.batch_id for m in migrations} == {99}
    assert [m.credentials[0].account for m in migrations] == ["user0", "user1", "user2"]
    decoded = read_payload(uri(batches[1]))
    assert decoded.batch == "batch 2 of 3"
    assert read_payload(uri(payload_bytes([entry()], batch_size=1))).batch is None


def test_batch_label_without_size() -> None:
    migration = Migration((), batch_index=4, batch_size=0, batch_id=0, version=0)
    assert migration.batch_label == "batch 5"


@cache
def awkward_payload() -> bytes:
    """A payload whose base64 has '+', '/' and padding, to exercise every encoding mishap."""
    rng = random.Random(1)
    while True:
        data = payload_bytes([entry(secret=rng.randbytes(20))], version=1, batch_size=1)
        text = base64.b64encode(data).decode()
        if "+" in text and "/" in text and text.endswith("="):
            return data


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: quote(text, safe=""),  # as Google Authenticator writes it
        lambda text: text,  # raw: the URL decoder turns '+' into a space
        lambda text: text.replace("+", " "),  # already URL-decoded once
        lambda text: text.replace("+", "%20"),
        lambda text: text.rstrip("="),  # unpadded
        lambda text: quote(text.rstrip("="), safe=""),
        lambda text: text.replace("+", "-").replace("/", "_"),  # urlsafe alphabet
        lambda text: text.replace("+", "-").replace("/", "_").rstrip("="),
        lambda text: f" {text}\n",
    ],
    ids=[
        "quoted",
        "raw",
        "spaces",
        "%20",
        "unpadded",
        "quoted-unpadded",
        "urlsafe",
        "urlsafe-np",
        "ws",
    ],
)
def test_base64_forms(encode: Callable[[str], str]) -> None:
    data = awkward_payload()
    migration = parse_migration(uri(data, encode))
    expected = message_classes()["MigrationPayload"].FromString(data).otp_parameters[0].secret
    assert migration.credentials[0].secret == expected


def test_scheme_in_any_case_and_extra_parameters() -> None:
    data = base64.b64encode(payload_bytes([entry()])).decode()
    migration = parse_migration(f"OTPAUTH-MIGRATION://offline?foo=1&DATA={quote(data)}&bar")
    assert migration.credentials[0].account == "alice@example.com"


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    extras = {
        "extra_fixed64": 2**64 - 1,
        "extra_fixed32": 2**32 - 1,
        "extra_text": "future",
        "extra_varint": 2**63,
        "extra_packed": [1, -1, 300],
        "extra_double": 1.5,
    }
    data = payload_bytes(
        [entry(**extras), entry(name="bob", **extras)],
        "MigrationPayloadPlus",
        version=1,
        batch_size=2,
        batch_index=1,
        **{k: v for k, v in extras.items() if k != "extra_packed"},
    )
    # Groups (wire types 3 and 4) are proto2-only; append one by hand, nested, with contents.
    group = bytes([0x7B, 0x0B, 0x08, 0x01, 0x0C, 0x15, 0, 0, 0, 0, 0x7C])
    data += group
    # protobuf agrees the bytes are well-formed
    message_classes()["MigrationPayload"].FromString(data)
    migration = parse_migration(uri(data))
    assert [c.account for c in migration.credentials] == ["alice@example.com", "bob"]
    assert (migration.batch_index, migration.batch_size, migration.version) == (1, 2, 1)


# --- refusals --------------------------------------------------------------------------------


def test_md5_refusal_names_the_entry() -> None:
    data = payload_bytes([entry(name="a"), entry(name="b"), entry(name="alice", algorithm=4)])
    message = refusal(uri(data), RAW_SECRET)
    assert message == "entry 3 (GitHub:alice) uses MD5, which hwotp does not support"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"algorithm": 5}, "algorithm"),
        ({"algorithm": -1}, "algorithm"),
        ({"digits": 3}, "digits"),
        ({"type": 7}, "type"),
        ({"secret": b""}, "secret"),
        ({"type": 1, "counter": -1}, "counter"),
        ({"name": "", "issuer": ""}, "issuer"),
    ],
)
def test_bad_entries_are_refused_by_number(fields: dict[str, Any], words: str) -> None:
    data = payload_bytes([entry(), entry(**fields)])
    message = refusal(uri(data), RAW_SECRET)
    assert message.startswith("entry 2")
    assert words in message


def test_entry_name_in_refusal() -> None:
    message = refusal(uri(payload_bytes([entry(digits=9)])), RAW_SECRET)
    assert message.startswith("entry 1 (GitHub:alice@example.com) ")


@pytest.mark.parametrize(
    "text",
    [
        "otpauth-migration://offline",
        "otpauth-migration://offline?data=",
        "otpauth-migration://offline?data=%20",
        "otpauth-migration://offline?data=!!!!",
        "otpauth-migration://offline?data=A",  # 1 character cannot be base64
        "otpauth-migration://offline?data=QUJD%3DRA",  # padding inside
        "otpauth-migration://offline?data=____",  # urlsafe for 0xFF 0xFF 0xFF: no such field
    ],
)
def test_damaged_data(text: str) -> None:
    message = refusal(text)
    # from a URI as from a QR code: the refusal names the export, not where it came from
    assert message.startswith("the Google Authenticator export is damaged")


def test_empty_entry() -> None:
    assert refusal("otpauth-migration://offline?data=CgA") == "entry 1: the secret is empty"


def test_no_accounts() -> None:
    message = refusal(uri(payload_bytes([], version=1, batch_size=1)))
    assert "no accounts" in message


def test_wrong_scheme() -> None:
    assert "otpauth-migration://" in refusal("otpauth://offline?data=CgA")


@pytest.mark.parametrize(
    "data",
    [
        b"\x0a\x80",  # length varint cut short
        b"\x0a\x05\x0a\x03ab",  # length beyond the end
        b"\x48" + b"\xff" * 10 + b"\x01",  # varint longer than ten bytes
        b"\x00\x01",  # field number 0
        b"\x0e\x00",  # wire type 6
        b"\x0f\x00",  # wire type 7
        b"\x0c",  # end of a group that never started
        b"\x7b\x08\x01",  # group that never ends
        b"\x7b\x84\x01",  # group closed by another field's end tag
        b"\x7b" * 5000,  # deeply nested groups
        b"\x09\x00\x00",  # fixed64 cut short
        b"\x0d\x00",  # fixed32 cut short
        b"\x08\x01",  # otp_parameters as a varint
        b"\x0a\x02\x08\x01\x10\x0a",  # version as length-delimited
        b"\x0a\x03\x12\x01\xff",  # name not UTF-8
    ],
)
def test_malformed_protobuf(data: bytes) -> None:
    # A well-formed entry follows, so only the malformed part can be the reason for refusing.
    for candidate in (data, data + payload_bytes([entry()])):
        with pytest.raises(InputError, match="damaged: its data cannot be read"):
            read_migration_payload(candidate)


def test_every_truncation_agrees_with_protobuf() -> None:
    """Cut a real payload at every byte: hwotp refuses exactly what protobuf cannot parse."""
    data = payload_bytes(
        [entry(), entry(name="bob", type=1, counter=2**35, issuer="Société")],
        version=1,
        batch_size=2,
        batch_id=-123456,
    )
    for end in range(len(data)):
        cut = data[:end]
        try:
            expected = message_classes()["MigrationPayload"].FromString(cut)
        except DecodeError:
            with pytest.raises(InputError, match="damaged"):
                read_migration_payload(cut)
            continue
        _assert_same(cut, expected)


def test_random_corruption_never_escapes_as_anything_but_input_error() -> None:
    rng = random.Random(5)
    data = bytearray(payload_bytes([entry(), entry(name="bob", type=1)], version=1, batch_size=1))
    for _ in range(3000):
        corrupt = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        try:
            expected = message_classes()["MigrationPayload"].FromString(bytes(corrupt))
        except DecodeError:
            with pytest.raises(InputError):
                read_migration_payload(bytes(corrupt))
            continue
        _assert_same(bytes(corrupt), expected)


def _assert_same(data: bytes, expected: Any) -> None:
    """hwotp reads what protobuf read, or refuses it with an InputError (never another error)."""
    try:
        migration = read_migration_payload(data)
    except InputError as error:
        for parameters in expected.otp_parameters:
            if parameters.secret:
                assert parameters.secret.hex() not in str(error)
        return
    assert len(migration.credentials) == len(expected.otp_parameters)
    assert (migration.version, migration.batch_size) == (expected.version, expected.batch_size)
    assert (migration.batch_index, migration.batch_id) == (expected.batch_index, expected.batch_id)
    for credential, parameters in zip(migration.credentials, expected.otp_parameters, strict=True):
        assert credential.secret == parameters.secret
        if credential.kind is Kind.HOTP:
            assert credential.counter == parameters.counter


def test_real_payload_through_read_payload() -> None:
    decoded = read_payload(uri(payload_bytes([entry(), entry(name="bob", secret=bytes(10))])))
    assert [c.account for c in decoded.credentials] == ["alice@example.com", "bob"]
    assert len(decoded.warnings) == 1
    assert decoded.batch is None
