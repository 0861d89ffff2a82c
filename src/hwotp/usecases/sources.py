"""Where credentials come from: a QR image, a URI, or a setup key typed by hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hwotp.credential import Algorithm, Credential, CredentialError, Kind
from hwotp.errors import InputError, Remedy

if TYPE_CHECKING:
    from hwotp.formats.migration import Migration
    from hwotp.formats.payload import Origin


@dataclass(frozen=True)
class Found:
    """Credentials read from one input, with warnings and where they came from."""

    credentials: tuple[Credential, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""


def from_qr(*paths: Path) -> Found:
    """Every authenticator credential in the QR codes of the images. The parts of a Google
    Authenticator export split over several QR codes are gathered by the export's batch id:
    given together, every part must be there."""
    from hwotp.inputs import qr

    texts = [text for path in paths for text in qr.decode_file(path)]
    return _gather(texts, ", ".join(map(str, paths)))


def from_screen() -> Found:
    """Every credential in the QR codes on every screen, gathered as `from_qr` gathers several
    images (the parts of an export shown side by side). The capture stays in memory."""
    from hwotp.inputs import qr, screen

    texts = qr.decode_images(screen.capture(), screen.NAME, screen.NO_CODE)
    return _gather(texts, "the screen capture")


def from_clipboard() -> Found:
    """The credentials in the clipboard: the QR codes of an image, or the otpauth and
    otpauth-migration URIs of text, one a line."""
    from hwotp.formats.payload import CLIPBOARD, CLIPBOARD_LINE
    from hwotp.inputs import clipboard, qr
    from hwotp.secret import looks_like_a_secret

    contents = clipboard.read()
    if contents.image is not None:
        return _gather(qr.decode_bytes(contents.image, clipboard.NAME), "the clipboard")
    lines = [line for line in (contents.text or "").splitlines() if line.strip()]
    if len(lines) == 1 and looks_like_a_secret(lines[0].strip()):
        raise InputError("the clipboard holds what looks like a setup key, without the "
                         "account it belongs to", remedy=Remedy.SETUP_KEY)
    return _gather(lines or [""], "the clipboard", CLIPBOARD if len(lines) <= 1 else CLIPBOARD_LINE)


def _gather(texts: list[str], source: str, origin: Origin | None = None) -> Found:
    """The credentials of every text (a QR code's or a line's); texts that hold none are
    skipped with a warning, unless none holds any: then the first refusal is the error."""
    from hwotp.formats.payload import QR_CODE, read_payload

    credentials: list[Credential] = []
    warnings: list[str] = []
    refusals: list[InputError] = []
    parts: list[Migration] = []
    for text in texts:
        try:
            decoded = read_payload(text, origin or QR_CODE)
        except InputError as refusal:
            refusals.append(refusal)
            continue
        credentials.extend(decoded.credentials)
        warnings.extend(decoded.warnings)
        if decoded.batch and decoded.part is not None:
            parts.append(decoded.part)
    if not credentials:
        raise refusals[0]
    warnings.extend(_unfinished_exports(parts))
    skipped = "skipped another QR code: " if origin is None else "skipped: "
    warnings.extend(f"{skipped}{refusal}" for refusal in refusals)
    return Found(tuple(credentials), tuple(warnings), source=source)


def _unfinished_exports(parts: list[Migration]) -> list[str]:
    """A part given alone is a warning (the others can follow in another command); parts of
    one export given together with one missing are refused, naming it."""
    batches: dict[int, list[Migration]] = {}
    for part in parts:
        batches.setdefault(part.batch_id, []).append(part)
    warnings = []
    for given in batches.values():
        size = given[0].batch_size
        missing = sorted(set(range(size)) - {part.batch_index for part in given})
        if missing and len(given) > 1:
            raise InputError(
                f"part {missing[0] + 1} of {size} of a Google Authenticator export is missing",
                remedy=Remedy.ALL_PARTS,
            )
        if missing:
            warnings.append(f"this QR code is {given[0].batch_label} of a Google Authenticator "
                            "export")
    return warnings


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
