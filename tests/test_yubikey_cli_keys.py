"""hwotp on YubiKeys (issue 4), continued: OATH passwords, delete / rename / reset on keys, a key
pulled out at every APDU of an enrolment, and interop with the ykman CLI. Conventions:
test_yubikey_cli.py."""

from __future__ import annotations

import json
import threading

import pyotp
import pytest

from helpers.cli import codes_printed, failed, ok
from helpers.keys import (
    ONE,
    TWO,
    names_on,
    put,
    pyotp_codes_around,
    replug,
    session,
    wait_until_pcscd_sees_no_card,
)
from helpers.samples import GITHUB, PERIOD_60, SECRET, SECRET_B, SECRET_C, totp
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

PASSWORD = "hunter22"
WRONG = f"hwotp: wrong OATH password for YubiKey {ONE}"

# --- OATH password --------------------------------------------------------------------------


def test_a_password_from_the_option_the_variable_or_standard_input(plug_keys, hwotp, ykman):
    plug_keys(KeyConfig(serial=ONE))
    assert ykman("oath", "accounts", "add", "Site:alice", SECRET).exit_code == 0
    assert ykman("oath", "access", "change", "-n", PASSWORD).exit_code == 0
    expected = {"Site:alice": totp()}
    assert codes_printed(ok(hwotp("code", "--password", PASSWORD)).stdout) == expected
    from_env = hwotp("code", "site", env={"HWOTP_OATH_PASSWORD": PASSWORD})
    assert codes_printed(ok(from_env).stdout) == expected
    from_stdin = ok(hwotp("list", "--json", stdin=f"{PASSWORD}\n"))
    assert [item["name"] for item in json.loads(from_stdin.stdout)] == ["Site:alice"]
    # Wrong, however given: exit 5 and one sentence naming the key.
    assert failed(hwotp("code", "--password", "nope"), ExitCode.WRONG_PASSPHRASE) == WRONG
    assert failed(hwotp("list", env={"HWOTP_OATH_PASSWORD": "nope"}),
                  ExitCode.WRONG_PASSPHRASE) == WRONG
    assert failed(hwotp("code", "site", stdin="nope\n"), ExitCode.WRONG_PASSPHRASE) == WRONG
    enrol = hwotp("enroll", "--uri", GITHUB, "--password", "nope")
    assert failed(enrol, ExitCode.WRONG_PASSPHRASE) == WRONG
    missing = failed(hwotp("list", stdin=""), ExitCode.CANCELLED)  # no terminal to ask
    assert missing.startswith(f"hwotp: no OATH password for YubiKey {ONE}: type it at a terminal")
    # The right one also lets hwotp write.
    ok(hwotp("enroll", "--uri", GITHUB, "--password", PASSWORD))
    listed = ykman("oath", "accounts", "list", "-p", PASSWORD)
    assert sorted(listed.stdout.splitlines()) == ["GitHub:alice", "Site:alice"]


def test_key_password_set_change_clear_and_ykman_follows(plug_keys, hwotp, ykman):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "Site")
    done = ok(hwotp("key", "password", "set", env={"HWOTP_NEW_OATH_PASSWORD": "first-pw"}))
    assert done.stderr.splitlines() == [f"Set the OATH password of the YubiKey {ONE}."]
    assert ykman("oath", "accounts", "list", "-p", "first-pw").stdout == "Site:alice\n"
    again = hwotp("key", "password", "set", "--password", "first-pw",
                  env={"HWOTP_NEW_OATH_PASSWORD": "x"})
    assert "has a password already; use change" in failed(again, ExitCode.USAGE)
    wrong = hwotp("key", "password", "change", "--password", "nope",
                  env={"HWOTP_NEW_OATH_PASSWORD": "second-pw"})
    assert failed(wrong, ExitCode.WRONG_PASSPHRASE) == WRONG
    ok(hwotp("key", "password", "change", "--password", "first-pw",
             env={"HWOTP_NEW_OATH_PASSWORD": "second-pw"}))
    assert ykman("oath", "accounts", "list", "-p", "first-pw").exit_code != 0
    assert ykman("oath", "accounts", "list", "-p", "second-pw").stdout == "Site:alice\n"
    cleared = ok(hwotp("key", "password", "clear", env={"HWOTP_OATH_PASSWORD": "second-pw"}))
    assert cleared.stderr.splitlines() == [f"Cleared the OATH password of the YubiKey {ONE}."]
    assert ykman("oath", "accounts", "list", stdin="").stdout == "Site:alice\n"
    assert codes_printed(ok(hwotp("code")).stdout) == {"Site:alice": totp()}


