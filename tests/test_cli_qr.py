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


@pytest.mark.parametrize("size", [(8_000, 5_000), (10_000, 10_000), (100_000, 100_000)])
def test_an_oversized_image_is_one_sentence_and_no_pillow_warning(
    hwotp, tmp_path: Path, size: tuple[int, int]
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(qrimages.png_claiming(*size))
    result = hwotp("enroll", "--qr", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    # Above 16384 squared, Pillow's own guard refuses before hwotp sees the size.
    shown = "" if size[0] > 20_000 else f" ({size[0]}x{size[1]})"
    assert result.stderr.splitlines() == [
        f"hwotp: {path}{shown} is larger than a "
        "screenshot hwotp reads (36 megapixels, 16384 pixels a side); crop it around the QR code"
    ]


def test_a_fifo_given_to_qr_is_refused_at_once(hwotp, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "shot.png"
    os.mkfifo(fifo)
    result = hwotp("enroll", "--qr", str(fifo))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.splitlines() == [
        f"hwotp: {fifo} is not a regular file (a pipe, socket or device); save the image to a file"
    ]


# --- a Google Authenticator export split over several QR codes --------------------------------


def _export_part(folder: Path, index: int, size: int, batch_id: int, account: str) -> Path:
    from helpers.migration import entry, payload_bytes
    from helpers.migration import uri as migration_uri

    data = payload_bytes([entry(name=account)], version=1, batch_size=size, batch_index=index,
                         batch_id=batch_id)
    path = folder / f"part{index + 1}-of-{size}-{batch_id}.png"
    qrimages.qr_image(migration_uri(data)).save(path)
    return path


def test_the_parts_of_a_split_export_are_gathered_from_several_qr_options(hwotp, tmp_path):
    parts = [_export_part(tmp_path, index, 3, 99, f"user{index}") for index in range(3)]
    result = hwotp("enroll", *(arg for part in parts for arg in ("--qr", str(part))),
                   "--in-vault")
    assert result.exit_code == 0, result.everything
    assert "Found 3 credentials" in result.stderr and "batch" not in result.stderr
    listed = json.loads(hwotp("list", "--json").stdout)
    assert sorted(row["name"] for row in listed) == [f"GitHub:user{i}" for i in range(3)]


def test_a_missing_part_of_a_split_export_is_named(hwotp, tmp_path, vault_path):
    given = [_export_part(tmp_path, index, 3, 99, f"user{index}") for index in (0, 2)]
    result = hwotp("enroll", "--qr", str(given[0]), "--qr", str(given[1]), "--in-vault")
    assert result.exit_code == ExitCode.BAD_INPUT, result.everything
    assert result.stderr.splitlines()[-1] == (
        "hwotp: part 2 of 3 of a Google Authenticator export is missing; also give its "
        "screenshot with another --qr (or its URI with another --uri)"
    )
    assert not vault_path.exists()
    # One part alone is a warning: the others may follow in another command.
    alone = hwotp("enroll", "--qr", str(given[0]), "--in-vault")
    assert alone.exit_code == 0 and "batch 1 of 3" in alone.stderr
