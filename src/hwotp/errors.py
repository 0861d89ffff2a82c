"""Errors that end a command with one sentence and a documented exit code.

Messages never contain a secret: they name fields, files and credentials, not values.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # unexpected; a bug report is welcome
    USAGE = 2  # wrong options or arguments (click)
    BAD_INPUT = 3  # a URI, secret, QR code, image, name or passphrase that cannot be used
    NOT_FOUND = 4  # no credential matches, or several do where one is needed
    WRONG_PASSPHRASE = 5
    VAULT_DAMAGED = 6  # the vault file is damaged or was modified, or a rollback not accepted
    STORAGE = 7  # the vault cannot be read (none yet), written or locked
    CANCELLED = 8  # the user said no
    EXISTS = 9  # a credential with that name is already stored
    NOT_VERIFIED = 10  # the store computed a different code than the secret; it was removed
    OUTPUT = 11  # the output could not be written (a closed pipe, a full disk)
    KEY_UNAVAILABLE = 12  # no YubiKey, pcscd not running, or the key stopped answering
    TOUCH_TIMEOUT = 13  # the key was not touched in time
    KEY_FULL = 14  # the key has no free OATH slot
    NOT_SUPPORTED = 15  # the key's firmware cannot do what was asked
    CHECKS_FAILED = 16  # `hwotp doctor` found a problem
    PIN_REFUSED = 17  # a security key's PIN was wrong, blocked, not set or not accepted
    SECURITY_KEY_UNKNOWN = 18  # the security key plugged in opens no slot of this vault
    DESKTOP_UNAVAILABLE = 20  # no screen or clipboard to read: no display, or no tool for it


class Remedy(StrEnum):
    """What the user can do about an error. The command line words it with its own options:
    no layer below it names a flag."""

    REPLACE = "replace the stored one"
    REPLACE_CODES = "replace the recovery codes kept"
    NEW_CODES = "keep a new set of recovery codes"
    OTHER_NAME = "choose another name"
    NO_TOUCH = "store it without touch"
    PICK = "pick one of the entries"
    SETUP_KEY = "type the setup key instead"
    NAME_FORMAT = "name the file's format"
    NAME_READER = "name the reader"
    ALL_PARTS = "give every part of the export"
    PICK_SECURITY_KEY = "choose one of the security keys"
    RESET_SECURITY_KEY = "reset the security key"
    SCREENSHOT = "hand over a screenshot another way"
    FALLBACK = "store what does not fit in the vault"
    CHECK_BACKUP = "check the backup, then restore it"
    USE_SECURITY_KEY = "open it with a registered security key"
    ACCEPT_ROLLBACK = "accept the older copy as the vault"


class HwotpError(Exception):
    """`message` is one sentence without a secret; `remedy` what the user can do; `context`
    what else the user must know (what a batch stored before failing, where copies are)."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, remedy: Remedy | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.context: list[str] = []
        # (name, location) of writes that could be neither proven nor removed (a key pulled
        # out): the command line names the command that shows whether each is there.
        self.left_behind: list[tuple[str, str]] = []

    def add_context(self, text: str) -> None:
        self.context.append(text)

    def __str__(self) -> str:
        return self.message + "".join(f" ({text})" for text in self.context)


class ArgumentError(HwotpError):
    """A command's option or argument that parsed but is out of range (`--pick 13` of 12)."""

    exit_code = ExitCode.USAGE


class InputError(HwotpError):
    exit_code = ExitCode.BAD_INPUT


class NotFoundError(HwotpError):
    exit_code = ExitCode.NOT_FOUND


class WrongPassphraseError(HwotpError):
    exit_code = ExitCode.WRONG_PASSPHRASE


class VaultDamagedError(HwotpError):
    exit_code = ExitCode.VAULT_DAMAGED


class RolledBackError(VaultDamagedError):
    """The vault file is older than a version of it seen before (a rollback): writing it would
    bury the newer version's changes and hand out HOTP and recovery codes a second time, so it
    is read-only until the user accepts it."""

    def __init__(self, path: Path, generation: int, seen: int) -> None:
        super().__init__(
            f"{path} is generation {generation}, older than generation {seen} seen before (a "
            "rollback): nothing is written to it and it gives no HOTP or recovery code until "
            "the older copy is accepted",
            remedy=Remedy.ACCEPT_ROLLBACK,
        )


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


class PinRefusedError(HwotpError):
    """A security key's PIN was wrong, blocked, not set, or a new one was not accepted."""

    exit_code = ExitCode.PIN_REFUSED


class WrongPinError(PinRefusedError):
    pass


class PinBlockedError(PinRefusedError):
    """Eight wrong PINs: only a reset of the key helps."""


class PinNotSetError(PinRefusedError):
    pass
class DesktopUnavailableError(HwotpError):
    """The screen or the clipboard cannot be read: no display, or no tool that reads it."""

    exit_code = ExitCode.DESKTOP_UNAVAILABLE
class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a write, with what was undone or left (one sentence each);
    the command line ends it as any interrupt (exit 130)."""

    def __init__(self) -> None:
        super().__init__()
        self.context: list[str] = []
        self.left_behind: list[tuple[str, str]] = []

    def add_context(self, text: str) -> None:
        self.context.append(text)

    def __str__(self) -> str:
        return "".join(f" ({text})" for text in self.context)


class UnregisteredKeyError(HwotpError):
    """The security key(s) plugged in are not registered to this vault, or none is."""

    exit_code = ExitCode.SECURITY_KEY_UNKNOWN


class HwotpWarning(UserWarning):
    """Something the user must hear about, though the command goes on; the command line
    prints it as one `hwotp: warning:` line."""
