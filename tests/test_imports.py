"""Authenticator exports read by `hwotp.formats.imports`, from files the test suite writes in
each app's documented layout (tests/exports.py), plain and encrypted.

Codes of the imported credentials are checked against pyotp for the same secrets; wrong
passwords, truncated and modified files, duplicates and refused entries are each checked for
the one sentence (and exit code) they must give.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exports as x
from hwotp.credential import Algorithm, Credential, Kind
from hwotp.errors import ExitCode, InputError, WrongPassphraseError
from hwotp.formats.imports import FORMATS, Imported, read_export
from hwotp.otp import compute

PASSWORD = "pässword with spaces"  # non-ASCII: every app encodes passwords as UTF-8
NOW = 1_234_567_890.0
ACCOUNTS = x.ACCOUNTS
NAMES = [f"{a.issuer}:{a.account}" for a in ACCOUNTS]


@dataclass(frozen=True)
class Case:
    name: str  # the `--from` name
    label: str
    build: Callable[[], bytes]
    encrypted: bool = False
    rows: bool = False  # one entry a line: a cut file is a shorter file, not a damaged one

    def __str__(self) -> str:
        return f"{self.name}{'-encrypted' if self.encrypted else ''}"


def _bitwarden_plain() -> bytes:
    return x.bitwarden([x.bitwarden_item(a.issuer, a.account, a.uri) for a in ACCOUNTS])


CASES = [
    Case("otpauth", "otpauth list", lambda: "\n".join(a.uri for a in ACCOUNTS).encode(), rows=True),
    Case("aegis", "Aegis", lambda: x.aegis([x.aegis_entry(a) for a in ACCOUNTS])),
    Case("aegis", "Aegis", lambda: x.aegis([x.aegis_entry(a) for a in ACCOUNTS], PASSWORD), True),
    Case("2fas", "2FAS", lambda: x.twofas([x.twofas_service(a, 3) for a in ACCOUNTS], schema=3)),
    Case("2fas", "2FAS", lambda: x.twofas([x.twofas_service(a) for a in ACCOUNTS])),
    Case("2fas", "2FAS", lambda: x.twofas([x.twofas_service(a) for a in ACCOUNTS], PASSWORD), True),
    Case("andotp", "andOTP", lambda: x.andotp([x.andotp_entry(a) for a in ACCOUNTS])),
    Case(
        "andotp", "andOTP", lambda: x.andotp([x.andotp_entry(a) for a in ACCOUNTS], PASSWORD), True
    ),
    Case(
        "andotp",
        "andOTP",
        lambda: x.andotp([x.andotp_entry(a) for a in ACCOUNTS], PASSWORD, old=True),
        True,
    ),
    Case("bitwarden", "Bitwarden", _bitwarden_plain),
    Case(
        "bitwarden",
        "Bitwarden",
        lambda: x.bitwarden_csv([(a.issuer, a.account, a.uri) for a in ACCOUNTS]),
        rows=True,
    ),
    Case(
        "bitwarden", "Bitwarden", lambda: x.bitwarden_protected(_bitwarden_plain(), PASSWORD), True
    ),
    Case(
        "bitwarden",
        "Bitwarden",
        lambda: x.bitwarden_protected(_bitwarden_plain(), PASSWORD, kdf="argon2id"),
        True,
    ),
    Case("freeotp", "FreeOTP+", lambda: x.freeotp([x.freeotp_token(a) for a in ACCOUNTS])),
    Case(
        "proton",
        "Proton Authenticator",
        lambda: x.proton([x.proton_entry(a.uri, a.account) for a in ACCOUNTS]),
    ),
    Case(
        "proton",
        "Proton Authenticator",
        lambda: x.proton([x.proton_entry(a.uri, a.account) for a in ACCOUNTS], PASSWORD),
        True,
    ),
    Case(
        "otpauth",
        "otpauth list",
        lambda: "\n".join(x.ente_line(a) for a in ACCOUNTS).encode(),
        rows=True,
    ),
    Case(
        "ente",
        "Ente Auth",
        lambda: x.ente("\n".join(x.ente_line(a) for a in ACCOUNTS), PASSWORD),
        True,
    ),
    Case("pskc", "PSKC", lambda: x.pskc_plain(ACCOUNTS)),
    Case("pskc", "PSKC", lambda: x.pskc_protected(ACCOUNTS, PASSWORD), True),
]
ENCRYPTED = [case for case in CASES if case.encrypted]


class Asked:
    """A password source that counts how often it was asked."""

    def __init__(self, answer: str = PASSWORD) -> None:
        self.answer = answer
        self.times = 0

    def __call__(self) -> str:
        self.times += 1
        return self.answer


def never() -> str:
    raise AssertionError("a password was asked for a file that needs none")


def pyotp_code(credential: Credential) -> str:
    """The code pyotp computes for the same secret and settings: the independent reference."""
    secret = base64.b32encode(credential.secret).decode()
    digest = getattr(hashlib, credential.algorithm.value.lower())
    if credential.kind is Kind.HOTP:
        return pyotp.HOTP(secret, digits=credential.digits, digest=digest).at(credential.counter)
    totp = pyotp.TOTP(secret, digits=credential.digits, digest=digest, interval=credential.period)
    return totp.at(NOW)


# --- every format, plain and encrypted ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_format_is_detected_and_read_with_every_setting(case: Case) -> None:
    asked = Asked()
    imported = read_export(case.build(), password=asked)
    assert imported.format == case.label
    assert imported.encrypted is case.encrypted
    assert asked.times == (1 if case.encrypted else 0)  # asked once, and only when needed
    assert imported.refusals == ()
    assert [c.name for c in imported.credentials] == NAMES
    for credential, account in zip(imported.credentials, ACCOUNTS, strict=True):
        assert credential.secret == account.secret
        assert credential.kind is Kind(account.kind)
        assert credential.algorithm is Algorithm(account.algorithm)
        assert credential.digits == account.digits
        if account.kind == "hotp":
            assert credential.counter == account.counter
        else:
            assert credential.period == account.period
        assert compute(credential, NOW).value == pyotp_code(credential)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_format_named_by_the_user_reads_the_same(case: Case) -> None:
    data = case.build()
    named = read_export(data, format=case.name, password=Asked())
    assert [c.name for c in named.credentials] == NAMES


def test_a_format_named_wrongly_is_refused_by_that_format() -> None:
    with pytest.raises(InputError, match="this is not an Aegis export"):
        read_export(x.twofas([x.twofas_service(a) for a in ACCOUNTS]), format="aegis")
    with pytest.raises(InputError, match="unknown export format; hwotp reads aegis, 2fas"):
        read_export(b"{}", format="lastpass")


def test_ente_plain_export_read_under_entes_name() -> None:
    data = "\n".join(x.ente_line(a) for a in ACCOUNTS).encode()
    imported = read_export(data, format="ente", password=never)
    assert imported.format == "Ente Auth"
    assert [c.name for c in imported.credentials] == NAMES


# --- passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ENCRYPTED, ids=str)
def test_wrong_password_is_one_sentence_with_exit_code_5(case: Case) -> None:
    data = case.build()
    with pytest.raises(WrongPassphraseError) as caught:
        read_export(data, password=Asked("not the password"))
    assert caught.value.exit_code is ExitCode.WRONG_PASSPHRASE
    assert str(caught.value).startswith(f"wrong password for this {case.label} export")


def test_formats_that_can_tell_a_wrong_password_from_damage_say_only_wrong_password() -> None:
    for data in (
        x.aegis([x.aegis_entry(a) for a in ACCOUNTS], PASSWORD),
        x.twofas([x.twofas_service(a) for a in ACCOUNTS], PASSWORD),
        x.bitwarden_protected(_bitwarden_plain(), PASSWORD),
    ):
        with pytest.raises(WrongPassphraseError) as caught:
            read_export(data, password=Asked("nope"))
        assert "damaged" not in str(caught.value)


@pytest.mark.parametrize("case", ENCRYPTED, ids=str)
def test_an_encrypted_export_without_a_password_source_says_so(case: Case) -> None:
    with pytest.raises(InputError, match=f"this {case.label} export is encrypted; its password"):
        read_export(case.build())


def test_a_2fas_backup_without_its_reference_cannot_tell_a_wrong_password_from_damage() -> None:
    data = x.twofas([x.twofas_service(a) for a in ACCOUNTS], PASSWORD, reference=False)
    assert [c.name for c in read_export(data, password=Asked()).credentials] == NAMES
    with pytest.raises(WrongPassphraseError, match="wrong password for this 2FAS export, or the"):
        read_export(data, password=Asked("nope"))


def test_aegis_with_only_a_biometric_slot_cannot_be_opened_here() -> None:
    document = json.loads(x.aegis([x.aegis_entry(ACCOUNTS[0])], PASSWORD))
    document["header"]["slots"] = [s for s in document["header"]["slots"] if s["type"] == 2]
    with pytest.raises(InputError, match="only be opened with the phone's biometrics"):
        read_export(json.dumps(document).encode(), password=never)


def test_kdf_parameters_a_modified_file_could_abuse_are_refused_before_asking() -> None:
    aegis = json.loads(x.aegis([x.aegis_entry(ACCOUNTS[0])], PASSWORD))
    aegis["header"]["slots"][-1]["n"] = 2**24
    ente = json.loads(x.ente(ACCOUNTS[0].uri, PASSWORD))
    ente["kdfParams"]["memLimit"] = 64 * 2**30
    bitwarden = json.loads(x.bitwarden_protected(_bitwarden_plain(), PASSWORD))
    bitwarden["kdfIterations"] = 10**9
    for document in (aegis, ente, bitwarden):
        with pytest.raises(InputError, match=r"asks for .* outside|refuses it"):
            read_export(json.dumps(document).encode(), password=never)


def test_bitwarden_account_restricted_export_is_refused_with_the_way_out() -> None:
    data = json.dumps({"encrypted": True, "encKeyValidation_DO_NOT_EDIT": "2.a|b|c", "items": []})
    with pytest.raises(InputError, match=r"account's key .* export it again as password protected"):
        read_export(data.encode(), password=never)


def test_pskc_with_a_pre_shared_key_is_refused_with_the_reason() -> None:
    from pskc import PSKC

    container = PSKC()
    container.encryption.setup_preshared_key(key=bytes(16))
    container.add_key(
        secret=ACCOUNTS[0].secret, algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"
    )
    out = io.BytesIO()
    container.write(out)
    with pytest.raises(InputError, match="pre-shared key, not a passphrase"):
        read_export(out.getvalue(), password=never)


# --- damaged files -------------------------------------------------------------------------------


# Text lists (and CSV rows) have no structure to break: a cut last line is another entry.
@pytest.mark.parametrize("case", [c for c in CASES if not c.rows], ids=str)
def test_a_truncated_export_fails_whole_with_one_sentence(case: Case) -> None:
    data = case.build()
    for cut in (len(data) // 2, len(data) - 7, 40):
        with pytest.raises((InputError, WrongPassphraseError)) as caught:
            read_export(data[:cut], format=case.name, password=Asked())
        assert "\n" not in str(caught.value)


def test_truncated_json_is_named_as_such_when_the_format_is_unknown() -> None:
    data = x.aegis([x.aegis_entry(a) for a in ACCOUNTS])
    with pytest.raises(InputError, match="looks like JSON but cannot be read: its JSON ends early"):
        read_export(data[: len(data) // 2])


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _tamper_json(data: bytes, field: Callable[[dict], tuple[dict, str]]) -> bytes:
    document = json.loads(data)
    holder, key = field(document)
    value = holder[key]
    cut = value.find("|", 3) + 5 if value.startswith("2.") else len(value) // 2
    replacement = "A" if value[cut] != "A" else "B"
    holder[key] = value[:cut] + replacement + value[cut + 1 :]
    return json.dumps(document).encode()


def test_tampered_contents_are_damage_where_the_format_can_tell() -> None:
    aegis = _tamper_json(
        x.aegis([x.aegis_entry(a) for a in ACCOUNTS], PASSWORD), lambda d: (d, "db")
    )
    bitwarden = _tamper_json(
        x.bitwarden_protected(_bitwarden_plain(), PASSWORD), lambda d: (d, "data")
    )
    twofas = json.loads(x.twofas([x.twofas_service(a) for a in ACCOUNTS], PASSWORD))
    sealed, salt, iv = twofas["servicesEncrypted"].split(":")
    twofas["servicesEncrypted"] = ":".join(
        (("B" if sealed[4] == "A" else "A").join((sealed[:4], sealed[5:])), salt, iv)
    )
    for data, label in (
        (aegis, "Aegis"),
        (bitwarden, "Bitwarden"),
        (json.dumps(twofas).encode(), "2FAS"),
    ):
        with pytest.raises(InputError, match=f"this {label} export is damaged: its .* integrity"):
            read_export(data, password=Asked())


@pytest.mark.parametrize(
    "build",
    [
        lambda: x.andotp([x.andotp_entry(a) for a in ACCOUNTS], PASSWORD),
        lambda: x.proton([x.proton_entry(a.uri, a.account) for a in ACCOUNTS], PASSWORD),
        lambda: x.ente("\n".join(a.uri for a in ACCOUNTS), PASSWORD),
        lambda: x.pskc_protected(ACCOUNTS, PASSWORD),
    ],
    ids=["andotp", "proton", "ente", "pskc"],
)
def test_tampered_contents_where_damage_looks_like_a_wrong_password_say_both(build) -> None:
    data = build()
    if data.startswith(b"{"):
        key = "content" if b'"content"' in data else "encryptedData"
        data = _tamper_json(data, lambda d: (d, key))
    elif data.startswith(b"<?xml"):
        text = data.decode()
        start = text.index("<xenc:CipherValue>") + len("<xenc:CipherValue>") + 30
        data = (text[:start] + ("A" if text[start] != "A" else "B") + text[start + 1 :]).encode()
    else:
        data = _flip(data, len(data) - 20)
    with pytest.raises(WrongPassphraseError, match="or the file is damaged"):
        read_export(data, password=Asked())


def test_files_that_are_not_exports_are_named_without_their_content() -> None:
    cases = {
        b"": "the file is empty",
        b"\x89PNG\r\n\x1a\n" + bytes(200): "this file is a PNG image, not an authenticator export",
        b"just some notes\nJBSWY3DPEHPK3PXP\n": "does not recognise this file",
        b'{"hello": "world"}': "does not recognise this file",
    }
    for data, message in cases.items():
        with pytest.raises(InputError, match=message) as caught:
            read_export(data, password=never)
        assert "JBSWY3DPEHPK3PXP" not in str(caught.value)


def test_a_text_export_with_a_damaged_byte_is_not_taken_for_an_encrypted_backup() -> None:
    data = x.aegis([x.aegis_entry(a) for a in ACCOUNTS])
    damaged = data[:100] + b"\xff" + data[101:]  # no longer UTF-8: binary like andOTP's backups
    with pytest.raises(InputError, match="text with bytes that are not UTF-8: it may be damaged"):
        read_export(damaged, password=never)


def test_pskc_declaring_entities_is_refused_before_parsing() -> None:
    data = x.pskc_plain(ACCOUNTS[:1]).replace(
        b"<pskc:KeyContainer", b'<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<pskc:KeyContainer', 1
    )
    with pytest.raises(InputError, match="declares XML entities"):
        read_export(data, password=never)


def test_unknown_versions_are_refused_by_name() -> None:
    twofas = json.loads(x.twofas([x.twofas_service(ACCOUNTS[0])]))
    twofas["schemaVersion"] = 5
    with pytest.raises(InputError, match="schema version 5; hwotp reads versions up to 4"):
        read_export(json.dumps(twofas).encode())
    aegis = json.loads(x.aegis([x.aegis_entry(ACCOUNTS[0])]))
    aegis["version"] = 2
    with pytest.raises(InputError, match="Aegis export has a version hwotp does not know"):
        read_export(json.dumps(aegis).encode())


# --- duplicates and refusals ---------------------------------------------------------------------


def test_an_entry_exported_twice_is_imported_once() -> None:
    entries = [x.aegis_entry(ACCOUNTS[0]), x.aegis_entry(ACCOUNTS[1]), x.aegis_entry(ACCOUNTS[0])]
    imported = read_export(x.aegis(entries))
    assert [c.name for c in imported.credentials] == NAMES[:2]
    assert imported.warnings == (f"{NAMES[0]} appears twice; imported once",)


def test_two_different_entries_with_one_name_are_both_kept_and_named() -> None:
    other = x.Account(bytes(range(7, 27)), ACCOUNTS[0].issuer, ACCOUNTS[0].account)
    imported = read_export(x.andotp([x.andotp_entry(ACCOUNTS[0]), x.andotp_entry(other)]))
    assert [c.secret for c in imported.credentials] == [ACCOUNTS[0].secret, other.secret]
    assert imported.warnings == (f"{NAMES[0]} appears twice with different secrets or settings",)


BAD_BASE32 = "the secret is not valid base32 (it may hold only the letters A-Z and digits 2-7)"
STEAM_ACCOUNT = x.Account(bytes(range(60, 80)), "Steam", "gaben", digits=5)


def _refusals(imported: Imported) -> dict[str, str]:
    return {refusal.name: refusal.reason for refusal in imported.refusals}


def test_aegis_refusals_name_each_entry_and_the_reason() -> None:
    bad_secret = x.aegis_entry(x.Account(b"\x01" * 20, "Bad", "secret"))
    bad_secret["info"]["secret"] = "not base32!"
    many_digits = x.aegis_entry(x.Account(b"\x02" * 20, "Long", "code", digits=10))
    entries = [
        x.aegis_entry(ACCOUNTS[0]),
        x.aegis_entry(x.Account(b"\x03" * 20, "Yandex", "ivan"), kind="yandex"),
        x.aegis_entry(x.Account(b"\x04" * 20, "Uni", "motp"), kind="motp"),
        x.aegis_entry(x.Account(b"\x05" * 20, "Fruit", "banana"), kind="banana"),
        bad_secret,
        many_digits,
    ]
    imported = read_export(x.aegis(entries))
    assert [c.name for c in imported.credentials] == [NAMES[0]]
    assert _refusals(imported) == {
        "Yandex:ivan": "Yandex OTP entries are not supported",
        "Uni:motp": "mOTP entries are not supported",
        "Fruit:banana": 'the OTP type "banana" is not supported',
        "Bad:secret": BAD_BASE32,
        "Long:code": "digits must be 6, 7 or 8, not 10",
    }


def test_steam_entries_are_kept_in_every_format_that_has_them() -> None:
    from pyotp.contrib import Steam

    steam_uri = f"otpauth://steam/Steam:gaben?secret={STEAM_ACCOUNT.base32}&issuer=Steam"
    winauth_uri = f"otpauth://totp/Steam:gaben?secret={STEAM_ACCOUNT.base32}&issuer=Steam&digits=5"
    label_only = f"otpauth://totp/Steam:gaben2?secret={STEAM_ACCOUNT.base32}&digits=5"
    exports = {
        "Aegis": x.aegis([x.aegis_entry(ACCOUNTS[0]), x.aegis_entry(STEAM_ACCOUNT, kind="steam")]),
        "2FAS": x.twofas(
            [x.twofas_service(ACCOUNTS[0]), x.twofas_service(STEAM_ACCOUNT, token_type="STEAM")]
        ),
        "andOTP": x.andotp(
            [x.andotp_entry(ACCOUNTS[0]), x.andotp_entry(STEAM_ACCOUNT, kind="STEAM")]
        ),
        "Bitwarden": x.bitwarden(
            [
                x.bitwarden_item("Deno", "mason@example.com", ACCOUNTS[0].uri),
                x.bitwarden_item("Steam", "gaben", f"steam://{STEAM_ACCOUNT.base32}"),
            ]
        ),
        "FreeOTP+": x.freeotp([x.freeotp_token(ACCOUNTS[0]), x.freeotp_token(STEAM_ACCOUNT)]),
        "Proton Authenticator": x.proton(
            [
                x.proton_entry(ACCOUNTS[0].uri, "mason"),
                x.proton_entry(f"steam://{STEAM_ACCOUNT.base32}", "gaben", "Steam"),
            ]
        ),
        "otpauth list": f"{ACCOUNTS[0].uri}\n{steam_uri}\n{winauth_uri}\n{label_only}".encode(),
    }
    steam_code = Steam(STEAM_ACCOUNT.base32).at(NOW)
    for label, data in exports.items():
        imported = read_export(data)
        assert imported.format == label
        assert imported.refusals == (), label
        first, *steam = imported.credentials
        assert first.name == NAMES[0] and not first.steam, label
        # The two spellings of Steam:gaben in the list are one entry, imported once.
        names = ["Steam:gaben", "Steam:gaben2"] if label == "otpauth list" else ["Steam:gaben"]
        assert [c.name for c in steam] == names, label
        for credential in steam:
            assert credential.steam and credential.secret == STEAM_ACCOUNT.secret, label
            assert (credential.kind, credential.algorithm, credential.period) == (
                Kind.TOTP, Algorithm.SHA1, 30
            )
            assert compute(credential, NOW).value == steam_code, label


def test_otpauth_list_refusals_and_migration_lines() -> None:
    migration = (
        "otpauth-migration://offline?data="
        "CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZTAC"
    )
    lines = [
        "# my codes",
        ACCOUNTS[0].uri,
        "",
        "hunter2",
        f"otpauth://yandex/Yandex:ivan?secret={ACCOUNTS[1].base32}",
        f"otpauth://motp/Uni:me?secret={ACCOUNTS[1].base32}",
        "otpauth://totp/Acme:bob?secret=not-base32!",
        migration,
        "otpauth-migration://offline?data=!!!",
        x.ente_line(ACCOUNTS[2], trashed=True),
        ACCOUNTS[3].uri.replace("algorithm=SHA1", "algorithm=null"),
    ]
    imported = read_export("\r\n".join(lines).encode())
    assert [c.name for c in imported.credentials] == [
        NAMES[0],
        "Example:alice@google.com",
        NAMES[3],
    ]
    assert imported.credentials[2].algorithm is Algorithm.SHA1  # Ente's "null": the default
    assert _refusals(imported) == {
        "line 4": "is not an otpauth:// URI",
        "Yandex:ivan": "Yandex OTP entries are not supported",
        "Uni:me": "mOTP entries are not supported",
        "Acme:bob": BAD_BASE32,
        "line 9": "the Google Authenticator export is damaged: its data is not valid base64",
        NAMES[2]: "it is in Ente Auth's trash",
    }
    assert "hunter2" not in repr(imported)


def test_warnings_about_a_uri_name_the_entry() -> None:
    uri = ACCOUNTS[0].uri.replace("otpauth://totp/Deno:", "otpauth://totp/Dino:")
    imported = read_export(uri.encode())
    assert imported.warnings == (
        f'{NAMES[0]}: the label names the issuer "Dino" but the issuer parameter says "Deno";'
        ' using "Deno"',
    )


def test_bitwarden_bare_secrets_items_without_totp_and_refusals() -> None:
    items = [
        x.bitwarden_item("GitHub", "octocat", ACCOUNTS[0].base32.lower()),
        x.bitwarden_item("Mail", "me", None),
        x.bitwarden_item("Bank", "me", "   "),
        x.bitwarden_item("Broken", "me", "0000 1111"),
    ]
    imported = read_export(x.bitwarden(items))
    assert [(c.issuer, c.account) for c in imported.credentials] == [("GitHub", "octocat")]
    assert imported.credentials[0].secret == ACCOUNTS[0].secret
    assert _refusals(imported) == {"Broken:me": BAD_BASE32}


def test_bitwarden_without_any_totp_says_so() -> None:
    with pytest.raises(InputError, match="holds no item with a TOTP secret"):
        read_export(x.bitwarden([x.bitwarden_item("Mail", "me", None)]))


def test_pskc_refuses_keys_of_other_algorithms_by_name() -> None:
    extra = """
  <pskc:KeyPackage><pskc:Key Id="99" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:pin">
    <pskc:Issuer>Bank</pskc:Issuer>
    <pskc:Data><pskc:Secret><pskc:PlainValue>MTIzNA==</pskc:PlainValue></pskc:Secret></pskc:Data>
    <pskc:UserId>CN=card</pskc:UserId></pskc:Key></pskc:KeyPackage>"""
    imported = read_export(x.pskc_plain(ACCOUNTS[:1], extra_keys=extra))
    assert [c.name for c in imported.credentials] == NAMES[:1]
    assert _refusals(imported) == {"Bank:card": 'the algorithm "pin" is not HOTP or TOTP'}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ykman's own parser, the reference
@pytest.mark.parametrize(
    "userid", ["CN=card", r"CN=Doe\, Jane", "O=Bank,CN=bob", "CN=a\\+b", "UID=7", "plain name"]
)
def test_pskc_user_ids_name_the_account_as_ykmans_import_does(userid: str) -> None:
    from cryptography.x509 import NameOID
    from ykman.piv import parse_rfc4514_string

    try:  # ykman's `oath accounts import`: the CN of a distinguished name, else the user id
        expected = parse_rfc4514_string(userid).get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    except (ValueError, IndexError):
        expected = userid
    key = f"""
  <pskc:KeyPackage><pskc:Key Id="99" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
    <pskc:Issuer>Bank</pskc:Issuer>
    <pskc:Data><pskc:Secret><pskc:PlainValue>{base64.b64encode(bytes(range(20))).decode()}
    </pskc:PlainValue></pskc:Secret></pskc:Data>
    <pskc:UserId>{userid}</pskc:UserId></pskc:Key></pskc:KeyPackage>"""
    imported = read_export(x.pskc_plain([], extra_keys=key))
    assert [c.account for c in imported.credentials] == [expected]


def test_refused_names_cannot_fake_lines_of_output() -> None:
    entry = x.aegis_entry(STEAM_ACCOUNT, kind="yandex")
    entry["name"] = "gaben\nhwotp: all good\x1b[2J"
    imported = read_export(x.aegis([entry, x.aegis_entry(ACCOUNTS[0])]))
    (refusal,) = imported.refusals
    assert "\n" not in refusal.name and "\x1b" not in refusal.name
    assert refusal.name.startswith("Steam:gaben?hwotp: all good?")


# --- light to import ------------------------------------------------------------------------------


def test_importing_the_package_and_reading_plain_files_loads_no_crypto() -> None:
    code = f"""
