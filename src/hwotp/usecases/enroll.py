"""Enrolment: store credentials, then prove each one by computing its code from the store.

All or nothing per credential and store: a write that cannot be proven (a missed touch, a
different code, an interrupt) is removed again where the store still answers, and named where
it does not (a key pulled out)."""

from __future__ import annotations

import contextlib
import signal
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from hwotp.credential import Code, Credential, Entry, Kind
from hwotp.errors import (
    ExistsError,
    ExitCode,
    HwotpError,
    InputError,
    Interrupted,
    KeyUnavailableError,
    NotFoundError,
    Remedy,
    TouchTimeoutError,
)
from hwotp.otp import compute
from hwotp.stores import Store


@dataclass(frozen=True)
class Enrolled:
    credential: Credential
    location: str
    code: Code
    present: bool = False  # found in the store already, same secret: not written again
    replaced: tuple[str, ...] = ()  # raw ids of same-name twins removed (another period)


class VerificationError(HwotpError):
    """The stored credential computes a different code than its secret: never expected."""

    exit_code = ExitCode.NOT_VERIFIED


@dataclass(frozen=True)
class Checked:
    """What a store holds of a batch, found before the first write: the stored entries each
    name replaces (only with `replace`), the names it holds already with the same secret, and
    its free slots (None: no limit)."""

    replacing: Mapping[str, tuple[Entry, ...]] = field(default_factory=dict)
    present: frozenset[str] = frozenset()
    free: int | None = None
    # Names whose write needs a slot of its own (not one that overwrites a stored entry).
    needs_slot: frozenset[str] = frozenset()

    def to_write(self, credentials: Sequence[Credential]) -> list[Credential]:
        return [c for c in credentials if c.name not in self.present]

    def overflow(self, credentials: Sequence[Credential]) -> list[Credential]:
        """The credentials past the store's free slots, in input order (none when it has
        room for all)."""
        if self.free is None:
            return []
        taking = [c for c in self.to_write(credentials) if c.name in self.needs_slot]
        return taking[self.free:]


def check(
    credentials: Sequence[Credential],
    store: Store,
    clock: Callable[[], float],
    *,
    replace: bool,
) -> Checked:
    """Refuse before writing anything, so a batch is never half stored: a name twice in the
    input, what the store cannot hold, a name clash with another secret. Everything a write
    will ask for is asked here; a credential the store holds already with the same secret (an
    interrupted enrolment run again) is found here, so it is not written twice.

    Names (`issuer:account`) identify credentials in every store, as they do on a YubiKey.
    """
    twice = [name for name, count in Counter(c.name for c in credentials).items() if count > 1]
    if twice:
        raise InputError(f"{', '.join(twice)} appears twice in this input", remedy=Remedy.PICK)
    store.check_writable(credentials)
    store.prepare_to_write()
    entries = store.entries()
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        # Another tool may have written a name in another Unicode spelling: it is the same name.
        by_name.setdefault(unicodedata.normalize("NFC", entry.name), []).append(entry)
    clashing = {c.name: tuple(by_name[c.name]) for c in credentials if c.name in by_name}
    present: set[str] = set()
    not_compared: list[str] = []
    if not replace:
        present, not_compared = _compare(credentials, clashing, store, clock)
    refused = [name for name in clashing if name not in present]
    if refused and not replace:
        error = ExistsError(f"{', '.join(refused)} already in the {store.location}",
                            remedy=Remedy.REPLACE)
        for reason in dict.fromkeys(not_compared):
            error.add_context(reason)
        raise error
    replacing = {name: clashing[name] for name in refused}
    needs_slot = frozenset(
        c.name for c in credentials
        if not any(store.same_slot(entry, c) for entry in replacing.get(c.name, ())))
    capacity = store.capacity
    free = None if capacity is None else max(0, capacity - len(entries))
    return Checked(replacing, frozenset(present), free, needs_slot)


def _compare(
    credentials: Sequence[Credential],
    clashing: Mapping[str, tuple[Entry, ...]],
    store: Store,
    clock: Callable[[], float],
) -> tuple[set[str], list[str]]:
    """The names the store holds with the same secret already, and why any could not be
    compared."""
    present: set[str] = set()
    not_compared: list[str] = []
    for credential in credentials:
        for entry in clashing.get(credential.name, ()):
            comparison = store.compare(entry, credential, clock())
            if comparison.same:
                present.add(credential.name)
                break
            if comparison.not_compared:
                not_compared.append(comparison.not_compared)
    return present, not_compared


def enroll(
    credentials: Sequence[Credential],
    store: Store,
    clock: Callable[[], float],
    *,
    replace: bool = False,
    checked: Checked | None = None,
) -> list[Enrolled]:
    """Store each credential and prove it; `clock` is read after each write, so a slow
    passphrase prompt or unlock never yields a code that has already expired. `checked` is
    what `check` said of this store, when the caller asked it already."""
    checked = checked or check(credentials, store, clock, replace=replace)
    enrolled: list[Enrolled] = []
    for credential in credentials:
        try:
            with _interrupts_as_exceptions():
                enrolled.append(_enrolled(credential, store, clock, checked))
        except (HwotpError, Interrupted) as error:
            written = [e.credential.name for e in enrolled if not e.present]
            if written:  # say exactly what is stored already, so a retry does not guess
                error.add_context(f"{', '.join(written)} stored before that")
            raise
    return enrolled


