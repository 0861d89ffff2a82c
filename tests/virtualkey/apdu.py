"""ISO 7816-4 command APDUs: parsing short and extended forms, status words, applet errors."""

from __future__ import annotations

from dataclasses import dataclass

# Status words the virtual key answers (ISO 7816-4 and YKOATH).
SW_OK = 0x9000
SW_MORE_DATA = 0x6100  # low byte: how many bytes remain (00 means 256 or more)
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_CONDITION_NOT_SATISFIED = 0x6982
SW_DATA_INVALID = 0x6984
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FILE_NOT_FOUND = 0x6A82
SW_NO_SPACE = 0x6A84
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00

CLA_CHAINING = 0x10
INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0


class ApduError(Exception):
    """An applet refuses a command: the card answers this status word (and no data)."""

    def __init__(self, sw: int, message: str = "", data: bytes = b"") -> None:
        super().__init__(message or f"SW {sw:04X}")
        self.sw = sw
        self.data = data  # rarely non-empty: a status such as FIDO's 9100 "still working"


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int = 0  # 0 means "as much as there is" (Le absent, 00 or 0000)
    extended: bool = False

    @property
    def chained(self) -> bool:
        """True when more parts of this command follow (ISO 7816 command chaining)."""
        return bool(self.cla & CLA_CHAINING)


def parse_command(apdu: bytes) -> Command:
    """Parses the four ISO 7816-4 cases in short and extended form; ApduError(6700) if malformed."""
    if len(apdu) < 4:
        raise ApduError(SW_WRONG_LENGTH, "APDU shorter than its header")
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:  # case 1
        return Command(cla, ins, p1, p2)
    if len(body) == 1:  # case 2 short
        return Command(cla, ins, p1, p2, le=body[0])
    if body[0] != 0:  # case 3 or 4 short
        lc = body[0]
        data = body[1 : 1 + lc]
        rest = body[1 + lc :]
        if len(data) != lc or len(rest) > 1:
            raise ApduError(SW_WRONG_LENGTH, "short APDU length does not match Lc")
        return Command(cla, ins, p1, p2, data, rest[0] if rest else 0)
    return _parse_extended(cla, ins, p1, p2, body)


def _parse_extended(cla: int, ins: int, p1: int, p2: int, body: bytes) -> Command:
    if len(body) == 3:  # case 2 extended: 00 Le1 Le2
        return Command(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big"), extended=True)
    if len(body) < 4:
        raise ApduError(SW_WRONG_LENGTH, "extended APDU too short")
    lc = int.from_bytes(body[1:3], "big")
    data = body[3 : 3 + lc]
    rest = body[3 + lc :]
    if lc == 0 or len(data) != lc or len(rest) not in (0, 2):
        raise ApduError(SW_WRONG_LENGTH, "extended APDU length does not match Lc")
    le = int.from_bytes(rest, "big") if rest else 0
    return Command(cla, ins, p1, p2, data, le, extended=True)
