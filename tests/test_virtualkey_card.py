"""The virtual key's card layer through raw APDUs: ISO 7816-4 parsing, applet selection, command
and response chaining, the APDU log and the faults a test can ask for."""

from __future__ import annotations

import hmac
import json
import time

import pytest

from helpers.keys import transmit
from virtualkey import tlv
from virtualkey.apdu import ApduError, Command, parse_command
from virtualkey.card import Card
from virtualkey.faults import Faults, KeyPulled
from virtualkey.log import ApduLog
from virtualkey.oath import OathApplet
from virtualkey.presence import Presence

OATH_AID = bytes.fromhex("a0000005272101")
SECRET = bytes.fromhex("5ec2e7b17e5ec2e7b17e5ec2e7b17e5ec2e7b17e")


def short(ins: int, data: bytes = b"", cla: int = 0, p1: int = 0, p2: int = 0) -> bytes:
    body = bytes([len(data)]) + data if data else b""
    return bytes([cla, ins, p1, p2]) + body


def extended(ins: int, data: bytes, p1: int = 0, p2: int = 0) -> bytes:
    return bytes([0, ins, p1, p2, 0]) + len(data).to_bytes(2, "big") + data


def put_data(name: bytes, secret: bytes = SECRET) -> bytes:
    return tlv.encode(0x71, name) + tlv.encode(0x73, bytes([0x21, 6]) + secret)


@pytest.fixture
def oath() -> OathApplet:
    return OathApplet((5, 7, 2), Presence())


@pytest.fixture
def card(oath: OathApplet) -> Card:
    return Card([oath])


def select(card: Card) -> None:
    assert transmit(card, short(0xA4, OATH_AID, p1=0x04))[1] == 0x9000


# Parsing: the four ISO 7816-4 cases, short and extended


@pytest.mark.parametrize(
    ("apdu", "expected"),
    [
        ("00a10000", Command(0, 0xA1, 0, 0)),
        ("00a1000010", Command(0, 0xA1, 0, 0, le=0x10)),
        ("00a1000000", Command(0, 0xA1, 0, 0, le=0)),
        ("00a2000102aabb", Command(0, 0xA2, 0, 1, b"\xaa\xbb")),
        ("00a2000102aabb20", Command(0, 0xA2, 0, 1, b"\xaa\xbb", le=0x20)),
        ("00a1000000ffff", Command(0, 0xA1, 0, 0, le=0xFFFF, extended=True)),
        ("00a20001000002aabb", Command(0, 0xA2, 0, 1, b"\xaa\xbb", extended=True)),
        ("00a20001000002aabb0100", Command(0, 0xA2, 0, 1, b"\xaa\xbb", 0x100, True)),
    ],
)
def test_parse_command_cases(apdu: str, expected: Command) -> None:
    assert parse_command(bytes.fromhex(apdu)) == expected


def test_parse_command_long_extended_data() -> None:
    data = bytes(range(256)) * 3
    command = parse_command(extended(0x01, data))
    assert (command.data, command.extended) == (data, True)


@pytest.mark.parametrize(
    "apdu",
    ["00a100", "00a2000103aabb", "00a2000102aabbccdd", "00a200000000030aaa", "00a2000000000000"],
)
def test_malformed_apdus_answer_wrong_length(card: Card, apdu: str) -> None:
    with pytest.raises(ApduError) as error:
        parse_command(bytes.fromhex(apdu))
    assert error.value.sw == 0x6700
    assert transmit(card, apdu) == (b"", 0x6700)


# Selection


def test_select_in_short_and_extended_form(card: Card) -> None:
    for apdu in (short(0xA4, OATH_AID, p1=0x04), extended(0xA4, OATH_AID, p1=0x04)):
        data, sw = transmit(card, apdu)
        assert sw == 0x9000
        fields = tlv.parse_dict(data)
        assert fields[0x79] == bytes([5, 7, 2])
        assert len(fields[0x71]) == 8


def test_unknown_aid_answers_file_not_found(card: Card) -> None:
    assert transmit(card, short(0xA4, bytes.fromhex("a000000308"), p1=0x04)) == (b"", 0x6A82)


def test_no_applet_selected_refuses_instructions(card: Card) -> None:
    assert transmit(card, short(0xA1)) == (b"", 0x6D00)
    select(card)
    assert transmit(card, short(0xA1))[1] == 0x9000
    card.reset()
    assert transmit(card, short(0xA1)) == (b"", 0x6D00)


def test_an_applet_bug_answers_6f00(card: Card, oath: OathApplet) -> None:
    select(card)

    def broken(command: Command) -> bytes:
        raise RuntimeError("bug")

    oath._handlers[0xA1] = broken
    assert transmit(card, short(0xA1)) == (b"", 0x6F00)


# Command chaining


