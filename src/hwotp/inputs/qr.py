"""QR codes in an image -> their text.

An input layer: it knows images and QR codes, nothing about otpauth; callers check what the
text is. Pillow, zxing-cpp and pyzbar are imported inside the functions that use them, so that
`hwotp --help` and `hwotp code` do not pay for them.

Decoders, in order, stopping at the first pass that finds anything (measured in
docs/qr-decoding.md):

1. zxing-cpp, restricted to QR codes (other symbologies only add phantom 1-D reads);
2. zxing-cpp again after `autocontrast`, which rescues some low-contrast screenshots;
3. zxing-cpp with a global threshold (fixed, then histogram): a faint code whose grey quiet
   zone sits on a white page defeats the local-average binarizer, which turns that quiet zone
   black around the finder patterns (bench/qr.py, category lowcontrast);
4. zbar through pyzbar, if libzbar is installed: QR only, binary mode (raw bytes, decoded here
   as UTF-8), on the image, its inversion (zbar cannot read light-on-dark), 0.5x and 2x.

Each later pass only runs on images the earlier ones found nothing in, so it costs nothing on
the common case.
"""

from __future__ import annotations

import io
import os
import struct
import typing
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from hwotp.errors import InputError, Remedy

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_STREAM_BYTES",
    "decode_bytes",
    "decode_file",
    "decode_image",
    "decode_images",
    "decode_stream",
    "open_bytes",
    "refuse_oversized",
]

# The largest screen capture read: an 8K screen (a 4K screen at 2x, 7680x4320) is 33.2 MP, two
# 5K screens side by side 29.5 MP. An image at the limit costs about 310 MB and 2-5 s with every
# pass (docs/qr-decoding.md); the header is checked first, so a larger claim costs nothing.
MAX_PIXELS = 36_000_000
MAX_SIDE = 16_384  # three 4K screens side by side are 11520 px wide
SCREENSHOT_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
MAX_JPEG_SCANS = 100  # a progressive JPEG has about ten
# An image piped in is read into memory whole: room for the largest screenshot read, stored
# as 32-bit BMP (the largest of the formats), plus its header.
MAX_STREAM_BYTES = MAX_PIXELS * 4 + 2**20

NO_CODE = (
    "no QR code found in {name}: crop closer to the code, take a larger screenshot, "
    "raise the contrast"
)

# What Pillow raises for truncated or corrupt data, depending on the format plugin.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)

_ZBAR_QRCODE = 64  # ZBAR_QRCODE
_Y800 = 0x30303859  # fourcc "Y800": 8-bit greyscale (pyzbar's table mislabels it "L800")


class _Symbol(NamedTuple):
    """One decoded code and its bounding box, for putting codes in reading order."""

    text: str
    left: float
    top: float
    bottom: float


def decode_file(path: str | os.PathLike[str]) -> list[str]:
    """The text of every QR code in the image file at `path`, in reading order.

    Raises InputError (one sentence) when the file cannot be read or holds no QR code.
    """
    name = os.fspath(path)
    return _decode_or_raise(_open(name), name)


def decode_stream(stream: BinaryIO, name: str) -> list[str]:
    """The text of every QR code in the image read from `stream` (standard input), under the
    same rules as a file; at most MAX_STREAM_BYTES are read, so an endless pipe costs little.
    `name` words the refusals."""
    import io

    data = stream.read(MAX_STREAM_BYTES + 1)
    if len(data) > MAX_STREAM_BYTES:
        raise InputError(f"{name} is larger than a screenshot hwotp reads "
                         f"({MAX_STREAM_BYTES // 2**20} MiB); crop it around the QR code")
    if not data:
        raise InputError(f"{name} is empty: pipe the screenshot in")
    return _decode_or_raise(_load(io.BytesIO(data), name), name)


def decode_image(image: Image.Image) -> list[str]:
    """The text of every QR code in `image`, deduplicated, top to bottom then left to right.

    Raises InputError when the image holds no readable QR code.
    """
    return _decode_or_raise(image, "the image")


def decode_bytes(data: bytes, name: str) -> list[str]:
    """The text of every QR code in an encoded image held in memory (a clipboard's PNG), with
    the same formats and size limits as a file; `name` says where it came from in errors."""
    return _decode_or_raise(open_bytes(data, name), name)


def open_bytes(data: bytes, name: str) -> Image.Image:
    """The decoded image of encoded bytes held in memory (a screenshot tool's pipe), or
    InputError naming what is wrong; nothing touches the disk."""
    return _load(io.BytesIO(data), name)


def decode_images(images: Sequence[Image.Image], name: str, no_code: str) -> list[str]:
    """The text of every QR code in any of `images` (one per screen), each screen in reading
    order, duplicates once. Raises InputError with `no_code` when none holds a code."""
    texts = [text for image in images for text in _decode_gray(_gray(image, name))]
    if not texts:
        raise InputError(no_code, remedy=Remedy.SETUP_KEY)
    return list(dict.fromkeys(texts))


