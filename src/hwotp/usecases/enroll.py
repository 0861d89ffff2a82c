"""Enrolment: store credentials, then prove each one by computing its code from the store."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hwotp.credential import Code, Credential, Entry
from hwotp.errors import (
    ExistsError,
    ExitCode,
    HwotpError,
    InputError,
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


class VerificationError(HwotpError):
    """The stored credential computes a different code than its secret: never expected."""

    exit_code = ExitCode.NOT_VERIFIED


@dataclass(frozen=True)
class Checked:
    """Credentials a store may take, checked before the first write: the names among them
    that replace a stored credential (only with `replace`)."""

    replacing: frozenset[str]


def check(credentials: Sequence[Credential], store: Store, *, replace: bool) -> Checked:
    """Refuse before writing anything, so a batch is never half stored: a name twice in the
    input, what the store cannot hold, a name clash. One listing of the store.

    Names (`issuer:account`) identify credentials in every store, as they do on a YubiKey.
    """
    twice = [name for name, count in Counter(c.name for c in credentials).items() if count > 1]
    if twice:
        raise InputError(f"{', '.join(twice)} appears twice in this input", remedy=Remedy.PICK)
    store.check_writable(credentials)
    # Another tool may have written a name in another Unicode spelling: it is the same name.
    taken = {unicodedata.normalize("NFC", entry.name) for entry in store.entries()}
    clashes = [c.name for c in credentials if c.name in taken]
    if clashes and not replace:
        raise ExistsError(f"{', '.join(clashes)} already in the {store.location}",
                          remedy=Remedy.REPLACE)
    return Checked(frozenset(clashes))


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
    checked = checked or check(credentials, store, replace=replace)
    enrolled: list[Enrolled] = []
    for credential in credentials:
        # What --force replaces: if the new one then fails its proof, the old is gone too.
        gone_too = (f"the earlier {credential.name} it replaced is gone too"
                    if credential.name in checked.replacing else None)
        try:
            enrolled.append(_enroll_one(credential, store, clock, replace, gone_too))
        except HwotpError as error:
            if enrolled:  # say exactly what is stored already, so a retry does not guess
                names = ", ".join(e.credential.name for e in enrolled)
                error.add_context(f"{names} stored before that")
            raise
    return enrolled


def _enroll_one(
    credential: Credential,
    store: Store,
    clock: Callable[[], float],
    replace: bool,
    gone_too: str | None,
) -> Enrolled:
    stored = store.add(credential, replace=replace)
    # Asking the store (not the secret) proves the write; for HOTP it also moves the counter
    # past the code the site is about to accept.
    now = clock()
    actual = _prove(credential, stored, store, now, gone_too)
    if actual.value != compute(credential, now).value:
        store.delete(stored)
        raise _with_context(VerificationError(
            f"the {store.location} computed a different code for {credential.name}; "
            "it was removed again"
        ), gone_too)
    return Enrolled(credential, store.location, actual)


def _prove(
    credential: Credential, stored: Entry, store: Store, now: float, gone_too: str | None
) -> Code:
    """The store's code for what was just written. A write that cannot be proven is not left
    behind where it can (a missed touch), and is named where it cannot (a pulled key)."""
    try:
        return store.calculate(stored, now)
    except NotFoundError:
        raise _with_context(VerificationError(
            f"{credential.name} is missing from the {store.location} after writing"
        ), gone_too) from None
    except TouchTimeoutError as error:
        store.delete(stored)
        raise _with_context(TouchTimeoutError(
            f"{error.message}, so {credential.name} was removed again; run the command "
            "again and touch the key when it blinks"
        ), gone_too) from None
    except KeyUnavailableError as error:
        raise KeyUnavailableError(
            f"{error} after {credential.name} was written to it, before its code could be "
            "checked; `hwotp list` shows whether it is there"
        ) from None


def _with_context(error: HwotpError, context: str | None) -> HwotpError:
    if context:
        error.add_context(context)
    return error
