"""What an enrolment onto a key costs, counted in the virtual key's own APDU log: one listing
(LIST + CALCULATE_ALL) for every check before the write, the PUT, and one CALCULATE as its
proof. Before the checks had one home, the same enrolment listed the key four times. And what
`code --device` costs: no serial read from a key seen before."""

from __future__ import annotations

from collections import Counter

import pyotp
from yubikit.oath import OATH_TYPE

from helpers.cli import codes_printed, ok
from helpers.keys import ONE, TWO, put
from helpers.samples import FIXED_TIME, GITHUB, SECRET, SECRET_B
from virtualkey.key import KeyConfig

URI = GITHUB
SELECT, LIST, PUT, CALCULATE, CALCULATE_ALL, SEND_REMAINING = (
    (0xA4, 0x04), (0xA1, 0x00), (0x01, 0x00), (0xA2, 0x00), (0xA4, 0x00), (0xA5, 0x00))
READ_CONFIG = (0x1D, 0x00)  # the management applet: a write trusts only the key's own serial


def test_one_enrolment_lists_the_key_once_then_writes_and_proves(plug_keys, hwotp):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    assert hwotp("keys").exit_code == 0  # the serial is known from here on, as on a used key
    key.log.clear()
    result = hwotp("enroll", "--uri", URI, "--no-touch", "--no-vault")
    assert result.exit_code == 0, result.everything
    assert pyotp.TOTP(SECRET).at(FIXED_TIME) in result.stdout
    sent = Counter((record.ins, record.p1) for record in key.log.records)
    assert sent[LIST] == 1 and sent[CALCULATE_ALL] == 1
    assert sent[PUT] == 1 and sent[CALCULATE] == 1
    assert set(sent) <= {SELECT, READ_CONFIG, LIST, PUT, CALCULATE, CALCULATE_ALL,
                         SEND_REMAINING}
    # Measured on the same enrolment: 13 APDUs before this change (4 LIST, 4 CALCULATE_ALL), 7
    # after it.
    assert sum(sent.values()) < 13


def test_a_key_pulled_after_its_write_with_also_vault_says_the_vault_copy_is_missing(
    plug_keys, hwotp, vault_path
):
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    assert hwotp("keys").exit_code == 0
    # SELECTs, the serial, LIST, CALCULATE_ALL, then the PUT (6th): its proof never arrives.
    key.faults.pull_after = key.log.count + 6
    result = hwotp("enroll", "--uri", URI, "--no-touch", "--also-vault")
    assert result.exit_code == 12, result.everything
    message = result.stderr.splitlines()[-1]
    assert "after GitHub:alice was written to it" in message
    assert message.endswith("(nothing was stored in the vault)")
    assert not vault_path.exists()


def _sent_to(key) -> Counter:
    sent = Counter((record.ins, record.p1) for record in key.log.records)
    key.log.clear()
    return sent


def test_code_device_picks_a_known_key_by_the_cached_serial_without_reading_it(plug_keys,
                                                                              hwotp):
    """`code --device` reads: the key cache names a key seen before (its OATH SELECT's device
    id), so no key is asked for its serial; the chosen one answers its codes, the other key
    only its SELECT. A key the cache does not know is asked for its serial."""
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    for key, secret in zip(rig.keys, (SECRET, SECRET_B), strict=True):
        put(key, "alice", issuer="GitHub", secret=secret)
    ok(hwotp("code", "--device", str(ONE), "--no-vault"))  # the cache is empty: serials read
    assert all(_sent_to(key)[READ_CONFIG] == 1 for key in rig.keys)

    shown = ok(hwotp("code", "--device", str(TWO), "--no-vault"))
    assert codes_printed(shown.stdout) == {"GitHub:alice": pyotp.TOTP(SECRET_B).at(FIXED_TIME)}
    first, second = (_sent_to(key) for key in rig.keys)
    assert first == Counter({SELECT: 1})
    assert set(second) <= {SELECT, CALCULATE_ALL, SEND_REMAINING}
    assert second[SELECT] == 1 and second[CALCULATE_ALL] == 1

    ok(hwotp("key", "reset", "--force", "--device", str(TWO)))  # a new device id: not known
    _sent_to(rig.keys[0]), _sent_to(rig.keys[1])
    ok(hwotp("list", "--device", str(TWO), "--no-vault"))
    assert _sent_to(rig.keys[1])[READ_CONFIG] == 1


def test_a_code_by_name_on_a_known_key_comes_from_calculate_all(plug_keys, hwotp):
    """`code NAME` for a plain TOTP credential on a key seen before: the names from one LIST
    and CALCULATE_ALL, the code from the CALCULATE_ALL the bulk path sends (no CALCULATE, no
    yubikit session). What CALCULATE_ALL does not compute (HOTP, touch, another period) is
    still asked with its own CALCULATE, as on a key not seen before."""
    key = plug_keys(KeyConfig(serial=ONE, touch="auto")).keys[0]
    put(key, "alice", issuer="GitHub")
    put(key, "carol", issuer="Counter", oath_type=OATH_TYPE.HOTP, counter=5)
    put(key, "dave", issuer="Slow", period=60)
    put(key, "erin", issuer="Touchy", touch=True)
    ok(hwotp("keys"))  # the serial is known from here on, as on a used key
    _sent_to(key)
    shown = ok(hwotp("code", "github", "--no-vault"))
    assert codes_printed(shown.stdout) == {"GitHub:alice": pyotp.TOTP(SECRET).at(FIXED_TIME)}
    sent = _sent_to(key)
    assert sent[CALCULATE] == 0 and sent[LIST] == 1 and sent[CALCULATE_ALL] == 2, sent
    expected = {
        "counter": ("Counter:carol", pyotp.HOTP(SECRET).at(5)),
        "slow": ("Slow:dave", pyotp.TOTP(SECRET, interval=60).at(FIXED_TIME)),
        "touchy": ("Touchy:erin", pyotp.TOTP(SECRET).at(FIXED_TIME)),
    }
    for query, (name, code) in expected.items():
        shown = ok(hwotp("code", query, "--no-vault"))
        assert codes_printed(shown.stdout) == {name: code}, query
        assert _sent_to(key)[CALCULATE] == 1, query
