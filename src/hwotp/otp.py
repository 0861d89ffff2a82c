"""Codes for a credential, computed with pyotp (RFC 4226 HOTP, RFC 6238 TOTP); Steam Guard's
five characters from the same HMAC (pyotp's Steam class is the tests' reference).

pyotp is imported on first use, so the parsers that only ask `is_short_secret` stay light.
"""

from __future__ import annotations

import functools
from typing import Any

from hwotp.credential import Algorithm, Code, Credential, Kind

# hashlib's names; it is imported on first use (it loads OpenSSL), as pyotp and hmac are.
_DIGESTS = {Algorithm.SHA1: "sha1", Algorithm.SHA256: "sha256", Algorithm.SHA512: "sha512"}
SHORT_SECRET_BYTES = 14  # below 112 bits NIST SP 800-63B-4 calls a secret short
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
STEAM_CHARACTERS = 5


@functools.cache
def _lenient_hotp() -> Any:
    import pyotp

    class LenientHOTP(pyotp.HOTP):
        # Services still issue 80-bit secrets and YubiKeys accept them: warn, never refuse.
        min_secret_length_bits = 8

    return LenientHOTP


def compute(credential: Credential, now: float) -> Code:
    """The code for `credential` at unix time `now` (TOTP) or at its counter (HOTP)."""
    from hwotp.secret import encode_secret  # here: a key's codes (hmac_answer) do without it

    hotp = _lenient_hotp()(
        encode_secret(credential.secret),
        digits=credential.digits,
        digest=_digest(credential.algorithm),
    )
    if credential.kind is Kind.HOTP:
        return Code(hotp.at(credential.counter))
    # TOTP is HOTP at counter now // period (RFC 6238); pyotp.TOTP refuses periods over 120 s,
    # which services and the model allow.
    step = int(now) // credential.period
    start = step * credential.period
    value = steam_code(_hmac(credential, step)) if credential.steam else hotp.at(step)
    return Code(value, valid_from=start, valid_until=start + credential.period)


def steam_code(answer: bytes) -> str:
    """Steam Guard's code from a full HMAC answer: RFC 4226's dynamic truncation, then five
    characters of Steam's alphabet, least significant first (as Steam's app, Aegis and
    Yubico Authenticator compute it; a YubiKey gives the full answer when asked for it)."""
    offset = answer[-1] & 0x0F
    value = int.from_bytes(answer[offset : offset + 4], "big") & 0x7FFFFFFF
    characters = []
    for _ in range(STEAM_CHARACTERS):
        value, index = divmod(value, len(STEAM_ALPHABET))
        characters.append(STEAM_ALPHABET[index])
    return "".join(characters)


def hmac_answer(credential: Credential, counter: int) -> bytes:
    """The full HMAC a YubiKey answers for `counter` (a CALCULATE without truncation)."""
    return _hmac(credential, counter)


def _hmac(credential: Credential, counter: int) -> bytes:
    import hmac

    message = counter.to_bytes(8, "big")
    return hmac.new(credential.secret, message, _digest(credential.algorithm)).digest()


def _digest(algorithm: Algorithm) -> Any:
    import hashlib

    return getattr(hashlib, _DIGESTS[algorithm])


def is_short_secret(credential: Credential) -> bool:
    return len(credential.secret) < SHORT_SECRET_BYTES
