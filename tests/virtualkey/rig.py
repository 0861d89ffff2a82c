"""Virtual keys plugged into a private pcscd: what `with-keys` and the pcscd tests run on."""

from __future__ import annotations

from pathlib import Path

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
    ) -> None:
        """`keys`: configurations of new keys, or keys a test built itself."""
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

    def start(self) -> None:
        self.pcscd.start()
        try:
            for bridge in self.bridges:
                bridge.plug_in()
            for bridge in self.bridges:
                bridge.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for bridge in self.bridges:
            bridge.pull_out()
        self.pcscd.stop()

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
