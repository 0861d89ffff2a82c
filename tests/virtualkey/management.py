"""Management applet: SELECT answers the firmware version, READ CONFIG the device-info TLV that
`ykman list` / `ykman info` read (serial, firmware, form factor, capabilities per transport)."""

from __future__ import annotations

from dataclasses import dataclass

from .apdu import SW_INS_NOT_SUPPORTED, SW_WRONG_P1P2, ApduError, Command
from .tlv import encode

INS_READ_CONFIG = 0x1D

FORM_FACTOR_USB_A_KEYCHAIN = 0x01

# Capability bits as yubikit's CAPABILITY: only what this key implements is offered.
CAPABILITY_OATH = 0x20
CAPABILITY_FIDO2 = 0x200

TAG_USB_SUPPORTED = 0x01
TAG_SERIAL = 0x02
TAG_USB_ENABLED = 0x03
TAG_FORM_FACTOR = 0x04
TAG_VERSION = 0x05
TAG_AUTO_EJECT_TIMEOUT = 0x06
TAG_CHALRESP_TIMEOUT = 0x07
TAG_DEVICE_FLAGS = 0x08
TAG_CONFIG_LOCK = 0x0A
TAG_NFC_SUPPORTED = 0x0D
TAG_NFC_ENABLED = 0x0E


@dataclass
class ManagementApplet:
    serial: int
    firmware: tuple[int, int, int]
    form_factor: int = FORM_FACTOR_USB_A_KEYCHAIN
    nfc: bool = True
    fido2: bool = True

    name = "management"
    aid = bytes.fromhex("a000000527471117")
    send_remaining_ins = None
    response_limit = None

    def select(self, command: Command) -> bytes:
        return ".".join(str(part) for part in self.firmware).encode()

    def process(self, command: Command) -> bytes:
        if command.ins != INS_READ_CONFIG:
            raise ApduError(SW_INS_NOT_SUPPORTED, "the management applet only reads its config")
        if command.p1 != 0:  # one page is enough for what this key reports
            raise ApduError(SW_WRONG_P1P2, "no such device-info page")
        info = self.device_info()
        return bytes([len(info)]) + info

    def deselect(self) -> None:
        pass

    def device_info(self) -> bytes:
        bits = CAPABILITY_OATH | (CAPABILITY_FIDO2 if self.fido2 else 0)
        capabilities = bits.to_bytes(2, "big")
        fields = [
            encode(TAG_USB_SUPPORTED, capabilities),
            encode(TAG_SERIAL, self.serial.to_bytes(4, "big")),
            encode(TAG_USB_ENABLED, capabilities),
            encode(TAG_FORM_FACTOR, bytes([self.form_factor])),
            encode(TAG_VERSION, bytes(self.firmware)),
            encode(TAG_AUTO_EJECT_TIMEOUT, b"\0\0"),
            encode(TAG_CHALRESP_TIMEOUT, b"\x0f"),
            encode(TAG_DEVICE_FLAGS, b"\0"),
            encode(TAG_CONFIG_LOCK, b"\0"),
        ]
        if self.nfc:
            fields.append(encode(TAG_NFC_SUPPORTED, capabilities))
            fields.append(encode(TAG_NFC_ENABLED, capabilities))
        return b"".join(fields)
