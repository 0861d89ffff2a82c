"""`hwotp import` and `hwotp export` on the command line (issue 14): exports the suite writes in
each app's layout (tests/exports.py) imported through the same enrolment as `enroll`, and the
vault exported and read back: by hwotp, by an Aegis reader written here from Aegis's
`docs/vault.md`, and by the real ykman CLI onto a virtual key. Codes are pyotp's.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest

import exports as x
from helpers.cli import codes_printed, failed, ok
from helpers.keys import ONE, TWO
from helpers.samples import FIXED_TIME, PASSPHRASE, SECRET, SECRET_B, SECRET_C
from hwotp.cli.commands import transfer
from hwotp.cli.commands.enroll import enroll
from hwotp.cli.commands.transfer import import_
from hwotp.errors import ExitCode

PASSWORD = "export pässword"
# What the vault holds in the round trips: every parameter away from its default, and names
# with the characters formats split on (colon, comma, plus, spaces, non-ASCII).
URIS = (
    f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub",
    f"otpauth://totp/Acme%2C%20Inc.:b%2Bo%2Cb%20%C3%A9?secret={SECRET_B}&issuer=Acme%2C%20Inc."
    "&algorithm=SHA256&digits=8&period=60",
    f"otpauth://totp/:x%3Ay?secret={SECRET_C}&algorithm=SHA512&digits=7&period=15",
    f"otpauth://hotp/Bank:bob?secret={SECRET}&issuer=Bank&counter=41",
)
NAMES = ["GitHub:alice", "Acme, Inc.:b+o,b é", "x:y", "Bank:bob"]


def pyotp_code(account: x.Account, at: float = FIXED_TIME, counter: int | None = None) -> str:
    digest = account.algorithm.lower()
    if account.kind == "hotp":
        hotp = pyotp.HOTP(account.base32, digits=account.digits, digest=digest)
        return hotp.at(account.counter if counter is None else counter)
    return pyotp.TOTP(account.base32, digits=account.digits, digest=digest,
                      interval=account.period).at(at)


def fill_vault(hwotp) -> None:
    for uri in URIS:
        ok(hwotp("enroll", "--uri", uri, "--in-vault"))


# No pcscd unless a test plugs keys (conftest's key_cache clears the password variables).
pytestmark = pytest.mark.usefixtures("no_pcscd")


# --- the command's shape ------------------------------------------------------------------------


def test_import_takes_every_option_enroll_stores_with() -> None:
    sources = {"qr_files", "uris", "secret", "screen", "clipboard", "issuer", "account", "kind",
               "algorithm", "digits", "period", "counter"}
    enrolling = {p.name for p in enroll.params} - sources
    importing = {p.name for p in import_.params} - {"file", "format_name"}
    assert enrolling == importing
    assert {"pick", "dry_run", "all_keys", "also_vault", "in_vault", "no_touch", "fallback",
            "serials", "force", "as_json", "new_name"} <= importing


def test_the_format_names_the_cli_offers_are_the_parsers_and_writers() -> None:
    from hwotp.formats.exports import export_names
    from hwotp.formats.imports import format_names

    assert format_names() == transfer.IMPORT_FORMATS
    assert export_names() == transfer.EXPORT_FORMATS


# --- import -------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_import_an_encrypted_aegis_export_into_the_vault_with_pyotps_codes(
    hwotp, tmp_path, vault_path
) -> None:
    path = write(tmp_path, "aegis.json", x.aegis([x.aegis_entry(a) for a in x.ACCOUNTS], PASSWORD))
    # No terminal: the export's password is the first line, the new vault's the second.
    result = ok(hwotp("import", str(path), stdin=f"{PASSWORD}\n{PASSPHRASE}\n", passphrase=None))
    expected = {f"{a.issuer}:{a.account}": pyotp_code(a) for a in x.ACCOUNTS}
    assert codes_printed(result.stdout) == expected
    assert f"Found 4 credentials in {path} (Aegis export, encrypted):" in result.stderr
    assert f"Stored {', '.join(expected)} in the vault at {vault_path}." in result.stderr
    assert "Type this code" not in result.stderr  # imported credentials are set up already
    assert PASSWORD not in result.everything
    for account in x.ACCOUNTS:
        assert account.base32 not in result.everything
    # The HOTP code shown was the first one; the vault moved past it.
    again = ok(hwotp("code", "Issuu"))
    assert codes_printed(again.stdout) == {"Issuu:james": pyotp_code(x.ACCOUNTS[3], counter=43)}
    rows = {row["name"]: row for row in json.loads(ok(hwotp("list", "--json")).stdout)}
    assert {(r["algorithm"], r["digits"], r.get("period")) for r in rows.values()} >= {
        ("SHA256", 7, 20), ("SHA512", 8, 60)
    }


def test_the_password_comes_from_the_environment_and_from_format_detection(hwotp, tmp_path):
    services = [x.twofas_service(a) for a in x.ACCOUNTS[:2]]
    path = write(tmp_path, "backup.2fas", x.twofas(services, PASSWORD))
    env = {"HWOTP_IMPORT_PASSWORD": PASSWORD}
    result = ok(hwotp("import", str(path), "--dry-run", env=env))
    assert "(2FAS export, encrypted)" in result.stderr
    assert codes_printed(result.stdout) == {
        f"{a.issuer}:{a.account}": pyotp_code(a) for a in x.ACCOUNTS[:2]
    }
    # --from names the app; a file that is not that app's is refused by that app's reader.
    ok(hwotp("import", str(path), "--from", "2FAS", "--dry-run", env=env))
    wrong = failed(hwotp("import", str(path), "--from", "aegis", "--dry-run"), ExitCode.BAD_INPUT)
    assert wrong == "hwotp: this is not an Aegis export: it has no header and db"


def test_a_dry_run_shows_every_entry_and_code_refusals_by_name_and_stores_nothing(
    hwotp, tmp_path, vault_path
) -> None:
    entries = [x.aegis_entry(a) for a in x.ACCOUNTS[:2]]
    entries.append(x.aegis_entry(x.Account(b"m" * 10, "Uni", "gabe"), kind="motp"))
    entries.append(x.aegis_entry(x.Account(b"y" * 16, "Yandex", "ivan"), kind="yandex"))
    path = write(tmp_path, "aegis.json", x.aegis(entries))
    result = ok(hwotp("import", str(path), "--dry-run"))
    assert codes_printed(result.stdout) == {
        f"{a.issuer}:{a.account}": pyotp_code(a) for a in x.ACCOUNTS[:2]
    }
    assert "hwotp: warning: not imported: Uni:gabe: mOTP entries are not supported" in (
        result.stderr.splitlines()
    )
    assert "hwotp: warning: not imported: Yandex:ivan: Yandex OTP entries are not supported" in (
        result.stderr.splitlines()
    )
    assert "Dry run: nothing was stored." in result.stderr
    assert not vault_path.exists()
    as_json = json.loads(ok(hwotp("import", str(path), "--dry-run", "--json")).stdout)
    assert as_json["stored"] is False
    assert [c["code"] for c in as_json["credentials"]] == [pyotp_code(a) for a in x.ACCOUNTS[:2]]
    assert as_json["refused"] == [
        {"name": "Uni:gabe", "reason": "mOTP entries are not supported"},
        {"name": "Yandex:ivan", "reason": "Yandex OTP entries are not supported"},
    ]
    for account in x.ACCOUNTS[:2]:
        assert account.base32 not in result.everything
    # The rest import; enroll's JSON has no "refused" (nothing is refused there).
    stored = json.loads(ok(hwotp("import", str(path), "--json")).stdout)
    assert stored["stored_in"] == ["vault"] and len(stored["refused"]) == 2
    enrolled = json.loads(ok(hwotp("enroll", "--uri", URIS[0], "--json")).stdout)
    assert "refused" not in enrolled


def test_pick_and_name_choose_what_is_imported(hwotp, tmp_path) -> None:
    path = write(tmp_path, "uris.txt", "\n".join(a.uri for a in x.ACCOUNTS).encode())
    result = ok(hwotp("import", str(path), "--pick", "2", "--name", "Spdx:jim"))
    assert codes_printed(result.stdout) == {"Spdx:jim": pyotp_code(x.ACCOUNTS[1])}
    assert [row["name"] for row in json.loads(ok(hwotp("list", "--json")).stdout)] == ["Spdx:jim"]
    # The same import again finds it there, same secret, and writes nothing.
    again = ok(hwotp("import", str(path), "--pick", "2", "--name", "Spdx:jim"))
    assert "Spdx:jim: already in the vault, same secret; not written again." in again.stderr
    # A name already stored with another secret refuses the whole batch before anything is
    # written.
    clash = failed(hwotp("import", str(path), "--pick", "1", "--name", "Spdx:jim"),
                   ExitCode.EXISTS)
    assert clash == "hwotp: Spdx:jim already in the vault; use --force to replace"
    ok(hwotp("import", str(path), "--pick", "1", "--name", "Spdx:jim", "--force"))


def test_a_file_with_nothing_importable_names_each_entry_and_stores_nothing(
    hwotp, tmp_path, vault_path
) -> None:
    entries = [x.aegis_entry(x.Account(b"m" * 10, "Uni", "gabe"), kind="motp")]
    path = write(tmp_path, "aegis.json", x.aegis(entries))
    result = hwotp("import", str(path))
    assert failed(result, ExitCode.BAD_INPUT) == f"hwotp: {path} holds no entry hwotp can import"
    assert "  Uni:gabe: mOTP entries are not supported" in result.stderr
    assert not vault_path.exists()


def test_a_wrong_password_is_one_sentence_exit_5_and_nothing_is_written(
    hwotp, tmp_path, vault_path
) -> None:
    path = write(tmp_path, "aegis.json", x.aegis([x.aegis_entry(x.ACCOUNTS[0])], PASSWORD))
    result = hwotp("import", str(path), env={"HWOTP_IMPORT_PASSWORD": "not it"})
    failed(result, ExitCode.WRONG_PASSPHRASE)
    assert result.stderr.splitlines() == ["hwotp: wrong password for this Aegis export"]
    assert not vault_path.exists()
    # No password at all (no terminal, nothing on standard input) says how to give one.
    none = failed(hwotp("import", str(path), stdin=""), ExitCode.CANCELLED)
    assert none == ("hwotp: no export password: type it at a terminal, set "
                    "HWOTP_IMPORT_PASSWORD, or give it as one line on standard input")


def test_a_damaged_file_names_what_is_wrong_and_nothing_is_written(
    hwotp, tmp_path, vault_path
) -> None:
    ok(hwotp("enroll", "--uri", URIS[0]))
    before = vault_path.read_bytes()
    whole = x.twofas([x.twofas_service(a) for a in x.ACCOUNTS])
    cut = write(tmp_path, "cut.2fas", whole[: len(whole) // 2])
    message = failed(hwotp("import", str(cut)), ExitCode.BAD_INPUT)
    assert message.startswith("hwotp: the file looks like JSON but cannot be read")
    document = json.loads(x.aegis([x.aegis_entry(a) for a in x.ACCOUNTS], PASSWORD))
    sealed = bytearray(base64.b64decode(document["db"]))
    sealed[5] ^= 1
    document["db"] = base64.b64encode(bytes(sealed)).decode()
    tampered = write(tmp_path, "tampered.json", json.dumps(document).encode())
    message = failed(hwotp("import", str(tampered), env={"HWOTP_IMPORT_PASSWORD": PASSWORD}),
                     ExitCode.BAD_INPUT)
    assert message == "hwotp: this Aegis export is damaged: its entries fail their integrity check"
    assert vault_path.read_bytes() == before


def test_an_entry_twice_with_two_secrets_is_refused_until_one_is_picked(hwotp, tmp_path):
    twin = x.Account(bytes(range(50, 70)), "Deno", "mason@example.com")
    path = write(tmp_path, "uris.txt", f"{x.ACCOUNTS[0].uri}\n{twin.uri}\n".encode())
    message = failed(hwotp("import", str(path)), ExitCode.BAD_INPUT)
    assert message == ("hwotp: Deno:mason@example.com appears twice in this input; "
                       "choose one with --pick")
    result = ok(hwotp("import", str(path), "--pick", "2"))
    assert codes_printed(result.stdout) == {"Deno:mason@example.com": pyotp_code(twin)}


def test_file_must_be_a_regular_file_and_a_fifo_does_not_block(tmp_path, vault_path) -> None:
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    env = {**os.environ, "HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": PASSPHRASE}
    hwotp_path = str(Path(sys.executable).with_name("hwotp"))
    cases = {
        str(fifo): f"hwotp: {fifo} is not a regular file (a pipe, socket or device); save the "
        "export to a file",
        str(tmp_path): f"hwotp: {tmp_path} is a folder, not an export file",
        str(tmp_path / "nope.json"): f"hwotp: {tmp_path / 'nope.json'} does not exist",
    }
    for path, message in cases.items():
        run = subprocess.run([hwotp_path, "import", path], capture_output=True, text=True,
                             env=env, timeout=30, stdin=subprocess.DEVNULL)
        assert (run.returncode, run.stderr.splitlines()) == (ExitCode.BAD_INPUT, [message])
    assert not vault_path.exists()


# --- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["aegis", "pskc", "otpauth"])
def test_export_then_import_gives_the_same_credentials_and_codes(
    hwotp, tmp_path, vault_path, format_name
) -> None:
    fill_vault(hwotp)
    out = tmp_path / f"export.{format_name}"
    args = ["export", "--to", format_name, str(out)]
    if format_name == "otpauth":
        args.append("--unencrypted")
    result = ok(hwotp(*args, env={"HWOTP_EXPORT_PASSWORD": PASSWORD}))
    assert result.stdout == ""
    assert f"Wrote 4 credentials to {out}" in result.stderr
    assert "A YubiKey never gives a secret back" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    original = json.loads(ok(hwotp("list", "--json")).stdout)
    other = tmp_path / "other.hwotp"
    env = {"HWOTP_VAULT": str(other), "HWOTP_IMPORT_PASSWORD": PASSWORD}
    imported = ok(hwotp("import", str(out), env=env))
    copy = json.loads(ok(hwotp("list", "--json", env={"HWOTP_VAULT": str(other)})).stdout)
    # The same entries; the HOTP copy's counter is one ahead: the import's proof used a code.
    assert copy == [{**row, "counter": row["counter"] + 1} if row["kind"] == "hotp" else row
                    for row in original]
    assert [row["counter"] for row in original if row["kind"] == "hotp"] == [42]
    assert sorted(row["name"] for row in copy) == sorted(NAMES)  # list is sorted by name
    # The same secrets: every TOTP code agrees, and the HOTP counter carried on (the
    # original's enrolment used 41; the export holds 42, the import's proof used 42).
    mine = codes_printed(ok(hwotp("code")).stdout)
    theirs = codes_printed(ok(hwotp("code", env={"HWOTP_VAULT": str(other)})).stdout)
    assert mine == theirs and set(mine) == set(NAMES) - {"Bank:bob"}
    assert codes_printed(imported.stdout)["Bank:bob"] == pyotp.HOTP(SECRET).at(42)
    in_original = ok(hwotp("code", "bank"))
    assert codes_printed(in_original.stdout) == {"Bank:bob": pyotp.HOTP(SECRET).at(42)}
    in_copy = ok(hwotp("code", "bank", env={"HWOTP_VAULT": str(other)}))
    assert codes_printed(in_copy.stdout) == {"Bank:bob": pyotp.HOTP(SECRET).at(43)}


def test_the_aegis_export_opens_by_aegis_documented_rules(hwotp, tmp_path) -> None:
    fill_vault(hwotp)
    out = tmp_path / "aegis.json"
    ok(hwotp("export", "--to", "aegis", str(out), stdin=f"{PASSWORD}\n"))
    entries = x.open_aegis(out.read_bytes(), PASSWORD)["entries"]
    assert [(e["issuer"], e["name"]) for e in entries] == [
        ("GitHub", "alice"), ("Acme, Inc.", "b+o,b é"), ("", "x:y"), ("Bank", "bob")
    ]
    for entry in entries:
        assert set(entry) == {"type", "uuid", "name", "issuer", "icon", "info"}
        assert "=" not in entry["info"]["secret"]  # base32 without padding
    assert [e["info"] for e in entries] == [
        {"secret": SECRET, "algo": "SHA1", "digits": 6, "period": 30},
        {"secret": SECRET_B, "algo": "SHA256", "digits": 8, "period": 60},
        {"secret": SECRET_C, "algo": "SHA512", "digits": 7, "period": 15},
        {"secret": SECRET, "algo": "SHA1", "digits": 6, "counter": 42},
    ]
    assert [e["type"] for e in entries] == ["totp", "totp", "totp", "hotp"]
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):  # the wrong password opens nothing
        x.open_aegis(out.read_bytes(), "not the password")


def test_export_never_overwrites_without_force_and_needs_a_vault(hwotp, tmp_path, vault_path):
    out = tmp_path / "export.json"
    env = {"HWOTP_EXPORT_PASSWORD": PASSWORD}
    message = failed(hwotp("export", "--to", "aegis", str(out), env=env), ExitCode.NOT_FOUND)
    assert message.startswith(f"hwotp: there is no vault at {vault_path}. A YubiKey never")
    assert "--also-vault" in message
    fill_vault(hwotp)
    out.write_text("keep me")
    message = failed(hwotp("export", "--to", "aegis", str(out), env=env), ExitCode.EXISTS)
    assert message == f"hwotp: {out} already exists; use --force to replace"
    assert out.read_text() == "keep me"
    ok(hwotp("export", "--to", "aegis", str(out), "--force", env=env))
    assert len(x.open_aegis(out.read_bytes(), PASSWORD)["entries"]) == 4
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    pskc = tmp_path / "k.pskc"
    short = failed(hwotp("export", "--to", "pskc", str(pskc), stdin="short\n"), ExitCode.BAD_INPUT)
    assert short == ("hwotp: the password for the PSKC export is too weak (fewer than 10 "
                     "characters): use several unrelated words, or --weak-password for a "
                     "throwaway export")
    guessable = failed(hwotp("export", "--to", "pskc", str(pskc), stdin="hunter2hunter2\n"),
                       ExitCode.BAD_INPUT)
    assert guessable.startswith("hwotp: the password for the PSKC export is too weak (about 10^")
    assert "hunter" not in guessable
    # Above a vault's floor (10^8) but not an export's: its key derivation is cheaper to attack.
    vault_grade = failed(hwotp("export", "--to", "pskc", str(pskc), stdin="first passphrase\n"),
                         ExitCode.BAD_INPUT)
    assert vault_grade.startswith("hwotp: the password for the PSKC export is too weak (about 10^")
    assert vault_grade.endswith("an export needs over 10^10): use several unrelated words, or "
                                "--weak-password for a throwaway export")
    too_short = hwotp("export", "--to", "pskc", str(pskc), "--weak-password", stdin="short\n")
    assert failed(too_short, ExitCode.BAD_INPUT) == (
        "hwotp: the export password must be at least 8 characters")
    assert not pskc.exists()
    ok(hwotp("export", "--to", "pskc", str(pskc), "--weak-password", stdin="hunter2hunter2\n"))
    assert pskc.exists()
    plain = hwotp("export", "--to", "otpauth", str(tmp_path / "u.txt"), "--weak-password")
    assert failed(plain, ExitCode.USAGE).startswith(
        "hwotp: --weak-password goes with an encrypted format, not otpauth;")
    nowhere = tmp_path / "no such folder" / "export.json"
    message = failed(hwotp("export", "--to", "aegis", str(nowhere), env=env), ExitCode.STORAGE)
    assert message == f"hwotp: {nowhere} cannot be written: No such file or directory"
    usage = failed(hwotp("export", str(out)), ExitCode.USAGE)
    assert usage.startswith("hwotp: give --to FORMAT and FILE, or --qr NAME")


def test_a_plain_list_needs_unencrypted_without_a_terminal(hwotp, tmp_path) -> None:
    fill_vault(hwotp)
    out = tmp_path / "plain.txt"
    message = failed(hwotp("export", "--to", "otpauth", str(out)), ExitCode.CANCELLED)
    assert message == ("hwotp: a plain otpauth list holds every secret in clear: add "
                       "--unencrypted to write one")
    assert not out.exists()
    wrong = failed(hwotp("export", "--to", "aegis", str(out), "--unencrypted"), ExitCode.USAGE)
    assert "--unencrypted goes with --to otpauth" in wrong
    ok(hwotp("export", "--to", "otpauth", str(out), "--unencrypted"))
    lines = out.read_text().splitlines()
    assert lines[0] == f"otpauth://totp/GitHub:alice?secret={SECRET}&issuer=GitHub"
    assert lines[3] == f"otpauth://hotp/Bank:bob?secret={SECRET}&issuer=Bank&counter=42"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# --- at a terminal ------------------------------------------------------------------------------

HWOTP = str(Path(sys.executable).with_name("hwotp"))


@pytest.fixture
def spawn(vault_path: Path):
    import pexpect

    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    env |= {"HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": PASSPHRASE}

    def start(*args: str, columns: int = 200) -> pexpect.spawn:
        return pexpect.spawn(HWOTP, list(args), env=env, encoding="utf-8", timeout=60,
                             dimensions=(100, columns))

    return start


def test_the_plain_list_asks_for_a_typed_yes_at_a_terminal(hwotp, spawn, tmp_path) -> None:
    fill_vault(hwotp)
    out = tmp_path / "plain.txt"
    for answer, status in (("y", ExitCode.CANCELLED), ("yes", 0)):
        child = spawn("export", "--to", "otpauth", str(out))
        child.expect("will hold the secrets of 4 credentials in clear")
        child.expect('Type "yes" to write it: ')
        child.sendline(answer)
        rest = child.read()
        child.close()
        assert child.exitstatus == status, rest
        assert out.exists() == (status == 0)


def test_the_import_password_is_asked_at_the_terminal_without_echo(spawn, tmp_path) -> None:
    path = write(tmp_path, "aegis.json", x.aegis([x.aegis_entry(x.ACCOUNTS[0])], PASSWORD))
    before = time.time()
    child = spawn("import", str(path), "--dry-run")
    child.expect("Export password: ")
    child.sendline(PASSWORD)
    rest = child.read()
    child.close()
    after = time.time()
    assert child.exitstatus == 0, rest
    (line,) = [line for line in rest.splitlines() if line.startswith("Deno:mason@example.com ")]
    shown = line.split()[1]
    assert shown in {pyotp_code(x.ACCOUNTS[0], at=before), pyotp_code(x.ACCOUNTS[0], at=after)}
    assert PASSWORD not in child.before + rest


def test_the_export_password_is_asked_twice_without_echo(hwotp, spawn, tmp_path) -> None:
    fill_vault(hwotp)
    out = tmp_path / "k.pskc"
    child = spawn("export", "--to", "pskc", str(out))
    child.expect("Password for the PSKC export: ")
    child.sendline(PASSWORD)
    child.expect("Repeat for confirmation: ")
    child.sendline(PASSWORD)
    rest = child.read()
    child.close()
    assert child.exitstatus == 0, rest
    assert PASSWORD not in child.before + rest
    dry = ok(hwotp("import", str(out), "--dry-run", env={"HWOTP_IMPORT_PASSWORD": PASSWORD}))
    assert list(codes_printed(dry.stdout)) == NAMES


def qr_rows(screen: str) -> list[list[bool]]:
    """segno's terminal QR code (reverse video for light modules, two columns each) as rows of
    dark (True) and light modules."""
    import re

    rows = []
    for line in screen.splitlines():
        cells = re.findall(r"\x1b\[(7|49)m( +)\x1b\[0m", line)
        if cells:
            rows.append([code == "49" for code, spaces in cells for _ in range(len(spaces) // 2)])
    return rows


def qr_half_block_rows(screen: str) -> list[list[bool]]:
    """segno's compact terminal QR code: each character two modules, one above the other, a
    block where a module is light."""
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▀": False, "▄": True, " ": False}
    lines = [line for line in screen.splitlines() if line and set(line) <= set(top)]
    rows = []
    for line in lines:
        rows.append([not top[char] for char in line])
        rows.append([not bottom[char] for char in line])
    return rows


def decode_rows(rows: list[list[bool]]) -> str:
    import zxingcpp
    from PIL import Image

    scale = 4
    image = Image.new("L", (len(rows[0]) * scale, len(rows) * scale), 255)
    for y, row in enumerate(rows):
        for x_, dark in enumerate(row):
            if dark:
                image.paste(0, (x_ * scale, y * scale, (x_ + 1) * scale, (y + 1) * scale))
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


def test_export_qr_shows_the_uri_after_a_yes_and_clears_the_screen(hwotp, spawn) -> None:
    fill_vault(hwotp)
    child = spawn("export", "--qr", "acme")
    child.expect(r"The QR code holds the secret of Acme, Inc.:b\+o,b é")
    child.expect(r"Show it\? \[y/N\]: ")
    child.sendline("y")
    child.expect("Press Enter when it is scanned")
    screen = child.before
    child.sendline("")
    rest = child.read()
    child.close()
    assert child.exitstatus == 0, rest
    assert transfer.CLEAR_SCREEN in rest
    assert "Cleared the screen" in rest
    assert decode_rows(qr_rows(screen)) == URIS[1]
    # A terminal too narrow for two columns a module gets half blocks.
    child = spawn("export", "--qr", "github", columns=60)
    child.expect(r"Show it\? \[y/N\]: ")
    child.sendline("y")
    child.expect("Press Enter when it is scanned")
    screen = child.before
    child.sendline("")
    child.read()
    child.close()
    assert child.exitstatus == 0
    assert "\x1b[7m" not in screen
    assert decode_rows(qr_half_block_rows(screen)) == URIS[0]
    # No is no; and without a terminal nothing is shown at all.
    child = spawn("export", "--qr", "github")
    child.expect(r"Show it\? \[y/N\]: ")
    child.sendline("n")
    rest = child.read()
    child.close()
    assert child.exitstatus == ExitCode.CANCELLED and "nothing shown" in rest
    message = failed(hwotp("export", "--qr", "github"), ExitCode.CANCELLED)
    assert message == "hwotp: a QR code is shown only at a terminal (its secret is in it)"


# --- onto YubiKeys ------------------------------------------------------------------------------


def test_import_lands_on_the_key_and_in_the_vault_with_proof(plug_keys, hwotp, tmp_path,
                                                             vault_path) -> None:
    from virtualkey.key import KeyConfig

    rig = plug_keys(KeyConfig(serial=ONE))
    path = write(tmp_path, "aegis.json", x.aegis([x.aegis_entry(a) for a in x.ACCOUNTS[:2]]))
    result = ok(hwotp("import", str(path), "--no-touch", "--also-vault"))
    names = [f"{a.issuer}:{a.account}" for a in x.ACCOUNTS[:2]]
    expected = {name: pyotp_code(a) for name, a in zip(names, x.ACCOUNTS[:2], strict=True)}
    assert codes_printed(result.stdout) == expected
    assert f"Stored {', '.join(names)} in the YubiKey {ONE}." in result.stderr
    assert f"Stored {', '.join(names)} in the vault at {vault_path}." in result.stderr
    held = rig.keys[0].oath.credentials
    assert {b"Deno:mason@example.com", b"20/SPDX:james"} == set(held)
    assert [held[k].touch for k in sorted(held)] == [False, False]
    # The vault's escrowed copies export; the key's never could have.
    out = tmp_path / "out.json"
    ok(hwotp("export", "--to", "aegis", str(out), env={"HWOTP_EXPORT_PASSWORD": PASSWORD}))
    assert len(x.open_aegis(out.read_bytes(), PASSWORD)["entries"]) == 2


def test_ykman_imports_hwotps_pskc_export_onto_a_key_with_the_same_codes(
    plug_keys, hwotp, ykman, stand_in_tools, tmp_path
) -> None:
    from virtualkey.key import KeyConfig

    rig = plug_keys(KeyConfig(serial=TWO))
    fill_vault(hwotp)
    out = tmp_path / "vault.pskc"
    ok(hwotp("export", "--to", "pskc", str(out), env={"HWOTP_EXPORT_PASSWORD": PASSWORD}))
    # ykman asks for the passphrase with getpass: in a session of its own (no controlling
    # terminal) it reads it from standard input.
    executable = Path(sys.executable).with_name("ykman")
    env = {**os.environ, "PATH": f"{stand_in_tools}:{os.environ['PATH']}"}
    imported = subprocess.run(
        [str(executable), "oath", "accounts", "import", "--force", str(out)],
        input=f"{PASSWORD}\n", capture_output=True, text=True, env=env, timeout=120,
        start_new_session=True,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "4 OATH account(s) added." in imported.stdout
    held = rig.keys[0].oath.credentials
    assert set(held) == {b"GitHub:alice", "60/Acme, Inc.:b+o,b é".encode(), b"15/x:y",
                         b"Bank:bob"}
    assert held[b"Bank:bob"].counter == 42
    before = time.time()
    listed = ykman("oath", "accounts", "code").stdout
    after = time.time()
    codes = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
             for line in listed.splitlines()}

    def around(secret: str, **options) -> set[str]:
        totp = pyotp.TOTP(secret, **options)
        return {totp.at(before), totp.at(after)}

    assert codes["GitHub:alice"] in around(SECRET), listed
    # ykman shows a credential of another period by its id (period prefix included).
    acme = around(SECRET_B, digits=8, digest="sha256", interval=60)
    assert codes["60/Acme, Inc.:b+o,b é"] in acme
    assert codes["15/x:y"] in around(SECRET_C, digits=7, digest="sha512", interval=15)
    hotp = ykman("oath", "accounts", "code", "-s", "Bank").stdout.strip()
    assert hotp == pyotp.HOTP(SECRET).at(42)
