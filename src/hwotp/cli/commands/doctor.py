"""`hwotp doctor`: check this machine and print a fix for each problem found."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hwotp.cli.failures import prefixed
from hwotp.cli.output import emit_json, note
from hwotp.cli.root import cli
from hwotp.errors import ExitCode

if TYPE_CHECKING:
    from hwotp.usecases.doctor import Check


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check pcscd, readers and keys, the udev rules, the clock, libzbar, the keyring and the
    vault file with its backup (header only: no passphrase is asked), and print a fix for each
    problem. Nothing is changed and the network is not used.

    A PROBLEM is something needed for what you use (pcscd once YubiKeys are used here, a
    vault that exists); a NOTE is optional (FIDO2 udev rules, a keyring for --remember) or not
    needed yet; a WARNING still works but is close to failing (a clock 5 to 15 s off).
    Exits with 16 when a problem was found, else 0.
    """
    from hwotp.usecases.doctor import run_checks

    checks = run_checks(ctx.obj.vault_path)
    problems = sum(check.ok is False for check in checks)
    if as_json:
        emit_json(doctor_fields(checks))
    else:
        for line in doctor_lines(checks):
            click.echo(line)
        said = summary(problems, sum(check.status == "WARNING" for check in checks))
        note(prefixed(said) if problems else said)  # the failure's sentence, as for errors
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
                "status": check.status.value.lower(),
                "ok": check.ok,
                "detail": check.detail,
                "fix": check.fix,
            }
            for check in checks
        ],
    }


def summary(problems: int, warnings: int = 0) -> str:
    if not problems and not warnings:
        return "No problems found."
    found = (
        f"{problems} problem{'s' if problems != 1 else ''} found"
        if problems
        else "No problems found"
    )
    if warnings:
        found += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return f"{found}; see the fixes above."
