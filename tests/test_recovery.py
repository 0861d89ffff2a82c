"""Recovery codes (issue 10, item 8): pasted lines made codes, kept encrypted in the vault
payload (strict reader, older vaults still open), handed out once each across processes,
never in a log or an error. In-process through the `hwotp` fixture, and as the installed
script where processes matter."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pexpect
import pytest

from helpers.cli import failed, ok
from helpers.processes import hwotp_script, run_hwotp
from helpers.processes import vault_env as user_env
from helpers.samples import GITHUB, PASSPHRASE
from hwotp.errors import ExitCode, VaultDamagedError
from hwotp.recovery import RecoveryError, new_set, parse_pasted
from hwotp.vault import Vault
from hwotp.vault import format as fmt

CODES = [f"{n:04d}-k9q{n}x-z7" for n in range(1, 11)]  # ten codes, as a service lists them
PASTED = "".join(f"{n}. {code}\n" for n, code in enumerate(CODES, start=1)) + "\n"


def vault_env(vault_path, **extra: str) -> dict[str, str]:
    """A user's environment with the throwaway vault, and this test's own cache and config
    (the autouse fixtures' folders), so no run touches the user's."""
    own = {name: os.environ[name] for name in ("HWOTP_CACHE_DIR", "HWOTP_CONFIG")}
    return user_env(vault_path, **own, **extra)

# --- pasted text -> codes ---------------------------------------------------------------------


def test_an_obvious_numbered_or_bulleted_list_loses_its_marks_and_blanks():
    assert parse_pasted(PASTED) == CODES
    assert parse_pasted("  1)  abcd  efgh \n\n 2) ijkl-mnop\n") == ["abcd efgh", "ijkl-mnop"]
    assert parse_pasted("- abcd-efgh\n* ijkl-mnop\n\u2022 qrst-uvwx\n") == [
        "abcd-efgh", "ijkl-mnop", "qrst-uvwx"]
    # Google's "1234 5678" keeps its inner space; a plain list is taken as it is.
    assert parse_pasted("1234 5678\n8765 4321\n") == ["1234 5678", "8765 4321"]


def test_numbering_that_is_not_an_obvious_list_is_part_of_the_code():
    # Only some lines numbered, or numbers that do not count 1, 2, 3: nothing is stripped.
    assert parse_pasted("1. abcd-efgh\nijkl-mnop\n") == ["1. abcd-efgh", "ijkl-mnop"]
    assert parse_pasted("3. abcd-efgh\n7. ijkl-mnop\n") == ["3. abcd-efgh", "7. ijkl-mnop"]
    assert parse_pasted("1.abcd\n2.efgh\n") == ["1.abcd", "2.efgh"]  # no blank: a code's dot


@pytest.mark.parametrize(("text", "message"), [
    ("", "no recovery codes were given: paste them one per line"),
    ("\n  \n", "no recovery codes were given: paste them one per line"),
    ("abcd-efgh\nABCD EFGH\n", "recovery code 2 repeats code 1"),
    ("abcd-efgh\nab\n", "code 2 is not a recovery code: a code has 4 to 64 characters"),
    ("abcd\u200befgh\n", "code 1 is not a recovery code: it holds invisible characters"),
    ("x" * 65 + "\n", "code 1 is not a recovery code: a code has 4 to 64 characters"),
    ("".join(f"code{n:04d}\n" for n in range(101)), "a service has at most 100 recovery codes"),
])
def test_bad_input_is_one_sentence_without_the_codes(text, message):
    with pytest.raises(RecoveryError) as caught:
        parse_pasted(text)
    assert str(caught.value) == message


# --- the vault payload ------------------------------------------------------------------------


def test_codes_survive_a_rewrite_and_an_older_vault_opens_without_them(vault_path):
    vault = Vault.create(vault_path, PASSPHRASE)
    assert vault.recovery_sets() == []
    with vault.edit_recovery() as sets:
        sets.append(new_set("GitHub", CODES[:3]))
    with vault.edit() as credentials:  # a credential write keeps the codes
        assert credentials == []
    again = Vault.unlock(vault_path, PASSPHRASE)
    (kept,) = again.recovery_sets()
    assert (kept.service, [c.value for c in kept.codes], kept.left) == ("GitHub", CODES[:3], 3)
    # The codes are encrypted: nowhere in the file or its backup.
    for path in (vault_path, vault_path.with_name(vault_path.name + ".bak")):
        data = path.read_bytes()
        assert not any(code.encode() in data for code in CODES)


def test_replaced_codes_are_in_neither_the_vault_nor_its_backup(vault_path):
    vault = Vault.create(vault_path, PASSPHRASE)
    with vault.edit_recovery() as sets:
        sets.append(new_set("GitHub", CODES[:5]))
    with vault.edit_recovery() as sets:
        sets[0] = new_set("GitHub", CODES[5:])
    envelope = fmt.parse(vault_path.with_name(vault_path.name + ".bak").read_bytes())
    backup = fmt.decrypt(envelope, vault._master_key)
    assert [c.value for c in backup.recovery[0].codes] == CODES[5:]


def _sealed_with(vault_path: Path, member: object) -> bytes:
    """A vault file whose payload holds `member` as its recovery codes, properly encrypted:
    only the payload parser can refuse it. (An unknown top-level member is written as it is,
    which is how this one gets in.)"""
    vault = Vault.create(vault_path, PASSPHRASE)
    envelope = fmt.parse(vault_path.read_bytes())
    payload = fmt.decrypt(envelope, vault._master_key)
    payload.extra[fmt.RECOVERY_MEMBER] = member
    return fmt.seal(envelope.header.slots, vault._master_key, payload)


GOOD_CODE = {"code": "abcd-efgh", "used": False}


@pytest.mark.parametrize("member", [
    {"GitHub": []},  # not a list
    [{"service": "GitHub", "codes": [GOOD_CODE], "note": "x"}],  # an unknown member
    [{"service": "GitHub", "codes": []}],  # an empty set
    [{"service": "GitHub", "codes": [{"code": "abcd-efgh", "used": 1}]}],  # used not a bool
    [{"service": "GitHub", "codes": [{"code": "abcd-efgh"}]}],
    [{"service": 7, "codes": [GOOD_CODE]}],
    [{"service": "GitHub", "codes": [GOOD_CODE, {"code": "ABCD EFGH", "used": True}]}],
    [{"service": "GitHub", "codes": [GOOD_CODE]}, {"service": "github", "codes": [GOOD_CODE]}],
    [{"service": "Git\u202eHub", "codes": [GOOD_CODE]}],
    [{"service": "GitHub", "codes": [GOOD_CODE] * 101}],
])
def test_the_payload_reader_is_strict_and_names_no_code(vault_path, member):
    data = _sealed_with(vault_path, member)
    vault_path.write_bytes(data)
    with pytest.raises(VaultDamagedError) as caught:
        Vault.unlock(vault_path, PASSPHRASE)
    message = str(caught.value)
    assert "abcd" not in message.lower()
    assert message.startswith(("the vault's contents are not in a form hwotp can read",
                               "the vault holds recovery codes hwotp refuses: "))


def test_a_well_formed_member_from_another_writer_reads(vault_path):
    member = [{"codes": [GOOD_CODE, {"code": "ijkl-mnop", "used": True}], "service": "GitHub"}]
    vault_path.write_bytes(_sealed_with(vault_path, member))
    (kept,) = Vault.unlock(vault_path, PASSPHRASE).recovery_sets()
    assert (kept.left, kept.total, kept.next_unused()) == (1, 2, 0)


# --- the commands -----------------------------------------------------------------------------


def test_add_list_use_and_show_in_process(hwotp):
    added = ok(hwotp("recovery", "add", "GitHub", stdin=PASTED))
    assert added.stderr.splitlines()[-1].startswith("Kept 10 recovery codes for GitHub in ")
    listed = ok(hwotp("recovery", "list", "--json"))
    assert json.loads(listed.stdout) == [{"service": "GitHub", "left": 10, "total": 10}]
    assert not any(code in listed.everything for code in CODES)
    used = ok(hwotp("recovery", "use", "github"))  # the query rules: any case, part of it
    assert used.stdout == CODES[0] + "\n"
    assert used.stderr == "9 of 10 recovery codes left for GitHub.\n"
    assert ok(hwotp("recovery", "use", "hub")).stdout == CODES[1] + "\n"
    # CliRunner's output is no terminal: show needs --force, and says why in one sentence.
    refused = failed(hwotp("recovery", "show", "GitHub"), ExitCode.CANCELLED)
    assert refused.startswith("hwotp: nothing shown: standard output is not a terminal")
    shown = ok(hwotp("recovery", "show", "GitHub", "--force")).stdout.splitlines()
    assert shown[:3] == [f" 1. {CODES[0]}  (used)", f" 2. {CODES[1]}  (used)", f" 3. {CODES[2]}"]
    assert len(shown) == 10


def test_the_last_codes_come_with_a_warning_and_then_a_clear_refusal(hwotp):
    ok(hwotp("recovery", "add", "Site", stdin="aaaa-1111\nbbbb-2222\ncccc-3333\n"))
    first = ok(hwotp("recovery", "use", "Site"))
    assert first.stderr.startswith("hwotp: warning: 2 of 3 recovery codes left for Site: make a")
    ok(hwotp("recovery", "use", "Site"))
    last = ok(hwotp("recovery", "use", "Site"))
    assert (last.stdout, last.stderr.startswith("hwotp: warning: 0 of 3")) == ("cccc-3333\n", True)
    none_left = failed(hwotp("recovery", "use", "Site"), ExitCode.NOT_FOUND)
    assert none_left.startswith("hwotp: every recovery code for Site is used; make a new set")
    # A new set from the service replaces the old one, and only when asked.
    again = failed(hwotp("recovery", "add", "site", stdin="dddd-4444\n"), ExitCode.EXISTS)
    assert again == ("hwotp: recovery codes for Site are kept already; use --replace when the "
                     "service made a new set")
    ok(hwotp("recovery", "add", "site", "--replace", stdin="dddd-4444\neeee-5555\n"))
    assert ok(hwotp("recovery", "use", "Site")).stdout == "dddd-4444\n"


def test_every_mistake_is_one_sentence_and_no_code(hwotp):
    assert failed(hwotp("recovery", "list"), ExitCode.NOT_FOUND).startswith(
        "hwotp: there is no vault at ")
    empty = failed(hwotp("recovery", "add", "GitHub", stdin="\n"), ExitCode.BAD_INPUT)
    assert empty == "hwotp: no recovery codes were given: paste them one per line"
    twice = hwotp("recovery", "add", "GitHub", stdin="abcd-efgh\nabcd-efgh\n")
    assert failed(twice, ExitCode.BAD_INPUT) == "hwotp: recovery code 2 repeats code 1"
    assert "abcd" not in twice.everything
    ok(hwotp("recovery", "add", "GitHub", stdin=PASTED))
    ok(hwotp("recovery", "add", "GitLab", stdin="zzzz-0000\n"))
    several = failed(hwotp("recovery", "use", "git"), ExitCode.NOT_FOUND)
    assert several == "hwotp: 2 services match: GitHub, GitLab; be more specific"
    unknown = failed(hwotp("recovery", "use", "gthub"), ExitCode.NOT_FOUND)
    assert unknown.endswith("did you mean GitHub?")
    wrong = failed(hwotp("recovery", "use", "GitHub", passphrase="not it at all"),
                   ExitCode.WRONG_PASSPHRASE)
    assert wrong == "hwotp: wrong passphrase"
    assert failed(hwotp("recovery", "add", "\u202eevil", stdin="abcd\n"), ExitCode.BAD_INPUT) \
        == "hwotp: the service name contains an invisible or reordering character"


def test_a_file_of_codes_is_overwritten_and_deleted_when_asked(hwotp, tmp_path):
    listing = tmp_path / "github-recovery-codes.txt"
    listing.write_text(PASTED)
    still_open = os.open(listing, os.O_RDONLY)  # the same file, after it is removed
    try:
        done = ok(hwotp("recovery", "add", "GitHub", "--file", str(listing), "--force"))
        assert not listing.exists()
        assert os.pread(still_open, 4096, 0) == bytes(len(PASTED))  # overwritten, then removed
    finally:
        os.close(still_open)
    assert f"Overwrote and deleted {listing}; an SSD, a copy-on-write filesystem" in done.stderr
    # No terminal and no --force: the file stays, with a warning that it holds the codes.
    kept = tmp_path / "gitlab.txt"
    kept.write_text("zzzz-0000\n")
    warned = ok(hwotp("recovery", "add", "GitLab", "--file", str(kept)))
    assert kept.read_text() == "zzzz-0000\n"
    assert f"hwotp: warning: {kept} still holds the codes in clear" in warned.stderr
    ok(hwotp("recovery", "add", "Other", "--file", str(kept), "--keep-file"))
    assert kept.exists()
    missing = failed(hwotp("recovery", "add", "X", "--file", str(tmp_path / "none")),
                     ExitCode.BAD_INPUT)
    assert missing.endswith("none does not exist")


def test_codes_never_reach_the_debug_log_or_an_error(hwotp):
    runs = [
        hwotp("--debug", "recovery", "add", "GitHub", stdin=PASTED),
        hwotp("--debug", "recovery", "use", "GitHub"),
        hwotp("--debug", "recovery", "list"),
        hwotp("--debug", "recovery", "add", "GitHub", "--replace",
              stdin=f"{CODES[3]}\n{CODES[3].upper()}\n"),
        hwotp("--debug", "recovery", "show", "GitHub"),
        hwotp("--debug", "status", "--json", "--no-vault"),
    ]
    assert "opening" in runs[1].stderr  # the log is on
    used = runs[1].stdout.strip()
    assert used == CODES[0]
    for result in runs:
        logged = result.stderr
        assert not any(code in logged or code.upper() in logged for code in CODES)


# --- across processes -------------------------------------------------------------------------


def test_used_codes_stay_used_across_processes(vault_path, no_pcscd):
    env = vault_env(vault_path)
    assert run_hwotp("recovery", "add", "GitHub", "--weak-passphrase", input=PASTED,
                     env=env).returncode == 0
    first = run_hwotp("recovery", "use", "GitHub", env=env)
    second = run_hwotp("recovery", "use", "GitHub", env=env)
    assert (first.stdout, second.stdout) == (CODES[0] + "\n", CODES[1] + "\n")
    listed = run_hwotp("recovery", "list", env=env)
    assert listed.stdout == "GitHub  8 of 10 left\n"


def test_two_at_once_never_hand_out_the_same_code(vault_path, no_pcscd):
    env = vault_env(vault_path)
    assert run_hwotp("recovery", "add", "GitHub", "--weak-passphrase", input=PASTED,
                     env=env).returncode == 0
    users = [subprocess.Popen([hwotp_script(), "recovery", "use", "GitHub"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    handed = []
    for user in users:
        out, err = user.communicate(timeout=120)
        assert user.returncode == 0, err
        handed.append(out.strip())
    assert sorted(handed) == CODES[:4]  # four different codes, the first four
    assert run_hwotp("recovery", "list", env=env).stdout == "GitHub  6 of 10 left\n"


def test_a_code_that_could_not_be_printed_stays_unused(vault_path, no_pcscd):
    env = vault_env(vault_path)
    assert run_hwotp("recovery", "add", "GitHub", "--weak-passphrase", input=PASTED,
                     env=env).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: printing the code fails
    closed = run_hwotp("recovery", "use", "GitHub", env=env, stdout=write_end)
    os.close(write_end)
    assert closed.returncode == ExitCode.OUTPUT, closed.stderr
    assert run_hwotp("recovery", "use", "GitHub", env=env).stdout == CODES[0] + "\n"


def test_the_vault_keeps_its_credentials_beside_the_codes(vault_path, no_pcscd):
    env = vault_env(vault_path)
    assert run_hwotp("enroll", "--uri", GITHUB, "--in-vault", env=env).returncode == 0
    assert run_hwotp("recovery", "add", "GitHub", input=PASTED, env=env).returncode == 0
    names = [item["name"] for item in json.loads(run_hwotp("list", "--json", env=env).stdout)]
    assert names == ["GitHub:alice"]


def test_scripts_give_the_passphrase_first_then_the_codes(vault_path, no_pcscd):
    env = {k: v for k, v in vault_env(vault_path).items() if k != "HWOTP_PASSPHRASE"}
    # No vault yet: the new passphrase is the first line, as it is for an existing vault.
    lines = f"{PASSPHRASE}\n{CODES[0]}\n{CODES[1]}\n\n"
    assert run_hwotp("recovery", "add", "GitHub", input=lines, env=env).returncode == 0
    more = f"{PASSPHRASE}\n{CODES[2]}\n\n"
    assert run_hwotp("recovery", "add", "GitLab", input=more, env=env).returncode == 0
    listed = run_hwotp("recovery", "list", input=f"{PASSPHRASE}\n", env=env)
    assert listed.stdout == "GitHub  2 of 2 left\nGitLab  1 of 1 left\n"
    # Bad codes for a new vault leave no vault behind.
    other = vault_path.with_name("other.hwotp")
    bad = run_hwotp("recovery", "add", "X", input=f"{PASSPHRASE}\nab\n\n",
                    env={**env, "HWOTP_VAULT": str(other)})
    assert bad.returncode == ExitCode.BAD_INPUT
    assert not other.exists()


# --- at a terminal ----------------------------------------------------------------------------


def spawn_at_terminal(vault_path: Path, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in vault_env(vault_path).items() if k != "HWOTP_PASSPHRASE"}
    return pexpect.spawn(hwotp_script(), list(args), env=env, encoding="utf-8", timeout=60)


def test_pasting_showing_and_deleting_at_a_terminal(vault_path, tmp_path, no_pcscd):
    child = spawn_at_terminal(vault_path, "recovery", "add", "GitHub")
    child.expect("New vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect("Repeat for confirmation: ")
    child.sendline(PASSPHRASE)
    child.expect("Paste the recovery codes for GitHub, one per line; an empty line ends.")
    child.send(PASTED)  # a numbered list, then the empty line
    child.expect("Kept 10 recovery codes for GitHub")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # show: at a terminal, no --force needed.
    child = spawn_at_terminal(vault_path, "recovery", "show", "GitHub")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert all(f"{n:>2}. {code}" in child.before for n, code in enumerate(CODES, start=1))
    # --file: asked, and a no keeps it.
    listing = tmp_path / "codes.txt"
    listing.write_text("wxyz-0001\n")
    for answer, kept in (("n", True), ("y", False)):
        child = spawn_at_terminal(vault_path, "recovery", "add", "Site", "--replace",
                                  "--file", str(listing))
        child.expect("Vault passphrase: ")
        child.sendline(PASSPHRASE)
        child.expect(r"Overwrite and delete .*codes.txt, which holds the codes in clear\? ")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert (child.exitstatus, listing.exists()) == (0, kept)
