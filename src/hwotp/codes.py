"""Finding credentials by name and computing their codes, whichever store holds them."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hwotp.credential import Entry, fold
from hwotp.errors import NotFoundError
from hwotp.stores import Store


@dataclass(frozen=True)
class Located:
    entry: Entry
    store: Store


def locate_all(stores: Iterable[Store]) -> list[Located]:
    return [Located(entry, store) for store in stores for entry in store.entries()]


def matching(located: Sequence[Located], query: str) -> list[Located]:
    """Case-insensitive substring matches; the exact name wins, then the name in any case,
    so every stored credential can be reached by its own name."""
    hits = [item for item in located if item.entry.matches(query)]
    exact = [item for item in hits if item.entry.name == unicodedata.normalize("NFC", query)]
    folded = [item for item in hits if fold(item.entry.name) == fold(query)]
    return exact or folded or hits


def select_one(located: Sequence[Located], query: str) -> Located:
    hits = matching(located, query)
    if not hits:
        raise NotFoundError(f"no credential matches {query!r}; `hwotp list` shows them all")
    if len({item.entry.name for item in hits}) == 1:
        # Copies of one credential (backup keys, the vault's escrow copy): the first store
        # asked wins, keys before the vault.
        return hits[0]
    if len(hits) > 1:
        names = ", ".join(item.entry.name for item in hits)
        raise NotFoundError(f"{len(hits)} credentials match {query!r}: {names}; be more specific")
    return hits[0]
