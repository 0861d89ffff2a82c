"""The FIDO applet: CTAP2 over ISO 7816 as NFC carries it (CTAP 2.1 section 11.3), which is
also what python-fido2's ``CtapPcscDevice`` speaks over any PC/SC reader.

- SELECT answers the version string "U2F_V2", as a YubiKey does (CTAP 2.1 11.3.4: an
  authenticator that speaks U2F too answers "U2F_V2"); U2F REGISTER, AUTHENTICATE and VERSION
  (CLA 00, INS 01-03) go to ``u2f.py``.
- NFCCTAP_MSG (INS 10) carries a CTAP request. With P1 bit 80 (the platform can poll) a request
  still waiting for a touch is answered 9100 with the keepalive status byte; the platform then
  polls with NFCCTAP_GETRESPONSE (INS 11), P1 11 cancelling. Without that bit the APDU blocks.
- Long answers leave through 61xx and GET RESPONSE (the card does that).
- Deselecting (or a card reset) cancels and forgets a request in progress.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .apdu import (
    SW_CONDITIONS_NOT_SATISFIED,
    SW_INS_NOT_SUPPORTED,
    SW_UNKNOWN,
    ApduError,
    Command,
)
from .ctap.authenticator import Authenticator
from .ctap.status import STATUS_PROCESSING
from .u2f import INS_AUTHENTICATE, INS_REGISTER, INS_VERSION, U2f

FIDO_AID = bytes.fromhex("a0000006472f0001")
INS_NFCCTAP_MSG = 0x10
INS_NFCCTAP_GETRESPONSE = 0x11
P1_GETRESPONSE_SUPPORTED = 0x80
P1_CANCEL = 0x11
SW_STATUS_UPDATE = 0x9100
# How long one APDU waits for the request to finish before answering 9100.
POLL_ANSWER_SECONDS = 0.05


@dataclass
class _Operation:
    """A CTAP request running in its own thread, so that polls can be answered meanwhile."""

    status: int = STATUS_PROCESSING
    answer: bytes | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, authenticator: Authenticator, request: bytes) -> None:
        try:
            self.answer = authenticator.call(request, self._keepalive, self.cancel.is_set)
        finally:
            self.done.set()

    def _keepalive(self, status: int) -> None:
        self.status = status


class FidoApplet:
    name = "fido"
    aid = FIDO_AID
    send_remaining_ins = None
    response_limit = None

    def __init__(self, authenticator: Authenticator, version: bytes = b"U2F_V2") -> None:
        self.authenticator = authenticator
        self.version = version
        self.u2f = U2f(authenticator)
        self._operation: _Operation | None = None

    def select(self, command: Command) -> bytes:
        self.deselect()
        return self.version

    def deselect(self) -> None:
        if self._operation is not None:
            self._operation.cancel.set()
        self._operation = None

    def process(self, command: Command) -> bytes:
        if command.ins == INS_NFCCTAP_MSG:
            return self._message(command)
        if command.ins == INS_NFCCTAP_GETRESPONSE:
            return self._get_response(command)
        if command.ins in (INS_REGISTER, INS_AUTHENTICATE, INS_VERSION):
            self.deselect()  # a U2F request ends a CTAP2 one the platform gave up on
            return self.u2f.process(command)
        raise ApduError(SW_INS_NOT_SUPPORTED, "NFCCTAP_MSG, NFCCTAP_GETRESPONSE and U2F only")

    def _message(self, command: Command) -> bytes:
        self.deselect()  # a new request replaces one the platform gave up on
        operation = self._operation = _Operation()
        worker = threading.Thread(
            target=operation.run, args=(self.authenticator, command.data),
            name="virtual-fido-request", daemon=True,
        )
        worker.start()
        if not command.p1 & P1_GETRESPONSE_SUPPORTED:
            operation.done.wait()
        return self._answer(operation)

    def _get_response(self, command: Command) -> bytes:
        operation = self._operation
        if operation is None:
            raise ApduError(SW_CONDITIONS_NOT_SATISFIED, "no request in progress")
        if command.p1 == P1_CANCEL:
            operation.cancel.set()
        return self._answer(operation)

    def _answer(self, operation: _Operation) -> bytes:
        if not operation.done.wait(POLL_ANSWER_SECONDS):
            raise ApduError(SW_STATUS_UPDATE, "still working", bytes([operation.status]))
        self._operation = None
        if operation.answer is None:  # a bug in the authenticator (its thread reports it)
            raise ApduError(SW_UNKNOWN, "the request failed inside the key")
        return operation.answer
