"""The card: a YubiKey 5 seen through ISO 7816-4, hosting applets selected by AID.

It owns what is common to every applet: APDU parsing, command chaining (CLA bit 10), response
chaining (61xx fetched with ISO GET RESPONSE or an applet's own instruction such as OATH's
SEND_REMAINING), the APDU log, and the faults a test asks for.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Protocol

from .apdu import (
    INS_GET_RESPONSE,
    INS_SELECT,
    SW_FILE_NOT_FOUND,
    SW_INS_NOT_SUPPORTED,
    SW_MORE_DATA,
    SW_OK,
    SW_UNKNOWN,
    SW_WRONG_P1P2,
    ApduError,
    Command,
    parse_command,
)
from .faults import Faults
from .log import ApduLog

# ATR of a YubiKey 5 NFC over USB CCID; the F in the second byte's high nibble marks USB for ykman.
YUBIKEY5_ATR = bytes.fromhex("3bfd1300008131fe158073c021c057597562694b657940")
# On an NFC reader: the contactless ATR a PC/SC reader builds from the same historical bytes
# (8 in the second byte's high nibble: ykman takes it for NFC).
NFC_ATR = bytes.fromhex("3b8d80018073c021c057597562694b6579f9")

SHORT_RESPONSE_MAX = 256
EXTENDED_RESPONSE_MAX = 65536


class Applet(Protocol):
    name: str
    aid: bytes
    # The applet's own "send the rest" instruction (OATH: A5), besides ISO GET RESPONSE.
    send_remaining_ins: int | None
    # Largest answer the applet returns at once, whatever Le allows (None: only Le limits it).
    response_limit: int | None

    def select(self, command: Command) -> bytes: ...

    def process(self, command: Command) -> bytes: ...

    def deselect(self) -> None: ...


@dataclass
class _Pending:
    """What is left of a long answer, and the start of a chained command."""

    response: bytes = b""
    chain: bytes = b""
    chain_header: tuple[int, int, int] | None = None


@dataclass
class Card:
    applets: list[Applet]
    atr: bytes = YUBIKEY5_ATR
    faults: Faults = field(default_factory=Faults)
    log: ApduLog = field(default_factory=ApduLog)
    _selected: Applet | None = None
    _pending: _Pending = field(default_factory=_Pending)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Tracebacks of applet bugs answered 6F00: the plug_keys fixture fails a test that had any.
    internal_errors: list[str] = field(default_factory=list)

    def transmit(self, apdu: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW1 SW2) out; KeyPulled if pulled."""
        with self._lock:
            number = self.log.count + 1  # faults count the APDUs in the key's log
            self.faults.before(number)
            command, data, sw = self._answer(apdu)
            self.log.record(self._applet_name(), command, apdu, data, sw)
            self.faults.after(number)
            return data + sw.to_bytes(2, "big")

    def reset(self) -> None:
        """Power cycle or reconnect: nothing selected (OATH locks again), pending data gone."""
        with self._lock:
            self.faults.check_present()
            self._deselect()

    def _applet_name(self) -> str:
        return self._selected.name if self._selected else "-"

    def _answer(self, apdu: bytes) -> tuple[Command | None, bytes, int]:
        command = None
        try:
            command = parse_command(apdu)
            forced = self.faults.status_for(command.ins)
            if forced is not None:
                return command, b"", forced
            return command, *self._dispatch(command)
        except ApduError as error:
            self._pending.response = b""
            return command, error.data, error.sw
        except Exception:  # a bug in an applet: answer as a card would, and keep the traceback
            self._pending = _Pending()
            self.internal_errors.append(traceback.format_exc())
            return command, b"", SW_UNKNOWN

    def _dispatch(self, command: Command) -> tuple[bytes, int]:
        if command.chained or self._pending.chain_header is not None:
            command = self._chain(command)
            if command is None:
                return b"", SW_OK
        if self._is_get_response(command):
            return self._send_remaining(command)
        self._pending.response = b""
        if command.ins == INS_SELECT and command.p1 == 0x04:
            return self._send(command, self._select(command))
        if self._selected is None:
            raise ApduError(SW_INS_NOT_SUPPORTED, "no applet selected")
        return self._send(command, self._selected.process(command))

    def _chain(self, command: Command) -> Command | None:
        header = (command.ins, command.p1, command.p2)
        pending = self._pending
        if pending.chain_header is not None and pending.chain_header != header:
            pending.chain, pending.chain_header = b"", None
        if command.chained:
            pending.chain += command.data
            pending.chain_header = header
            return None
        data = pending.chain + command.data
        pending.chain, pending.chain_header = b"", None
        return Command(command.cla & ~0x10, *header, data, command.le, command.extended)

    def _select(self, command: Command) -> bytes:
        wanted = command.data
        for applet in self.applets:
            if wanted and (wanted.startswith(applet.aid) or applet.aid.startswith(wanted)):
                answer = applet.select(command)
                if applet is not self._selected:
                    self._deselect()
                self._selected = applet
                return answer
        raise ApduError(SW_FILE_NOT_FOUND, "no applet with this AID")

    def _deselect(self) -> None:
        if self._selected is not None:
            self._selected.deselect()
        self._selected = None
        self._pending = _Pending()

    def _is_get_response(self, command: Command) -> bool:
        if command.ins == INS_GET_RESPONSE:
            return True
        return self._selected is not None and command.ins == self._selected.send_remaining_ins

    def _send_remaining(self, command: Command) -> tuple[bytes, int]:
        if not self._pending.response:
            if command.ins == INS_GET_RESPONSE:
                raise ApduError(SW_WRONG_P1P2, "nothing to send")
            return self._send(command, self._selected.process(command))
        return self._send(command, self._pending.response)

    def _send(self, command: Command, data: bytes) -> tuple[bytes, int]:
        """Sends as much as Le and the applet allow; the rest waits behind 61xx."""
        limit = command.le or (EXTENDED_RESPONSE_MAX if command.extended else SHORT_RESPONSE_MAX)
        applet_limit = self._selected.response_limit if self._selected else None
        if applet_limit:
            limit = min(limit, applet_limit)
        head, rest = data[:limit], data[limit:]
        self._pending.response = rest
        if rest:
            return head, SW_MORE_DATA | (len(rest) if len(rest) < 256 else 0)
        return head, SW_OK
