"""A one-slot copy of vsmartcard's vpcd driver.

vpcd 0.8 (Debian 12) always shows two reader slots, and its slot table is global, so one pcscd
can host one vpcd reader: at most two keys. With one key, the second slot would be an empty
reader named "Yubico YubiKey ...", which no real machine has and which ykman takes for a key
being re-plugged (it retries for 3 s and warns). So for one key pcscd loads a copy of the driver
whose answer to TAG_IFD_SLOTS_NUMBER is 1. The copy is made at run time, never committed.
"""

from __future__ import annotations

from pathlib import Path

# IFDHGetCapabilities, case TAG_IFD_SLOTS_NUMBER (x86-64 build of Debian 12's vpcd 0.8):
# movb $2,(%rbp); xor %eax,%eax; movq $1,(%rdx)  -- "one byte, value 2"
SLOTS_ANSWER = bytes.fromhex("c6450002 31c0 48c70201000000")
SLOTS_IMMEDIATE = 3  # offset of the 2 inside the pattern


class DriverNotRecognised(ValueError):
    pass


def single_slot_copy(driver: Path, destination: Path) -> Path:
    """Writes a copy of `driver` that answers one slot; DriverNotRecognised if it is another
    build than the one this knows."""
    image = bytearray(driver.read_bytes())
    start = image.find(SLOTS_ANSWER)
    if start < 0 or image.find(SLOTS_ANSWER, start + 1) >= 0:
        raise DriverNotRecognised(f"{driver} is not the vpcd 0.8 build this can make one-slot")
    image[start + SLOTS_IMMEDIATE] = 1
    destination.write_bytes(bytes(image))
    return destination
