"""`pytest --real-key SERIAL`: the key tests on physical YubiKeys behind the system's own pcscd
and hidraw (docs/testing.md). The request and its refusals, the keys found, what will be erased,
the resets, the stand-in for a rig, and the lines asking the person at the keys to act."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WIPE_VARIABLE = "HWOTP_TEST_WIPE_KEY"
SYSTEM_SOCKET = "/run/pcscd/pcscd.comm"
FIDO_RESET_WINDOW = 10.0  # a YubiKey refuses a FIDO2 reset later than this after power-up
PERSON_TIMEOUT = 120.0  # how long a re-insert may take

# What only a virtual key can do, by the attribute a test reaches it through: such a test is
# skipped on real keys with this reason.
VIRTUAL_POWERS = {
    "faults": "it pulls the key out at a chosen APDU or injects status words",
    "log": "it reads the virtual key's APDU log",
    "presence": "it sets or gives the virtual key's touch itself",
    "card": "it reads the virtual key's internals",
    "oath": "it reads the virtual key's OATH store directly",
    "authenticator": "it drives the virtual FIDO2 authenticator in-process",
    "ctap": "it drives the virtual FIDO2 authenticator in-process",
    "pull_out": "it pulls the key out and in on its own",
    "plug_in": "it pulls the key out and in on its own",
    "bridge": "it pulls the key out and in on its own",
    "bridges": "it reaches the virtual key's pcscd bridge",
    "pcscd": "it reaches the private pcscd",
    "devns": "it reaches the private /dev of the virtual keys",
    "internal_errors": "it reads the virtual key's own bugs",
    "reader_power": "it power-cycles the virtual key on its own",
    "power_cycle": "it power-cycles the virtual key on its own",
    "stop": "it stops the private pcscd",
    "__class__": "it builds a virtual key of its own",
}
# Names imported from the test helpers whose use needs a virtual key (module-level functions).
VIRTUAL_HELPERS = {
    "puts": VIRTUAL_POWERS["log"],
    "transmit": "it sends raw APDUs to the virtual card in-process",
    "replug": "it pulls the key out and in on its own",
    "wait_until_pcscd_sees_no_card": "it pulls the key out and in on its own",
    "VirtualKey": "it builds a virtual key of its own",
    "KeyRig": "it starts a rig of virtual keys itself",
    "with_keys": "it runs with-keys itself",
    "Presence": VIRTUAL_POWERS["presence"],
    "SmartCardAdapter": "it talks to the virtual card in-process",
    "CtapAdapter": VIRTUAL_POWERS["authenticator"],
    "open_hid_device": VIRTUAL_POWERS["authenticator"],
}
# Reached only while the test runs (the names are too common to look for in the code).
RUNTIME_POWERS = {**VIRTUAL_POWERS, "reset": "it resets the virtual card in-process"}
# KeyConfig options a real key stands for: its serial, USB, and how long the automatic touch
# takes (on a real key a person touches it, when asked).
PLAIN_CONFIG = {"serial", "transport", "touch_delay", "touch_timeout"}


class RefusedError(ValueError):
    """The run is refused: one sentence."""


def wiped_serials(text: str | None) -> list[int]:
    """HWOTP_TEST_WIPE_KEY: serials, comma- or space-separated."""
    if not text or not text.strip():
        return []
    parts = [part for part in re.split(r"[\s,]+", text.strip()) if part]
    # ASCII digits only: str.isdigit() takes "²", which int() then refuses with a traceback
    if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
        raise RefusedError(f"{WIPE_VARIABLE} holds serials (digits), comma- or space-separated")
    return [int(part) for part in parts]


def serial_argument(text: str) -> int:
    """A --real-key value: ASCII digits only (int() would also take " 1", "1_0" or other
    scripts' digits)."""
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError(f"a key's serial is digits, not {text!r}")
    return int(text)


def check_request(serials: list[int], wipe_text: str | None) -> None:
    """Refuses a run whose keys may not be wiped, or that names a key twice."""
    if len(set(serials)) != len(serials):
        raise RefusedError("--real-key names the same key twice; give each key once")
    if len(serials) > 2:
        raise RefusedError("--real-key takes one or two keys; the tests need no more")
    allowed = wiped_serials(wipe_text)
    if not allowed:
        raise RefusedError(f"--real-key wipes the keys' OATH and FIDO2: set {WIPE_VARIABLE} to "
                           "the same serial(s) to confirm that they may be erased")
    if sorted(set(allowed)) != sorted(serials):
        named = ", ".join(str(serial) for serial in sorted(set(allowed)))
        given = ", ".join(str(serial) for serial in serials)
        raise RefusedError(f"{WIPE_VARIABLE} names {named} but --real-key gives {given}; "
                           "they must be the same keys")


def pcscd_socket(environment_value: str | None) -> Path:
    """The pcscd the machine's own clients use."""
    return Path(environment_value or SYSTEM_SOCKET)


def check_pcscd(socket: Path) -> None:
    if not socket.exists():
        raise RefusedError(f"no pcscd is reachable at {socket}; start it (systemctl start "
                           "pcscd.socket) or set PCSCLITE_CSOCK_NAME")


# --- the keys --------------------------------------------------------------------------------


def serials_present() -> dict[int, Any]:
    """Every YubiKey pcscd shows whose serial can be read, by serial: ykman's PC/SC devices."""
    return keys_shown()[0]


def keys_shown() -> tuple[dict[int, Any], int]:
    """The YubiKeys pcscd shows, by serial, and how many more it shows whose serial could not be
    read (such a key may be anybody's)."""
    from ykman.pcsc import list_devices
    from yubikit.core.smartcard import SmartCardConnection
    from yubikit.management import ManagementSession

    found: dict[int, Any] = {}
    unknown = 0
    for device in list_devices(""):
        try:
            with device.open_connection(SmartCardConnection) as connection:
                serial = ManagementSession(connection).read_device_info().serial
        except Exception:
            serial = None
        if serial is None:
            unknown += 1
        else:
            found[serial] = device
    return found, unknown


def fido_nodes() -> int:
    """How many FIDO HID devices this user can open: /dev/hidraw* with the FIDO usage page, any
    vendor (python-fido2 leaves out the others)."""
    from fido2.hid import list_descriptors

    return len(list_descriptors())


def check_present(serials: list[int], found: dict[int, Any]) -> None:
    missing = [serial for serial in serials if serial not in found]
    if missing:
        shown = ", ".join(str(serial) for serial in sorted(found)) or "none"
        raise RefusedError(f"YubiKey {missing[0]} is not among the keys pcscd shows "
                           f"(serials found: {shown})")


def check_only(serials: list[int], found: dict[int, Any], unknown: int, nodes: int) -> None:
    """Refuses a run beside any other security key: hwotp run without --device acts on every
    key it finds, so a key not given could be written."""
    others = [f"YubiKey {serial}" for serial in sorted(set(found) - set(serials))]
    others += ["a YubiKey whose serial cannot be read"] * min(unknown, 1)
    if not others and nodes > len(serials):
        others.append(f"{nodes} FIDO devices for {len(serials)} "
                      f"key{'s' if len(serials) != 1 else ''}")
    if others:
        raise RefusedError(f"other security keys are plugged in ({', '.join(others)}): unplug "
                           "every key but the ones given with --real-key")
    if nodes < len(serials):
        raise RefusedError(f"{nodes} FIDO devices are reachable in /dev/hidraw* for "
                           f"{len(serials)} key{'s' if len(serials) != 1 else ''}: each key's "
                           "FIDO interface must be enabled and readable by this user")


def check_keys(serials: list[int]) -> dict[int, Any]:
    """The given keys, and no other security key, are plugged in: their PC/SC devices."""
    found, unknown = keys_shown()
    check_present(serials, found)
    check_only(serials, found, unknown, fido_nodes())
    return found


@contextmanager
def oath_session(device: Any) -> Iterator[Any]:
    from yubikit.core.smartcard import SmartCardConnection
    from yubikit.oath import OathSession

    with device.open_connection(SmartCardConnection) as connection:
        yield OathSession(connection)


def fido_device(serial: int) -> Any:
    """The key's FIDO HID device, found as the probe finds it; None without one."""
    from virtualkey.probe import hid_fido

    return hid_fido(serial)


@dataclass
class FidoState:
    pin_set: bool
    passkeys: int | None  # None: not known without the PIN
    always_uv: bool = False

    def dirty(self) -> bool:
        return self.pin_set or bool(self.passkeys) or self.always_uv


def fido_state(serial: int) -> FidoState | None:
    from fido2.ctap2 import Ctap2

    device = fido_device(serial)
    if device is None:
        return None
    try:
        info = Ctap2(device).get_info()
    finally:
        device.close()
    pin_set = bool(info.options.get("clientPin"))
    # A YubiKey keeps passkeys only with a PIN set; counting them then needs the PIN.
    return FidoState(pin_set, None if pin_set else 0, bool(info.options.get("alwaysUv")))


def erase_line(serial: int, device: Any) -> str:
    """What the run will erase on the key: counts only, never names or secrets."""
    try:
        with oath_session(device) as oath:
            oath_text = ("OATH (password set, credentials not counted)" if oath.locked
                         else f"OATH ({len(oath.list_credentials())} credentials)")
    except Exception:
        oath_text = "OATH"
    state = fido_state(serial)
    if state is None:
        # fido_device finds no node: none shows this serial, and it is not the only YubiKey's
        return (f"YubiKey {serial}: {oath_text} will be erased; its FIDO2 will not be reset "
                "(no /dev/hidraw* node can be told to be this key's)")
    count = "passkeys not counted without the PIN" if state.passkeys is None \
        else f"{state.passkeys} passkeys"
    fido_text = f"FIDO2 ({count}, {'PIN set' if state.pin_set else 'no PIN'})"
    return f"YubiKey {serial}: {oath_text} and {fido_text} will be erased"


def reset_oath(device: Any) -> None:
    with oath_session(device) as oath:
        oath.reset()


# --- the person at the keys ------------------------------------------------------------------


class Person:
    """Says one line to the person at the keys, on the terminal pytest started on: a copy of its
    standard output made at configure time (capture is off then), so that the line passes
    pytest's capture and a CliRunner's alike without disturbing either."""

    def __init__(self, config: pytest.Config) -> None:
        self.touches = 0
        self.reinserts = 0
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        # Where processes the tests start say their lines (realkey_site/sitecustomize.py): a
        # FIFO this process passes on (their /proc may not show this process).
        self.path = str(Path(tempfile.mkdtemp(prefix="hwotp-tests-person-")) / "say")
        os.mkfifo(self.path, 0o600)
        threading.Thread(target=self._relay, daemon=True, name="person").start()

    def _relay(self) -> None:
        # opened for writing too, so that it never reaches end of file between writers
        with os.fdopen(os.open(self.path, os.O_RDWR), "r") as lines:
            for line in lines:
                if line.strip():
                    self.touches += line.startswith("touch ")
                    self.say(line.strip())

    def say(self, line: str) -> None:
        self.out.write(f"\n{line}\n")
        self.out.flush()

    def close(self) -> None:
        """The FIFO's folder goes with the run (a process still writing then finds none)."""
        shutil.rmtree(Path(self.path).parent, ignore_errors=True)

    def touch(self, serial: int | None) -> None:
        self.touches += 1
        self.say(f"touch YubiKey {serial}" if serial else "touch your YubiKey")


def reset_fido(serial: int, person: Person, serials: list[int]) -> dict[int, Any]:
    """A FIDO2 reset: only within seconds of power-up, so the person re-inserts the key, then
    touches it. `serials`: the run's keys. The keys are read again before the reset: a person
    may have put back another key, which must not be reset (RefusedError then). Returns the
    fresh PC/SC devices."""
    from fido2.ctap2 import Ctap2

    keys = len(serials)
    person.reinserts += 1
    person.say(f"remove and re-insert YubiKey {serial}, then touch it")
    _wait_for(lambda: not fido_present(serial, keys), "the key to be removed")
    _wait_for(lambda: fido_present(serial, keys) and set(serials) <= set(serials_present()),
              "the key to be inserted again")
    found = check_keys(serials)
    device = fido_device(serial)
    if device is None:
        raise RefusedError(f"YubiKey {serial}'s FIDO interface cannot be told apart after the "
                           "re-insert, so its FIDO2 was not reset")
    try:
        Ctap2(device).reset()
    finally:
        device.close()
    return found


def fido_present(serial: int, keys: int) -> bool:
    """The key's FIDO interface is there: its node shows its serial, or (a real key shows it only
    if configured to) as many Yubico nodes are there as keys are plugged in."""
    from fido2.hid import list_descriptors

    yubico = [d for d in list_descriptors() if d.vid == 0x1050]
    return any(d.serial_number == str(serial) for d in yubico) or (
        len(yubico) == keys and not any(d.serial_number for d in yubico))


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PERSON_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.1)


