"""The FIDO HID interface of a USB key as Linux shows it: a hidraw device, served over FUSE.

Facts from the kernel (`drivers/hid/hidraw.c`, `include/uapi/linux/hidraw.h`):
- ioctls: HIDIOCGRDESCSIZE (_IOR 'H' 1, int), HIDIOCGRDESC (_IOR 'H' 2, u32 size then up to
  4096 bytes), HIDIOCGRAWINFO (_IOR 'H' 3: u32 bus type, s16 vendor, s16 product),
  HIDIOCGRAWNAME(len) ('H' 4), HIDIOCGRAWPHYS(len) ('H' 5) and HIDIOCGRAWUNIQ(len) ('H' 8)
  copy at most len bytes of the string and its NUL and return that count; anything else is
  ENOTTY. python-fido2's Linux discovery asks INFO, NAME, UNIQ, RDESCSIZE, RDESC.
- A write is a report id then the report (2 to 16384 bytes, else EINVAL); usbhid drops a report
  id 0 before sending, so the key gets the 64-byte report. A read returns one input report
  (64 bytes here: no report ids), at most the size asked; it blocks while none is queued
  (EAGAIN with O_NONBLOCK). Every open file gets every input report; each queues at most 64
  (HIDRAW_BUFFER_SIZE) and a report arriving at a full queue is dropped.
- Unplugged: reads end with EIO (blocked ones too), writes and ioctls fail with ENODEV, the node
  leaves /dev; its number is reused (lowest free) only once every open file of it is closed.
"""

from __future__ import annotations

import collections
import errno
import itertools
import os
import struct
import threading
from dataclasses import dataclass, field

from .faults import KeyPulled
from .fuse import ROOT, FuseError, FuseFilesystem, Request
from .hid import REPORT_SIZE, YUBICO_VID, YUBIKEY5_PID, VirtualHidConnection
from .key import VirtualKey

BUS_USB = 3
HIDRAW_BUFFER_SIZE = 64
HID_MAX_BUFFER_SIZE = 16384
IOC_NR, IOC_TYPE = 0xFF, 0xFF00
HIDIOCGRDESCSIZE, HIDIOCGRDESC, HIDIOCGRAWINFO = 1, 2, 3
HIDIOCGRAWNAME, HIDIOCGRAWPHYS, HIDIOCGRAWUNIQ = 4, 5, 8
PUMP_INTERVAL = 0.1

# The FIDO interface's report descriptor, the one the CTAP specification shows (11.2.8.1) and a
# YubiKey's FIDO interface answers: usage page 0xF1D0, usage 1 (CTAPHID), 64-byte input and
# output reports, no report ids.
FIDO_REPORT_DESCRIPTOR = bytes.fromhex(
    "06d0f1"  # usage page FIDO alliance
    "0901"  # usage CTAPHID
    "a101"  # collection application
    "0920" "1500" "26ff00" "7508" "9540" "8102"  # usage data in; 64 x 8 bits input
    "0921" "1500" "26ff00" "7508" "9540" "9102"  # usage data out; 64 x 8 bits output
    "c0"  # end collection
)
# The kernel's name for a USB HID device is "manufacturer product" from its USB strings.
PRODUCT_NAME = "Yubico YubiKey OTP+FIDO+CCID"


@dataclass
class _Open:
    """One open file: its own queue of input reports and at most one parked read."""

    device: HidrawDevice
    reports: collections.deque[bytes] = field(default_factory=collections.deque)
    waiting: list[tuple[Request, int]] = field(default_factory=list)


class HidrawDevice:
    """A plugged key's FIDO interface: reports go to and come from its authenticator over the
    CTAPHID framing of ``hid.py``."""

    def __init__(self, key: VirtualKey, number: int, node: int, usb_port: int) -> None:
        self.key = key
        self.number = number
        self.node = node
        self.present = True
        self.opens: set[int] = set()
        self.connection = VirtualHidConnection(key.authenticator, read_timeout=PUMP_INTERVAL)
        # choice: the serial is in the USB descriptor (a YubiKey shows it there only with
        # its SERIAL_USB_VISIBLE flag), so python-fido2's descriptor tells two keys apart.
        self.uniq = str(key.serial)
        self.phys = f"usb-0000:00:14.0-{usb_port}/input1"  # choice: interface 1 is FIDO

    @property
    def name(self) -> str:
        return f"hidraw{self.number}"

    @property
    def path(self) -> str:
        return f"/dev/{self.name}"


