"""hwotp's own bulk path (SELECT + CALCULATE_ALL over pyscard) against yubikit's reading of the
same virtual key through pcscd, and its parser against malformed answers."""

from __future__ import annotations

import pyotp
import pytest
from smartcard.System import readers
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession, parse_b32_key

from helpers.samples import SECRET
from hwotp.yubikey import oathwire
from virtualkey.key import KeyConfig
from virtualkey.transports import SmartCardAdapter

MOMENT = 1_234_567_890


def _put(session: OathSession, name: str, **fields) -> None:
    data = {"oath_type": OATH_TYPE.TOTP, "hash_algorithm": HASH_ALGORITHM.SHA1,
            "secret": parse_b32_key(SECRET), "issuer": "Site", **fields}
    session.put_credential(CredentialData(name=name, **data))


@pytest.fixture
def filled_key(plug_keys):
    rig = plug_keys(KeyConfig(serial=31337))
    session = OathSession(SmartCardAdapter(rig.keys[0]))
    for number in range(20):  # enough for the answer to need SEND_REMAINING
        _put(session, f"user{number:02d}@example.com")
    _put(session, "hotp", oath_type=OATH_TYPE.HOTP)
    session.put_credential(
        CredentialData("touch", OATH_TYPE.TOTP, HASH_ALGORITHM.SHA1, parse_b32_key(SECRET),
                       issuer="Site"),
        touch_required=True,
    )
    _put(session, "minute", period=60, digits=8)
    connection = readers()[0].createConnection()
    connection.connect()
    yield rig, session, connection
    connection.disconnect()
    connection.release()


def test_select_and_calculate_all_agree_with_yubikit(filled_key):
    rig, session, connection = filled_key
    selected = oathwire.select(connection)
    assert selected == oathwire.Selected(session.device_id, locked=False)
    before = rig.keys[0].log.count
    listed = oathwire.calculate_all(connection, MOMENT)
    instructions = [record.ins for record in rig.keys[0].log.records[before:]]
    assert instructions[0] == 0xA4 and set(instructions[1:]) == {0xA5}  # the rest: remaining
    by_name = {item.id.decode(): item for item in listed}
    assert len(by_name) == 23
    plain = by_name["Site:user07@example.com"]
    value = (int.from_bytes(plain.payload[1:5], "big") & 0x7FFFFFFF) % 10**plain.digits
    assert str(value).rjust(6, "0") == pyotp.TOTP(SECRET).at(MOMENT)
    assert by_name["Site:hotp"].tag == 0x77 and by_name["Site:touch"].tag == 0x7C
    assert by_name["60/Site:minute"].digits == 8
    yubikit_codes = {c.id.decode(): code for c, code in session.calculate_all(MOMENT).items()}
    assert yubikit_codes["Site:user07@example.com"].value == str(value).rjust(6, "0")


def test_a_locked_key_is_seen_as_locked(filled_key):
    _rig, session, connection = filled_key
    session.set_key(session.derive_key("hunter22"))
    assert oathwire.select(connection).locked


@pytest.mark.parametrize(
    "answer",
    [
        "71",  # a tag without its length
        "7105616263",  # a length past the end
        "7182",  # a long length without its bytes
        "760401020304",  # a code without the name before it
        "71016176",  # a name, then a truncated code
    ],
)
def test_malformed_answers_are_wire_errors(answer):
    with pytest.raises(oathwire.WireError):
        oathwire.parse_calculate_all(bytes.fromhex(answer))


def test_long_lengths_parse():
    value = bytes(range(200))
    assert oathwire.parse_tlvs(bytes([0x71, 0x81, 200]) + value) == [(0x71, value)]
    assert oathwire.parse_tlvs(bytes([0x71, 0x82, 0, 200]) + value) == [(0x71, value)]