# --- delete, rename, reset ------------------------------------------------------------------


def test_delete_on_a_key(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "bob", "Mail")
    put(rig.keys[0], "alice", "Site")
    refused = failed(hwotp("delete", "mail"), ExitCode.CANCELLED)
    assert "no terminal to confirm" in refused and "--force" in refused
    assert names_on(rig.keys[0]) == {b"Mail:bob", b"Site:alice"}
    deleted = ok(hwotp("delete", "mail", "--force"))
    assert deleted.stderr.splitlines() == [
        f"Deleted Mail:bob from the YubiKey {ONE}.",
        f"Checked the YubiKey {ONE}: a copy on a key not plugged in stays there.",
    ]
    assert names_on(rig.keys[0]) == {b"Site:alice"}
    failed(hwotp("delete", "mail", "--force"), ExitCode.NOT_FOUND)


def test_rename_on_a_key_keeps_the_secret_and_the_period(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch"))
    ok(hwotp("enroll", "--uri", PERIOD_60, "--no-touch"))
    renamed = ok(hwotp("rename", "github", "Forge:carol"))
    assert renamed.stderr.splitlines() == [
        f"Renamed GitHub:alice to Forge:carol in the YubiKey {ONE}.",
        f"Checked the YubiKey {ONE}: a copy on a key not plugged in keeps its old name.",
    ]
    ok(hwotp("rename", "slow", "dave"))  # no colon: the issuer stays
    assert names_on(rig.keys[0]) == {b"Forge:carol", b"60/Slow:dave"}
    assert codes_printed(ok(hwotp("code", "forge")).stdout) == {"Forge:carol": totp()}
    assert codes_printed(ok(hwotp("code", "dave")).stdout) == {
        "Slow:dave": totp(SECRET_B, interval=60)
    }


def test_rename_onto_a_taken_name_is_refused(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "a", "X")
    put(rig.keys[0], "b", "X")
    message = failed(hwotp("rename", "X:a", "X:b"), ExitCode.EXISTS)
    assert message == (f"hwotp: another credential on the YubiKey {ONE} already has that name "
                       "(nothing renamed)")
    ok(hwotp("rename", "X:a", "X:a"))  # its own name: nothing to do
    assert names_on(rig.keys[0]) == {b"X:a", b"X:b"}
    too_long = failed(hwotp("rename", "X:a", "X:" + "c" * 70), ExitCode.BAD_INPUT)
    assert "72 bytes" in too_long
    assert names_on(rig.keys[0]) == {b"X:a", b"X:b"}


def test_rename_needs_firmware_5_3_1(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 2, 7)))
    put(rig.keys[0], "alice", "Old")
    message = failed(hwotp("rename", "old", "New:alice"), ExitCode.NOT_SUPPORTED)
    assert "5.3.1" in message and "5.2.7" in message
    assert "enrol it again under the new name, then delete the old one" in message
    assert names_on(rig.keys[0]) == {b"Old:alice"}


def test_key_reset_needs_force_without_a_terminal(plug_keys, hwotp, ykman):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    for key in rig.keys:
        put(key, "alice", "Site")
    assert ykman("--device", str(ONE), "oath", "access", "change", "-n", PASSWORD).exit_code == 0
    which = failed(hwotp("key", "reset", "--force"), ExitCode.USAGE)
    assert str(ONE) in which and str(TWO) in which and "--device" in which
    refused = failed(hwotp("key", "reset", "--device", str(ONE)), ExitCode.CANCELLED)
    assert "nothing reset" in refused and "--force" in refused
    assert [names_on(key, PASSWORD) for key in rig.keys] == [{b"Site:alice"}] * 2
    # A reset needs no password, wipes the credentials and the password, and only that key.
    reset = ok(hwotp("key", "reset", "--force", "--device", str(ONE), stdin=""))
    assert reset.stderr.splitlines() == [f"Reset the OATH applet of the YubiKey {ONE}."]
    assert [names_on(key) for key in rig.keys] == [set(), {b"Site:alice"}]
    after = ok(hwotp("list", "--json", "--device", str(ONE), stdin=""))
    assert json.loads(after.stdout) == []
    assert ykman("--device", str(ONE), "oath", "accounts", "list", stdin="").exit_code == 0


