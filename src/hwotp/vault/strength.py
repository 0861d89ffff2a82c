"""The passphrase floor for a new vault, a new passphrase or an export's password: a length
and zxcvbn's estimate.

The vault file is the attacker's to copy, and scrypt only slows each guess (about half a second
on a laptop, far less on dedicated hardware): the passphrase must resist an offline search.
zxcvbn (Dropbox's estimator, kept on PyPI as `zxcvbn`) is imported here only, when a passphrase
is being chosen. No sentence here repeats the passphrase or a part of it.
"""

from __future__ import annotations

MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn's scale 0-4; 3 means at least 10^8 guesses
MIN_GUESSES_LOG10 = 8


def weakness(passphrase: str) -> str | None:
    """Why `passphrase` is below the floor, or None when it passes."""
    if len(passphrase) < MIN_LENGTH:
        return f"fewer than {MIN_LENGTH} characters"
    from zxcvbn import zxcvbn

    # zxcvbn's cost grows with the length; its own docs truncate long input the same way.
    estimate = zxcvbn(passphrase[:100])
    if estimate["score"] >= MIN_SCORE:
        return None
    guesses = int(estimate["guesses_log10"])
    return f"about 10^{guesses} guesses would find it; a vault needs over 10^{MIN_GUESSES_LOG10}"
