"""probe: ask a YubiKey (real or virtual) what docs/testing.md lists as not known, as JSON.

    tests/virtualkey/probe --serial SERIAL [--wipe SERIAL] [--interactive]

The key is found as any program finds it: OATH through pcscd (pyscard and yubikit, any reader,
the one whose management applet reports SERIAL), FIDO2 through python-fido2 (hidraw for a key
in a USB port, PC/SC for a key on an NFC reader). It never imports the virtual key: a maintainer
runs it on a real one and diffs its answers with tests/virtualkey/probe-expected.json, the
virtual key's (docs/testing.md, "Behaviour probe").

Without --wipe nothing on the key is lost: the OATH questions that need credentials put four
scratch ones (names `hwotp-probe-TOKEN-...`, TOKEN random) and delete them afterwards; the
questions that need a reset, an OATH password, a FIDO2 PIN or a full key answer
{"skipped": ...}. `--wipe SERIAL` (the same serial again, as HWOTP_TEST_WIPE_KEY confirms a
key for the tests) resets OATH, fills it, sets and leaves an OATH password only for a moment,
sets a FIDO2 PIN (left set) and asks for a FIDO2 reset late after power-up. `--interactive`
adds the questions that need the user not to touch the key while it waits.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import struct
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

OATH_AID = bytes.fromhex("a0000005272101")
PUT, DELETE, RESET, RENAME = 0x01, 0x02, 0x04, 0x05
LIST, CALCULATE, VALIDATE, CALCULATE_ALL, SEND_REMAINING = 0xA1, 0xA2, 0xA3, 0xA4, 0xA5
TAG_NAME, TAG_KEY, TAG_CHALLENGE, TAG_RESPONSE, TAG_PROPERTY = 0x71, 0x73, 0x74, 0x75, 0x78
TOTP_SHA1, HOTP_SHA1 = 0x21, 0x11
REQUIRE_TOUCH = 0x02
SCRATCH_KEY = bytes(range(1, 21))  # a throwaway HMAC key: the probe never computes a code
OK, KEY_FULL = 0x9000, 0x6A84
FIDO_RESET_LATE = 11.0  # seconds after the probe starts: past both 5 s (ykman) and 10 s (CTAP)
SKIP_WIPE = {"skipped": "needs --wipe"}


# The command line


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--serial", type=int, required=True, help="the key to ask")
    parser.add_argument("--wipe", type=int, metavar="SERIAL",
                        help="allow resets and writes that erase the key (its serial again)")
    parser.add_argument("--interactive", action="store_true",
                        help="also ask what needs the user not to touch the key")
    arguments = parser.parse_args(argv)
    if arguments.wipe is not None and arguments.wipe != arguments.serial:
        parser.error(f"--wipe {arguments.wipe} does not name the probed key {arguments.serial}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    wipe = arguments.wipe is not None
    device = find_key(arguments.serial)
    if device is None:
        print(f"probe: no key with serial {arguments.serial} found", file=sys.stderr)
        return 1
    if wipe:
        say(f"--wipe: OATH credentials and password of key {arguments.serial} will be erased, "
            "a FIDO2 PIN set on it, and a FIDO2 reset asked for")
    answers: dict[str, Any] = {"transport": transport_of(device)}
    with smart_card(device) as card:
        answers["firmware"] = firmware_of(card)
        answers.update(oath_answers(card, wipe))
    answers.update(fido_answers(device, arguments, started))
    print(json.dumps(answers, indent=2, sort_keys=True))
    return 0


def say(line: str) -> None:
    print(f"probe: {line}", file=sys.stderr, flush=True)


# Finding the key


def find_key(serial: int) -> Any:
    """The ykman PC/SC device (any reader, as NFC readers are not named YubiKey) of SERIAL."""
    from ykman.pcsc import list_devices
    from yubikit.management import ManagementSession

    for device in list_devices(""):
        try:
            with smart_card(device) as card:
                if ManagementSession(card).read_device_info().serial == serial:
                    return device
        except Exception:  # a reader without a YubiKey is simply not it
            continue
    return None


def transport_of(device: Any) -> str:
    # ykman's own test: a YubiKey's USB CCID interface names its reader "Yubico YubiKey ...".
    return "usb" if "yubikey" in device.reader.name.lower() else "nfc"


@contextmanager
def smart_card(device: Any) -> Iterator[Any]:
    from yubikit.core.smartcard import SmartCardConnection

    connection = device.open_connection(SmartCardConnection)
    try:
        yield connection
    finally:
        connection.close()


def firmware_of(card: Any) -> str:
    from yubikit.management import ManagementSession

    return str(ManagementSession(card).read_device_info().version)


# OATH: raw APDUs, so that the answer is the status word itself


def transmit(card: Any, ins: int, data: bytes = b"", p1: int = 0, p2: int = 0) -> tuple[bytes, int]:
    """One short APDU (Le 00), answered as sent: 61xx is not followed."""
    apdu = bytes([0, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    return card.send_and_receive(apdu + b"\x00")


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def status(sw: int) -> str:
    return f"{sw:04X}"


def select_oath(card: Any) -> bytes:
    data, sw = card.send_and_receive(bytes([0, 0xA4, 4, 0, len(OATH_AID)]) + OATH_AID)
    if sw != OK:
        raise RuntimeError(f"OATH SELECT answered {status(sw)}")
    return data


def locked(select_answer: bytes) -> bool:
    # A key with a password sends a challenge on SELECT.
    return any(tag == TAG_CHALLENGE for tag, _ in tlv_items(select_answer))


def put(card: Any, name: str, kind: int = TOTP_SHA1, digits: int = 6,
        touch: bool = False) -> int:
    key = SCRATCH_KEY.ljust(14, b"\0")
    data = tlv(TAG_NAME, name.encode()) + tlv(TAG_KEY, bytes([kind, digits]) + key)
    if touch:
        data += bytes([TAG_PROPERTY, REQUIRE_TOUCH])  # a bare property byte, as yubikit sends it
    return transmit(card, PUT, data)[1]


def delete(card: Any, name: str) -> int:
    return transmit(card, DELETE, tlv(TAG_NAME, name.encode()))[1]


SCRATCH_QUESTIONS = (
    "oath_list_chunk", "oath_send_remaining_with_nothing_left", "oath_put_digits_9",
    "oath_rename_onto_taken_name", "oath_rename_onto_own_name", "oath_rename_missing",
    "oath_calculate_totp_without_challenge", "oath_calculate_all",
)


def skipped(questions: tuple[str, ...], reason: str) -> dict[str, dict[str, str]]:
    return {question: {"skipped": reason} for question in questions}


class Scratch:
    """Four credentials with long unique names, so LIST answers more than 255 bytes."""

    def __init__(self) -> None:
        token = secrets.token_hex(4)
        self.names = {role: f"hwotp-probe-{token}-{role}-".ljust(64, "x")
                      for role in ("a", "b", "touch", "hotp")}

    def put_all(self, card: Any) -> str | None:
        kinds: dict[str, dict[str, Any]] = {"touch": {"touch": True},
                                            "hotp": {"kind": HOTP_SHA1}}
        for role, name in self.names.items():
            sw = put(card, name, **kinds.get(role, {}))
            if sw != OK:
                return f"scratch PUT answered {status(sw)}"
        return None

    def delete_all(self, card: Any) -> None:
        for name in self.names.values():
            delete(card, name)


def oath_answers(card: Any, wipe: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    select_answer = select_oath(card)
    if wipe:
        transmit(card, RESET, p1=0xDE, p2=0xAD)
        select_answer = select_oath(card)
    if locked(select_answer):
        answers.update(skipped(SCRATCH_QUESTIONS, "OATH password set: needs --wipe"))
    else:
        answers.update(scratch_answers(card))
    answers["oath_validate_wrong_password"] = wrong_password(card) if wipe else SKIP_WIPE
    answers["oath_capacity"] = capacity(card) if wipe else SKIP_WIPE
    if wipe:
        transmit(card, RESET, p1=0xDE, p2=0xAD)
    return answers


def scratch_answers(card: Any) -> dict[str, Any]:
    scratch = Scratch()
    try:
        refused = scratch.put_all(card)
        if refused:
            return skipped(SCRATCH_QUESTIONS, refused)
        return asked_with_scratch(card, scratch.names)
    finally:
        scratch.delete_all(card)


def asked_with_scratch(card: Any, names: dict[str, str]) -> dict[str, Any]:
    first, sw = transmit(card, LIST)
    chunk = {"first_chunk_bytes": len(first), "status": status(sw)[:2] + "xx"}
    while sw >> 8 == 0x61:
        _, sw = transmit(card, SEND_REMAINING)
    _, after = transmit(card, SEND_REMAINING)
    a, b = names["a"].encode(), names["b"].encode()
    nine = f"hwotp-probe-{secrets.token_hex(4)}-digits9"
    nine_sw = put(card, nine, digits=9)
    if nine_sw == OK:
        delete(card, nine)
    missing = f"hwotp-probe-{secrets.token_hex(4)}-missing".encode()
    return {
        "oath_list_chunk": chunk,
        "oath_send_remaining_with_nothing_left": status(after),
        "oath_put_digits_9": status(nine_sw),
        "oath_rename_onto_taken_name": status(rename(card, a, b)),
        "oath_rename_onto_own_name": status(rename(card, a, a)),
        "oath_rename_missing": status(rename(card, missing, missing + b"-2")),
        "oath_calculate_totp_without_challenge": status(
            transmit(card, CALCULATE, tlv(TAG_NAME, a), p2=1)[1]),
        "oath_calculate_all": calculate_all_tags(card, names),
    }


def rename(card: Any, old: bytes, new: bytes) -> int:
    return transmit(card, RENAME, tlv(TAG_NAME, old) + tlv(TAG_NAME, new))[1]


def calculate_all_tags(card: Any, names: dict[str, str]) -> dict[str, str]:
    """The answer's tag for each scratch credential: 76 a code, 77 HOTP, 7C touch."""
    data, sw = transmit(card, CALCULATE_ALL, tlv(TAG_CHALLENGE, struct.pack(">Q", 1)), p2=1)
    while sw >> 8 == 0x61:
        more, sw = transmit(card, SEND_REMAINING)
        data += more
    if sw != OK:
        return {"status": status(sw)}
    tags: dict[str, str] = {}
    offset = 0
    while offset + 1 < len(data):
        name = data[offset + 2:offset + 2 + data[offset + 1]].decode(errors="replace")
        offset += 2 + data[offset + 1]
        answer_tag = data[offset]
        offset += 2 + data[offset + 1]
        for role, scratch_name in names.items():
            if name == scratch_name:
                tags[role] = f"{answer_tag:02X}"
    return tags


