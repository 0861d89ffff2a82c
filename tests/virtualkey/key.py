"""A virtual YubiKey 5: management, OATH and FIDO2 applets on one card, one user-presence policy,
one APDU log and one set of faults. Nothing here imports hwotp.

Seen over USB (the default), the card offers management and OATH only: a real YubiKey 5 answers
FIDO2 on its HID interface and refuses the FIDO applet over CCID (6A82). Seen over NFC
(`transport="nfc"`), the card offers FIDO2 too, as a YubiKey 5 NFC does on a reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .card import NFC_ATR, YUBIKEY5_ATR, Card
from .ctap.authenticator import Authenticator, aaguid_for
from .faults import Faults
from .fido import FidoApplet
from .log import ApduLog
from .management import FORM_FACTOR_USB_A_KEYCHAIN, ManagementApplet
from .oath import OathApplet
from .presence import Presence

DEFAULT_FIRMWARE = (5, 7, 2)
FIDO2_FIRMWARE = (5, 0, 0)  # a YubiKey 4 has U2F, not FIDO2


@dataclass(frozen=True)
class KeyConfig:
    serial: int = 12345678
    firmware: tuple[int, int, int] = DEFAULT_FIRMWARE
    form_factor: int = FORM_FACTOR_USB_A_KEYCHAIN
    touch: str = "auto"  # presence policy: auto, deny or signal
    touch_delay: float = 0.0
    touch_timeout: float = 1.0
    transport: str = "usb"  # usb: a key in a USB port; nfc: a YubiKey 5 NFC on a reader
    nfc: bool = True  # the model has NFC (a YubiKey 5 NFC); False: a YubiKey 5 or 5C

    def __post_init__(self) -> None:
        if self.transport not in ("usb", "nfc"):
            raise ValueError("transport is usb or nfc")
        if self.transport == "nfc" and not self.nfc:
            raise ValueError("a model without NFC cannot sit on an NFC reader")

    @property
    def has_fido2(self) -> bool:
        return self.firmware >= FIDO2_FIRMWARE


class VirtualKey:
    def __init__(
        self,
        config: KeyConfig | None = None,
        control_dir: Path | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        """`authenticator`: one a test built itself (its own presence policy), else a new one."""
        self.config = config = config or KeyConfig()
        touch_file = control_dir / f"{config.serial}.touch" if control_dir else None
        log_file = control_dir / f"{config.serial}.apdu.jsonl" if control_dir else None
        self.presence = Presence(config.touch, config.touch_delay, config.touch_timeout, touch_file)
        self.faults = Faults()
        self.log = ApduLog(log_file)
        self.management = ManagementApplet(
            config.serial, config.firmware, config.form_factor, nfc=config.nfc,
            fido2=config.has_fido2,
        )
        self.oath = OathApplet(config.firmware, self.presence)
        self.authenticator = authenticator or Authenticator(
            config.firmware, self.presence, aaguid=aaguid_for(config.form_factor, config.nfc)
        )
        self.fido = FidoApplet(self.authenticator)
        applets = [self.management, self.oath]
        if config.transport == "nfc" and config.has_fido2:
            applets.append(self.fido)
        atr = NFC_ATR if config.transport == "nfc" else YUBIKEY5_ATR
        self.card = Card(applets, atr=atr, faults=self.faults, log=self.log)

    @property
    def serial(self) -> int:
        return self.config.serial

    @property
    def atr(self) -> bytes:
        return self.card.atr

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.transmit(apdu)

    def reset(self) -> None:
        """A reconnect: applets deselected (OATH locks again); the key stays powered."""
        self.card.reset()

    def power_cycle(self) -> None:
        """Pulled out and plugged in: a reconnect, and FIDO2 forgets tokens and power-up state."""
        self.card.reset()
        self.authenticator.power_cycle()

    def reader_power(self) -> None:
        """The reader powers the card off, on or resets it (PC/SC IFD_POWER_DOWN / UP / RESET).
        On an NFC reader that is the RF field going off and on, and the field is all the power
        a YubiKey NFC has there: a power cycle (PIN tokens and the PIN_AUTH_BLOCKED state go,
        the reset window opens again). In a USB port the key keeps its power and only the
        card is reset.
        # choice: a contactless reader's warm reset is also taken as the field going off."""
        if self.config.transport == "nfc":
            self.power_cycle()
        else:
            self.reset()

    def touch(self) -> None:
        self.presence.touch()