def _decode_or_raise(image: Image.Image, name: str) -> list[str]:
    texts = _decode_gray(_gray(image, name))
    if not texts:
        raise InputError(NO_CODE.format(name=name), remedy=Remedy.SETUP_KEY)
    return texts


def _gray(image: Image.Image, name: str) -> Image.Image:
    try:
        return _to_gray(image)
    except ValueError:  # a mode Pillow cannot convert, such as LAB
        raise InputError(f"{name} uses a colour mode ({image.mode}) hwotp cannot read") from None


def _open(name: str) -> Image.Image:
    """The decoded image, or InputError naming what is wrong with the file."""
    from hwotp.inputs.files import open_regular

    with open_regular(name, "image") as file:  # closing the file keeps the loaded pixels
        return _load(file, name)


def _load(file: BinaryIO, name: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    # Pillow's own guard stays as a backstop above hwotp's; its warning band is an error too.
    Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Screenshot formats only: Pillow would hand an EPS file to Ghostscript.
            image = Image.open(file, formats=SCREENSHOT_FORMATS)  # lazy: the header only
            refuse_oversized(image.size, name)  # before a single pixel is decoded
            if image.format == "JPEG":
                _refuse_scan_bomb(file, name)
                image.draft("L", image.size)  # libjpeg decodes luma only: half the time
            image.load()
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(_too_large(name)) from None
    except UnidentifiedImageError:
        raise InputError(
            f"{name} is not an image hwotp can read (PNG, JPEG, GIF, BMP, TIFF, WebP)"
        ) from None
    except _DAMAGED:
        raise InputError(f"{name} is truncated or damaged; save the screenshot again") from None


def _refuse_scan_bomb(file: BinaryIO, name: str) -> None:
    """A progressive JPEG has about ten scans; thousands cost minutes of CPU at a bounded size
    (each re-decodes the image). In entropy-coded data a 0xFF is always followed by 0x00, so
    FF DA is the start-of-scan marker and nothing else."""
    file.seek(0)
    scans = file.read().count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise InputError(f"{name} is a JPEG of {scans} scans, far more than a screenshot has; "
                         "save the screenshot again as PNG")


def refuse_oversized(size: tuple[int, int], name: str) -> None:
    """InputError when an image of `size` is larger than a screenshot hwotp reads: checked
    before its pixels are decoded or captured."""
    width, height = size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise InputError(_too_large(name, f" ({width}x{height})"))


def _too_large(name: str, size: str = "") -> str:
    return (
        f"{name}{size} is larger than a screenshot hwotp reads ({MAX_PIXELS // 1_000_000} "
        f"megapixels, {MAX_SIDE} pixels a side); crop it around the QR code"
    )


def _to_gray(image: Image.Image) -> Image.Image:
    """8-bit greyscale, transparent areas on white, EXIF rotation applied."""
    from PIL import Image, ImageOps

    if image.getexif().get(0x0112, 1) != 1:  # Orientation tag; skip the copy when upright
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _stretch(image.convert("I") if image.mode.startswith("I;16") else image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":  # on white, in greyscale: a third of the memory of RGBA on RGBA
        on_white = Image.new("L", image.size, 255)
        on_white.paste(image.convert("L"), mask=image.getchannel("A"))
        return on_white
    if image.mode == "CMYK":
        image = image.convert("RGB")
    return image if image.mode == "L" else image.convert("L")


def _stretch(image: Image.Image) -> Image.Image:
    """Scale 16- and 32-bit pixels to 0-255; Pillow's own conversion clips at 255."""
    low, high = typing.cast("tuple[float, float]", image.getextrema())  # one band
    scale = 255 / (high - low) if high > low else 0
    return image.point(lambda v: (v - low) * scale).convert("L")


def _decode_gray(gray: Image.Image) -> list[str]:
    for attempt in (_zxing, _zxing_autocontrast, _zxing_global, _zbar):
        found = attempt(gray)
        if found:
            return _reading_order(found)
    return []


def _reading_order(found: list[_Symbol]) -> list[str]:
    """Texts in rows top to bottom, each row left to right; a code whose vertical middle lies
    within the first code of a row belongs to that row (codes side by side are rarely aligned
    to the pixel)."""
    rows: list[list[_Symbol]] = []
    for code in sorted(found, key=lambda f: f.top):
        middle = (code.top + code.bottom) / 2
        if rows and rows[-1][0].top <= middle <= rows[-1][0].bottom:
            rows[-1].append(code)
        else:
            rows.append([code])
    ordered = [code.text for row in rows for code in sorted(row, key=lambda f: f.left)]
    return list(dict.fromkeys(ordered))


def _zxing(gray: Image.Image, binarizer: str = "LocalAverage") -> list[_Symbol]:
    import zxingcpp

    found = []
    for code in zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_rotate=True,
        try_downscale=True,
        try_invert=True,  # dark mode: light modules on a dark background
        text_mode=zxingcpp.TextMode.Plain,  # the text as encoded, no symbology decoration
        binarizer=getattr(zxingcpp.Binarizer, binarizer),
    ):
        p = code.position
        xs = (p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x)
        ys = (p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y)
        found.append(_Symbol(code.text, min(xs), min(ys), max(ys)))
    return found


def _zxing_autocontrast(gray: Image.Image) -> list[_Symbol]:
    from PIL import ImageOps

    return _zxing(ImageOps.autocontrast(gray, cutoff=1))


def _zxing_global(gray: Image.Image) -> list[_Symbol]:
    return _zxing(gray, "FixedThreshold") or _zxing(gray, "GlobalHistogram")


def _zbar(gray: Image.Image) -> list[_Symbol]:
    """The zbar passes, or nothing when pyzbar or libzbar is not installed."""
    from PIL import Image, ImageOps

    try:
        from pyzbar import wrapper  # noqa: F401 - loads libzbar, may fail
    except (ImportError, OSError):
        return []
    width, height = gray.size
    variants = [
        lambda: gray,
        lambda: ImageOps.invert(gray),  # zbar reads dark modules on light only
        lambda: gray.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.BICUBIC),
    ]
    if width * height * 4 <= MAX_PIXELS:  # small modules on 4K pages need upscaling
        variants.append(lambda: gray.resize((width * 2, height * 2), Image.Resampling.BICUBIC))
    for variant in variants:
        found = _zbar_scan(variant())
        if found:
            return found
    return []


