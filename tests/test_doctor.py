"""`hwotp doctor`: the judgements on their own, then the command against real virtual keys
through a private pcscd, in-process and as a process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import keyring.backend
import pytest

from helpers.keys import ONE, TWO
from helpers.processes import run_hwotp, run_in_python
from hwotp.cli.commands.doctor import doctor_fields, doctor_lines, summary
from hwotp.usecases import doctor
from hwotp.usecases.doctor import Check, KeyReading, Offset, Status, Sync, VaultReading
from hwotp.vault import Vault
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


@pytest.fixture
def keys_used(key_cache: Path) -> None:
    """The cache remembers a key, as after any command that read one."""
    key_cache.mkdir(exist_ok=True)
    entry = {"serial": 7, "firmware": [5, 7, 2], "form_factor": "USB-A"}
    (key_cache / "keys.json").write_text(json.dumps({"a1b2c3d4": entry}))


def by_name(checks: list[dict]) -> dict[str, list[dict]]:
    named: dict[str, list[dict]] = {}
    for check in checks:
        named.setdefault(check["name"], []).append(check)
    return named


# ---- the clock ----


@pytest.mark.parametrize(
    ("state", "status", "maxerror", "synchronised"),
    [
        (0, 0x2001, 250_000, True),  # TIME_OK, PLL and nanosecond mode, within 250 ms
        (0, 0x2041, 250_000, False),  # STA_UNSYNC set
        (5, 0x0001, 250_000, False),  # TIME_ERROR
        (0, 0x0001, 16_000_000, False),  # the error bound has hit the kernel's ceiling
        (1, 0x0011, 1_000, True),  # a leap second about to be inserted is still in sync
    ],
)
def test_kernel_clock_status_is_read_from_the_unsync_bit(
    state, status, maxerror, synchronised
) -> None:
    sync = doctor.sync_from_timex(state, status, maxerror)
    assert sync.synchronised is synchronised
    check = doctor.judge_clock(sync, None)
    assert check.status == (Status.OK if synchronised else Status.PROBLEM)
    assert (check.fix is None) is synchronised
    if synchronised:
        assert "ms (the kernel)" in check.detail


def test_timedatectl_answers_are_read() -> None:
    assert doctor.sync_from_timedatectl("yes\n") == Sync(True, "timedatectl")
    assert doctor.sync_from_timedatectl("no\n") == Sync(False, "timedatectl")
    assert doctor.sync_from_timedatectl("maybe") is None  # then the kernel is asked


TIMESYNC_STATUS = """\
       Server: 192.0.2.10 (ntp.example.org)
Poll interval: 34min 8s (min: 32s; max 34min 8s)
         Leap: normal
      Version: 4
      Stratum: 2
    Reference: C0000201
    Precision: 1us (-25)
Root distance: 24.011ms (max: 5s)
       Offset: {offset}
        Delay: 11.537ms
       Jitter: 2.106ms
 Packet count: 164
    Frequency: +9.262ppm
