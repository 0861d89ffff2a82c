"""The hwotp side of the FIDO2 vault tests, shared by test files: running the installed script
in the virtual keys' namespace (`Machine`), the CTAP exchanges a virtual key recorded, and the
relying party's checks of what it signed (the client data rebuilt from what
docs/vault-format.md says hwotp sends)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from fido2 import cbor
from fido2.ctap2.pin import ClientPin
from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AuthenticationResponse,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    PublicKeyCredentialRpEntity,
    RegistrationResponse,
)

from helpers.cli import Run
from helpers.processes import hwotp_script
from helpers.samples import PASSPHRASE
from hwotp.credential import Credential
from hwotp.secret import decode_secret
from hwotp.vault import Vault
from hwotp.vault import format as fmt
from virtualkey.key import KeyConfig
from virtualkey.transports import CtapAdapter

RP_ID = "hwotp"
ORIGIN = "https://hwotp"
PIN = "4711"
MAKE_CREDENTIAL, GET_ASSERTION = 0x01, 0x02
CREDENTIAL = Credential(secret=decode_secret("JBSWY3DPEHPK3PXP"), issuer="Acme", account="al")


# --- running hwotp as a user on the machine with the keys ------------------------------------


class Machine:
    """The vault of a test and the keys plugged in; `hwotp(...)` runs the installed script in
    the keys' namespace with no passphrase unless given."""

    def __init__(self, rig, tmp_path: Path) -> None:
        self.rig = rig
        self.vault = tmp_path / "data" / "vault.hwotp"
        self.base = {k: v for k, v in os.environ.items()
                     if not k.startswith("HWOTP_") or k in ("HWOTP_CACHE_DIR", "HWOTP_CONFIG")}

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.base, "HWOTP_VAULT": str(self.vault), **extra}

    def hwotp(self, *args: str, stdin: str = "", **extra: str) -> Run:
        result = subprocess.run(self.rig.command([hwotp_script(), *args]), input=stdin,
                                capture_output=True, text=True, timeout=120,
                                env=self.env(**extra))
        return Run(result.returncode, result.stdout, result.stderr)

    def start(self, *args: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen(self.rig.command([hwotp_script(), *args]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env(**extra))

    def made_vault(self) -> None:
        """A vault with one credential, made by the vault code itself (keys play no part)."""
        Vault.create(self.vault, PASSPHRASE, [CREDENTIAL])

    def register(self, *args: str, **extra: str) -> Run:
        return self.hwotp("fido2", "register", *args, HWOTP_PASSPHRASE=PASSPHRASE, **extra)

    def slots(self) -> tuple:
        return fmt.parse(self.vault.read_bytes()).header.slots


def ok(result: Run) -> Run:
    assert result.exit_code == 0, result.everything
    assert "Traceback" not in result.everything
    return result


def failed(result: Run, code: int) -> str:
    assert result.exit_code == code, result.everything
    assert "Traceback" not in result.everything
    last = result.stderr.splitlines()[-1]
    assert last.startswith("hwotp: "), result.stderr
    return last


def key_config(serial: int, **options) -> KeyConfig:
    """A USB key that takes a moment to be touched, as a person does: the key tells the client
    it waits (CTAPHID keepalive), which is when hwotp says "Touch your security key"."""
    return KeyConfig(serial=serial, **{"touch_delay": 0.15, **options})


# --- what the key signed, checked by a relying party ------------------------------------------


def client_data(kind: str, salt: bytes) -> CollectedClientData:
    challenge = hashlib.sha256(b"hwotp-vault challenge\0" + salt).digest()
    return CollectedClientData.create(type=kind, challenge=challenge, origin=ORIGIN,
                                      cross_origin=False)


def server() -> Fido2Server:
    return Fido2Server(PublicKeyCredentialRpEntity(id=RP_ID, name="hwotp vault"),
                       attestation="direct")


def exchanges(rig, serial: int, command: int) -> list[tuple[dict, dict]]:
    """The key's answered requests of one CTAP command, decoded."""
    found = []
    for request, answer in rig.key(serial).authenticator.exchanges:
        if request[0] == command and answer[:1] == b"\0":
            found.append((cbor.decode(request[1:]), cbor.decode(answer[1:])))
    return found


def verify_with_server(rig, serial: int, slot: dict, uv: bool = False) -> int:
    """Fido2Server checks the registration of `slot`'s credential and every assertion with
    user presence for it; returns how many assertions it checked."""
    salt = fmt._unb64(slot["salt"], 32, "salt")
    credential_id = fmt._unb64_range(slot["credential"], (16, 1023), "credential")
    rp = server()
    registration = None
    for request, answer in exchanges(rig, serial, MAKE_CREDENTIAL):
        attestation = AttestationObject.create(answer[1], answer[2], answer[3])
        data = attestation.auth_data.credential_data
        if data is not None and data.credential_id == credential_id:
            made = client_data("webauthn.create", salt)
            assert request[1] == made.hash  # the clientDataHash hwotp sent
            assert request[2]["id"] == RP_ID and request[6] == {"hmac-secret": True}
            state = {"challenge": websafe_encode(made.challenge), "user_verification": None}
            response = RegistrationResponse(raw_id=credential_id, response=(
                AuthenticatorAttestationResponse(client_data=made, attestation_object=attestation)))
            registration = rp.register_complete(state, response)
    assert registration is not None, "no registration of the slot's credential"
    checked = 0
    for request, answer in exchanges(rig, serial, GET_ASSERTION):
        if request.get(5, {}).get("up") is False:
            assert 4 not in request  # the silent probe carries no extension
            continue
        asked = client_data("webauthn.get", salt)
        assert request[2] == asked.hash and request[3][0]["id"] == credential_id
        assert "hmac-secret" in request[4]
        state = {"challenge": websafe_encode(asked.challenge),
                 "user_verification": "required" if uv else "discouraged"}
        response = AuthenticationResponse(raw_id=credential_id, response=(
            AuthenticatorAssertionResponse(client_data=asked,
                                           authenticator_data=AuthenticatorData(answer[2]),
                                           signature=answer[3])))
        rp.authenticate_complete(state, [registration.credential_data], response)
        assert AuthenticatorData(answer[2]).is_user_verified() == uv
        checked += 1
    return checked


def set_pin(rig, serial: int, pin: str = PIN) -> None:
    """The key's owner sets a PIN (python-fido2 in this process, on the same authenticator)."""
    from fido2.ctap2 import Ctap2

    ClientPin(Ctap2(CtapAdapter(rig.key(serial).authenticator))).set_pin(pin)


def opened_by(machine: Machine) -> str:
    """The label of the security key slot that opened the vault (a touch, no passphrase)."""
    result = ok(machine.hwotp("vault", "slots", "--json"))
    assert "Touch your security key" in result.stderr
    (row,) = [row for row in json.loads(result.stdout) if row["opened_this_time"]]
    return row["label"]


def fido2_slots(machine: Machine) -> list[dict]:
    return [slot for slot in machine.slots() if slot["type"] == "fido2-hmac-secret"]