# --- a key pulled out at every APDU of an enrolment -----------------------------------------


@pytest.mark.parametrize("touch", [False, True], ids=["no-touch", "touch"])
@pytest.mark.parametrize("fault", ["pull_after", "pull_during"])
def test_a_key_pulled_at_every_apdu_of_an_enrol(plug_keys, hwotp, vault_path, fault, touch):
    """pull_after=N: APDU n never arrives; pull_during=N: APDU n is carried out and its answer
    lost. Whatever is left is named with the command that shows it, and a rerun finds it."""
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    options = () if touch else ("--no-touch",)
    ok(hwotp("keys"))  # the serial is known: the enrolment below is what a user's costs
    before = key.log.count
    ok(hwotp("enroll", "--uri", GITHUB, *options))
    records = key.log.records[before:]
    put_at = [record.ins for record in records].index(0x01) + 1  # 1-based, within the enrol
    assert 3 <= put_at < len(records)
    session(key).delete_credential(b"GitHub:alice")
    for n in range(1, len(records) + 1):
        setattr(key.faults, fault, key.log.count + (n - 1 if fault == "pull_after" else n))
        result = hwotp("enroll", "--uri", GITHUB, *options)
        message = failed(result, ExitCode.KEY_UNAVAILABLE)
        # An enrol reads the serial from the management applet first (SELECT, READ CONFIG):
        # pulled before that, the key can only be named by its reader.
        reader = "the YubiKey in Yubico YubiKey OTP+FIDO+CCID 00 00"
        who = f"YubiKey {ONE}" if n > 2 else reader
        lost = f"hwotp: {who} stopped answering (pulled out, or used by another program)"
        left = (f" (GitHub:alice may be on the YubiKey {ONE}: `hwotp list --device {ONE}` "
                "shows whether it is)")
        if n < put_at:  # before the write: nothing to check
            assert message == lost, n
        elif n == put_at:  # the PUT itself: the user is told how to see whether it landed
            assert message == f"{lost} while GitHub:alice was being written{left}", n
        else:
            assert message == (f"{lost} after GitHub:alice was written to it, before its code "
                               f"could be checked{left}"), n
        replug(rig, ONE)
        listed = json.loads(ok(hwotp("list", "--json", "--no-vault")).stdout)
        on_key = [item["name"] for item in listed]
        written = n > put_at or (fault == "pull_during" and n == put_at)
        assert on_key == (["GitHub:alice"] if written else []), (n, put_at)
        if on_key:  # the rerun finds it (compared on the key, a touch for a touch credential)
            again = ok(hwotp("enroll", "--uri", GITHUB, *options))
            assert (f"GitHub:alice: already on the YubiKey {ONE}, same secret; not written "
                    "again.") in again.stderr
            assert codes_printed(again.stdout) == {"GitHub:alice": totp()}
            assert (f"Touch your YubiKey {ONE} to compare GitHub:alice with the one on it"
                    in again.stderr) == touch
            session(key).delete_credential(b"GitHub:alice")
    assert not vault_path.exists()


