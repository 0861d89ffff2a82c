"""Recovery codes kept in the vault: add a set, find one by service, hand out the next code.

The next code is chosen, handed out and marked used under the vault's write lock, so two
processes never hand out one code; it is handed out before the write, so a code the user never
saw (the output failed) is not marked used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hwotp.credential import fold
from hwotp.errors import ExistsError, NotFoundError, Remedy
from hwotp.recovery import RecoverySet, clean_service, new_set
from hwotp.usecases.query import best_names, suggestions
from hwotp.vault import Vault


def add_codes(vault: Vault, service: str, codes: Sequence[str], *, replace: bool) -> RecoverySet:
    """Keep `codes` for `service`; a service that has codes (in any case) keeps them unless
    `replace` (a new set from a service voids the old one)."""
    added = new_set(service, codes)
    with vault.edit_recovery() as sets:
        index = _same_service(sets, added.service)
        if index is None:
            sets.append(added)
        elif replace:
            sets[index] = RecoverySet(sets[index].service, added.codes)  # keeps its spelling
        else:
            raise ExistsError(f"recovery codes for {sets[index].service} are kept already",
                              remedy=Remedy.REPLACE_CODES)
    return added


def find_set(sets: Sequence[RecoverySet], query: str) -> RecoverySet:
    """The one set the query names, by the rules of credential queries (exact name, any case,
    part of it); NotFoundError naming near services, or the several that match."""
    services = [item.service for item in sets]
    hits = best_names(services, query)
    if not hits:
        near = suggestions(services, query)
        hint = f"; did you mean {', '.join(near[:5])}?" if near else ""
        listing = "`hwotp recovery list` shows them" if sets else "none are kept yet"
        raise NotFoundError(f"no recovery codes are kept for that service ({listing}){hint}")
    if len(hits) > 1:
        raise NotFoundError(f"{len(hits)} services match: {', '.join(hits)}; be more specific")
    return next(item for item in sets if item.service == hits[0])


def use_next(vault: Vault, query: str, hand_out: Callable[[str], None]) -> RecoverySet:
    """Hand the next unused code of the service `query` names to `hand_out`, then mark it
    used, all under the vault's lock. Returns the set as it is now (what is left)."""
    with vault.edit_recovery() as sets:
        found = find_set(sets, query)
        index = found.next_unused()
        if index is None:
            raise NotFoundError(f"every recovery code for {found.service} is used",
                                remedy=Remedy.NEW_CODES)
        hand_out(found.codes[index].value)
        used = found.with_used(index)
        sets[sets.index(found)] = used
    return used


def _same_service(sets: Sequence[RecoverySet], service: str) -> int | None:
    wanted = fold(clean_service(service))
    return next((i for i, item in enumerate(sets) if fold(item.service) == wanted), None)
