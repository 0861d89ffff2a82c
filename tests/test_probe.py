"""The behaviour probe (tests/virtualkey/probe) run through with-keys, as a maintainer runs it on
a real key: the virtual key's answers must be the committed ones (probe-expected.json), so a
real key's answers can be diffed against them (docs/testing.md, "Behaviour probe")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VIRTUALKEY = Path(__file__).parent / "virtualkey"
WITH_KEYS = VIRTUALKEY / "with-keys"
PROBE = VIRTUALKEY / "probe"
EXPECTED = json.loads((VIRTUALKEY / "probe-expected.json").read_text())
YKMAN = Path(sys.executable).parent / "ykman"
SERIAL = "424242"
# What only --wipe asks: without it each of these is skipped, and everything else is the same.
DESTRUCTIVE = ("oath_validate_wrong_password", "oath_capacity", "fido2_wrong_pins",
               "fido2_reset_late")
# Nobody touches (what the probe asks the user too): the key's presence wait gives up after
# 2 s, as it does for a user who keeps away.
KEY_OPTIONS = ("--serial", SERIAL, "--touch", "deny", "--touch-timeout", "2")


def with_keys(*arguments: str, transport: str = "usb") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(WITH_KEYS), "--transport", transport, *KEY_OPTIONS, "--",
                           *arguments], capture_output=True, text=True, timeout=120)


def probed(*options: str, transport: str = "usb") -> dict:
    result = with_keys(str(PROBE), "--serial", SERIAL, *options, transport=transport)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


NOT_INTERACTIVE = {"fido2_deny_status": {"skipped": "needs --interactive"}}


def test_probe_with_wipe_and_interactive_on_a_usb_key_answers_the_expected_file(stand_in_tools):
    assert probed("--wipe", SERIAL, "--interactive") == EXPECTED


def test_probe_with_wipe_on_an_nfc_key_answers_the_same_but_its_transport(stand_in_tools):
    answers = probed("--wipe", SERIAL, transport="nfc")
    assert answers == {**EXPECTED, **NOT_INTERACTIVE, "transport": "nfc"}


def test_probe_without_wipe_skips_what_erases_and_leaves_no_credential(stand_in_tools):
    # The probe, then a listing of the key's OATH credentials: its scratch ones must be gone.
    script = (f'"{PROBE}" --serial {SERIAL} > "$VIRTUALKEY_CONTROL/answers.json" && '
              f'"{YKMAN}" --device {SERIAL} oath accounts list && echo --- && '
              'cat "$VIRTUALKEY_CONTROL/answers.json"')
    result = with_keys("sh", "-c", script)
    assert result.returncode == 0, result.stderr
    listed, answers_text = result.stdout.split("---\n")
    assert listed == ""
    answers = json.loads(answers_text)
    skipped = {question: {"skipped": "needs --wipe"} for question in DESTRUCTIVE}
    assert answers == {**EXPECTED, **skipped, **NOT_INTERACTIVE}
    assert "--wipe" not in result.stderr


def test_probe_refuses_a_wipe_naming_another_key():
    result = subprocess.run([str(PROBE), "--serial", SERIAL, "--wipe", "424243"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--wipe 424243 does not name the probed key 424242" in result.stderr
    assert result.stdout == ""


def test_probe_says_when_no_key_has_the_serial(stand_in_tools):
    result = with_keys(str(PROBE), "--serial", "999")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "probe: no key with serial 999 found"
    assert result.stdout == ""
