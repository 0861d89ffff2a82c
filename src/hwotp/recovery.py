"""Recovery codes: the one-time codes a service hands out for the day every second factor is
lost. A set belongs to a service; each code is used once. Pure data and rules, no I/O.

Codes are secrets: no message here contains one; errors name a code by its number, never its value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hwotp.credential import CredentialError, clean_text, fold

MAX_CODES = 100  # per service; services hand out 8 to 16
MAX_CODE_CHARS = 64
MIN_CODE_CHARS = 4  # shorter is a stray word or a heading, not a code
MAX_SERVICES = 1000
FEW_LEFT = 2  # at this many unused codes or fewer, make a new set

# "1. code", "2) code", "10.  code": numbering of a pasted list, stripped only when every line
# has it and the numbers count 1, 2, 3... (a code itself may look like "1) x" once).
_NUMBERED = re.compile(r"(\d{1,3})[.)]\s+(\S.*)\Z")
# "- code", "* code", "• code": bullets, stripped on the same rule (every line).
_BULLETED = re.compile(r"[-*\u2022]\s+(\S.*)\Z")


class RecoveryError(CredentialError):
    """A recovery code or set breaks a rule; the message never holds a code."""


@dataclass(frozen=True)
class RecoveryCode:
    value: str = field(repr=False)
    used: bool = False


@dataclass(frozen=True)
class RecoverySet:
    """The recovery codes of one service, in the order the service listed them."""

    service: str
    codes: tuple[RecoveryCode, ...] = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "service", clean_service(self.service))
        object.__setattr__(self, "codes", tuple(self.codes))
        if not self.codes:
            raise RecoveryError("a set of recovery codes is empty")
        check_codes([code.value for code in self.codes])

    @property
    def left(self) -> int:
        return sum(not code.used for code in self.codes)

    @property
    def total(self) -> int:
        return len(self.codes)

    def next_unused(self) -> int | None:
        """The index of the first unused code, or None when all are used."""
        return next((i for i, code in enumerate(self.codes) if not code.used), None)

    def with_used(self, index: int) -> RecoverySet:
        codes = list(self.codes)
        codes[index] = replace(codes[index], used=True)
        return replace(self, codes=tuple(codes))


def new_set(service: str, values: Sequence[str]) -> RecoverySet:
    return RecoverySet(service, tuple(RecoveryCode(value) for value in values))


def clean_service(service: str) -> str:
    """A service name by the rules of a credential's issuer (NFC, trimmed, visible, bounded)."""
    try:
        cleaned = clean_text("service name", service)
    except RecoveryError:
        raise
    except CredentialError as error:  # said as a recovery error: it is about codes
        raise RecoveryError(str(error)) from None
    if not cleaned:
        raise RecoveryError("the service name is empty")
    return cleaned


def parse_pasted(text: str) -> list[str]:
    """The codes in pasted text: one per line, blank lines skipped, surrounding blanks and an
    obvious list's numbering or bullets removed, runs of blanks inside a code made one space.
    RecoveryError for no code, a line that is not a code, or a code given twice."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    codes = _without_list_marks([line for line in lines if line])
    if not codes:
        raise RecoveryError("no recovery codes were given: paste them one per line")
    check_codes(codes)
    return codes


def check_codes(codes: Sequence[str]) -> None:
    """Each code printable and of a code's length, none twice, at most MAX_CODES."""
    if len(codes) > MAX_CODES:
        raise RecoveryError(f"a service has at most {MAX_CODES} recovery codes")
    seen: dict[str, int] = {}
    for number, code in enumerate(codes, start=1):
        _check_code(number, code)
        first = seen.setdefault(same_code(code), number)
        if first != number:
            raise RecoveryError(f"recovery code {number} repeats code {first}")


def same_code(code: str) -> str:
    """What two spellings of one code share: case, blanks and hyphens do not count (services
    print codes in groups; people type them either way)."""
    return "".join(char for char in fold(code) if char not in " -")


def _check_code(number: int, code: str) -> None:
    if not MIN_CODE_CHARS <= len(code) <= MAX_CODE_CHARS:
        raise RecoveryError(
            f"code {number} is not a recovery code: a code has {MIN_CODE_CHARS} to "
            f"{MAX_CODE_CHARS} characters"
        )
    blanks_ok = code == code.strip() and "  " not in code
    if not blanks_ok or any(_not_visible(char) for char in code if char != " "):
        raise RecoveryError(f"code {number} is not a recovery code: it holds invisible characters")


def _not_visible(char: str) -> bool:
    return unicodedata.category(char)[0] in "CZ"  # control, format, separators


def _without_list_marks(lines: list[str]) -> list[str]:
    numbered = [_NUMBERED.match(line) for line in lines]
    if lines and all(numbered) and [int(m.group(1)) for m in numbered if m] == list(
        range(1, len(lines) + 1)
    ):
        return [m.group(2) for m in numbered if m]
    bulleted = [_BULLETED.match(line) for line in lines]
    if lines and all(bulleted):
        return [m.group(1) for m in bulleted if m]
    return lines
