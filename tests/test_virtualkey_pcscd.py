"""Acceptance of the virtual YubiKey through the real stack: the ykman CLI, yubikit and
python-fido2 over pyscard over a private pcscd, against keys plugged in through vpcd."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pyotp
import pytest
from smartcard.Exceptions import CardConnectionException
from ykman.pcsc import list_devices
from yubikit.core.smartcard import SmartCardConnection
from yubikit.oath import HASH_ALGORITHM, OATH_TYPE, CredentialData, OathSession, parse_b32_key

from helpers.keys import ONE, TWO, pyotp_codes_around, replug
from helpers.processes import processes_mentioning
from helpers.samples import SECRET
from virtualkey.key import KeyConfig
from virtualkey.transports import SmartCardAdapter


def pcsc_connection(serial: int) -> SmartCardConnection:
    """A yubikit connection through pcscd, found as ykman finds keys: by reader, then serial."""
    from yubikit.management import ManagementSession

    for device in list_devices():
        with device.open_connection(SmartCardConnection) as connection:
            found = ManagementSession(connection).read_device_info().serial
        if found == serial:
            return device.open_connection(SmartCardConnection)
    raise AssertionError(f"no key {serial} through pcscd")


def test_ykman_lists_both_keys_with_serial_and_firmware(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(5, 4, 3)))
    result = ykman("list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert any("Serial: 11111111" in line and "(5.7.2)" in line for line in lines)
    assert any("Serial: 22222222" in line and "(5.4.3)" in line for line in lines)
    assert "WARNING" not in result.stderr


def test_ykman_info_shows_the_chosen_key(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(5, 4, 3)))
    result = ykman("--device", str(TWO), "info")
    assert result.exit_code == 0, result.stderr
    assert "Serial number: 22222222" in result.stdout
    assert "Firmware version: 5.4.3" in result.stdout
    assert "OATH        \tEnabled" in result.stdout


TOTP_CASES = [  # every algorithm, every digit count and both periods, crossed
    ("SHA1", 6, 30),
    ("SHA256", 7, 30),
    ("SHA512", 8, 30),
    ("SHA1", 8, 60),
    ("SHA256", 6, 60),
    ("SHA512", 7, 60),
]


def _digest(name: str):
    import hashlib

    return getattr(hashlib, name.lower())


@pytest.mark.parametrize(("algorithm", "digits", "period"), TOTP_CASES)
def test_ykman_totp_codes_equal_pyotp(plug_keys, ykman, algorithm, digits, period):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    secret = pyotp.random_base32(32)
    name = f"Site:{algorithm}-{digits}-{period}"
    added = ykman("--device", str(TWO), "oath", "accounts", "add", "--algorithm", algorithm,
                  "--digits", str(digits), "--period", str(period), name, secret)
    assert added.exit_code == 0, added.stderr

    def make() -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=digits, digest=_digest(algorithm), interval=period)

    output, expected = pyotp_codes_around(
        make, lambda: ykman("--device", str(TWO), "oath", "accounts", "code", "-s", name).stdout
    )
    assert output.strip() in expected
    # The other key was not written to.
    assert ykman("--device", str(ONE), "oath", "accounts", "list").stdout == ""


@pytest.mark.parametrize("counter", [0, 5])
def test_ykman_hotp_codes_equal_pyotp_and_the_counter_moves(plug_keys, ykman, counter):
    plug_keys(KeyConfig(serial=ONE))
    added = ykman("oath", "accounts", "add", "--oath-type", "HOTP", "--counter", str(counter),
                  "Bank:alice", SECRET)
    assert added.exit_code == 0, added.stderr
    # A second account, so that listing codes is not a request for the only one.
    assert ykman("oath", "accounts", "add", "Other:alice", SECRET).exit_code == 0
    hotp = pyotp.HOTP(SECRET)
    listed = ykman("oath", "accounts", "code").stdout
    assert "[HOTP Account]" in listed  # CALCULATE_ALL does not move HOTP counters
    first = ykman("oath", "accounts", "code", "-s", "Bank").stdout.strip()
    second = ykman("oath", "accounts", "code", "-s", "Bank").stdout.strip()
    assert (first, second) == (hotp.at(counter), hotp.at(counter + 1))


def test_ykman_touch_credential_codes_and_listing(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, touch="auto", touch_delay=0.2))
    on_second = partial(ykman, "--device", str(TWO))  # two keys: use the second only
    assert on_second("oath", "accounts", "add", "--touch", "Mail:bob", SECRET).exit_code == 0
    assert on_second("oath", "accounts", "add", "Chat:bob", SECRET).exit_code == 0
    listed = on_second("oath", "accounts", "code").stdout
    assert "Mail:bob" in listed and "[Requires Touch]" in listed
    output, expected = pyotp_codes_around(
        lambda: pyotp.TOTP(SECRET),
        lambda: on_second("oath", "accounts", "code", "-s", "Mail").stdout,
    )
    assert output.strip() in expected
    assert ykman("--device", str(ONE), "oath", "accounts", "list").stdout == ""


def test_ykman_reports_a_timeout_when_touch_is_denied(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.5))
    assert ykman("oath", "accounts", "add", "--touch", "Mail:bob", SECRET).exit_code == 0
    result = ykman("oath", "accounts", "code", "-s", "Mail")
    assert result.exit_code != 0
    assert "Touch account timed out!" in result.stderr


def test_ykman_uri_rename_delete(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    on_second = partial(ykman, "--device", str(TWO))  # two keys: use the second only
    uri = f"otpauth://totp/Example:alice@example.com?secret={SECRET}&issuer=Example&digits=8"
    assert on_second("oath", "accounts", "uri", uri).exit_code == 0
    assert on_second("oath", "accounts", "list").stdout.strip() == "Example:alice@example.com"
    renamed = on_second("oath", "accounts", "rename", "-f", "alice", "Example:carol")
    assert renamed.exit_code == 0, renamed.stderr
    assert on_second("oath", "accounts", "list").stdout.strip() == "Example:carol"
    output, expected = pyotp_codes_around(
        lambda: pyotp.TOTP(SECRET, digits=8),
        lambda: on_second("oath", "accounts", "code", "-s", "carol").stdout,
    )
    assert output.strip() in expected
    assert on_second("oath", "accounts", "delete", "-f", "carol").exit_code == 0
    assert on_second("oath", "accounts", "list").stdout == ""
    assert ykman("--device", str(ONE), "oath", "accounts", "list").stdout == ""


def test_ykman_rename_needs_firmware_5_3_1(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE, firmware=(5, 2, 7)))
    assert ykman("oath", "accounts", "add", "Old:alice", SECRET).exit_code == 0
    renamed = ykman("oath", "accounts", "rename", "-f", "alice", "New:alice")
    assert renamed.exit_code != 0
    assert ykman("oath", "accounts", "list").stdout.strip() == "Old:alice"


def test_ykman_password_change_use_and_reset(plug_keys, ykman):
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    on_second = partial(ykman, "--device", str(TWO))  # two keys: use the second only
    assert on_second("oath", "accounts", "add", "Site:alice", SECRET).exit_code == 0
    changed = on_second("oath", "access", "change", "-n", "hunter22")
    assert changed.exit_code == 0, changed.stderr
    locked = on_second("oath", "accounts", "list", stdin="")
    assert locked.exit_code != 0
    wrong = on_second("oath", "accounts", "list", "-p", "wrong")
    assert wrong.exit_code != 0 and "Authentication" in wrong.stderr + wrong.stdout
    unlocked = on_second("oath", "accounts", "list", "-p", "hunter22")
    assert unlocked.stdout.strip() == "Site:alice"
    output, expected = pyotp_codes_around(
        lambda: pyotp.TOTP(SECRET),
        lambda: on_second("oath", "accounts", "code", "-s", "-p", "hunter22", "Site").stdout,
    )
    assert output.strip() in expected
    assert on_second("oath", "reset", "-f").exit_code == 0
    after = on_second("oath", "accounts", "list")
    assert after.exit_code == 0 and after.stdout == ""
    assert ykman("--device", str(ONE), "oath", "accounts", "list").stdout == ""


@pytest.mark.parametrize(("firmware", "capacity"), [((5, 4, 3), 32), ((5, 7, 2), 64)])
def test_ykman_reports_a_full_key(plug_keys, ykman, firmware, capacity):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=firmware))
    # Fill all but one slot in-process (fast), then let ykman add the last one and one more.
    session = OathSession(SmartCardAdapter(rig.keys[0]))
    for index in range(capacity - 1):
        session.put_credential(_credential(f"filler{index}"))
    assert ykman("oath", "accounts", "add", "Last:one", SECRET).exit_code == 0
    full = ykman("oath", "accounts", "add", "Too:many", SECRET)
    assert full.exit_code != 0
    assert "No space left on the YubiKey for OATH accounts." in full.stderr
    assert len(ykman("oath", "accounts", "list").stdout.splitlines()) == capacity


def _credential(name: str, issuer: str | None = None, **fields) -> CredentialData:
    """A credential for SECRET: plain TOTP unless `fields` say otherwise."""
    defaults = {"oath_type": OATH_TYPE.TOTP, "hash_algorithm": HASH_ALGORITHM.SHA1,
                "secret": parse_b32_key(SECRET)}
    return CredentialData(name=name, issuer=issuer, **{**defaults, **fields})


def test_oath_session_in_process_and_through_pcscd_agree(plug_keys):
    rig = plug_keys(KeyConfig(serial=ONE))
    in_process_key = rig.keys[0].__class__(KeyConfig(serial=TWO))
    answers = []
    for connect in (lambda: SmartCardAdapter(in_process_key), lambda: pcsc_connection(ONE)):
        with connect() as connection:
            answers.append(_exercise(OathSession(connection)))
    assert answers[0] == answers[1]
    assert answers[0]["codes"]["Site:totp"] == pyotp.TOTP(SECRET).at(1_000_000_000)


def _exercise(session: OathSession) -> dict:
    session.put_credential(_credential("totp", "Site"))
    session.put_credential(_credential("hotp", "Site", oath_type=OATH_TYPE.HOTP,
                                       hash_algorithm=HASH_ALGORITHM.SHA256, digits=8, counter=5))
    session.put_credential(_credential("long", "Site", hash_algorithm=HASH_ALGORITHM.SHA512,
                                       digits=7, period=60), touch_required=True)
    codes = session.calculate_all(1_000_000_000)
    listed = sorted((c.id, c.oath_type, c.touch_required) for c in session.list_credentials())
    named = {c.name: c for c in codes}
    hotp = session.calculate_code(named["hotp"], 1_000_000_000).value
    long = session.calculate_code(named["long"], 1_000_000_000).value
    return {
        "listed": listed,
        "codes": {c.id.decode(): code.value if code else None for c, code in codes.items()},
        "hotp": hotp,
        "long": long,
    }


def _enrol(serial: int) -> None:
    """Find the key through pcscd, open OATH, write one credential: what an enrol does."""
    connection = pcsc_connection(serial)
    try:
        OathSession(connection).put_credential(_credential("probe", "Count"))
    finally:
        _close_quietly(connection)


def _close_quietly(connection: SmartCardConnection) -> None:
    """ykman's close skips freeing the PC/SC context when disconnecting a pulled key fails;
    left to the garbage collector, that context would be freed after its pcscd is gone."""
    inner = connection.connection
    with contextlib.suppress(Exception):
        inner.disconnect()
    with contextlib.suppress(Exception):
        inner.release()


@pytest.mark.parametrize("fault", ["pull_after", "pull_during"])
def test_a_key_pulled_at_each_apdu_of_a_put_fails_the_connection(plug_keys, fault):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    before = key.log.count
    _enrol(ONE)
    apdus = key.log.count - before
    assert apdus >= 3  # management select + read config, OATH select, PUT
    for n in range(1, apdus + 1):
        with pcsc_connection(ONE) as connection:
            OathSession(connection).reset()
        # pull_after=N: N APDUs answered, the next fails; pull_during=N: the Nth is carried out
        # and its answer lost.
        setattr(key.faults, fault, key.log.count + (n - 1 if fault == "pull_after" else n))
        with pytest.raises(CardConnectionException):
            _enrol(ONE)
        replug(rig, ONE)
        with pcsc_connection(ONE) as connection:
            stored = [c.id for c in OathSession(connection).list_credentials()]
        written = fault == "pull_during" and n == apdus
        assert stored == ([b"Count:probe"] if written else []), (fault, n)


WITH_KEYS = Path(__file__).parent / "virtualkey" / "with-keys"


def with_keys(stand_in_tools: Path, *args: str, timeout: float = 60, **extra_env: str):
    env = {key: value for key, value in os.environ.items() if key != "PCSCLITE_CSOCK_NAME"}
    env["PATH"] = f"{stand_in_tools}:{Path(sys.executable).parent}:{env['PATH']}"
    env.update(extra_env)
    return subprocess.run([str(WITH_KEYS), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_with_keys_runs_a_command_against_two_keys_and_leaves_nothing(stand_in_tools, tmp_path):
    system_socket = Path("/run/pcscd/pcscd.comm")
    before = system_socket.exists() and system_socket.stat().st_ino
    # Its own TMPDIR, so that only this run's processes are looked for afterwards.
    result = with_keys(stand_in_tools, "--keys", "2", "--serial", "424242", "--",
                       "sh", "-c", 'ykman list; echo "serials $VIRTUALKEY_SERIALS"; exit 3',
                       TMPDIR=str(tmp_path))
    assert result.returncode == 3, result.stderr
    assert "Serial: 424242" in result.stdout and "Serial: 10000001" in result.stdout
    assert "serials 424242 10000001" in result.stdout
    assert processes_mentioning(str(tmp_path)) == []
    # The machine's own pcscd socket (if any) is as it was: the keys' pcscd is private.
    assert (system_socket.exists() and system_socket.stat().st_ino) == before


def test_with_keys_touch_by_signal_file(stand_in_tools):
    script = (
        'ykman oath accounts add --touch Mail:bob "$SECRET" >/dev/null || exit 9\n'
        'ykman oath accounts code -s Mail 2>/dev/null && exit 8\n'  # no touch: it must time out
        # A touch counts only while the key waits: keep touching until ykman is done.
        '(for i in 1 2 3 4 5 6 7 8 9; do sleep 0.2; : > "$VIRTUALKEY_CONTROL/10000001.touch";'
        ' done) &\n'
        'ykman oath accounts code -s Mail'
    )
    before = time.time()
    result = with_keys(stand_in_tools, "--touch", "signal", "--touch-timeout", "2", "--",
                       "sh", "-c", script, SECRET=SECRET)
    after = time.time()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {pyotp.TOTP(SECRET).at(before), pyotp.TOTP(SECRET).at(after)}


def test_with_keys_refuses_what_vpcd_cannot_show(stand_in_tools):
    result = with_keys(stand_in_tools, "--keys", "3", "--", "true")
    assert result.returncode == 125
    assert "1 to 2 keys" in result.stderr
