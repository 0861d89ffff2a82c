"""U2F (CTAP1) over the virtual authenticator: REGISTER, AUTHENTICATE and VERSION as APDUs
(FIDO U2F Raw Message Formats v1.2; CTAP 2.1 section 11.2.9.1.1 carries them in CTAPHID MSG,
11.3 in the NFC applet's ISO 7816 APDUs).

A U2F registration is an ES256 credential of the CTAP2 store with the application parameter as
its RP ID hash, so the key handle is a credential id: U2F can sign with a CTAP2 credential made
without credProtect 3, and CTAP2 getAssertion with that RP ID hash finds a U2F one, as on a real
key. The counter is the authenticator's one signature counter.

- REGISTER (INS 01): 64 bytes (challenge, application) in; 05 | public key (65) | handle length
  | handle | attestation certificate | ECDSA signature over 00 | application | challenge |
  handle | public key. Needs a touch (6985 without one).
- AUTHENTICATE (INS 02): P1 07 "check only" answers 6985 for a handle of ours and 6A80
  otherwise; P1 03 signs after a touch (6985 without one); P1 08 signs without one. A handle
  that is not ours for this application answers 6A80 (the spec's "bad key handle").
- VERSION (INS 03): "U2F_V2".
- CLA other than 00: 6E00; another instruction: 6D00; a wrong length: 6700.

The attestation certificate is self-signed, made once per test process (a real YubiKey carries
a Yubico batch certificate; relying parties that check U2F attestation would refuse this one).

# choice: a real key answers 6985 at once when no touch is pending and keeps blinking for the
platform's next try; here the request waits for the touch (up to the presence timeout) and
answers 6985 only if none came. python-fido2 retries 6985 either way.
# choice: with alwaysUv on, U2F REGISTER and AUTHENTICATE answer 6985 (CTAP 2.1 says U2F is
not offered then; what a YubiKey answers is not documented).
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .apdu import (
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_INS_NOT_SUPPORTED,
    SW_OK,
    SW_UNKNOWN,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    ApduError,
    Command,
    parse_command,
)
from .ctap.credentials import ES256, UV_OPTIONAL
from .ctap.request import Interaction
from .ctap.status import CtapFailure

INS_REGISTER, INS_AUTHENTICATE, INS_VERSION = 0x01, 0x02, 0x03
P1_ENFORCE_PRESENCE, P1_CHECK_ONLY, P1_DONT_ENFORCE = 0x03, 0x07, 0x08
VERSION = b"U2F_V2"
REGISTER_RESERVED = 0x05
PRESENCE_FLAG = 0x01

if TYPE_CHECKING:
    from .ctap.authenticator import Authenticator


@functools.cache
def attestation() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A self-signed P-256 attestation key and certificate (DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "Virtual YubiKey U2F attestation (not Yubico)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.DER)


class U2f:
    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def call(self, apdu: bytes) -> bytes:
        """A raw U2F APDU (extended length, as CTAPHID MSG carries it) in, data + SW out."""
        try:
            answer, sw = self.process(_parse(apdu)), SW_OK
        except ApduError as error:
            answer, sw = b"", error.sw
        return answer + sw.to_bytes(2, "big")

    def process(self, command: Command) -> bytes:
        if command.cla != 0:
            raise ApduError(SW_CLA_NOT_SUPPORTED)
        if command.ins == INS_VERSION:
            if command.data:
                raise ApduError(SW_WRONG_LENGTH, "VERSION takes no data")
            return VERSION
        if command.ins not in (INS_REGISTER, INS_AUTHENTICATE):
            raise ApduError(SW_INS_NOT_SUPPORTED)
        with self.authenticator.exclusive():
            if self.authenticator.always_uv:
                raise ApduError(SW_CONDITIONS_NOT_SATISFIED, "alwaysUv: no U2F")
            if command.ins == INS_REGISTER:
                return self._register(command)
            return self._authenticate(command)

    def _touch(self) -> None:
        try:
            self.authenticator.wait_for_presence(Interaction())
        except CtapFailure as failure:
            raise ApduError(SW_CONDITIONS_NOT_SATISFIED, "no touch") from failure

    def _register(self, command: Command) -> bytes:
        if len(command.data) != 64:
            raise ApduError(SW_WRONG_LENGTH, "REGISTER takes 64 bytes")
        challenge, application = command.data[:32], command.data[32:]
        self._touch()
        auth = self.authenticator
        credential = auth.store.create(application, UV_OPTIONAL, False, False)
        cose = credential.public_cose()
        public = b"\x04" + cose[-2] + cose[-3]
        handle = credential.id
        if len(handle) > 255:
            raise ApduError(SW_UNKNOWN, "key handle too long")
        key, certificate = attestation()
        signed = b"\x00" + application + challenge + handle + public
        signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (bytes([REGISTER_RESERVED]) + public + bytes([len(handle)]) + handle
                + certificate + signature)

    def _authenticate(self, command: Command) -> bytes:
        data = command.data
        if len(data) < 65 or len(data) != 65 + data[64]:
            raise ApduError(SW_WRONG_LENGTH, "AUTHENTICATE: challenge, application, handle")
        challenge, application, handle = data[:32], data[32:64], data[65:]
        auth = self.authenticator
        credential = auth.store.find(handle, application)
        usable = (credential is not None and credential.algorithm == ES256
                  and credential.usable(user_verified=False, listed=True))
        if command.p1 == P1_CHECK_ONLY:
            # "check only": 6985 says "this handle is mine", 6A80 "not mine"
            raise ApduError(SW_CONDITIONS_NOT_SATISFIED if usable else SW_WRONG_DATA)
        if command.p1 not in (P1_ENFORCE_PRESENCE, P1_DONT_ENFORCE):
            raise ApduError(SW_WRONG_DATA, f"AUTHENTICATE P1 {command.p1:02X}")
        if not usable:
            raise ApduError(SW_WRONG_DATA, "not a key handle of this key for this application")
        assert credential is not None
        presence = 0
        if command.p1 == P1_ENFORCE_PRESENCE:
            self._touch()
            presence = PRESENCE_FLAG
        counter = auth.next_counter().to_bytes(4, "big")
        signature = credential.sign(application + bytes([presence]) + counter + challenge)
        return bytes([presence]) + counter + signature


def _parse(apdu: bytes) -> Command:
    """U2F's extended encoding (U2F Raw Message Formats 3.1.1): CLA INS P1 P2 00 Lc1 Lc2 data
    [Le1 Le2]. python-fido2 also sends Lc 0000 for a command without data (VERSION), which an
    ISO 7816 parser refuses, so that form is taken here; anything else is ISO 7816."""
    body = apdu[4:]
    if len(apdu) >= 4 and len(body) in (3, 5) and body[:3] == b"\0\0\0":
        cla, ins, p1, p2 = apdu[:4]
        return Command(cla, ins, p1, p2, extended=True)
    return parse_command(apdu)
