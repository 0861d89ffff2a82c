"""What the commands share: where the vault is and how to ask for its passphrase."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hwotp.cli.failures import prefixed
from hwotp.cli.output import note
from hwotp.cli.process import secret_variable
from hwotp.errors import CancelledError, InputError

if TYPE_CHECKING:
    from hwotp.cli.config import Config
    from hwotp.errors import HwotpError
    from hwotp.fido2.device import SecurityKey
    from hwotp.stores import Store
    from hwotp.stores.vault import VaultStore
    from hwotp.stores.yubikey import YubiKeyStore
    from hwotp.usecases.backup import Match
    from hwotp.vault import KeyAnswer, Vault
    from hwotp.vault.strength import Floor
    from hwotp.yubikey.device import YubiKey


def clock() -> float:
    """The time codes are computed for; tests replace it to fix the time."""
    return time.time()


class App:
    """What one command works with: the options that choose keys and the vault, and what it
    found of them. The defaults are the class's; the options' callbacks set what was given."""

    vault_override: Path | None = None
    # Which keys (`--device`, `--reader`), whether the vault joins in, the OATH password.
    serials: tuple[int, ...] = ()
    reader: str | None = None
    no_vault: bool = False
    oath_password: str | None = None
    remember: bool = False
    weak_passphrase: bool = False  # --weak-passphrase: no strength floor (throwaway vaults)
    next_within: float | None = None  # --next-within; None: the config's
    stdin_taken: str | None = None  # the option that reads standard input (`--uri -`)
    use_passphrase: bool = False  # --use-passphrase: never a security key for the vault
    use_security_key: bool = False  # --use-security-key: standard input holds no passphrase
    _passphrase_read_ahead: str | None = None  # the line read before a key was tried
    _stdin_left_for_data = False  # the script chose the key: its standard input is data
    _found: list[YubiKey] | None = None  # every key present
    _keys: list[YubiKey] | None = None  # those chosen
    _keys_chosen_for_reading = False
    _security_keys: list[SecurityKey] | None = None
    _config: Config | None = None

    def __init__(self, vault_override: Path | None = None, *, oath_password: str | None = None,
                 use_passphrase: bool = False, use_security_key: bool = False) -> None:
        self.vault_override = vault_override
        self.oath_password = oath_password
        self.use_passphrase = use_passphrase
        self.use_security_key = use_security_key

    @property
    def config(self) -> Config:
        """The config file's settings, read when first needed (`config path` reads none)."""
        if self._config is None:
            from hwotp.cli.config import load

            self._config = load()
        return self._config

    @property
    def vault_path(self) -> Path:
        if self.vault_override is not None:
            return self.vault_override
        if self.config.vault is not None:
            return self.config.vault
        from hwotp.cli.config import default_vault_path

        return default_vault_path()

    @property
    def vault_left_out(self) -> bool:
        return self.no_vault or not self.config.use_vault

    @property
    def chosen_serials(self) -> tuple[int, ...]:
        """--device, else the config's default key."""
        if self.serials or self.reader:
            return self.serials
        return (self.config.device,) if self.config.device is not None else ()

    def inform(self, topic: str, message: str) -> None:
        """A note about the machine's state (no key, pcscd down, a vault left out): shown once
        per situation, never when the config says quiet."""
        from hwotp.cli.config import first_time

        if not self.config.quiet and first_time(topic, message):
            note(message)

    def situation_over(self, topic: str) -> None:
        from hwotp.cli.config import forget

        forget(topic)

    def vault_store(self, held: bool = True, security_key: bool = True) -> VaultStore:
        """`held`: the key `hwotp unlock` keeps may open it; False where a way in must be
        proven in this command (changing key slots, unlocking). `security_key`: a plugged
        registered key may open it; False where the current passphrase itself is asked."""
        from hwotp.stores.vault import VaultStore

        opener = self.open_with_security_key if security_key else None
        return VaultStore(self.vault_path, self.ask_passphrase, held=held, security_key=opener)

    def stores(self) -> list[Store]:
        """Every chosen key, then the vault (unless --no-vault), for a command that changes
        them (`delete`, `rename`). No key is one note, not an error, unless keys were asked for
        by serial or the vault is off."""
        stores: list[Store] = list(self.keys_or_note(reading=False))
        if not self.vault_left_out:
            stores.append(self.vault_store())
        return stores

    def keys_or_note(self, *, reading: bool) -> list[YubiKeyStore]:
        """The keys of a command that also works on the vault; none found is a note (the vault
        may answer) unless keys were asked for by serial or reader, or the vault is left out.
        `reading`: see `keys`."""
        from hwotp.errors import KeyUnavailableError

        if not self.config.keys and not (self.serials or self.reader):
            return []  # the config says this machine has none: do not look, do not say
        try:
            stores = self.key_stores(reading=reading)
        except KeyUnavailableError as error:
            if self.chosen_serials or self.reader or self.vault_left_out:
                raise
            self.inform("keys", f"{error}; using the vault only.")
            return []
        self.situation_over("keys")
        return stores

    def reading_vault(self) -> VaultStore | None:
        """The vault for `code` and `list`, or None when it is left out or absent. Asking for
        its passphrase where nobody can answer raises VaultLeftOut, not an input error."""
        if self.vault_left_out or not self.vault_path.exists():
            return None  # no vault file: no vault code is loaded either
        from hwotp.stores.vault import VaultStore

        return VaultStore(self.vault_path, self._passphrase_or_leave_out,
                          security_key=self._security_key_or_leave_out)

    def vault_would_prompt(self) -> bool:
        """Whether opening the vault waits for a person (at the terminal, or a touch)."""
        from hwotp.vault import kernelkeys

        if kernelkeys.held(self.vault_path) is not None:
            return False  # `hwotp unlock` opens it silently
        if self._security_key_may_open():
            return True
        return is_terminal() and secret_variable("HWOTP_PASSPHRASE") is None

    def _passphrase_or_leave_out(self, creating: bool) -> str:
        try:
            return self.ask_passphrase(creating)
        except NoAnswerError as error:
            raise VaultLeftOut(error) from None

    def _security_key_or_leave_out(self, path: Path) -> Vault | None:
        try:
            return self.open_with_security_key(path)
        except NoAnswerError as error:  # the slot's PIN, and nobody to give it
            raise VaultLeftOut(error) from None

    def _security_key_may_open(self, path: Path | None = None) -> bool:
        """The vault (or the file at `path`) has security key slots and nothing says to use
        the passphrase instead: its header is read, no key is asked."""
        if self.use_passphrase or secret_variable("HWOTP_PASSPHRASE") is not None:
            return False
        from hwotp.errors import HwotpError
        from hwotp.vault import Vault

        path = path or self.vault_path
        try:
            return path.exists() and bool(Vault.security_key_slots(path))
        except HwotpError:  # a damaged vault: opening it says so, in its turn
            return False

    def open_with_security_key(self, path: Path) -> Vault | None:
        """The vault opened by a plugged security key registered to it (a touch, the PIN if
        its slot uses one), or None: see `security_key_for`."""
        match = self.security_key_for(path)
        if match is None:
            return None
        from hwotp.usecases import backup

        return backup.open_with(match, path, self._pin_to_open, touch_prompt)

    def security_key_answer(self, path: Path) -> KeyAnswer | None:
        """What a plugged security key registered to the vault file at `path` answers for its
        slot (to check or restore a backup the same way the vault is opened), or None."""
        match = self.security_key_for(path)
        if match is None:
            return None
        from hwotp.usecases import backup
        from hwotp.vault import KeyAnswer

        return KeyAnswer(match.slot.id, backup.answer(match, self._pin_to_open, touch_prompt))

    def security_key_for(self, path: Path) -> Match | None:
        """The plugged security key registered to the vault file at `path` that is to open it,
        or None: no key slot, none plugged, or the passphrase asked for (--use-passphrase,
        HWOTP_PASSPHRASE, or a line of standard input, see `_passphrase_line_first`). A
        plugged key that is not registered is a note, and the passphrase is asked."""
        if not self._security_key_may_open(path):
            return None
        if self._passphrase_line_first():
            line = stdin_line("vault passphrase")
            if line is not None:
                self._passphrase_read_ahead = line
                return None
        elif not is_terminal() and self.stdin_taken is None:
            self._stdin_left_for_data = True
        from hwotp.usecases import backup

        keys = self.security_keys()
        found = backup.matches(path, keys) if keys else []
        if not found:
            if keys:
                names = ", ".join(key.name for key in keys)
                these, verb = ("key", "is") if len(keys) == 1 else ("keys", "are")
                note(f"The security {these} plugged in ({names}) {verb} not registered to this "
                     "vault; using the passphrase.")
            return None
        return found[0]

    def _passphrase_line_first(self) -> bool:
        """Whether standard input is read for the passphrase before any key is tried. A script
        gives the passphrase as its first line; were a key tried first, that line would be
        sent to the key as its PIN (costing a try) or left for the command to read as data.
        So with no terminal the line is read first, and a key opens the vault only when there
        is none (an empty input: a launcher, cron), unless the script chose the key
        (--use-security-key, HWOTP_FIDO2_PIN) or an option reads standard input itself."""
        return not is_terminal() and self.stdin_taken is None and not self._key_chosen()

    def _key_chosen(self) -> bool:
        return self.use_security_key or bool(secret_variable("HWOTP_FIDO2_PIN"))  # "" is unset

    def _pin_to_open(self, key: SecurityKey) -> str:
        """The PIN of a key opening the vault: at a terminal, or HWOTP_FIDO2_PIN; never a line
        of standard input, which may be a passphrase or a command's data."""
        if is_terminal() or secret_variable("HWOTP_FIDO2_PIN"):
            return self.ask_security_key_pin(key)
        why = (f"standard input was read for {self.stdin_taken}" if self.stdin_taken
               else "a PIN that opens the vault is never read from standard input")
        raise NoAnswerError(f"no PIN for {key.name}: {why}; set HWOTP_FIDO2_PIN")

    def security_keys(self) -> list[SecurityKey]:
        """The FIDO2 security keys present (USB and NFC), found once per command."""
        if self._security_keys is None:
            from hwotp.fido2.device import find_security_keys

            self._security_keys = find_security_keys()
        return self._security_keys

    def ask_security_key_pin(self, key: SecurityKey) -> str:
        """A security key's PIN: HWOTP_FIDO2_PIN, else the terminal, else one line of input
        (unless an option has read it)."""
        return read_hidden(f"PIN for {key.name}", variable="HWOTP_FIDO2_PIN",
                           stdin_taken=self.stdin_taken)

    def keys(self, reading: bool = False) -> list[YubiKey]:
        """The YubiKeys of this command: all found, or those named by --device. `reading`: the
        command only reads codes and names, so a key seen before may be named by the serial the
        key cache remembers; a command that writes has each key read its own serial."""
        if self._found is None:
            from hwotp.yubikey.device import find_keys

            hook = self._remember_access_key if self.remember else None
            self._found = find_keys(self.reader, hook)
        if self._keys is None or (self._keys_chosen_for_reading and not reading):
            from hwotp.yubikey.device import choose

            self._keys = choose(self._found, self.chosen_serials, reading)
            self._keys_chosen_for_reading = reading
        return self._keys

    def key_stores(self, touch: bool = True, reading: bool = False) -> list[YubiKeyStore]:
        from hwotp.stores.yubikey import YubiKeyStore

        return [
            YubiKeyStore(key, self.ask_oath_password, touch, touch_prompt=note)
            for key in self.keys(reading)
        ]

    def ask_oath_password(self, key_label: str, failed: bool) -> str:
        """--password, else HWOTP_OATH_PASSWORD (`oath_password` when the command started), else
        the terminal (again after a wrong one), else one line of standard input."""
        from hwotp.errors import WrongPassphraseError

        given = self.oath_password
        if failed and (given is not None or not is_terminal()):
            raise WrongPassphraseError(f"wrong OATH password for {key_label}")
        if failed:
            note(prefixed("wrong password; try again"))  # a wrong answer, said as an error is
        if given is not None:
            return given
        return read_hidden(f"OATH password for {key_label}", variable="HWOTP_OATH_PASSWORD",
                           stdin_taken=self.stdin_taken)

    def _remember_access_key(self, device_id: str, access_key: bytes) -> None:
        from hwotp.yubikey import remember

        if remember.remember(device_id, access_key):
            note("Remembered the OATH password's key in the OS keyring.")
        else:
            note("No usable OS keyring: the OATH password was not remembered.")

    def close(self) -> None:
        for key in self._found or []:
            key.close()
        for security_key in self._security_keys or []:
            security_key.close()

    def now(self) -> float:
        return clock()

    def threshold(self) -> float:
        """Seconds left below which a code comes with the next one: --next-within, else the
        config's (5 s unless set)."""
        return self.config.next_within if self.next_within is None else self.next_within

    def ask_passphrase(self, creating: bool) -> str:
        """The vault passphrase; `creating` asks twice and says where the new vault goes."""
        if creating and is_terminal() and secret_variable("HWOTP_PASSPHRASE") is None:
            note(f"Creating a new vault at {self.vault_path}.")
        if not creating:
            return self._passphrase_to_open()
        return self._strong_passphrase("HWOTP_PASSPHRASE")

    def _passphrase_to_open(self) -> str:
        """The line read before a key was tried, else as `read_hidden` finds it. A script that
        chose the key (--use-security-key) gives no passphrase on standard input: its data
        there is never read as one."""
        if self._passphrase_read_ahead is not None:
            line, self._passphrase_read_ahead = self._passphrase_read_ahead, None
            return checked_secret(line, "vault passphrase")
        if self._stdin_left_for_data:  # HWOTP_PASSPHRASE would have kept the key out
            raise NoAnswerError("no vault passphrase: no registered security key opened the "
                                "vault, and with --use-security-key or HWOTP_FIDO2_PIN set "
                                "standard input is not read for it; set HWOTP_PASSPHRASE")
        return read_hidden("Vault passphrase", variable="HWOTP_PASSPHRASE",
                           stdin_taken=self.stdin_taken)

    def ask_new_passphrase(self) -> str:
        """A replacement passphrase: asked twice, or HWOTP_NEW_PASSPHRASE, or the next line."""
        return self._strong_passphrase("HWOTP_NEW_PASSPHRASE")

    def _strong_passphrase(self, variable: str) -> str:
        """A new passphrase above the floor (unless --weak-passphrase)."""
        return read_strong("New vault passphrase", variable, stdin_taken=self.stdin_taken,
                           allow_weak=self.weak_passphrase,
                           weak_option="--weak-passphrase for a throwaway vault")

    def existing_vault_store(self, held: bool = True, security_key: bool = True) -> VaultStore:
        """`vault_store`, for a command that needs a vault already there."""
        store = self.vault_store(held=held, security_key=security_key)
        if not store.exists():
            raise self.no_vault_yet()
        return store

    def no_vault_yet(self) -> HwotpError:
        """No vault file yet: one sentence that says how one is made (exit 7, the vault cannot
        be read)."""
        from hwotp.errors import StorageError

        return StorageError(f"there is no vault at {self.vault_path} yet; 'hwotp enroll "
                            "--in-vault' creates it with a first credential")


