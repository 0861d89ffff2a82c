"""A printed recovery key: 160 random bits a person can copy by hand and type back.

Written as 8 groups of 5 characters (`7KQ2M-...`): 4 characters of data and 1 check character
each, in Crockford's base32 alphabet (digits and capitals without I, L, O, U, so nothing reads
as another letter). The check character catches a typo in its group before any key is derived,
and names the group. Pure: no I/O.
"""

from __future__ import annotations

import os
import re

from hwotp.errors import InputError
from hwotp.vault.format import RECOVERY_KEY_BYTES

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 8
DATA_CHARS = 4  # 8 groups x 4 characters x 5 bits = 160 bits
# What a person may read one character as (Crockford's rules): O as zero, I and L as one.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Separators between groups may be left out: 40 characters in a row read the same.
_SHAPE = re.compile(r"\s*[0-9A-Za-z]{5}(?:[\s-]*[0-9A-Za-z]{5}){7}\s*\Z")


def new_recovery_key() -> bytes:
    return os.urandom(RECOVERY_KEY_BYTES)


def format_recovery_key(key: bytes) -> str:
    """`key` as the groups a person copies, joined by hyphens."""
    if len(key) != RECOVERY_KEY_BYTES:
        raise ValueError("a recovery key is 20 bytes")
    number = int.from_bytes(key, "big")
    codes = [(number >> (5 * (31 - i))) & 31 for i in range(GROUPS * DATA_CHARS)]
    groups = []
    for index in range(GROUPS):
        data = codes[index * DATA_CHARS:(index + 1) * DATA_CHARS]
        groups.append("".join(ALPHABET[c] for c in [*data, _check(index, data)]))
    return "-".join(groups)


class RecoveryKeyTypo(InputError):
    """Text of a recovery key's shape whose group `group` (from 1) cannot be one: `problem`
    says why, in words that follow "group N"."""

    def __init__(self, group: int, problem: str) -> None:
        super().__init__(f"group {group} of the recovery key {problem}; check what you typed")
        self.group = group
        self.problem = problem


def looks_like_recovery_key(text: str) -> bool:
    """Whether `text` has a recovery key's shape (8 groups of 5 letters or digits, separated
    or not). A passphrase may have it too: such text is tried as a recovery key first, not
    only."""
    return _SHAPE.match(text) is not None


def parse_recovery_key(text: str) -> bytes:
    """The key `text` spells, in any case, with hyphens, spaces or nothing between groups;
    RecoveryKeyTypo naming the group whose check character does not match."""
    if not looks_like_recovery_key(text):
        raise InputError("a recovery key is 8 groups of 5 letters or digits")
    joined = re.sub(r"[\s-]+", "", text).upper().translate(_READ_AS)
    groups = [joined[start:start + DATA_CHARS + 1] for start in range(0, len(joined), 5)]
    number = 0
    for index, group in enumerate(groups):
        if any(char not in ALPHABET for char in group):
            raise RecoveryKeyTypo(index + 1, "holds a character a recovery key never has (U)")
        codes = [ALPHABET.index(char) for char in group]
        if _check(index, codes[:DATA_CHARS]) != codes[DATA_CHARS]:
            raise RecoveryKeyTypo(index + 1,
                                  "has a typo (its last character does not match)")
        for code in codes[:DATA_CHARS]:
            number = number << 5 | code
    return number.to_bytes(RECOVERY_KEY_BYTES, "big")


def _check(index: int, codes: list[int]) -> int:
    """Luhn mod 32 over the group's position and its data: every single wrong character and
    almost every swap of two neighbours changes it; the position catches a group typed in
    another group's place."""
    total = 0
    for position, code in enumerate(reversed([index, *codes])):
        addend = code * (2 if position % 2 == 0 else 1)
        total += addend // 32 + addend % 32
    return -total % 32
