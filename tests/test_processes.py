"""The installed `hwotp` as whole processes: environment, pipes, terminals and races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.processes import hwotp_script, run_hwotp, vault_env
from helpers.samples import PASSPHRASE, SECRET


def test_python_dash_m_runs_the_same_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hwotp", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "hwotp 0.1.0")


def test_hwotp_alone_prints_its_help() -> None:
    result = run_hwotp()
    assert (result.returncode, result.stderr) == (0, "")
    assert "Usage: hwotp" in result.stdout and "Exit codes:" in result.stdout


def test_default_vault_lives_in_the_user_data_folder(tmp_path: Path) -> None:
    env = vault_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "data"))
    del env["HWOTP_VAULT"]
    result = run_hwotp("enroll", "--uri", f"otpauth://totp/Place:me?secret={SECRET}", env=env)
    assert result.returncode == 0, result.stderr
    vault = tmp_path / "data" / "hwotp" / "vault.hwotp"
    assert vault.is_file()
    assert str(vault) in result.stderr
    assert (vault.stat().st_mode & 0o777, vault.parent.stat().st_mode & 0o777) == (0o600, 0o700)


def test_closed_standard_input_is_a_clear_error(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp")
    run_hwotp("enroll", "--uri", f"otpauth://totp/x:y?secret={SECRET}", env=env, check=True)
    del env["HWOTP_PASSPHRASE"]
    result = run_hwotp("list", env=env, preexec_fn=lambda: os.close(0))  # as `hwotp list <&-`
    assert result.returncode == 8, result.stderr  # no terminal to ask: not bad input
    # The line before says pcscd is not running (no key): a note, then the error.
    assert result.stderr.splitlines()[-1].startswith("hwotp: no vault passphrase")


def test_processes_racing_to_create_the_vault_lose_nothing(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "new.hwotp")
    writers = [
        subprocess.Popen(
            [hwotp_script(), "enroll", "--uri", f"otpauth://totp/Race:{n}?secret={SECRET}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors
    listed = run_hwotp("list", "--json", env=env)
    names = sorted(item["name"] for item in json.loads(listed.stdout))
    assert names == [f"Race:{n}" for n in range(4)]


def test_output_trouble_is_one_sentence_with_its_own_code(tmp_path: Path) -> None:
    from hwotp.credential import Credential
    from hwotp.vault import Vault

    vault = tmp_path / "big.hwotp"
    many = [Credential(b"0123456789abcdef", "Site", f"{n:04}") for n in range(3000)]
    Vault.create(vault, PASSPHRASE, many)  # ~150 KB of codes: more than a pipe holds
    writer = subprocess.Popen(
        [hwotp_script(), "code"],
        env=vault_env(vault),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.read(10)
    writer.stdout.close()  # as `hwotp code | head -c 10`
    errors = writer.stderr.read().decode()
    assert writer.wait(timeout=60) == 11
    assert errors.splitlines()[-1] == (
        "hwotp: the output was cut off (closed pipe); changes made before that are kept"
    )
    with open("/dev/full", "w") as full:
        result = run_hwotp("list", env=vault_env(vault), stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 11
    assert "the output could not be written (No space left on device)" in result.stderr


def test_a_terminal_that_cannot_show_a_name_gets_escapes(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp", PYTHONIOENCODING="latin-1")
    uri = f"otpauth://totp/%E6%A5%BD%E5%A4%A9:x?secret={SECRET}"
    result = run_hwotp("enroll", "--uri", uri, env=env)
    assert result.returncode == 0, result.stderr
    assert "\\u697d\\u5929:x" in result.stdout


def test_json_stays_valid_on_a_terminal_that_cannot_show_a_name(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp", PYTHONIOENCODING="latin-1")
    uri = f"otpauth://totp/%F0%9F%98%80:x?secret={SECRET}"
    result = run_hwotp("enroll", "--uri", uri, "--dry-run", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["credentials"][0]["issuer"] == "\U0001f600"


def test_a_passphrase_that_is_not_utf8_on_standard_input(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp", PYTHONIOENCODING="utf-8:strict", PYTHONUTF8="0")
    del env["HWOTP_PASSPHRASE"]
    uri = f"otpauth://totp/x:y?secret={SECRET}"
    result = subprocess.run(
        [hwotp_script(), "enroll", "--uri", uri],
        env=env,
        input=b"\xff\xfe\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert b"hwotp: the new vault passphrase is not valid text (UTF-8)" in result.stderr


def test_notes_that_cannot_be_written_do_not_fail_the_command(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp")
    with open("/dev/full", "w") as full:
        result = run_hwotp(
            "enroll",
            "--uri",
            f"otpauth://totp/x:y?secret={SECRET}",
            env=env,
            stdout=subprocess.PIPE,
            stderr=full,
        )
    assert result.returncode == 0
    assert result.stdout.startswith("x:y  ")


def test_a_closed_standard_output_does_nothing(tmp_path: Path) -> None:
    env = vault_env(tmp_path / "v.hwotp")
    result = run_hwotp(
        "enroll",
        "--uri",
        f"otpauth://totp/x:y?secret={SECRET}",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 11
    assert result.stderr == "hwotp: standard output is closed; nothing was done\n"
    assert not (tmp_path / "v.hwotp").exists()
