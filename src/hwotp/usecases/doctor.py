"""`hwotp doctor`: is this machine ready for security keys and for correct codes?

Every check ends in a `Check`. Reading the system (probes) and judging what was read
(interpretations) are separate functions, so tests can judge any state without faking a system
call; probes import what they need when they run. Only what the user has is required (pcscd
once keys are used, a vault file that exists): a missing optional part (FIDO2 udev rules, a
keyring for --remember) is a note. Nothing here uses the network.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from hwotp.yubikey.device import PCSCD_FIX, YUBIKEY_READER

if TYPE_CHECKING:
    from ykman.pcsc import ScardYubiKeyDevice

UDEV_FIX = (
    "from hwotp's source folder: sudo install -m 644 udev/70-hwotp-security-keys.rules "
    "/etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger "
    "(see docs/device-access.md)"
)
CLOCK_FIX = "sudo timedatectl set-ntp true (or install systemd-timesyncd or chrony)"
STEP_FIX = (
    "set the clock now: sudo chronyc makestep (chrony) or sudo systemctl restart systemd-timesyncd"
)
ZBAR_FIX = "sudo apt install libzbar0 (only the fallback QR decoder needs it)"
KEYRING_FIX = (
    "install a Secret Service such as gnome-keyring or KeePassXC (with its Secret Service "
    "integration on); without one, --remember is unavailable"
)
BUSY_FIX = (
    "another program holds the key exclusively; if it is gpg's scdaemon: gpgconf --kill "
    "scdaemon (or add disable-ccid and pcsc-shared to ~/.gnupg/scdaemon.conf)"
)
REPLUG_FIX = "pull the key out and plug it in again"


# Where udev looks for rules, in order of precedence: a file name found earlier hides the same
# name later (a file in /etc, even a link to /dev/null, replaces the packaged one).
UDEV_RULE_DIRS = (
    Path("/etc/udev/rules.d"),
    Path("/run/udev/rules.d"),
    Path("/usr/lib/udev/rules.d"),
    Path("/lib/udev/rules.d"),
)

STA_UNSYNC = 0x0040  # struct timex status bit: the kernel clock is not synchronised
TIME_ERROR = 5  # adjtimex's answer when the clock is not synchronised
NTP_PHASE_LIMIT_US = 16_000_000  # the kernel's ceiling for maxerror: no bound at all


CLOCK_WARN_S = 5.0  # a 30 s code is still accepted, but close to its step's edge
CLOCK_FAIL_S = 15.0  # half a step: codes are refused unless the server allows drift

TIMEDATECTL_SHOW = ("timedatectl", "show", "-p", "NTPSynchronized", "--value")
TIMESYNC_STATUS = ("timedatectl", "timesync-status")
# -n: no reverse lookup of the reference's address; chronyc asks the local chronyd only.
CHRONY_TRACKING = ("chronyc", "-n", "tracking")


class Status(StrEnum):
    OK = "OK"
    PROBLEM = "PROBLEM"  # needed for what the user has, and not right: exit 16
    WARNING = "WARNING"  # works, but close to failing
    NOTE = "NOTE"  # optional, or not needed for what the user has
    UNKNOWN = "UNKNOWN"  # could not tell


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool | None:
        """True when fine, False for a problem, None for anything that does not fail."""
        return {Status.OK: True, Status.PROBLEM: False}.get(self.status)


@dataclass(frozen=True)
class KeyReading:
    """What one YubiKey reader gave: the key's identity, or why it could not be read."""

    reader: str
    name: str = "YubiKey"
    serial: int | None = None
    firmware: str | None = None
    oath_enabled: bool | None = None
    error: str | None = None  # "busy", "no card" or the type of another failure


class PcscUnreachable(Exception):
    """pcscd cannot be asked: not running, not installed, or the library cannot load."""


