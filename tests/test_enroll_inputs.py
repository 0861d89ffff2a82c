"""Several inputs in one enrolment and inputs on standard input (issue 12, item 3): several
--uri, mixed with --qr (a split Google Authenticator export gathered across them); --qr - (an
image piped in, under the file rules), --uri - (URI lines; a bad line named by its number,
nothing written); one option per command reads standard input; a secret given as an argument
gets one warning line. Through the installed script, on the vault and on a virtual key."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from pathlib import Path

import pyotp
import pytest

import qrimages
from helpers.cli import Run, codes_printed, failed, ok
from helpers.keys import ONE, names_on, pyotp_codes_around
from helpers.migration import entry, payload_bytes
from helpers.migration import uri as migration_uri
from helpers.processes import hwotp_script, vault_env
from helpers.samples import GITHUB, PASSPHRASE, RAW_SECRET, SECRET, SECRET_B
from hwotp.errors import ExitCode
from virtualkey.key import KeyConfig

GITLAB = f"otpauth://totp/GitLab:bob?secret={SECRET_B}&issuer=GitLab"
IN_HISTORY = "stays in your shell history"


@pytest.fixture
def hwotp_vault(tmp_path: Path, no_pcscd):
    """`hwotp ARGS` through the installed script on a throwaway vault; `stdin` text or bytes."""
    vault = tmp_path / "data" / "vault.hwotp"

    def run(*args: str, stdin: str | bytes | None = None, env: dict | None = None) -> Run:
        """`env` values of None take the variable away."""
        variables = {**vault_env(vault), **(env or {})}
        data = stdin.encode() if isinstance(stdin, str) else stdin
        done = subprocess.run([hwotp_script(), *args], input=data, capture_output=True,
                              timeout=120,
                              env={k: v for k, v in variables.items() if v is not None})
        return Run(done.returncode, done.stdout.decode(), done.stderr.decode())

    run.vault = vault
    return run


def names_in(run) -> list[str]:
    return sorted(item["name"] for item in json.loads(ok(run("list", "--json")).stdout))


def png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrimages.qr_image(text).save(buffer, format="PNG")
    return buffer.getvalue()


def export_part(index: int, size: int, account: str, batch_id: int = 7) -> str:
    return migration_uri(payload_bytes([entry(name=account)], version=1, batch_size=size,
                                       batch_index=index, batch_id=batch_id))


def test_several_uris_in_one_command(hwotp_vault):
    result = ok(hwotp_vault("enroll", "--uri", GITHUB, "--uri", GITLAB, "--in-vault"))
    assert "Found 2 credentials in 2 URIs:" in result.stderr
    assert result.stderr.count(IN_HISTORY) == 1  # one warning for both
    assert names_in(hwotp_vault) == ["GitHub:alice", "GitLab:bob"]
    output, expected = pyotp_codes_around(
        lambda: pyotp.TOTP(SECRET_B), lambda: ok(hwotp_vault("code", "gitlab")).stdout)
    assert codes_printed(output)["GitLab:bob"] in expected


def test_uri_lines_on_standard_input(hwotp_vault):
    lines = f"{GITHUB}\n\n   \n{GITLAB}\r\n"
    result = ok(hwotp_vault("enroll", "--uri", "-", "--in-vault", stdin=lines))
    assert "Found 2 credentials in standard input:" in result.stderr
    assert "warning" not in result.stderr
    assert names_in(hwotp_vault) == ["GitHub:alice", "GitLab:bob"]


def test_one_bad_uri_line_is_named_and_nothing_is_written(hwotp_vault):
    lines = f"{GITHUB}\n\nhttps://example.com/login\n{GITLAB}\n"
    message = failed(hwotp_vault("enroll", "--uri", "-", "--in-vault", stdin=lines),
                     ExitCode.BAD_INPUT)
    assert message == ("hwotp: line 3 of standard input: the URI holds a web address, not an "
                       "authenticator secret")
    assert not hwotp_vault.vault.exists()
    no_secret = GITLAB.replace(f"secret={SECRET_B}&", "")
    second = failed(hwotp_vault("enroll", "--uri", GITHUB, "--uri", no_secret, "--in-vault"),
                    ExitCode.BAD_INPUT)
    assert second == "hwotp: URI 2: the secret parameter is missing"
    empty = failed(hwotp_vault("enroll", "--uri", "-", stdin="\n \n"), ExitCode.BAD_INPUT)
    assert empty == "hwotp: standard input holds no URI: pipe them in, one a line"
    assert not hwotp_vault.vault.exists()


def test_an_image_on_standard_input(hwotp_vault, tmp_path: Path):
    result = ok(hwotp_vault("enroll", "--qr", "-", "--in-vault", stdin=png(GITHUB)))
    assert "Found 1 credential in standard input:" in result.stderr
    assert names_in(hwotp_vault) == ["GitHub:alice"]
    text = failed(hwotp_vault("enroll", "--qr", "-", stdin=b"not an image at all"),
                  ExitCode.BAD_INPUT)
    assert text == ("hwotp: the image on standard input is not an image hwotp can read (PNG, "
                    "JPEG, GIF, BMP, TIFF, WebP)")
    nothing = failed(hwotp_vault("enroll", "--qr", "-", stdin=b""), ExitCode.BAD_INPUT)
    assert nothing == "hwotp: the image on standard input is empty: pipe the screenshot in"
    # The file rules hold: an image larger than a screenshot is refused from its header.
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (20_000, 10)).save(buffer, format="PNG")
    large = failed(hwotp_vault("enroll", "--qr", "-", stdin=buffer.getvalue()),
                   ExitCode.BAD_INPUT)
    assert large.startswith("hwotp: the image on standard input (20000x10) is larger than")


def test_piped_image_larger_than_the_bound_is_refused_unread(hwotp, monkeypatch):
    from hwotp.inputs import qr

    monkeypatch.setattr(qr, "MAX_STREAM_BYTES", 2**10)  # the bound, not 145 MB, in a test
    message = failed(hwotp("enroll", "--qr", "-", stdin="x" * (2**10 + 1)), ExitCode.BAD_INPUT)
    assert message == ("hwotp: the image on standard input is larger than a screenshot hwotp "
                       "reads (0 MiB); crop it around the QR code")


def test_a_split_export_is_gathered_across_qr_and_uri(hwotp_vault, tmp_path: Path):
    first = tmp_path / "part1.png"
    first.write_bytes(png(export_part(0, 3, "user0")))
    given = ["--qr", str(first), "--uri", export_part(2, 3, "user2")]
    missing = failed(hwotp_vault("enroll", *given, "--in-vault"), ExitCode.BAD_INPUT)
    assert missing == ("hwotp: part 2 of 3 of a Google Authenticator export is missing; also "
                       "give its screenshot with another --qr (or its URI with another --uri)")
    assert not hwotp_vault.vault.exists()
    whole = ok(hwotp_vault("enroll", *given, "--uri", export_part(1, 3, "user1"), "--in-vault"))
    assert "batch" not in whole.stderr
    assert names_in(hwotp_vault) == ["GitHub:user0", "GitHub:user1", "GitHub:user2"]
    alone = ok(hwotp_vault("enroll", "--uri", export_part(0, 2, "solo", batch_id=8),
                           "--dry-run"))
    assert ("hwotp: warning: this URI is batch 1 of 2 of a Google Authenticator export: enrol "
            "its other 1 part too") in alone.stderr


def test_standard_input_serves_one_option(hwotp_vault):
    for args in (["--qr", "-", "--uri", "-"], ["--uri", "-", "--uri", "-"],
                 ["--uri", "-", "--secret", "-", "--account", "a"], ["--qr", "-", "--qr", "-"]):
        message = failed(hwotp_vault("enroll", *args, stdin=GITHUB), ExitCode.USAGE)
        assert message.startswith("hwotp: standard input carries one input per command: give "
                                  "only one of --qr -, --uri - and --secret -, once"), args
    assert not hwotp_vault.vault.exists()
    # The vault passphrase cannot follow the URIs there: say so, not "type it".
    without = {"HWOTP_PASSPHRASE": None}
    asked = hwotp_vault("enroll", "--uri", "-", "--in-vault", stdin=GITHUB, env=without)
    assert failed(asked, ExitCode.CANCELLED) == (
        "hwotp: no new vault passphrase: standard input was read for --uri -; set "
        "HWOTP_PASSPHRASE")
    # --secret - reads one line: the passphrase may follow on the next.
    ok(hwotp_vault("enroll", "--secret", "-", "--issuer", "Acme", "--account", "eve",
                   "--in-vault", stdin=f"{SECRET}\n{PASSPHRASE}\n", env=without))


def test_a_secret_in_an_argument_gets_one_warning(hwotp_vault):
    typed = ok(hwotp_vault("enroll", "--secret", SECRET, "--account", "eve", "--dry-run"))
    assert [line for line in typed.stderr.splitlines() if line.startswith("hwotp:")] == [
        "hwotp: warning: the setup key given on the command line stays in your shell history; "
        "next time use --secret - (asked without echo, or read from standard input)"]
    pasted = ok(hwotp_vault("enroll", "--uri", GITHUB, "--dry-run"))
    assert [line for line in pasted.stderr.splitlines() if line.startswith("hwotp:")] == [
        "hwotp: warning: a URI given on the command line stays in your shell history with its "
        "secret; next time use --uri - (read from standard input)"]
    export = migration_uri(payload_bytes([entry(name="x")]))
    assert IN_HISTORY in ok(hwotp_vault("enroll", "--uri", export, "--dry-run")).stderr
    for quiet in (["--secret", "-", "--account", "eve"], ["--uri", "-"]):
        result = ok(hwotp_vault("enroll", *quiet, "--dry-run", stdin=f"{SECRET}\n"
                                if "--secret" in quiet else GITHUB))
        assert IN_HISTORY not in result.stderr and SECRET not in result.everything


def test_uri_lines_onto_a_virtual_key(plug_keys, run_on_keys, tmp_path: Path):
    rig = plug_keys(KeyConfig(serial=ONE))
    env = {"HWOTP_VAULT": str(tmp_path / "vault.hwotp"), "HWOTP_PASSPHRASE": PASSPHRASE}
    export = migration_uri(payload_bytes([entry(name="carol")]))
    result = ok(run_on_keys([hwotp_script(), "enroll", "--uri", "-", "--no-touch"],
                            stdin=f"{GITHUB}\n{export}\n", env=env))
    assert f"Stored GitHub:alice, GitHub:carol in the YubiKey {ONE}." in result.stderr
    assert names_on(rig.keys[0]) == {b"GitHub:alice", b"GitHub:carol"}
    carol = base64.b32encode(RAW_SECRET).decode()
    output, expected = pyotp_codes_around(lambda: pyotp.TOTP(carol), lambda: ok(run_on_keys(
        [hwotp_script(), "code", "carol", "--no-vault"], env=env)).stdout)
    assert codes_printed(output)["GitHub:carol"] in expected
