"""with-keys: run a command with virtual YubiKeys plugged into a private pcscd.

    tests/virtualkey/with-keys [--keys N] [--serial S]... [--firmware X.Y.Z]
                               [--transport usb|nfc] [--touch auto|deny|signal]
                               [--control DIR] -- COMMAND...

COMMAND sees the keys as real ones (ykman, hwotp and python-fido2 find them by their normal
discovery): its environment points pcsc-lite at the private pcscd (PCSCLITE_CSOCK_NAME); USB
keys' FIDO interfaces are /dev/hidrawN in COMMAND's own mount namespace (VIRTUALKEY_HIDRAW lists
them, SERIAL=PATH; needs root, see devns.py); NFC keys are YubiKey 5 NFCs on a reader, FIDO2
over PC/SC. VIRTUALKEY_CONTROL names a folder holding each key's APDU log (SERIAL.apdu.jsonl)
and where creating SERIAL.touch touches a key whose policy is `signal` and creating
SERIAL.replug pulls the key out and plugs it back in (a person re-inserting it). Unless the
caller set them, HWOTP_VAULT, HWOTP_CACHE_DIR and PYTHON_KEYRING_BACKEND (the null keyring)
keep COMMAND away from the user's own vault, key cache and keyring. Everything is torn down
when COMMAND ends, and whatever COMMAND started goes with it, even when with-keys is killed
(reaper.py); the exit status is COMMAND's.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from . import devns
from .key import DEFAULT_FIRMWARE, KeyConfig
from .pcscd import MAX_KEYS, PcscdError, die_with_parent
from .presence import POLICIES
from .rig import KeyRig

FIRST_SERIAL = 10000001
REAPER = Path(__file__).with_name("reaper.py")  # runs COMMAND; see there
WORKDIR_PREFIX = "with-keys-"  # then the pid of the with-keys run, so stale ones can be found
# Defaults for COMMAND, inside the run's folder: never the user's own vault, cache or keyring.
PRIVATE_ENV = {
    "HWOTP_VAULT": "{workdir}/hwotp/vault.hwotp",
    "HWOTP_CACHE_DIR": "{workdir}/hwotp/cache",
    "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
}


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="with-keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=None, help=f"how many keys (1-{MAX_KEYS})")
    parser.add_argument("--serial", type=int, action="append", default=[], help="a key's serial")
    parser.add_argument("--firmware", type=_firmware, default=DEFAULT_FIRMWARE)
    parser.add_argument("--transport", choices=("usb", "nfc"), default="usb",
                        help="usb: keys in USB ports; nfc: YubiKey 5 NFCs on a reader")
    parser.add_argument("--touch", choices=POLICIES, default="auto")
    parser.add_argument("--touch-delay", type=float, default=0.0)
    parser.add_argument("--touch-timeout", type=float, default=15.0)
    parser.add_argument("--control", type=Path, help="folder for APDU logs and touch files")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args(argv)
    if arguments.command[:1] == ["--"]:
        arguments.command = arguments.command[1:]
    if not arguments.command:
        parser.error("give a command after --")
    return arguments


def key_configs(arguments: argparse.Namespace) -> list[KeyConfig]:
    count = arguments.keys or max(1, len(arguments.serial))
    serials = arguments.serial + [FIRST_SERIAL + index for index in range(count)]
    serials = list(dict.fromkeys(serials))[:count]
    return [
        KeyConfig(
            serial=serial,
            firmware=arguments.firmware,
            touch=arguments.touch,
            touch_delay=arguments.touch_delay,
            touch_timeout=arguments.touch_timeout,
            transport=arguments.transport,
        )
        for serial in serials
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    remove_stale_workdirs()
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as workdir:
        control = arguments.control or Path(workdir) / "control"
        try:
            prepare_control(control)
            configs = key_configs(arguments)
            rig = KeyRig(Path(workdir), configs, control)
            if rig.devns is None and arguments.transport == "usb" and configs[0].has_fido2:
                missing = ", ".join(devns.missing_requirements())
                print(f"with-keys: no hidraw devices (missing {missing})", file=sys.stderr)
            rig.start()
        except (PcscdError, ValueError, OSError) as error:  # TimeoutError is an OSError
            print(f"with-keys: {error}", file=sys.stderr)
            return 125
        try:
            return _run(arguments.command, rig, control, Path(workdir))
        finally:
            rig.stop()


def remove_stale_workdirs() -> None:
    """Removes the folders of with-keys runs that were killed (their pid is gone)."""
    pattern = re.compile(re.escape(WORKDIR_PREFIX) + r"(\d+)-")
    for folder in Path(tempfile.gettempdir()).iterdir():
        match = pattern.match(folder.name)
        if not match or not _is_own_folder(folder) or _is_alive(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def prepare_control(control: Path) -> None:
    """The control folder holds APDU logs and touch files: refuse one somebody else owns."""
    control.mkdir(mode=0o700, parents=True, exist_ok=True)
    if control.stat().st_uid != os.geteuid():
        raise PermissionError(f"the control folder {control} belongs to another user")


def _is_own_folder(path: Path) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run(command: list[str], rig: KeyRig, control: Path, workdir: Path) -> int:
    private = {name: value.format(workdir=workdir) for name, value in PRIVATE_ENV.items()}
    env = {
        **private,
        **os.environ,
        **rig.env(),
        "VIRTUALKEY_CONTROL": str(control),
        "VIRTUALKEY_SERIALS": " ".join(str(key.serial) for key in rig.keys),
        "VIRTUALKEY_HIDRAW": " ".join(f"{serial}={device.path}"
                                      for serial, device in rig.hidraw.items()),
    }
    ended = threading.Event()
    threading.Thread(target=_replug_on_request, args=(rig, control, ended), daemon=True,
                     name="replug").start()
    reaper = [sys.executable, str(REAPER), *rig.command(command)]
    child = subprocess.Popen(reaper, env=env, preexec_fn=partial(die_with_parent, signal.SIGKILL))
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGINT)
    finally:
        ended.set()
        signal.signal(signal.SIGTERM, previous)


REPLUG_OUT_SECONDS = 1.0  # out long enough for pcscd's presence poll (about 0.45 s) to see it


def _replug_on_request(rig: KeyRig, control: Path, ended: threading.Event) -> None:
    """SERIAL.replug in the control folder: the key is pulled out, then plugged back in."""
    serials = {key.serial for key in rig.keys}
    while not ended.wait(0.1):
        for request in control.glob("*.replug"):
            request.unlink(missing_ok=True)
            if not request.stem.isdigit() or int(request.stem) not in serials:
                continue
            rig.pull_out(int(request.stem))
            time.sleep(REPLUG_OUT_SECONDS)
            rig.plug_in(int(request.stem))


def _firmware(text: str) -> tuple[int, int, int]:
    parts = text.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError("firmware is X.Y.Z, for example 5.7.2")
    return int(parts[0]), int(parts[1]), int(parts[2])


if __name__ == "__main__":
    sys.exit(main())
