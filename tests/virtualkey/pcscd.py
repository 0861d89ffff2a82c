"""A private pcscd for the virtual keys, which never disturbs a pcscd already on the machine.

pcscd runs in its own mount namespace (`unshare -m`) with a tmpfs over /run/pcscd, so its socket
and pid file are invisible to everything else; its reader configuration names vpcd readers like
real YubiKeys. Clients reach it through pcsc-lite's PCSCLITE_CSOCK_NAME variable, pointed at
the socket through /proc/PID/root: ykman and hwotp then find the keys by their normal discovery.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from .vpcd_driver import patched_copy

READER_NAME = "Yubico YubiKey OTP+FIDO+CCID"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
MAX_KEYS = 2  # vpcd 0.8: one reader per pcscd, two slots (ports P and P+1); see vpcd_driver.py
# Hidden from pcscd by an empty tmpfs in its namespace: the machine's reader drivers (pcscd
# always loads them for USB readers it finds: a real YubiKey would appear beside the virtual
# ones, under the same name) and the USB devices and udev database they would find it in.
HIDDEN_FOLDERS = ("/usr/lib/pcsc/drivers", "/dev/bus/usb", "/run/udev")
START_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1


class PcscdError(RuntimeError):
    pass


def missing_requirements() -> list[str]:
    """What this machine lacks to run a private pcscd (empty when everything is there)."""
    missing = [tool for tool in ("pcscd", "unshare") if shutil.which(tool) is None]
    if not VPCD_DRIVER.exists():
        missing.append(f"{VPCD_DRIVER} (Debian package vsmartcard-vpcd)")
    return missing


class PrivatePcscd:
    """A pcscd whose one vpcd reader has a slot per key; `ports[i]` is key i's vpcd port, on
    the loopback interface, where vpcd connects to whoever listens (the key's bridge)."""

    def __init__(self, workdir: Path, first_port: int, keys: int = 1,
                 reader_name: str = READER_NAME) -> None:
        if not 1 <= keys <= MAX_KEYS:
            raise PcscdError(f"vpcd can show 1 to {MAX_KEYS} keys through one pcscd, not {keys}")
        self.workdir = workdir
        self.reader_name = reader_name
        self.ports = [first_port + slot for slot in range(keys)]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        if self.process is None:
            raise PcscdError("pcscd is not running")
        return Path(f"/proc/{self.process.pid}/root/run/pcscd/pcscd.comm")

    def env(self) -> dict[str, str]:
        """Environment variables that point pcsc-lite clients at this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def start(self) -> None:
        if missing := missing_requirements():
            raise PcscdError("cannot start a private pcscd: missing " + ", ".join(missing))
        config = self.workdir / "reader.conf.d"
        config.mkdir(parents=True, exist_ok=True)
        # A patched copy (vpcd_driver.py), outside the drivers folder that pcscd's namespace hides
        driver = patched_copy(VPCD_DRIVER, self.workdir / f"libifdvpcd-{len(self.ports)}slot.so",
                              slots=len(self.ports))
        reader = _reader_config(self.reader_name, self.ports[0], driver)
        (config / "virtualkey").write_text(reader)
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)  # the mount point, if missing
        self.process = subprocess.Popen(
            _namespace_command(config),
            stdout=(self.workdir / "pcscd.log").open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._wait_for_socket()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> PrivatePcscd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_socket(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.workdir / "pcscd.log"
                last = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
                raise PcscdError(f"pcscd exited at start ({last}); see {log}")
            if self.socket_path.exists() and _connectable(self.socket_path):
                return
            time.sleep(0.05)
        self.stop()
        raise PcscdError("pcscd did not open its socket in time")


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:
    """Even if whoever started pcscd is killed outright, pcscd goes too (PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal_number)


def _namespace_command(config: Path) -> list[str]:
    """unshare -m (plus -r when not root) gives pcscd a private /run/pcscd and empty
    HIDDEN_FOLDERS. VIRTUALKEY_PCSCD_FLAGS (for example -d) adds pcscd options when debugging."""
    hide = "".join(
        f"if [ -d {folder} ]; then mount -t tmpfs -o mode=0755 tmpfs {folder} || exit 1; fi; "
        for folder in HIDDEN_FOLDERS
    )
    script = (
        f"{hide}mount -t tmpfs -o mode=0755 tmpfs /run/pcscd && "
        'exec pcscd -f ${VIRTUALKEY_PCSCD_FLAGS:-} -c "$0"'
    )
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare.append("--map-root-user")
    return [*unshare, "sh", "-c", script, str(config)]


def _reader_config(name: str, port: int, driver: Path) -> str:
    return (
        f'FRIENDLYNAME "{name}"\n'
        f"DEVICENAME   127.0.0.1:{port}\n"  # vpcd connects there (reverse mode), see vpcd.py
        f"LIBPATH      {driver}\n"
        f"CHANNELID    {port}\n"
    )


def _connectable(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
