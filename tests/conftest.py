"""Shared fixtures: a throwaway vault for the command line, run in-process with a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hwotp.cli import cli

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
