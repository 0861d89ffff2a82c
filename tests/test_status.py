"""`hwotp status` (issue 10, item 9): the rules of what one lost device locks out, as unit tests
of the pure use case, then the installed script against two virtual YubiKeys and the vault."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from helpers.cli import failed, ok
from helpers.keys import ONE, TWO, put
from helpers.processes import hwotp_script
from helpers.processes import vault_env as user_env
from helpers.samples import GITHUB, PASSPHRASE
from hwotp.errors import ExitCode
from hwotp.recovery import new_set
from hwotp.usecases.status import (
    DAY,
    Fix,
    KeyHolding,
    VaultState,
    VaultView,
    WayIn,
    analyse,
    ways_in,
)
from hwotp.vault import SlotInfo
from virtualkey.key import KeyConfig

NOW = 1_800_000_000.0
KEY_1 = KeyHolding(f"YubiKey {ONE}", ONE, ["Mail:alice", "Bank:bob", "_hidden:spare"])
KEY_2 = KeyHolding(f"YubiKey {TWO}", TWO, ["Mail:alice"])
PASSPHRASE_WAY = WayIn("0a0b0c0d", "passphrase", usable=True, device=False)
SECOND_PASSPHRASE = WayIn("1a1b1c1d", "passphrase", usable=True, device=False)
CODES = [f"code-{n:04d}" for n in range(5)]


def vault(*names: str, ways=(PASSPHRASE_WAY,), recovery=()) -> VaultView:
    return VaultView(VaultState.OPEN, names, list(recovery), list(ways))


def risks(keys, view, now=NOW) -> dict[str, list[tuple[str, tuple[Fix, ...]]]]:
    found: dict[str, list[tuple[str, tuple[Fix, ...]]]] = {}
    for risk in analyse(keys, view, now).risks:
        found.setdefault(risk.name, []).append((risk.problem, risk.fixes))
    return found



def vault_env(vault_path, **extra: str) -> dict[str, str]:
    """A user's environment with the throwaway vault, and this test's own cache and config
    (the autouse fixtures' folders), so no run touches the user's."""
    own = {name: os.environ[name] for name in ("HWOTP_CACHE_DIR", "HWOTP_CONFIG")}
    return user_env(vault_path, **own, **extra)

# --- the rules --------------------------------------------------------------------------------


def test_an_account_on_one_key_and_nowhere_else_is_named_with_its_fixes():
    found = risks([KEY_1, KEY_2], vault("GitHub:alice", ways=(PASSPHRASE_WAY, SECOND_PASSPHRASE)))
    # Mail:alice is on two keys, GitHub:alice in a vault with two ways in: neither is at risk;
    # the hidden credential is no account.
    assert found == {"Bank:bob": [(
        f"only on the YubiKey {ONE}, and no recovery codes: losing that key locks you out",
        (Fix.ALL_KEYS, Fix.ALSO_VAULT, Fix.RECOVERY_ADD),
    )]}


def test_a_vault_copy_or_recovery_codes_left_save_a_one_key_account():
    two_ways = (PASSPHRASE_WAY, SECOND_PASSPHRASE)
    assert "Bank:bob" not in risks([KEY_1], vault("Bank:bob", ways=two_ways))
    with_codes = vault(ways=two_ways, recovery=[new_set("Bank", CODES)])
    assert "Bank:bob" not in risks([KEY_1], with_codes)
    # Codes all used are no way back.
    spent = new_set("Bank", CODES)
    for index in range(len(CODES)):
        spent = spent.with_used(index)
    found = risks([KEY_1], vault(ways=two_ways, recovery=[spent]))
    assert [problem for problem, _ in found["Bank:bob"]] == [
        f"only on the YubiKey {ONE}, and no recovery codes: losing that key locks you out",
        "every recovery code is used",
    ]


def test_the_vault_with_one_way_in_and_what_lives_only_there():
    found = risks([KEY_1, KEY_2], vault("GitHub:alice", "Mail:alice"))
    assert found["vault"] == [(
        "it opens only one way: forgetting its passphrase locks out all it holds (2 accounts)",
        (Fix.ADD_WAY,),
    )]
    # GitHub:alice lives only in it; Mail:alice is on the keys as well.
    assert found["GitHub:alice"] == [(
        "only in the vault, which opens only one way, and no recovery codes",
        (Fix.ADD_WAY, Fix.VAULT_PUSH, Fix.RECOVERY_ADD),
    )]
    assert "Mail:alice" not in found
    # An empty vault with one way in loses nothing.
    assert "vault" not in risks([KEY_1, KEY_2], vault())


def test_a_device_as_the_only_way_in_and_keys_not_proven_lately():
    key_way = WayIn("2a2b2c2d", "security key", usable=True, device=True, drilled=True,
                    label="blue", last_verified=NOW - 10 * DAY)
    found = risks([], vault("GitHub:alice", ways=(key_way,)))
    assert found["vault"][0][0].startswith("it opens only one way: losing the security key blue")
    stale = WayIn("3a3b3c3d", "security key", usable=True, device=True, drilled=True, label="red",
                  last_verified=NOW - 91 * DAY)
    never = WayIn("4a4b4c4d", "security key", usable=True, device=True, drilled=True,
                  label="green")
    found = risks([], vault("GitHub:alice", ways=(PASSPHRASE_WAY, key_way, stale, never)))
    assert found == {
        "the security key red": [("it has not for 91 days proven that it opens the vault",
                                  (Fix.VERIFY,))],
        "the security key green": [("it has never proven that it opens the vault",
                                    (Fix.VERIFY,))],
    }


def test_a_way_this_hwotp_cannot_use_is_no_second_way_in():
    foreign = WayIn("5a5b5c5d", "future-type", usable=False, device=False)
    assert "vault" in risks([], vault("GitHub:alice", ways=(PASSPHRASE_WAY, foreign)))


def test_slots_map_to_ways_in_and_unknown_types_keep_their_name():
    slots = [SlotInfo("0a0b0c0d", "scrypt", True),
             SlotInfo("2a2b2c2d", "fido2-hmac-secret", True, label="blue", last_verified=5),
             SlotInfo("6a6b6c6d", "recovery-key", True, last_verified=7),
             SlotInfo("9a9b9c9d", "argon2id", False)]
    assert ways_in(slots) == [
        PASSPHRASE_WAY,
        WayIn("2a2b2c2d", "security key", usable=True, device=True, label="blue",
              last_verified=5, drilled=True),
        WayIn("6a6b6c6d", "recovery key", usable=True, device=True, last_verified=7),
        WayIn("9a9b9c9d", "argon2id", usable=False, device=False),
    ]


def test_a_recovery_key_is_not_asked_for_the_security_key_drill():
    recovery = WayIn("6a6b6c6d", "recovery key", usable=True, device=True)  # never drilled
    stale_key = WayIn("3a3b3c3d", "security key", usable=True, device=True, drilled=True)
    found = risks([], vault("GitHub:alice", ways=(PASSPHRASE_WAY, recovery, stale_key)))
    assert "the security key 3a3b3c3d" in found
    assert not any("6a6b6c6d" in name for name in found)


def test_recovery_codes_belong_to_one_account_by_name_or_its_only_issuer():
    sets = [new_set("Mail", CODES), new_set("GitHub", CODES), new_set("Bank:bob", CODES[:2])]
    keys = [KeyHolding("YubiKey 1", 1, ["Mail:alice", "GitHub:alice", "GitHub:work",
                                        "Bank:bob"])]
    report = analyse(keys, vault(ways=(PASSPHRASE_WAY, SECOND_PASSPHRASE), recovery=sets), NOW)
    by_name = {account.name: account.recovery for account in report.accounts}
    # GitHub has two accounts here: its codes could be either's, so they are nobody's.
    assert by_name == {"Bank:bob": sets[2], "GitHub:alice": None, "GitHub:work": None,
                       "Mail:alice": sets[0]}
    assert report.unmatched_recovery == [sets[1]]
    found = risks(keys, vault(ways=(PASSPHRASE_WAY, SECOND_PASSPHRASE), recovery=sets))
    assert found["Bank:bob"] == [("only 2 recovery codes left", (Fix.NEW_CODES,))]


def test_with_the_vault_left_out_nothing_is_claimed_for_certain():
    report = analyse([KEY_1], VaultView(VaultState.LEFT_OUT), NOW)
    assert {a.name: a.in_vault for a in report.accounts} == {"Bank:bob": None, "Mail:alice": None}
    assert [(r.name, r.certain) for r in report.risks] == [("Bank:bob", False), ("Mail:alice",
                                                                                  False)]
    assert report.risks[0].problem.startswith(f"only on the YubiKey {ONE} as far as hwotp can "
                                              "tell (the vault was left out)")


# --- the command, as a user runs it -----------------------------------------------------------


def status_of(run_on_keys, vault_path, *args: str, **extra: str):
    return run_on_keys([hwotp_script(), "status", *args], env=vault_env(vault_path, **extra))


def test_status_json_against_two_keys_and_the_vault(plug_keys, run_on_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    put(rig.keys[0], "alice", "Mail")
    put(rig.keys[1], "alice", "Mail")
    put(rig.keys[0], "bob", "Bank")
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    ok(hwotp("recovery", "add", "GitHub", stdin="".join(f"{c}\n" for c in CODES)))
    result = ok(status_of(run_on_keys, vault_path, "--json"))
    report = json.loads(result.stdout)
    assert set(report) == {"keys", "vault", "accounts", "unmatched_recovery_codes", "risks"}
    assert report["keys"] == [{"serial": ONE, "label": f"YubiKey {ONE}"},
                              {"serial": TWO, "label": f"YubiKey {TWO}"}]
    assert report["vault"]["state"] == "open"
    assert report["vault"]["path"] == str(vault_path)
    (way,) = report["vault"]["ways_in"]
    assert (way["kind"], way["usable"], way["device"]) == ("passphrase", True, False)
    assert report["accounts"] == [
        {"name": "Bank:bob", "keys": [ONE], "vault": False, "recovery_codes": None},
        {"name": "GitHub:alice", "keys": [], "vault": True,
         "recovery_codes": {"service": "GitHub", "left": 5, "total": 5}},
        {"name": "Mail:alice", "keys": [ONE, TWO], "vault": False, "recovery_codes": None},
    ]
    assert report["unmatched_recovery_codes"] == []
    assert [(r["subject"], r["name"]) for r in report["risks"]] == [
        ("vault", "vault"), ("account", "Bank:bob")]
    assert report["risks"][1]["fixes"] == [
        "hwotp enroll --all-keys --force (its QR code again, every key plugged in)",
        "hwotp enroll --also-vault --force (its QR code again)",
        "hwotp recovery add 'Bank'",
    ]
    assert not any(code in result.stdout + result.stderr for code in CODES)


def test_status_for_people_and_the_fix_taking_effect(plug_keys, run_on_keys, hwotp, vault_path):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    put(rig.keys[0], "bob", "Bank")
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    shown = ok(status_of(run_on_keys, vault_path))
    lines = shown.stdout.splitlines()
    assert lines[:4] == ["Accounts:", f"  Bank:bob      YubiKey {ONE}", "  GitHub:alice  vault",
                         "The vault opens with:"]
    assert lines[4].endswith("  passphrase")
    assert "What one loss would lock out:" in shown.stdout
    assert f"  Bank:bob: only on the YubiKey {ONE}, and no recovery codes" in shown.stdout
    assert shown.stderr.startswith("Only the YubiKeys plugged in now are counted")
    # The fixes: recovery codes for Bank, and a second passphrase for the vault.
    ok(hwotp("recovery", "add", "Bank", stdin="".join(f"{c}\n" for c in CODES)))
    ok(hwotp("vault", "slots", "add-passphrase", "--weak-passphrase",
             env={"HWOTP_NEW_PASSPHRASE": "a second passphrase 42"}))
    fixed = ok(status_of(run_on_keys, vault_path))
    assert "No single lost key locks you out of an account." in fixed.stdout
    assert f"  Bank:bob      YubiKey {ONE}  recovery codes: 5 of 5 left" in fixed.stdout


def test_without_a_passphrase_the_vault_is_left_out_as_in_list(plug_keys, run_on_keys, hwotp,
                                                               vault_path):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "bob", "Bank")
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    env = {k: v for k, v in vault_env(vault_path).items() if k != "HWOTP_PASSPHRASE"}
    result = ok(run_on_keys([hwotp_script(), "status", "--json"], stdin="", env=env))
    assert "The vault was left out: no passphrase" in result.stderr
    report = json.loads(result.stdout)
    assert report["vault"]["state"] == "left out"
    assert report["accounts"] == [
        {"name": "Bank:bob", "keys": [ONE], "vault": None, "recovery_codes": None}]
    assert report["risks"][0]["certain"] is False


@pytest.mark.usefixtures("no_pcscd")
def test_no_key_and_a_wrong_passphrase_is_one_sentence(hwotp):
    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    wrong = hwotp("status", passphrase="not the passphrase")
    assert failed(wrong, ExitCode.WRONG_PASSPHRASE) == "hwotp: wrong passphrase"
    assert PASSPHRASE not in wrong.everything


def test_with_no_key_and_no_passphrase_the_report_says_what_it_cannot_know(
    hwotp, vault_path, no_pcscd
):
    ok(hwotp("enroll", "--in-vault", "--uri", GITHUB))
    env = vault_env(vault_path)
    del env["HWOTP_PASSPHRASE"]  # and no terminal: nobody can open the vault
    done = subprocess.run([hwotp_script(), "status", "--json"], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["vault"]["state"] == "left out"
    assert report["keys"] == []
