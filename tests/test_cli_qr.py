"""`hwotp enroll --qr` on generated screenshots: what a user hands over, end to end in-process."""

from __future__ import annotations

import json
import random
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import qrimages
from helpers.samples import FIXED_TIME, WIKI_SECRET, LenientHOTP
from hwotp.errors import ExitCode

GITHUB = f"otpauth://totp/GitHub:alice?secret={WIKI_SECRET}&issuer=GitHub"


def written(category: str, index: int, folder: Path) -> tuple[Path, list[str]]:
    case = qrimages.make_case(category, index)
    return case.write(folder), case.expected


def reference_code(uri: str, now: float) -> str:
    """The code for an otpauth URI, read with urllib and computed by pyotp: no hwotp parser."""
    parts = urlsplit(uri)
    params = {k.lower(): v for k, v in parse_qsl(parts.query)}
    hotp = LenientHOTP(
        params["secret"],
        digits=int(params.get("digits", 6)),
        digest=params.get("algorithm", "SHA1").lower(),
    )
    if parts.netloc == "hotp":
        return hotp.at(int(params.get("counter", 0)))
    return hotp.at(int(now) // int(params.get("period", 30)))


@pytest.mark.parametrize("category", ["web3840", "dark", "jpeg", "perspective", "lowcontrast"])
def test_screenshot_enrols_and_prints_pyotp_code(hwotp, tmp_path: Path, category: str) -> None:
    path, expected = written(category, 0, tmp_path)
    (uri,) = expected
    assert uri.startswith("otpauth://"), "choose a case that holds one otpauth URI"
    before = path.read_bytes()
    result = hwotp("enroll", "--qr", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    (entry,) = json.loads(result.stdout)["credentials"]
    assert entry["code"] == reference_code(uri, FIXED_TIME)
    assert path.read_bytes() == before  # the input is never touched


def test_two_codes_in_one_image_enrol_both_in_reading_order(hwotp, tmp_path: Path) -> None:
    rng = random.Random(7)
    uris = [f"otpauth://totp/Site{n}:me?secret=JBSWY3DPEHPK3PX{n + 1}" for n in (1, 2)]
    codes = [qrimages.qr_image(uri, 3) for uri in uris]
    path = tmp_path / "two.png"
    qrimages.page_with_codes(rng, (2560, 1440), codes).save(path)
    result = hwotp("enroll", "--qr", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    names = [c["name"] for c in json.loads(result.stdout)["credentials"]]
    assert names == ["Site1:me", "Site2:me"]
    picked = hwotp("enroll", "--qr", str(path), "--pick", "2", "--dry-run", "--json")
    assert [c["name"] for c in json.loads(picked.stdout)["credentials"]] == ["Site2:me"]


def test_a_second_code_that_is_not_a_secret_is_skipped_with_a_warning(
    hwotp, tmp_path: Path
) -> None:
    codes = [qrimages.qr_image(text, 3) for text in (GITHUB, "https://example.com/help")]
    path = tmp_path / "mixed.png"
    qrimages.page_with_codes(random.Random(3), (1920, 1080), codes).save(path)
    result = hwotp("enroll", "--qr", str(path))
    assert result.exit_code == 0, result.stderr
    assert "skipped another QR code: found a QR code, but it holds a web address" in result.stderr


def test_web_address_qr_is_refused_clearly(hwotp, tmp_path: Path) -> None:
    path, _ = written("url", 0, tmp_path)
    result = hwotp("enroll", "--qr", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.strip() == (
        "hwotp: found a QR code, but it holds a web address, not an authenticator secret"
    )


def test_image_without_a_code_suggests_what_to_try(hwotp, tmp_path: Path) -> None:
    path, _ = written("nocode", 0, tmp_path)
    result = hwotp("enroll", "--qr", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no QR code found" in result.stderr and "--secret" in result.stderr


def test_text_file_as_image(hwotp, tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    result = hwotp("enroll", "--qr", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "is not an image hwotp can read" in result.stderr
