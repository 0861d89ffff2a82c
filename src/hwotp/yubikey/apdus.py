"""One debug line per APDU: applet, instruction, P1/P2, sizes and status word; never data.

APDU data carries the secret (PUT), the access key's response and challenge (VALIDATE,
SET_CODE), credential names and codes, so only the four header bytes and the lengths are
logged, as the virtual key's own APDU log does. The applet an instruction belongs to is named
from the AID of the last SELECT (a public constant), never printed as bytes.
"""

from __future__ import annotations

import itertools

from hwotp.debuglog import Logger

INS_SELECT, P1_BY_AID = 0xA4, 0x04

APPLETS = {
    bytes.fromhex("a0000005272101"): "OATH",
    bytes.fromhex("a000000527471117"): "management",
    bytes.fromhex("a0000005272001"): "OTP",
    bytes.fromhex("a0000006472f0001"): "FIDO",
}

INSTRUCTIONS = {
    "OATH": {
        0x01: "PUT", 0x02: "DELETE", 0x03: "SET_CODE", 0x04: "RESET", 0x05: "RENAME",
        0xA1: "LIST", 0xA2: "CALCULATE", 0xA3: "VALIDATE", 0xA4: "CALCULATE_ALL",
        0xA5: "SEND_REMAINING",
    },
    "management": {0x16: "SET_MODE", 0x1C: "WRITE_CONFIG", 0x1D: "READ_CONFIG",
                   0x1F: "DEVICE_RESET"},
}

STATUSES = {
    0x9000: "OK",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6982: "security status not satisfied",
    0x6984: "no such object",
    0x6985: "conditions not satisfied",
    0x6A80: "wrong data",
    0x6A82: "not found",
    0x6A84: "no space",
    0x6D00: "instruction not supported",
}

_numbers = itertools.count(1)  # one sequence per process, over both paths


class ApduLog:
    """The APDUs of one connection, written to `logger` at debug level."""

    def __init__(self, logger: Logger, applet: str | None = None) -> None:
        self.logger = logger
        self.applet = applet

    def record(self, apdu: bytes, answer_bytes: int, sw: int) -> None:
        number = next(_numbers)
        if _is_select(apdu):
            self.applet = APPLETS.get(_aid(apdu), "an unknown applet") if sw == 0x9000 else None
        if self.logger.debugging():
            self.logger.debug("APDU %d %s, %d bytes sent, %d received, SW %04X (%s)",
                              number, self.describe(apdu), len(apdu), answer_bytes, sw,
                              status_name(sw))

    def describe(self, apdu: bytes) -> str:
        """`OATH PUT: CLA 00 INS 01 P1 00 P2 00`: the header only."""
        header = " ".join(f"{name} {value:02X}" for name, value in
                          zip(("CLA", "INS", "P1", "P2"), apdu[:4], strict=False))
        if _is_select(apdu):
            return f"SELECT {APPLETS.get(_aid(apdu), 'an unknown applet')}: {header}"
        if len(apdu) < 2:
            return header or "empty"
        name = INSTRUCTIONS.get(self.applet or "", {}).get(apdu[1], "instruction")
        return f"{self.applet or 'no applet'} {name}: {header}"


def status_name(sw: int) -> str:
    if sw >> 8 == 0x61:
        return "more data"
    if sw >> 8 == 0x63:
        return "verification failed"
    return STATUSES.get(sw, "error")


def _is_select(apdu: bytes) -> bool:
    return len(apdu) >= 3 and apdu[1] == INS_SELECT and apdu[2] == P1_BY_AID


def _aid(apdu: bytes) -> bytes:
    return apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
