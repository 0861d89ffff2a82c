"""Codes from hwotp.otp.compute against the RFC vectors, pyotp itself and a plain HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import struct

import pyotp
import pytest

from helpers.samples import RFC4226_KEY, RFC6238_KEYS
from hwotp.credential import Algorithm, Credential, Kind
from hwotp.otp import compute, is_short_secret
from hwotp.secret import encode_secret

# RFC 4226 Appendix D: HOTP values for counters 0-9.
RFC4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]

# RFC 6238 Appendix B.
RFC6238_SEEDS = {Algorithm(name): seed for name, seed in RFC6238_KEYS.items()}
RFC6238_CODES = {
    59: {Algorithm.SHA1: "94287082", Algorithm.SHA256: "46119246", Algorithm.SHA512: "90693936"},
    1111111109: {
        Algorithm.SHA1: "07081804",
        Algorithm.SHA256: "68084774",
        Algorithm.SHA512: "25091201",
    },
    1111111111: {
        Algorithm.SHA1: "14050471",
        Algorithm.SHA256: "67062674",
        Algorithm.SHA512: "99943326",
    },
    1234567890: {
        Algorithm.SHA1: "89005924",
        Algorithm.SHA256: "91819424",
        Algorithm.SHA512: "93441116",
    },
    2000000000: {
        Algorithm.SHA1: "69279037",
        Algorithm.SHA256: "90698825",
        Algorithm.SHA512: "38618901",
    },
    20000000000: {
        Algorithm.SHA1: "65353130",
        Algorithm.SHA256: "77737706",
        Algorithm.SHA512: "47863826",
    },
}
_HASHES = {Algorithm.SHA1: "sha1", Algorithm.SHA256: "sha256", Algorithm.SHA512: "sha512"}


def reference_code(secret: bytes, counter: int, digits: int, algorithm: Algorithm) -> str:
    """RFC 4226 section 5.3 written out, independent of pyotp (which refuses short secrets)."""
    mac = hmac.new(secret, struct.pack(">Q", counter), _HASHES[algorithm]).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_CODES)))
def test_rfc4226_hotp_vectors(counter: int, expected: str) -> None:
    credential = Credential(RFC4226_KEY, "RFC", "4226", kind=Kind.HOTP, counter=counter)
    code = compute(credential, now=0)
    assert code.value == expected
    assert code.valid_until is None


@pytest.mark.parametrize(
    ("now", "algorithm"),
    [(now, algorithm) for now in RFC6238_CODES for algorithm in RFC6238_SEEDS],
)
def test_rfc6238_totp_vectors(now: int, algorithm: Algorithm) -> None:
    credential = Credential(RFC6238_SEEDS[algorithm], "RFC", "6238", algorithm=algorithm, digits=8)
    code = compute(credential, now=now)
    assert code.value == RFC6238_CODES[now][algorithm]
    assert code.valid_from is not None and code.valid_until is not None
    assert code.valid_from <= now < code.valid_until
    assert code.valid_until - code.valid_from == 30


def test_totp_window_follows_the_period() -> None:
    credential = Credential(RFC4226_KEY, "RFC", "6238", period=60)
    code = compute(credential, now=1111111111.9)
    assert (code.valid_from, code.valid_until) == (1111111080, 1111111140)
    assert code.seconds_left(1111111111.9) == 28
    # Within one window the code does not change; in the next one it does (for this secret).
    assert compute(credential, now=1111111139).value == code.value
    assert compute(credential, now=1111111140).value != code.value


def _random_credential(rng: random.Random, min_bytes: int) -> Credential:
    # Periods stay at or below 120 s: see test_period_above_120_seconds.
    return Credential(
        secret=rng.randbytes(rng.randint(min_bytes, 64)),
        issuer="Random",
        account=f"user{rng.randint(0, 999)}",
        kind=rng.choice(list(Kind)),
        algorithm=rng.choice(list(Algorithm)),
        digits=rng.choice([6, 7, 8]),
        period=rng.choice([15, 30, 60, 90, 120, rng.randint(1, 120)]),
        counter=rng.randint(0, 2**40),
    )


def test_matches_pyotp_for_random_credentials() -> None:
    rng = random.Random(4226)
    digests = {Algorithm.SHA1: hashlib.sha1, Algorithm.SHA256: hashlib.sha256}
    digests[Algorithm.SHA512] = hashlib.sha512
    for _ in range(300):
        credential = _random_credential(rng, min_bytes=14)  # pyotp refuses shorter secrets
        now = rng.randint(0, 2**34)
        b32 = encode_secret(credential.secret)
        digest = digests[credential.algorithm]
        if credential.kind is Kind.HOTP:
            expected = pyotp.HOTP(b32, digits=credential.digits, digest=digest)
            assert compute(credential, now).value == expected.at(credential.counter)
        else:
            totp = pyotp.TOTP(
                b32, digits=credential.digits, digest=digest, interval=credential.period
            )
            assert compute(credential, now).value == totp.at(now)


def test_matches_reference_hmac_for_random_short_and_long_secrets() -> None:
    rng = random.Random(6238)
    for _ in range(300):
        credential = _random_credential(rng, min_bytes=1)
        now = rng.randint(0, 2**34)
        counter = credential.counter if credential.kind is Kind.HOTP else now // credential.period
        expected = reference_code(
            credential.secret, counter, credential.digits, credential.algorithm
        )
        assert compute(credential, now).value == expected


def test_period_above_120_seconds() -> None:
    credential = Credential(RFC4226_KEY, "Slow", "alice", period=300)
    expected = reference_code(RFC4226_KEY, 1234567890 // 300, 6, Algorithm.SHA1)
    assert compute(credential, now=1234567890).value == expected


def test_80_bit_secret_gives_codes() -> None:
    # 16 base32 characters, as many services still issue; pyotp alone would refuse it.
    secret = bytes(range(10))
    assert len(encode_secret(secret)) == 16
    with pytest.raises(ValueError):
        pyotp.TOTP(encode_secret(secret)).at(0)
    credential = Credential(secret, "Old", "alice")
    assert is_short_secret(credential)
    code = compute(credential, now=1234567890)
    assert code.value == reference_code(secret, 1234567890 // 30, 6, Algorithm.SHA1)


def test_short_secret_threshold_is_112_bits() -> None:
    assert is_short_secret(Credential(bytes(13), "X", "a"))
    assert not is_short_secret(Credential(bytes(14), "X", "a"))


def test_google_authenticator_sample() -> None:
    # From pyotp's suite: Google Authenticator showed 102705 for this secret at that time.
    secret = base64.b32decode("WRN3PQX5UQXQVNQR")
    assert compute(Credential(secret, "", "mark@percival"), now=1297553958).value == "102705"