def _enrolled(
    credential: Credential, store: Store, clock: Callable[[], float], checked: Checked
) -> Enrolled:
    if credential.name in checked.present:
        return _already_there(credential, store, clock)
    return _enroll_one(credential, store, clock, checked.replacing.get(credential.name, ()))


def _already_there(credential: Credential, store: Store, clock: Callable[[], float]) -> Enrolled:
    """Its code, for a credential found with the same secret: from the secret, except HOTP in
    the vault, which hands out (and counts) its next code as a proof would."""
    now = clock()
    if credential.kind is Kind.HOTP:
        code = store.calculate(credential.entry(store.location), now)
    else:
        code = compute(credential, now)
    return Enrolled(credential, store.location, code, present=True)


def _enroll_one(
    credential: Credential,
    store: Store,
    clock: Callable[[], float],
    replacing: tuple[Entry, ...],
) -> Enrolled:
    overwritten = any(store.same_slot(entry, credential) for entry in replacing)
    # What --force replaces in place: if the new one then fails its proof, the old is gone too.
    gone_too = f"the earlier {credential.name} it replaced is gone too" if overwritten else None
    entry = credential.entry(store.location)
    try:
        with _interrupts_as_exceptions():
            entry = store.add(credential, replace=bool(replacing))
    except Interrupted as error:  # the write may have happened
        _undo(credential, entry, store, error, gone_too)
        raise
    except KeyUnavailableError as error:
        error.left_behind.append((credential.name, store.location))
        raise
    # Any other refusal of the write (a key filled or a name taken since the check) wrote
    # nothing: there is nothing to undo, and undoing would remove another's credential.
    try:
        with _interrupts_as_exceptions():
            # Asking the store (not the secret) proves the write; for HOTP it also moves the
            # counter past the code the site is about to accept.
            now = clock()
            actual = _prove(credential, entry, store, now)
            if actual.value != compute(credential, now).value:
                raise VerificationError(
                    f"the {store.location} computed a different code for {credential.name}"
                )
    except (HwotpError, Interrupted) as error:
        _undo(credential, entry, store, error, gone_too)
        raise
    twins = [twin for twin in replacing if not store.same_slot(twin, credential)]
    _remove_twins(credential, twins, store)
    return Enrolled(credential, store.location, actual,
                    replaced=tuple(twin.handle_text or twin.name for twin in twins))


def _remove_twins(credential: Credential, twins: list[Entry], store: Store) -> None:
    """The new one is proven: what --force replaces under the same name and another period
    goes now (an interrupt waits until it has, then ends the command)."""
    try:
        with _interrupts_deferred(then_interrupt=True):
            for twin in twins:
                store.delete(twin)
    except (HwotpError, Interrupted) as error:
        left = ", ".join(twin.handle_text or twin.name for twin in twins)
        error.add_context(f"{credential.name} is stored and proven; {left}, which it replaces, "
                          f"may still be on the {store.location}")
        raise


def _prove(credential: Credential, stored: Entry, store: Store, now: float) -> Code:
    try:
        return store.calculate(stored, now)
    except NotFoundError:
        raise VerificationError(
            f"{credential.name} is missing from the {store.location} after writing"
        ) from None
    except KeyUnavailableError as error:
        raise KeyUnavailableError(
            f"{error} after {credential.name} was written to it, before its code could be "
            "checked"
        ) from None


def _undo(
    credential: Credential,
    entry: Entry,
    store: Store,
    error: HwotpError | Interrupted,
    gone_too: str | None,
) -> None:
    """Remove an unproven write where the store still answers; where it does not, say what
    may be left there. A second Ctrl-C does not cut the removal short."""
    if isinstance(error, KeyUnavailableError):
        error.left_behind.append((credential.name, store.location))
        return
    with _interrupts_deferred():
        try:
            store.delete(entry)
        except NotFoundError:  # interrupted before the write reached the store
            if isinstance(error, Interrupted):
                error.add_context(f"nothing of {credential.name} reached the {store.location}")
            return
        except KeyUnavailableError:
            error.left_behind.append((credential.name, store.location))
            return
    if isinstance(error, VerificationError):
        error.add_context("it was removed again")
    elif isinstance(error, TouchTimeoutError):
        error.add_context(f"{credential.name} was removed again; run the command again and "
                          "touch the key when it blinks")
    elif isinstance(error, Interrupted):
        error.add_context(f"{credential.name} was removed from the {store.location} again")
    else:
        error.add_context(f"{credential.name} was removed again")
    if gone_too:
        error.add_context(gone_too)


@contextlib.contextmanager
def _interrupts_as_exceptions() -> Iterator[None]:
    """Ctrl-C and SIGTERM during a write end as `Interrupted`, which the write undoes."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, Interrupted):
            raise
        raise Interrupted() from None


@contextlib.contextmanager
def _interrupts_deferred(then_interrupt: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block (a removal) ends; then, with `then_interrupt`,
    the command ends as interrupted. Without it the command is ending already (the removal
    of an unproven write, while its failure is being raised)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda got, _frame: caught.append(got))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if caught and then_interrupt:
        raise Interrupted()
