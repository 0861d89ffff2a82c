"""Edge cases of hwotp on YubiKeys found by review: names a key would misread, a cache that
lies, copies on several keys and in the vault, contradicting options, and messages that must
not repeat a secret."""

from __future__ import annotations

import json

import pytest

from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE, TWO, fill, names_on, put, puts
from helpers.samples import GITHUB, SECRET, SECRET_B, totp
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig


def test_a_name_a_key_would_read_as_a_period_is_refused_before_writing(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    uri = f"otpauth://totp/alice?secret={SECRET}&issuer=10%2FAcme"
    message = failed(hwotp("enroll", "--uri", uri, "--no-touch"), ExitCode.BAD_INPUT)
    assert "as a period" in message and "--name" in message
    assert puts(rig.keys[0]) == 0
    # HOTP ids carry no period: the same name is fine there.
    hotp = f"otpauth://hotp/alice?secret={SECRET}&issuer=10%2FAcme&counter=0"
    ok(hwotp("enroll", "--uri", hotp, "--no-touch"))
    assert names_on(rig.keys[0]) == {b"10/Acme:alice"}


def test_device_trusts_the_key_not_a_lying_cache(plug_keys, hwotp, key_cache):
    """What writes, deletes, renames or resets a key chosen by serial reads the key's own serial
    (only `code` and `list` choose by the cache); each such run corrects the cache, so it is
    made to lie again before the next."""
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    ok(hwotp("keys"))  # both keys cached
    cache = key_cache / "keys.json"
    truth = json.loads(cache.read_text())

    def lie() -> None:
        entries = json.loads(json.dumps(truth))
        first, second = list(entries)
        entries[first]["serial"], entries[second]["serial"] = (
            entries[second]["serial"], entries[first]["serial"])
        cache.write_text(json.dumps(entries))

    lie()
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch", "--device", str(ONE)))
    assert [names_on(key) for key in rig.keys] == [{b"GitHub:alice"}, set()]
    for change in (("delete", "GitHub:alice", "--force"), ("rename", "GitHub:alice", "bob")):
        lie()
        failed(hwotp(*change, "--device", str(TWO), "--no-vault"), ExitCode.NOT_FOUND)
        assert [names_on(key) for key in rig.keys] == [{b"GitHub:alice"}, set()]
    lie()
    ok(hwotp("key", "reset", "--force", "--device", str(TWO)))
    assert [names_on(key) for key in rig.keys] == [{b"GitHub:alice"}, set()]


@pytest.mark.parametrize(
    "damage",
    ['{"x": {"serial": 1e400, "firmware": [5, 7, 2], "form_factor": "f"}}',
     "[" * 200_000,
     '{"x": {"serial": 5, "firmware": [], "form_factor": "f"}}',
     "not json"],
)
def test_a_damaged_key_cache_is_ignored(plug_keys, hwotp, key_cache, damage):
    plug_keys(KeyConfig(serial=ONE))
    key_cache.mkdir(parents=True, exist_ok=True)
    (key_cache / "keys.json").write_text(damage)
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    assert f"YubiKey {ONE}  firmware 5.7.2" in ok(hwotp("keys")).stdout
    assert codes_printed(ok(hwotp("code", "--no-vault")).stdout) == {"GitHub:alice": totp()}


def test_rename_refuses_control_characters_and_names_read_from_a_key_are_escaped(plug_keys,
                                                                                 hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    message = failed(hwotp("rename", "GitHub:alice", "GitHub:evil\nFAKE: 999999"),
                     ExitCode.BAD_INPUT)
    assert "control character" in message and "nothing renamed" in message
    put(rig.keys[0], "evil\nFAKE: 999999", issuer="Other")  # as another tool could write it
    listed = ok(hwotp("list", "--no-vault")).stdout
    assert all(not line.startswith("FAKE") for line in listed.splitlines())
    assert "Other:evil\\u000aFAKE: 999999" in listed


def test_vault_push_onto_a_full_key_does_not_fall_back_to_the_vault(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)))
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    fill(rig.keys[0], 32)
    message = failed(hwotp("vault", "push", "--device", str(ONE), "--no-touch"),
                     ExitCode.KEY_FULL)
    assert f"YubiKey {ONE} is full" in message


