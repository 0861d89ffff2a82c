"""The debug log (`--debug`, HWOTP_DEBUG): what hwotp did with keys and the vault, every APDU
by its header and status word, and never a secret, a password, a key or a code. In-process
against virtual keys behind a private pcscd, as test_yubikey_cli.py."""

from __future__ import annotations

import base64
import logging
import os
import re
import threading

from helpers.cli import failed, ok
from helpers.keys import ONE, put, session
from helpers.processes import run_hwotp
from helpers.samples import GITHUB, PASSPHRASE, SECRET, SECRET_B, totp
from hwotp.errors import ExitCode
from hwotp.secret import decode_secret
from virtualkey.key import KeyConfig

# Any level, "Level 5" too: the time stamp starts every log line.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
APDU_LINE = re.compile(
    r" (hwotp\.yubikey\.(?:pcsc|oathwire)): APDU \d+ .*: CLA [0-9A-F]{2} INS ([0-9A-F]{2}) "
    r"P1 ([0-9A-F]{2}) P2 [0-9A-F]{2}, \d+ bytes sent, \d+ received, SW ([0-9A-F]{4}) "
)
OATH_PASSWORD = "correct-oath-password-7"
WRONG_OATH_PASSWORD = "wrong-oath-password-9"
WRONG_PASSPHRASE = "not the vault passphrase 3"
SLOW = f"otpauth://totp/Slow:bob?secret={SECRET_B}&issuer=Slow&period=60&digits=8"


def log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if LOG_LINE.match(line)]


def apdus_logged(stderr: str, path: str | None = None) -> list[tuple[int, int, int]]:
    """(INS, P1, SW) of every APDU line, optionally of one path's logger only."""
    found = []
    for line in log_lines(stderr):
        match = APDU_LINE.search(line)
        if match and (path is None or match[1].endswith(path)):
            found.append((int(match[2], 16), int(match[3], 16), int(match[4], 16)))
    return found


def apdus_seen(key) -> list[tuple[int, int, int]]:
    """What the virtual key itself recorded."""
    return [(record.ins, record.p1, record.sw) for record in key.log.records]


def spellings(data: bytes) -> list[str]:
    """The usual ways a logger prints bytes."""
    hexed = data.hex()
    return [
        hexed, hexed.upper(),
        " ".join(f"{byte:02x}" for byte in data), " ".join(f"{byte:02X}" for byte in data),
        base64.b64encode(data).decode(), base64.b64encode(data).decode().rstrip("="),
        repr(data)[2:-1], str(list(data))[1:-1],
    ]


def assert_none_in(stderr: str, *texts: str, codes: tuple[str, ...] = ()) -> None:
    for text in texts:
        assert text not in stderr, f"{text!r} is in the log"
    for code in codes:
        assert not re.search(rf"(?<!\d){code}(?!\d)", stderr), f"the code {code} is in the log"


def secret_forms(base32: str) -> list[str]:
    return [base32, base32.lower(), *spellings(decode_secret(base32))]


# --- keys -------------------------------------------------------------------------------------


