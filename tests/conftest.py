"""Shared fixtures: a throwaway vault for the command line, run in-process with a fixed clock,
and virtual YubiKeys plugged into a private pcscd."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hwotp.cli import cli

# Every PC/SC client of the test run (this process, ykman, hwotp) talks to the private pcscd of
# the test that is running, through this link, and never to a pcscd the machine may have.
# pcsc-lite reads the variable once per process, so it is set before anything loads it.
PCSC_LINK = Path(tempfile.mkdtemp(prefix="hwotp-tests-pcsc-")) / "pcscd.comm"
os.environ["PCSCLITE_CSOCK_NAME"] = str(PCSC_LINK)

# 2009-02-13 23:31:30 UTC: a fixed moment, 0 s into a 30 s step.
FIXED_TIME = 1234567890.0
PASSPHRASE = "correct horse battery staple"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def everything(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture(autouse=True)
def own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config file or writes into the user's cache folder."""
    monkeypatch.setenv("HWOTP_CONFIG", str(tmp_path / "no-config.toml"))
    if "HWOTP_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("HWOTP_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vault.hwotp"


@pytest.fixture
def hwotp(vault_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Runs `hwotp ARGS` in-process against a throwaway vault at FIXED_TIME."""
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME)

    def run(
        *args: str,
        passphrase: str | None = PASSPHRASE,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Run:
        env = {"HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": passphrase, **(env or {})}
        result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def plug_keys(tmp_path: Path) -> Iterator:
    """plug_keys(KeyConfig(...) or VirtualKey, ...) plugs one or two virtual keys into a new
    private pcscd and returns the KeyRig; everything is torn down after the test."""
    from virtualkey.rig import KeyRig

    rigs: list[KeyRig] = []

    def plug(*keys) -> KeyRig:
        for rig in rigs:
            rig.stop()
        workdir = tmp_path / f"pcscd-{len(rigs)}"
        workdir.mkdir()
        rig = KeyRig(workdir, list(keys), control_dir=workdir)
        rigs.append(rig)
        rig.start()
        _point_link(PCSC_LINK, rig.pcscd.socket_path)
        return rig

    yield plug
    for rig in rigs:
        rig.stop()
    bugs = [error for rig in rigs for key in rig.keys for error in key.card.internal_errors]
    assert not bugs, "the virtual key answered 6F00 for a bug of its own:\n" + bugs[0]


def _point_link(link: Path, target: Path) -> None:
    staging = link.with_name(link.name + ".new")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    staging.replace(link)


@pytest.fixture(scope="session", autouse=True)
def stand_in_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pkill and killall that kill nothing, first on PATH for the whole run: ykman (in this
    process too, through its connection opener) runs them when a connection fails."""
    folder = tmp_path_factory.mktemp("stand-in-tools")
    for name in ("pkill", "killall"):
        tool = folder / name
        tool.write_text("#!/bin/sh\nexit 1\n")
        tool.chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{path}"
    yield folder
    os.environ["PATH"] = path


@pytest.fixture
def ykman(stand_in_tools: Path):
    """Runs the real ykman CLI (from the test environment) against the plugged keys."""
    executable = Path(sys.executable).with_name("ykman")

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> Run:
        env = {**os.environ, "PATH": f"{stand_in_tools}:{os.environ['PATH']}"}
        result = subprocess.run(
            [str(executable), *args], input=stdin, capture_output=True, text=True, env=env,
            timeout=timeout,
        )
        return Run(result.returncode, result.stdout, result.stderr)

    return run
