"""The bridge to pcscd: a virtual key speaks vsmartcard's vpcd socket protocol, so that pcscd's
vpcd driver shows it as a card in a reader.

vpcd listens on a TCP port per reader slot; the card side connects. Every frame is a 2-byte
big-endian length and a payload. A 1-byte payload is a control message (00 power off, 01 power
on, 02 reset, 04 get ATR, answered with the ATR); anything longer is a command APDU, answered
with the response APDU. Connecting inserts the card; closing the socket pulls it out.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from .faults import KeyPulled
from .key import VirtualKey

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
CONNECT_TIMEOUT = 10.0
# pcscd asks vpcd whether the card is there about every 0.45 s (measured): a key must stay out
# longer than that to be seen removed, or a re-plugged key looks as if it never left.
REMOVAL_NOTICE = 1.0


class VpcdBridge:
    def __init__(self, key: VirtualKey, port: int, host: str = "127.0.0.1") -> None:
        self.key = key
        self.port = port
        self.host = host
        # pcscd has powered the card up: it saw the card inserted and clients can connect.
        self.ready = threading.Event()
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._pulled_at = 0.0

    def plug_in(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connects to vpcd (retrying while pcscd starts) and serves the key in a thread."""
        self.ready.clear()
        time.sleep(max(0.0, self._pulled_at + REMOVAL_NOTICE - time.monotonic()))
        self.key.power_cycle()
        self._socket = _connect(self.host, self.port, timeout)
        self._thread = threading.Thread(target=self._serve, name=f"vpcd-{self.key.serial}",
                                        daemon=True)
        self._thread.start()

    def pull_out(self) -> None:
        """Closes the connection: pcscd sees the card removed."""
        connection, self._socket = self._socket, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def wait_ready(self, timeout: float = CONNECT_TIMEOUT) -> None:
        if not self.ready.wait(timeout):
            raise TimeoutError(f"pcscd did not power up the key {self.key.serial}")

    def _serve(self) -> None:
        connection = self._socket
        try:
            while connection is not None:
                payload = _read_frame(connection)
                if payload is None:
                    return
                answer = self._answer(payload)
                if answer is not None:
                    connection.sendall(len(answer).to_bytes(2, "big") + answer)
        except (OSError, KeyPulled):
            pass
        finally:
            self._pulled_at = time.monotonic()
            with contextlib.suppress(OSError):
                connection.close()

    def _answer(self, payload: bytes) -> bytes | None:
        if len(payload) != 1:
            return self.key.transmit(payload)
        if payload[0] == GET_ATR:  # also pcscd's "is the card still there" poll
            return self.key.atr
        if payload[0] in (POWER_OFF, POWER_ON, RESET):
            self.key.reader_power()
        if payload[0] in (POWER_ON, RESET):
            self.ready.set()
        return None


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _read_frame(connection: socket.socket) -> bytes | None:
    header = _read_exactly(connection, 2)
    if header is None:
        return None
    return _read_exactly(connection, int.from_bytes(header, "big"))


def _read_exactly(connection: socket.socket, size: int) -> bytes | None:
    connection.settimeout(None)
    # vpcd sends a frame's length and its APDU in two writes; without an immediate ACK, Nagle
    # on its side and delayed ACK on ours add 40 ms to every APDU (measured: 44 ms -> 0.3 ms).
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    chunks = b""
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return chunks