def test_an_enrolment_onto_a_key_logs_every_apdu_and_no_secret(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    result = ok(hwotp("--debug", "enroll", "--uri", GITHUB, "--no-touch"))
    log = "\n".join(log_lines(result.stderr))
    # One line per APDU, the same ones the key saw, in order: PUT (01) answered 9000 among them.
    assert apdus_logged(result.stderr) == apdus_seen(key)
    assert (0x01, 0x00, 0x9000) in apdus_logged(result.stderr, "pcsc")
    assert re.search(r"APDU \d+ OATH PUT: CLA 00 INS 01 P1 00 P2 00, \d+ bytes sent", log)
    assert re.search(r"APDU \d+ SELECT OATH: ", log)
    assert f"serial {ONE}, firmware 5.7.2" in log
    assert "connecting to Yubico YubiKey" in log
    assert re.search(r" DEBUG yubikit\.oath: ", log)  # the library's own lines come too
    assert_none_in(result.stderr, *secret_forms(SECRET), codes=(totp(),))
    # The command's own output is unchanged, after the log.
    assert f"Stored GitHub:alice in the YubiKey {ONE}." in result.stderr


def test_code_logs_the_cache_and_the_bulk_path_and_no_code(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    put(key, "alice", "GitHub")
    put(key, "bob", "Slow", SECRET_B, period=60, digits=8)
    first = ok(hwotp("--debug", "code"))
    assert "key cache miss" in first.stderr
    assert apdus_logged(first.stderr, "oathwire")[0] == (0xA4, 0x04, 0x9000)  # SELECT OATH
    key.log.clear()
    second = ok(hwotp("--debug", "code"))
    assert "key cache hit" in second.stderr
    # Only the bulk path: SELECT, CALCULATE_ALL and its SEND_REMAINING, as the key saw them.
    assert apdus_logged(second.stderr) == apdus_logged(second.stderr, "oathwire")
    assert apdus_logged(second.stderr) == apdus_seen(key)
    assert [ins for ins, _, _ in apdus_logged(second.stderr)][:2] == [0xA4, 0xA4]
    assert "OATH CALCULATE_ALL: CLA 00 INS A4 P1 00 P2 01" in second.stderr
    for run in (first, second):
        codes = (totp(), totp(SECRET_B, interval=60, digits=8))
        assert_none_in(run.stderr, *secret_forms(SECRET), *secret_forms(SECRET_B), codes=codes)
        assert totp() in run.stdout  # the code is printed, only not logged


def test_a_process_that_never_loads_logging_still_logs_the_bulk_path_when_asked(plug_keys):
    """hwotp's device modules hand a line to `logging` only once it is loaded (`debuglog.py`):
    HWOTP_DEBUG loads it first, so a whole process logs what the in-process tests see."""
    key = plug_keys(KeyConfig(serial=ONE)).keys[0]
    put(key, "alice", "GitHub")
    env = {**os.environ, "HWOTP_VAULT": os.devnull + ".none"}
    assert run_hwotp("code", env=env).returncode == 0  # the key is known from here on
    key.log.clear()
    logged = run_hwotp("code", env={**env, "HWOTP_DEBUG": "1"})
    assert logged.returncode == 0, logged.stderr
    assert "key cache hit" in logged.stderr
    assert apdus_logged(logged.stderr) == apdus_logged(logged.stderr, "oathwire")
    assert apdus_logged(logged.stderr) == apdus_seen(key)
    quiet = run_hwotp("code", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_wrong_oath_password_logs_6a80_and_neither_password_nor_key(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    key = rig.keys[0]
    put(key, "alice", "GitHub")
    oath = session(key)
    right_key, wrong_key = oath.derive_key(OATH_PASSWORD), oath.derive_key(WRONG_OATH_PASSWORD)
    setting = ok(hwotp("--debug", "key", "password", "set",
                       env={"HWOTP_NEW_OATH_PASSWORD": OATH_PASSWORD}))
    assert (0x03, 0x00, 0x9000) in apdus_logged(setting.stderr)  # SET_CODE carries the key
    wrong = hwotp("--debug", "code", "--password", WRONG_OATH_PASSWORD)
    assert failed(wrong, ExitCode.WRONG_PASSPHRASE)
    assert (0xA3, 0x00, 0x6A80) in apdus_logged(wrong.stderr)  # VALIDATE refused, as keys do
    assert "OATH password attempt 1 of 3 refused" in wrong.stderr
    right = ok(hwotp("--debug", "code", "--password", OATH_PASSWORD))
    assert (0xA3, 0x00, 0x9000) in apdus_logged(right.stderr)
    assert "OATH unlocked with a password" in right.stderr
    for run in (setting, wrong, right):
        assert_none_in(run.stderr, OATH_PASSWORD, WRONG_OATH_PASSWORD, *spellings(right_key),
                       *spellings(wrong_key), *secret_forms(SECRET), codes=(totp(),))


def test_a_touch_not_given_is_6982_in_the_log(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.2))
    put(rig.keys[0], "bob", "Mail", touch=True)
    result = hwotp("--debug", "code", "mail")
    assert failed(result, ExitCode.TOUCH_TIMEOUT)
    assert apdus_logged(result.stderr)[-1] == (0xA2, 0x00, 0x6982)  # CALCULATE
    assert "OATH CALCULATE: CLA 00 INS A2" in result.stderr
    assert "(security status not satisfied)" in result.stderr


def test_an_unexpected_key_error_is_one_sentence_with_the_traceback_in_the_log(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    rig.keys[0].faults.statuses[0x01] = 0x6A80  # PUT: "wrong data", which hwotp does not expect
    debugged = hwotp("--debug", "enroll", "--uri", GITHUB, "--no-touch")
    assert debugged.exit_code == ExitCode.FAILURE
    lines = debugged.stderr.splitlines()
    assert lines[-1] == "hwotp: unexpected error (ApduError); the log above shows where"
    errors = [line for line in lines
              if line.startswith("hwotp: ") and not line.startswith("hwotp: warning: ")]
    assert errors == [lines[-1]]  # the one warning is the URI's secret in the shell history
    assert (0x01, 0x00, 0x6A80) in apdus_logged(debugged.stderr)
    assert "ERROR hwotp: unexpected error" in debugged.stderr
    assert "Traceback (most recent call last)" in debugged.stderr
    assert_none_in(debugged.stderr, *secret_forms(SECRET), codes=(totp(),))
    # Without --debug: the sentence alone, which says how to see more.
    plain = hwotp("enroll", "--uri", GITHUB, "--no-touch")
    assert plain.exit_code == ExitCode.FAILURE
    assert plain.stderr.splitlines()[-1] == (
        "hwotp: unexpected error (ApduError); run with --debug (or HWOTP_DEBUG=1) to see where"
    )
    assert "Traceback" not in plain.stderr
    assert not log_lines(plain.stderr)


def test_the_libraries_log_at_debug_but_never_their_traffic(plug_keys, hwotp, healthy_host):
    """ykman's connection, which doctor uses, logs every APDU with its data at TRAFFIC (5)."""
    plug_keys(KeyConfig(serial=ONE))
    result = hwotp("--debug", "doctor")
    # The key was read through ykman's connection, whose TRAFFIC lines would carry the data.
    assert "DEBUG yubikit.support: Read info: " in result.stderr, result.everything
    assert "using ScardSmartCardConnection" in result.stderr
    for traffic in ("SEND:", "RECV:", "TRAFFIC", "Level 5"):
        assert traffic not in result.stderr


def test_debugging_leaves_the_libraries_traffic_off_whatever_the_root_level(monkeypatch):
    from hwotp.cli import debug

    root = logging.getLogger()
    monkeypatch.setattr(root, "level", 1)  # a host that logs everything
    debug.enable()
    try:
        for name in ("yubikit.core.smartcard", "ykman.pcsc", "fido2.hid", "fido2.pcsc"):
            assert logging.getLogger(name).isEnabledFor(logging.DEBUG)
            assert not logging.getLogger(name).isEnabledFor(5), name
    finally:
        debug.disable()
    assert not logging.getLogger("hwotp").handlers


# --- the vault --------------------------------------------------------------------------------


def test_the_vault_logs_slots_kdf_writes_and_no_secret(hwotp, vault_path):
    from hwotp.vault import Vault

    created = ok(hwotp("--debug", "enroll", "--uri", GITHUB, "--in-vault"))
    assert re.search(r"DEBUG hwotp\.vault: new key slot [0-9a-f]{8}: scrypt n=2\^17 r=8 p=1, "
                     r"\d+\.\d\d s", created.stderr)
    assert "and synced the folder" in created.stderr
    written = ok(hwotp("--debug", "enroll", "--uri", SLOW, "--in-vault"))
    assert re.search(r"opening .*vault\.hwotp: 1 key slots \([0-9a-f]{8} scrypt\)", written.stderr)
    assert re.search(r"key slot [0-9a-f]{8}: scrypt n=2\^17 r=8 p=1, \d+\.\d\d s", written.stderr)
    assert re.search(r"writing .*: 2 credentials, 1 key slots, \d+ bytes \(was \d+\)",
                     written.stderr)
    assert "as the backup" in written.stderr and "locked " in written.stderr
    listed = ok(hwotp("--debug", "code"))
    assert "payload decrypted: 2 credentials" in listed.stderr
    refused = hwotp("--debug", "code", passphrase=WRONG_PASSPHRASE)
    assert failed(refused, ExitCode.WRONG_PASSPHRASE) == "hwotp: wrong passphrase"
    assert "no key slot opened with that passphrase" in refused.stderr
    master_key = Vault.unlock(vault_path, PASSPHRASE)._master_key
    codes = (totp(), totp(SECRET_B, interval=60, digits=8))
    for run in (created, written, listed, refused):
        assert_none_in(run.stderr, PASSPHRASE, WRONG_PASSPHRASE, *spellings(master_key),
                       *secret_forms(SECRET), *secret_forms(SECRET_B), codes=codes)


def test_a_wait_for_the_vault_lock_is_logged(hwotp, vault_path):
    from hwotp.vault import file

    ok(hwotp("enroll", "--uri", GITHUB, "--in-vault"))
    held, waited = threading.Event(), threading.Event()

    class Waiting(logging.Handler):  # tells the holder that hwotp is waiting, then it lets go
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for "):
                waited.set()

    def hold() -> None:
        with file.exclusive_lock(vault_path):
            held.set()
            waited.wait(timeout=30)

    watcher = Waiting()
    logging.getLogger("hwotp.vault.file").addHandler(watcher)
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(timeout=30)
        result = ok(hwotp("--debug", "enroll", "--uri", SLOW, "--in-vault"))
    finally:
        waited.set()
        holder.join()
        logging.getLogger("hwotp.vault.file").removeHandler(watcher)
    lock = f"{os.path.realpath(vault_path)}.lock"  # the vault follows links
    assert f"waiting for {lock}: another process holds it" in result.stderr
    assert re.search(rf"locked {re.escape(lock)} after \d+\.\d{{3}} s", result.stderr)


# --- on and off -------------------------------------------------------------------------------


def test_without_debug_nothing_is_logged_even_after_a_debug_run(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "GitHub")
    assert log_lines(ok(hwotp("--debug", "code")).stderr)
    for run in (hwotp("code"), hwotp("enroll", "--uri", SLOW, "--in-vault"),
                hwotp("code", env={"HWOTP_DEBUG": "0"}), hwotp("code", env={"HWOTP_DEBUG": ""})):
        assert not log_lines(ok(run).stderr), run.stderr
    assert not logging.getLogger("hwotp").handlers
    assert not logging.getLogger("yubikit").handlers


def test_hwotp_debug_in_the_environment_turns_the_log_on(plug_keys, hwotp):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "GitHub")
    result = ok(hwotp("code", env={"HWOTP_DEBUG": "1"}))
    assert (0xA4, 0x04, 0x9000) in apdus_logged(result.stderr)
    assert totp() in result.stdout


def test_debug_words_that_mean_off_are_off(plug_keys, hwotp) -> None:
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "alice", "GitHub")
    for off in ("false", "no", "OFF", " 0 "):
        assert not log_lines(ok(hwotp("code", env={"HWOTP_DEBUG": off})).stderr), off
    assert log_lines(ok(hwotp("code", env={"HWOTP_DEBUG": "yes"})).stderr)
