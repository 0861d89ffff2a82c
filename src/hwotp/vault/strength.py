"""The floor for a secret guarding a file anyone may copy and search offline (a new vault
passphrase, an export's password): a length and zxcvbn's estimate.

scrypt or PBKDF2 only slow each guess, by how much depends on the file: the vault is scrypt
2^17 (about half a second a guess on a laptop, far less on dedicated hardware); an Aegis
export is scrypt 2^15, four times cheaper; a PSKC file is PBKDF2-HMAC-SHA1 with 100,000
rounds, cheap on a GPU. So an export needs a stronger password than the vault. zxcvbn
(Dropbox's estimator, kept on PyPI as `zxcvbn`) is imported here only, when a secret is being
chosen. No sentence here repeats the secret or a part of it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MIN_LENGTH = 10
# zxcvbn 4.5 raises ValueError on longer input (its matchers' cost grows with the length);
# the first 72 characters of a secret that long are already far above any floor.
ZXCVBN_MAX_LENGTH = 72


@dataclass(frozen=True)
class Floor:
    """Which file the secret guards (named in the refusal), and the guesses it must resist."""

    guards: str
    guesses_log10: int


VAULT = Floor("a vault", 8)  # zxcvbn's score 3
EXPORT = Floor("an export", 10)  # zxcvbn's score 4


def weakness(secret: str, floor: Floor = VAULT) -> str | None:
    """Why `secret` is below `floor`, or None when it passes."""
    if len(secret) < MIN_LENGTH:
        return f"fewer than {MIN_LENGTH} characters"
    guesses = min(_guesses_log10(secret), _guesses_log10(simplified(secret)))
    if guesses >= floor.guesses_log10:
        return None
    return (f"about 10^{int(guesses)} guesses would find it; {floor.guards} needs over "
            f"10^{floor.guesses_log10}")


def simplified(secret: str) -> str:
    """`secret` as a guesser would try it: full-width and other compatibility forms made plain
    (NFKC), invisible format characters (zero-width spaces...) and spaces taken out, one case.
    zxcvbn knows none of these tricks, so each would pass a weak word."""
    plain = unicodedata.normalize("NFKC", secret)
    kept = "".join(c for c in plain if not c.isspace() and unicodedata.category(c) != "Cf")
    return kept.casefold()


def _guesses_log10(secret: str) -> float:
    from zxcvbn import zxcvbn

    if not secret:
        return 0.0
    return float(zxcvbn(secret[:ZXCVBN_MAX_LENGTH])["guesses_log10"])
