"""A yubikit `SmartCardConnection` over a pyscard connection hwotp opened itself.

ykman's own opener retries by killing gpg's scdaemon (`pkill -9`) and yubikey-agent when a key
is busy; hwotp does not kill a user's processes, so it opens the connection itself (`device.py`)
and hands it to yubikit through this class, only when yubikit is needed.
"""

from __future__ import annotations

from smartcard.CardConnection import CardConnection
from yubikit.core import TRANSPORT
from yubikit.core.smartcard import SmartCardConnection

from hwotp.debuglog import Logger
from hwotp.yubikey.apdus import ApduLog

logger = Logger(__name__)


class PyscardConnection(SmartCardConnection):
    def __init__(self, connection: CardConnection) -> None:
        self.connection = connection  # connected already
        atr = connection.getATR()
        # A YubiKey's ATR over USB has F in the high nibble of its second byte (ykman's rule).
        self._transport = TRANSPORT.USB if atr and atr[1] & 0xF0 == 0xF0 else TRANSPORT.NFC
        self._log = ApduLog(logger)

    @property
    def transport(self) -> TRANSPORT:
        return self._transport

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw1, sw2 = self.connection.transmit(list(apdu))
        self._log.record(apdu, len(data), sw1 << 8 | sw2)
        return bytes(data), sw1 << 8 | sw2

    def close(self) -> None:
        """The connection belongs to the YubiKey object, which closes it."""
