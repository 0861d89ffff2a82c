"""The installed `hwotp` at a real pseudo-terminal: hidden prompts, confirmation, answers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pexpect
import pytest

from helpers.processes import hwotp_script
from helpers.samples import GITHUB, PASSPHRASE, SECRET


@pytest.fixture
def spawn(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "HWOTP_PASSPHRASE"}
    env["HWOTP_VAULT"] = str(tmp_path / "vault.hwotp")

    def start(*args: str) -> pexpect.spawn:
        return pexpect.spawn(hwotp_script(), list(args), env=env, encoding="utf-8", timeout=60)

    return start


def finish(child: pexpect.spawn) -> tuple[str, int]:
    rest = child.read()
    child.close()
    return rest, child.exitstatus


def create_vault(spawn, passphrase: str = PASSPHRASE) -> str:
    child = spawn("enroll", "--uri", GITHUB)
    child.expect("New vault passphrase: ")
    child.sendline(passphrase)
    child.expect("Repeat for confirmation: ")
    child.sendline("something else")
    # a typo is caught and asked again, nothing created; said the hwotp way, not click's "Error:"
    child.expect("hwotp: the two entries do not match; type them again")
    child.expect("New vault passphrase: ")
    child.sendline(passphrase)
    child.expect("Repeat for confirmation: ")
    child.sendline(passphrase)
    rest, status = finish(child)
    assert status == 0, rest
    return child.before + rest


def test_new_vault_asks_twice_and_never_echoes(spawn) -> None:
    transcript = create_vault(spawn)
    assert "GitHub:alice" in transcript
    assert PASSPHRASE not in transcript and SECRET not in transcript


def test_wrong_passphrase_at_the_prompt(spawn) -> None:
    create_vault(spawn)
    child = spawn("list")
    child.expect("Vault passphrase: ")
    child.sendline("not the passphrase")
    rest, status = finish(child)
    assert status == 5
    assert "hwotp: wrong passphrase" in rest


def answer_delete(spawn, answer: str) -> tuple[str, int]:
    child = spawn("delete", "github")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect(r"Delete GitHub:alice from the vault\? It cannot be undone\. \[y/N\]: ")
    if answer == "\x04":
        child.sendeof()
    elif answer == "\x03":
        # Not in the microseconds between the prompt and the read: CPython loses a SIGINT that
        # arrives there (the read starts after the signal was handled, and blocks). Measured:
        # 8 of 15 runs hung under load with no pause, none of 8 with half a second.
        time.sleep(0.5)
        child.sendintr()
    else:
        child.sendline(answer)
    return finish(child)


def test_delete_asks_and_only_yes_deletes(spawn) -> None:
    create_vault(spawn)
    rest, status = answer_delete(spawn, "n")
    assert (status, "nothing deleted" in rest) == (8, True)
    rest, status = answer_delete(spawn, "\x04")  # Ctrl-D: no answer is a no
    assert (status, "nothing deleted" in rest) == (8, True)
    rest, status = answer_delete(spawn, "\x03")  # Ctrl-C: an interrupt, as everywhere
    assert (status, "interrupted" in rest) == (130, True)
    rest, status = answer_delete(spawn, "y")
    assert status == 0 and "Deleted GitHub:alice" in rest


def test_an_answer_that_is_neither_yes_nor_no_is_asked_again(spawn) -> None:
    create_vault(spawn)
    child = spawn("delete", "github")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect(r"\[y/N\]: ")
    child.sendline("maybe")
    child.expect("\r\nhwotp: answer y or n\r\n")
    child.expect(r"\[y/N\]: ")
    child.sendline("")  # Enter: the default, no
    rest, status = finish(child)
    assert status == 8 and "nothing deleted" in rest
    assert "Error" not in child.before + rest


def test_setup_key_prompt_is_hidden(spawn) -> None:
    create_vault(spawn)
    child = spawn("enroll", "--secret", "-", "--issuer", "Acme", "--account", "eve")
    child.expect("Setup key: ")
    child.sendline(SECRET.lower())
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    rest, status = finish(child)
    assert status == 0, rest
    assert "Acme:eve" in rest and SECRET.lower() not in child.before + rest


def test_uri_dash_at_the_terminal_asks_without_echo(spawn) -> None:
    create_vault(spawn)
    other = GITHUB.replace("alice", "bob")
    child = spawn("enroll", "--uri", "-", "--in-vault")
    child.expect("URI: ")
    child.sendline(other)
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    rest, status = finish(child)
    assert status == 0, rest
    assert "GitHub:bob" in rest and SECRET not in child.before + rest
    assert "shell history" not in rest


def test_qr_dash_at_the_terminal_is_refused_unread(spawn) -> None:
    child = spawn("enroll", "--qr", "-")
    rest, status = finish(child)
    assert status == 2 and "hwotp: --qr - reads an image piped to standard input" in rest


def test_restore_backup_asks_first(spawn) -> None:
    create_vault(spawn)
    child = spawn("enroll", "--uri", GITHUB.replace("alice", "bob"))
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    assert finish(child)[1] == 0
    child = spawn("vault", "restore-backup")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect(r"Replace .*vault.hwotp by its backup \(1 credential, generation 1\)\? "
                 r"Changes of the last write are lost; HOTP counters and used recovery codes "
                 r"go back to the backup's too. \[y/N\]: ")
    child.sendline("")
    rest, status = finish(child)
    assert status == 8 and "hwotp: nothing restored" in rest
    child = spawn("vault", "restore-backup")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect(r"\[y/N\]: ")
    child.sendline("y")
    rest, status = finish(child)
    assert status == 0 and "1 credential; HOTP counters and used recovery codes go back" in rest


def test_change_passphrase_at_the_terminal(spawn) -> None:
    create_vault(spawn)
    child = spawn("vault", "passphrase")
    child.expect("Vault passphrase: ")
    child.sendline(PASSPHRASE)
    child.expect("New vault passphrase: ")
    child.sendline("second passphrase")
    child.expect("Repeat for confirmation: ")
    child.sendline("second passphrase")
    rest, status = finish(child)
    assert status == 0 and "Changed the passphrase" in rest
    child = spawn("list")
    child.expect("Vault passphrase: ")
    child.sendline("second passphrase")
    rest, status = finish(child)
    assert status == 0 and "GitHub:alice" in rest


def test_a_weak_new_passphrase_at_the_terminal_is_explained_and_asked_again(spawn) -> None:
    child = spawn("enroll", "--uri", GITHUB)
    child.expect("New vault passphrase: ")
    child.sendline("password1234")
    child.expect("Repeat for confirmation: ")
    child.sendline("password1234")
    child.expect(r"Too weak \(about 10\^\d guesses would find it; a vault needs over 10\^8\)")
    child.expect("New vault passphrase: ")
    child.sendline("first passphrase")
    child.expect("Repeat for confirmation: ")
    child.sendline("first passphrase")
    rest, status = finish(child)
    assert status == 0, rest
    assert "password1234" not in child.before + rest
