"""Queries as people type them: the exact name wins, then the name in any case, then every
name holding the query; when nothing holds it, names it could be a slip for."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from hwotp.credential import fold

# How many edits a query may be away from a name (or one of its two parts) to be offered.
MAX_TYPO_SHARE = 3  # one edit per this many characters of the query, at least one


def best_names(names: Sequence[str], query: str) -> list[str]:
    """The names `query` means, in the order given: exact, then case-folded, then substring."""
    exact = [name for name in names if name == unicodedata.normalize("NFC", query)]
    folded = [name for name in names if fold(name) == fold(query)]
    holding = [name for name in names if fold(query) in fold(name)]
    return _unique(exact or folded or holding)


def suggestions(names: Sequence[str], query: str) -> list[str]:
    """Names the query may have meant when none holds it: those holding its letters in order
    (`gthub` -> GitHub), else those a few typos away (`gihtub`), nearest first."""
    wanted = fold(query)
    if not wanted:
        return []
    in_order = [name for name in names if _is_subsequence(wanted, fold(name))]
    if in_order:
        return _unique(in_order)
    limit = max(1, len(wanted) // MAX_TYPO_SHARE)
    scored = sorted(
        (distance, name)
        for name in _unique(names)
        if (distance := _closest(wanted, fold(name))) <= limit
    )
    return [name for _distance, name in scored]


def _closest(query: str, name: str) -> int:
    """Edits from the query to the whole name or to its issuer or account part."""
    parts = {name, *name.split(":", 1)}
    return min(edit_distance(query, part) for part in parts)


def _is_subsequence(query: str, name: str) -> bool:
    rest = iter(name)
    return all(char in rest for char in query)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), two rows at a time."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            ))
        previous = current
    return previous[-1]


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))