def wrong_password(card: Any) -> dict[str, str]:
    """On a reset key: set a password (yubikit), VALIDATE a wrong answer, then try LIST."""
    from yubikit.oath import OathSession

    session = OathSession(card)
    session.set_key(session.derive_key("hwotp-probe"))
    select_oath(card)  # a fresh challenge, which twenty zero bytes do not answer
    wrong = bytes(20)
    _, sw = transmit(card, VALIDATE, tlv(TAG_RESPONSE, wrong) + tlv(TAG_CHALLENGE, bytes(8)))
    _, list_sw = transmit(card, LIST)
    return {"status": status(sw), "list_after": status(list_sw)}


def tlv_items(data: bytes) -> list[tuple[int, bytes]]:
    items, offset = [], 0
    while offset + 1 < len(data):
        length = data[offset + 1]
        items.append((data[offset], data[offset + 2:offset + 2 + length]))
        offset += 2 + length
    return items


def capacity(card: Any) -> dict[str, Any]:
    """On a reset key: PUT until the key refuses; how many fitted and the refusal."""
    transmit(card, RESET, p1=0xDE, p2=0xAD)
    select_oath(card)
    count = 0
    while count < 1000:
        sw = put(card, f"probe-{count}")
        if sw != OK:
            return {"credentials": count, "status": status(sw)}
        count += 1
    return {"credentials": count, "status": "no refusal"}


