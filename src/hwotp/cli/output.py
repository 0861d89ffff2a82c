"""How results look: one line per credential for people, plain dictionaries for --json."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hwotp.cli.failures import prefixed
from hwotp.credential import Code, Credential, Entry, Kind

if TYPE_CHECKING:
    from hwotp.usecases.codes import Reading


def describe(item: Credential | Entry) -> str:
    """Kind and parameters, never the secret: `TOTP, SHA1, 6 digits, every 30 s`."""
    if item.steam:
        return f"Steam Guard, 5 characters, every {item.period} s"
    timing = f"every {item.period} s" if item.kind is Kind.TOTP else "counter-based"
    return f"{item.kind.name}, {item.algorithm.value}, {item.digits} digits, {timing}"


def seconds_left(code: Code, now: float) -> int | None:
    """Whole seconds left, rounded up: a code with 0.4 s left is not shown as dead already."""
    if code.valid_until is None:
        return None
    return max(0, math.ceil(code.valid_until - now))


def code_text(code: Code, now: float, following: Code | None = None, width: int = 0) -> str:
    """`123456  (12 s left)`, `123456  (3 s left; next 654321 in 3 s)`, or `123456` (HOTP);
    the code padded to `width`, so codes of 6 and 8 digits line up."""
    left = seconds_left(code, now)
    if left is None:
        return code.value
    then = f"; next {following.value} in {left} s" if following is not None else ""
    return f"{code.value.ljust(width)}  ({left} s left{then})"


def code_lines(readings: Sequence[Reading]) -> list[str]:
    """One line per computed code, names and codes in aligned columns."""
    computed = [(r, r.code) for r in readings if r.code is not None]
    width = max((len(r.name) for r, _code in computed), default=0)
    code_width = max((len(code.value) for _r, code in computed), default=0)
    return [f"{r.name.ljust(width)}  {code_text(code, r.at, r.next, code_width)}"
            for r, code in computed]


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells in columns as wide as their widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def entry_fields(entry: Entry) -> dict[str, object]:
    return {
        "name": entry.name,
        "issuer": entry.issuer,
        "account": entry.account,
        "location": entry.location,
        "kind": entry.kind.value,
        "algorithm": entry.algorithm.value,
        "digits": entry.digits,
        # A counter-based code has no period: the field would only mislead.
        **({"period": entry.period} if entry.kind is Kind.TOTP else {}),
        "touch": entry.touch,
        # HOTP: the next code's counter where the store knows it (the vault); null on a key,
        # which keeps its own and does not report it. Copies count separately.
        **({"counter": entry.counter} if entry.kind is Kind.HOTP else {}),
    }


def counter_text(entry: Entry) -> str:
    """`counter 5` (the next code's), or `counter on the key` where the store does not say."""
    return "counter on the key" if entry.counter is None else f"counter {entry.counter}"


def code_fields(code: Code, now: float, following: Code | None = None) -> dict[str, object]:
    """The code; for TOTP when it stops being valid, and the next code when it is close."""
    if code.valid_until is None:
        return {"code": code.value}
    fields: dict[str, object] = {
        "code": code.value,
        "valid_from": code.valid_from,
        "valid_until": code.valid_until,
        "seconds_left": seconds_left(code, now),
    }
    if following is not None:
        fields["next"] = {"code": following.value, "valid_from": following.valid_from,
                          "valid_until": following.valid_until}
    return fields


def reading_fields(reading: Reading) -> dict[str, object]:
    fields: dict[str, object] = {"name": reading.name, "location": reading.location}
    if reading.entry is not None:
        fields = entry_fields(reading.entry)
    if reading.code is None:
        return {**fields, "code": None, "ask_by_name": reading.not_computed_because}
    return {**fields, **code_fields(reading.code, reading.at, reading.next)}


def emit_json(data: object) -> None:
    import json

    echo(json.dumps(data, indent=2))  # ASCII: valid JSON whatever the terminal takes


def echo(line: str, err: bool = False) -> None:
    """One line of results on stdout (or, `err`, on stderr), written out at once as click.echo
    does: the commands `hwotp code` runs without click print this way."""
    stream = sys.stderr if err else sys.stdout
    if stream is not None:  # closed when the process started (`2>&-`): print would use stdout
        print(line, file=stream, flush=True)


def note(message: str) -> None:
    """Progress and context go to stderr, so stdout carries only results. A note that cannot
    be written is not worth failing a command for."""
    with contextlib.suppress(OSError):
        echo(message, err=True)


def warn(message: str) -> None:
    """Something the user should act on: `hwotp: warning: ...`, as errors are `hwotp: ...`."""
    note(prefixed(f"warning: {message}"))
