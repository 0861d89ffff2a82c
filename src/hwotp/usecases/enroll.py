"""Enrolment: store credentials, then prove each one by computing its code from the store."""

from __future__ import annotations

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


def check_free(credentials: Sequence[Credential], store: Store, *, replace: bool) -> None:
    """Refuse before writing anything, so a batch is never half stored over a name clash.

    Names (`issuer:account`) identify credentials in every store, as they do on a YubiKey.
    """
    twice = [name for name, count in Counter(c.name for c in credentials).items() if count > 1]
    if twice:
        raise InputError(f"{', '.join(twice)} appears twice in this input; choose one with --pick")
    if replace:
        return
    taken = {entry.name for entry in store.entries()}
    clashes = [c.name for c in credentials if c.name in taken]
    if clashes:
        where = store.location
        raise ExistsError(f"{', '.join(clashes)} already in the {where}; use --force to replace")


def enroll(
    credentials: Sequence[Credential],
    store: Store,
    clock: Callable[[], float],
    *,
    replace: bool = False,
) -> list[Enrolled]:
    """Store each credential and prove it; `clock` is read after each write, so a slow
    passphrase prompt or unlock never yields a code that has already expired."""
    check_free(credentials, store, replace=replace)
    # What --force is about to replace: if the new one then fails its proof, the old is gone too.
    replacing = {entry.name for entry in store.entries()} if replace else set()
    enrolled: list[Enrolled] = []
    for credential in credentials:
        try:
            enrolled.append(
                _enroll_one(credential, store, clock, replace, credential.name in replacing)
            )
        except HwotpError as error:
            if not enrolled:
                raise
            # Say exactly what is stored already, so a retry does not guess.
            names = ", ".join(e.credential.name for e in enrolled)
            raise type(error)(f"{error} ({names} stored before that)") from None
    return enrolled


def _enroll_one(
    credential: Credential,
    store: Store,
    clock: Callable[[], float],
    replace: bool,
    replaced_one: bool,
) -> Enrolled:
    store.add(credential, replace=replace)
    try:
        stored = next((e for e in store.entries() if e.name == credential.name), None)
    except KeyUnavailableError as error:
        raise _lost_after_writing(error, credential) from None
    if stored is None:
        raise VerificationError(
            f"{credential.name} is missing from the {store.location} after writing"
        )
    # Asking the store (not the secret) proves the write; for HOTP it also moves the counter
    # past the code the site is about to accept.
    now = clock()
    gone_too = f" (the earlier {credential.name} it replaced is gone too)" if replaced_one else ""
    actual = _prove(credential, stored, store, now, gone_too)
    if actual.value != compute(credential, now).value:
        store.delete(stored)
        raise VerificationError(
            f"the {store.location} computed a different code for {credential.name}; "
            f"it was removed again{gone_too}"
        )
    return Enrolled(credential, store.location, actual)


def _prove(
    credential: Credential, stored: Entry, store: Store, now: float, gone_too: str
) -> Code:
    """The store's code for what was just written. A write that cannot be proven is not left
    behind where it can (a missed touch), and is named where it cannot (a pulled key)."""
    try:
        return store.calculate(stored, now)
    except TouchTimeoutError as error:
        store.delete(stored)
        raise TouchTimeoutError(
            f"{error}, so {credential.name} was removed again{gone_too}; run the command "
            "again and touch the key when it blinks"
        ) from None
    except KeyUnavailableError as error:
        raise _lost_after_writing(error, credential) from None


def _lost_after_writing(error: KeyUnavailableError, credential: Credential) -> HwotpError:
    return KeyUnavailableError(
        f"{error} after {credential.name} was written to it, before its code could be "
        "checked; `hwotp list` shows whether it is there"
    )
