"""Finding credentials by name and computing their codes, whichever store holds them."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hwotp.credential import Entry, fold, is_hidden
from hwotp.errors import NotFoundError
from hwotp.secret import looks_like_a_secret
from hwotp.stores import Store
from hwotp.stores.base import Computed


@dataclass(frozen=True)
class Located:
    entry: Entry
    store: Store


def locate_all(stores: Iterable[Store]) -> list[Located]:
    return [Located(entry, store) for store in stores for entry in store.entries()]


def all_codes(stores: Iterable[Store], now: float) -> list[Computed]:
    """Every code the stores compute without asking; copies of one credential (backup keys,
    the vault's escrow) once: the first store that has the name answers, keys before the vault.
    Two credentials of one name in one store are not copies: both are shown."""
    computed = [item for store in stores for item in store.codes(now)]
    answering = {item.name: item.location for item in reversed(computed)}
    return [item for item in computed if answering[item.name] == item.location]


def matching(located: Sequence[Located], query: str) -> list[Located]:
    """Case-insensitive substring matches; a store's own id for a credential (a key's raw id,
    `60/Site:x`) wins, then the exact name, then the name in any case, so every stored
    credential can be reached by its own name."""
    by_handle = [item for item in located if item.entry.handle_text == query]
    hits = [item for item in located if item.entry.matches(query)]
    exact = [item for item in hits if item.entry.name == unicodedata.normalize("NFC", query)]
    folded = [item for item in hits if fold(item.entry.name) == fold(query)]
    return by_handle or exact or folded or hits


def select_one(located: Sequence[Located], query: str) -> Located:
    hits = matching(located, query)
    # A pasted setup key must not be printed back: name the query only when it cannot be one.
    shown = "the query" if looks_like_a_secret(query) else repr(query)
    if not hits:
        raise NotFoundError(f"no credential matches {shown}; `hwotp list` shows them all")
    names = list(dict.fromkeys(item.entry.name for item in hits))
    if len(names) > 1:
        visible = [name for name in names if not is_hidden(name)]
        listed = ", ".join(visible) + (" and hidden ones" if len(visible) < len(names) else "")
        raise NotFoundError(f"{len(names)} credentials match {shown}: {listed}; be more specific")
    _refuse_twins(hits)
    # One name, perhaps in several places (backup keys, the vault's escrow copy): the first
    # store asked answers, keys before the vault.
    return hits[0]


def _refuse_twins(hits: Sequence[Located]) -> None:
    """Two credentials that print alike in one store are not copies: never guess which."""
    locations = [item.entry.location for item in hits]
    twins = [item for item in hits if locations.count(item.entry.location) > 1]
    if twins:
        ids = ", ".join(item.entry.handle_text or item.entry.name for item in twins)
        raise NotFoundError(
            f"{len(twins)} credentials in the {twins[0].entry.location} are named "
            f"{twins[0].entry.name} ({ids}); name one by its id, or tidy them up with ykman"
        )
