"""hwotp.inputs.qr: every kind of screenshot decodes to exactly its payloads; bad files end in one
InputError sentence, never a traceback."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from hwotp.errors import InputError, Remedy
from hwotp.inputs import files, qr
from qrimages import CATEGORIES, Case, make_case, make_set, png_claiming, qr_image

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
        with pytest.raises(InputError, match=r"no QR code found.*crop closer") as refused:
            qr.decode_file(path)
        assert refused.value.remedy is Remedy.SETUP_KEY  # the command line names --secret


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


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        qr.decode_file(tmp_path / "nope.png")


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        qr.decode_file(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    (tmp_path / "shot.png").write_bytes(b"")
    monkeypatch.setattr(files, "open", refuse, raising=False)  # chmod 0 means nothing to root
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
    [
        (100_000, 100_000),  # Pillow's own error: above 2x its limit
        (10_000, 10_000),  # the review's 389 KB PNG: 1.2 GB and 6.4 s before the header check
        (8_000, 5_000),  # Pillow's warning band (1x to 2x the limit), made an error
        (10_240, 5_760),  # a 5K screen at 2x: no such screen exists
        (20_000, 1_000),  # 20 MP, but wider than any row of screens
    ],
    ids=["error", "100MP", "warning", "5K-at-2x", "too-wide"],
)
def test_oversized_images_are_refused_from_the_header(tmp_path: Path, size: tuple[int, int]):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(*size))  # a header and a few bytes: nothing to decode
    with pytest.raises(InputError, match="larger than a screenshot hwotp reads") as refused:
        qr.decode_file(path)
    assert "crop it around the QR code" in str(refused.value)


def test_a_jpeg_claiming_10000_pixels_a_side_is_refused_before_decoding(tmp_path: Path) -> None:
    """The review's 27 KB JPEG whose header claims 10000x10000 (434 MB, 5.1 s): the size is
    patched into the frame header of a small real JPEG."""
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")  # SOF0: length(2) precision(1) height(2) width(2)
    data[frame + 5 : frame + 9] = struct.pack(">HH", 10_000, 10_000)
    path = tmp_path / "claims.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"\(10000x10000\) is larger than a screenshot"):
        qr.decode_file(path)


@pytest.mark.parametrize("size", [(5120, 2880), (7680, 4320)], ids=["5K", "8K=4K-at-2x"])
def test_the_largest_screens_are_still_read(tmp_path: Path, size: tuple[int, int]) -> None:
    """A transparent screenshot (the costliest mode) of a 5K screen, and of a 4K screen at 2x."""
    screen = Image.new("RGBA", size, (0, 0, 0, 0))
    screen.paste(qr_image(UTF8_URI, 4).convert("RGBA"), (size[0] // 2, size[1] // 3))
    path = tmp_path / "screen.png"
    screen.save(path, compress_level=1)
    assert qr.decode_file(path) == [UTF8_URI]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: the check must come before the open. A
    child process, so that a regression fails on the timeout instead of hanging the run."""
    fifo = tmp_path / "shot.png"
    os.mkfifo(fifo)
    code = (
        "import sys; from hwotp.inputs import qr; from hwotp.errors import InputError\n"
        "try: qr.decode_file(sys.argv[1])\n"
        "except InputError as e: print(e)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == (
        f"{fifo} is not a regular file (a pipe, socket or device); save the image to a file"
    )


def test_a_device_is_refused_unread() -> None:
    with pytest.raises(InputError, match="is not a regular file"):
        qr.decode_file("/dev/zero")  # read, it would never end


def test_import_loads_no_image_library() -> None:
    """`hwotp --help` must not pay for Pillow, zxing-cpp or libzbar."""
    code = (
        "import sys, hwotp.inputs.qr; "
        "print(sorted({'PIL', 'zxingcpp', 'pyzbar'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_only_screenshot_formats_are_opened_never_postscript(tmp_path: Path, monkeypatch) -> None:
    """Pillow hands EPS to Ghostscript: an attacker's "screenshot" must never reach it."""
    ran = tmp_path / "gs-ran"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "gs").write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    (fake / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    evil = tmp_path / "evil.png"
    evil.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n")
    with pytest.raises(InputError, match="not an image hwotp can read"):
        qr.decode_file(evil)
    assert not ran.exists()


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding(tmp_path: Path) -> None:
    """Each scan of a progressive JPEG re-decodes the image: a small file of thousands costs
    minutes of CPU. A real progressive screenshot (about ten scans) still reads."""
    buffer = io.BytesIO()
    qr_image("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP", 6).convert("RGB").save(
        buffer, "JPEG", progressive=True, quality=95)
    data = buffer.getvalue()
    honest = tmp_path / "progressive.jpg"
    honest.write_bytes(data)
    assert qr.decode_file(honest) == ["otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP"]
    last_scan = data.rindex(b"\xff\xda")
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(data[:-2] + data[last_scan:-2] * 2000 + b"\xff\xd9")
    with pytest.raises(InputError, match=r"JPEG of 20\d\d scans"):
        qr.decode_file(bomb)


# --- images held in memory: the screen's, the clipboard's ----------------------------------------

OTHER_URI = "otpauth://totp/GitLab:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def side_by_side(*images: Image.Image) -> Image.Image:
    sheet = Image.new("RGB", (sum(i.width for i in images) + 40 * len(images), 400), "white")
    x = 20
    for image in images:
        sheet.paste(image, (x, 20))
        x += image.width + 40
    return sheet


def test_decode_images_reads_every_screen_in_turn_and_gives_each_text_once() -> None:
    screens = [qr_image(UTF8_URI, 3), side_by_side(qr_image(UTF8_URI, 3), qr_image(OTHER_URI, 3))]
    assert qr.decode_images(screens, "the screen", "none here") == [UTF8_URI, OTHER_URI]
    blank = Image.new("RGB", (800, 600), "white")
    with pytest.raises(InputError) as raised:
        qr.decode_images([blank, blank], "the screen", "no QR code on the screen")
    assert (raised.value.message, raised.value.remedy) == ("no QR code on the screen",
                                                           Remedy.SETUP_KEY)


def test_decode_bytes_reads_an_encoded_image_with_a_files_limits() -> None:
    encoded = io.BytesIO()
    qr_image(UTF8_URI, 3).save(encoded, "PNG")
    assert qr.decode_bytes(encoded.getvalue(), "the clipboard's image") == [UTF8_URI]
    with pytest.raises(InputError, match=r"^the clipboard's image \(20000x10000\) is larger"):
        qr.decode_bytes(png_claiming(20_000, 10_000), "the clipboard's image")
    with pytest.raises(InputError, match=r"^the clipboard's image is not an image hwotp can read"):
        qr.decode_bytes(b"otpauth://totp/x?secret=AAAA", "the clipboard's image")
    with pytest.raises(InputError, match=r"^the clipboard's image is truncated or damaged"):
        qr.decode_bytes(encoded.getvalue()[:200], "the clipboard's image")


def test_refuse_oversized_checks_a_size_before_any_pixel_is_captured() -> None:
    qr.refuse_oversized((7680, 4320), "the screen")  # an 8K screen is read
    with pytest.raises(InputError, match=r"^the screen \(16385x100\) is larger"):
        qr.refuse_oversized((16_385, 100), "the screen")
    with pytest.raises(InputError, match=r"^the screen \(8000x5000\) is larger"):
        qr.refuse_oversized((8000, 5000), "the screen")
