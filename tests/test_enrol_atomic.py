"""An enrolment is all or nothing, through the installed script against virtual keys: Ctrl-C
and SIGTERM at every question and while the proof waits for a touch; every question comes
before the first write."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from helpers.keys import ONE, TWO, fill, names_on, puts
from helpers.migration import github_batch
from helpers.processes import hwotp_script, vault_env
from helpers.samples import GITHUB, PASSPHRASE
from virtualkey.key import KeyConfig

SIGNALS = [signal.SIGINT, signal.SIGTERM]
SIGNAL_IDS = ["SIGINT", "SIGTERM"]
# The virtual key waits this long for a touch that never comes (a real key: about 15 s).
TOUCH_WAIT = 2.0


def start_enrol(vault: Path, *args: str) -> subprocess.Popen[str]:
    """`hwotp enroll --uri GITHUB ARGS` without a terminal, its notes read line by line."""
    return subprocess.Popen(
        [hwotp_script(), "enroll", "--uri", GITHUB, *args],
        env=vault_env(vault), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def read_until(stream, text: str) -> list[str]:
    lines = []
    for line in stream:
        lines.append(line.rstrip("\n"))
        if text in line:
            return lines
    raise AssertionError(f"never said {text!r}: {lines}")


def finish(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    _out, rest = process.communicate(timeout=60)
    return process.returncode, rest.splitlines()


@pytest.mark.parametrize("number", SIGNALS, ids=SIGNAL_IDS)
def test_an_interrupt_while_the_proof_waits_for_a_touch_removes_the_credential(
    plug_keys, tmp_path, number
):
    rig = plug_keys(KeyConfig(serial=ONE, touch="signal", touch_timeout=TOUCH_WAIT))
    key = rig.keys[0]
    enrolling = start_enrol(tmp_path / "vault.hwotp")
    read_until(enrolling.stderr, f"Touch your YubiKey {ONE} for GitHub:alice")
    time.sleep(0.3)  # the CALCULATE is at the key, waiting for the touch
    assert names_on(key) == {b"GitHub:alice"}  # written, not yet proven
    enrolling.send_signal(number)
    status, lines = finish(enrolling)
    assert status == 130, lines
    assert lines[-1] == (f"hwotp: interrupted (GitHub:alice was removed from the YubiKey {ONE} "
                         "again)")
    assert names_on(key) == set()
    assert not (tmp_path / "vault.hwotp").exists()


@pytest.mark.parametrize("number", SIGNALS, ids=SIGNAL_IDS)
def test_an_interrupt_on_the_second_key_says_what_the_first_holds(plug_keys, tmp_path, number):
    rig = plug_keys(KeyConfig(serial=ONE),
                    KeyConfig(serial=TWO, touch="signal", touch_timeout=TOUCH_WAIT))
    enrolling = start_enrol(tmp_path / "vault.hwotp", "--all-keys")
    read_until(enrolling.stderr, f"Touch your YubiKey {TWO} for GitHub:alice")
    time.sleep(0.3)
    enrolling.send_signal(number)
    status, lines = finish(enrolling)
    assert status == 130, lines
    assert lines[-1] == (f"hwotp: interrupted (GitHub:alice was removed from the YubiKey {TWO} "
                         f"again) (GitHub:alice is stored in the YubiKey {ONE} only)")
    assert [names_on(key) for key in rig.keys] == [{b"GitHub:alice"}, set()]


def test_a_touch_given_after_the_interrupt_still_removes_the_credential(plug_keys, tmp_path):
    rig = plug_keys(KeyConfig(serial=ONE, touch="signal", touch_timeout=10))
    key = rig.keys[0]
    enrolling = start_enrol(tmp_path / "vault.hwotp")
    read_until(enrolling.stderr, f"Touch your YubiKey {ONE} for GitHub:alice")
    time.sleep(0.3)
    enrolling.send_signal(signal.SIGINT)
    time.sleep(0.3)
    key.touch()  # the proof completes, but the user asked to stop: nothing stays
    status, lines = finish(enrolling)
    assert status == 130, lines
    assert lines[-1].startswith("hwotp: interrupted (GitHub:alice was removed from the YubiKey")
    assert names_on(key) == set()


# --- every question comes before the first write, and an interrupt there writes nothing ----


@pytest.fixture
def spawn(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_")}
    env["HWOTP_VAULT"] = str(tmp_path / "vault.hwotp")
    env["HWOTP_CACHE_DIR"] = os.environ["HWOTP_CACHE_DIR"]
    env["HWOTP_CONFIG"] = os.environ["HWOTP_CONFIG"]

    def start(*args: str) -> pexpect.spawn:
        return pexpect.spawn(hwotp_script(), list(args), env=env, encoding="utf-8", timeout=60)

    return start


def key_choice(plug_keys, ykman):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    return rig, ("enroll", "--uri", GITHUB), r"Which YubiKey.*: "


def oath_password(plug_keys, ykman):
    rig = plug_keys(KeyConfig(serial=ONE))
    assert ykman("oath", "access", "change", "-n", "hunter22").exit_code == 0
    return rig, ("enroll", "--uri", GITHUB), f"OATH password for YubiKey {ONE}: "


def new_vault_passphrase(plug_keys, ykman):
    rig = plug_keys(KeyConfig(serial=ONE))
    return rig, ("enroll", "--uri", GITHUB, "--also-vault"), "New vault passphrase: "


def fallback_question(plug_keys, ykman):
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)))
    fill(rig.keys[0], 32)
    question = r"Store it in the encrypted vault instead\? \[Y/n\]: "
    return rig, ("enroll", "--uri", GITHUB), question


QUESTIONS = [key_choice, oath_password, new_vault_passphrase, fallback_question]


@pytest.mark.parametrize("number", SIGNALS, ids=SIGNAL_IDS)
@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: q.__name__)
def test_an_interrupt_at_any_question_writes_nothing(plug_keys, ykman, spawn, tmp_path,
                                                    question, number):
    rig, args, prompt = question(plug_keys, ykman)
    writes_before = [puts(key) for key in rig.keys]
    child = spawn(*args)
    child.expect(prompt)
    assert [puts(key) for key in rig.keys] == writes_before  # asked before any write
    time.sleep(0.5)  # not in the instant before the read, where CPython loses a SIGINT
    child.kill(number)
    rest = child.read()
    child.close()
    assert child.exitstatus == 130, child.before + rest
    assert rest.strip().splitlines()[-1] == "hwotp: interrupted"
    assert [puts(key) for key in rig.keys] == writes_before
    assert all(b"GitHub:alice" not in names_on(key) for key in rig.keys)
    assert not (tmp_path / "vault.hwotp").exists()


def test_a_new_vault_is_asked_for_before_the_key_is_written(plug_keys, spawn, tmp_path):
    rig = plug_keys(KeyConfig(serial=ONE))
    child = spawn("enroll", "--uri", GITHUB, "--also-vault", "--no-touch")
    child.expect("New vault passphrase: ")
    assert puts(rig.keys[0]) == 0
    child.sendline(PASSPHRASE)
    child.expect("Repeat for confirmation: ")
    child.sendline(PASSPHRASE)
    rest = child.read()
    child.close()
    assert child.exitstatus == 0, rest
    assert f"Stored GitHub:alice in the YubiKey {ONE}." in rest
    assert "Stored GitHub:alice in the vault at" in rest
    assert names_on(rig.keys[0]) == {b"GitHub:alice"} and (tmp_path / "vault.hwotp").exists()


def test_yes_at_the_terminal_sends_only_the_overflow_and_asks_everything_first(plug_keys, spawn,
                                                                              tmp_path):
    names, batch = github_batch(7)
    rig = plug_keys(KeyConfig(serial=ONE, firmware=(5, 4, 3)))
    fill(rig.keys[0], 30)  # room for 2 of 7
    writes_before = puts(rig.keys[0])
    child = spawn("enroll", "--uri", batch, "--no-touch")
    child.expect(f"the YubiKey {ONE} has room for 2 of these 7 credentials: it holds 30, its "
                 "limit is 32.")
    child.expect(r"Store the 5 that do not fit in the encrypted vault instead\? \[Y/n\]: ")
    child.sendline("y")
    child.expect("New vault passphrase: ")  # the fallback vault is created: asked before writing
    assert puts(rig.keys[0]) == writes_before
    child.sendline(PASSPHRASE)
    child.expect("Repeat for confirmation: ")
    child.sendline(PASSPHRASE)
    rest = child.read()
    child.close()
    assert child.exitstatus == 0, rest
    assert f"Stored {names[0]}, {names[1]} in the YubiKey {ONE}." in rest
    assert f"Stored {', '.join(names[2:])} in the vault at" in rest
    assert puts(rig.keys[0]) == writes_before + 2
    assert {name.encode() for name in names[:2]} < names_on(rig.keys[0])
    assert not {name.encode() for name in names[2:]} & names_on(rig.keys[0])
