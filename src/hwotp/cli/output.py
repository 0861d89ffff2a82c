"""How results look: one line per credential for people, plain dictionaries for --json."""

from __future__ import annotations

import contextlib
import json

import click

from hwotp.cli.failures import prefixed
from hwotp.credential import Code, Credential, Entry, Kind
from hwotp.stores.base import Computed


def describe(item: Credential | Entry) -> str:
    """Kind and parameters, never the secret: `TOTP, SHA1, 6 digits, every 30 s`."""
    timing = f"every {item.period} s" if item.kind is Kind.TOTP else "counter-based"
    return f"{item.kind.name}, {item.algorithm.value}, {item.digits} digits, {timing}"


def code_text(code: Code, now: float) -> str:
    left = code.seconds_left(now)
    return code.value if left is None else f"{code.value}  (valid for {left} more seconds)"


def entry_fields(entry: Entry) -> dict[str, object]:
    return {
        "name": entry.name,
        "issuer": entry.issuer,
        "account": entry.account,
        "location": entry.location,
        "kind": entry.kind.value,
        "algorithm": entry.algorithm.value,
        "digits": entry.digits,
        "period": entry.period,
        "touch": entry.touch,
    }


def code_fields(code: Code, now: float) -> dict[str, object]:
    return {
        "code": code.value,
        "valid_until": code.valid_until,
        "seconds_left": code.seconds_left(now),
    }


def computed_fields(item: Computed, now: float) -> dict[str, object]:
    fields: dict[str, object] = {"name": item.name, "location": item.location}
    if item.code is None:
        return {**fields, "code": None, "ask_by_name": item.not_computed_because}
    return {**fields, **code_fields(item.code, now)}


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))  # ASCII: valid JSON whatever the terminal takes


def note(message: str) -> None:
    """Progress and context go to stderr, so stdout carries only results. A note that cannot
    be written is not worth failing a command for."""
    with contextlib.suppress(OSError):
        click.echo(message, err=True)


def warn(message: str) -> None:
    """Something the user should act on: `hwotp: warning: ...`, as errors are `hwotp: ...`."""
    note(prefixed(f"warning: {message}"))
