"""CTAPHID in process: the virtual authenticator behind 64-byte HID reports (CTAP 2.1 11.2).

``VirtualHidConnection`` is a python-fido2 ``CtapHidConnection``: the host writes reports with
``write_packet`` and reads the device's reports with ``read_packet``. It implements the framing
a real key does: INIT on the broadcast channel allocates a channel (and echoes the nonce), INIT
on an allocated channel resynchronises it; PING echoes; WINK; CBOR requests of one init and
up to 128 continuation packets; KEEPALIVE every 100 ms while a request waits for a touch;
CANCEL ends such a wait (the answer is then KEEPALIVE_CANCEL 0x2D); ERROR for a bad channel,
sequence, length or command, and CHANNEL_BUSY while another channel's request runs.
MSG carries a U2F APDU (extended length) to ``u2f.py`` and answers its response APDU, so INIT
does not set NMSG. Not modelled: the 500 ms timeout between continuation packets, and LOCK.
"""

from __future__ import annotations

import queue
import struct
import threading
from dataclasses import dataclass, field

from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

from .ctap.authenticator import Authenticator
from .u2f import U2f

REPORT_SIZE = 64
BROADCAST = 0xFFFFFFFF
TYPE_INIT = 0x80
CMD_PING, CMD_MSG, CMD_INIT, CMD_WINK, CMD_CBOR, CMD_CANCEL = 0x01, 0x03, 0x06, 0x08, 0x10, 0x11
CMD_KEEPALIVE, CMD_ERROR = 0x3B, 0x3F
ERR_INVALID_CMD, ERR_INVALID_LEN, ERR_INVALID_SEQ = 0x01, 0x03, 0x04
ERR_CHANNEL_BUSY, ERR_INVALID_CHANNEL = 0x06, 0x0B
CTAP_OTHER = 0x7F
CAPABILITY_WINK, CAPABILITY_CBOR = 0x01, 0x04
CTAPHID_VERSION = 2
INIT_DATA = REPORT_SIZE - 7
CONT_DATA = REPORT_SIZE - 5
MAX_MESSAGE = INIT_DATA + 128 * CONT_DATA
YUBICO_VID, YUBIKEY5_PID = 0x1050, 0x0407


@dataclass
class _Assembly:
    """A request arriving in pieces."""

    channel: int
    command: int
    length: int
    data: bytes
    next_seq: int = 0

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.length


@dataclass
class _Running:
    channel: int
    cancel: threading.Event = field(default_factory=threading.Event)


