"""A plain list of `otpauth://` URIs, one a line: what Ente Auth, WinAuth, `pass otp` and
hwotp's own `import` read. The secrets are in clear."""

from __future__ import annotations

from collections.abc import Sequence

from hwotp.credential import Credential
from hwotp.formats.otpauth import format_uri

LABEL = "otpauth list"


def write(credentials: Sequence[Credential]) -> bytes:
    return "".join(f"{format_uri(credential)}\n" for credential in credentials).encode("utf-8")
