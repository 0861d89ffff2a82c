"""Realistic images of QR codes, for tests/test_qr.py and bench/qr.py.

Each category imitates what a user hands to `hwotp enroll --qr`: a screenshot of a settings page
at 2560 or 3840 px with a smallish, browser-smoothed code, a HiDPI rescale, dark mode, a JPEG,
a phone photo (rotated, in perspective), a faint code, a crop that cuts the quiet zone, two codes,
a 1-D barcode beside the code, no code at all, and a code holding a web address.

Everything is drawn from a seeded random.Random per case, so `make_set(seed, per_category=2)`
returns the first two cases of each category of `make_set(seed)`, pixel for pixel.
"""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import segno
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

Box = tuple[int, int, int, int]
RGB = tuple[int, int, int]
R = Image.Resampling

# --- payloads -------------------------------------------------------------------------------

ACCOUNTS = [
    ("GitHub", "octocat"),
    ("Google", "alice.martin@gmail.com"),
    ("Société Générale", "amélie@example.fr"),
    ("Microsoft", "bob@outlook.com"),
    ("Amazon Web Services", "root@corp.example"),
    ("Deutsche Bank", "jürgen.müller@example.de"),
    ("Dropbox", "carol@example.com"),
    ("楽天", "太郎@example.jp"),
    ("Zoë's Café", "zoë@example.com"),
    ("Proton", "dave@proton.me"),
    ("Discord", "gamer_1234"),
    ("Crédit Agricole", "françois.dupré@example.fr"),
    ("Bitwarden", "erin@example.org"),
    ("Αθήνα Bank", "νίκος@example.gr"),
]

URLS = [
    "https://example.com/account/security/two-factor?setup=1",
    "https://www.example.org/download/authenticator",
    "https://accounts.example.net/device/pair?code=8F3K-2Q9X",
    "http://intranet.example.local/wifi-guest",
    "https://example.com/r/6f1c2a",
    "https://shop.example.de/bestellung/2024-000123?utm_source=qr",
]

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def otpauth_uri(rng: random.Random) -> str:
    """An otpauth URI as real sites write them: encoded or raw UTF-8 labels, varied parameters."""
    issuer, account = rng.choice(ACCOUNTS)
    secret = "".join(rng.choice(_BASE32) for _ in range(rng.choice([16, 26, 32, 32, 52])))
    kind = "hotp" if rng.random() < 0.1 else "totp"
    params = [f"secret={secret}"]
    style = rng.choice(["encoded", "encoded", "raw", "plain"])
    if style == "encoded":  # Google, GitHub: everything percent-encoded
        label = quote(f"{issuer}:{account}", safe="")
        params.append(f"issuer={quote(issuer, safe='')}")
    elif style == "raw":  # some sites put raw UTF-8 in the code
        label = f"{issuer}:{account}"
        params.append(f"issuer={issuer}")
    else:  # label only, no issuer parameter
        label = quote(f"{issuer}:{account}", safe=":@")
    if kind == "hotp":
        params.append(f"counter={rng.randint(0, 50)}")
    if rng.random() < 0.25:
        params += [f"algorithm={rng.choice(['SHA1', 'SHA256', 'SHA512'])}", "digits=8"]
    if kind == "totp" and rng.random() < 0.15:
        params.append("period=60")
    rng.shuffle(params)
    return f"otpauth://{kind}/{label}?{'&'.join(params)}"


def migration_uri(rng: random.Random) -> str:
    """A Google Authenticator export URI (the protobuf is random bytes: decoding is elsewhere)."""
    data = base64.b64encode(rng.randbytes(rng.randint(40, 160))).decode()
    return f"otpauth-migration://offline?data={quote(data, safe='')}"


def payload(rng: random.Random) -> str:
    return migration_uri(rng) if rng.random() < 0.1 else otpauth_uri(rng)


# --- drawing blocks -------------------------------------------------------------------------