def run_checks(vault: Path) -> list[Check]:
    """Every check, in the order a user would fix things; none raises."""
    checks = guarded("pcscd", smart_card_checks)
    single: tuple[tuple[str, Callable[[], Check]], ...] = (
        ("udev rules", udev_check),
        ("clock", clock_check),
        ("libzbar", zbar_check),
        ("keyring", keyring_check),
    )
    for name, check in single:
        checks += guarded(name, _as_list(check))
    checks += guarded("vault", lambda: vault_checks(vault))
    return checks


def _as_list(check: Callable[[], Check]) -> Callable[[], list[Check]]:
    return lambda: [check()]


def guarded(name: str, checks: Callable[[], list[Check]]) -> list[Check]:
    """A check that fails unexpectedly is a "could not tell", never a traceback. Only the
    error's type is shown: its text could carry anything."""
    try:
        return checks()
    except Exception as error:
        return [Check(name, Status.UNKNOWN, f"could not check ({type(error).__name__})")]


# ---- pcscd, readers and keys ----


def smart_card_checks() -> list[Check]:
    keys_seen = keys_seen_before()
    try:
        readers = list_readers()
    except PcscUnreachable as error:
        return pcscd_unreachable_checks(str(error), keys_seen)
    checks = [Check("pcscd", Status.OK, "reachable"), readers_check(readers, keys_seen)]
    if any(looks_like_yubikey(reader) for reader in readers):
        checks += guarded("key", lambda: [key_check(reading) for reading in read_keys()])
    return checks


def keys_seen_before() -> bool:
    """Has hwotp used a YubiKey on this machine (its serial cache names one)?"""
    from hwotp.yubikey import keycache

    return keycache.seen_any()


def pcscd_unreachable_checks(reason: str, keys_seen: bool) -> list[Check]:
    """pcscd is required once YubiKeys are used here; a vault-only user needs none of it."""
    if keys_seen:
        pcscd = Check("pcscd", Status.PROBLEM, f"not reachable: {reason}", PCSCD_FIX)
    else:
        pcscd = Check(
            "pcscd",
            Status.NOTE,
            f"not reachable ({reason}); only YubiKeys need it, and none has been used here",
            PCSCD_FIX,
        )
    return [pcscd, Check("readers", Status.UNKNOWN, "not checked: pcscd is not reachable")]


def looks_like_yubikey(reader: str) -> bool:
    return YUBIKEY_READER in reader.lower()


def readers_check(readers: list[str], keys_seen: bool = True) -> Check:
    if not readers:
        return Check(
            "readers",
            Status.UNKNOWN if keys_seen else Status.NOTE,
            "none: no YubiKey or other smart card is plugged in",
            "plug in your YubiKey; if it is in, `ykman info` must list CCID among its enabled "
            "USB interfaces",
        )
    described = [
        f"{reader} ({'YubiKey' if looks_like_yubikey(reader) else 'not a YubiKey'})"
        for reader in readers
    ]
    return Check("readers", Status.OK, f"{len(readers)}: " + "; ".join(described))


def key_check(reading: KeyReading) -> Check:
    where = f"(reader {reading.reader})"
    if reading.error == "busy":
        return Check("key", Status.PROBLEM, f"cannot be opened {where}", BUSY_FIX)
    if reading.error == "no card":
        no_key = f"the reader is there but no key answers {where}"
        return Check("key", Status.PROBLEM, no_key, REPLUG_FIX)
    if reading.error is not None:
        answer = f"did not answer ({reading.error}) {where}"
        return Check("key", Status.PROBLEM, answer, REPLUG_FIX)
    serial = "hidden" if reading.serial is None else str(reading.serial)
    detail = f"{reading.name}, serial {serial}, firmware {reading.firmware} {where}"
    if reading.oath_enabled is False:
        return Check(
            "key",
            Status.PROBLEM,
            f"{detail}: its OATH application is disabled over USB",
            "ykman config usb --enable OATH",
        )
    return Check("key", Status.OK, detail)