# --- the stand-in for a rig ------------------------------------------------------------------


def skip_virtual(name: str) -> None:
    pytest.skip(f"virtual key only: {RUNTIME_POWERS[name]}")


@dataclass
class RealKey:
    """A physical key as the tests see it: its serial, and an OATH session on demand. Its
    connection is shared (as ykman's are in this mode, YKMAN_NO_EXCLUSIVE), so hwotp and ykman
    still reach the key while a test holds one; it goes with the session."""

    serial: int
    device: Any

    def oath_session(self) -> Any:
        return self._session(self.device.reader.createConnection())

    @contextmanager
    def brief_session(self) -> Iterator[Any]:
        """An OATH session closed as soon as the caller is done (put, fill, names_on): hwotp
        then finds nobody else on the key."""
        connection = self.device.reader.createConnection()
        try:
            yield self._session(connection)
        finally:
            _close(connection)

    @staticmethod
    def _session(connection: Any) -> Any:
        from ykman.pcsc import ScardSmartCardConnection
        from yubikit.oath import OathSession

        return OathSession(ScardSmartCardConnection(connection))

    def close(self) -> None:
        """Nothing to close: every session's connection goes with the session."""

    def __getattr__(self, name: str) -> Any:
        if name in RUNTIME_POWERS:
            skip_virtual(name)
        raise AttributeError(name)


