"""The vault's backup (issue 12, item 7): a passphrase change or a removed slot leaves no file
that opens the old way; a damaged vault names its backup and the commands that check and
restore it; `vault check [--backup]` and `vault restore-backup`. Through the installed script."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from helpers.cli import Run, codes_printed, failed, ok
from helpers.keys import pyotp_codes_around
from helpers.processes import run_hwotp, vault_env
from helpers.samples import GITHUB, SECRET
from hwotp.errors import ExitCode

GITLAB = GITHUB.replace("GitHub", "GitLab").replace(SECRET, SECRET[::-1])
NEW = "second words of the vault"
REMOVED = "a passphrase later removed"


@pytest.fixture
def hwotp_script_in(tmp_path: Path, no_pcscd):
    vault = tmp_path / "data" / "vault.hwotp"

    def run(*args: str, stdin: str | None = None, **extra: str | None) -> Run:
        """`extra` settings; one set to None is left out (no HWOTP_PASSPHRASE)."""
        env = {name: value for name, value in {**vault_env(vault), **extra}.items()
               if value is not None}
        done = run_hwotp(*args, env=env, input=stdin)
        return Run(done.returncode, done.stdout, done.stderr)

    run.vault = vault
    run.backup = vault.with_name("vault.hwotp.bak")
    return run


def test_a_changed_passphrase_does_not_open_the_backup(hwotp_script_in):
    run = hwotp_script_in
    ok(run("enroll", "--uri", GITHUB))
    ok(run("enroll", "--uri", GITLAB))  # the backup: the vault before GitLab
    assert "1 credential," in ok(run("vault", "check", "--backup")).stderr
    changed = ok(run("vault", "passphrase", HWOTP_NEW_PASSPHRASE=NEW))
    assert f"and of its backup {run.backup}" in changed.stderr
    for path in ("", "--backup"):
        args = ["vault", "check", *([path] if path else [])]
        refused = failed(run(*args), ExitCode.WRONG_PASSPHRASE)
        # The vault opens as every command opens it; the backup names itself.
        assert refused == (f"hwotp: {run.backup} does not open with that passphrase" if path
                           else "hwotp: wrong passphrase")
        checked = ok(run(*args, HWOTP_PASSPHRASE=NEW))
        assert checked.stderr.startswith(f"{run.backup if path else run.vault} is intact: "
                                         "2 credentials, 1 key slot, generation")


def test_a_removed_passphrase_does_not_open_the_backup(hwotp_script_in):
    run = hwotp_script_in
    ok(run("enroll", "--uri", GITHUB))
    ok(run("vault", "slots", "add-passphrase", HWOTP_NEW_PASSPHRASE=REMOVED))
    ok(run("vault", "check", "--backup"))  # before the add: opens with the first passphrase
    slots = ok(run("vault", "slots", "--json", HWOTP_PASSPHRASE=REMOVED)).stdout
    (removed,) = [slot["id"] for slot in json.loads(slots) if slot["opened_this_time"]]
    ok(run("vault", "slots", "remove", removed))
    for path in ("", "--backup"):
        args = ["vault", "check", *([path] if path else [])]
        failed(run(*args, HWOTP_PASSPHRASE=REMOVED), ExitCode.WRONG_PASSPHRASE)
        assert "1 credential, 1 key slot" in ok(run(*args)).stderr


def test_a_damaged_vault_names_its_backup_which_is_checked_and_restored(hwotp_script_in):
    run = hwotp_script_in
    ok(run("enroll", "--uri", GITHUB))
    ok(run("enroll", "--uri", GITLAB))
    damaged = bytearray(run.vault.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    run.vault.write_bytes(bytes(damaged))
    message = failed(run("list"), ExitCode.VAULT_DAMAGED)
    assert message == (f"hwotp: the vault file is damaged or was modified; the previous version "
                       f"is in {run.backup}; `hwotp vault check --backup` checks that it opens, "
                       "`hwotp vault restore-backup` puts it back")
    assert "damaged" in failed(run("vault", "check"), ExitCode.VAULT_DAMAGED)
    checked = ok(run("vault", "check", "--backup"))
    assert checked.stderr.startswith(f"{run.backup} is intact: 1 credential, 1 key slot")
    refused = failed(run("vault", "restore-backup", stdin=""), ExitCode.CANCELLED)
    assert refused == "hwotp: nothing restored: there is no terminal to confirm; pass --force"
    wrong = run("vault", "restore-backup", "--force", HWOTP_PASSPHRASE="not the one")
    failed(wrong, ExitCode.WRONG_PASSPHRASE)
    assert run.vault.read_bytes() == bytes(damaged)
    restored = ok(run("vault", "restore-backup", "--force"))
    assert restored.stderr == (
        f"Restored {run.vault} from {run.backup}: 1 credential; HOTP counters and used "
        "recovery codes go back to the backup's too.\n")
    assert run.vault.read_bytes() == run.backup.read_bytes()
    runs = []
    output, expected = pyotp_codes_around(
        lambda: pyotp.TOTP(SECRET), lambda: runs.append(ok(run("code", "github"))) or
        runs[0].stdout)
    assert codes_printed(output)["GitHub:alice"] in expected
    assert "warning" not in runs[0].stderr  # an older generation on purpose: no rollback


def test_a_damaged_backup_is_never_restored(hwotp_script_in):
    run = hwotp_script_in
    ok(run("enroll", "--uri", GITHUB))
    ok(run("enroll", "--uri", GITLAB))
    vault = run.vault.read_bytes()
    backup = bytearray(run.backup.read_bytes())
    backup[-40] ^= 0x01
    run.backup.write_bytes(bytes(backup))
    message = failed(run("vault", "restore-backup", "--force"), ExitCode.VAULT_DAMAGED)
    assert message.startswith(f"hwotp: {run.backup}: the vault file is damaged or was modified")
    assert run.vault.read_bytes() == vault
    run.backup.unlink()
    missing = failed(run("vault", "check", "--backup"), ExitCode.NOT_FOUND)
    assert missing == f"hwotp: there is no backup at {run.backup}"
    failed(run("vault", "restore-backup", "--force"), ExitCode.NOT_FOUND)


def test_a_vault_without_a_passphrase_is_checked_and_restored_with_its_recovery_key(
    hwotp_script_in,
):
    """Security key and recovery key, no passphrase slot (as the README suggests): damage is
    said before anything is asked, and the recovery key typed where the passphrase is asked
    checks and restores the backup."""
    run = hwotp_script_in
    ok(run("enroll", "--uri", GITHUB))
    written = ok(run("vault", "recovery-key", "--force")).stdout.strip()
    slots = json.loads(ok(run("vault", "slots", "--json")).stdout)
    (passphrase_slot,) = [slot["id"] for slot in slots if slot["type"] == "scrypt"]
    ok(run("vault", "slots", "remove", passphrase_slot, HWOTP_PASSPHRASE=written))
    ok(run("enroll", "--uri", GITLAB, HWOTP_PASSPHRASE=written))  # the backup: before GitLab
    damaged = bytearray(run.vault.read_bytes())
    damaged[-40] ^= 0x01
    run.vault.write_bytes(bytes(damaged))
    for args in (("code",), ("list",), ("vault", "check")):
        nobody = failed(run(*args, stdin="", HWOTP_PASSPHRASE=None), ExitCode.VAULT_DAMAGED)
        assert nobody.startswith("hwotp: the vault file is damaged or was modified; the "
                                 f"previous version is in {run.backup}")
    passphrase = run("vault", "check", "--backup")  # the passphrase it no longer has
    assert failed(passphrase, ExitCode.WRONG_PASSPHRASE) == (
        f"hwotp: {run.backup} does not open with that passphrase")
    checked = ok(run("vault", "check", "--backup", stdin=written + "\n", HWOTP_PASSPHRASE=None))
    assert checked.stderr.startswith(f"{run.backup} is intact: 1 credential, 1 key slot")
    typo = written[:-1] + ("0" if written[-1] != "0" else "1")
    refused = failed(run("vault", "restore-backup", "--force", HWOTP_PASSPHRASE=typo),
                     ExitCode.WRONG_PASSPHRASE)
    assert refused == (f"hwotp: {run.backup} does not open with that passphrase; read as a "
                       "recovery key, group 8 has a typo (its last character does not match)")
    assert run.vault.read_bytes() == bytes(damaged)
    restored = ok(run("vault", "restore-backup", "--force", stdin=written + "\n",
                      HWOTP_PASSPHRASE=None))
    assert restored.stderr == (
        f"Restored {run.vault} from {run.backup}: 1 credential; HOTP counters and used "
        "recovery codes go back to the backup's too.\n")
    assert "GitHub:alice" in ok(run("list", HWOTP_PASSPHRASE=written)).stdout