def list_readers() -> list[str]:
    """Reader names from pcscd (pcsc-lite finds it, honouring PCSCLITE_CSOCK_NAME)."""
    try:
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers
    except ImportError as error:  # pyscard loads libpcsclite when imported
        raise PcscUnreachable(f"the PC/SC library cannot be loaded ({error})") from None
    try:
        return [str(reader) for reader in readers()]
    except (SmartcardException, BaseSCardException) as error:
        raise PcscUnreachable(str(error).strip().rstrip(".")) from None


def read_keys() -> list[KeyReading]:
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from ykman.pcsc import list_devices

    readings = []
    for device in list_devices():
        reader = device.reader.name
        try:
            readings.append(_read_key(device))
        except NoCardException:
            readings.append(KeyReading(reader, error="no card"))
        except CardConnectionException:
            readings.append(KeyReading(reader, error="busy"))
        except Exception as error:  # a key that answers oddly is reported, not fatal
            readings.append(KeyReading(reader, error=type(error).__name__))
    return readings


def _read_key(device: ScardYubiKeyDevice) -> KeyReading:
    from ykman.pcsc import ScardSmartCardConnection
    from yubikit.core import TRANSPORT
    from yubikit.management import CAPABILITY
    from yubikit.support import get_name, read_info

    # A shared connection opened here, not device.open_connection(): on a busy key that one
    # kills scdaemon and yubikey-agent and tries again, and a diagnosis must change nothing.
    raw = device.reader.createConnection()
    try:
        connection = ScardSmartCardConnection(raw)
    except BaseException:
        raw.release()
        raise
    with connection:
        info = read_info(connection, device.pid)
    enabled = info.config.enabled_capabilities.get(TRANSPORT.USB)
    return KeyReading(
        reader=device.reader.name,
        name=get_name(info, device.pid.yubikey_type if device.pid else None),
        serial=info.serial,
        firmware=str(info.version),
        oath_enabled=None if enabled is None else bool(enabled & CAPABILITY.OATH),
    )


# ---- udev rules ----


def udev_check() -> Check:
    return udev_rules_check(read_udev_rules())


def read_udev_rules(dirs: tuple[Path, ...] = UDEV_RULE_DIRS) -> dict[str, str]:
    """File name -> text of every rules file udev would read (the first of each name)."""
    found: dict[str, str] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.rules")):
            if path.name not in found:
                try:
                    found[path.name] = path.read_text(errors="replace")
                except OSError:  # unreadable, or a dangling link: udev cannot read it either
                    found[path.name] = ""
    return found


def udev_rules_check(files: Mapping[str, str]) -> Check:
    granting = rules_granting_key_access(files)
    if granting:
        given_by = " with ".join(granting)
        granted = f"security keys go to the local user by {given_by}"
        return Check("udev rules", Status.OK, granted)
    return Check(  # optional: only FIDO2 over USB needs them, and hwotp does not use it yet
        "udev rules",
        Status.NOTE,
        "no rules give the logged-in user access to security keys (FIDO2 over USB needs root)",
        UDEV_FIX,
    )


def rules_granting_key_access(files: Mapping[str, str]) -> list[str]:
    """The rules files that give the local user YubiKeys' HID devices: one tagging vendor 1050
    with uaccess, or a file marking FIDO devices as security tokens (systemd's fido_id, or a
    rule setting ID_SECURITY_TOKEN) together with one tagging security tokens with uaccess."""
    by_vendor, marking, tagging = [], [], []
    for name, text in sorted(files.items()):
        for rule in _rules(text):
            uaccess = re.search(r'\bTAG\s*\+?=\s*"[^"]*\buaccess\b', rule) is not None
            if uaccess and "1050" in _matched_values(rule, r"ATTRS?\{idVendor\}"):
                by_vendor.append(name)
            if re.search(r'IMPORT\{(program|builtin)\}\s*=\s*"fido_id', rule) or re.search(
                r'ENV\{ID_SECURITY_TOKEN\}\s*=\s*"1"', rule
            ):
                marking.append(name)
            if uaccess and re.search(r"ENV\{ID_SECURITY_TOKEN\}\s*==", rule):
                tagging.append(name)
    if by_vendor:
        return sorted(set(by_vendor))
    if marking and tagging:
        return sorted(set(marking)) + sorted(set(tagging) - set(marking))
    return []


