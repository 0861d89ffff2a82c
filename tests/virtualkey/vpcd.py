"""The bridge to pcscd: a virtual key speaks vsmartcard's vpcd socket protocol, so that pcscd's
vpcd driver shows it as a card in a reader.

vpcd runs in its reverse mode (`DEVICENAME 127.0.0.1:PORT`): the bridge listens on the loopback
interface and vpcd connects to it, at start and then at each presence poll while it has no card
(pcscd polls about every 0.45 s). Its server mode would listen on every interface (0.0.0.0),
where another machine could connect and become the card. Every frame is a 2-byte big-endian
length and a payload. A 1-byte payload is a control message (00 power off, 01 power on,
02 reset, 04 get ATR, answered with the ATR); anything longer is a command APDU, answered with
the response APDU. A connection the bridge serves is the card inserted; closing it pulls the
card out. While the key is out the bridge keeps listening (so no other program can take the
port) and closes every connection vpcd makes at once: vpcd finds no ATR and reports no card.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

from .faults import KeyPulled
from .key import VirtualKey

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
CONNECT_TIMEOUT = 10.0
LOOPBACK = "127.0.0.1"
# pcscd asks vpcd whether the card is there about every 0.45 s (measured): a key must stay out
# longer than that to be seen removed, or a re-plugged key looks as if it never left.
REMOVAL_NOTICE = 1.0


def listen_on_loopback(count: int) -> list[socket.socket]:
    """Listening sockets on consecutive loopback ports P, P+1, ... (vpcd connects to port
    P + slot), bound here and now so that no other program can take them in between."""
    while True:
        first = 20000 + random.randrange(20000)
        listeners: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listeners.append(listener)
                listener.bind((LOOPBACK, port))
                listener.listen(4)
        except OSError:
            for listener in listeners:
                listener.close()
            continue
        return listeners


class VpcdBridge:
    def __init__(self, key: VirtualKey, listener: socket.socket) -> None:
        """`listener`: a socket listening on the loopback port vpcd connects to for this key."""
        self.key = key
        self.listener = listener
        self.port: int = listener.getsockname()[1]
        # pcscd has powered the card up: it saw the card inserted and clients can connect.
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._plugged = False  # the next connection from vpcd is served
        self._connection: socket.socket | None = None  # the one being served
        self._idle = threading.Event()  # no connection is being served
        self._idle.set()
        self._pulled_at = 0.0
        self._acceptor: threading.Thread | None = None

    def plug_in(self) -> None:
        """Serves the key to the next connection vpcd makes (at its next presence poll, or at
        once when pcscd starts), after keeping a pulled key out long enough for pcscd to see
        it gone; wait_ready waits for pcscd to power it up."""
        self.ready.clear()
        time.sleep(max(0.0, self._pulled_at + REMOVAL_NOTICE - time.monotonic()))
        self.key.power_cycle()
        with self._lock:
            self._plugged = True
        if self._acceptor is None:
            self._acceptor = threading.Thread(target=self._accept, name=f"vpcd-{self.key.serial}",
                                              daemon=True)
            self._acceptor.start()

    def pull_out(self) -> None:
        """Closes the connection: pcscd sees the card removed; vpcd's next ones are refused."""
        with self._lock:
            self._plugged = False
            connection = self._connection
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            if self._acceptor is not threading.current_thread():
                self._idle.wait(timeout=5)

    def close(self) -> None:
        """Pulls the key out for good and stops listening."""
        self.pull_out()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self.listener.close()
        if self._acceptor is not None and self._acceptor is not threading.current_thread():
            self._acceptor.join(timeout=5)
        self._acceptor = None

    def wait_ready(self, timeout: float = CONNECT_TIMEOUT) -> None:
        if not self.ready.wait(timeout):
            raise TimeoutError(f"pcscd did not power up the key {self.key.serial}")

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # the listener was closed
                return
            with self._lock:
                serve = self._plugged
                if serve:
                    self._connection = connection
                    self._idle.clear()
            if serve:
                self._serve(connection)
            else:  # the key is out: no ATR for vpcd, which then reports no card
                connection.close()

    def _serve(self, connection: socket.socket) -> None:
        try:
            while True:
                payload = _read_frame(connection)
                if payload is None:
                    return
                answer = self._answer(payload)
                if answer is not None:
                    connection.sendall(len(answer).to_bytes(2, "big") + answer)
        except (OSError, KeyPulled):
            pass
        finally:
            with self._lock:
                self._plugged = False  # out until plug_in, whoever ended the connection
                self._connection = None
                self._pulled_at = time.monotonic()
            with contextlib.suppress(OSError):
                connection.close()
            self._idle.set()

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