# FIDO2 and U2F, through python-fido2


def fido_answers(device: Any, arguments: argparse.Namespace, started: float) -> dict[str, Any]:
    from fido2.ctap2 import Ctap2

    fido = open_fido(device, arguments.serial)
    if fido is None:
        return {"fido2": {"skipped": "no FIDO interface found for this key"}}
    wipe = arguments.wipe is not None
    try:
        ctap = Ctap2(fido)
        info = ctap.get_info()
        answers: dict[str, Any] = {
            "fido2_info": info_json(info),
            # The firmware as getInfo encodes it, in hex: 0x050702 is major<<16 | minor<<8 | patch.
            "fido2_firmware_version_hex": f"{info.firmware_version:#08x}",
            "fido2_pin_retries_no_pin": pin_retries_no_pin(ctap, info),
            "u2f_register_without_touch": u2f_register_without_touch(fido),
            "fido2_deny_status": (deny_status(ctap) if arguments.interactive
                                  else {"skipped": "needs --interactive"}),
            "fido2_wrong_pins": wrong_pins(ctap, info) if wipe else SKIP_WIPE,
            "fido2_reset_late": reset_late(ctap, started) if wipe else SKIP_WIPE,
        }
    finally:
        fido.close()
    return answers


def open_fido(device: Any, serial: int) -> Any:
    """The key's FIDO2 device: PC/SC on an NFC reader; over USB the hidraw node showing SERIAL,
    or the only Yubico one (a real key shows its serial over USB only if configured to)."""
    if transport_of(device) == "nfc":
        from fido2.pcsc import CtapPcscDevice

        return next(iter(CtapPcscDevice.list_devices(device.reader.name)), None)
    return hid_fido(serial)