def _rules(text: str) -> list[str]:
    """One string per rule: continued lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip()[:1] not in ("", "#")]


def _matched_values(rule: str, key: str) -> set[str]:
    """The values a rule's `KEY=="a|b"` match accepts."""
    values: set[str] = set()
    for match in re.finditer(key + r'\s*==\s*"([^"]*)"', rule):
        values.update(match.group(1).split("|"))
    return values


# ---- the clock ----


@dataclass(frozen=True)
class Sync:
    """Whether something keeps the clock right, and who says so."""

    synchronised: bool
    source: str  # "timedatectl" or "the kernel"
    within_us: int | None = None  # the kernel's error bound


@dataclass(frozen=True)
class Offset:
    """How far the clock is from its time server, as the local time service last measured."""

    seconds: float
    source: str
    direction: str | None = None  # "fast" or "slow" where the service says which


def clock_check() -> Check:
    return judge_clock(sync_reading(), offset_reading())


def sync_reading() -> Sync | None:
    """timedatectl's answer where it gives one, else the kernel's."""
    answer = read_timedatectl()
    sync = sync_from_timedatectl(answer) if answer is not None else None
    if sync is not None:
        return sync
    timex = read_timex()
    return sync_from_timex(*timex) if timex is not None else None


def offset_reading() -> Offset | None:
    """systemd-timesyncd's last offset where it runs, else chronyd's."""
    status = read_timesync_status()
    offset = offset_from_timesync_status(status) if status is not None else None
    if offset is not None:
        return offset
    tracking = read_chrony_tracking()
    return offset_from_chrony_tracking(tracking) if tracking is not None else None


def sync_from_timedatectl(answer: str) -> Sync | None:
    value = answer.strip()
    if value in ("yes", "no"):
        return Sync(value == "yes", "timedatectl")
    return None  # an answer hwotp does not know: ask the kernel instead


def sync_from_timex(state: int, status: int, maxerror_us: int) -> Sync:
    """Judge adjtimex's answer: its return value, the status bits and the error bound."""
    unsynced = state == TIME_ERROR or status & STA_UNSYNC or maxerror_us >= NTP_PHASE_LIMIT_US
    return Sync(not unsynced, "the kernel", None if unsynced else maxerror_us)


_TIMESPAN_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_TIMESPAN_PART = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|min|h)(?![a-z])")


def offset_from_timesync_status(text: str) -> Offset | None:
    """The `Offset:` line of `timedatectl timesync-status` (systemd's time span: `+1.234ms`,
    `-2min 3.5s`), or None before the first synchronisation."""
    match = re.search(r"^\s*Offset:\s*[+-]?(.+)$", text, re.MULTILINE)
    if match is None:
        return None
    span = match.group(1).strip()
    parts = _TIMESPAN_PART.findall(span)
    if not parts or "".join(number + unit for number, unit in parts) != span.replace(" ", ""):
        return None
    seconds = sum(float(number) * _TIMESPAN_UNITS[unit] for number, unit in parts)
    return Offset(seconds, "timedatectl timesync-status")


def offset_from_chrony_tracking(text: str) -> Offset | None:
    """`System time : 0.000012 seconds fast of NTP time` from `chronyc tracking`."""
    match = re.search(
        r"^System time\s*:\s*(\d+(?:\.\d+)?) seconds (fast|slow) of NTP time", text, re.MULTILINE
    )
    if match is None:
        return None
    return Offset(float(match.group(1)), "chronyc tracking", match.group(2))


