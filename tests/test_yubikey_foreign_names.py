"""Names other tools wrote on a key: hwotp reads them as ykman does, shows the unprintable ones
escaped, and can still compute, delete and rename each one, addressed by its raw id."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession, parse_b32_key

from conftest import FIXED_TIME
from virtualkey.key import KeyConfig
from virtualkey.transports import SmartCardAdapter

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture(autouse=True)
def key_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HWOTP_CACHE_DIR", str(tmp_path / "cache"))


def put_raw(key, raw_id: bytes, secret: str = SECRET) -> None:
    """A TOTP credential under exactly `raw_id`, as any tool could write it."""
    session = OathSession(SmartCardAdapter(key))
    data = CredentialData(name="x", oath_type=OATH_TYPE.TOTP,
                          hash_algorithm=HASH_ALGORITHM.SHA1, secret=parse_b32_key(secret))
    data.get_id = lambda: raw_id  # yubikit builds the id from its parts; this one is given
    session.put_credential(data)


def test_a_superscript_period_written_by_ykman_is_read_as_ykman_reads_it(plug_keys, hwotp, ykman):
    key = plug_keys(KeyConfig(serial=11111111)).keys[0]
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
        (b"Other:\xffbroken", "Other:\ufffdbroken"),
    ],
)
def test_a_name_shown_escaped_can_be_computed_renamed_and_deleted(plug_keys, hwotp, raw_id,
                                                                   shown):
    key = plug_keys(KeyConfig(serial=11111111)).keys[0]
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
    key = plug_keys(KeyConfig(serial=11111111)).keys[0]
    uri = f"otpauth://hotp/alice?secret={SECRET}&issuer=10%2FAcme&counter=0"
    assert hwotp("enroll", "--uri", uri, "--no-touch", "--no-vault").exit_code == 0
    renamed = hwotp("rename", "10/Acme:alice", "10/Acme:bob", "--no-vault")
    assert renamed.exit_code == 0, renamed.everything
    assert set(key.oath.credentials) == {b"10/Acme:bob"}
