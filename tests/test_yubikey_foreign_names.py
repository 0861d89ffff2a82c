"""Names other tools wrote on a key: hwotp reads them as ykman does, shows the unprintable ones
escaped, and can still compute, delete and rename each one, addressed by its raw id."""

from __future__ import annotations

import pyotp
import pytest
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession, parse_b32_key

from helpers.keys import ONE
from helpers.samples import FIXED_TIME, SECRET, SECRET_B
from virtualkey.key import KeyConfig
from virtualkey.transports import SmartCardAdapter

OTHER = SECRET_B


def put_raw(key, raw_id: bytes, secret: str = SECRET) -> None:
    """A TOTP credential under exactly `raw_id`, as any tool could write it."""
    session = OathSession(SmartCardAdapter(key))
    data = CredentialData(name="x", oath_type=OATH_TYPE.TOTP,
                          hash_algorithm=HASH_ALGORITHM.SHA1, secret=parse_b32_key(secret))
    data.get_id = lambda: raw_id  # yubikit builds the id from its parts; this one is given
    session.put_credential(data)


def test_a_superscript_period_written_by_ykman_is_read_as_ykman_reads_it(plug_keys, hwotp, ykman):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    assert ykman("oath", "accounts", "add", "²/x", SECRET).exit_code == 0
    assert ykman("oath", "accounts", "add", "Site:plain", OTHER).exit_code == 0
    assert set(key.oath.credentials) == {"²/x".encode(), b"Site:plain"}
    listed = hwotp("list", "--no-vault")
    assert listed.exit_code == 0, listed.everything
    assert "²/x" in listed.stdout and "Site:plain" in listed.stdout
    every = hwotp("code", "--no-vault")
    assert every.exit_code == 0, every.everything
    assert f"²/x         {pyotp.TOTP(SECRET).at(FIXED_TIME)}  (30 s left)" in every.stdout
    assert hwotp("code", "Site:plain", "--no-vault").exit_code == 0
    deleted = hwotp("delete", "²/x", "--force", "--no-vault")
    assert deleted.exit_code == 0, deleted.everything
    assert set(key.oath.credentials) == {b"Site:plain"}


@pytest.mark.parametrize(
    ("raw_id", "shown"),
    [
        (b"Other:bell\x07name", "Other:bell\\u0007name"),
        (b"Other:rtl\xe2\x80\xaename", "Other:rtl\\u202ename"),
        (b"Other:\xffbroken", "Other:\\xffbroken"),
    ],
)
def test_a_name_shown_escaped_can_be_computed_renamed_and_deleted(plug_keys, hwotp, raw_id,
                                                                   shown):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    put_raw(key, raw_id)
    listed = hwotp("list", "--no-vault")
    assert shown in listed.stdout, listed.everything
    code = hwotp("code", shown, "--no-vault")
    assert code.exit_code == 0, code.everything
    assert pyotp.TOTP(SECRET).at(FIXED_TIME) in code.stdout
    renamed = hwotp("rename", shown, "Other:tidy", "--no-vault")
    assert renamed.exit_code == 0, renamed.everything
    assert set(key.oath.credentials) == {b"Other:tidy"}
    put_raw(key, raw_id)
    deleted = hwotp("delete", shown, "--force", "--no-vault")
    assert deleted.exit_code == 0, deleted.everything
    assert set(key.oath.credentials) == {b"Other:tidy"}


