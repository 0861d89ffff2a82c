"""CTAP status codes the authenticator answers, and the exception that carries one."""

from __future__ import annotations

from enum import IntEnum


class CtapStatus(IntEnum):
    """CTAP 2.1 section 8.2's status codes; they print by name, as python-fido2's
    `CtapError.ERR` does, so a failing test names the status it got."""

    OK = 0x00
    INVALID_COMMAND = 0x01
    INVALID_PARAMETER = 0x02
    INVALID_LENGTH = 0x03
    INVALID_SEQ = 0x04
    CBOR_UNEXPECTED_TYPE = 0x11
    INVALID_CBOR = 0x12
    MISSING_PARAMETER = 0x14
    LARGE_BLOB_STORAGE_FULL = 0x18
    CREDENTIAL_EXCLUDED = 0x19
    UNSUPPORTED_ALGORITHM = 0x26
    OPERATION_DENIED = 0x27
    KEY_STORE_FULL = 0x28
    UNSUPPORTED_OPTION = 0x2B
    INVALID_OPTION = 0x2C
    KEEPALIVE_CANCEL = 0x2D
    NO_CREDENTIALS = 0x2E
    USER_ACTION_TIMEOUT = 0x2F
    NOT_ALLOWED = 0x30
    PIN_INVALID = 0x31
    PIN_BLOCKED = 0x32
    PIN_AUTH_INVALID = 0x33
    PIN_AUTH_BLOCKED = 0x34
    PIN_NOT_SET = 0x35
    PUAT_REQUIRED = 0x36
    PIN_POLICY_VIOLATION = 0x37
    REQUEST_TOO_LARGE = 0x39
    INTEGRITY_FAILURE = 0x3D
    INVALID_SUBCOMMAND = 0x3E
    UNAUTHORIZED_PERMISSION = 0x40
    OTHER = 0x7F

    def __str__(self) -> str:
        return f"{self.name} (0x{self.value:02X})"


# Keepalive status bytes (CTAPHID KEEPALIVE, NFC 9100 answers).
STATUS_PROCESSING = 1
STATUS_UPNEEDED = 2


class CtapFailure(Exception):
    """Ends a command: the authenticator answers this status byte and nothing else."""

    def __init__(self, status: int, message: str = "") -> None:
        self.status = CtapStatus(status)  # prints by name, whoever raised it
        super().__init__(message or str(self.status))