"""

CHRONY_TRACKING = """\
Reference ID    : C0000201 (192.0.2.1)
Stratum         : 3
Ref time (UTC)  : Tue Dec 01 04:40:12 2026
System time     : {seconds} seconds {direction} of NTP time
Last offset     : +0.000081254 seconds
RMS offset      : 0.000124610 seconds
Frequency       : 9.262 ppm fast
Leap status     : Normal
"""


@pytest.mark.parametrize(
    ("offset", "seconds"),
    [
        ("+1.234ms", 0.001234),
        ("-385us", 0.000385),
        ("-7.002s", 7.002),
        ("+1min 3.5s", 63.5),
        ("+2h 1min", 7260.0),
    ],
)
def test_timesync_status_offsets_are_read_in_systemds_time_spans(offset, seconds) -> None:
    read = doctor.offset_from_timesync_status(TIMESYNC_STATUS.format(offset=offset))
    assert read is not None
    assert read.seconds == pytest.approx(seconds)
    assert read.source == "timedatectl timesync-status"


def test_timesync_status_without_an_offset_tells_nothing() -> None:
    before_first_sync = "\n".join(
        line for line in TIMESYNC_STATUS.splitlines() if "Offset" not in line
    )
    assert doctor.offset_from_timesync_status(before_first_sync) is None
    assert doctor.offset_from_timesync_status(TIMESYNC_STATUS.format(offset="n/a")) is None


def test_chrony_tracking_says_fast_or_slow() -> None:
    text = CHRONY_TRACKING.format(seconds="7.250000000", direction="slow")
    assert doctor.offset_from_chrony_tracking(text) == Offset(7.25, "chronyc tracking", "slow")
    assert doctor.offset_from_chrony_tracking("506 Cannot talk to daemon\n") is None


SYNCED = Sync(True, "timedatectl")
UNSYNCED = Sync(False, "the kernel")


@pytest.mark.parametrize(
    ("sync", "offset", "status", "in_detail"),
    [
        (SYNCED, None, Status.OK, "synchronised (timedatectl)"),
        (SYNCED, Offset(0.004, "chronyc tracking", "fast"), Status.OK, "4 ms fast"),
        (SYNCED, Offset(5.0, "chronyc tracking", "fast"), Status.OK, "5.0 s fast"),
        (SYNCED, Offset(5.2, "chronyc tracking", "slow"), Status.WARNING, "5.2 s slow"),
        (SYNCED, Offset(15.0, "timedatectl timesync-status"), Status.WARNING, "off by 15.0 s"),
        (SYNCED, Offset(15.1, "chronyc tracking", "fast"), Status.PROBLEM, "will be refused"),
        (None, Offset(20.0, "chronyc tracking", "fast"), Status.PROBLEM, "20.0 s fast"),
        (None, Offset(0.5, "chronyc tracking", "fast"), Status.OK, "500 ms fast"),
        (UNSYNCED, None, Status.PROBLEM, "not synchronised, says the kernel"),
        (UNSYNCED, Offset(0.01, "chronyc tracking", "slow"), Status.WARNING, "nothing keeps"),
        (UNSYNCED, Offset(30.0, "chronyc tracking", "slow"), Status.PROBLEM, "30.0 s slow"),
        (None, None, Status.UNKNOWN, "could tell"),
    ],
)
def test_clock_judgement(sync, offset, status, in_detail) -> None:
    check = doctor.judge_clock(sync, offset)
    assert check.status == status, check
    assert in_detail in check.detail
    assert (check.fix is None) is (status == Status.OK)
    if status == Status.PROBLEM and sync is not None and not sync.synchronised:
        assert "set-ntp true" in (check.fix or "")
    elif status == Status.PROBLEM and offset is not None:
        assert "makestep" in (check.fix or "")


def test_clock_readings_fall_back_source_by_source(monkeypatch) -> None:
    chrony = CHRONY_TRACKING.format(seconds="6.000000000", direction="fast")
    monkeypatch.setattr(doctor, "read_timedatectl", lambda: "no\n")
    monkeypatch.setattr(doctor, "read_timex", lambda: (0, 0x2001, 1000))
    monkeypatch.setattr(doctor, "read_timesync_status", lambda: None)
    monkeypatch.setattr(doctor, "read_chrony_tracking", lambda: chrony)
    # timedatectl, when it answers, is asked before the kernel; chronyd after timesyncd
    assert doctor.sync_reading() == Sync(False, "timedatectl")
    assert doctor.offset_reading() == Offset(6.0, "chronyc tracking", "fast")
    assert doctor.clock_check().status == Status.WARNING
    monkeypatch.setattr(
        doctor, "read_timesync_status", lambda: TIMESYNC_STATUS.format(offset="+2ms")
    )
    assert doctor.offset_reading() == Offset(0.002, "timedatectl timesync-status")
    monkeypatch.setattr(doctor, "read_timedatectl", lambda: None)
    monkeypatch.setattr(doctor, "read_timesync_status", lambda: None)
    monkeypatch.setattr(doctor, "read_chrony_tracking", lambda: None)
    assert doctor.clock_check().detail == "synchronised, within 1 ms (the kernel)"
    monkeypatch.setattr(doctor, "read_timex", lambda: None)
    assert doctor.clock_check().status == Status.UNKNOWN


def test_the_clock_tools_are_asked_locally_only() -> None:
    # chronyc's -h would name another host; -n keeps it from resolving the server's address.
    assert doctor.CHRONY_TRACKING == ("chronyc", "-n", "tracking")
    assert "-H" not in doctor.TIMESYNC_STATUS and "--host" not in " ".join(doctor.TIMESYNC_STATUS)


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
    # optional (FIDO2 over USB only): never a problem
    assert check.status == (Status.OK if granting else Status.NOTE)
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
    assert doctor.udev_rules_check(files).status == Status.NOTE


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
    assert check.status == Status.UNKNOWN and "plug in" in (check.fix or "")
    assert doctor.readers_check([], keys_seen=False).status == Status.NOTE


def test_pcscd_is_required_once_keys_are_used_here() -> None:
    [pcscd, readers] = doctor.pcscd_unreachable_checks("no socket", keys_seen=True)
    assert pcscd.status == Status.PROBLEM and pcscd.fix == doctor.PCSCD_FIX
    assert readers.status == Status.UNKNOWN
    [pcscd, _] = doctor.pcscd_unreachable_checks("no socket", keys_seen=False)
    assert pcscd.status == Status.NOTE and "none has been used here" in pcscd.detail
    assert pcscd.fix == doctor.PCSCD_FIX


def test_a_key_in_the_cache_means_keys_are_used(key_cache: Path) -> None:
    assert doctor.keys_seen_before() is False  # no cache at all
    key_cache.mkdir()
    (key_cache / "keys.json").write_text("{}")
    assert doctor.keys_seen_before() is False
    (key_cache / "keys.json").write_text("not json")
    assert doctor.keys_seen_before() is False
    (key_cache / "keys.json").write_text('{"a1b2c3d4": {"serial": 7}}')
    assert doctor.keys_seen_before() is True


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
    ("backends", "usable"),
    [
        (["keyring.backends.SecretService.Keyring"], True),
        (["keyring.backends.fail.Keyring"], False),
        (["keyring.backends.null.Keyring"], False),
        ([], False),  # a chainer with nothing to chain
        (["keyring.backends.null.Keyring", "keyring.backends.kwallet.DBusKeyring"], True),
    ],
)
def test_keyring_backends(backends: list[str], usable: bool) -> None:
    check = doctor.keyring_from_backends(backends)
    # optional (only --remember needs one): never a problem
    assert check.status == (Status.OK if usable else Status.NOTE)
    assert (check.fix is None) is usable


def test_a_check_that_breaks_is_unknown_and_shows_no_text(monkeypatch) -> None:
    def broken() -> dict[str, str]:
        raise PermissionError("/etc/udev/rules.d/secret-name.rules")

    monkeypatch.setattr(doctor, "read_udev_rules", broken)
    udev = [check for check in doctor.run_checks(Path("v")) if check.name == "udev rules"]
    assert udev == [Check("udev rules", Status.UNKNOWN, "could not check (PermissionError)")]


# ---- the vault and its backup ----


def damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def vault_report(hwotp, *args: str) -> tuple[int, dict[str, dict]]:
    result = hwotp(*args, "doctor", "--json", passphrase=None)
    checks = by_name(json.loads(result.stdout)["checks"])
    return result.exit_code, {name: found[0] for name, found in checks.items()}


def test_a_vault_opens_without_its_passphrase(hwotp, vault_path: Path, healthy_host) -> None:
    Vault.create(vault_path, "pw")
    code, checks = vault_report(hwotp)
    assert checks["vault"]["status"] == "ok", checks["vault"]
    assert checks["vault"]["detail"] == f"header and checksum intact, 1 key slot ({vault_path})"
    assert checks["vault backup"]["status"] == "note"  # a new vault has no backup yet
    assert code == 0
    Vault.unlock(vault_path, "pw").add_passphrase("second")  # a change keeps a backup
    code, checks = vault_report(hwotp)
    assert "2 key slots" in checks["vault"]["detail"]
    assert checks["vault backup"]["detail"].startswith("header and checksum intact, 1 key slot")
    assert checks["vault backup"]["status"] == "ok" and code == 0


def test_a_damaged_vault_is_a_problem_whose_fix_restores_the_backup(
    hwotp, vault_path: Path, healthy_host
) -> None:
    Vault.create(vault_path, "pw")
    Vault.unlock(vault_path, "pw").add_passphrase("second")
    damage(vault_path)
    backup = vault_path.with_name(vault_path.name + ".bak")
    code, checks = vault_report(hwotp)
    assert code == 16
    vault = checks["vault"]
    assert vault["status"] == "problem" and "damaged or was modified" in vault["detail"]
    assert f"cp {backup} {vault_path}" in vault["fix"]
    assert checks["vault backup"]["status"] == "ok"
    damage(backup)
    code, checks = vault_report(hwotp)
    assert "does not open either" in checks["vault"]["fix"]
    assert checks["vault backup"]["status"] == "warning"
    assert code == 16


def test_a_damaged_backup_beside_a_good_vault_is_a_warning(
    hwotp, vault_path: Path, healthy_host
) -> None:
    Vault.create(vault_path, "pw")
    Vault.unlock(vault_path, "pw").add_passphrase("second")
    damage(vault_path.with_name(vault_path.name + ".bak"))
    result = hwotp("doctor", passphrase=None)
    assert result.exit_code == 0, result.everything
    assert "WARNING  vault backup: the vault file is damaged or was modified" in result.stdout
    assert "No problems found, 1 warning" in result.stderr


def test_doctor_looks_at_the_vault_named_by_option_or_variable(
    hwotp, tmp_path: Path, healthy_host
) -> None:
    other = tmp_path / "other.hwotp"
    Vault.create(other, "pw")
    _, checks = vault_report(hwotp)
    assert checks["vault"]["status"] == "note" and "vault backup" not in checks
    _, checks = vault_report(hwotp, "--vault", str(other))
    assert checks["vault"]["detail"].endswith(f"({other})")
    result = hwotp("doctor", env={"HWOTP_VAULT": str(other)})
    assert f"OK       vault: header and checksum intact, 1 key slot ({other})" in result.stdout


@pytest.mark.parametrize(
    ("vault", "backup", "status", "backup_status"),
    [
        (VaultReading(Path("v"), slots=2), VaultReading(Path("v.bak"), slots=1), "OK", "OK"),
        (
            VaultReading(Path("v"), missing=True),
            VaultReading(Path("v.bak"), missing=True),
            "NOTE",
            "NOTE",
        ),
        (
            VaultReading(Path("v"), unreadable="cannot read the vault v: Permission denied"),
            VaultReading(
                Path("v.bak"), unreadable="cannot read the vault v.bak: Permission denied"
            ),
            "PROBLEM",
            "WARNING",
        ),
        (
            VaultReading(Path("v"), damage="the vault file is damaged or was modified"),
            VaultReading(Path("v.bak"), damage="the vault file is damaged or was modified"),
            "PROBLEM",
            "WARNING",
        ),
    ],
)
def test_vault_judgements(vault, backup, status, backup_status) -> None:
    assert doctor.vault_check(vault, backup).status == status
    assert doctor.backup_check(backup).status == backup_status


# ---- output ----

SAMPLE = [
    Check("pcscd", Status.OK, "reachable"),
    Check("readers", Status.UNKNOWN, "none", "plug in your YubiKey"),
    Check("clock", Status.PROBLEM, "not synchronised", "sudo timedatectl set-ntp true"),
    Check("libzbar", Status.OK, "found", "never shown"),
    Check("keyring", Status.NOTE, "none", "install one"),
    Check("vault backup", Status.WARNING, "damaged"),
]


def test_lines_put_each_fix_under_its_check() -> None:
    assert doctor_lines(SAMPLE) == [
        "OK       pcscd: reachable",
        "UNKNOWN  readers: none",
        "         fix: plug in your YubiKey",
        "PROBLEM  clock: not synchronised",
        "         fix: sudo timedatectl set-ntp true",
        "OK       libzbar: found",
        "NOTE     keyring: none",
        "         fix: install one",
        "WARNING  vault backup: damaged",
    ]
    assert summary(0) == "No problems found."
    assert summary(2).startswith("2 problems found;")
    assert summary(1, 2) == "1 problem found, 2 warnings; see the fixes above."
    assert summary(0, 1) == "No problems found, 1 warning; see the fixes above."


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
    statuses = [check["status"] for check in fields["checks"]]
    assert statuses == ["ok", "unknown", "problem", "ok", "note", "warning"]
    # only a problem is ok: false; the rest do not fail
    assert [check["ok"] for check in fields["checks"]] == [True, None, False, True, None, None]
    assert doctor_fields(SAMPLE[:2] + SAMPLE[3:])["ok"] is True
    json.dumps(fields)


# ---- the command, against virtual keys ----


def test_without_pcscd_doctor_says_so_and_how_to_fix_it(hwotp, healthy_host, keys_used) -> None:
    result = hwotp("doctor")
    assert result.exit_code == 16, result.everything
    lines = result.stdout.splitlines()
    pcscd = lines.index(next(line for line in lines if line.startswith("PROBLEM  pcscd:")))
    assert "not reachable" in lines[pcscd]
    assert lines[pcscd + 1].strip() == f"fix: {doctor.PCSCD_FIX}"
    assert "UNKNOWN  readers: not checked" in result.stdout
    assert "1 problem found" in result.stderr
    assert "Traceback" not in result.everything


def test_a_vault_only_user_on_a_fresh_machine_gets_notes_and_exit_0(hwotp, monkeypatch) -> None:
    # No pcscd, no key ever used, no udev rules, no keyring, no vault yet: nothing is wrong.
    monkeypatch.setattr(doctor, "read_udev_rules", lambda: {})
    monkeypatch.setattr(doctor, "keyring_backends", lambda: ["keyring.backends.fail.Keyring"])
    monkeypatch.setattr(doctor, "clock_check", lambda: Check("clock", Status.OK, "fine"))
    monkeypatch.setattr(doctor, "find_zbar", lambda: "libzbar.so.0")
    result = hwotp("doctor")
    assert result.exit_code == 0, result.everything
    notes = [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith("NOTE")]
    assert notes == ["NOTE     pcscd", "NOTE     udev rules", "NOTE     keyring", "NOTE     vault"]
    assert "PROBLEM" not in result.stdout
    assert "No problems found." in result.stderr


def test_one_key_is_listed_with_serial_and_firmware(hwotp, plug_keys, healthy_host) -> None:
    plug_keys(KeyConfig(serial=ONE))
    result = hwotp("doctor", "--json")
    assert result.exit_code == 0, result.everything
    report = json.loads(result.stdout)
    checks = by_name(report["checks"])
    assert report["ok"] is True
    assert checks["pcscd"][0]["status"] == "ok"
    assert checks["readers"][0]["detail"] == f"1: {YUBIKEY_READER} (YubiKey)"
    [key] = checks["key"]
    assert key["status"] == "ok"
    assert f"serial {ONE}, firmware 5.7.2" in key["detail"]
    assert [name for name in checks] == [
        "pcscd",
        "readers",
        "key",
        "udev rules",
        "clock",
        "libzbar",
        "keyring",
        "vault",
    ]


def test_after_the_keys_and_pcscd_are_gone_doctor_says_so(
    hwotp, plug_keys, healthy_host, keys_used
) -> None:
    rig = plug_keys(KeyConfig(serial=ONE))
    assert f"serial {ONE}" in hwotp("doctor").stdout
    rig.stop()
    result = hwotp("doctor")
    assert result.exit_code == 16
    assert "PROBLEM  pcscd: not reachable" in result.stdout
    assert f"serial {ONE}" not in result.stdout
    assert "Traceback" not in result.everything


# As a user runs it: the installed script, with this machine's own udev rules, clock and keyring.


def hwotp_doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    return run_hwotp("doctor", *args, env={**os.environ, "PYTHONPATH": path, **env})


def test_two_keys_as_a_process(plug_keys) -> None:
    plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO, firmware=(5, 4, 3)))
    result = hwotp_doctor()
    keys = [line for line in result.stdout.splitlines() if line.startswith("OK       key:")]
    assert len(keys) == 2, result.stdout + result.stderr
    assert any(f"serial {ONE}, firmware 5.7.2" in line for line in keys)
    assert any(f"serial {TWO}, firmware 5.4.3" in line for line in keys)
    assert "OK       readers: 2:" in result.stdout
    assert result.returncode == (16 if "PROBLEM" in result.stdout else 0)
    assert "Traceback" not in result.stderr


def test_a_key_held_exclusively_is_a_problem_with_a_fix(plug_keys) -> None:
    from smartcard.scard import SCARD_SHARE_EXCLUSIVE
    from smartcard.System import readers

    plug_keys(KeyConfig(serial=ONE))
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
        ("keyring.backends.null.Keyring", "note"),
        ("keyring.backends.fail.Keyring", "note"),
        ("test_doctor.MemoryKeyring", "ok"),
    ],
)
def test_keyring_backend_as_keyring_chooses_it(backend: str, status: str, keys_used) -> None:
    result = hwotp_doctor("--json", PYTHON_KEYRING_BACKEND=backend)
    [check] = by_name(json.loads(result.stdout)["checks"])["keyring"]
    assert check["status"] == status, check
    assert result.returncode == 16  # pcscd is not running and keys are used: a problem


def test_a_clock_seven_seconds_off_is_a_warning_read_from_the_local_chronyd(
    tmp_path: Path,
) -> None:
    # Stand-ins for the machine's tools: no systemd here, and a chronyd whose clock is 7 s off.
    tools = tmp_path / "tools"
    tools.mkdir()
    asked = tmp_path / "asked"
    (tools / "timedatectl").write_text(
        f'#!/bin/sh\necho "timedatectl $*" >> {asked}\n'
        'echo "System has not been booted with systemd as init system" >&2\nexit 1\n'
    )
    report = CHRONY_TRACKING.format(seconds="7.000100000", direction="fast")
    (tools / "chronyc").write_text(
        f'#!/bin/sh\necho "chronyc $*" >> {asked}\ncat <<EOF\n{report}EOF\n'
    )
    for tool in tools.iterdir():
        tool.chmod(0o755)
    result = hwotp_doctor("--json", PATH=f"{tools}{os.pathsep}{os.environ['PATH']}")
    report_json = json.loads(result.stdout)
    [clock] = by_name(report_json["checks"])["clock"]
    assert clock["status"] == "warning", clock
    assert "7.0 s fast (chronyc tracking)" in clock["detail"]
    # this machine's kernel decides between "set the clock now" and "keep it synchronised"
    assert clock["fix"] in (doctor.STEP_FIX, doctor.CLOCK_FIX)
    assert asked.read_text().splitlines() == [
        "timedatectl show -p NTPSynchronized --value",
        "timedatectl timesync-status",
        "chronyc -n tracking",
    ]
    problems = [check for check in report_json["checks"] if check["status"] == "problem"]
    assert result.returncode == (16 if problems else 0), problems  # a warning never fails


def test_help_loads_none_of_the_doctors_modules() -> None:
    probe = (
        "import sys\n"
        "from hwotp.cli.root import main\n"
        "sys.argv = ['hwotp', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('hwotp.usecases.doctor', 'smartcard', 'keyring', 'ykman', 'ctypes')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    result = run_in_python(probe)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr
    assert "doctor" in result.stdout