def judge_clock(sync: Sync | None, offset: Offset | None) -> Check:
    """Off by more than CLOCK_FAIL_S, or not synchronised with no offset known: a problem.
    Off by more than CLOCK_WARN_S, or right now but kept right by nothing: a warning."""
    if sync is None and offset is None:
        return Check(
            "clock",
            Status.UNKNOWN,
            "neither timedatectl, chronyc nor adjtimex could tell",
            CLOCK_FIX,
        )
    said = ([_sync_text(sync)] if sync else []) + ([_offset_text(offset)] if offset else [])
    detail = "; ".join(said)
    unsynced = sync is not None and not sync.synchronised
    fix = CLOCK_FIX if unsynced else STEP_FIX
    if offset is not None and offset.seconds > CLOCK_FAIL_S:
        return Check("clock", Status.PROBLEM, f"{detail}: codes will be refused as invalid", fix)
    if offset is None and unsynced:
        return Check("clock", Status.PROBLEM, f"{detail}: {_WRONG_CLOCK}", CLOCK_FIX)
    if offset is not None and offset.seconds > CLOCK_WARN_S:
        late = "codes typed late in their 30 s may be refused"
        return Check("clock", Status.WARNING, f"{detail}: {late}", fix)
    if unsynced:
        return Check(
            "clock", Status.WARNING, f"{detail}: right now, but nothing keeps it right", CLOCK_FIX
        )
    return Check("clock", Status.OK, detail)


_WRONG_CLOCK = "a wrong clock is the first cause of codes refused as invalid"


def _sync_text(sync: Sync) -> str:
    if not sync.synchronised:
        return f"not synchronised, says {sync.source}"
    if sync.within_us is not None:
        return f"synchronised, within {_duration(sync.within_us)} ({sync.source})"
    return f"synchronised ({sync.source})"


def _offset_text(offset: Offset) -> str:
    amount = _duration(round(offset.seconds * 1_000_000))
    if offset.direction:
        return f"{amount} {offset.direction} ({offset.source})"
    return f"off by {amount} ({offset.source})"


def _duration(microseconds: int) -> str:
    if microseconds >= 1_000_000:
        return f"{microseconds / 1_000_000:.1f} s"
    return f"{max(microseconds // 1000, 1)} ms"


def read_timedatectl() -> str | None:
    """timedatectl's NTPSynchronized, or None where it cannot answer (no systemd as init, no
    D-Bus, not installed)."""
    return _local_answer(TIMEDATECTL_SHOW)


def read_timesync_status() -> str | None:
    """systemd-timesyncd's state over D-Bus, or None where it does not run."""
    return _local_answer(TIMESYNC_STATUS)


def read_chrony_tracking() -> str | None:
    """chronyd's tracking report, from the local daemon, or None where it does not run."""
    return _local_answer(CHRONY_TRACKING)


def _local_answer(command: tuple[str, ...]) -> str | None:
    """A local tool's output, or None when it is missing, fails or says nothing."""
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            env={**os.environ, "LC_ALL": "C"},  # the English labels parsed here
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 and result.stdout.strip() else None


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """Linux's struct timex (see adjtimex(2)), with its trailing padding."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


def read_timex() -> tuple[int, int, int] | None:
    """adjtimex's (state, status, maxerror in µs), only read (modes 0 needs no privilege), or
    None where there is no such call."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    timex = _Timex()
    state = adjtimex(ctypes.byref(timex))
    if state < 0:
        return None
    return state, timex.status, timex.maxerror


# ---- libzbar and the keyring ----


def zbar_check() -> Check:
    return zbar_from_library(find_zbar())


def find_zbar() -> str | None:
    return ctypes.util.find_library("zbar")  # where pyzbar looks too


def zbar_from_library(library: str | None) -> Check:
    if library:
        return Check("libzbar", Status.OK, f"found ({library})")
    return Check("libzbar", Status.PROBLEM, "not found", ZBAR_FIX)


def keyring_check() -> Check:
    return keyring_from_backends(keyring_backends())


def keyring_backends() -> list[str]:
    """The backends keyring would use, as module.Class (a chainer's, one by one)."""
    import keyring

    backend = keyring.get_keyring()
    inner = getattr(backend, "backends", None)  # keyring's ChainerBackend
    chosen = list(inner) if inner is not None else [backend]
    return [f"{type(item).__module__}.{type(item).__name__}" for item in chosen]