def _close(connection: Any) -> None:
    """pyscard may fail to disconnect a card another client reset meanwhile (a SystemError from
    its destructor, unraisable): close here, where that can be let go."""
    with suppress(Exception):
        connection.release()
    connection.hcard = connection.hcontext = None  # nothing left for its destructor


class RealRig:
    """What tests use of a KeyRig, for physical keys: no pcscd or namespace of its own."""

    def __init__(self, keys: list[RealKey], socket: Path) -> None:
        self.keys = keys
        self.socket = socket
        self.hidraw: dict[int, Any] = {}

    @property
    def serials(self) -> list[int]:
        return [key.serial for key in self.keys]

    def key(self, serial: int) -> RealKey:
        return next(key for key in self.keys if key.serial == serial)

    def command(self, argv: list[str]) -> list[str]:
        return list(argv)

    def env(self) -> dict[str, str]:
        return {"PCSCLITE_CSOCK_NAME": str(self.socket)}

    def release(self) -> None:
        for key in self.keys:
            key.close()

    def __getattr__(self, name: str) -> Any:
        if name in VIRTUAL_POWERS:
            skip_virtual(name)
        raise AttributeError(name)


def plain_config(config: Any) -> str | None:
    """None when a real key can stand for this KeyConfig; else why not."""
    from virtualkey.key import KeyConfig

    if not isinstance(config, KeyConfig):
        return "virtual key only: it builds a virtual key of its own"
    changed = [name for name in KeyConfig.__dataclass_fields__
               if name not in PLAIN_CONFIG
               and getattr(config, name) != getattr(KeyConfig(serial=config.serial), name)]
    if changed:
        return f"virtual key only: it needs a key set up with {', '.join(sorted(changed))}"
    if config.transport != "usb":
        return "virtual key only: it needs a key on an NFC reader"
    return None


