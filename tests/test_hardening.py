"""What the hwotp process does to protect the secrets it holds, observed from outside: its
children do not inherit secret variables; it cannot dump core or be read by a same-user
debugger while it waits for a passphrase."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pexpect
import pytest

from helpers.processes import run_hwotp, vault_env
from helpers.samples import PASSPHRASE, SECRET
from hwotp.cli.process import SECRET_VARIABLES
from hwotp.credential import Credential
from hwotp.vault import Vault

URI = f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
NOBODY = 65534


def clipboard_tool(folder: Path, dump: Path) -> None:
    """A stand-in xclip (the desktop's tool is outside hwotp): it saves its own environment,
    as the kernel hands it over, where the test can read it."""
    folder.mkdir()
    tool = folder / "xclip"
    tool.write_text(f"#!/bin/sh\ncat > /dev/null\ntr '\\0' '\\n' < /proc/self/environ > {dump}\n")
    tool.chmod(0o755)


def test_the_clipboard_tool_inherits_no_secret_variable(tmp_path: Path) -> None:
    dump = tmp_path / "environ"
    clipboard_tool(tmp_path / "bin", dump)
    env = vault_env(tmp_path / "vault.hwotp", DISPLAY=":99")
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    enrolled = run_hwotp("enroll", "--uri", URI, env=env)
    assert enrolled.returncode == 0, enrolled.stderr
    secrets = {name: f"value of {name}" for name in SECRET_VARIABLES}
    env.update({**secrets, "HWOTP_PASSPHRASE": env["HWOTP_PASSPHRASE"]})  # the right one
    copied = run_hwotp("code", "GitHub", "--copy", env=env)
    assert copied.returncode == 0, copied.stderr
    assert "Copied the code to the clipboard (xclip)" in copied.stderr
    inherited = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert inherited.get("DISPLAY") == ":99"  # the child's environment, as the kernel has it
    assert [name for name in SECRET_VARIABLES if name in inherited] == []


# hwotp's main as another user: Python's own files are root's here (/root/.pyenv), so a
# root-started interpreter loads what the prompt needs, becomes `nobody`, makes itself dumpable
# again (a change of user clears it) and runs the command as the console script does.
AS_NOBODY = f"""
import ctypes, getpass, os, resource, sys, termios
import hwotp.cli.root, hwotp.cli.app, hwotp.cli.commands.daily, hwotp.stores.vault, click.termui
import hwotp.vault
import hwotp.vault.kernelkeys, hwotp.vault.strength, zxcvbn
os.setgroups([])
os.setgid({NOBODY})
os.setuid({NOBODY})
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
sys.argv = ["hwotp", *sys.argv[1:]]
hwotp.cli.root.main()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run hwotp as another user")
def test_waiting_at_the_passphrase_prompt_it_cannot_dump_core_or_be_traced() -> None:
    """The kernel's answer, read from outside: /proc/PID of a process that is not dumpable
    belongs to root, not to the process's user (the same flag refuses core dumps and a
    same-user ptrace); its core size limit is in /proc/PID/limits."""
    folder = Path(tempfile.mkdtemp(prefix="hwotp-dumpable-"))
    try:
        folder.chmod(0o755)
        vault = folder / "vault.hwotp"
        # A real vault: a damaged one is said before any prompt (nothing to wait at).
        Vault.create(vault, PASSPHRASE, [Credential(b"0123456789", "GitHub", "alice")])
        vault.chmod(0o644)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
        env.update(HOME=str(folder), HWOTP_CACHE_DIR=str(folder / "cache"))
        child = pexpect.spawn(
            sys.executable, ["-c", AS_NOBODY, "--vault", str(vault), "vault", "passphrase"],
            env=env, encoding="utf-8", timeout=60,
        )
        try:
            child.expect("Vault passphrase: ")
            proc = Path(f"/proc/{child.pid}")
            assert "Uid:\t65534" in (proc / "status").read_text()  # it runs as nobody
            assert (proc / "status").stat().st_uid == 0, "the waiting hwotp is dumpable"
            core = next(line for line in (proc / "limits").read_text().splitlines()
                        if line.startswith("Max core file size"))
            assert core.split()[4:6] == ["0", "0"], core
        finally:
            child.terminate(force=True)
    finally:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        folder.rmdir()


def test_the_secret_variable_list_names_every_variable_the_cli_reads() -> None:
    """One list: a secret variable read anywhere in the command line must be in it."""
    source = Path(__file__).parents[1] / "src" / "hwotp" / "cli"
    read = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r'"(HWOTP_[A-Z_0-9]*(?:PASSPHRASE|PASSWORD|PIN))"',
                               path.read_text())
    }
    assert read and read <= set(SECRET_VARIABLES)