class VirtualHidConnection(CtapHidConnection):
    def __init__(self, authenticator: Authenticator, read_timeout: float = 10.0) -> None:
        self.authenticator = authenticator
        self.read_timeout = read_timeout
        self.winks = 0
        self.closed = False
        self._to_host: queue.Queue[bytes] = queue.Queue()
        self._channels: set[int] = set()
        self._next_channel = 1
        self._assembly: _Assembly | None = None
        self._running: _Running | None = None
        self._lock = threading.RLock()
        # One message's packets go out together: the worker's answer and the host thread's
        # errors (CHANNEL_BUSY) must not interleave.
        self._send_lock = threading.Lock()

    # The host side (python-fido2 calls these).

    def write_packet(self, data: bytes) -> None:
        if self.closed:
            raise OSError("the HID device is closed")
        packet = bytes(data).ljust(REPORT_SIZE, b"\0")[:REPORT_SIZE]
        channel = struct.unpack_from(">I", packet)[0]
        with self._lock:
            if packet[4] & TYPE_INIT:
                self._init_packet(channel, packet[4] & 0x7F, packet)
            else:
                self._continuation(channel, packet[4], packet[5:])

    def read_packet(self) -> bytes:
        try:
            return self._to_host.get(timeout=self.read_timeout)
        except queue.Empty:
            raise TimeoutError("the virtual HID device sent nothing") from None

    def close(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.cancel.set()
            self.closed = True

    # The device side.

    def _init_packet(self, channel: int, command: int, packet: bytes) -> None:
        length = struct.unpack_from(">H", packet, 5)[0]
        if command == CMD_CANCEL:
            self._cancel(channel)
        elif command == CMD_INIT:
            self._init(channel, packet[7 : 7 + length])
        elif channel == 0 or (channel not in self._channels):
            self._error(channel, ERR_INVALID_CHANNEL)
        elif self._busy_elsewhere(channel):
            self._error(channel, ERR_CHANNEL_BUSY)
        elif self._assembly is not None:
            self._assembly = None  # a new request before the last one was whole
            self._error(channel, ERR_INVALID_SEQ)
        elif length > MAX_MESSAGE:
            self._error(channel, ERR_INVALID_LEN)
        else:
            self._assembly = _Assembly(channel, command, length, packet[7 : 7 + length])
            self._if_complete()

    def _busy_elsewhere(self, channel: int) -> bool:
        """A request runs (only CANCEL and INIT get through), or another channel is sending."""
        if self._running is not None:
            return True
        return self._assembly is not None and self._assembly.channel != channel

    def _continuation(self, channel: int, seq: int, body: bytes) -> None:
        assembly = self._assembly
        if assembly is None or assembly.channel != channel:
            return  # spurious continuation packets are ignored
        if seq != assembly.next_seq:
            self._assembly = None
            self._error(channel, ERR_INVALID_SEQ)
            return
        assembly.next_seq += 1
        assembly.data += body[: assembly.length - len(assembly.data)]
        self._if_complete()

    def _if_complete(self) -> None:
        assembly = self._assembly
        if assembly is not None and assembly.complete:
            self._assembly = None
            self._dispatch(assembly.channel, assembly.command, assembly.data)

    def _init(self, channel: int, nonce: bytes) -> None:
        if len(nonce) != 8:
            self._error(channel, ERR_INVALID_LEN)
            return
        if channel == BROADCAST:
            new = self._next_channel
            self._next_channel += 1
            self._channels.add(new)
        elif channel in self._channels:
            new = channel  # resynchronise: drop what was half sent on it
            if self._assembly is not None and self._assembly.channel == channel:
                self._assembly = None
        else:
            self._error(channel, ERR_INVALID_CHANNEL)
            return
        major, minor, patch = self.authenticator.firmware
        capabilities = CAPABILITY_WINK | CAPABILITY_CBOR
        answer = nonce + struct.pack(">IBBBBB", new, CTAPHID_VERSION, major, minor, patch,
                                     capabilities)
        self._send(channel, CMD_INIT, answer)

    def _cancel(self, channel: int) -> None:
        running = self._running
        if running is not None and running.channel == channel:
            running.cancel.set()
        elif self._assembly is not None and self._assembly.channel == channel:
            self._assembly = None

    def _dispatch(self, channel: int, command: int, data: bytes) -> None:
        if command == CMD_PING:
            self._send(channel, CMD_PING, data)
        elif command == CMD_WINK:
            self.winks += 1
            self._send(channel, CMD_WINK, b"")
        elif command in (CMD_CBOR, CMD_MSG):
            if not data:
                self._error(channel, ERR_INVALID_LEN)
                return
            self._running = _Running(channel)
            work = self._cbor if command == CMD_CBOR else self._msg
            threading.Thread(target=work, args=(self._running, data),
                             name="virtual-ctaphid-request", daemon=True).start()
        else:  # LOCK and anything else
            self._error(channel, ERR_INVALID_CMD)

    def _cbor(self, running: _Running, request: bytes) -> None:
        channel = running.channel

        def keepalive(status: int) -> None:
            self._send(channel, CMD_KEEPALIVE, bytes([status]))

        try:
            answer = self.authenticator.call(request, keepalive, running.cancel.is_set)
        except Exception:
            self._finish(channel, CMD_CBOR, bytes([CTAP_OTHER]))  # the host is not left waiting
            raise  # a bug in the authenticator: the test run reports it
        self._finish(channel, CMD_CBOR, answer)

    def _msg(self, running: _Running, apdu: bytes) -> None:
        """U2F: no keepalives (CTAP 2.1 11.2.9.1.1), the answer is a response APDU."""
        try:
            answer = U2f(self.authenticator).call(apdu)
        except Exception:
            self._finish(running.channel, CMD_MSG, b"\x6f\x00")
            raise
        self._finish(running.channel, CMD_MSG, answer)

    def _finish(self, channel: int, command: int, answer: bytes) -> None:
        with self._lock:
            self._running = None
        self._send(channel, command, answer)

    def _error(self, channel: int, code: int) -> None:
        self._send(channel, CMD_ERROR, bytes([code]))

    def _send(self, channel: int, command: int, data: bytes) -> None:
        """Frames one message into reports: an init packet, then continuation packets."""
        head = struct.pack(">IBH", channel, TYPE_INIT | command, len(data))
        packets = [(head + data[:INIT_DATA]).ljust(REPORT_SIZE, b"\0")]
        rest, seq = data[INIT_DATA:], 0
        while rest:
            chunk, rest = rest[:CONT_DATA], rest[CONT_DATA:]
            packets.append((struct.pack(">IB", channel, seq) + chunk).ljust(REPORT_SIZE, b"\0"))
            seq += 1
        with self._send_lock:
            for packet in packets:
                self._to_host.put(packet)


def virtual_descriptor() -> HidDescriptor:
    return HidDescriptor("virtual", YUBICO_VID, YUBIKEY5_PID, REPORT_SIZE, REPORT_SIZE,
                         "YubiKey OTP+FIDO+CCID (virtual)", None)


def open_hid_device(authenticator: Authenticator) -> CtapHidDevice:
    """A python-fido2 ``CtapHidDevice`` on a fresh connection (it has already sent INIT)."""
    return CtapHidDevice(virtual_descriptor(), VirtualHidConnection(authenticator))
