"""The secrets, passphrase and moment the tests use, and pyotp's codes for them."""

from __future__ import annotations

from base64 import b32encode

import pyotp

# 2009-02-13 23:31:30 UTC: a fixed moment, 0 s into a 30 s step.
FIXED_TIME = 1234567890.0

# RFC 6238 Appendix B: the seed of each algorithm is "1234567890" repeated to the hash length;
# the SHA-1 one is also RFC 4226's key.
RFC6238_KEYS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC4226_KEY = RFC6238_KEYS["SHA1"]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits: pyotp refuses under 112
SECRET_B = b32encode(RFC4226_KEY).decode()  # "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
SECRET_C = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"
# Base32 of b"Hello!\xde\xad\xbe\xef": the 80-bit secret of Google's Key Uri Format wiki example,
# as short as many services still issue.
WIKI_SECRET = "JBSWY3DPEHPK3PXP"
RAW_SECRET = bytes(range(0xA0, 0xB4))  # 20 bytes, 160 bits: no short-secret warning
# 160 bits, from the full example of Google's Key Uri Format wiki.
WIKI_LONG_SECRET = "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"

GITHUB = f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
PERIOD_60 = f"otpauth://totp/Slow:alice?secret={SECRET_B}&issuer=Slow&period=60"

PASSPHRASE = "correct horse battery staple"  # of every throwaway vault


class LenientTOTP(pyotp.TOTP):
    # Real services issue 80-bit secrets and a YubiKey takes them; pyotp 2.12 would refuse them.
    min_secret_length_bits = 8


class LenientHOTP(pyotp.HOTP):
    min_secret_length_bits = 8


def totp(secret: str = SECRET, at: float = FIXED_TIME, **options) -> str:
    """pyotp's TOTP code for `secret` at `at` (the `hwotp` fixture's clock unless told)."""
    return pyotp.TOTP(secret, **options).at(at)