import sys
from hwotp.formats.imports import read_export
read_export({x.aegis([x.aegis_entry(ACCOUNTS[0])])!r})
read_export({x.twofas([x.twofas_service(ACCOUNTS[0])])!r})
read_export({ACCOUNTS[0].uri.encode()!r})
heavy = {{"cryptography", "nacl", "argon2", "pskc", "_cffi_backend"}}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_format_has_a_detection_and_a_reader() -> None:
    assert {f.name for f in FORMATS} == {c.name for c in CASES}
    for f in FORMATS:
        assert callable(f.module.matches) and callable(f.module.read) and f.label


# --- no secret in any message -------------------------------------------------

PLAIN_BUILDERS: dict[str, Callable[[x.Account], bytes]] = {
    "aegis": lambda a: x.aegis([x.aegis_entry(a)]),
    "2fas": lambda a: x.twofas([x.twofas_service(a)]),
    "andotp": lambda a: x.andotp([x.andotp_entry(a)]),
    "andotp-old": lambda a: x.andotp([x.andotp_entry(a)], PASSWORD, old=True),
    "bitwarden": lambda a: x.bitwarden([x.bitwarden_item(a.issuer, a.account, a.base32)]),
    "bitwarden-csv": lambda a: x.bitwarden_csv([(a.issuer, a.account, a.uri)]),
    "freeotp": lambda a: x.freeotp([x.freeotp_token(a)]),
    "proton": lambda a: x.proton([x.proton_entry(a.uri, a.account)]),
    "otpauth": lambda a: f"{a.uri}\n{x.ente_line(a)}\n".encode(),
    "pskc": lambda a: x.pskc_plain([a]),
}


