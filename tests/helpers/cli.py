"""Checks on a hwotp run (the `hwotp` fixture's result, or anything with the same fields)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def everything(self) -> str:
        return self.stdout + self.stderr


def ok(result):
    assert result.exit_code == 0, result.everything
    assert "Traceback" not in result.everything
    return result


def failed(result, exit_code: int) -> str:
    """The command failed with `exit_code` and one error sentence, last on stderr."""
    assert result.exit_code == exit_code, result.everything
    assert "Traceback" not in result.everything
    lines = result.stderr.splitlines()
    errors = [line for line in lines
              if line.startswith("hwotp: ") and not line.startswith("hwotp: warning: ")]
    assert errors == [lines[-1]], result.stderr
    return errors[0]


def codes_printed(stdout: str) -> dict[str, str]:
    """`name  123456  (12 s left)` lines (name and code in aligned columns) -> {name: code}."""
    found = {}
    for line in stdout.splitlines():
        name, code = re.match(r"(.*?) {2,}(\S+)", line).groups()
        found[name] = code
    return found
