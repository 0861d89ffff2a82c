"""Errors that end a command with one sentence and a documented exit code.

Messages never contain a secret: they name fields, files and credentials, not values.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # unexpected; a bug report is welcome
    USAGE = 2  # wrong options or arguments (click)
    BAD_INPUT = 3  # URI, secret, QR code or image that cannot be used
    NOT_FOUND = 4  # no credential matches, or several do where one is needed
    WRONG_PASSPHRASE = 5
    VAULT_DAMAGED = 6  # the vault file is damaged or was modified
    STORAGE = 7  # the vault cannot be read, written or locked
    CANCELLED = 8  # the user said no
    EXISTS = 9  # a credential with that name is already stored
    NOT_VERIFIED = 10  # the store computed a different code than the secret; it was removed
    OUTPUT = 11  # the output could not be written (a closed pipe, a full disk)
    KEY_UNAVAILABLE = 12  # no YubiKey, pcscd not running, or the key stopped answering
    TOUCH_TIMEOUT = 13  # the key was not touched in time
    KEY_FULL = 14  # the key has no free OATH slot
    NOT_SUPPORTED = 15  # the key's firmware cannot do what was asked
    CHECKS_FAILED = 16  # `hwotp doctor` found a problem


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILURE: "unexpected failure (please report it; HWOTP_DEBUG=1 shows where)",
    ExitCode.USAGE: "wrong options or arguments",
    ExitCode.BAD_INPUT: "the URI, setup key, QR code or image cannot be used",
    ExitCode.NOT_FOUND: "no credential matches, or several do where one is needed",
    ExitCode.WRONG_PASSPHRASE: "wrong vault passphrase or YubiKey OATH password",
    ExitCode.VAULT_DAMAGED: "the vault file is damaged or was modified (nothing was written)",
    ExitCode.STORAGE: "the vault cannot be read, written or locked",
    ExitCode.CANCELLED: "cancelled: the user said no, or there was no terminal to ask",
    ExitCode.EXISTS: "a credential with that name is already stored (see --force)",
    ExitCode.NOT_VERIFIED: "the stored copy gave a different code, so it was removed again",
    ExitCode.OUTPUT: "the output could not be written; changes made before that are kept",
    ExitCode.KEY_UNAVAILABLE: "no YubiKey could be used: none found, pcscd not running, "
    "or the key stopped answering (pulled out)",
    ExitCode.TOUCH_TIMEOUT: "the YubiKey was not touched in time",
    ExitCode.KEY_FULL: "the YubiKey has no room for another credential (see --fallback vault)",
    ExitCode.NOT_SUPPORTED: "the YubiKey's firmware cannot do this",
    ExitCode.CHECKS_FAILED: "hwotp doctor found a problem (each comes with its fix)",
}


class HwotpError(Exception):
    exit_code: ExitCode = ExitCode.FAILURE


class InputError(HwotpError):
    exit_code = ExitCode.BAD_INPUT


class NotFoundError(HwotpError):
    exit_code = ExitCode.NOT_FOUND


class WrongPassphraseError(HwotpError):
    exit_code = ExitCode.WRONG_PASSPHRASE


class VaultDamagedError(HwotpError):
    exit_code = ExitCode.VAULT_DAMAGED


class StorageError(HwotpError):
    exit_code = ExitCode.STORAGE


class CancelledError(HwotpError):
    exit_code = ExitCode.CANCELLED


class ExistsError(HwotpError):
    exit_code = ExitCode.EXISTS


class OutputError(HwotpError):
    exit_code = ExitCode.OUTPUT


class KeyUnavailableError(HwotpError):
    exit_code = ExitCode.KEY_UNAVAILABLE


class NoKeyError(KeyUnavailableError):
    """No YubiKey at all (as opposed to one that stopped answering)."""


class PcscUnavailableError(KeyUnavailableError):
    pass


class TouchTimeoutError(HwotpError):
    exit_code = ExitCode.TOUCH_TIMEOUT


class KeyFullError(HwotpError):
    exit_code = ExitCode.KEY_FULL


class NotSupportedError(HwotpError):
    exit_code = ExitCode.NOT_SUPPORTED


class HwotpWarning(UserWarning):
    """Something the user must hear about, though the command goes on; the command line
    prints it as one `hwotp: warning:` line."""
