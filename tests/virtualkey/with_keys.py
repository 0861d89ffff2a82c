"""with-keys: run a command with virtual YubiKeys plugged into a private pcscd.

    tests/virtualkey/with-keys [--keys N] [--serial S]... [--firmware X.Y.Z]
                               [--transport usb|nfc] [--touch auto|deny|signal]
                               [--control DIR] -- COMMAND...

COMMAND sees the keys as real ones (ykman, hwotp and python-fido2 find them by their normal
discovery): its environment points pcsc-lite at the private pcscd (PCSCLITE_CSOCK_NAME); USB
keys' FIDO interfaces are /dev/hidrawN in COMMAND's own mount namespace (VIRTUALKEY_HIDRAW lists
them, SERIAL=PATH; needs root, see devns.py); NFC keys are YubiKey 5 NFCs on a reader, FIDO2
over PC/SC. VIRTUALKEY_CONTROL names a folder holding each key's APDU log (SERIAL.apdu.jsonl)
and where creating SERIAL.touch touches a key whose policy is `signal`. Everything is torn down
when COMMAND ends; the exit status is COMMAND's.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import devns
from .key import DEFAULT_FIRMWARE, KeyConfig
from .pcscd import MAX_KEYS, PcscdError, die_with_parent
from .presence import POLICIES
from .rig import KeyRig

FIRST_SERIAL = 10000001


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
    with tempfile.TemporaryDirectory(prefix="with-keys-") as workdir:
        control = arguments.control or Path(workdir) / "control"
        control.mkdir(parents=True, exist_ok=True)
        try:
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
            return _run(arguments.command, rig, control)
        finally:
            rig.stop()


def _run(command: list[str], rig: KeyRig, control: Path) -> int:
    env = {
        **os.environ,
        **rig.env(),
        "VIRTUALKEY_CONTROL": str(control),
        "VIRTUALKEY_SERIALS": " ".join(str(key.serial) for key in rig.keys),
        "VIRTUALKEY_HIDRAW": " ".join(f"{serial}={device.path}"
                                      for serial, device in rig.hidraw.items()),
    }
    try:
        child = subprocess.Popen(rig.command(command), env=env, preexec_fn=die_with_parent)
    except OSError as error:
        print(f"with-keys: cannot run {command[0]}: {error.strerror}", file=sys.stderr)
        return 127
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _firmware(text: str) -> tuple[int, int, int]:
    parts = text.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError("firmware is X.Y.Z, for example 5.7.2")
    return int(parts[0]), int(parts[1]), int(parts[2])


if __name__ == "__main__":
    sys.exit(main())
