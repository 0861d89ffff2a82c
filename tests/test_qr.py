"""hwotp.inputs.qr: every kind of screenshot decodes to exactly its payloads; bad files end in one
InputError sentence, never a traceback."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from hwotp.errors import InputError
from hwotp.inputs import qr
from qrimages import CATEGORIES, Case, make_case, make_set, qr_image

UTF8_URI = (
    "otpauth://totp/Société Générale:amélie@example.fr"
    "?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Société Générale"
)

# Two of each category, plus every image mode of "clean", the 90-degree turn and every kind
# of image without a code.
EXTRA = (
    [("clean", i) for i in range(2, 8)] + [("rotated", 2)] + [("nocode", i) for i in range(2, 6)]
)
CASES = make_set(seed=0, per_category=2) + [make_case(c, i) for c, i in EXTRA]


def test_every_category_is_covered() -> None:
    assert {case.category for case in CASES} == set(CATEGORIES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_decode_file(case: Case, tmp_path: Path) -> None:
    path = case.write(tmp_path, compress_level=1)
    if case.expected:
        assert qr.decode_file(path) == case.expected
    else:
        with pytest.raises(InputError, match=r"no QR code found.*crop closer.*--secret"):
            qr.decode_file(path)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.category in ("two", "url", "dark")], ids=lambda c: c.name
)
def test_decode_image(case: Case) -> None:
    assert qr.decode_image(case.image) == case.expected


def test_utf8_label_comes_back_intact() -> None:
    assert qr.decode_image(qr_image(UTF8_URI)) == [UTF8_URI]


def test_reading_order_rows_then_columns() -> None:
    """Four codes in a grid, the right-hand ones a few pixels higher, as a layout would do."""
    texts = [f"https://example.com/{n}" for n in "abcd"]
    sheet = Image.new("RGB", (700, 700), "white")
    for n, text in enumerate(texts):
        row, column = divmod(n, 2)
        sheet.paste(qr_image(text, 5), (40 + 340 * column, 40 + 340 * row - 12 * column))
    assert qr.decode_image(sheet) == texts


def test_the_same_code_twice_comes_back_once() -> None:
    code = qr_image(UTF8_URI, 4)
    sheet = Image.new("RGB", (code.width * 2 + 40, code.height), "white")
    sheet.paste(code, (0, 0))
    sheet.paste(code, (code.width + 40, 0))
    assert qr.decode_image(sheet) == [UTF8_URI]


def test_exif_orientation_sets_the_reading_order(tmp_path: Path) -> None:
    """A phone stores the pixels on their side with Orientation 6; read upright, A comes
    before B; read as stored, B would."""
    a, b = "https://example.com/a", "https://example.com/b"
    upright = Image.new("RGB", (560, 280), "white")
    upright.paste(qr_image(a, 5), (20, 40))
    upright.paste(qr_image(b, 5), (300, 40))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.jpg"
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())
    assert qr.decode_file(path) == [a, b]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    qr_image(UTF8_URI, 4).convert("CMYK").save(path, "JPEG", quality=90)
    assert qr.decode_file(path) == [UTF8_URI]


def test_16_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    """Pillow's own I;16 -> L conversion clips at 255: both shades would come out white."""
    grey = qr_image(UTF8_URI, 4).convert("L").point(lambda v: 20000 + v * 160, "I")
    path = tmp_path / "sixteen.png"
    grey.convert("I;16").save(path)
    assert Image.open(path).mode.startswith("I")
    assert qr.decode_file(path) == [UTF8_URI]


def test_light_modules_on_transparent_are_composited_on_white() -> None:
    code = qr_image(UTF8_URI, 4).convert("L")
    image = Image.new("RGBA", code.size, (0, 0, 0, 255))
    image.putalpha(ImageOps.invert(code))  # opaque black modules, transparent elsewhere
    assert qr.decode_image(image) == [UTF8_URI]


# --- the zbar fallback ----------------------------------------------------------------------


def test_zbar_fallback_reads_raw_utf8_in_binary_mode() -> None:
    """On the generated set zxing-cpp misses nothing zbar reads, so call the fallback itself:
    without binary mode zbar turns "Société" into mojibake."""
    pytest.importorskip("pyzbar.pyzbar")
    gray = qr_image(UTF8_URI, 4).convert("L")
    assert [found.text for found in qr._zbar(gray)] == [UTF8_URI]


def test_pipeline_falls_back_to_zbar_when_zxing_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("pyzbar.pyzbar")
    monkeypatch.setattr(qr, "_zxing", lambda gray, binarizer="LocalAverage": [])
    dark_mode = ImageOps.invert(qr_image(UTF8_URI, 3))  # needs zbar's inverted pass
    assert qr.decode_image(dark_mode) == [UTF8_URI]


def test_without_libzbar_the_fallback_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyzbar", None)  # makes `import pyzbar` fail
    assert qr._zbar(qr_image(UTF8_URI).convert("L")) == []


# --- bad files ------------------------------------------------------------------------------


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header claims a size: Pillow checks the size on opening."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        qr.decode_file(tmp_path / "nope.png")


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        qr.decode_file(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(qr, "open", refuse, raising=False)  # chmod 0 means nothing to root
    with pytest.raises(InputError, match="permission denied"):
        qr.decode_file(tmp_path / "shot.png")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"code.{fmt.lower()}"
    qr_image(UTF8_URI, 4).save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    assert qr.decode_file(path) == [UTF8_URI]


def test_colour_mode_pillow_cannot_convert() -> None:
    with pytest.raises(InputError, match=r"colour mode \(LAB\)"):
        qr.decode_image(Image.new("LAB", (100, 100)))


@pytest.mark.parametrize("content", [b"", b"otpauth://totp/x?secret=AAAA\n", b"%PDF-1.7\n" * 50])
def test_not_an_image(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "shot.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"is not an image hwotp can read \(PNG, JPEG"):
        qr.decode_file(path)


@pytest.mark.parametrize(("fmt", "keep"), [("PNG", 0.5), ("PNG", 0.95), ("JPEG", 0.5)])
def test_truncated_file(tmp_path: Path, fmt: str, keep: float) -> None:
    buffer = io.BytesIO()
    make_case("web2560", 0).image.save(buffer, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: int(len(buffer.getvalue()) * keep)])
    with pytest.raises(InputError, match="truncated or damaged"):
        qr.decode_file(path)


@pytest.mark.parametrize(
    "size",
    [(100_000, 100_000), (12_000, 10_000)],  # Pillow's error above 2x the limit, warning below
    ids=["error", "warning"],
)
def test_decompression_bomb(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(*size))
    with pytest.raises(InputError, match="larger than 100 megapixels"):
        qr.decode_file(path)


def test_import_loads_no_image_library() -> None:
    """`hwotp --help` must not pay for Pillow, zxing-cpp or libzbar."""
    code = (
        "import sys, hwotp.inputs.qr; "
        "print(sorted({'PIL', 'zxingcpp', 'pyzbar'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
