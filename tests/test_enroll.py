"""The enrolment use case against any store: proof of the write, clashes, partial batches.

`ListStore` is a plain in-memory implementation of the Store protocol (hwotp's own interface,
not a mocked library), with switches for the failures a real store can have.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyotp
import pytest

from helpers.samples import RFC4226_KEY as SECRET
from helpers.samples import SECRET_B
from hwotp.credential import Code, Credential, Entry
from hwotp.errors import ExistsError, ExitCode, InputError, Interrupted, StorageError
from hwotp.otp import compute
from hwotp.stores.base import Comparison
from hwotp.usecases.enroll import VerificationError, check, enroll

NOW = 1_700_000_000.0


class ListStore:
    location = "test store"
    capacity: int | None = None

    def __init__(self, fail_on_add: int | None = None, corrupt: bool = False) -> None:
        self.credentials: list[Credential] = []
        self.adds = 0
        self.fail_on_add = fail_on_add
        self.corrupt = corrupt  # stores a different secret, as a broken device might

    def entries(self) -> list[Entry]:
        return [c.entry(self.location) for c in self.credentials]

    def check_writable(self, credentials: Sequence[Credential]) -> None:
        pass

    def prepare_to_write(self) -> None:
        pass

    def same_slot(self, entry: Entry, credential: Credential) -> bool:
        return entry.name == credential.name

    def compare(self, entry: Entry, credential: Credential, now: float) -> Comparison:
        stored = next(c for c in self.credentials if c.name == entry.name)
        return Comparison(stored.secret == credential.secret)

    def add(self, credential: Credential, *, replace: bool = False) -> Entry:
        self.adds += 1
        if self.adds == self.fail_on_add:
            raise StorageError("the test store is full")
        if self.corrupt:
            credential = credential.replace(secret=b"another secret!!")
        self.credentials = [c for c in self.credentials if c.name != credential.name]
        self.credentials.append(credential)
        return credential.entry(self.location)

    def calculate(self, entry: Entry, now: float) -> Code:
        return compute(next(c for c in self.credentials if c.name == entry.name), now)

    def delete(self, entry: Entry) -> None:
        self.credentials = [c for c in self.credentials if c.name != entry.name]

    def rename(self, entry: Entry, issuer: str, account: str) -> None:
        raise NotImplementedError


def credential(account: str) -> Credential:
    return Credential(SECRET, "Test", account)


def test_enrolled_code_comes_from_the_store_and_matches_pyotp() -> None:
    store = ListStore()
    (result,) = enroll([credential("a")], store, lambda: NOW)
    reference = pyotp.TOTP(SECRET_B).at(NOW)
    assert result.code.value == reference
    assert result.location == "test store"


def test_a_wrong_stored_copy_is_removed_and_reported() -> None:
    store = ListStore(corrupt=True)
    with pytest.raises(VerificationError) as caught:
        enroll([credential("a")], store, lambda: NOW)
    assert caught.value.exit_code == ExitCode.NOT_VERIFIED
    assert store.credentials == []


def test_a_name_clash_refuses_the_whole_batch_before_writing() -> None:
    store = ListStore()
    enroll([credential("b")], store, lambda: NOW)
    other_b = Credential(b"another secret!!", "Test", "b")
    with pytest.raises(ExistsError):
        enroll([credential("a"), other_b], store, lambda: NOW)
    assert [c.account for c in store.credentials] == ["b"]


def test_a_rerun_finds_what_is_stored_with_the_same_secret_and_writes_only_the_rest() -> None:
    store = ListStore()
    enroll([credential("a")], store, lambda: NOW)
    again = enroll([credential("a"), credential("b")], store, lambda: NOW)
    assert [(e.credential.account, e.present) for e in again] == [("a", True), ("b", False)]
    assert again[0].code.value == pyotp.TOTP(SECRET_B).at(NOW)
    assert store.adds == 2


def test_what_does_not_fit_is_the_overflow_and_a_replaced_name_needs_no_slot() -> None:
    store = ListStore()
    enroll([credential("a")], store, lambda: NOW)
    store.capacity = 3  # one used, two free
    batch = [Credential(b"another secret!!", "Test", "a")] + [credential(x) for x in "bcd"]
    checked = check(batch, store, lambda: NOW, replace=True)
    assert checked.free == 2
    assert [c.account for c in checked.overflow(batch)] == ["d"]
    with pytest.raises(ExistsError):
        check(batch, store, lambda: NOW, replace=False)


def test_a_failure_mid_batch_names_what_is_stored() -> None:
    store = ListStore(fail_on_add=2)
    with pytest.raises(StorageError) as caught:
        enroll([credential("a"), credential("b")], store, lambda: NOW)
    assert "Test:a stored before that" in str(caught.value)
    assert [c.account for c in store.credentials] == ["a"]


def test_the_same_name_twice_in_one_input_is_refused_even_with_force() -> None:
    store = ListStore()
    twins = [credential("a"), Credential(b"another secret!!", "Test", "a")]
    for replace in (False, True):
        with pytest.raises(InputError, match="Test:a appears twice"):
            enroll(twins, store, lambda: NOW, replace=replace)
    assert store.credentials == []


def test_the_code_is_computed_after_the_write() -> None:
    """A slow write (a passphrase typed slowly, a touch) must not yield an expired code."""
    clock = [NOW]

    class SlowStore(ListStore):
        def add(self, credential: Credential, *, replace: bool = False) -> Entry:
            clock[0] += 3600  # an hour passes while the store is written
            return super().add(credential, replace=replace)

    (result,) = enroll([credential("a")], SlowStore(), lambda: clock[0])
    assert result.code.valid_until == (NOW + 3600) // 30 * 30 + 30
    assert result.code.value == pyotp.TOTP(SECRET_B).at(NOW + 3600)


def test_an_interrupt_during_the_proof_removes_the_write_and_says_so() -> None:
    class InterruptedStore(ListStore):
        def calculate(self, entry: Entry, now: float) -> Code:
            raise KeyboardInterrupt  # Ctrl-C while the store computes (a touch awaited)

    store = InterruptedStore()
    store.credentials = [credential("a")]
    with pytest.raises(Interrupted) as caught:
        enroll([credential("a"), credential("b")], store, lambda: NOW)
    assert str(caught.value) == " (Test:b was removed from the test store again)"
    assert [c.account for c in store.credentials] == ["a"]  # found there, never written


def test_a_write_the_store_refuses_removes_nothing() -> None:
    class RacedStore(ListStore):
        def add(self, credential: Credential, *, replace: bool = False) -> Entry:
            # Another process stored the name since the check: its credential must stay.
            self.credentials.append(credential.replace(secret=b"another secret!!"))
            raise ExistsError(f"{credential.name} is already in the test store")

    store = RacedStore()
    with pytest.raises(ExistsError):
        enroll([credential("a")], store, lambda: NOW)
    assert [c.secret for c in store.credentials] == [b"another secret!!"]
