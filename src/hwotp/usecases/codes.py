"""Finding credentials by name and computing their codes, whichever store holds them.

Codes are computed from a clock reading taken after whatever the store asked for (a vault
passphrase, an OATH password, a touch): a code computed before a slow prompt is computed
again, so no code is printed already expired. A code about to expire comes with the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from hwotp.credential import Code, Entry, Kind, is_hidden
from hwotp.errors import NotFoundError
from hwotp.stores import Store
from hwotp.usecases.query import best_names, suggestions

Clock = Callable[[], float]
NEXT_WITHIN = 5.0  # seconds: a code with less left than this comes with the next one


class Located(NamedTuple):
    entry: Entry
    store: Store


class Reading(NamedTuple):
    """A code as shown: computed for the clock reading `at`, with the next code when fewer
    than the threshold's seconds are left; or why it is computed only when asked by name."""

    name: str
    location: str
    code: Code | None
    at: float
    next: Code | None = None
    not_computed_because: str = ""
    entry: Entry | None = None  # what the store tells of it, when it was asked for by name

    @property
    def hidden(self) -> bool:
        return is_hidden(self.name)

    @property
    def seconds_left(self) -> float | None:
        if self.code is None or self.code.valid_until is None:
            return None
        return self.code.valid_until - self.at


class NoMatchError(NotFoundError):
    """Nothing holds the query; `suggestions` are names it may be a slip for."""

    def __init__(self, message: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.suggestions = suggestions


def locate_all(stores: Iterable[Store]) -> list[Located]:
    return [Located(entry, store) for store in stores for entry in store.entries()]


def all_codes(
    stores: Iterable[Store], clock: Clock, next_within: float = NEXT_WITHIN,
    shown: Iterable[str] = (),
) -> list[Reading]:
    """Every code the stores compute without asking; copies of one credential (backup keys,
    the vault's escrow) once: the first store that has the name answers, keys before the
    vault. Two credentials of one name in one store are not copies: both are shown. Names in
    `shown` were printed already (by the keys, before the vault was opened)."""
    seen = set(shown)
    readings: list[Reading] = []
    for store in stores:
        answered = [r for r in store_codes(store, clock, next_within) if r.name not in seen]
        seen.update(r.name for r in answered)
        readings += answered
    return readings


def store_codes(store: Store, clock: Clock, next_within: float) -> list[Reading]:
    """One store's bulk codes, computed again if asking for them took past a period's end."""
    now = clock()
    computed = store.codes(now)
    after = clock()
    if any(_expired(item.code, after) for item in computed):  # a prompt was held that long
        now = after
        computed = store.codes(now)
    readings = [Reading(c.name, c.location, c.code, now, None, c.not_computed_because)
                for c in computed]
    return _with_next(store, readings, next_within)


def _with_next(store: Store, readings: list[Reading], next_within: float) -> list[Reading]:
    """Adds the next code to each code about to expire: one bulk call per period end."""
    ends = {r.code.valid_until for r in readings
            if r.code is not None and r.code.valid_until is not None
            and (r.seconds_left or 0) < next_within}
    following: dict[tuple[str, int], Code] = {}
    for end in sorted(e for e in ends if e is not None):
        for item in store.codes(end):
            if item.code is not None and item.code.valid_from == end:
                following[(item.name, end)] = item.code
    return [
        r._replace(next=following.get((r.name, r.code.valid_until)))
        if r.code is not None and r.code.valid_until in ends else r
        for r in readings
    ]


def compute_one(item: Located, clock: Clock, next_within: float = NEXT_WITHIN) -> Reading:
    """The code of one credential, asked for by name (moves an HOTP counter, may wait for a
    touch). A TOTP code that expired while the store asked for a passphrase or a touch is
    computed again (a touch credential asks for one more touch)."""
    entry, store = item.entry, item.store
    now = clock()
    code = store.calculate(entry, now)
    after = clock()
    if entry.kind is Kind.TOTP and _expired(code, after):
        now = after
        code = store.calculate(entry, now)
        after = clock()
    # A touch may take seconds: what is left counts from when the code came back.
    at = after if entry.touch else now
    reading = Reading(entry.name, entry.location, code, at, entry=entry)
    left = reading.seconds_left
    if left is not None and left < next_within and not entry.touch and code.valid_until:
        reading = reading._replace(next=store.calculate(entry, code.valid_until))
    return reading


def bulk_or_ask(item: Located, clock: Clock, next_within: float) -> Reading:
    """One of several matches: computed if that asks nothing of anyone (ykman's rule for
    several matches), else named with why it is not."""
    entry = item.entry
    if entry.touch:
        return Reading(entry.name, entry.location, None, clock(), None, "needs a touch", entry)
    if entry.kind is Kind.HOTP:
        return Reading(entry.name, entry.location, None, clock(), None, "HOTP", entry)
    return compute_one(item, clock, next_within)


def _expired(code: Code | None, now: float) -> bool:
    return code is not None and code.valid_until is not None and now >= code.valid_until


def matching(located: Sequence[Located], query: str) -> list[Located]:
    """Every located credential the query means: a store's own id for it (a key's raw id,
    `60/Site:x`) first, then by name (exact, any case, substring), so every stored
    credential can be reached by its own name."""
    by_handle = [item for item in located if item.entry.handle_text == query]
    if by_handle:
        return by_handle
    names = set(best_names([item.entry.name for item in located], query))
    return [item for item in located if item.entry.name in names]


def first_of_each(located: Sequence[Located]) -> list[Located]:
    """Copies elsewhere (backup keys, the vault) are one credential: the first store that has
    the name answers, keys before the vault. Two of one name in one store are both kept."""
    answering: dict[str, str] = {}
    for item in located:
        answering.setdefault(item.entry.name, item.entry.location)
    return [item for item in located if answering[item.entry.name] == item.entry.location]


def select_all(located: Sequence[Located], query: str) -> list[Located]:
    """Every credential the query means, one per name; NoMatchError with suggestions when
    nothing holds it."""
    hits = matching(located, query)
    if not hits:
        names = [item.entry.name for item in located if not item.entry.hidden]
        raise NoMatchError(f"no credential matches {_shown(query)}; `hwotp list` shows them all",
                           suggestions(names, query))
    return first_of_each(hits)


def select_one(located: Sequence[Located], query: str) -> Located:
    hits = select_all(located, query)
    names = list(dict.fromkeys(item.entry.name for item in hits))
    if len(names) > 1:
        visible = [name for name in names if not is_hidden(name)]
        listed = ", ".join(visible) + (" and hidden ones" if len(visible) < len(names) else "")
        raise NotFoundError(
            f"{len(names)} credentials match {_shown(query)}: {listed}; be more specific"
        )
    _refuse_twins(hits)
    return hits[0]


def copies_of(located: Sequence[Located], item: Located) -> list[Located]:
    """`item` and its copies (the same name in other stores), in the order located: keys
    before the vault. Copies are one credential for `delete` and `rename`, as for `code`."""
    copies = [other for other in located if other is item or other.entry.is_copy_of(item.entry)]
    _refuse_twins(copies)  # its own store's twin was told apart by the query (an id)
    return copies


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


def _shown(query: str) -> str:
    """A pasted setup key must not be printed back: name the query only when it cannot be one."""
    from hwotp.secret import looks_like_a_secret  # only when a query failed: not for codes

    return "the query" if looks_like_a_secret(query) else repr(query)