def pytest_skip_count(wanted: int, have: int) -> None:
    pytest.skip(f"needs {wanted} key{'s' if wanted != 1 else ''}; this run has {have}")


@dataclass
class RealKeys:
    """The run's physical keys, and what was done to them."""

    serials: list[int]
    socket: Path
    person: Person
    devices: dict[int, Any] = field(default_factory=dict)

    def plug(self, configs: tuple, uses_fido: bool) -> RealRig:
        if len(configs) != len(self.serials):
            pytest_skip_count(len(configs), len(self.serials))
        for config in configs:
            reason = plain_config(config)
            if reason:
                pytest.skip(reason)
        wanted = [config.serial for config in configs]
        if sorted(wanted) != sorted(self.serials):
            shown = ", ".join(str(serial) for serial in wanted)
            pytest.skip(f"virtual key only: it needs a key with the serial {shown}")
        try:
            self.devices = self._fresh_keys(uses_fido)
        except RefusedError as refused:
            pytest.exit(str(refused))  # before anything is written to any key
        keys = [RealKey(serial, self.devices[serial]) for serial in wanted]
        return RealRig(keys, self.socket)

    def _fresh_keys(self, uses_fido: bool) -> dict[int, Any]:
        """At every plug: only the given keys are plugged in (checked again: a key may have been
        plugged in since), their OATH reset, and their FIDO2 when the test uses it and it is
        not blank. Their PC/SC devices, as read after the last re-insert."""
        devices = check_keys(self.serials)
        for serial in self.serials:
            reset_oath(devices[serial])
            if uses_fido:
                state = fido_state(serial)
                if state is not None and state.dirty():
                    devices = reset_fido(serial, self.person, self.serials)
        return devices


