"""Enrolment planned before writing, against virtual keys: nearly full keys and what goes to
the vault (only the overflow), `--all-keys` with the second key full, a rerun after a partial
batch, a same-name twin replaced with --force, and HOTP copies that count separately."""

from __future__ import annotations

import json
from base64 import b32encode

import pyotp
import pytest

from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE, TWO, fill, names_on, put, puts
from helpers.migration import github_batch
from helpers.samples import FIXED_TIME, GITHUB, RAW_SECRET, SECRET, SECRET_B, totp
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

OLD = (5, 4, 3)  # 32 OATH slots
NAMES, BATCH = github_batch(7)
CODE = totp(b32encode(RAW_SECRET).decode())


def located(hwotp) -> dict[str, list[str]]:
    """name -> where its copies are, from `hwotp list --json`."""
    where: dict[str, list[str]] = {}
    for item in json.loads(ok(hwotp("list", "--json")).stdout):
        where.setdefault(item["name"], []).append(item["location"])
    return where


def test_a_batch_larger_than_the_free_slots_sends_only_the_overflow_to_the_vault(plug_keys,
                                                                                 hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=OLD))
    fill(rig.keys[0], 27)  # 5 free for 7 credentials
    refused = failed(hwotp("enroll", "--uri", BATCH, "--no-touch"), ExitCode.KEY_FULL)
    assert f"the YubiKey {ONE} has room for 5 of these 7 credentials" in refused
    assert len(names_on(rig.keys[0])) == 27
    result = ok(hwotp("enroll", "--uri", BATCH, "--no-touch", "--fallback", "vault"))
    lines = result.stderr.splitlines()
    assert (f"the YubiKey {ONE} has room for 5 of these 7 credentials: it holds 27, its limit is "
            f"32; storing {NAMES[5]}, {NAMES[6]} in the encrypted vault instead.") in lines
    assert f"Stored {', '.join(NAMES[:5])} in the YubiKey {ONE}." in lines
    assert any(line.startswith(f"Stored {NAMES[5]}, {NAMES[6]} in the vault at ")
               for line in lines)
    assert codes_printed(result.stdout) == dict.fromkeys(NAMES, CODE)
    where = located(hwotp)
    assert {name: where[name] for name in NAMES} == {
        **{name: [f"YubiKey {ONE}"] for name in NAMES[:5]},
        **{name: ["vault"] for name in NAMES[5:]},
    }


def test_a_rerun_after_a_partial_batch_writes_only_what_is_missing(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=OLD))
    fill(rig.keys[0], 27)
    ok(hwotp("enroll", "--uri", BATCH, "--no-touch", "--pick", "1,2,3"))  # as a cut-off run
    puts_before = puts(rig.keys[0])
    # 3 there already, same secret; 4 to write and 2 slots left.
    refused = failed(hwotp("enroll", "--uri", BATCH, "--no-touch"), ExitCode.KEY_FULL)
    assert f"the YubiKey {ONE} has room for 5 of these 7 credentials" in refused
    result = ok(hwotp("enroll", "--uri", BATCH, "--no-touch", "--fallback", "vault"))
    lines = result.stderr.splitlines()
    assert (f"{', '.join(NAMES[:3])}: already on the YubiKey {ONE}, same secret; not written "
            "again.") in lines
    assert f"Stored {NAMES[3]}, {NAMES[4]} in the YubiKey {ONE}." in lines
    assert puts(rig.keys[0]) == puts_before + 2
    where = located(hwotp)
    assert {name: where[name] for name in NAMES} == {
        **{name: [f"YubiKey {ONE}"] for name in NAMES[:5]},
        **{name: ["vault"] for name in NAMES[5:]},
    }
    # The same command once more: everything is where it should be, nothing is written twice.
    again = ok(hwotp("enroll", "--uri", BATCH, "--no-touch", "--fallback", "vault", "--json"))
    report = json.loads(again.stdout)
    assert [(item["name"], item["stored_in"], item["already_in"])
            for item in report["credentials"]] == (
        [(name, [f"YubiKey {ONE}"], [f"YubiKey {ONE}"]) for name in NAMES[:5]]
        + [(name, ["vault"], ["vault"]) for name in NAMES[5:]])
    assert [item["code"] for item in report["credentials"]] == [CODE] * 7
    assert puts(rig.keys[0]) == puts_before + 2
    assert located(hwotp) == where


def test_all_keys_with_the_second_key_nearly_full(plug_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=OLD))
    fill(rig.keys[1], 30)
    refused = failed(hwotp("enroll", "--uri", BATCH, "--no-touch", "--all-keys"),
                     ExitCode.KEY_FULL)
    assert f"the YubiKey {TWO} has room for 2 of these 7 credentials" in refused
    assert puts(rig.keys[0]) == 0 and not vault_path.exists()  # key 1 untouched
    result = ok(hwotp("enroll", "--uri", BATCH, "--no-touch", "--all-keys", "--fallback",
                      "vault"))
    assert f"storing {', '.join(NAMES[2:])} in the encrypted vault instead." in result.stderr
    where = located(hwotp)
    assert {name: where[name] for name in NAMES} == {
        **{name: [f"YubiKey {ONE}", f"YubiKey {TWO}"] for name in NAMES[:2]},
        **{name: [f"YubiKey {ONE}", "vault"] for name in NAMES[2:]},
    }