_NO_KEYRING = ("keyring.backends.fail.", "keyring.backends.null.")


def keyring_from_backends(backends: list[str]) -> Check:
    usable = [name for name in backends if not name.startswith(_NO_KEYRING)]
    if usable:
        return Check("keyring", Status.OK, "available: " + ", ".join(usable))
    shown = ", ".join(backends) or "none"
    # optional: only --remember needs one
    return Check("keyring", Status.NOTE, f"no usable keyring backend ({shown})", KEYRING_FIX)


# ---- the vault and its backup ----


@dataclass(frozen=True)
class VaultReading:
    """What a vault file's header said, read without a passphrase."""

    path: Path
    slots: int | None = None  # the header's key slots, when header and checksum are intact
    missing: bool = False
    damage: str | None = None  # why it does not read as a vault
    unreadable: str | None = None  # why the file cannot be read at all


def vault_checks(path: Path) -> list[Check]:
    from hwotp.vault.file import backup_path

    vault, backup = read_vault_header(path), read_vault_header(backup_path(path))
    checks = [vault_check(vault, backup)]
    if not (vault.missing and backup.missing):
        checks.append(backup_check(backup))
    return checks


def read_vault_header(path: Path) -> VaultReading:
    """Size, SHA-256 trailer and header, as the vault checks them before any key work."""
    from hwotp.errors import StorageError, VaultDamagedError
    from hwotp.vault import file as vault_file
    from hwotp.vault import format as vault_format

    try:
        data = vault_file.read(path, vault_format.MAX_FILE_BYTES)
    except vault_file.VaultMissingError:
        return VaultReading(path, missing=True)
    except StorageError as error:
        return VaultReading(path, unreadable=str(error))
    try:
        envelope = vault_format.parse(data)
    except VaultDamagedError as error:
        return VaultReading(path, damage=str(error))
    return VaultReading(path, slots=len(envelope.header.slots))


def vault_check(vault: VaultReading, backup: VaultReading) -> Check:
    if vault.missing:
        return Check(
            "vault",
            Status.NOTE,
            f"none at {vault.path} (the first credential stored in it creates it)",
        )
    if vault.unreadable is not None:
        return Check("vault", Status.PROBLEM, vault.unreadable, UNREADABLE_FIX)
    if vault.damage is not None:
        return Check(
            "vault", Status.PROBLEM, f"{vault.damage} ({vault.path})", restore_fix(vault, backup)
        )
    return Check("vault", Status.OK, f"{_intact(vault)} ({vault.path})")


def backup_check(backup: VaultReading) -> Check:
    """The backup holds the vault as it was before its last change; every write replaces it,
    so a damaged one is a warning, not a problem."""
    if backup.missing:
        return Check(
            "vault backup",
            Status.NOTE,
            f"none yet at {backup.path} (kept from the vault's first change on)",
        )
    if backup.unreadable is not None:
        return Check("vault backup", Status.WARNING, backup.unreadable, UNREADABLE_FIX)
    if backup.damage is not None:
        return Check(
            "vault backup",
            Status.WARNING,
            f"{backup.damage} ({backup.path}); the vault's next change replaces it",
        )
    return Check("vault backup", Status.OK, f"{_intact(backup)} ({backup.path})")


def restore_fix(vault: VaultReading, backup: VaultReading) -> str:
    if backup.slots is None:
        return (
            "its backup does not open either: restore the vault from a copy of your own, or "
            "enroll the credentials again"
        )
    return (
        "its backup opens (it holds the vault before its last change): keep the damaged file "
        f"and restore the backup: mv {vault.path} {vault.path}.damaged && "
        f"cp {backup.path} {vault.path}"
    )


UNREADABLE_FIX = "the file must be yours and readable by you (mode 600)"


def _intact(reading: VaultReading) -> str:
    count = reading.slots or 0
    return f"header and checksum intact, {count} key slot{'s' if count != 1 else ''}"
