"""Draws examples/mfa-setup-page.png: a made-up site's two-factor setup page with its QR code.

The secret is a public demo value, not anyone's credential.
Run: .venv/bin/python examples/make_sample.py
"""

import io
from pathlib import Path

import segno
from PIL import Image, ImageDraw

URI = (
    "otpauth://totp/Example%20Corp:alice%40example.com"
    "?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example%20Corp"
)
OUT = Path(__file__).with_name("mfa-setup-page.png")


def page() -> Image.Image:
    image = Image.new("RGB", (1600, 1000), "#f6f8fa")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1600, 64), fill="#24292f")
    draw.text((32, 24), "Example Corp  -  Settings  -  Security", fill="white")
    draw.rectangle((400, 120, 1200, 900), fill="white", outline="#d0d7de")
    draw.text((440, 150), "Set up two-factor authentication", fill="#24292f")
    draw.text((440, 180), "1. Scan this QR code with your authenticator app.", fill="#57606a")
    png = io.BytesIO()
    segno.make(URI, error="m").save(png, kind="png", scale=4, border=4)
    qr = Image.open(png).convert("RGB")
    image.paste(qr, (440, 220))
    draw.text((440, 240 + qr.height), "2. Enter the six-digit code from the app:", fill="#57606a")
    draw.rectangle((440, 270 + qr.height, 700, 310 + qr.height), outline="#d0d7de")
    draw.rectangle((440, 340 + qr.height, 560, 380 + qr.height), fill="#2da44e")
    draw.text((470, 352 + qr.height), "Verify", fill="white")
    return image


if __name__ == "__main__":
    page().save(OUT, optimize=True)
    print(f"wrote {OUT}")
