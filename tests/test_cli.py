"""The command line over the software vault, in-process, with a fixed clock."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pyotp
import pytest

from helpers.cli import failed, ok
from helpers.samples import FIXED_TIME, GITHUB, PASSPHRASE, SECRET, WIKI_SECRET, LenientTOTP, totp
from hwotp.errors import ExitCode

GITLAB = f"otpauth://totp/GitLab:alice?secret={SECRET[::-1]}&issuer=GitLab&digits=8&period=60"
HOTP_URI = f"otpauth://hotp/Bank:bob?secret={SECRET}&issuer=Bank&counter=5"


def test_enroll_uri_prints_the_code_pyotp_computes(hwotp, vault_path: Path) -> None:
    result = hwotp("enroll", "--uri", GITHUB)
    assert result.exit_code == 0, result.stderr
    assert totp(SECRET) in result.stdout
    assert "GitHub:alice" in result.stderr and "TOTP" in result.stderr
    assert vault_path.exists()


def test_enroll_then_list_and_code(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", GITLAB)
    listing = hwotp("list")
    assert listing.exit_code == 0
    assert "GitHub:alice" in listing.stdout and "GitLab:alice" in listing.stdout
    code = hwotp("code", "gitlab")
    assert code.exit_code == 0
    assert totp(SECRET[::-1], digits=8, interval=60) in code.stdout
    assert "(30 s left)" in code.stdout  # 1234567890 is 30 s into a 60 s step


def test_code_without_query_lists_all_totp_codes(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", GITLAB)
    result = hwotp("code", "--json")
    codes = {item["name"]: item["code"] for item in json.loads(result.stdout)}
    assert codes == {
        "GitHub:alice": totp(SECRET),
        "GitLab:alice": totp(SECRET[::-1], digits=8, interval=60),
    }


def test_all_codes_decrypt_the_vault_once(hwotp, monkeypatch: pytest.MonkeyPatch) -> None:
    from hwotp.vault import Vault

    for n in range(5):
        hwotp("enroll", "--uri", f"otpauth://totp/Site:{n}?secret={SECRET}")
    reads = []
    original = Vault.credentials
    monkeypatch.setattr(Vault, "credentials", lambda self: reads.append(1) or original(self))
    result = hwotp("code", "--json")
    assert len(json.loads(result.stdout)) == 5
    assert len(reads) == 1


def test_list_json_never_holds_the_secret(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    result = hwotp("list", "--json")
    entries = json.loads(result.stdout)
    assert entries[0]["name"] == "GitHub:alice"
    assert entries[0]["location"] == "vault"
    assert SECRET not in result.everything


def test_hotp_counter_moves_only_when_asked(hwotp) -> None:
    enrolled = hwotp("enroll", "--uri", HOTP_URI)
    hotp = pyotp.HOTP(SECRET)
    assert hotp.at(5) in enrolled.stdout  # enrolment proves the write and uses counter 5
    hwotp("code")  # all codes: HOTP is skipped, its counter stays
    hwotp("list")
    assert hwotp("code", "bank").stdout.split()[-1] == hotp.at(6)
    assert hwotp("code", "bank").stdout.split()[-1] == hotp.at(7)


def test_dry_run_stores_nothing(hwotp, vault_path: Path) -> None:
    result = hwotp("enroll", "--uri", GITHUB, "--dry-run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["stored"] is False
    assert data["credentials"][0]["code"] == totp(SECRET)
    assert not vault_path.exists()


def test_enroll_json_reports_code_and_seconds(hwotp) -> None:
    data = json.loads(hwotp("enroll", "--uri", GITHUB, "--json").stdout)
    assert data["stored"] is True
    (entry,) = data["credentials"]
    assert entry["code"] == totp(SECRET)
    assert entry["seconds_left"] == 30  # FIXED_TIME starts a 30 s step
    assert SECRET not in json.dumps(data)


def test_enroll_secret_with_options(hwotp) -> None:
    result = hwotp(
        "enroll",
        "--secret",
        SECRET.lower(),
        "--issuer",
        "Acme",
        "--account",
        "eve",
        "--algorithm",
        "sha256",
        "--digits",
        "7",
        "--period",
        "45",
    )
    assert result.exit_code == 0, result.stderr
    assert totp(SECRET, digits=7, interval=45, digest="sha256") in result.stdout


def test_enroll_secret_from_stdin_keeps_it_off_the_command_line(hwotp) -> None:
    result = hwotp("enroll", "--secret", "-", "--account", "eve", stdin=f"{SECRET}\n")
    assert result.exit_code == 0, result.stderr
    assert totp(SECRET) in result.stdout


def test_short_secret_is_accepted_with_a_warning(hwotp) -> None:
    short = WIKI_SECRET  # 80 bits, as many services still issue
    result = hwotp("enroll", "--secret", short, "--account", "eve")
    assert result.exit_code == 0
    assert "only 80 bits long" in result.stderr
    assert LenientTOTP(short).at(FIXED_TIME) in result.stdout


def test_same_name_twice_is_refused_then_replaced_with_force(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    other = GITHUB.replace(SECRET, SECRET[::-1])
    refused = hwotp("enroll", "--uri", other)
    assert refused.exit_code == ExitCode.EXISTS
    assert totp(SECRET) in hwotp("code", "github").stdout
    assert hwotp("enroll", "--uri", other, "--force").exit_code == 0
    assert totp(SECRET[::-1]) in hwotp("code", "github").stdout


def test_names_identify_credentials_whatever_the_split(hwotp) -> None:
    """`Acme:bob` with issuer Acme and `Acme:bob` as a bare account are one name, as on a key."""
    hwotp("enroll", "--uri", f"otpauth://totp/Acme:bob?secret={SECRET}&issuer=Acme")
    bare = f"otpauth://totp/:Acme:bob?secret={SECRET[::-1]}"
    assert hwotp("enroll", "--uri", bare).exit_code == ExitCode.EXISTS
    replaced = hwotp("enroll", "--uri", bare, "--force")
    assert replaced.exit_code == 0, replaced.stderr
    (item,) = json.loads(hwotp("code", "acme", "--json").stdout)
    assert (item["issuer"], item["code"]) == ("", totp(SECRET[::-1]))


def test_migration_batch_enrols_all_or_the_picked(hwotp) -> None:
    from helpers.migration import entry, payload_bytes
    from helpers.migration import uri as migration_uri

    entries = [
        entry(issuer="GitHub", name="alice", secret=base64.b32decode(SECRET)),
        entry(issuer="Bank", name="bob", secret=b"0123456789abcdef"),
    ]
    uri = migration_uri(payload_bytes(entries, batch_index=1, batch_size=3))
    picked = hwotp("enroll", "--uri", uri, "--pick", "2")
    assert picked.exit_code == 0, picked.stderr
    assert "batch 2 of 3" in picked.stderr
    assert "  2. Bank:bob" in picked.stderr and "Picked 2." in picked.stderr
    assert [e["name"] for e in json.loads(hwotp("list", "--json").stdout)] == ["Bank:bob"]
    everything = hwotp("enroll", "--uri", uri, "--force")
    assert everything.exit_code == 0
    assert len(json.loads(hwotp("list", "--json").stdout)) == 2


def test_pick_out_of_range(hwotp) -> None:
    result = hwotp("enroll", "--uri", GITHUB, "--pick", "3")
    assert result.exit_code == ExitCode.USAGE
    assert "--pick 3" in result.stderr


def test_several_matches_print_every_code_and_delete_lists_candidates(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", GITLAB)
    result = hwotp("code", "alice")
    assert result.exit_code == 0, result.stderr  # as ykman: every match's code
    assert result.stdout.splitlines() == [
        f"GitHub:alice  {totp(SECRET)}    (30 s left)",
        f"GitLab:alice  {totp(SECRET[::-1], digits=8, interval=60)}  (30 s left)",
    ]
    assert hwotp("code", "alice", "--copy").exit_code == ExitCode.NOT_FOUND
    refused = hwotp("delete", "alice", "--force")
    assert refused.exit_code == ExitCode.NOT_FOUND
    assert "GitHub:alice" in refused.stderr and "GitLab:alice" in refused.stderr
    assert hwotp("code", "nobody").exit_code == ExitCode.NOT_FOUND


def test_exact_name_wins_over_substring_matches(hwotp) -> None:
    hwotp("enroll", "--uri", "otpauth://totp/Git:alice?secret=" + SECRET)
    hwotp("enroll", "--uri", GITHUB)
    result = hwotp("code", "git:alice", "--json")
    assert result.exit_code == 0
    assert [item["name"] for item in json.loads(result.stdout)] == ["Git:alice"]


def test_delete_needs_force_without_a_terminal(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    refused = hwotp("delete", "github")
    assert refused.exit_code == ExitCode.CANCELLED
    assert "--force" in refused.stderr
    assert hwotp("delete", "github", "--force").exit_code == 0
    assert json.loads(hwotp("list", "--json").stdout) == []


def _backup_secrets(vault_path: Path) -> set[bytes]:
    """The secrets in the vault's backup file, opened as anyone with the passphrase could."""
    import warnings

    from hwotp.errors import HwotpWarning
    from hwotp.vault import Vault, file

    with warnings.catch_warnings():  # an older generation: its rollback warning is not the point
        warnings.simplefilter("ignore", HwotpWarning)
        backup = Vault.unlock(file.backup_path(vault_path), PASSPHRASE)
    return {credential.secret for credential in backup.credentials()}