def test_a_key_plugged_in_a_moment_late_is_waited_for(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    bridge = rig.bridge(ONE)
    bridge.pull_out()  # the reader stays, empty: as a key being plugged in
    wait_until_pcscd_sees_no_card()
    plugging = threading.Thread(target=bridge.plug_in)
    plugging.start()  # in again after a second (the bridge keeps a pulled key out that long)
    try:
        listed = ok(hwotp("list", "--no-vault", "--json"))
    finally:
        plugging.join()
    assert json.loads(listed.stdout) == []


def test_after_a_pull_the_same_enrol_works(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    key.faults.pull_after = key.log.count + 2
    failed(hwotp("enroll", "--uri", GITHUB), ExitCode.KEY_UNAVAILABLE)
    replug(rig, ONE)
    result = ok(hwotp("enroll", "--uri", GITHUB))
    assert codes_printed(result.stdout) == {"GitHub:alice": totp()}
    assert names_on(key) == {b"GitHub:alice"}


# --- interop with the ykman CLI -------------------------------------------------------------


def test_ykman_reads_what_hwotp_wrote(plug_keys, hwotp, ykman):
    plug_keys(KeyConfig(serial=ONE, touch="auto", touch_delay=0.1))
    ok(hwotp("enroll", "--uri", GITHUB))  # touch by default
    ok(hwotp("enroll", "--uri", PERIOD_60, "--no-touch"))
    ok(hwotp("enroll", "--secret", SECRET_C, "--issuer", "Acme", "--account", "eve",
             "--digits", "8", "--algorithm", "SHA256", "--no-touch"))
    listed = ykman("oath", "accounts", "list")
    assert sorted(listed.stdout.splitlines()) == ["60/Slow:alice", "Acme:eve", "GitHub:alice"]
    codes = ykman("oath", "accounts", "code").stdout
    assert any("GitHub:alice" in line and "[Requires Touch]" in line
               for line in codes.splitlines())
    cases = [
        ("Acme", lambda: pyotp.TOTP(SECRET_C, digits=8, digest="sha256")),
        ("Slow", lambda: pyotp.TOTP(SECRET_B, interval=60)),
        ("GitHub", lambda: pyotp.TOTP(SECRET)),
    ]
    for query, make in cases:
        output, expected = pyotp_codes_around(
            make, lambda q=query: ykman("oath", "accounts", "code", "-s", q).stdout)
        assert output.strip() in expected, query


def test_hwotp_reads_what_ykman_wrote(plug_keys, hwotp, ykman):
    rig = plug_keys(KeyConfig(serial=ONE))
    for args in (
        ("--digits", "8", "--algorithm", "SHA256", "Acme:eve", SECRET_C),
        ("--oath-type", "HOTP", "--counter", "3", "Bank:bob", SECRET_B),
        ("--touch", "Mail:carol", SECRET),
        ("--period", "60", "Slow:dave", SECRET_B),
    ):
        added = ykman("oath", "accounts", "add", *args)
        assert added.exit_code == 0, added.stderr
    assert names_on(rig.keys[0]) == {b"Acme:eve", b"Bank:bob", b"Mail:carol", b"60/Slow:dave"}
    listed = {item["name"]: item for item in json.loads(ok(hwotp("list", "--json")).stdout)}
    assert {name: (item["kind"], item["algorithm"], item["digits"], item.get("period"),
                   item["touch"]) for name, item in listed.items()} == {
        "Acme:eve": ("totp", "SHA256", 8, 30, False),
        "Bank:bob": ("hotp", "SHA1", 6, None, False),  # HOTP has no period
        "Mail:carol": ("totp", "SHA1", 6, 30, True),
        "Slow:dave": ("totp", "SHA1", 6, 60, False),
    }
    assert codes_printed(ok(hwotp("code")).stdout) == {
        "Acme:eve": totp(SECRET_C, digits=8, digest="sha256")
    }
    assert codes_printed(ok(hwotp("code", "bank")).stdout) == {
        "Bank:bob": pyotp.HOTP(SECRET_B).at(3)
    }
    assert codes_printed(ok(hwotp("code", "mail")).stdout) == {"Mail:carol": totp()}
    assert codes_printed(ok(hwotp("code", "slow")).stdout) == {
        "Slow:dave": totp(SECRET_B, interval=60)
    }


def test_key_password_set_on_a_protected_key_says_so_without_asking(plug_keys, hwotp):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    ok(hwotp("key", "password", "set", env={"HWOTP_NEW_OATH_PASSWORD": "first"}))
    again = hwotp("key", "password", "set", stdin="")  # no password anywhere: none is needed
    message = failed(again, ExitCode.USAGE)
    assert "has a password already; use change" in message
    assert key.oath.access_key is not None
