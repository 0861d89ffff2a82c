"""hwotp's own bulk path (SELECT + CALCULATE_ALL over pyscard) against yubikit's reading of the
same virtual key through pcscd, and its parser against malformed answers."""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from smartcard.System import readers
from yubikit.oath import (
    HASH_ALGORITHM,
    OATH_TYPE,
    CredentialData,
    OathSession,
    _format_cred_id,
    _parse_cred_id,
    parse_b32_key,
)

from helpers.keys import ONE
from helpers.samples import SECRET
from hwotp.credential import Kind
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
    rig = plug_keys(KeyConfig(serial=ONE))
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
    assert oathwire.truncated_code(plain) == pyotp.TOTP(SECRET).at(MOMENT)
    assert by_name["Site:hotp"].tag == 0x77 and by_name["Site:touch"].tag == 0x7C
    assert by_name["60/Site:minute"].digits == 8
    yubikit_codes = {c.id.decode(): code for c, code in session.calculate_all(MOMENT).items()}
    assert yubikit_codes["Site:user07@example.com"].value == oathwire.truncated_code(plain)


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
        # Answers of a size or tag YKOATH does not give: read, they would print a wrong code.
        "710161" "760106",  # digits without the code
        "710161" "76050001020304",  # 0 digits
        "710161" "7605c801020304",  # 200 digits
        "710161" "760606010203040506",  # a code of 5 bytes
        "710161" "7505060102030405",  # a full answer where a truncated one belongs
        "710161" "7700",  # an HOTP credential without its digits
        "710161" "7c0105",  # a touch credential of 5 digits
        "7100" "76050601020304",  # an empty id
        "7141" + "61" * 65 + "76050601020304",  # an id longer than a key takes
    ],
)
def test_malformed_answers_are_wire_errors(answer):
    with pytest.raises(oathwire.WireError):
        oathwire.parse_calculate_all(bytes.fromhex(answer))


def test_a_list_of_ids_longer_than_a_key_takes_is_not_read():
    assert oathwire.parse_list(bytes([0x72, 65]) + b"\x21" + b"a" * 64)[0].id == b"a" * 64
    with pytest.raises(oathwire.WireError):
        oathwire.parse_list(bytes([0x72, 66]) + b"\x21" + b"a" * 65)


class EndlessCard:
    """A card that answers every command with "more data" (61 00) and nothing else."""

    def __init__(self) -> None:
        self.sent = 0

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        self.sent += 1
        return [], 0x61, 0x00


def test_an_answer_that_never_ends_is_given_up():
    card = EndlessCard()
    with pytest.raises(oathwire.WireError, match="does not end"):
        oathwire.list_all(card)
    assert card.sent == 1 + oathwire.MAX_SEND_REMAINING


def test_long_lengths_parse():
    value = bytes(range(200))
    assert oathwire.parse_tlvs(bytes([0x71, 0x81, 200]) + value) == [(0x71, value)]
    assert oathwire.parse_tlvs(bytes([0x71, 0x82, 0, 200]) + value) == [(0x71, value)]


# --- credential ids: one pattern, read as yubikit reads them ---------------------------------

ID_TEXT = st.text(st.sampled_from("ab:/0129²٣ -\n"), min_size=1, max_size=12)


@given(ID_TEXT, st.sampled_from([OATH_TYPE.TOTP, OATH_TYPE.HOTP]))
@example("0/0\n", OATH_TYPE.TOTP)  # found by hypothesis: the zero period's name lost its newline
def test_ids_are_read_as_yubikit_reads_them(text, oath_type):
    kind = Kind.TOTP if oath_type is OATH_TYPE.TOTP else Kind.HOTP
    issuer, account, period = _parse_cred_id(text.encode(), oath_type)
    read = oathwire.parse_credential_id(text.encode(), kind)
    if kind is Kind.HOTP:
        period = oathwire.DEFAULT_PERIOD  # yubikit says 0: HOTP has no period
    if period == 0:  # the one deliberate difference: yubikit would divide by it
        assert (read.period, read.name) == (oathwire.DEFAULT_PERIOD, text)
        return
    assert (read.issuer, read.account, read.period) == (issuer or "", account, period)


@given(st.text(st.sampled_from("ab:/0129²٣ "), max_size=8), ID_TEXT,
       st.sampled_from([Kind.TOTP, Kind.HOTP]), st.sampled_from([30, 60, 15]))
def test_an_id_that_round_trips_is_read_back_as_written(issuer, account, kind, period):
    raw = oathwire.format_credential_id(issuer, account, kind, period)
    assert raw == _format_cred_id(issuer, account, OATH_TYPE[kind.name], period)
    read = oathwire.parse_credential_id(raw, kind)
    if oathwire.round_trips(issuer, account, kind, period):
        assert read.name == (f"{issuer}:{account}" if issuer else account)
    else:  # what a key would misread: a period in front, or digits and a slash that yubikit
        # reads as one (a zero period it then divides by)
        misread = (read.name, read.period) != (
            f"{issuer}:{account}" if issuer else account,
            period if kind is Kind.TOTP else oathwire.DEFAULT_PERIOD,
        )
        period_like = kind is Kind.TOTP and _parse_cred_id(raw, OATH_TYPE.TOTP)[2] != 30
        assert misread or period_like


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        (b"\xc2\xb2/x", Kind.TOTP, ("", "²/x", 30)),  # a superscript is no digit to yubikit
        ("\u0663/Site:x".encode(), Kind.TOTP, ("Site", "x", 3)),  # Arabic-Indic 3 is one
        (b"60/Site:x", Kind.TOTP, ("Site", "x", 60)),
        (b"0/x", Kind.TOTP, ("", "0/x", 30)),
        (b"Site:", Kind.TOTP, ("", "Site:", 30)),
        (b"Site:", Kind.HOTP, ("Site", "", 30)),
        (b"\xff:x", Kind.TOTP, ("\\xff", "x", 30)),  # not UTF-8: shown as bytes, never refused
    ],
)
def test_awkward_ids(raw, kind, expected):
    read = oathwire.parse_credential_id(raw, kind)
    assert (read.issuer, read.account, read.period) == expected
