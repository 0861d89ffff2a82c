"""`hwotp doctor`: check this machine and print a fix for each problem found."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli import cli
from hwotp.cli.output import emit_json, note
from hwotp.errors import ExitCode

if TYPE_CHECKING:
    from hwotp.usecases.doctor import Check


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check pcscd, readers and keys, the udev rules, the clock, libzbar and the keyring, and
    print a fix for each problem.

    Exits with 0 when nothing is wrong (an UNKNOWN is not a problem), 16 when a problem was
    found.
    """
    from hwotp.usecases.doctor import run_checks

    checks = run_checks()
    problems = sum(check.ok is False for check in checks)
    if as_json:
        emit_json(doctor_fields(checks))
    else:
        for line in doctor_lines(checks):
            click.echo(line)
        note(summary(problems))
    if problems:
        ctx.exit(ExitCode.CHECKS_FAILED)


def doctor_lines(checks: list[Check]) -> list[str]:
    """One line per check, the fix indented under anything not OK."""
    lines = []
    for check in checks:
        lines.append(f"{check.status:<8} {check.name}: {check.detail}")
        if check.fix and check.ok is not True:
            lines.append(f"{'':<8} fix: {check.fix}")
    return lines


def doctor_fields(checks: list[Check]) -> dict[str, object]:
    return {
        "ok": not any(check.ok is False for check in checks),
        "checks": [
            {
                "name": check.name,
                "status": check.status.lower(),
                "ok": check.ok,
                "detail": check.detail,
                "fix": check.fix,
            }
            for check in checks
        ],
    }


def summary(problems: int) -> str:
    if not problems:
        return "No problems found."
    return f"{problems} problem{'s' if problems > 1 else ''} found; see the fixes above."