def qr_image(
    text: str,
    module: float = 4,
    *,
    border: int = 4,
    error: str = "M",
    dark: RGB = (0, 0, 0),
    light: RGB = (255, 255, 255),
    resample: R = R.LANCZOS,
) -> Image.Image:
    """A QR code as a browser shows it: fixed error level, UTF-8 without ECI (as most site
    generators write it); a module size that is not a whole number of pixels is smoothed."""
    code = segno.make(text, error=error, micro=False, boost_error=False, encoding="utf-8")
    rows = list(code.matrix_iter(scale=1, border=border))
    n = len(rows)
    base = Image.frombytes("L", (n, n), bytes(0 if v else 255 for row in rows for v in row))
    size = max(n, round(n * module))
    if size % n == 0:
        big = base.resize((size, size), R.NEAREST)
    else:
        big = base.resize((n * 8, n * 8), R.NEAREST).resize((size, size), resample)
    return ImageOps.colorize(big, dark, light)


def barcode_image(text: str, dpi: int = 200) -> Image.Image:
    """A Code 128 barcode with its human-readable line, as on a receipt or a parcel label."""
    from barcode import Code128
    from barcode.writer import ImageWriter

    options = {"module_height": 10, "quiet_zone": 3, "font_size": 8, "text_distance": 3, "dpi": dpi}
    return Code128(text, writer=ImageWriter()).render(options).convert("RGB")


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Theme:
    bg: RGB
    text: RGB
    muted: RGB
    header: RGB
    accent: RGB
    card: RGB


LIGHT = Theme(
    (246, 248, 250), (31, 35, 40), (101, 109, 118), (36, 41, 47), (31, 136, 61), (255,) * 3
)
DARK = Theme((13, 17, 23), (230, 237, 243), (139, 148, 158), (1, 4, 9), (35, 134, 54), (22, 27, 34))

_PROSE = """
two-factor authentication security account settings recovery codes scan the QR code with your
authenticator app then enter the six digit code it shows can't scan it? use this setup key
instead keep your backup codes safe sign in password sessions devices email notifications
"""
WORDS = _PROSE.split()


def _overlaps(box: Box, reserved: Sequence[Box], margin: int) -> bool:
    left, top, right, bottom = box
    return any(
        left < r[2] + margin
        and r[0] - margin < right
        and top < r[3] + margin
        and r[1] - margin < bottom
        for r in reserved
    )


@dataclass
class _Painter:
    """Draws page elements at a UI scale, leaving the reserved boxes (the codes) empty."""

    draw: ImageDraw.ImageDraw
    rng: random.Random
    theme: Theme
    reserved: Sequence[Box]
    ui: float

    def px(self, value: float) -> int:
        return int(value * self.ui)

    def free(self, box: Box) -> bool:
        return not _overlaps(box, self.reserved, self.px(8))

    def text(self, at: tuple[int, int], text: str, size: int, fill: RGB) -> None:
        font = _font(self.px(size))
        box = (at[0], at[1], at[0] + int(font.getlength(text)), at[1] + self.px(size * 1.3))
        if self.free(box):
            self.draw.text(at, text, font=font, fill=fill)

    def button(self, at: tuple[int, int]) -> None:
        label = self.rng.choice(["Verify", "Continue", "Download codes", "Cancel", "Save"])
        box = (at[0], at[1], at[0] + self.px(30 + 9 * len(label)), at[1] + self.px(36))
        if self.free(box):
            self.draw.rounded_rectangle(box, radius=self.px(6), fill=self.theme.accent)
            self.text((box[0] + self.px(14), box[1] + self.px(9)), label, 14, (255,) * 3)

    def line(self, at: tuple[int, int], room: int) -> None:
        """A line of words, skipping those that would run into a reserved box."""
        font, end = _font(self.px(15)), at[0] + room * self.rng.uniform(0.55, 1.0)
        words, x = [], at[0]
        while (right := x + int(font.getlength(word := self.rng.choice(WORDS) + " "))) < end:
            words.append((x, word))
            x = right
        if self.free((at[0], at[1], x, at[1] + self.px(20))):  # one call when free: faster
            self.draw.text(at, "".join(w for _, w in words), font=font, fill=self.theme.text)
            return
        for left, word in words:
            self.text((left, at[1]), word, 15, self.theme.text)