def _zbar_scan(gray: Image.Image) -> list[_Symbol]:
    """One zbar scan of an 8-bit greyscale image, QR codes only, raw bytes."""
    from ctypes import c_char_p, c_void_p, cast

    from pyzbar import wrapper as zb

    pixels = gray.tobytes()  # kept alive until the scan is done
    scanner = zb.zbar_image_scanner_create()
    image = zb.zbar_image_create()
    try:
        _configure(scanner)
        zb.zbar_image_set_format(image, _Y800)
        zb.zbar_image_set_size(image, gray.width, gray.height)
        zb.zbar_image_set_data(image, cast(c_char_p(pixels), c_void_p), len(pixels), None)
        if zb.zbar_scan_image(scanner, image) <= 0:
            return []
        return _zbar_symbols(image)
    finally:
        zb.zbar_image_destroy(image)
        zb.zbar_image_scanner_destroy(scanner)


def _configure(scanner: object) -> None:
    """QR codes only, in binary mode: without it zbar guesses a text encoding and turns raw
    UTF-8 labels ("Société") into mojibake. The option is ZBAR_CFG_BINARY, 4 since zbar 0.23,
    which pyzbar 0.1.9's enum calls CFG_NUM: ask libzbar for it rather than trust the enum."""
    from ctypes import byref, c_int

    from pyzbar import wrapper as zb

    zb.zbar_image_scanner_set_config(scanner, 0, zb.ZBarConfig.CFG_ENABLE, 0)  # 0: all
    zb.zbar_image_scanner_set_config(scanner, _ZBAR_QRCODE, zb.ZBarConfig.CFG_ENABLE, 1)
    symbol, config, value = c_int(), c_int(), c_int()
    if zb.zbar_parse_config(b"qrcode.binary=1", byref(symbol), byref(config), byref(value)):
        return  # a zbar older than 0.23 has no binary mode
    zb.zbar_image_scanner_set_config(scanner, symbol.value, config.value, value.value)


def _zbar_symbols(image: object) -> list[_Symbol]:
    from ctypes import string_at

    from pyzbar import wrapper as zb

    found = []
    symbol = zb.zbar_image_first_symbol(image)
    while symbol:
        if symbol.contents.type == _ZBAR_QRCODE:
            data = string_at(
                zb.zbar_symbol_get_data(symbol), zb.zbar_symbol_get_data_length(symbol)
            )
            points = range(zb.zbar_symbol_get_loc_size(symbol))
            xs = [zb.zbar_symbol_get_loc_x(symbol, i) for i in points] or [0]
            ys = [zb.zbar_symbol_get_loc_y(symbol, i) for i in points] or [0]
            found.append(_Symbol(_text(data), min(xs), min(ys), max(ys)))
        symbol = zb.zbar_symbol_next(symbol)
    return found


def _text(data: bytes) -> str:
    """UTF-8, as nearly every generator writes; else ISO 8859-1, the QR standard's default."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
