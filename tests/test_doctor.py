"""`hwotp doctor`: the judgements on their own, then the command against real virtual keys
through a private pcscd, in-process and as a process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import keyring.backend
import pytest

from helpers.processes import run_hwotp, run_in_python
from hwotp.cli.doctor import doctor_fields, doctor_lines, summary
from hwotp.usecases import doctor
from hwotp.usecases.doctor import Check, KeyReading
from virtualkey.key import KeyConfig

TESTS = Path(__file__).parent
OUR_RULES = TESTS.parent / "udev" / "70-hwotp-security-keys.rules"
YUBIKEY_READER = "Yubico YubiKey OTP+FIDO+CCID 00 00"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that works, for the processes told to use it through PYTHON_KEYRING_BACKEND."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


def by_name(checks: list[dict]) -> dict[str, list[dict]]:
    named: dict[str, list[dict]] = {}
    for check in checks:
        named.setdefault(check["name"], []).append(check)
    return named


# ---- the clock ----


@pytest.mark.parametrize(
    ("state", "status", "maxerror", "ok"),
    [
        (0, 0x2001, 250_000, True),  # TIME_OK, PLL and nanosecond mode, within 250 ms
        (0, 0x2041, 250_000, False),  # STA_UNSYNC set
        (5, 0x0001, 250_000, False),  # TIME_ERROR
        (0, 0x0001, 16_000_000, False),  # the error bound has hit the kernel's ceiling
        (1, 0x0011, 1_000, True),  # a leap second about to be inserted is still in sync
    ],
)
def test_kernel_clock_status_is_read_from_the_unsync_bit(state, status, maxerror, ok) -> None:
    check = doctor.clock_from_timex(state, status, maxerror)
    assert check.ok is ok
    assert (check.fix is None) is ok
    if ok:
        assert "ms" in check.detail


def test_timedatectl_answers_are_judged() -> None:
    assert doctor.clock_from_timedatectl("yes\n").ok is True
    refused = doctor.clock_from_timedatectl("no\n")
    assert refused.ok is False and "timedatectl set-ntp true" in (refused.fix or "")
    assert doctor.clock_from_timedatectl("maybe").ok is None


def test_clock_falls_back_from_timedatectl_to_adjtimex_then_unknown(monkeypatch) -> None:
    monkeypatch.setattr(doctor, "read_timedatectl", lambda: "no\n")
    monkeypatch.setattr(doctor, "read_timex", lambda: (0, 0x2001, 1000))
    assert doctor.clock_check().ok is False  # timedatectl, when it answers, is asked first
    monkeypatch.setattr(doctor, "read_timedatectl", lambda: None)
    assert doctor.clock_check().detail == "synchronised, within 1 ms (kernel)"
    monkeypatch.setattr(doctor, "read_timex", lambda: None)
    assert doctor.clock_check().ok is None


def test_adjtimex_is_read_with_the_kernel_layout() -> None:
    # A misplaced field would show as nonsense: maxerror is at most 16 s, state at most 5.
    state, status, maxerror = doctor.read_timex()  # type: ignore[misc]
    assert 0 <= state <= 5
    assert 0 <= maxerror <= doctor.NTP_PHASE_LIMIT_US
    assert status & ~0xFFFF == 0


# ---- udev rules ----

LIBU2F_STYLE = (
    '# U2F keys\nKERNEL=="hidraw*", SUBSYSTEM=="hidraw", ATTRS{idVendor}=="1050", '
    'ATTRS{idProduct}=="0113|0114|0120|0407", TAG+="uaccess", GROUP="plugdev", MODE="0660"\n'
)
FIDO_ID = 'SUBSYSTEM=="hidraw", IMPORT{program}="fido_id"\n'
UACCESS = '# authentication devices\nENV{ID_SECURITY_TOKEN}=="?*", TAG+="uaccess"\n'


@pytest.mark.parametrize(
    ("files", "granting"),
    [
        ({OUR_RULES.name: OUR_RULES.read_text()}, [OUR_RULES.name]),
        ({"70-u2f.rules": LIBU2F_STYLE}, ["70-u2f.rules"]),
        (
            {"60-fido-id.rules": FIDO_ID, "70-uaccess.rules": UACCESS},
            ["60-fido-id.rules", "70-uaccess.rules"],
        ),
        ({"70-uaccess.rules": UACCESS}, []),  # nothing marks keys as security tokens
        ({"60-fido-id.rules": FIDO_ID}, []),  # marked, but nobody tags them
        ({"70-u2f.rules": "#" + LIBU2F_STYLE.splitlines()[1]}, []),  # commented out
        ({"70-u2f.rules": LIBU2F_STYLE.replace('TAG+="uaccess", ', "")}, []),  # plugdev only
        ({"70-u2f.rules": LIBU2F_STYLE.replace("1050", "20a0")}, []),  # another maker
        ({"70-x.rules": 'ATTRS{idVendor}=="20a0|1050", \\\n  TAG+="uaccess"\n'}, ["70-x.rules"]),
    ],
)
def test_rule_files_that_count(files: dict[str, str], granting: list[str]) -> None:
    assert doctor.rules_granting_key_access(files) == granting
    check = doctor.udev_rules_check(files)
    assert check.ok is bool(granting)
    assert (check.fix is None) is bool(granting)


def test_a_rules_file_in_etc_hides_the_packaged_one(tmp_path: Path) -> None:
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    etc.mkdir()
    lib.mkdir()
    (lib / "70-u2f.rules").write_text(LIBU2F_STYLE)
    (lib / "99-other.rules").write_text("")
    assert doctor.udev_rules_check(doctor.read_udev_rules((etc, lib))).ok is True
    (etc / "70-u2f.rules").symlink_to(os.devnull)  # how a packaged rule is switched off
    files = doctor.read_udev_rules((etc, lib, tmp_path / "missing"))
    assert files == {"70-u2f.rules": "", "99-other.rules": ""}
    assert doctor.udev_rules_check(files).ok is False


# ---- readers and keys ----


@pytest.mark.parametrize(
    ("reader", "yubikey"),
    [
        ("Yubico YubiKey OTP+FIDO+CCID 00 00", True),
        ("Yubico Yubikey NEO OTP+U2F+CCID 01 00", True),
        ("YUBICO YUBIKEY CCID", True),
        ("Yubico Security Key", False),  # FIDO only: it has no smart-card interface to read
        ("ACS ACR122U PICC Interface 00 00", False),
        ("Alcor Micro AU9540 00 00", False),
    ],
)
def test_reader_names_are_classified_as_ykman_does(reader: str, yubikey: bool) -> None:
    assert doctor.looks_like_yubikey(reader) is yubikey
    detail = doctor.readers_check([reader]).detail
    assert detail.endswith("(YubiKey)" if yubikey else "(not a YubiKey)")


def test_no_reader_is_not_a_problem_but_says_what_to_do() -> None:
    check = doctor.readers_check([])
    assert check.ok is None and "plug in" in (check.fix or "")


@pytest.mark.parametrize(
    ("reading", "ok", "in_detail", "in_fix"),
    [
        (KeyReading(YUBIKEY_READER, "YubiKey 5C", 7, "5.4.3", True), True, "serial 7", None),
        (KeyReading(YUBIKEY_READER, "YubiKey 5C", None, "5.4.3"), True, "serial hidden", None),
        (KeyReading(YUBIKEY_READER, error="busy"), False, "cannot be opened", "gpgconf --kill"),
        (KeyReading(YUBIKEY_READER, error="no card"), False, "no key answers", "plug it in"),
        (KeyReading(YUBIKEY_READER, error="ApduError"), False, "(ApduError)", "plug it in"),
        (KeyReading(YUBIKEY_READER, "YubiKey 5C", 7, "5.4.3", False), False, "OATH", "--enable"),
    ],
)
def test_key_readings(reading: KeyReading, ok: bool, in_detail: str, in_fix: str | None) -> None:
    check = doctor.key_check(reading)
    assert check.ok is ok
    assert in_detail in check.detail and YUBIKEY_READER in check.detail
    assert check.fix is None if in_fix is None else in_fix in (check.fix or "")


# ---- libzbar, keyring, and a check that breaks ----


def test_libzbar_found_or_not() -> None:
    assert doctor.zbar_from_library("libzbar.so.0").ok is True
    missing = doctor.zbar_from_library(None)
    assert missing.ok is False and "libzbar0" in (missing.fix or "")


@pytest.mark.parametrize(
    ("backends", "ok"),
    [
        (["keyring.backends.SecretService.Keyring"], True),
        (["keyring.backends.fail.Keyring"], False),
        (["keyring.backends.null.Keyring"], False),
        ([], False),  # a chainer with nothing to chain
        (["keyring.backends.null.Keyring", "keyring.backends.kwallet.DBusKeyring"], True),
    ],
)
def test_keyring_backends(backends: list[str], ok: bool) -> None:
    check = doctor.keyring_from_backends(backends)
    assert check.ok is ok
    assert (check.fix is None) is ok


def test_a_check_that_breaks_is_unknown_and_shows_no_text(monkeypatch) -> None:
    def broken() -> dict[str, str]:
        raise PermissionError("/etc/udev/rules.d/secret-name.rules")

    monkeypatch.setattr(doctor, "read_udev_rules", broken)
    udev = [check for check in doctor.run_checks() if check.name == "udev rules"]
    assert udev == [Check("udev rules", None, "could not check (PermissionError)")]


# ---- output ----

SAMPLE = [
    Check("pcscd", True, "reachable"),
    Check("readers", None, "none", "plug in your YubiKey"),
    Check("clock", False, "not synchronised", "sudo timedatectl set-ntp true"),
    Check("libzbar", True, "found", "never shown"),
]


def test_lines_put_each_fix_under_its_check() -> None:
    assert doctor_lines(SAMPLE) == [
        "OK       pcscd: reachable",
        "UNKNOWN  readers: none",
        "         fix: plug in your YubiKey",
        "PROBLEM  clock: not synchronised",
        "         fix: sudo timedatectl set-ntp true",
        "OK       libzbar: found",
    ]
    assert summary(0) == "No problems found."
    assert summary(2).startswith("2 problems found")


def test_json_shape() -> None:
    fields = doctor_fields(SAMPLE)
    assert fields["ok"] is False
    assert fields["checks"][1] == {
        "name": "readers",
        "status": "unknown",
        "ok": None,
        "detail": "none",
        "fix": "plug in your YubiKey",
    }
    assert [check["status"] for check in fields["checks"]] == ["ok", "unknown", "problem", "ok"]
    assert doctor_fields(SAMPLE[:2])["ok"] is True  # unknown is not a problem
    json.dumps(fields)


# ---- the command, against virtual keys ----


def test_without_pcscd_doctor_says_so_and_how_to_fix_it(hwotp, healthy_host) -> None:
    result = hwotp("doctor")
    assert result.exit_code == 16, result.everything
    lines = result.stdout.splitlines()
    pcscd = lines.index(next(line for line in lines if line.startswith("PROBLEM  pcscd:")))
    assert "not reachable" in lines[pcscd]
    assert lines[pcscd + 1].strip() == f"fix: {doctor.PCSCD_FIX}"
    assert "UNKNOWN  readers: not checked" in result.stdout
    assert "1 problem found" in result.stderr
    assert "Traceback" not in result.everything


def test_one_key_is_listed_with_serial_and_firmware(hwotp, plug_keys, healthy_host) -> None:
    plug_keys(KeyConfig(serial=12345678))
    result = hwotp("doctor", "--json")
    assert result.exit_code == 0, result.everything
    report = json.loads(result.stdout)
    checks = by_name(report["checks"])
    assert report["ok"] is True
    assert checks["pcscd"][0]["status"] == "ok"
    assert checks["readers"][0]["detail"] == f"1: {YUBIKEY_READER} (YubiKey)"
    [key] = checks["key"]
    assert key["status"] == "ok"
    assert "serial 12345678, firmware 5.7.2" in key["detail"]
    assert [name for name in checks] == [
        "pcscd",
        "readers",
        "key",
        "udev rules",
        "clock",
        "libzbar",
        "keyring",
    ]


def test_after_the_keys_and_pcscd_are_gone_doctor_says_so(hwotp, plug_keys, healthy_host) -> None:
    rig = plug_keys(KeyConfig(serial=12345678))
    assert "serial 12345678" in hwotp("doctor").stdout
    rig.stop()
    result = hwotp("doctor")
    assert result.exit_code == 16
    assert "PROBLEM  pcscd: not reachable" in result.stdout
    assert "serial 12345678" not in result.stdout
    assert "Traceback" not in result.everything


# As a user runs it: the installed script, with this machine's own udev rules, clock and keyring.


def hwotp_doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return run_hwotp("doctor", *args, env={**os.environ, "PYTHONPATH": path, **env})


def test_two_keys_as_a_process(plug_keys) -> None:
    plug_keys(KeyConfig(serial=11111111), KeyConfig(serial=22222222, firmware=(5, 4, 3)))
    result = hwotp_doctor()
    keys = [line for line in result.stdout.splitlines() if line.startswith("OK       key:")]
    assert len(keys) == 2, result.stdout + result.stderr
    assert any("serial 11111111, firmware 5.7.2" in line for line in keys)
    assert any("serial 22222222, firmware 5.4.3" in line for line in keys)
    assert "OK       readers: 2:" in result.stdout
    assert result.returncode == (16 if "PROBLEM" in result.stdout else 0)
    assert "Traceback" not in result.stderr


def test_a_key_held_exclusively_is_a_problem_with_a_fix(plug_keys) -> None:
    from smartcard.scard import SCARD_SHARE_EXCLUSIVE
    from smartcard.System import readers

    plug_keys(KeyConfig(serial=12345678))
    [reader] = readers()
    holder = reader.createConnection()
    holder.connect(mode=SCARD_SHARE_EXCLUSIVE)  # as gpg's scdaemon does
    try:
        result = hwotp_doctor("--json")
    finally:
        holder.disconnect()
        holder.release()
    [key] = by_name(json.loads(result.stdout)["checks"])["key"]
    assert key["status"] == "problem", key
    assert "cannot be opened" in key["detail"]
    assert "gpgconf --kill scdaemon" in key["fix"]
    assert result.returncode == 16
    # and once it is let go, the key reads again
    [key] = by_name(json.loads(hwotp_doctor("--json").stdout)["checks"])["key"]
    assert key["status"] == "ok"


@pytest.mark.parametrize(
    ("backend", "status"),
    [
        ("keyring.backends.null.Keyring", "problem"),
        ("keyring.backends.fail.Keyring", "problem"),
        ("test_doctor.MemoryKeyring", "ok"),
    ],
)
def test_keyring_backend_as_keyring_chooses_it(backend: str, status: str) -> None:
    result = hwotp_doctor("--json", PYTHON_KEYRING_BACKEND=backend)
    [check] = by_name(json.loads(result.stdout)["checks"])["keyring"]
    assert check["status"] == status, check
    assert result.returncode == 16  # pcscd is not running: always a problem here


def test_help_loads_none_of_the_doctors_modules() -> None:
    probe = (
        "import sys\n"
        "from hwotp.cli import main\n"
        "sys.argv = ['hwotp', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('hwotp.usecases.doctor', 'smartcard', 'keyring', 'ykman', 'ctypes')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    result = run_in_python(probe)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr
    assert "doctor" in result.stdout