def environment_socket() -> str | None:
    return os.environ.get("PCSCLITE_CSOCK_NAME")


# --- which tests a virtual key alone can run: read from the test's own code -----------------


def virtual_only_reason(source: str) -> str | None:
    """Why the test (its source) needs a virtual key, from what it uses; None when a real key
    can do all of it (as far as the test's own code shows: the stand-ins skip the rest)."""
    import ast
    import textwrap

    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in VIRTUAL_POWERS:
            return f"virtual key only: {VIRTUAL_POWERS[node.attr]}"
        if isinstance(node, ast.Name) and node.id in VIRTUAL_HELPERS:
            return f"virtual key only: {VIRTUAL_HELPERS[node.id]}"
        if isinstance(node, ast.Call) and _called(node) == "KeyConfig":
            reason = _config_reason(node)
            if reason:
                return reason
    return None


def _called(call: Any) -> str | None:
    import ast

    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _config_reason(call: Any) -> str | None:
    import ast

    for keyword in call.keywords:
        if keyword.arg is None:
            return "virtual key only: it needs a key set up with options of its own"
        if keyword.arg not in PLAIN_CONFIG and not _is_default(keyword):
            return f"virtual key only: it needs a key set up with {ast.unparse(keyword)}"
        if keyword.arg == "transport" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value == "usb"):
            return "virtual key only: it needs a key on an NFC reader"
    return None


def _is_default(keyword: Any) -> bool:
    """A KeyConfig option spelt out at its default value (`touch="auto"`, the firmware of
    a YubiKey 5.7) asks nothing of a real key that it lacks."""
    import ast
    import dataclasses

    from virtualkey.key import KeyConfig

    field = KeyConfig.__dataclass_fields__.get(keyword.arg)
    if field is None or field.default is dataclasses.MISSING:
        return False
    try:
        return bool(ast.literal_eval(keyword.value) == field.default)
    except ValueError:  # not a literal: a value only the test's run knows
        return False