def hid_fido(serial: int) -> Any:
    """The FIDO HID device of the YubiKey SERIAL: the hidraw node showing that serial, or the
    only Yubico one; None without one."""
    from fido2.hid import CtapHidDevice

    yubico = [d for d in CtapHidDevice.list_devices() if d.descriptor.vid == 0x1050]
    shown = [d for d in yubico if d.descriptor.serial_number == str(serial)]
    chosen = shown or (yubico if len(yubico) == 1 else [])
    for other in yubico:  # list_devices opened every node: close those not used
        if not chosen or other is not chosen[0]:
            other.close()
    return chosen[0] if chosen else None


def info_json(info: Any) -> dict[str, Any]:
    return {field.name: plain(getattr(info, field.name)) for field in fields(info)}


def plain(value: Any) -> Any:
    from fido2.webauthn import Aaguid

    if isinstance(value, Aaguid):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def ctap_outcome(call: Callable[[], Any]) -> str:
    """OK, or the CTAP error's name (with its code) the key answered."""
    from fido2.ctap import CtapError

    try:
        call()
    except CtapError as error:
        code = error.code  # an ERR member, or a plain int for a code python-fido2 does not name
        return f"{code.name} ({code:#04x})" if isinstance(code, CtapError.ERR) else f"{code:#04x}"
    return "OK"


def pin_retries_no_pin(ctap: Any, info: Any) -> Any:
    from fido2.ctap2.pin import ClientPin

    if info.options.get("clientPin"):
        return {"skipped": "a PIN is set"}
    return ctap_outcome(lambda: ClientPin(ctap).get_pin_retries())


def u2f_register_without_touch(fido: Any) -> dict[str, Any]:
    """REGISTER while nobody touches: its status word and whether it came at once (under 1 s)."""
    from fido2.ctap1 import ApduError, Ctap1

    say("U2F REGISTER: do not touch the key")
    before = time.monotonic()
    try:
        Ctap1(fido).send_apdu(ins=Ctap1.INS.REGISTER, p1=0x03, data=bytes(64))
        sw = OK
    except ApduError as error:
        sw = error.code
    return {"status": status(sw), "at_once": time.monotonic() - before < 1.0}


def deny_status(ctap: Any) -> str:
    say("FIDO2 makeCredential: do not touch the key; it waits until it gives up")
    rp = {"id": "probe.hwotp.invalid", "name": "probe"}
    user = {"id": b"probe", "name": "probe"}
    return ctap_outcome(lambda: ctap.make_credential(
        bytes(32), rp, user, [{"type": "public-key", "alg": -7}]))


def wrong_pins(ctap: Any, info: Any) -> Any:
    """Set a PIN (if none is), then three wrong ones: each answer and the retries after it."""
    from fido2.ctap2.pin import ClientPin

    if info.options.get("clientPin"):
        return {"skipped": "a PIN is already set"}
    client_pin = ClientPin(ctap)
    client_pin.set_pin("hwotp-probe-pin")
    answers: list[dict[str, Any]] = [{"retries": client_pin.get_pin_retries()[0]}]
    for _ in range(3):
        outcome = ctap_outcome(lambda: client_pin.get_pin_token("wrong-pin"))
        answers.append({"answer": outcome, "retries": client_pin.get_pin_retries()[0]})
    return answers


def reset_late(ctap: Any, started: float) -> str:
    time.sleep(max(0.0, started + FIDO_RESET_LATE - time.monotonic()))
    say("FIDO2 reset, long after power-up: touch the key if it asks")
    return ctap_outcome(ctap.reset)


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())
