"""Virtual keys plugged into a private pcscd, and USB keys' FIDO interfaces as /dev/hidrawN in a
private mount namespace (devns.py): what `with-keys` and the pcscd and hidraw tests run on."""

from __future__ import annotations

from pathlib import Path

from . import devns
from .hidraw import HidrawDevice
from .key import KeyConfig, VirtualKey
from .pcscd import READER_NAME, PrivatePcscd
from .vpcd import VpcdBridge

# A reader that is not named like a YubiKey: ykman and python-fido2 take a card in it for NFC.
NFC_READER_NAME = "Virtual NFC Reader"


class KeyRig:
    def __init__(
        self,
        workdir: Path,
        keys: list[KeyConfig | VirtualKey],
        control_dir: Path | None = None,
        hidraw: bool | None = None,
    ) -> None:
        """`keys`: configurations of new keys, or keys a test built itself. `hidraw`: show
        USB keys' FIDO interfaces as /dev/hidrawN (None: when the machine can, see devns)."""
        self.keys = [
            key if isinstance(key, VirtualKey) else VirtualKey(key, control_dir) for key in keys
        ]
        serials = [key.serial for key in self.keys]
        if len(set(serials)) != len(serials):
            raise ValueError("every virtual key needs its own serial")
        transports = {key.config.transport for key in self.keys}
        if len(transports) != 1:  # the keys share one vpcd reader, so one reader name
            raise ValueError("the keys of one rig are all USB or all NFC")
        name = NFC_READER_NAME if transports == {"nfc"} else READER_NAME
        self.pcscd = PrivatePcscd(workdir, len(self.keys), reader_name=name)
        pairs = zip(self.keys, self.pcscd.ports, strict=True)
        self.bridges = [VpcdBridge(key, port) for key, port in pairs]
        usb_fido = [key for key in self.keys if key.config.transport == "usb"
                    and key.config.has_fido2]  # choice: a YubiKey 4's U2F-only HID is not here
        if hidraw is None:
            hidraw = bool(usb_fido) and not devns.missing_requirements()
        self.devns = devns.DevNamespace(workdir) if hidraw else None
        self.hidraw: dict[int, HidrawDevice] = {}  # by serial, the plugged ones
        self._usb_fido = usb_fido

    def start(self) -> None:
        self.pcscd.start()
        try:
            for bridge in self.bridges:
                bridge.plug_in()
            for bridge in self.bridges:
                bridge.wait_ready()
            if self.devns is not None:
                self.devns.start()
                for key in self._usb_fido:
                    self._plug_hidraw(key)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for bridge in self.bridges:
            bridge.pull_out()
        if self.devns is not None:
            self.devns.stop()
        self.hidraw.clear()
        self.pcscd.stop()

    def command(self, argv: list[str]) -> list[str]:
        """argv as it must run to see the keys as a user's machine shows them: inside the
        namespace whose /dev has their hidraw nodes (argv itself when there are none)."""
        return self.devns.command(argv) if self.devns is not None else list(argv)

    def pull_out(self, serial: int) -> None:
        """The key leaves its port (or reader): its card and its hidraw node go."""
        self.bridge(serial).pull_out()
        device = self.hidraw.pop(serial, None)
        if device is not None:
            self.devns.pull_out(device)

    def plug_in(self, serial: int) -> None:
        """The key comes back, power-cycled, with a new hidraw node (the lowest free number)."""
        key = self.key(serial)
        key.faults.plug_in()
        bridge = self.bridge(serial)
        bridge.plug_in()
        bridge.wait_ready()
        if self.devns is not None and key in self._usb_fido:
            self._plug_hidraw(key)

    def _plug_hidraw(self, key: VirtualKey) -> None:
        self.hidraw[key.serial] = self.devns.plug_in(key, self.keys.index(key) + 1)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of bugs in the virtual key and its FUSE server."""
        errors = [error for key in self.keys for error in key.card.internal_errors]
        if self.devns is not None:
            errors += [repr(error) for error in self.devns.errors]
        return errors

    def env(self) -> dict[str, str]:
        return self.pcscd.env()

    def key(self, serial: int) -> VirtualKey:
        return next(key for key in self.keys if key.serial == serial)

    def bridge(self, serial: int) -> VpcdBridge:
        return next(bridge for bridge in self.bridges if bridge.key.serial == serial)

    def __enter__(self) -> KeyRig:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
