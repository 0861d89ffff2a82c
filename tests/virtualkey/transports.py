"""In-process transports: the virtual key as yubikit and python-fido2 see a real one.

- ``SmartCardAdapter``: a yubikit ``SmartCardConnection`` (what ykman builds over pyscard).
- ``CtapAdapter``: a python-fido2 ``CtapDevice`` talking CTAP2 to the authenticator directly.
- CTAPHID: see ``hid.py`` (framing exercised through ``fido2.hid.CtapHidDevice``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from threading import Event

from fido2.ctap import STATUS, CtapDevice, CtapError
from fido2.hid import CAPABILITY, CTAPHID
from yubikit.core import TRANSPORT
from yubikit.core.smartcard import SmartCardConnection

from .ctap.authenticator import Authenticator
from .faults import KeyPulled
from .key import VirtualKey
from .u2f import U2f


class SmartCardAdapter(SmartCardConnection):
    """Connecting resets the card, as a reconnect through pcscd does (OATH locks again)."""

    def __init__(self, key: VirtualKey, transport: TRANSPORT = TRANSPORT.USB) -> None:
        self.key = key
        self._transport = transport
        self._open = True
        key.reset()

    @property
    def transport(self) -> TRANSPORT:
        return self._transport

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if not self._open:
            raise KeyPulled("the connection is closed")
        response = self.key.transmit(bytes(apdu))
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        self._open = False


class CtapAdapter(CtapDevice):
    """The authenticator as python-fido2's ``Ctap2`` and ``Ctap1`` see a device: CBOR requests
    and U2F APDUs (MSG), without CTAPHID framing (see ``hid.py`` for that). The event cancels
    a touch wait."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.closed = False

    @property
    def capabilities(self) -> int:
        return CAPABILITY.CBOR | CAPABILITY.WINK

    def call(
        self,
        cmd: int,
        data: bytes = b"",
        event: Event | None = None,
        on_keepalive: Callable[[STATUS], None] | None = None,
    ) -> bytes:
        if self.closed:
            raise KeyPulled("the connection is closed")
        if cmd == CTAPHID.MSG:
            return U2f(self.authenticator).call(bytes(data))
        if cmd != CTAPHID.CBOR:
            raise CtapError(CtapError.ERR.INVALID_COMMAND)
        event = event or Event()
        last: list[int] = []

        def keepalive(status: int) -> None:
            # python-fido2 devices report a status once, not on every keepalive
            if on_keepalive is not None and last != [status]:
                last[:] = [status]
                on_keepalive(STATUS(status))

        return self.authenticator.call(bytes(data), keepalive, event.is_set)

    def close(self) -> None:
        self.closed = True

    @classmethod
    def list_devices(cls) -> Iterator[CtapAdapter]:
        return iter(())  # in-process only: tests build it around their authenticator