def web_page(
    rng: random.Random,
    size: tuple[int, int],
    ui: float = 1.0,
    theme: Theme = LIGHT,
    reserved: Sequence[Box] = (),
) -> Image.Image:
    """A settings page: header bar, side menu, headings, text lines, buttons; nothing is drawn
    within `reserved` boxes, where the caller pastes codes."""
    width, height = size
    page = Image.new("RGB", size, theme.bg)
    paint = _Painter(ImageDraw.Draw(page), rng, theme, reserved, ui)
    px = paint.px
    paint.draw.rectangle((0, 0, width, px(60)), fill=theme.header)
    paint.text((px(24), px(18)), "Example", 22, (255,) * 3)
    for k, item in enumerate(["Pull requests", "Issues", "Marketplace", "Explore"]):
        paint.text((px(200 + 140 * k), px(22)), item, 14, (220,) * 3)
    for k in range(12):
        paint.text((px(32), px(100 + 36 * k)), " ".join(rng.sample(WORDS, 2)), 14, theme.muted)
    x0, y = px(328), px(100)
    while y < height - px(60):
        if rng.random() < 0.12:
            paint.text((x0, y), "Two-factor authentication", 26, theme.text)
            y += px(48)
        elif rng.random() < 0.1:
            paint.button((x0, y))
            y += px(52)
        else:
            paint.line((x0, y), width - x0 - px(40))
            y += px(26)
    return page