def test_fallback_with_also_vault_on_a_full_key_keeps_the_vault_copy(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)))
    fill(rig.keys[0], 32)
    result = ok(hwotp("enroll", "--uri", GITHUB, "--also-vault", "--fallback", "vault"))
    assert (f"the YubiKey {ONE} is full: it holds 32 credentials, its limit is 32; GitHub:alice "
            "only in the vault, as asked for with --also-vault.") in result.stderr
    assert codes_printed(result.stdout) == {"GitHub:alice": totp()}
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    assert [(item["name"], item["location"]) for item in listed
            if item["name"] == "GitHub:alice"] == [("GitHub:alice", "vault")]


@pytest.mark.parametrize("option", ["--also-vault", "--in-vault", "--fallback=vault"])
def test_no_vault_contradicts_the_vault_options(plug_keys, hwotp, option):
    rig = plug_keys(KeyConfig(serial=ONE))
    message = failed(hwotp("enroll", "--uri", GITHUB, "--no-vault", option), ExitCode.USAGE)
    assert "--no-vault contradicts" in message
    assert puts(rig.keys[0]) == 0


def test_name_needs_an_account(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE))
    message = failed(hwotp("enroll", "--uri", GITHUB, "--name", "x:"), ExitCode.USAGE)
    assert "--name needs an account part" in message


def test_a_pasted_secret_as_query_is_not_printed_back(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    result = hwotp("code", SECRET_B)
    failed(result, ExitCode.NOT_FOUND)
    assert SECRET_B not in result.everything
    assert "no credential matches the query" in result.stderr


def test_several_matches_count_names_once_and_hide_hidden_ones(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    for key in rig.keys:
        put(key, "thing-a", issuer="M")
    put(rig.keys[0], "thing-b", issuer="M")
    put(rig.keys[0], "secretthing", issuer="_hidden")
    every = ok(hwotp("code", "thing"))  # each code once, the hidden one left out
    assert codes_printed(every.stdout) == {"M:thing-a": totp(), "M:thing-b": totp()}
    message = failed(hwotp("delete", "thing", "--force"), ExitCode.NOT_FOUND)
    assert message == ("hwotp: 3 credentials match 'thing': M:thing-a, M:thing-b and hidden "
                       "ones; be more specific")


def test_force_over_a_credential_then_a_missed_touch_says_the_old_one_is_gone(plug_keys,
                                                                                hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.2))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    other = f"otpauth://totp/GitHub:alice?secret={SECRET_B}&issuer=GitHub"
    message = failed(hwotp("enroll", "--uri", other, "--force"), ExitCode.TOUCH_TIMEOUT)
    assert "the earlier GitHub:alice it replaced is gone too" in message
    assert names_on(rig.keys[0]) == set()


def test_keys_does_not_ask_for_a_password_just_to_count(plug_keys, hwotp, ykman):
    plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    assert ykman("oath", "access", "change", "-n", "hunter22").exit_code == 0
    listed = ok(hwotp("keys", stdin=""))
    assert listed.stdout.strip().endswith(
        "OATH ? of 64 used (password-protected: give it to count)")
    counted = ok(hwotp("keys", "--json", env={"HWOTP_OATH_PASSWORD": "hunter22"}))
    assert json.loads(counted.stdout)[0]["oath_used"] == 1


@pytest.mark.parametrize("answer", [
    "760106",  # digits without the code
    "7605c801020304",  # 200 digits
    "75050601020304",  # a full answer's tag where a truncated one belongs
])
def test_a_key_answering_codes_hwotp_cannot_read_gets_no_code_printed(plug_keys, hwotp, answer):
    """A code is printed from the answer YKOATH defines or not at all: a card that answers
    CALCULATE_ALL otherwise is one sentence (exit 12), whether the codes are asked for all at
    once or by name, on a key seen before (raw path) or not (yubikit's)."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    put(key, "alice", issuer="GitHub")
    garbage = bytes.fromhex("710c") + b"GitHub:alice" + bytes.fromhex(answer)
    key.oath._handlers[0xA4] = lambda _command: garbage  # CALCULATE_ALL's instruction
    for query in ([], ["github"], [], ["github"]):  # the first run does not know the key yet
        result = hwotp("code", *query, "--no-vault")
        message = failed(result, ExitCode.KEY_UNAVAILABLE)
        assert message == f"hwotp: the YubiKey {ONE} gave a CALCULATE_ALL answer hwotp cannot read"
        assert result.stdout == ""
