"""Enrolment: store credentials, then prove each one by computing its code from the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hwotp.credential import Code, Credential
from hwotp.errors import ExistsError, ExitCode, HwotpError, InputError
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
    enrolled: list[Enrolled] = []
    for credential in credentials:
        try:
            enrolled.append(_enroll_one(credential, store, clock, replace))
        except HwotpError as error:
            if not enrolled:
                raise
            # Say exactly what is stored already, so a retry does not guess.
            names = ", ".join(e.credential.name for e in enrolled)
            raise type(error)(f"{error} ({names} stored before that)") from None
    return enrolled


def _enroll_one(
    credential: Credential, store: Store, clock: Callable[[], float], replace: bool
) -> Enrolled:
    store.add(credential, replace=replace)
    stored = next((e for e in store.entries() if e.name == credential.name), None)
    if stored is None:
        raise VerificationError(
            f"{credential.name} is missing from the {store.location} after writing"
        )
    # Asking the store (not the secret) proves the write; for HOTP it also moves the counter
    # past the code the site is about to accept.
    now = clock()
    actual = store.calculate(stored, now)
    if actual.value != compute(credential, now).value:
        store.delete(stored)
        raise VerificationError(
            f"the {store.location} computed a different code for {credential.name}; "
            "it was removed again"
        )
    return Enrolled(credential, store.location, actual)