def page_with_codes(
    rng: random.Random,
    size: tuple[int, int],
    codes: Sequence[Image.Image],
    ui: float = 1.0,
    theme: Theme = LIGHT,
    side_by_side: bool = True,
) -> Image.Image:
    """A web page with `codes` pasted in its content column, left to right or top to bottom."""
    gap = [int(rng.uniform(40, 160) * ui) for _ in codes]
    if side_by_side:
        extent = (sum(c.width for c in codes) + sum(gap), max(c.height for c in codes) + 20)
    else:
        extent = (max(c.width for c in codes), sum(c.height for c in codes) + sum(gap))
    left = int(340 * ui) + rng.randint(0, max(0, size[0] // 2 - extent[0]))
    top = int(100 * ui) + rng.randint(0, max(0, size[1] - extent[1] - int(140 * ui)))
    boxes = []
    for code, space in zip(codes, gap, strict=True):
        boxes.append((left, top, left + code.width, top + code.height))
        if side_by_side:
            left, top = left + code.width + space, top + rng.randint(-10, 10)
        else:
            top += code.height + space
    page = web_page(rng, size, ui, theme, boxes)
    for code, box in zip(codes, boxes, strict=True):
        page.paste(code, box[:2])
    return page


def perspective_coefficients(
    dst: Sequence[tuple[float, float]], src: Sequence[tuple[float, float]]
) -> list[float]:
    """The 8 coefficients Image.transform(PERSPECTIVE) wants: output corners `dst` come from
    input corners `src`. Solves the 8x8 system by Gaussian elimination (no numpy here)."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
    for col in range(8):
        pivot = max(range(col, 8), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(8):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[k][8] / rows[k][k] for k in range(8)]


def photo_look(rng: random.Random, image: Image.Image) -> Image.Image:
    """Uneven light, a little blur and sensor noise, as in a phone photo of a screen or paper."""
    turned = Image.linear_gradient("L").resize((512, 512)).rotate(rng.uniform(0, 360), R.BILINEAR)
    shade = turned.crop((128, 128, 384, 384)).resize(image.size, R.BILINEAR)  # corners cut off
    shade = shade.point(lambda v: 190 + v * 65 // 255).convert("RGB")
    image = ImageChops.multiply(image, shade).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0))
    )
    noise = Image.effect_noise(image.size, rng.uniform(8, 20)).convert("RGB")
    return Image.blend(image, noise, 0.08)


def jpeg_round_trip(image: Image.Image, quality: int) -> tuple[Image.Image, bytes]:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    return decoded, data


# --- cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    """One image, what decoding it must give, and how a user would have it on disk."""

    name: str
    category: str
    image: Image.Image
    expected: list[str]
    data: bytes | None = None  # the file's bytes when it is not a PNG of `image` (JPEG cases)
    suffix: str = ".png"

    def write(self, folder: Path, compress_level: int = 6) -> Path:
        path = Path(folder) / f"{self.name}{self.suffix}"
        if self.data is not None:
            path.write_bytes(self.data)
        else:
            self.image.save(path, "PNG", compress_level=compress_level)
        return path


def _smooth(rng: random.Random) -> R:
    return rng.choice([R.BILINEAR, R.BICUBIC, R.LANCZOS, R.BOX])


def _clean(rng: random.Random, i: int) -> Case:
    """A code saved from a site or a generator, in the image modes such files come in."""
    text = payload(rng)
    code = qr_image(text, rng.choice([3, 4, 5, 6, 8, 10]), error=rng.choice("LMQH"))
    mode = ["RGB", "L", "P", "RGBA", "1", "I;16", "LA", "RGB"][i % 8]
    if mode == "RGBA":  # dark modules on a transparent background, as some sites export
        image = Image.new("RGBA", code.size, (0, 0, 0, 0))
        image.putalpha(ImageOps.invert(code.convert("L")))
    elif mode == "I;16":
        image = code.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    else:
        image = code.convert(mode)
    return Case(f"clean-{i:02d}-{mode.replace(';', '')}", "clean", image, [text])


def _web(width: int) -> Callable[[random.Random, int], Case]:
    def make(rng: random.Random, i: int) -> Case:
        text = payload(rng)
        ui = width / 1920 * rng.uniform(0.8, 1.1)
        code = qr_image(text, rng.uniform(2.0, 4.0), error=rng.choice("LMM"), resample=_smooth(rng))
        page = page_with_codes(rng, (width, width * 9 // 16), [code], ui)
        return Case(f"web{width}-{i:02d}", f"web{width}", page, [text])

    return make


def _hidpi(rng: random.Random, i: int) -> Case:
    """A 1x page scaled up by the desktop (a non-HiDPI-aware window on a 150% or 200% screen)."""
    text = payload(rng)
    factor = [1.5, 2.0][i % 2]
    code = qr_image(text, rng.choice([2, 3, 3, 4]), error="M")
    page = page_with_codes(rng, rng.choice([(1280, 800), (1440, 900), (1920, 1080)]), [code])
    scaled = page.resize((round(page.width * factor), round(page.height * factor)), R.BICUBIC)
    return Case(f"hidpi-{i:02d}-x{factor}", "hidpi", scaled, [text])


def _dark(rng: random.Random, i: int) -> Case:
    """Dark mode: light modules on the page's dark background."""
    text = payload(rng)
    dark = (
        DARK
        if i % 2
        else Theme(
            (32, 33, 36),
            (232, 234, 237),
            (154, 160, 166),
            (41, 42, 45),
            (138, 180, 248),
            (41, 42, 45),
        )
    )
    light_module = (rng.randint(200, 255),) * 3
    code = qr_image(
        text, rng.uniform(2.5, 5), dark=light_module, light=dark.bg, resample=_smooth(rng)
    )
    width = rng.choice([1920, 2560, 2880])
    page = page_with_codes(rng, (width, width * 10 // 16), [code], width / 1920, dark)
    return Case(f"dark-{i:02d}", "dark", page, [text])


def _jpeg(rng: random.Random, i: int) -> Case:
    text = payload(rng)
    width = rng.choice([1366, 1920, 2560])
    code = qr_image(text, rng.uniform(3, 5), error=rng.choice("LMQ"), resample=_smooth(rng))
    page = page_with_codes(rng, (width, width * 9 // 16), [code], width / 1920)
    quality = rng.randint(30, 60)
    image, data = jpeg_round_trip(page, quality)
    return Case(f"jpeg-{i:02d}-q{quality}", "jpeg", image, [text], data, ".jpg")


def _paper(rng: random.Random, text: str) -> Image.Image:
    """A printed code on off-white paper with room around it, for the photo categories."""
    paper = (rng.randint(225, 245), rng.randint(222, 240), rng.randint(212, 232))
    code = qr_image(text, rng.choice([4, 5, 6, 8]), error=rng.choice("MQH"), light=paper)
    sheet = Image.new("RGB", (code.width * 3 // 2, code.height * 3 // 2), paper)
    sheet.paste(code, (code.width // 4, code.height // 4))
    return sheet


def _rotated(rng: random.Random, i: int) -> Case:
    text = payload(rng)
    sheet = _paper(rng, text)
    if i % 3 == 2:
        turn = rng.choice(
            [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270]
        )
        image, what = sheet.transpose(turn), turn.name.lower()
    else:
        angle = rng.choice([-1, 1]) * rng.uniform(1, 8)
        image = sheet.rotate(angle, R.BICUBIC, expand=True, fillcolor=(70, 66, 60))
        what = f"{angle:+.1f}deg"
    return Case(f"rotated-{i:02d}-{what}", "rotated", photo_look(rng, image), [text])


def _perspective(rng: random.Random, i: int) -> Case:
    """A phone held at an angle over the code: the corners pulled by 3-15 % of the side."""
    text = payload(rng)
    sheet = _paper(rng, text)
    w, h = sheet.size
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    pulled = [
        (
            x + (1 if x == 0 else -1) * rng.uniform(0.03, 0.15) * w,
            y + (1 if y == 0 else -1) * rng.uniform(0.03, 0.15) * h,
        )
        for x, y in corners
    ]
    coefficients = perspective_coefficients(pulled, corners)
    image = sheet.transform(
        sheet.size, Image.Transform.PERSPECTIVE, coefficients, R.BICUBIC, fillcolor=(60, 58, 55)
    )
    return Case(f"perspective-{i:02d}", "perspective", photo_look(rng, image), [text])


def _low_contrast(rng: random.Random, i: int) -> Case:
    """Grey on grey, still plainly visible: a faded code, a disabled panel, a dimmed modal."""
    text = payload(rng)
    light = rng.randint(150, 235)
    dark = light - rng.randint(60, 110)
    code = qr_image(
        text, rng.uniform(3, 6), dark=(dark,) * 3, light=(light,) * 3, resample=_smooth(rng)
    )
    page = page_with_codes(rng, (1920, 1080), [code])
    if i % 3 == 0:  # a modal's grey overlay over the whole page
        page = Image.blend(page, Image.new("RGB", page.size, (40, 40, 40)), rng.uniform(0.3, 0.5))
    return Case(f"lowcontrast-{i:02d}-{light}-{dark}", "lowcontrast", page, [text])


def _tight_crop(rng: random.Random, i: int) -> Case:
    """A screenshot cropped to the code itself, with none or one module of quiet zone left."""
    text = payload(rng)
    border = i % 2
    module = rng.choice([3, 4, 5, 6, 3.5, 4.5])
    image = qr_image(text, module, border=border, error=rng.choice("LMQ"), resample=_smooth(rng))
    return Case(f"tightcrop-{i:02d}-q{border}", "tightcrop", image, [text])


def _two(rng: random.Random, i: int) -> Case:
    """Two codes on one page (two accounts, or a key and its backup), in reading order."""
    texts = [payload(rng), payload(rng)]
    while texts[1] == texts[0]:
        texts[1] = payload(rng)
    module = rng.uniform(2.5, 4)
    codes = [qr_image(t, module, resample=_smooth(rng)) for t in texts]
    width = rng.choice([1920, 2560])
    page = page_with_codes(
        rng, (width, width * 9 // 16), codes, width / 1920, side_by_side=i % 2 == 0
    )
    return Case(f"two-{i:02d}", "two", page, texts)


def _barcode(rng: random.Random, i: int) -> Case:
    """A 1-D barcode beside the code (a ticket, an order page): only the QR text may come back."""
    text = payload(rng)
    code = qr_image(text, rng.choice([3, 4, 5]))
    bars = barcode_image(
        f"ORD-{rng.randint(2020, 2025)}-{rng.randint(0, 999999):06d}", rng.choice([150, 200, 300])
    )
    height = max(code.height, bars.height) + 80
    sheet = Image.new("RGB", (code.width + bars.width + 120, height), "white")
    first, second = (code, bars) if i % 2 else (bars, code)
    sheet.paste(first, (40, (height - first.height) // 2))
    sheet.paste(second, (first.width + 80, (height - second.height) // 2))
    return Case(f"barcode1d-{i:02d}", "barcode1d", sheet, [text])


def _no_code(rng: random.Random, i: int) -> Case:
    """Pages and pictures with no QR code: a decoder must say so, not invent one."""
    kind = ["page", "dark-page", "barcode-only", "noise", "blank", "checker"][i % 6]
    if kind in ("page", "dark-page"):
        image = web_page(rng, (2560, 1440), 1.33, DARK if kind == "dark-page" else LIGHT)
    elif kind == "barcode-only":
        image = ImageOps.expand(barcode_image("ORD-2024-004711"), 60, "white")
    elif kind == "noise":
        image = Image.effect_noise((800, 600), 60).convert("RGB")
    elif kind == "blank":
        image = Image.new("RGB", (1280, 720), (255, 255, 255))
    else:  # an avatar-like pattern of squares, which a finder-pattern search looks at twice
        image = Image.new("L", (8, 8))
        image.putdata([rng.choice([0, 255]) for _ in range(64)])
        image = ImageOps.expand(image.resize((320, 320), R.NEAREST), 40, 255).convert("RGB")
    return Case(f"nocode-{i:02d}-{kind}", "nocode", image, [])


def _url(rng: random.Random, i: int) -> Case:
    """A code holding a web address (a download link, a pairing page): returned as is."""
    text = URLS[i % len(URLS)]
    code = qr_image(text, rng.uniform(3, 6), resample=_smooth(rng))
    image = (
        page_with_codes(rng, (1920, 1080), [code]) if i % 2 else ImageOps.expand(code, 20, "white")
    )
    return Case(f"url-{i:02d}", "url", image, [text])


CATEGORIES: dict[str, tuple[Callable[[random.Random, int], Case], int]] = {
    "clean": (_clean, 8),
    "web2560": (_web(2560), 10),
    "web3840": (_web(3840), 10),
    "hidpi": (_hidpi, 10),
    "dark": (_dark, 10),
    "jpeg": (_jpeg, 10),
    "rotated": (_rotated, 9),
    "perspective": (_perspective, 9),
    "lowcontrast": (_low_contrast, 10),
    "tightcrop": (_tight_crop, 8),
    "two": (_two, 8),
    "barcode1d": (_barcode, 6),
    "nocode": (_no_code, 6),
    "url": (_url, 6),
}


def make_case(category: str, index: int, seed: int = 0) -> Case:
    make, _ = CATEGORIES[category]
    return make(random.Random(f"{seed}/{category}/{index}"), index)


def make_set(seed: int = 0, per_category: int | None = None) -> list[Case]:
    """About 120 cases (all categories), or the first `per_category` of each."""
    return [
        make_case(category, index, seed)
        for category, (_, count) in CATEGORIES.items()
        for index in range(count if per_category is None else min(count, per_category))
    ]


def png_claiming(width: int, height: int) -> bytes:
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