@pytest.mark.parametrize("how", ["delete", "enroll --force"])
def test_a_deleted_or_replaced_secret_is_not_left_in_the_backup(
    hwotp, vault_path: Path, how: str
) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", GITLAB)  # the backup now holds GitHub's secret
    assert base64.b32decode(SECRET) in _backup_secrets(vault_path)
    if how == "delete":
        done = hwotp("delete", "github", "--force")
    else:
        done = hwotp("enroll", "--uri", GITHUB.replace(SECRET, SECRET[::-1]), "--force")
    assert done.exit_code == 0, done.stderr
    assert base64.b32decode(SECRET) not in _backup_secrets(vault_path)


def test_delete_help_says_what_remains_where(hwotp) -> None:
    text = " ".join(hwotp("delete", "--help").stdout.split())
    assert "On a YubiKey the secret is gone for good. In the vault it is gone from" in text
    assert "backup (vault.hwotp.bak beside it)" in text and "copies of the vault file" in text


def test_rename_keeps_the_secret(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    assert hwotp("rename", "github", "GitHub:alice@work").exit_code == 0
    assert hwotp("rename", "alice@work", "al").exit_code == 0  # no colon keeps the issuer
    result = hwotp("code", "GitHub:al", "--json")
    (item,) = json.loads(result.stdout)
    assert (item["name"], item["code"]) == ("GitHub:al", totp(SECRET))


def test_rename_onto_a_taken_name_is_refused(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    hwotp("enroll", "--uri", GITLAB)
    assert hwotp("rename", "gitlab", "GitHub:alice").exit_code == ExitCode.EXISTS
    hwotp("enroll", "--secret", SECRET, "--issuer", "Caf\u00e9", "--account", "bob")
    decomposed = hwotp("rename", "gitlab", "Cafe\u0301:bob")  # the same name, spelled NFD
    assert decomposed.exit_code == ExitCode.EXISTS
    assert len(json.loads(hwotp("list", "--json").stdout)) == 3


def test_wrong_passphrase(hwotp, vault_path: Path) -> None:
    hwotp("enroll", "--uri", GITHUB)
    before = vault_path.read_bytes()
    result = hwotp("enroll", "--uri", GITLAB, passphrase="not it")
    assert result.exit_code == ExitCode.WRONG_PASSPHRASE
    assert result.stderr.splitlines()[-1] == "hwotp: wrong passphrase"
    assert vault_path.read_bytes() == before


def test_damaged_vault_is_reported_and_left_alone(hwotp, vault_path: Path) -> None:
    hwotp("enroll", "--uri", GITHUB)
    damaged = bytearray(vault_path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    vault_path.write_bytes(bytes(damaged))
    for args in (("list",), ("enroll", "--uri", GITLAB), ("code", "github")):
        result = hwotp(*args)
        assert result.exit_code == ExitCode.VAULT_DAMAGED
        assert "the vault file is damaged or was modified" in result.stderr
    assert vault_path.read_bytes() == bytes(damaged)


def test_passphrase_from_standard_input(hwotp) -> None:
    stdin = "s3cret plain words\n"
    assert hwotp("enroll", "--uri", GITHUB, passphrase=None, stdin=stdin).exit_code == 0
    assert hwotp("list", passphrase=None, stdin=stdin).exit_code == 0
    wrong = hwotp("list", passphrase=None, stdin="other words\n")
    assert wrong.exit_code == ExitCode.WRONG_PASSPHRASE


def test_change_the_vault_passphrase(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    second, third = "second unrelated words", "third unrelated words"
    changed = hwotp("vault", "passphrase", env={"HWOTP_NEW_PASSPHRASE": second})
    assert changed.exit_code == 0, changed.stderr
    assert hwotp("list").exit_code == ExitCode.WRONG_PASSPHRASE
    assert totp(SECRET) in hwotp("code", "github", passphrase=second).stdout
    # Scripts without the variables: the current and the new passphrase on two lines.
    by_lines = hwotp("vault", "passphrase", passphrase=None, stdin=f"{second}\n{third}\n")
    assert by_lines.exit_code == 0, by_lines.stderr
    assert hwotp("list", passphrase=third).exit_code == 0


def test_a_passphrase_longer_than_zxcvbn_reads_is_accepted(hwotp) -> None:
    hwotp("enroll", "--uri", GITHUB)
    long = "correct horse battery staple zebra " * 3  # zxcvbn 4.5 raises above 72 characters
    ok(hwotp("vault", "passphrase", env={"HWOTP_NEW_PASSPHRASE": long}))
    assert totp(SECRET) in ok(hwotp("code", "github", passphrase=long)).stdout


@pytest.mark.parametrize("weak", ["a", "password1234", "aaaaaaaaaaaaaaaa", "first pass",
                                  "\u200b".join("password12"), "P a s s w o r d 1"])
def test_a_weak_passphrase_makes_no_vault(hwotp, vault_path: Path, weak: str) -> None:
    refused = hwotp("enroll", "--uri", GITHUB, passphrase=weak)
    assert refused.exit_code == ExitCode.BAD_INPUT
    last = refused.stderr.splitlines()[-1]  # after the notes on what was found
    assert last.startswith("hwotp: the new vault passphrase is too weak (")
    assert last.endswith(
        "): use several unrelated words, or --weak-passphrase for a throwaway vault"
    )
    assert len(weak) < 4 or weak not in last  # never repeated
    assert not vault_path.exists()
    allowed = hwotp("enroll", "--uri", GITHUB, "--weak-passphrase", passphrase=weak)
    assert allowed.exit_code == 0, allowed.stderr
    assert totp(SECRET) in hwotp("code", "github", passphrase=weak).stdout


def test_a_weak_new_passphrase_is_refused_and_the_vault_left_as_it_was(
    hwotp, vault_path: Path
) -> None:
    hwotp("enroll", "--uri", GITHUB)
    before = vault_path.read_bytes()
    refused = hwotp("vault", "passphrase", env={"HWOTP_NEW_PASSPHRASE": "secret"})
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert "fewer than 10 characters" in refused.stderr
    assert vault_path.read_bytes() == before
    changed = hwotp("vault", "passphrase", "--weak-passphrase", passphrase=None, stdin=(
        f"{PASSPHRASE}\nsecret\n"))
    assert changed.exit_code == 0, changed.stderr
    assert totp(SECRET) in hwotp("code", "github", passphrase="secret").stdout


def test_an_older_vault_copy_is_one_warning_line_and_the_command_works(
    hwotp, vault_path: Path
) -> None:
    hwotp("enroll", "--uri", GITHUB)  # generation 1
    older = vault_path.read_bytes()
    hwotp("enroll", "--uri", GITLAB)  # generation 2
    vault_path.write_bytes(older)
    listed = hwotp("list")
    assert listed.exit_code == 0, listed.stderr
    warnings = [line for line in listed.stderr.splitlines() if line.startswith("hwotp:")]
    assert warnings == [
        f"hwotp: warning: {vault_path} is generation 1, older than generation 2 seen before: "
        "an older copy replaced it (a rollback), so changes since are missing; it is read-only "
        "until accepted"
    ]
    assert "GitHub:alice" in listed.stdout and "GitLab" not in listed.stdout


def test_an_older_vault_copy_gives_no_hotp_code_until_accepted(
    hwotp, vault_path: Path, tmp_path: Path
) -> None:
    """Put back to have an HOTP code handed out a second time: refused, nothing written, and
    the command that accepts it is named; once accepted, the counter goes on from the copy."""
    out = tmp_path / "export.txt"
    hwotp("enroll", "--uri", HOTP_URI)  # counter 5 proved, 6 next: generation 2
    older = vault_path.read_bytes()
    first = hwotp("code", "bank").stdout.split()[-1]
    vault_path.write_bytes(older)
    refused = hwotp("code", "bank")
    assert failed(refused, ExitCode.VAULT_DAMAGED) == (
        f"hwotp: {vault_path} is generation 2, older than generation 3 seen before (a rollback): "
        "nothing is written to it and it gives no HOTP or recovery code until the older copy is "
        "accepted; if you put it back on purpose, `hwotp vault accept-rollback` accepts it; if "
        "not (a sync conflict, say), put the newer copy back in its place")
    assert first not in refused.everything and vault_path.read_bytes() == older
    for writes_or_hands_out in (("enroll", "--uri", GITLAB),
                                ("export", "--to", "otpauth", "--unencrypted", str(out))):
        assert failed(hwotp(*writes_or_hands_out), ExitCode.VAULT_DAMAGED).startswith(
            f"hwotp: {vault_path} is generation 2, older than generation 3 seen before (a "
            "rollback)")
    assert not out.exists()  # an export would carry the counter that repeats codes
    asked = hwotp("vault", "accept-rollback")  # no terminal to ask: --force
    assert failed(asked, ExitCode.CANCELLED) == (
        "hwotp: nothing accepted: there is no terminal to confirm; pass --force")
    assert hwotp("code", "bank").exit_code == ExitCode.VAULT_DAMAGED  # still refused
    accepted = ok(hwotp("vault", "accept-rollback", "--force"))
    assert accepted.stderr.splitlines()[-1] == (
        f"Accepted {vault_path} at generation 2 (generation 3 was seen before). Its HOTP "
        "counters are as this copy had them: a service may refuse the first codes, having taken "
        "them already.")
    assert ok(hwotp("code", "bank")).stdout.split()[-1] == first == pyotp.HOTP(SECRET).at(6)
    again = ok(hwotp("vault", "accept-rollback"))
    assert again.stderr.strip() == (
        f"{vault_path} is generation 3, the newest seen: nothing to accept.")


def test_vault_passphrase_without_a_vault(hwotp) -> None:
    result = hwotp("vault", "passphrase", env={"HWOTP_NEW_PASSPHRASE": "x"})
    assert result.exit_code == ExitCode.STORAGE
    assert "there is no vault" in result.stderr and "'hwotp enroll --in-vault'" in result.stderr


def test_empty_passphrase_is_refused(hwotp, vault_path: Path) -> None:
    result = hwotp("enroll", "--uri", GITHUB, passphrase="")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert not vault_path.exists()


def test_an_empty_vault_path_is_refused(hwotp) -> None:
    result = hwotp("list", env={"HWOTP_VAULT": ""})
    assert result.exit_code == ExitCode.USAGE
    assert "the vault path is empty" in result.stderr


def test_passphrase_line_ends_and_invalid_text(hwotp) -> None:
    assert hwotp("enroll", "--uri", GITHUB, passphrase="line ending words\n").exit_code == 0
    assert hwotp("list", passphrase=None, stdin="line ending words\r\n").exit_code == 0  # same
    bad = hwotp("list", passphrase="\udcff")
    assert bad.exit_code == ExitCode.BAD_INPUT
    assert "not valid text" in bad.stderr


def test_every_credential_stays_reachable_by_its_own_name(hwotp) -> None:
    hwotp("enroll", "--secret", SECRET, "--issuer", "GitHub", "--account", "alice")
    hwotp("enroll", "--secret", SECRET[::-1], "--issuer", "github", "--account", "alice")
    (item,) = json.loads(hwotp("code", "github:alice", "--json").stdout)
    assert item["code"] == totp(SECRET[::-1])
    both = hwotp("code", "GITHUB:ALICE", "--json")  # two in another case: both codes
    assert [item["code"] for item in json.loads(both.stdout)] == [totp(SECRET), totp(SECRET[::-1])]
    assert hwotp("delete", "GITHUB:ALICE", "--force").exit_code == ExitCode.NOT_FOUND


def test_list_without_a_vault_says_how_to_start(hwotp) -> None:
    result = hwotp("list")
    assert result.exit_code == 0
    assert "hwotp enroll" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("enroll",), ExitCode.USAGE, "exactly one of"),
        (("enroll", "--uri", GITHUB, "--secret", SECRET), ExitCode.USAGE, "exactly one of"),
        (("enroll", "--secret", SECRET), ExitCode.USAGE, "--account"),
        (("enroll", "--uri", "https://example.com/setup"), ExitCode.BAD_INPUT, "web address"),
        (("enroll", "--uri", "otpauth://totp/A:b?secret=JBSWY3DP!"), ExitCode.BAD_INPUT, "secret"),
        (("enroll", "--uri", GITHUB + "&digits=9"), ExitCode.BAD_INPUT, "digits"),
        (("enroll", "--uri", GITHUB + "&algorithm=MD5"), ExitCode.BAD_INPUT, "MD5"),
        (("enroll", "--secret", "not base32!", "--account", "a"), ExitCode.BAD_INPUT, "base32"),
        (
            ("enroll", "--secret", SECRET, "--account", "a", "--digits", "5"),
            ExitCode.BAD_INPUT,
            "digits",
        ),
        (("enroll", "--qr", "/nonexistent/shot.png"), ExitCode.BAD_INPUT, "shot.png"),
        (("code", "x", "--bogus"), ExitCode.USAGE, "--bogus"),
        (("enroll", "--uri", GITHUB, "--digits", "8"), ExitCode.USAGE, "--digits goes with"),
        (("enroll", "--uri", GITHUB, "--type", "hotp"), ExitCode.USAGE, "--type goes with"),
        (("enroll", "--uri", GITHUB, "--pick", ","), ExitCode.USAGE, "--pick 1,3"),
        (("enroll", "--uri", GITHUB, "--pick", "x"), ExitCode.USAGE, "--pick 1,3"),
        (("enroll", "--uri", GITHUB, "--pick", "+1"), ExitCode.USAGE, "--pick 1,3"),
        ((SECRET,), ExitCode.USAGE, "no such command"),
        (("enroll", "--qr", "Screenshot-from-today"), ExitCode.BAD_INPUT, "does not exist"),
        (("enroll", "--uri", GITHUB, "--pick", "1,,1"), ExitCode.USAGE, "--pick 1,3"),
        (("rename", "x"), ExitCode.USAGE, "NEW_NAME"),
        (("enroll", "--qr", GITHUB), ExitCode.USAGE, "--qr takes an image file"),
        (("enroll", "--qr", SECRET), ExitCode.USAGE, "--qr takes an image file"),
        (("enroll", SECRET, "--account", "a"), ExitCode.USAGE, "unexpected extra argument"),
        (
            ("enroll", "--secret", "-", "--account", "a", "--digits", SECRET),
            ExitCode.USAGE,
            "--digits",
        ),
        (
            ("enroll", "--secret", "-", "--account", "a", "--type", SECRET),
            ExitCode.USAGE,
            "totp, hotp",
        ),
        (
            ("enroll", "--uri", GITHUB.replace("GitHub:", "GitHub%0A")),
            ExitCode.BAD_INPUT,
            "control",
        ),
        (
            (
                "enroll",
                "--secret",
                SECRET,
                "--account",
                "a",
                "--type",
                "hotp",
                "--counter",
                "9" * 30,
            ),
            ExitCode.BAD_INPUT,
            "counter",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_a_documented_code(hwotp, args, code, words) -> None:
    result = hwotp(*args)
    assert result.exit_code == code, result.everything
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("hwotp: ") and words in line
    assert "Traceback" not in result.everything
    assert SECRET not in result.everything and SECRET.lower() not in result.everything


@pytest.mark.parametrize(
    "args",
    [
        ("--uri", ""),
        ("--uri", "motp://x?secret=" + SECRET),
        ("--uri", "https://example.com/setup"),
        ("--uri", "otpauth-migration://offline?data=xx"),
        ("--uri", "otpauth-migration://offline?data="),
        ("--uri", "otpauth://totp/A:b"),
        ("--uri", GITHUB, "--digits", "8"),
        ("--secret", "not base32!", "--account", "a"),
        ("--secret", SECRET, "--account", "a", "--period", "0"),
    ],
)
def test_refusing_a_uri_or_setup_key_never_speaks_of_a_qr_code(hwotp, args) -> None:
    result = hwotp("enroll", *args)
    assert result.exit_code in (ExitCode.BAD_INPUT, ExitCode.USAGE), result.everything
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("hwotp: ") and "QR" not in line
