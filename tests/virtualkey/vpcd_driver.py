"""The copy of vsmartcard's vpcd driver that the private pcscd loads, patched for two bugs of
vpcd 0.8 (Debian 12). The copy is made at run time in the rig's folder, never committed.

- Reconnecting in reverse mode. With `DEVICENAME 127.0.0.1:PORT` vpcd connects to the card
  instead of listening on every interface (see vpcd.py), and it connects again at each presence
  poll while it has no card. But vicc_connect decides between accepting and connecting on
  `ctx->server_sock != 0`, and in reverse mode server_sock is -1: after the first card left it
  calls select() on fd -1, and glibc's FD_SET check aborts pcscd ("bit out of range 0 -
  FD_SETSIZE on fd_set", measured). The copy always connects (the branch becomes a jump).
- Two slots. vpcd always shows two reader slots, and its slot table is global, so one pcscd can
  host one vpcd reader: at most two keys. With one key, the second slot would be an empty reader
  named "Yubico YubiKey ...", which no real machine has and which ykman takes for a key being
  re-plugged (it retries for 3 s and warns). So for one key the copy answers 1 to
  TAG_IFD_SLOTS_NUMBER.
"""

from __future__ import annotations

from pathlib import Path

# vicc_connect (x86-64 build of Debian 12's vpcd 0.8): mov (%rdi),%edi; test %edi,%edi;
# je connect  -- "if (!ctx->server_sock) connect, else accept"
RECONNECT_BRANCH = bytes.fromhex("8b3f 85ff 741a")
RECONNECT_JUMP = 4, 0xEB  # the je becomes jmp: always connect
# IFDHGetCapabilities, case TAG_IFD_SLOTS_NUMBER: movb $2,(%rbp); xor %eax,%eax;
# movq $1,(%rdx)  -- "one byte, value 2"
SLOTS_ANSWER = bytes.fromhex("c6450002 31c0 48c70201000000")
SLOTS_IMMEDIATE = 3  # offset of the 2 inside the pattern


class DriverNotRecognised(ValueError):
    pass


def patched_copy(driver: Path, destination: Path, slots: int) -> Path:
    """Writes a copy of `driver` that reconnects in reverse mode and shows `slots` (1 or 2)
    slots; DriverNotRecognised if it is another build than the one this knows."""
    image = bytearray(driver.read_bytes())
    _patch(image, RECONNECT_BRANCH, *RECONNECT_JUMP, driver)
    if slots == 1:
        _patch(image, SLOTS_ANSWER, SLOTS_IMMEDIATE, 1, driver)
    destination.write_bytes(bytes(image))
    return destination


def _patch(image: bytearray, pattern: bytes, offset: int, value: int, driver: Path) -> None:
    start = image.find(pattern)
    if start < 0 or image.find(pattern, start + 1) >= 0:
        raise DriverNotRecognised(f"{driver} is not the vpcd 0.8 build this can patch")
    image[start + offset] = value
