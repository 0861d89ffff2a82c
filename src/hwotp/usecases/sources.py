"""Where credentials come from: a QR image, a URI, or a setup key typed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwotp.credential import Algorithm, Credential, CredentialError, Kind
from hwotp.errors import InputError


@dataclass(frozen=True)
class Found:
    """Credentials read from one input, with warnings and where they came from."""

    credentials: tuple[Credential, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""


def from_qr(path: Path) -> Found:
    """Every authenticator credential in the QR codes of an image."""
    from hwotp.formats.payload import read_payload
    from hwotp.inputs import qr

    credentials: list[Credential] = []
    warnings: list[str] = []
    refusals: list[InputError] = []
    for text in qr.decode_file(path):
        try:
            decoded = read_payload(text)
        except InputError as refusal:
            refusals.append(refusal)
            continue
        credentials.extend(decoded.credentials)
        warnings.extend(decoded.warnings)
        if decoded.batch:
            warnings.append(f"this QR code is {decoded.batch} of a Google Authenticator export")
    if not credentials:
        raise refusals[0]
    warnings.extend(f"skipped another QR code: {refusal}" for refusal in refusals)
    return Found(tuple(credentials), tuple(warnings), source=str(path))


def from_uri(uri: str) -> Found:
    from hwotp.formats.payload import URI, read_payload

    decoded = read_payload(uri.strip(), URI)
    warnings = list(decoded.warnings)
    if decoded.batch:
        warnings.append(f"this export is {decoded.batch}")
    return Found(decoded.credentials, tuple(warnings), source="the URI")


def from_secret(
    secret: str,
    issuer: str,
    account: str,
    kind: str = "totp",
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = 30,
    counter: int = 0,
) -> Found:
    from hwotp.formats.otpauth import secret_warnings
    from hwotp.secret import decode_secret

    try:
        credential = Credential(
            secret=decode_secret(secret),
            issuer=issuer,
            account=account,
            kind=Kind(kind.lower()),
            algorithm=Algorithm(algorithm.upper()),
            digits=digits,
            period=period,
            counter=counter,
        )
    except CredentialError as error:
        raise InputError(str(error)) from None
    return Found((credential,), secret_warnings(credential), source="the setup key")


def pick(found: Found, choices: tuple[int, ...]) -> Found:
    """Keep the credentials numbered in `choices` (1-based, as `enroll` lists them; the
    command line has checked they are in range)."""
    if not choices:
        return found
    chosen = tuple(found.credentials[n - 1] for n in dict.fromkeys(choices))
    return Found(chosen, found.warnings, found.source)
