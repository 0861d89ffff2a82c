"""Where credentials come from: a QR image, a URI, or a setup key typed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from hwotp.credential import Algorithm, Credential, CredentialError, Kind
from hwotp.errors import InputError, Remedy

if TYPE_CHECKING:
    from hwotp.formats.migration import Migration
    from hwotp.formats.payload import Decoded, Origin


@dataclass(frozen=True)
class Found:
    """Credentials read from one input, with warnings and where they came from."""

    credentials: tuple[Credential, ...]
    warnings: tuple[str, ...] = ()
    source: str = ""


STDIN = Path("-")  # `--qr -`: the image is on standard input
STDIN_NAME = "standard input"


@dataclass(frozen=True)
class Uri:
    """A URI and, for a refusal, where it was given: "" when alone, "URI 2", "line 3 of
    standard input"."""

    text: str
    where: str = ""


def from_qr(*paths: Path, stdin: BinaryIO | None = None) -> Found:
    """Every authenticator credential in the QR codes of the images (`STDIN`: the image read
    from `stdin`). The parts of a Google Authenticator export split over several QR codes are
    gathered by the export's batch id: given together, every part must be there."""
    return from_inputs(paths, (), stdin)


def from_uri(uri: str) -> Found:
    return from_inputs((), (Uri(uri),))


def from_inputs(
    paths: Sequence[Path], uris: Sequence[Uri], stdin: BinaryIO | None = None
) -> Found:
    """The credentials of every image and URI given in one command, the parts of a split
    export gathered across them all. A QR code that is not an authenticator's is skipped with
    a warning when others are; a URI that cannot be used is refused, naming where it was."""
    gathered = _Gathered()
    for path in paths:
        gathered.add_texts(_qr_texts(path, stdin))
    for uri in uris:
        gathered.add_uri(uri)
    return gathered.found(_source(paths, uris))


def _qr_texts(path: Path, stdin: BinaryIO | None) -> list[str]:
    from hwotp.inputs import qr

    if path == STDIN and stdin is not None:
        return qr.decode_stream(stdin, f"the image on {STDIN_NAME}")
    return qr.decode_file(path)


def _source(paths: Sequence[Path], uris: Sequence[Uri]) -> str:
    named = [STDIN_NAME if path == STDIN else str(path) for path in paths]
    on_stdin = any(uri.where.endswith(STDIN_NAME) for uri in uris)
    if on_stdin:
        named.append(STDIN_NAME)
    elif len(uris) == 1:
        named.append("the URI")
    elif uris:
        named.append(f"{len(uris)} URIs")
    return ", ".join(named)


@dataclass
class _Gathered:
    credentials: list[Credential] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[InputError] = field(default_factory=list)  # QR codes of something else
    parts: list[Migration] = field(default_factory=list)
    from_qr: bool = False
    skipping: str = "skipped another QR code: "  # how a skipped text is named

    def add_texts(self, texts: list[str], origin: Origin | None = None) -> None:
        """QR codes' texts, or (with `origin`) the clipboard's lines: those that hold no
        credential are skipped (with a warning) while others do."""
        from hwotp.formats.payload import QR_CODE, read_payload

        self.from_qr = True
        if origin is not None:
            self.skipping = "skipped: "
        for text in texts:
            try:
                self._add(read_payload(text, origin or QR_CODE))
            except InputError as refusal:
                self.skipped.append(refusal)

    def add_uri(self, uri: Uri) -> None:
        from hwotp.formats.payload import URI, read_payload

        try:
            self._add(read_payload(uri.text.strip(), URI))
        except InputError as refusal:
            if not uri.where:
                raise
            raise InputError(f"{uri.where}: {refusal.message}", remedy=refusal.remedy) from None

    def _add(self, decoded: Decoded) -> None:
        self.credentials.extend(decoded.credentials)
        self.warnings.extend(decoded.warnings)
        if decoded.batch and decoded.part is not None:
            self.parts.append(decoded.part)

    def found(self, source: str) -> Found:
        if not self.credentials:
            raise self.skipped[0]
        warnings = self.warnings + _unfinished_exports(self.parts, self.from_qr)
        warnings += [f"{self.skipping}{refusal}" for refusal in self.skipped]
        return Found(tuple(self.credentials), tuple(warnings), source)


def from_screen() -> Found:
    """Every credential in the QR codes on every screen, gathered as `from_inputs` gathers
    several images (the parts of an export shown side by side). The capture stays in memory."""
    from hwotp.inputs import qr, screen

    gathered = _Gathered()
    gathered.add_texts(qr.decode_images(screen.capture(), screen.NAME, screen.NO_CODE))
    return gathered.found("the screen capture")


def from_clipboard() -> Found:
    """The credentials in the clipboard: the QR codes of an image, or the otpauth and
    otpauth-migration URIs of text, one a line."""
    from hwotp.formats.payload import CLIPBOARD, CLIPBOARD_LINE
    from hwotp.inputs import clipboard, qr
    from hwotp.secret import looks_like_a_secret

    gathered = _Gathered()
    contents = clipboard.read()
    if contents.image is not None:
        gathered.add_texts(qr.decode_bytes(contents.image, clipboard.NAME))
        return gathered.found("the clipboard")
    lines = [line for line in (contents.text or "").splitlines() if line.strip()]
    if len(lines) == 1 and looks_like_a_secret(lines[0].strip()):
        raise InputError("the clipboard holds what looks like a setup key, without the "
                         "account it belongs to", remedy=Remedy.SETUP_KEY)
    gathered.add_texts(lines or [""], CLIPBOARD if len(lines) <= 1 else CLIPBOARD_LINE)
    return gathered.found("the clipboard")


def _unfinished_exports(parts: list[Migration], from_qr: bool) -> list[str]:
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
            what = "QR code" if from_qr else "URI"
            warnings.append(f"this {what} is {given[0].batch_label} of a Google Authenticator "
                            f"export: enrol its other {len(missing)} part"
                            f"{'s' if len(missing) > 1 else ''} too (given together in one "
                            "command, a missing one is named)")
    return warnings


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
