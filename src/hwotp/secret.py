"""Base32 secrets as services write them, and as hwotp writes them back.

Services show secrets in any case, grouped with spaces or hyphens, padded or not. Error
messages name the field but never repeat the text: it is the secret.
"""

from __future__ import annotations

import base64
import binascii
import re

from hwotp.errors import InputError

# Checked before upper-casing: str.upper() maps some non-ASCII letters onto ASCII ones ("ß").
_BASE32 = re.compile(r"[A-Za-z2-7]*")
_SEPARATORS = re.compile(r"[\s-]+")
# Lengths (mod 8) that a whole number of bytes can have in base32; 1, 3 and 6 cannot occur.
_VALID_REMAINDERS = frozenset({0, 2, 4, 5, 7})


def decode_secret(text: str) -> bytes:
    """The secret bytes of base32 `text`; raise InputError naming the field, never the value."""
    compact = _SEPARATORS.sub("", text).rstrip("=")
    if not compact:
        raise InputError("the secret is empty")
    if not _BASE32.fullmatch(compact):
        raise InputError(
            "the secret is not valid base32 (it may hold only the letters A-Z and digits 2-7)"
        )
    if len(compact) % 8 not in _VALID_REMAINDERS:
        raise InputError(
            "the secret is not valid base32 (its length is impossible: a character is missing"
            " or extra)"
        )
    padded = compact.upper() + "=" * (-len(compact) % 8)
    try:
        return base64.b32decode(padded)
    except binascii.Error:  # pragma: no cover - the checks above leave nothing to reject
        raise InputError("the secret is not valid base32") from None


def encode_secret(secret: bytes) -> str:
    """Unpadded uppercase base32, the form authenticator apps and YubiKey tools expect."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def looks_like_a_secret(text: str) -> bool:
    """Base32 of 80 bits or more in one case with a digit, as setup keys are written; a file
    name like Screenshot-from-today is not."""
    compact = re.sub(r"[\s-]", "", text).rstrip("=")
    one_case = compact.isupper() or compact.islower()
    return (
        len(compact) >= 16
        and one_case
        and _BASE32.fullmatch(compact) is not None
        and any(digit in compact for digit in "234567")
    )