class HidrawFilesystem(FuseFilesystem):
    """The hidraw nodes of the plugged keys, for ``fuse.FuseServer``; `on_removed(name)` takes
    a pulled key's node out of /dev."""

    def __init__(self, on_removed=None) -> None:
        self.devices: dict[int, HidrawDevice] = {}  # by node id, plugged and pulled
        self._opens: dict[int, _Open] = {}
        self._handles = itertools.count(1)
        self._nodes = itertools.count(ROOT + 1)
        self._interrupted: set[int] = set()
        self._lock = threading.RLock()
        self._on_removed = on_removed or (lambda name: None)

    # Plugging and pulling (the rig calls these).

    def plug_in(self, key: VirtualKey, usb_port: int) -> HidrawDevice:
        with self._lock:
            taken = {device.number for device in self.devices.values()}
            number = next(n for n in itertools.count() if n not in taken)
            device = HidrawDevice(key, number, next(self._nodes), usb_port)
            self.devices[device.node] = device
        threading.Thread(target=self._pump, args=(device,), name=f"hidraw-{key.serial}",
                         daemon=True).start()
        return device

    def pull_out(self, device: HidrawDevice) -> None:
        with self._lock:
            if not device.present:
                return
            device.present = False
            device.connection.close()
            for handle in device.opens:
                for request, _size in self._opens[handle].waiting:
                    request.fail(errno.EIO)
                self._opens[handle].waiting.clear()
            self._forget_if_unused(device)
        self._on_removed(device.name)

    def present(self) -> list[HidrawDevice]:
        with self._lock:
            return sorted((d for d in self.devices.values() if d.present),
                          key=lambda d: d.number)

    def _forget_if_unused(self, device: HidrawDevice) -> None:
        if not device.present and not device.opens:
            self.devices.pop(device.node, None)  # its number is free again

    def _pump(self, device: HidrawDevice) -> None:
        """Input reports from the key to every open file, until the key is pulled."""
        while device.present:
            if device.key.faults.pulled:  # the key's own fault switch pulls it everywhere
                self.pull_out(device)
                return
            try:
                report = device.connection.read_packet()
            except TimeoutError:
                continue
            with self._lock:
                for handle in device.opens:
                    self._deliver(self._opens[handle], report)

    def _deliver(self, opened: _Open, report: bytes) -> None:
        if opened.waiting:
            request, size = opened.waiting.pop(0)
            request.reply(report[:size])
        elif len(opened.reports) < HIDRAW_BUFFER_SIZE - 1:
            opened.reports.append(report)

    # The filesystem.

    def lookup(self, name: str) -> int:
        with self._lock:
            for device in self.devices.values():
                if device.present and device.name == name:
                    return device.node
        raise FuseError(errno.ENOENT)

    def names(self) -> list[tuple[str, int]]:
        return [(device.name, device.node) for device in self.present()]

    def file_mode(self, node: int) -> int:
        return 0o600  # the kernel's default for hidraw nodes (root only)

    def open(self, node: int, flags: int) -> int:
        with self._lock:
            device = self.devices.get(node)
            if device is None or not device.present:
                raise FuseError(errno.ENODEV)
            handle = next(self._handles)
            self._opens[handle] = _Open(device)
            device.opens.add(handle)
            return handle

    def read(self, request: Request, handle: int, size: int, flags: int) -> None:
        with self._lock:
            opened = self._opens[handle]
            if request.unique in self._interrupted:
                self._interrupted.discard(request.unique)
                request.fail(errno.EINTR)
            elif opened.reports:
                request.reply(opened.reports.popleft()[:size])
            elif not opened.device.present:
                request.fail(errno.EIO)
            elif flags & os.O_NONBLOCK:
                request.fail(errno.EAGAIN)
            else:
                opened.waiting.append((request, size))

    def interrupt(self, unique: int) -> None:
        with self._lock:
            for opened in self._opens.values():
                for parked in opened.waiting:
                    if parked[0].unique == unique:
                        opened.waiting.remove(parked)
                        parked[0].fail(errno.EINTR)
                        return
            self._interrupted.add(unique)  # it arrived before its request: end that at once

    def write(self, handle: int, data: bytes) -> int:
        device = self._device(handle)
        if not 2 <= len(data) <= HID_MAX_BUFFER_SIZE:
            raise FuseError(errno.EINVAL)
        # choice: a report id other than 0 goes to the key as the report's first byte, as
        # usbhid sends it for a device without report ids
        report = data[1:] if data[0] == 0 else data
        try:
            device.key.faults.check_present()
            device.connection.write_packet(report[:REPORT_SIZE])
        except (KeyPulled, OSError):
            self.pull_out(device)
            raise FuseError(errno.ENODEV) from None
        return len(data)

    def ioctl(self, handle: int, command: int, out_size: int) -> tuple[int, bytes]:
        device = self._device(handle)
        if (command & IOC_TYPE) != ord("H") << 8:
            raise FuseError(errno.ENOTTY)
        number = command & IOC_NR
        if number == HIDIOCGRDESCSIZE:
            return 0, struct.pack("<I", len(FIDO_REPORT_DESCRIPTOR))
        if number == HIDIOCGRDESC:
            # The kernel reads the size the caller asks for from the buffer; a FUSE ioctl
            # gets no input for an _IOR command, so the whole descriptor is written.
            size = len(FIDO_REPORT_DESCRIPTOR)
            return 0, struct.pack("<I", size) + FIDO_REPORT_DESCRIPTOR
        if number == HIDIOCGRAWINFO:
            return 0, struct.pack("<Ihh", BUS_USB, _signed(YUBICO_VID), _signed(YUBIKEY5_PID))
        strings = {HIDIOCGRAWNAME: PRODUCT_NAME, HIDIOCGRAWPHYS: device.phys,
                   HIDIOCGRAWUNIQ: device.uniq}
        if number in strings:
            text = strings[number].encode() + b"\0"
            text = text[:out_size]
            return len(text), text
        raise FuseError(errno.ENOTTY)

    def release(self, handle: int) -> None:
        with self._lock:
            opened = self._opens.pop(handle, None)
            if opened is None:
                return
            for request, _size in opened.waiting:
                request.fail(errno.EINTR)
            opened.device.opens.discard(handle)
            self._forget_if_unused(opened.device)

    def stop(self) -> None:
        """Ends every parked read (the server is about to stop)."""
        with self._lock:
            for device in list(self.devices.values()):
                device.present = False
                device.connection.close()
            for opened in self._opens.values():
                for request, _size in opened.waiting:
                    request.fail(errno.EIO)
                opened.waiting.clear()

    def _device(self, handle: int) -> HidrawDevice:
        with self._lock:
            opened = self._opens.get(handle)
            if opened is None or not opened.device.present:
                raise FuseError(errno.ENODEV)
            return opened.device


def _signed(value: int) -> int:
    return value - 0x10000 if value >= 0x8000 else value