def test_put_split_in_chained_parts(card: Card, oath: OathApplet) -> None:
    select(card)
    data = put_data(b"chained:" + b"n" * 50, secret=bytes(range(60)))
    parts = [data[i : i + 16] for i in range(0, len(data), 16)]
    for part in parts[:-1]:
        assert transmit(card, short(0x01, part, cla=0x10)) == (b"", 0x9000)
        assert not oath.credentials  # nothing happens before the last part
    assert transmit(card, short(0x01, parts[-1])) == (b"", 0x9000)
    stored = oath.credentials[b"chained:" + b"n" * 50]
    assert stored.key == bytes(range(60))
    assert len(parts) > 3


def test_a_different_command_abandons_a_chain(card: Card, oath: OathApplet) -> None:
    select(card)
    data = put_data(b"abandoned")
    assert transmit(card, short(0x01, data[:10], cla=0x10))[1] == 0x9000
    assert transmit(card, short(0xA1))[1] == 0x9000
    # The tail alone is not a PUT: the first part was dropped.
    assert transmit(card, short(0x01, data[10:]))[1] == 0x6A80
    assert not oath.credentials


# Response chaining


def fill(card: Card, count: int) -> bytes:
    """Puts ``count`` credentials; returns the LIST answer they make."""
    expected = b""
    for index in range(count):
        name = f"issuer-{index:02d}:account-with-a-long-name".encode()
        assert transmit(card, extended(0x01, put_data(name)))[1] == 0x9000
        expected += tlv.encode(0x72, b"\x21" + name)
    return expected


@pytest.mark.parametrize("fetch_ins", [0xC0, 0xA5])
def test_long_answer_fetched_with_get_response_or_send_remaining(
    card: Card, fetch_ins: int
) -> None:
    select(card)
    expected = fill(card, 20)
    assert len(expected) > 512
    received, chunks = b"", 0
    data, sw = transmit(card, short(0xA1) + b"\x00")
    while sw >> 8 == 0x61:
        assert len(data) == 255  # the OATH applet's chunk size
        remaining = len(expected) - len(received) - len(data)
        assert sw & 0xFF == (remaining if remaining < 256 else 0)
        received += data
        chunks += 1
        data, sw = transmit(card, bytes([0, fetch_ins, 0, 0, 0]))
    assert sw == 0x9000
    assert received + data == expected
    assert chunks == len(expected) // 255


def test_le_limits_an_answer(card: Card) -> None:
    select(card)
    expected = fill(card, 2)
    data, sw = transmit(card, short(0xA1) + b"\x10")
    assert (data, sw) == (expected[:16], 0x6100 | (len(expected) - 16))
    data, sw = transmit(card, "00c0000000")
    assert (data, sw) == (expected[16:], 0x9000)


def test_get_response_with_nothing_pending(card: Card) -> None:
    select(card)
    assert transmit(card, "00c0000000")[1] == 0x6B00


def test_send_remaining_with_nothing_pending_reaches_the_applet(card: Card) -> None:
    select(card)
    assert transmit(card, "00a5000000") == (b"", 0x6985)  # the OATH applet's (chosen) answer


def test_a_new_command_drops_pending_data(card: Card) -> None:
    select(card)
    fill(card, 10)
    assert transmit(card, short(0xA1) + b"\x00")[1] >> 8 == 0x61
    assert transmit(card, short(0xA4, OATH_AID, p1=0x04))[1] == 0x9000
    assert transmit(card, "00c0000000")[1] == 0x6B00


# OATH status words (as Yubico's ykneo-oath applet answers them)


def calculate(card: Card, name: bytes, challenge: bytes | None) -> tuple[bytes, int]:
    data = tlv.encode(0x71, name)
    if challenge is not None:
        data += tlv.encode(0x74, challenge)
    return transmit(card, short(0xA2, data, p2=1))


def test_calculate_of_totp_needs_a_challenge_hotp_does_not(card: Card, oath: OathApplet) -> None:
    select(card)
    hotp = tlv.encode(0x71, b"hotp") + tlv.encode(0x73, bytes([0x11, 6]) + SECRET)
    assert transmit(card, short(0x01, hotp))[1] == 0x9000
    assert transmit(card, short(0x01, put_data(b"totp")))[1] == 0x9000
    assert calculate(card, b"totp", None) == (b"", 0x6A80)
    assert calculate(card, b"totp", bytes(8))[1] == 0x9000
    assert calculate(card, b"hotp", None)[1] == 0x9000
    assert calculate(card, b"hotp", b"")[1] == 0x9000  # what yubikit sends for HOTP
    assert oath.credentials[b"hotp"].counter == 2


ACCESS_KEY = bytes(range(16))


