"""Virtual keys in tests: serials, raw APDUs to a card, yubikit in-process on a key (fast set-up,
and the key's own view), pyotp's codes around a real command, and pulling a key out and in
through pcscd."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession, parse_b32_key

from helpers.samples import SECRET
from virtualkey.card import Card
from virtualkey.transports import SmartCardAdapter

# The serials of the keys the tests plug: the virtual keys', or under --real-key the physical
# keys' (conftest.py sets them before the test files are imported, which read them then).
ONE, TWO = 11111111, 22222222


def transmit(card: Card, apdu: bytes | str) -> tuple[bytes, int]:
    """One raw APDU (bytes, or hex) to a virtual card: the answer's data and status word."""
    raw = bytes.fromhex(apdu) if isinstance(apdu, str) else apdu
    response = card.transmit(raw)
    return response[:-2], int.from_bytes(response[-2:], "big")


def session(key) -> OathSession:
    """yubikit in-process on the virtual key itself: fast set-up, and the key's own view (on a
    physical key: through pcscd)."""
    if hasattr(type(key), "oath_session"):
        return key.oath_session()
    return OathSession(SmartCardAdapter(key))


def put(key, name: str, issuer: str | None = None, secret: str = SECRET, touch: bool = False,
        **fields) -> None:
    data = {"oath_type": OATH_TYPE.TOTP, "hash_algorithm": HASH_ALGORITHM.SHA1,
            "secret": parse_b32_key(secret), **fields}
    with _briefly(key) as oath:
        oath.put_credential(CredentialData(name=name, issuer=issuer, **data),
                            touch_required=touch)


def fill(key, count: int) -> None:
    with _briefly(key) as oath:
        for index in range(count):
            oath.put_credential(CredentialData(
                name=f"filler{index}", issuer=None, oath_type=OATH_TYPE.TOTP,
                hash_algorithm=HASH_ALGORITHM.SHA1, secret=parse_b32_key(SECRET)))


@contextmanager
def _briefly(key) -> Iterator[OathSession]:
    """session(key) for one helper's work; a physical key's connection is closed after it."""
    if hasattr(type(key), "brief_session"):
        with key.brief_session() as oath:
            yield oath
    else:
        yield session(key)


def names_on(key, password: str | None = None) -> set[bytes]:
    """The key's own view (a physical key's through yubikit, opened with `password` if it has
    one; the virtual key's store needs none)."""
    if not hasattr(type(key), "oath_session"):
        return set(key.oath.credentials)
    with key.brief_session() as oath:
        if password is not None and oath.locked:
            oath.validate(oath.derive_key(password))
        return {credential.id for credential in oath.list_credentials()}


def puts(key) -> int:
    return sum(record.ins == 0x01 for record in key.log.records)


def pyotp_codes_around(make: Callable[[], pyotp.TOTP], run: Callable[[], str]) -> tuple[str, set]:
    """Runs `run` and returns its output with pyotp's codes for the moments before and after."""
    before = time.time()
    output = run()
    after = time.time()
    totp = make()
    return output, {totp.at(before), totp.at(after)}


def point_pcsc_link(target: Path) -> None:
    """Points every PC/SC client of the run at `target`, through the link conftest.py put in
    PCSCLITE_CSOCK_NAME (replaced in one rename, so no client sees it missing)."""
    link = Path(os.environ["PCSCLITE_CSOCK_NAME"])
    staging = link.with_name(link.name + ".new")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    staging.replace(link)


def replug(rig, serial: int) -> None:
    """Pulls the key out and plugs it back in, waiting until pcscd has powered it up again."""
    key, bridge = rig.key(serial), rig.bridge(serial)
    bridge.pull_out()
    key.faults.plug_in()
    bridge.plug_in()
    bridge.wait_ready()
    wait_until_connectable()


def wait_until_connectable(timeout: float = 5.0) -> None:
    """pcscd has powered the key up; wait until a client can also connect to it."""
    from smartcard.Exceptions import SmartcardException
    from smartcard.System import readers

    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = readers()[0].createConnection()
            connection.connect()
        except (SmartcardException, IndexError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        else:
            connection.disconnect()
            connection.release()
            return


def wait_until_pcscd_sees_no_card(timeout: float = 5.0) -> None:
    """vpcd is polled about every 0.45 s: until then pcscd still shows the pulled card, powered
    or (when pcscd had powered it down before the pull) unpowered."""
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.scard import SCARD_W_UNPOWERED_CARD
    from smartcard.System import readers

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = readers()[0].createConnection()
        try:
            connection.connect()
        except NoCardException:
            return
        except CardConnectionException as still_there:
            if still_there.hresult != SCARD_W_UNPOWERED_CARD:
                raise
        else:
            connection.disconnect()
        finally:
            connection.release()
        time.sleep(0.05)
    raise AssertionError("pcscd still shows the pulled key")
