"""A user's FIDO2 program for the hidraw tests: python-fido2 as an application uses it, finding
keys with `CtapHidDevice.list_devices()` (the Linux hidraw discovery) and nothing else.

Reads one JSON job from standard input, {"pin": PIN or null, "device": PATH or null (the first
key found), "steps": [...]}, and prints one JSON line per step, then {"done": true}. A step
that fails prints {"error": TYPE, "message": ..., "ctap": NAME or null, "errno": N or null}
and ends the job. While the key waits for a touch it prints {"event": "touch"}. Steps:
list, info, register {options}, authenticate {options}, set_pin {pin}, change_pin {old, new},
pin_retries, exists {path}. Options and responses are python-fido2's WebAuthn JSON forms.
"""

from __future__ import annotations

import json
import os
import sys

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.extensions import HmacSecretExtension
from fido2.ctap2.pin import ClientPin
from fido2.hid import CtapHidDevice
from fido2.webauthn import (
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions,
)

ORIGIN = "https://example.com"


def say(thing: dict) -> None:
    print(json.dumps(thing), flush=True)


def ask_person() -> None:
    """Under `pytest --real-key` (conftest.py): the line asking the person at the key for a
    touch, through the FIFO REALKEY_PERSON names (a one-key run names its key)."""
    person, serials = os.environ.get("REALKEY_PERSON"), os.environ.get("REALKEY_SERIALS", "")
    if not person:
        return
    named = serials.split()
    line = f"touch YubiKey {named[0]}" if len(named) == 1 else "touch your YubiKey"
    try:
        with open(person, "w") as relay:
            relay.write(line + "\n")
    except OSError:  # nobody to ask: the step fails as not touched
        pass


class Prompts(UserInteraction):
    def __init__(self, pin: str | None) -> None:
        self.pin = pin

    def prompt_up(self) -> None:
        say({"event": "touch"})
        ask_person()

    def request_pin(self, permissions, rp_id):
        return self.pin


def describe(device: CtapHidDevice) -> dict:
    descriptor = device.descriptor
    return {"path": descriptor.path, "vid": descriptor.vid, "pid": descriptor.pid,
            "product_name": descriptor.product_name, "serial_number": descriptor.serial_number,
            "report_size_in": descriptor.report_size_in,
            "report_size_out": descriptor.report_size_out}


def find(path: str | None) -> CtapHidDevice:
    devices = list(CtapHidDevice.list_devices())
    for device in devices:
        if path is None or device.descriptor.path == path:
            return device
    raise LookupError(f"no FIDO device {path or ''} among {[describe(d) for d in devices]}")


def run(job: dict) -> None:
    device: CtapHidDevice | None = None
    pin = job.get("pin")

    def opened() -> CtapHidDevice:
        nonlocal device
        if device is None:
            device = find(job.get("device"))
        return device

    def client() -> Fido2Client:
        return Fido2Client(opened(), DefaultClientDataCollector(ORIGIN), Prompts(pin),
                           [HmacSecretExtension(allow_hmac_secret=True)])

    for step in job["steps"]:
        op = step["op"]
        if op == "list":
            say({"devices": [describe(d) for d in CtapHidDevice.list_devices()]})
        elif op == "info":
            info = Ctap2(opened()).get_info()
            say({"versions": info.versions, "extensions": info.extensions,
                 "options": info.options, "device": describe(opened())})
        elif op == "register":
            options = PublicKeyCredentialCreationOptions.from_dict(step["options"])
            say({"response": dict(client().make_credential(options))})
        elif op == "authenticate":
            options = PublicKeyCredentialRequestOptions.from_dict(step["options"])
            say({"response": dict(client().get_assertion(options).get_response(0))})
        elif op == "set_pin":
            ClientPin(Ctap2(opened())).set_pin(step["pin"])
            say({"pin": "set"})
        elif op == "change_pin":
            ClientPin(Ctap2(opened())).change_pin(step["old"], step["new"])
            say({"pin": "changed"})
        elif op == "pin_retries":
            say({"retries": ClientPin(Ctap2(opened())).get_pin_retries()[0]})
        elif op == "exists":
            say({"exists": os.path.exists(step["path"])})
        else:
            raise ValueError(f"unknown step {op}")


def main() -> int:
    try:
        run(json.loads(sys.stdin.readline()))
    except Exception as error:
        cause = getattr(error, "cause", None) or error.__cause__ or error.__context__ or error
        ctap = next((e.code.name for e in (error, cause) if isinstance(e, CtapError)), None)
        cause = error if isinstance(error, OSError) else cause
        say({"error": type(error).__name__, "message": str(error), "ctap": ctap,
             "errno": cause.errno if isinstance(cause, OSError) else None})
        return 1
    say({"done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
