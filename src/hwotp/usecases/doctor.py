"""`hwotp doctor`: is this machine ready for security keys and for correct codes?

Every check ends in a `Check`. Reading the system (probes) and judging what was read
(interpretations) are separate functions, so tests can judge any state without faking a system
call; probes import what they need when they run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: could not tell
    detail: str
    fix: str | None = None

    @property
    def status(self) -> str:
        return {True: "OK", False: "PROBLEM", None: "UNKNOWN"}[self.ok]


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


def run_checks() -> list[Check]:
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
    return checks


def _as_list(check: Callable[[], Check]) -> Callable[[], list[Check]]:
    return lambda: [check()]


def guarded(name: str, checks: Callable[[], list[Check]]) -> list[Check]:
    """A check that fails unexpectedly is a "could not tell", never a traceback. Only the
    error's type is shown: its text could carry anything."""
    try:
        return checks()
    except Exception as error:
        return [Check(name, None, f"could not check ({type(error).__name__})")]


# ---- pcscd, readers and keys ----


def smart_card_checks() -> list[Check]:
    try:
        readers = list_readers()
    except PcscUnreachable as error:
        return [
            Check("pcscd", False, f"not reachable: {error}", PCSCD_FIX),
            Check("readers", None, "not checked: pcscd is not reachable"),
        ]
    checks = [Check("pcscd", True, "reachable"), readers_check(readers)]
    if any(looks_like_yubikey(reader) for reader in readers):
        checks += guarded("key", lambda: [key_check(reading) for reading in read_keys()])
    return checks


def looks_like_yubikey(reader: str) -> bool:
    return YUBIKEY_READER in reader.lower()


def readers_check(readers: list[str]) -> Check:
    if not readers:
        return Check(
            "readers",
            None,
            "none: no YubiKey or other smart card is plugged in",
            "plug in your YubiKey; if it is in, `ykman info` must list CCID among its enabled "
            "USB interfaces",
        )
    described = [
        f"{reader} ({'YubiKey' if looks_like_yubikey(reader) else 'not a YubiKey'})"
        for reader in readers
    ]
    return Check("readers", True, f"{len(readers)}: " + "; ".join(described))


def key_check(reading: KeyReading) -> Check:
    where = f"(reader {reading.reader})"
    if reading.error == "busy":
        return Check("key", False, f"cannot be opened {where}", BUSY_FIX)
    if reading.error == "no card":
        return Check("key", False, f"the reader is there but no key answers {where}", REPLUG_FIX)
    if reading.error is not None:
        return Check("key", False, f"did not answer ({reading.error}) {where}", REPLUG_FIX)
    serial = "hidden" if reading.serial is None else str(reading.serial)
    detail = f"{reading.name}, serial {serial}, firmware {reading.firmware} {where}"
    if reading.oath_enabled is False:
        return Check(
            "key",
            False,
            f"{detail}: its OATH application is disabled over USB",
            "ykman config usb --enable OATH",
        )
    return Check("key", True, detail)


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
        return Check("udev rules", True, f"security keys go to the local user by {given_by}")
    return Check(
        "udev rules",
        False,
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


def clock_check() -> Check:
    answer = read_timedatectl()
    if answer is not None:
        return clock_from_timedatectl(answer)
    timex = read_timex()
    if timex is not None:
        return clock_from_timex(*timex)
    return Check("clock", None, "neither timedatectl nor adjtimex could tell", CLOCK_FIX)


def clock_from_timedatectl(answer: str) -> Check:
    value = answer.strip()
    if value == "yes":
        return Check("clock", True, "synchronised (timedatectl)")
    if value == "no":
        return Check("clock", False, _UNSYNCED.format("timedatectl"), CLOCK_FIX)
    return Check("clock", None, "timedatectl gave an answer hwotp does not know", CLOCK_FIX)


def clock_from_timex(state: int, status: int, maxerror_us: int) -> Check:
    """Judge adjtimex's answer: its return value, the status bits and the error bound."""
    if state == TIME_ERROR or status & STA_UNSYNC or maxerror_us >= NTP_PHASE_LIMIT_US:
        return Check("clock", False, _UNSYNCED.format("the kernel"), CLOCK_FIX)
    return Check("clock", True, f"synchronised, within {_duration(maxerror_us)} (kernel)")


_UNSYNCED = (
    "not synchronised, says {}: a wrong clock is the first cause of codes refused as invalid"
)


def _duration(microseconds: int) -> str:
    if microseconds >= 1_000_000:
        return f"{microseconds / 1_000_000:.1f} s"
    return f"{max(microseconds // 1000, 1)} ms"


def read_timedatectl() -> str | None:
    """timedatectl's NTPSynchronized, or None where it cannot answer (no systemd as init, no
    D-Bus, not installed)."""
    try:
        result = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
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
        return Check("libzbar", True, f"found ({library})")
    return Check("libzbar", False, "not found", ZBAR_FIX)


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
        return Check("keyring", True, "available: " + ", ".join(usable))
    shown = ", ".join(backends) or "none"
    return Check("keyring", False, f"no usable keyring backend ({shown})", KEYRING_FIX)
