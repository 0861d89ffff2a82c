"""The virtual key's OATH applet through yubikit's real ``OathSession`` over ``SmartCardAdapter``.

pyotp is the independent reference for every code; timestamps are passed explicitly, so nothing
is mocked. Touch waits use short timeouts to keep the file fast.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from base64 import b32encode

import pyotp
import pytest
from yubikit.core import TRANSPORT, NotSupportedError
from yubikit.core.smartcard import ApduError
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession

from helpers.samples import RFC4226_KEY as SECRET
from helpers.samples import RFC6238_KEYS, LenientHOTP, LenientTOTP
from virtualkey import tlv
from virtualkey.key import KeyConfig, VirtualKey
from virtualkey.transports import SmartCardAdapter

SHA1, SHA256, SHA512 = HASH_ALGORITHM.SHA1, HASH_ALGORITHM.SHA256, HASH_ALGORITHM.SHA512
DIGESTS = {SHA1: hashlib.sha1, SHA256: hashlib.sha256, SHA512: hashlib.sha512}
TIMES = (59, 1_111_111_109, 1_234_567_890, 1_700_000_015, 2_000_000_000)
TOUCH_TIMEOUT = 0.2
PASSWORD = "correct horse"


def make_key(firmware=(5, 7, 2), touch: str = "auto", timeout: float = TOUCH_TIMEOUT) -> VirtualKey:
    return VirtualKey(KeyConfig(firmware=firmware, touch=touch, touch_timeout=timeout))


def connect(key: VirtualKey, transport: TRANSPORT = TRANSPORT.USB) -> OathSession:
    return OathSession(SmartCardAdapter(key, transport))


def totp(secret: bytes, algorithm=SHA1, digits: int = 6, period: int = 30) -> pyotp.TOTP:
    return LenientTOTP(b32encode(secret).decode(), digits=digits, digest=DIGESTS[algorithm],
                interval=period)


def hotp(secret: bytes, algorithm=SHA1, digits: int = 6) -> pyotp.HOTP:
    return LenientHOTP(b32encode(secret).decode(), digits=digits, digest=DIGESTS[algorithm])


def credential(name: str, secret: bytes = SECRET, oath_type=OATH_TYPE.TOTP, algorithm=SHA1,
               digits: int = 6, period: int = 30, counter: int = 0,
               issuer: str | None = None) -> CredentialData:
    return CredentialData(name, oath_type, algorithm, secret, digits, period, counter, issuer)


def sw_of(error: pytest.ExceptionInfo) -> int:
    return error.value.sw


@pytest.fixture
def key() -> VirtualKey:
    return make_key()


@pytest.fixture
def session(key: VirtualKey) -> OathSession:
    return connect(key)


# Codes against pyotp


@pytest.mark.parametrize(
    ("algorithm", "digits", "period"),
    [(SHA1, 6, 30), (SHA256, 7, 30), (SHA512, 8, 30), (SHA1, 8, 60), (SHA256, 6, 60),
     (SHA512, 7, 60)],
)
def test_totp_codes_equal_pyotp(session: OathSession, algorithm, digits: int, period: int) -> None:
    secret = bytes(range(1, 33))
    stored = session.put_credential(
        credential("alice@example.com", secret, algorithm=algorithm, digits=digits,
                   period=period, issuer="Example")
    )
    reference = totp(secret, algorithm, digits, period)
    for moment in (*TIMES, int(time.time())):
        assert session.calculate_code(stored, moment).value == reference.at(moment)
        assert session.calculate_all(moment)[stored].value == reference.at(moment)


@pytest.mark.parametrize("algorithm", [SHA1, SHA256, SHA512])
@pytest.mark.parametrize(("digits", "start"), [(6, 0), (8, 5), (7, 5)])
def test_hotp_codes_equal_pyotp(
    key: VirtualKey, session: OathSession, algorithm, digits: int, start: int
) -> None:
    stored = session.put_credential(
        credential("hotp", oath_type=OATH_TYPE.HOTP, algorithm=algorithm, digits=digits,
                   counter=start)
    )
    reference = hotp(SECRET, algorithm, digits)
    codes = [session.calculate_code(stored).value for _ in range(3)]
    assert codes == [reference.at(start + step) for step in range(3)]
    assert key.oath.credentials[b"hotp"].counter == start + 3


def test_rfc4226_vectors(session: OathSession) -> None:
    expected = ["755224", "287082", "359152", "969429", "338314",
                "254676", "287922", "162583", "399871", "520489"]
    stored = session.put_credential(credential("rfc4226", oath_type=OATH_TYPE.HOTP))
    assert [hotp(SECRET).at(count) for count in range(10)] == expected
    assert [session.calculate_code(stored).value for _ in range(10)] == expected


RFC6238 = {
    59: ("94287082", "46119246", "90693936"),
    1111111109: ("07081804", "68084774", "25091201"),
    1111111111: ("14050471", "67062674", "99943326"),
    1234567890: ("89005924", "91819424", "93441116"),
    2000000000: ("69279037", "90698825", "38618901"),
    20000000000: ("65353130", "77737706", "47863826"),
}
RFC6238_SEEDS = {HASH_ALGORITHM[name]: seed for name, seed in RFC6238_KEYS.items()}


@pytest.mark.parametrize(("column", "algorithm"), list(enumerate([SHA1, SHA256, SHA512])))
def test_rfc6238_vectors(session: OathSession, column: int, algorithm) -> None:
    seed = RFC6238_SEEDS[algorithm]
    stored = session.put_credential(credential("rfc6238", seed, algorithm=algorithm, digits=8))
    for moment, codes in RFC6238.items():
        assert totp(seed, algorithm, 8).at(moment) == codes[column]
        assert session.calculate_code(stored, moment).value == codes[column]


@pytest.mark.parametrize("algorithm", [SHA1, SHA256, SHA512])
@pytest.mark.parametrize("size", [10, 13, 14, 64, 65, 100, 129, 200])
def test_long_and_short_keys(key: VirtualKey, session: OathSession, algorithm, size: int) -> None:
    secret = hashlib.shake_256(b"key").digest(size)
    stored = session.put_credential(credential("sized", secret, algorithm=algorithm))
    for moment in TIMES:
        assert session.calculate_code(stored, moment).value == totp(secret, algorithm).at(moment)
    block = hashlib.new(algorithm.name).block_size
    assert 14 <= len(key.oath.credentials[b"sized"].key) <= block


def test_card_hashes_a_long_key_sent_raw(key: VirtualKey, session: OathSession) -> None:
    """A documented choice (docs/testing.md, "Choices", OATH), not known key behaviour: yubikit
    hashes long keys itself, so what a real key does with a raw one is unknown; this card hashes
    it, and pads keys under 14 bytes."""
    secret = hashlib.shake_256(b"raw").digest(150)
    data = tlv.encode(0x71, b"raw") + tlv.encode(0x73, bytes([0x21, 6]) + secret)
    session.protocol.send_apdu(0, 0x01, 0, 0, data)
    assert key.oath.credentials[b"raw"].key == hashlib.sha1(secret).digest()
    (stored,) = session.list_credentials()
    assert session.calculate_code(stored, TIMES[4]).value == totp(secret).at(TIMES[4])


# Counters


def test_hotp_counter_moves_only_when_that_code_is_asked(
    key: VirtualKey, session: OathSession
) -> None:
    first = session.put_credential(credential("first", oath_type=OATH_TYPE.HOTP))
    second = session.put_credential(credential("second", oath_type=OATH_TYPE.HOTP, counter=5))
    session.put_credential(credential("timed"))
    for _ in range(2):
        session.list_credentials()
        entries = session.calculate_all(TIMES[1])
        assert entries[first] is None and entries[second] is None
    counters = key.oath.credentials
    assert (counters[b"first"].counter, counters[b"second"].counter) == (0, 5)
    assert session.calculate_code(first).value == hotp(SECRET).at(0)
    assert session.calculate_code(first).value == hotp(SECRET).at(1)
    assert (counters[b"first"].counter, counters[b"second"].counter) == (2, 5)
    assert session.calculate_code(second).value == hotp(SECRET).at(5)


# Managing credentials


def test_put_list_delete(session: OathSession) -> None:
    kept = session.put_credential(credential("kept", issuer="Issuer"))
    gone = session.put_credential(credential("gone", oath_type=OATH_TYPE.HOTP))
    listed = {(c.id, c.oath_type) for c in session.list_credentials()}
    assert listed == {(b"Issuer:kept", OATH_TYPE.TOTP), (b"gone", OATH_TYPE.HOTP)}
    session.delete_credential(gone.id)
    assert [c.id for c in session.list_credentials()] == [kept.id]
    with pytest.raises(ApduError) as error:
        session.calculate_code(gone)
    assert sw_of(error) == 0x6984
    with pytest.raises(ApduError) as error:
        session.delete_credential(gone.id)
    assert sw_of(error) == 0x6984


def test_put_replaces_a_credential_of_the_same_name(session: OathSession) -> None:
    other = bytes(range(20))
    session.put_credential(credential("same"))
    stored = session.put_credential(credential("same", other, digits=8))
    assert len(session.list_credentials()) == 1
    assert session.calculate_code(stored, TIMES[2]).value == totp(other, digits=8).at(TIMES[2])


@pytest.mark.parametrize("firmware", [(5, 3, 1), (5, 7, 2)])
def test_rename(firmware) -> None:
    session = connect(make_key(firmware))
    stored = session.put_credential(credential("old", period=60, issuer="Before"))
    new_id = session.rename_credential(stored.id, "new", "After")
    assert new_id == b"60/After:new"
    (renamed,) = session.list_credentials()
    assert (renamed.id, renamed.issuer, renamed.name, renamed.period) == (
        new_id, "After", "new", 60
    )
    assert session.calculate_code(renamed, TIMES[3]).value == totp(SECRET, period=60).at(TIMES[3])
    with pytest.raises(ApduError) as error:
        session.rename_credential(stored.id, "again")
    assert sw_of(error) == 0x6984


def test_rename_onto_a_taken_name_or_its_own_is_refused() -> None:
    session = connect(make_key((5, 7, 2)))
    first = session.put_credential(credential("first"))
    session.put_credential(credential("second"))
    for new_name in ("second", "first"):  # another credential's name, then its own
        with pytest.raises(ApduError) as error:
            session.rename_credential(first.id, new_name)
        assert sw_of(error) == 0x6A80
    assert sorted(c.name for c in session.list_credentials()) == ["first", "second"]


def test_rename_refused_below_5_3_1() -> None:
    session = connect(make_key((5, 2, 7)))
    stored = session.put_credential(credential("old"))
    with pytest.raises(NotSupportedError):  # yubikit checks the version itself
        session.rename_credential(stored.id, "new")
    data = tlv.encode(0x71, b"old") + tlv.encode(0x71, b"new")
    with pytest.raises(ApduError) as error:  # and the card does not know the instruction
        session.protocol.send_apdu(0, 0x05, 0, 0, data)
    assert sw_of(error) == 0x6D00
    assert [c.id for c in session.list_credentials()] == [b"old"]


@pytest.mark.parametrize(("firmware", "capacity"), [((5, 4, 3), 32), ((5, 7, 2), 64)])
def test_capacity(firmware, capacity: int) -> None:
    session = connect(make_key(firmware))
    for index in range(capacity):
        session.put_credential(credential(f"slot-{index}"))
    with pytest.raises(ApduError) as error:
        session.put_credential(credential("one-too-many"))
    assert sw_of(error) == 0x6A84
    session.put_credential(credential("slot-0", bytes(20)))  # replacing needs no space
    session.delete_credential(b"slot-1")
    session.put_credential(credential("fits-again"))
    assert len(session.list_credentials()) == capacity


def test_names_over_64_bytes_are_refused(session: OathSession) -> None:
    session.put_credential(credential("n" * 64))
    for name in ("n" * 65, "é" * 33):  # 65 characters; 33 characters but 66 bytes
        with pytest.raises(ApduError) as error:
            session.put_credential(credential(name))
        assert sw_of(error) == 0x6A80
    assert [c.id for c in session.list_credentials()] == [b"n" * 64]


@pytest.mark.parametrize("firmware", [(4, 2, 6), (4, 2, 7)])
def test_sha512_refused_on_firmware_4_2(firmware) -> None:
    session = connect(make_key(firmware))
    with pytest.raises(ApduError) as error:
        session.put_credential(credential("sha512", algorithm=SHA512))
    assert sw_of(error) == 0x6A80
    session.put_credential(credential("sha256", algorithm=SHA256))
    assert [c.id for c in session.list_credentials()] == [b"sha256"]


def test_sha512_from_4_3_1_and_touch_from_4_2_6() -> None:
    session = connect(make_key((4, 3, 1)))
    stored = session.put_credential(credential("sha512", algorithm=SHA512), touch_required=True)
    assert session.calculate_code(stored, 59).value == totp(SECRET, SHA512).at(59)
    older = connect(make_key((4, 2, 5)))
    with pytest.raises(ApduError) as error:
        older.put_credential(credential("touch"), touch_required=True)
    assert sw_of(error) == 0x6A80


# Password


def set_password(key: VirtualKey) -> None:
    session = connect(key)
    session.put_credential(credential("guarded"))
    session.set_key(session.derive_key(PASSWORD))


def test_password_locks_every_new_connection_and_reselect(key: VirtualKey) -> None:
    set_password(key)
    session = connect(key)
    assert session.locked and session.has_key
    for action in (session.list_credentials, lambda: session.calculate_all(TIMES[1]),
                   lambda: session.put_credential(credential("intruder"))):
        with pytest.raises(ApduError) as error:
            action()
        assert sw_of(error) == 0x6982
    # The access key is PBKDF2-HMAC-SHA1(password, salt, 1000, 16), computed here independently.
    access_key = hashlib.pbkdf2_hmac("sha1", PASSWORD.encode(), key.oath.salt, 1000, 16)
    assert session.derive_key(PASSWORD) == access_key
    session.validate(access_key)  # yubikit also checks the card's answer (mutual)
    assert [c.id for c in session.list_credentials()] == [b"guarded"]
    again = OathSession(session.protocol.connection)  # SELECT again on the same connection
    assert again.locked
    with pytest.raises(ApduError) as error:
        again.list_credentials()
    assert sw_of(error) == 0x6982


def test_wrong_password_is_refused(key: VirtualKey) -> None:
    set_password(key)
    session = connect(key)
    with pytest.raises(ApduError) as error:
        session.validate(session.derive_key("wrong"))
    assert sw_of(error) == 0x6A80
    with pytest.raises(ApduError) as error:
        session.list_credentials()
    assert sw_of(error) == 0x6982
    session.validate(session.derive_key(PASSWORD))  # the same session may try again
    assert len(session.list_credentials()) == 1


def test_unset_key(key: VirtualKey) -> None:
    set_password(key)
    session = connect(key)
    session.validate(session.derive_key(PASSWORD))
    session.unset_key()
    fresh = connect(key)
    assert not fresh.locked and not fresh.has_key
    assert [c.id for c in fresh.list_credentials()] == [b"guarded"]


def test_reset_clears_everything_even_when_locked(key: VirtualKey) -> None:
    set_password(key)
    session = connect(key)
    before = session.device_id
    session.reset()
    assert session.device_id != before and not session.has_key
    fresh = connect(key)
    assert not fresh.locked
    assert fresh.list_credentials() == []
    assert fresh.device_id == session.device_id == key.oath.device_id


def test_device_ids_differ_between_keys() -> None:
    assert connect(make_key()).device_id != connect(make_key()).device_id


# Touch


def put_touch_credentials(session: OathSession):
    timed = session.put_credential(credential("touch-totp"), touch_required=True)
    counted = session.put_credential(
        credential("touch-hotp", oath_type=OATH_TYPE.HOTP), touch_required=True
    )
    return timed, counted


def test_touch_auto_approves() -> None:
    key = make_key(touch="auto")
    session = connect(key)
    timed, counted = put_touch_credentials(session)
    entries = session.calculate_all(TIMES[2])
    by_id = {c.id: (c, code) for c, code in entries.items()}
    assert by_id[b"touch-totp"][0].touch_required and by_id[b"touch-totp"][1] is None
    assert by_id[b"touch-hotp"][0].oath_type == OATH_TYPE.HOTP  # HOTP answers 77 even with touch
    assert session.calculate_code(timed, TIMES[2]).value == totp(SECRET).at(TIMES[2])
    assert session.calculate_code(counted).value == hotp(SECRET).at(0)


def test_touch_deny_times_out_with_6982() -> None:
    key = make_key(touch="deny")
    session = connect(key)
    timed, counted = put_touch_credentials(session)
    for stored in (timed, counted):
        start = time.monotonic()
        with pytest.raises(ApduError) as error:
            session.calculate_code(stored, TIMES[2])
        assert sw_of(error) == 0x6982
        assert time.monotonic() - start >= TOUCH_TIMEOUT
    assert key.oath.credentials[b"touch-hotp"].counter == 0  # no touch, no counter step


def test_touch_signal_waits_for_the_touch() -> None:
    key = make_key(touch="signal", timeout=5.0)  # generous: the touch comes after 0.05 s
    session = connect(key)
    timed, _ = put_touch_credentials(session)
    toucher = threading.Timer(0.05, key.touch)
    toucher.start()
    try:
        assert session.calculate_code(timed, TIMES[3]).value == totp(SECRET).at(TIMES[3])
    finally:
        toucher.join()
    key.presence.timeout = TOUCH_TIMEOUT
    with pytest.raises(ApduError) as error:  # the touch was used up: the next one times out
        session.calculate_code(timed, TIMES[3])
    assert sw_of(error) == 0x6982


def test_touch_through_presence_touch() -> None:
    key = make_key(touch="signal", timeout=5.0)
    session = connect(key)
    _, counted = put_touch_credentials(session)
    toucher = threading.Timer(0.05, key.presence.touch)
    toucher.start()
    try:
        assert session.calculate_code(counted).value == hotp(SECRET).at(0)
    finally:
        toucher.join()


# Long answers: SEND_REMAINING over USB (extended APDUs) and NFC (short APDUs)


def put_many(session: OathSession) -> dict[bytes, CredentialData | None]:
    stored: dict[bytes, CredentialData | None] = {}
    for index in range(24):
        data = credential(f"account-{index:02d}@a-fairly-long-domain.example",
                          bytes([index + 1]) * 20, digits=6 + index % 3,
                          period=60 if index % 5 == 0 else 30, issuer=f"Service {index:02d}")
        stored[session.put_credential(data).id] = data
    stored[session.put_credential(credential("counted", oath_type=OATH_TYPE.HOTP)).id] = None
    stored[session.put_credential(credential("touched"), touch_required=True).id] = None
    return stored


@pytest.mark.parametrize(("transport", "calculate_all_size"), [(TRANSPORT.USB, 17),
                                                               (TRANSPORT.NFC, 15)])
def test_list_and_calculate_all_need_send_remaining(transport, calculate_all_size: int) -> None:
    key = make_key()
    session = connect(key, transport)
    stored = put_many(session)
    key.log.clear()
    assert {c.id for c in session.list_credentials()} == set(stored)
    entries = session.calculate_all(TIMES[3])
    assert {c.id for c in entries} == set(stored)
    for cred, code in entries.items():
        data = stored[cred.id]
        if data is None:
            assert code is None
            continue
        expected = totp(data.secret, digits=data.digits, period=data.period).at(TIMES[3])
        assert code.value == expected
    instructions = key.log.instructions()
    assert instructions.count(0xA5) >= 4  # both answers came in several chunks
    assert all(r.sw in (0x9000,) or r.sw >> 8 == 0x61 for r in key.log.records)
    calculate_all = [r for r in key.log.records if r.ins == 0xA4 and r.p1 == 0]
    assert calculate_all[0].command_bytes == calculate_all_size  # extended vs short form


def test_calculate_all_uses_its_challenge_for_every_period(session: OathSession) -> None:
    """A real key does not know periods: a period-60 credential is answered for the 30 s
    challenge too, and yubikit recalculates it."""
    session.put_credential(credential("sixty", period=60))
    challenge = (TIMES[3] // 30).to_bytes(8, "big")
    answer = session.protocol.send_apdu(0, 0xA4, 0, 1, tlv.encode(0x74, challenge))
    fields = tlv.parse(answer)
    assert fields[0] == (0x71, b"60/sixty")
    tag, value = fields[1]
    code = str((int.from_bytes(value[1:], "big") & 0x7FFFFFFF) % 10**6).rjust(6, "0")
    assert (tag, code) == (0x76, totp(SECRET, period=30).at(TIMES[3]))


def test_full_responses(session: OathSession) -> None:
    stored = session.put_credential(credential("full", algorithm=SHA256))
    challenge = (TIMES[1] // 30).to_bytes(8, "big")
    # P2=0 asks for the whole HMAC (tag 75) instead of the truncated code.
    assert session.calculate(stored.id, challenge) == hmac.new(SECRET, challenge, "sha256").digest()


# Pulling the key in the middle of a PUT


NEW = credential("new-one", issuer="Pulled")


def prepared_key() -> VirtualKey:
    key = make_key()
    set_password(key)
    return key


def put_flow(key: VirtualKey, transport: TRANSPORT) -> None:
    session = connect(key, transport)
    session.validate(session.derive_key(PASSWORD))
    session.put_credential(NEW)


def stored_ids(key: VirtualKey) -> set[bytes]:
    key.faults.plug_in()
    session = connect(key)
    session.validate(session.derive_key(PASSWORD))
    return {c.id for c in session.list_credentials()}


def apdus_of_a_put(transport: TRANSPORT) -> int:
    key = prepared_key()
    before = key.log.count
    put_flow(key, transport)
    return key.log.count - before


@pytest.mark.parametrize("transport", [TRANSPORT.USB, TRANSPORT.NFC])
def test_pulling_after_any_apdu_of_a_put_raises_a_connection_error(transport) -> None:
    total = apdus_of_a_put(transport)
    assert total == 3  # SELECT, VALIDATE, PUT
    for answered in range(total):
        key = prepared_key()
        key.faults.pull_after = key.log.count + answered
        with pytest.raises(ConnectionError):
            put_flow(key, transport)
        assert key.log.count == key.faults.pull_after  # nothing past the pull was carried out
        assert NEW.get_id() not in stored_ids(key)
    key = prepared_key()
    key.faults.pull_after = key.log.count + total  # pulled after the last answer: no harm
    put_flow(key, transport)
    assert NEW.get_id() in stored_ids(key)


@pytest.mark.parametrize("transport", [TRANSPORT.USB, TRANSPORT.NFC])
def test_pulling_during_any_apdu_of_a_put_raises_a_connection_error(transport) -> None:
    total = apdus_of_a_put(transport)
    for number in range(1, total + 1):
        key = prepared_key()
        key.faults.pull_during = key.log.count + number
        with pytest.raises(ConnectionError):
            put_flow(key, transport)
        # The PUT itself is carried out when it was the APDU whose answer got lost.
        assert (NEW.get_id() in stored_ids(key)) is (number == total)