def _secret_forms(secret: bytes) -> set[str]:
    encoded = base64.b32encode(secret).decode().rstrip("=")
    return {
        encoded,
        encoded.lower(),
        secret.hex(),
        base64.b64encode(secret).decode().rstrip("="),
        str([b - 256 if b > 127 else b for b in secret])[1:-1],  # FreeOTP+'s signed bytes
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.binary(min_size=10, max_size=48),
    builder=st.sampled_from(sorted(PLAIN_BUILDERS)),
    kind=st.sampled_from(["totp", "hotp", "steam", "yandex", "Totp", "weird type"]),
    digits=st.integers(min_value=0, max_value=12),
    algorithm=st.sampled_from(["SHA1", "SHA256", "MD5", "sha-512", "ROT13"]),
    where=st.floats(min_value=0, max_value=1),
    change=st.sampled_from(["none", "cut", "flip", "insert", "delete"]),
    junk=st.binary(min_size=1, max_size=6),
)
def test_no_secret_appears_in_any_error_refusal_or_warning(
    secret: bytes,
    builder: str,
    kind: str,
    digits: int,
    algorithm: str,
    where: float,
    change: str,
    junk: bytes,
) -> None:
    account = x.Account(secret, "Acme", "bob", kind=kind, digits=digits, algorithm=algorithm)
    data = PLAIN_BUILDERS[builder](account)
    at = int(where * (len(data) - 1))
    data = {
        "none": data,
        "cut": data[:at],
        "flip": data[:at] + bytes([data[at] ^ junk[0]]) + data[at + 1 :],
        "insert": data[:at] + junk + data[at:],
        "delete": data[:at] + data[at + len(junk) :],
    }[change]
    try:
        imported = read_export(data, password=lambda: PASSWORD)
    except (InputError, WrongPassphraseError) as error:
        texts = [str(error)]
    else:
        texts = [str(r) for r in imported.refusals] + list(imported.warnings) + [repr(imported)]
    for text in texts:
        for form in _secret_forms(secret):
            assert form not in text


@pytest.mark.parametrize("builder", ["bitwarden-csv", "otpauth", "proton"])
def test_a_uri_that_lost_its_question_mark_is_named_without_its_query(builder: str) -> None:
    # Found by the fuzz test above: with the "?" gone, the "label" ran on into the query, and
    # the refused entry was named by it, secret included.
    secret = bytes(range(1, 21))
    account = x.Account(secret, "Acme", "bob")
    data = PLAIN_BUILDERS[builder](account).replace(b"?secret=", b"secret=")
    try:
        imported = read_export(data, password=lambda: PASSWORD)
    except InputError as error:
        texts = [str(error)]
    else:
        assert not imported.credentials
        texts = [str(refusal) for refusal in imported.refusals]
    assert texts
    for text in texts:
        for form in _secret_forms(secret):
            assert form not in text