def start(vault_path: Path | None = None, use_passphrase: bool = False,
          use_security_key: bool = False) -> App:
    """What every command starts from, whichever parser read its command line."""
    from hwotp.cli.process import forbid_core_dumps

    forbid_core_dumps()  # every command may come to hold a passphrase or a secret
    return App(vault_path, oath_password=secret_variable("HWOTP_OATH_PASSWORD"),
               use_passphrase=use_passphrase, use_security_key=use_security_key)


def touch_prompt(key: SecurityKey, label: str) -> None:
    """Said when the key waits for a touch (python-fido2 hears it from the key)."""
    note(f"Touch your security key {label} ({key.name}).")


class NoAnswerError(CancelledError):
    """A secret was needed and there was nobody and nothing to give it (exit 8: no terminal to
    ask)."""


class VaultLeftOut(Exception):
    """An outcome `code` and `list` expect: the vault could not be opened without a person;
    `cause` says what was missing."""

    def __init__(self, cause: NoAnswerError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def read_hidden(
    label: str, variable: str | None = None, twice: bool = False, stdin_taken: str | None = None
) -> str:
    """A secret input from `variable`, else the terminal without echo, else one line of
    standard input (scripts), unless an option (`stdin_taken`) has read it already; an empty
    answer is an error."""
    what = _in_a_sentence(label)
    value = secret_variable(variable) if variable else None
    if value is None and is_terminal():
        from hwotp.cli.prompts import ask_hidden

        value = ask_hidden(label, twice)
    elif value is None and stdin_taken is not None:
        where = f"set {variable}" if variable else "type it at a terminal"
        raise NoAnswerError(f"no {what}: standard input was read for {stdin_taken}; {where}")
    elif value is None:
        value = stdin_line(what)
        if value is None:  # nothing to read and no terminal to ask: not bad input, no input
            where = f"set {variable}, " if variable else ""
            raise NoAnswerError(
                f"no {what}: type it at a terminal, {where}"
                "or give it as one line on standard input"
            )
    return checked_secret(value, what)


def read_strong(label: str, variable: str, *, allow_weak: bool, weak_option: str,
                stdin_taken: str | None = None, floor: Floor | None = None) -> str:
    """A new secret guarding a file anyone may copy and search offline (the vault, an export),
    asked twice, above `floor` of `vault.strength` (the vault's by default) unless
    `allow_weak`: at a terminal a weak one is explained and asked again, anywhere else it ends
    the command."""
    from hwotp.vault.strength import VAULT, weakness

    while True:
        secret = read_hidden(label, variable=variable, twice=True, stdin_taken=stdin_taken)
        problem = None if allow_weak else weakness(secret, floor or VAULT)
        if problem is None:
            return secret
        if not is_terminal() or secret_variable(variable) is not None:
            raise InputError(f"the {_in_a_sentence(label)} is too weak ({problem}): use several "
                             f"unrelated words, or {weak_option}")
        note(f"Too weak ({problem}): use several unrelated words.")


def stdin_line(what: str) -> str | None:
    """One line of standard input, or None at its end (or with no standard input at all)."""
    try:
        line = sys.stdin.readline() if sys.stdin else ""
    except UnicodeDecodeError:
        raise InputError(f"the {what} is not valid text (UTF-8)") from None
    return line or None


def checked_secret(value: str, what: str) -> str:
    """A secret as typed or read: without its line end, not empty, valid text."""
    # A line end is never part of a passphrase: `echo pw` and typing pw must open the same vault.
    value = value.rstrip("\r\n")
    if not value:
        raise InputError(f"the {what} must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"the {what} is not valid text (UTF-8)") from None
    return value


def _in_a_sentence(label: str) -> str:
    """`Vault passphrase` -> `vault passphrase`, but `OATH password for YubiKey 1234` as is."""
    first, space, rest = label.partition(" ")
    return (first if first.isupper() else first.lower()) + space + rest


def is_terminal() -> bool:
    """Whether a person can be asked: standard input is an open terminal."""
    return sys.stdin is not None and sys.stdin.isatty()