def test_renaming_an_hotp_credential_keeps_its_id_free_of_a_period(plug_keys, hwotp):
    """yubikit's rename reads every id as TOTP: `10/Acme:alice` (HOTP) would become
    `10/10/Acme:bob`. hwotp sends RENAME with the id it means."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    uri = f"otpauth://hotp/alice?secret={SECRET}&issuer=10%2FAcme&counter=0"
    assert hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault").exit_code == 0
    renamed = hwotp("rename", "10/Acme:alice", "10/Acme:bob", "--no-vault")
    assert renamed.exit_code == 0, renamed.everything
    assert set(key.oath.credentials) == {b"10/Acme:bob"}


def test_two_credentials_of_one_name_on_a_key_are_twins_not_copies(plug_keys, hwotp, ykman):
    """ykman happily writes `Site:x` and `60/Site:x`: both print as Site:x. Each is reached by
    its id; neither is taken for a copy of the other."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    assert ykman("oath", "accounts", "add", "--period", "60", "Site:x", SECRET).exit_code == 0
    assert ykman("oath", "accounts", "add", "Site:x", OTHER).exit_code == 0
    slow = hwotp("code", "60/Site:x", "--no-vault")
    assert slow.exit_code == 0, slow.everything
    assert pyotp.TOTP(SECRET, interval=60).at(FIXED_TIME) in slow.stdout
    plain = hwotp("code", "Site:x", "--no-vault")
    assert pyotp.TOTP(OTHER).at(FIXED_TIME) in plain.stdout
    every = hwotp("code", "--no-vault")
    assert pyotp.TOTP(OTHER).at(FIXED_TIME) in every.stdout and "every 60 s" in every.stderr
    deleted = hwotp("delete", "Site:x", "--force", "--no-vault")
    assert deleted.exit_code == 0, deleted.everything
    assert [line for line in deleted.stderr.splitlines() if line.startswith("Deleted")] == [
        f"Deleted Site:x from the YubiKey {ONE}."]  # one: the twin is not a copy
    assert set(key.oath.credentials) == {b"60/Site:x"}


def test_twins_that_print_alike_are_never_guessed_between(plug_keys, hwotp):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    put_raw(key, b"Other:a\x07")  # a real BEL, shown escaped...
    put_raw(key, b"Other:a\\u0007", OTHER)  # ...and the same text typed out
    refused = hwotp("delete", "Other:a\\u0007", "--force", "--no-vault")
    assert refused.exit_code == 4, refused.everything
    assert f"2 credentials in the YubiKey {ONE} are named" in refused.stderr
    assert len(key.oath.credentials) == 2


def test_a_zero_width_joiner_name_clashes_and_is_found_by_its_own_name(plug_keys, hwotp):
    """The model allows the joiners (emoji, Persian, Indic names): they print as they are."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    name = "Dev:me\u200dteam"
    uri = f"otpauth://totp/Dev:me%E2%80%8Dteam?secret={SECRET}&issuer=Dev"
    assert hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault").exit_code == 0
    again = hwotp("enroll", "--uri", uri.replace(SECRET, OTHER), "--no-touch", "--no-vault")
    assert again.exit_code == 9, again.everything
    assert hwotp("delete", name, "--force", "--no-vault").exit_code == 0
    assert key.oath.credentials == {}


@pytest.mark.parametrize("new_name", ["60/Bar:y", "0/Bar:y"])
def test_rename_refuses_a_name_a_key_would_read_as_a_period(plug_keys, hwotp, new_name):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    uri = f"otpauth://totp/Foo:x?secret={SECRET}&issuer=Foo"
    assert hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault").exit_code == 0
    refused = hwotp("rename", "Foo:x", new_name, "--no-vault")
    assert refused.exit_code == 3, refused.everything
    assert "as a period" in refused.stderr and set(key.oath.credentials) == {b"Foo:x"}


def test_a_zero_period_prefix_is_refused_before_writing(plug_keys, hwotp):
    """yubikit reads `0/x` as period 0 and divides by it: ykman could list no code at all."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    uri = f"otpauth://totp/0%2Fx?secret={SECRET}"
    refused = hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault")
    assert refused.exit_code == 3, refused.everything
    assert key.oath.credentials == {}


def test_a_name_another_tool_wrote_in_another_unicode_spelling_is_the_same_name(
    plug_keys, hwotp, ykman
):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    decomposed = "Cafe\u0301:x"  # NFD, as ykman writes what it is given
    assert ykman("oath", "accounts", "add", "-f", decomposed, OTHER).exit_code == 0
    uri = f"otpauth://totp/Caf%C3%A9:x?secret={SECRET}&issuer=Caf%C3%A9"  # NFC
    clash = hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault")
    assert clash.exit_code == 9, clash.everything
    assert set(key.oath.credentials) == {decomposed.encode()}
    code = hwotp("code", decomposed, "--no-vault")  # reached by its own bytes
    assert pyotp.TOTP(OTHER).at(FIXED_TIME) in code.stdout


def test_a_key_on_an_nfc_reader_is_pointed_at_with_reader(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE, transport="nfc"))
    missing = hwotp("keys")
    assert missing.exit_code == 12 and "--reader" in missing.stderr, missing.everything
    found = hwotp("keys", "--reader", "NFC")
    assert found.exit_code == 0 and "11111111" in found.stdout, found.everything
