"""Copies are one credential for `delete` and `rename` (issue 12, item 4): both act on every copy
present (each key plugged in, by serial, and the vault), report each, and name the keys they
checked; --device / --in-vault limit them; a failure part-way says which copies were done.
Through the installed script on two virtual keys, and in-process for the failures."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE, TWO, names_on, put, pyotp_codes_around, replug, session
from helpers.processes import hwotp_script
from helpers.samples import GITHUB, PASSPHRASE, SECRET
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

CHECKED_BOTH = f"Checked the YubiKey {ONE} and the YubiKey {TWO}: a copy on a key not plugged in"


@pytest.fixture
def everywhere(plug_keys, hwotp):
    """GitHub:alice on both keys and in the vault; the rig."""
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch", "--all-keys", "--also-vault"))
    return rig


def places(hwotp, name: str) -> list[str]:
    listed = json.loads(ok(hwotp("list", "--json")).stdout)
    return sorted(item["location"] for item in listed if item["name"] == name)


def test_delete_and_rename_act_on_every_copy_through_the_script(everywhere, run_on_keys,
                                                                vault_path: Path):
    env = {"HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": PASSPHRASE}
    renamed = ok(run_on_keys([hwotp_script(), "rename", "github", "GitHub:work"], env=env))
    assert renamed.stderr.splitlines() == [
        f"Renamed GitHub:alice to GitHub:work in the YubiKey {ONE}.",
        f"Renamed GitHub:alice to GitHub:work in the YubiKey {TWO}.",
        "Renamed GitHub:alice to GitHub:work in the vault.",
        f"{CHECKED_BOTH} keeps its old name.",
    ]
    assert [names_on(key) for key in everywhere.keys] == [{b"GitHub:work"}] * 2
    for where in (["--device", str(ONE)], ["--device", str(TWO)]):
        output, expected = pyotp_codes_around(lambda: pyotp.TOTP(SECRET), lambda w=where: ok(
            run_on_keys([hwotp_script(), "code", "GitHub:work", "--no-vault", *w], env=env)).stdout)
        assert codes_printed(output)["GitHub:work"] in expected, where
    listed = json.loads(ok(run_on_keys([hwotp_script(), "list", "--json"], env=env)).stdout)
    assert sorted((item["name"], item["location"]) for item in listed) == [
        ("GitHub:work", f"YubiKey {ONE}"), ("GitHub:work", f"YubiKey {TWO}"),
        ("GitHub:work", "vault")]
    refused = run_on_keys([hwotp_script(), "delete", "work"], env=env, stdin="")
    assert failed(refused, ExitCode.CANCELLED).endswith("pass --force")
    deleted = ok(run_on_keys([hwotp_script(), "delete", "work", "--force"], env=env))
    assert deleted.stderr.splitlines() == [
        f"Deleted GitHub:work from the YubiKey {ONE}.",
        f"Deleted GitHub:work from the YubiKey {TWO}.",
        "Deleted GitHub:work from the vault.",
        f"{CHECKED_BOTH} stays there.",
    ]
    assert [names_on(key) for key in everywhere.keys] == [set(), set()]
    listed = ok(run_on_keys([hwotp_script(), "list", "--json"], env=env))
    assert json.loads(listed.stdout) == []


def test_device_and_in_vault_limit_delete_and_rename(everywhere, hwotp):
    ok(hwotp("rename", "github", "GitHub:two", "--device", str(TWO)))
    assert [names_on(key) for key in everywhere.keys] == [{b"GitHub:alice"}, {b"GitHub:two"}]
    assert places(hwotp, "GitHub:alice") == [f"YubiKey {ONE}", "vault"]
    only_vault = ok(hwotp("delete", "GitHub:alice", "--in-vault", "--force"))
    assert only_vault.stderr.splitlines() == ["Deleted GitHub:alice from the vault."]
    assert places(hwotp, "GitHub:alice") == [f"YubiKey {ONE}"]
    one = ok(hwotp("delete", "alice", "--device", str(ONE), "--force"))
    assert one.stderr.splitlines() == [
        f"Deleted GitHub:alice from the YubiKey {ONE}.",
        f"Checked the YubiKey {ONE}: a copy on any other key (not chosen by --device, or not "
        "plugged in) stays there.",
    ]
    assert [names_on(key) for key in everywhere.keys] == [set(), {b"GitHub:two"}]
    for contradiction in (["--device", str(ONE)], ["--no-vault"]):
        message = failed(hwotp("delete", "two", "--in-vault", "--force", *contradiction),
                         ExitCode.USAGE)
        assert message.startswith("hwotp: --in-vault acts on the vault only; leave out "
                                  "--device, --reader and --no-vault")
    assert names_on(everywhere.keys[1]) == {b"GitHub:two"}


def test_a_name_taken_in_any_copy_s_store_renames_none(everywhere, hwotp):
    ok(hwotp("enroll", "--uri", GITHUB.replace("alice", "work"), "--in-vault"))
    message = failed(hwotp("rename", "GitHub:alice", "GitHub:work"), ExitCode.EXISTS)
    assert message == ("hwotp: another credential in the vault already has that name "
                       "(nothing renamed)")
    assert [names_on(key) for key in everywhere.keys] == [{b"GitHub:alice"}] * 2
    assert places(hwotp, "GitHub:alice") == [f"YubiKey {ONE}", f"YubiKey {TWO}", "vault"]


def test_a_key_pulled_out_during_a_delete_says_which_copies_went(everywhere, hwotp):
    second = everywhere.keys[1]
    before = second.log.count
    ok(hwotp("delete", "github", "--force"))  # to see where the DELETE comes on that key
    records = second.log.records[before:]
    delete_at = [record.ins for record in records].index(0x02)
    ok(hwotp("enroll", "--uri", GITHUB, "--no-touch", "--all-keys", "--also-vault"))
    second.faults.pull_after = second.log.count + delete_at  # its DELETE never arrives
    result = hwotp("delete", "github", "--force")
    message = failed(result, ExitCode.KEY_UNAVAILABLE)
    assert message.startswith(f"hwotp: YubiKey {TWO} stopped answering")
    assert message.endswith(f"(deleted from the YubiKey {ONE} only; not from the YubiKey {TWO} "
                            "or the vault)")
    assert result.stderr.splitlines()[0] == f"Deleted GitHub:alice from the YubiKey {ONE}."
    assert names_on(everywhere.keys[0]) == set()
    assert names_on(second) == {b"GitHub:alice"}
    replug(everywhere, TWO)
    assert places(hwotp, "GitHub:alice") == [f"YubiKey {TWO}", "vault"]


def test_a_rename_failing_on_one_key_renames_none(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(5, 2, 7)))
    for key in rig.keys:
        put(key, "alice", "GitHub")
    message = failed(hwotp("rename", "github", "GitHub:work", "--no-vault"),
                     ExitCode.NOT_SUPPORTED)
    assert f"the YubiKey {TWO} has 5.2.7" in message and message.endswith("(nothing renamed)")
    assert [names_on(key) for key in rig.keys] == [{b"GitHub:alice"}] * 2


def test_a_locked_key_stops_a_delete_before_any_copy_goes(everywhere, hwotp):
    session(everywhere.keys[1]).set_key(b"\x01" * 16)  # a password hwotp is not given
    message = failed(hwotp("delete", "github", "--force", stdin=""), ExitCode.CANCELLED)
    assert message.startswith(f"hwotp: no OATH password for YubiKey {TWO}")
    assert names_on(everywhere.keys[0]) == {b"GitHub:alice"}


def test_all_keys_with_device_is_a_usage_error(plug_keys, hwotp, vault_path: Path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    message = failed(hwotp("enroll", "--uri", GITHUB, "--all-keys", "--device", str(ONE)),
                     ExitCode.USAGE)
    assert message.startswith("hwotp: --all-keys writes to every key present; leave out --device")
    assert [names_on(key) for key in rig.keys] == [set(), set()] and not vault_path.exists()