def set_code(card: Card, proof: bytes | None = None) -> int:
    challenge = b"host-chl"
    proof = hmac.new(ACCESS_KEY, challenge, "sha1").digest() if proof is None else proof
    data = (tlv.encode(0x73, b"\x21" + ACCESS_KEY) + tlv.encode(0x74, challenge)
            + tlv.encode(0x75, proof))
    return transmit(card, short(0x03, data))[1]


def test_set_code_with_a_wrong_proof_answers_6984(card: Card, oath: OathApplet) -> None:
    select(card)
    assert set_code(card, proof=bytes(20)) == 0x6984
    assert oath.access_key is None
    assert set_code(card) == 0x9000
    assert oath.access_key is not None


def test_validate_refuses_a_host_challenge_under_8_bytes(card: Card, oath: OathApplet) -> None:
    select(card)
    assert set_code(card) == 0x9000
    data, sw = transmit(card, short(0xA4, OATH_AID, p1=0x04))
    card_challenge = tlv.parse_dict(data)[0x74]
    response = tlv.encode(0x75, hmac.new(ACCESS_KEY, card_challenge, "sha1").digest())
    for host_challenge in (b"", b"7 bytes"):
        validate = response + tlv.encode(0x74, host_challenge)
        assert transmit(card, short(0xA3, validate)) == (b"", 0x6A80)
        assert transmit(card, short(0xA1))[1] == 0x6982  # still locked
    data, sw = transmit(card, short(0xA3, response + tlv.encode(0x74, b"8 bytes!")))
    assert sw == 0x9000
    assert data == tlv.encode(0x75, hmac.new(ACCESS_KEY, b"8 bytes!", "sha1").digest())
    assert transmit(card, short(0xA1))[1] == 0x9000


# The APDU log


def test_log_holds_instructions_status_and_sizes_never_data(tmp_path, oath: OathApplet) -> None:
    log = ApduLog(tmp_path / "apdu.jsonl")
    card = Card([oath], log=log)
    select(card)
    put = extended(0x01, put_data(b"logged", SECRET))
    transmit(card, put)
    transmit(card, short(0xA1) + b"\x00")
    transmit(card, short(0xA2, tlv.encode(0x71, b"missing"), p2=1))
    records = log.records
    assert [(r.ins, r.sw) for r in records] == [
        (0xA4, 0x9000), (0x01, 0x9000), (0xA1, 0x9000), (0xA2, 0x6984)
    ]
    assert records[1].command_bytes == len(put)
    assert records[1].response_bytes == 0
    assert records[2].response_bytes == len(tlv.encode(0x72, b"\x21logged"))
    assert [r.applet for r in records] == ["oath"] * 4
    text = (tmp_path / "apdu.jsonl").read_text()
    assert [json.loads(line)["ins"] for line in text.splitlines()] == [0xA4, 0x01, 0xA1, 0xA2]
    for blob in (text, repr(records), repr(oath.credentials)):
        assert SECRET.hex() not in blob.lower()
        assert str(list(SECRET)) not in blob


def test_log_of_unparsable_apdu(card: Card) -> None:
    transmit(card, "00")
    record = card.log.records[-1]
    assert (record.ins, record.sw, record.command_bytes) == (None, 0x6700, 1)


# Faults


def test_pull_after_answers_n_apdus_then_fails(oath: OathApplet) -> None:
    card = Card([oath], faults=Faults(pull_after=2))
    select(card)
    assert transmit(card, extended(0x01, put_data(b"second")))[1] == 0x9000
    with pytest.raises(KeyPulled):
        transmit(card, short(0xA1))
    with pytest.raises(ConnectionError):  # and stays pulled, reconnecting too
        card.reset()
    assert card.log.count == 2
    card.faults.plug_in()
    card.reset()
    select(card)
    assert b"second" in transmit(card, short(0xA1))[0]  # the key kept its state


def test_pull_during_carries_the_command_out_but_loses_the_answer(oath: OathApplet) -> None:
    card = Card([oath], faults=Faults(pull_during=2))
    select(card)
    with pytest.raises(KeyPulled):
        transmit(card, extended(0x01, put_data(b"lost-answer")))
    assert b"lost-answer" in oath.credentials
    with pytest.raises(KeyPulled):
        transmit(card, short(0xA1))


def test_delay_slows_every_apdu(oath: OathApplet) -> None:
    card = Card([oath], faults=Faults(delay=0.05))
    start = time.monotonic()
    select(card)
    transmit(card, short(0xA1))
    assert time.monotonic() - start >= 0.1


def test_statuses_answer_a_chosen_status_instead(card: Card, oath: OathApplet) -> None:
    card.faults.statuses[0x01] = 0x6581
    select(card)
    assert transmit(card, extended(0x01, put_data(b"refused"))) == (b"", 0x6581)
    assert not oath.credentials
    assert card.log.records[-1].sw == 0x6581
    del card.faults.statuses[0x01]
    assert transmit(card, extended(0x01, put_data(b"accepted")))[1] == 0x9000