def test_a_same_name_with_another_secret_still_needs_force(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    again = ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    assert (f"GitHub:alice: already on the YubiKey {ONE}, same secret; not written again."
            in again.stderr)
    assert codes_printed(again.stdout) == {"GitHub:alice": totp()}
    other = GITHUB.replace(SECRET, SECRET_B)
    message = failed(hwotp("enroll", "--uri", other, "--no-touch"), ExitCode.EXISTS)
    assert message == f"hwotp: GitHub:alice already in the YubiKey {ONE}; use --force to replace"
    assert puts(rig.keys[0]) == 1


def test_force_replaces_the_twin_of_another_period_and_says_which(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "y", issuer="Site", period=60)  # shown as Site:y
    args = ("enroll", "--secret", SECRET_B, "--issuer", "Site", "--account", "y", "--no-touch")
    failed(hwotp(*args), ExitCode.EXISTS)  # another period: not the same credential
    result = ok(hwotp(*args, "--force"))
    assert (f"Replaced 60/Site:y on the YubiKey {ONE}: the same name under another period."
            in result.stderr)
    assert names_on(rig.keys[0]) == {b"Site:y"}
    assert codes_printed(ok(hwotp("code", "site")).stdout) == {"Site:y": totp(SECRET_B)}


def test_a_twin_is_kept_when_the_new_one_fails_its_proof(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.2))
    put(rig.keys[0], "y", issuer="Site", period=60)
    args = ("enroll", "--secret", SECRET_B, "--issuer", "Site", "--account", "y", "--force")
    message = failed(hwotp(*args), ExitCode.TOUCH_TIMEOUT)
    assert "Site:y was removed again" in message and "gone too" not in message
    assert names_on(rig.keys[0]) == {b"60/Site:y"}


HOTP = f"otpauth://hotp/Bank:bob?secret={SECRET}&issuer=Bank&counter=5"


def test_hotp_copies_are_said_to_count_separately_and_list_shows_each_counter(plug_keys,
                                                                              hwotp):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    result = ok(hwotp("enroll", "--uri", HOTP, "--no-touch", "--all-keys", "--also-vault"))
    notes = [line for line in result.stderr.splitlines() if line.startswith("HOTP copies")]
    assert notes == [
        "HOTP copies count separately (Bank:bob): a code used from one copy moves only that "
        "copy's counter, and a site accepts only a few codes past the last one it saw, so the "
        "copies used least fall out of step; use one copy, and keep the others for when it is "
        "lost."]
    assert codes_printed(result.stdout) == {"Bank:bob": pyotp.HOTP(SECRET).at(5)}
    (line,) = ok(hwotp("list")).stdout.splitlines()
    assert line.endswith(f"YubiKey {ONE} (counter on the key), YubiKey {TWO} (counter on the "
                         "key), vault (counter 6)")
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    assert [(item["location"], item["counter"]) for item in listed] == [
        (f"YubiKey {ONE}", None), (f"YubiKey {TWO}", None), ("vault", 6)]
    # One copy used: only its counter moves.
    ok(hwotp("code", "bank", "--device", str(ONE), "--no-vault"))
    assert [item["counter"] for item in json.loads(ok(hwotp("list", "--json")).stdout)] == [
        None, None, 6]


def test_one_hotp_copy_gets_no_note(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE))
    result = ok(hwotp("enroll", "--uri", HOTP, "--no-touch"))
    assert "HOTP copies" not in result.stderr


def test_hotp_on_a_key_is_not_compared_on_a_rerun(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", HOTP, "--no-touch"))
    counter = rig.keys[0].oath.credentials[b"Bank:bob"].counter
    message = failed(hwotp("enroll", "--uri", HOTP, "--no-touch"), ExitCode.EXISTS)
    assert "a counter-based credential on a YubiKey is not compared" in message
    assert rig.keys[0].oath.credentials[b"Bank:bob"].counter == counter  # no code used up


@pytest.mark.parametrize("touch", [False, True])
def test_a_credential_left_by_an_interrupted_run_is_recognised(plug_keys, hwotp, touch):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", issuer="GitHub", touch=touch)  # as a pulled key leaves it
    options = () if touch else ("--no-touch",)
    result = ok(hwotp("enroll", "--uri", GITHUB, *options))
    assert (f"GitHub:alice: already on the YubiKey {ONE}, same secret; not written again."
            in result.stderr)
    assert codes_printed(result.stdout) == {"GitHub:alice": totp(at=FIXED_TIME)}
    asked = f"Touch your YubiKey {ONE} to compare GitHub:alice with the one on it"
    assert (asked in result.stderr) == touch
    assert puts(rig.keys[0]) == 1  # the put above only
    # The same name with touch where the rerun asks for none is not the same credential.
    flipped = () if not touch else ("--no-touch",)
    failed(hwotp("enroll", "--uri", GITHUB, *flipped), ExitCode.EXISTS)


def test_an_hotp_credential_already_in_the_vault_is_recognised(plug_keys, hwotp):
    plug_keys(KeyConfig(serial=ONE, firmware=OLD))
    ok(hwotp("enroll", "--uri", HOTP, "--in-vault"))  # gave the code for counter 5
    again = ok(hwotp("enroll", "--uri", HOTP, "--in-vault"))
    assert "Bank:bob: already in the vault, same secret; not written again." in again.stderr
    assert codes_printed(again.stdout) == {"Bank:bob": pyotp.HOTP(SECRET).at(6)}
