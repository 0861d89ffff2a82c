"""`pytest --real-key SERIAL` (issue 15): its refusals, its reading of which tests need a virtual
key, and the mode proven through with-keys, where virtual keys stand behind a pcscd of their own
exactly as physical keys stand behind the system's (and tests/virtualkey/human.py stands in for
the person who touches and re-inserts them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.realkey import RefusedError, check_only, virtual_only_reason

TESTS = Path(__file__).parent
WITH_KEYS = TESTS / "virtualkey" / "with-keys"
HUMAN = TESTS / "virtualkey" / "human.py"
A, B = 10000001, 10000002
USAGE_ERROR = 4  # pytest's exit status for a usage error
# The proof's test files: OATH and FIDO2, touches and a FIDO2 reset (a re-insert) among them.
ONE_KEY_FILES = ["test_yubikey_cli_keys.py", "test_fido2_cli.py"]
TWO_KEY_FILES = ["test_copies.py", "test_yubikey_cli_keys.py", "test_fido2_cli.py"]


def inner_pytest(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
            f"--basetemp={tmp_path / 'inner'}", *args]


def run(argv: list[str], wipe: str | None, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    environment.pop("HWOTP_TEST_WIPE_KEY", None)
    if wipe is not None:
        environment["HWOTP_TEST_WIPE_KEY"] = wipe
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=environment,
                          cwd=TESTS.parent)


def under_with_keys(tmp_path: Path, keys: int, pytest_args: list[str], wipe: str | None,
                    touch: str = "signal") -> subprocess.CompletedProcess:
    return run([str(WITH_KEYS), "--keys", str(keys), "--touch", touch, "--", sys.executable,
                str(HUMAN), "--", *inner_pytest(tmp_path, *pytest_args)], wipe)


def refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("wipe", "expected"), [
    (None, "set HWOTP_TEST_WIPE_KEY to the same serial(s) to confirm that they may be erased"),
    ("  ", "set HWOTP_TEST_WIPE_KEY to the same serial(s) to confirm that they may be erased"),
    ("10000009", "HWOTP_TEST_WIPE_KEY names 10000009 but --real-key gives 10000001; they must "
                 "be the same keys"),
    ("ten", "HWOTP_TEST_WIPE_KEY holds serials (digits), comma- or space-separated"),
    ("\u00b2", "HWOTP_TEST_WIPE_KEY holds serials (digits), comma- or space-separated"),
])
def test_a_run_is_refused_unless_the_keys_may_be_wiped(tmp_path, wipe, expected) -> None:
    result = run(inner_pytest(tmp_path, "--real-key", str(A), "--co", "tests/test_otp.py"), wipe)
    assert refusal(result).endswith(expected)


def test_a_key_given_twice_is_refused(tmp_path) -> None:
    argv = inner_pytest(tmp_path, "--real-key", str(A), "--real-key", str(A), "--co",
                        "tests/test_otp.py")
    assert refusal(run(argv, str(A))).endswith("--real-key names the same key twice; give "
                                               "each key once")


@pytest.mark.parametrize("given", ["\u00b2", "1_0", "\u0661"])
def test_a_serial_that_is_not_ascii_digits_is_refused(tmp_path, given) -> None:
    argv = inner_pytest(tmp_path, "--real-key", given, "--co", "tests/test_otp.py")
    result = run(argv, str(A))
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"a key's serial is digits, not {given!r}" in result.stderr


def test_no_pcscd_is_refused(tmp_path) -> None:
    argv = inner_pytest(tmp_path, "--real-key", str(A), "--co", "tests/test_otp.py")
    result = run(argv, str(A), PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd"))
    assert refusal(result).endswith(f"no pcscd is reachable at {tmp_path / 'no-pcscd'}; start "
                                    "it (systemctl start pcscd.socket) or set PCSCLITE_CSOCK_NAME")


def test_a_key_that_is_not_there_is_refused(tmp_path) -> None:
    result = under_with_keys(tmp_path, 1, ["--real-key", "10000009", "--co", "tests/test_otp.py"],
                             "10000009")
    assert refusal(result).endswith(f"YubiKey 10000009 is not among the keys pcscd shows "
                                    f"(serials found: {A})")


# --- which tests need a virtual key ---------------------------------------------------------


@pytest.mark.parametrize(("source", "reason"), [
    ("def test(plug_keys):\n    rig = plug_keys(KeyConfig(serial=ONE))\n    put(rig.keys[0], 'a')",
     None),
    ("def test(plug_keys):\n    key = plug_keys(KeyConfig(serial=ONE)).keys[0]\n"
     "    key.faults.pull_after = 3", "it pulls the key out at a chosen APDU or injects status"),
    ("def test(plug_keys):\n    assert puts(plug_keys(KeyConfig(serial=ONE)).keys[0]) == 1",
     "it reads the virtual key's APDU log"),
    ("def test(plug_keys):\n    plug_keys(KeyConfig(serial=ONE, touch='deny'))",
     "it needs a key set up with touch='deny'"),
    ("def test(plug_keys):\n    plug_keys(KeyConfig(serial=ONE, transport='nfc'))",
     "it needs a key on an NFC reader"),
    ("def test(plug_keys):\n    plug_keys(KeyConfig(serial=ONE, touch_delay=0.2))", None),
    ("def test(plug_keys):\n    rig = plug_keys(KeyConfig(serial=ONE))\n    rig.pull_out(ONE)",
     "it pulls the key out and in on its own"),
])
def test_the_code_of_a_test_tells_what_needs_a_virtual_key(source, reason) -> None:
    found = virtual_only_reason(source)
    if reason is None:
        assert found is None
    else:
        assert found == f"virtual key only: {reason}" or found.startswith(
            f"virtual key only: {reason}")


# --- the proof through with-keys --------------------------------------------------------------


def summary(output: str) -> dict[str, int]:
    last = [line for line in output.splitlines() if re.search(r"\d+ (passed|skipped)", line)][-1]
    return {word: int(count) for count, word in re.findall(r"(\d+) (\w+)", last)}


def skip_reasons(output: str) -> set[str]:
    reasons = re.findall(r"^SKIPPED \[\d+\] \S+ (.*)$", output, re.MULTILINE)
    return {re.sub(r"\d", "N", reason) for reason in reasons}


def asked(stderr: str) -> tuple[int, int]:
    match = re.search(r"human: asked (\d+) touches, (\d+) re-inserts", stderr)
    assert match, stderr
    return int(match.group(1)), int(match.group(2))


def test_on_one_key_every_selected_test_passes_or_is_skipped_for_a_virtual_power(tmp_path):
    files = [f"tests/{name}" for name in ONE_KEY_FILES]
    result = under_with_keys(tmp_path, 1, ["--real-key", str(A), *files], str(A))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = summary(result.stdout)
    assert counts.get("failed", 0) == 0 and counts.get("error", 0) == 0
    assert counts["passed"] >= 8 and counts["skipped"] >= 1
    assert all(reason.startswith(("virtual key only: ", "needs N keys; this run has N"))
               for reason in skip_reasons(result.stdout)), skip_reasons(result.stdout)
    assert f"YubiKey {A}: OATH (0 credentials) and FIDO2 (0 passkeys, no PIN) will be erased" \
        in result.stdout
    touches, reinserts = asked(result.stderr)
    assert touches >= 1 and reinserts >= 1  # touches asked for; a FIDO2 reset after a PIN


def test_on_two_keys_every_selected_test_passes_or_is_skipped_for_a_virtual_power(tmp_path):
    files = [f"tests/{name}" for name in TWO_KEY_FILES]
    result = under_with_keys(tmp_path, 2, ["--real-key", str(A), "--real-key", str(B), *files],
                             f"{A},{B}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = summary(result.stdout)
    assert counts.get("failed", 0) == 0 and counts["passed"] >= 5
    assert all(reason.startswith(("virtual key only: ", "needs N key"))
               for reason in skip_reasons(result.stdout)), skip_reasons(result.stdout)
    for serial in (A, B):
        assert f"YubiKey {serial}: OATH (0 credentials)" in result.stdout


def test_the_default_touch_policy_named_is_still_the_persons_touch() -> None:
    # docs/testing.md: "A test's automatic touch (KeyConfig(touch_delay=...)) is the person's
    # touch here"; touch="auto" is the default policy, so naming it changes nothing a real key
    # cannot do (test_ykman_reads_what_hwotp_wrote is skipped for it today).
    source = ("def test(plug_keys):\n"
              "    plug_keys(KeyConfig(serial=ONE, touch='auto', touch_delay=0.1))")
    assert virtual_only_reason(source) is None


# --- a key the run was not given --------------------------------------------------------------


OTHERS = "unplug every key but the ones given with --real-key"


def test_a_key_not_given_with_real_key_is_never_written(tmp_path):
    """A maintainer's everyday key plugged in beside the test key: the run refuses to start, so
    nothing it does changes that key (here B, not given, holds a credential named as one a test
    deletes from its own key, and hwotp without --device acts on every key it finds)."""
    ykman = Path(sys.executable).with_name("ykman")
    inner = " ".join(inner_pytest(tmp_path, "--real-key", str(A),
                                  "tests/test_yubikey_cli_keys.py::test_delete_on_a_key"))
    script = (f"{ykman} --device {B} oath accounts add -f Mail:bob JBSWY3DPEHPK3PXP >&2; "
              f"{sys.executable} {HUMAN} -- {inner} >&2; echo status: $? >&2; "
              f"echo after:; {ykman} --device {B} oath accounts list")
    result = run([str(WITH_KEYS), "--keys", "2", "--touch", "signal", "--", "sh", "-c", script],
                 str(A))
    held = result.stdout.split("after:", 1)[-1].split()
    assert held == ["Mail:bob"], result.stdout + result.stderr[-3000:]
    assert f"status: {USAGE_ERROR}" in result.stderr, result.stderr[-3000:]
    assert f"ERROR: other security keys are plugged in (YubiKey {B}): {OTHERS}" \
        in result.stderr.splitlines()


@pytest.mark.parametrize(("found", "unknown", "nodes", "expected"), [
    ({A: None}, 0, 1, None),
    ({A: None, B: None}, 0, 2, f"other security keys are plugged in (YubiKey {B}): {OTHERS}"),
    ({A: None}, 1, 2, "other security keys are plugged in (a YubiKey whose serial cannot be "
                      f"read): {OTHERS}"),
    ({A: None}, 0, 2, f"other security keys are plugged in (2 FIDO devices for 1 key): {OTHERS}"),
    ({A: None}, 0, 0, "0 FIDO devices are reachable in /dev/hidraw* for 1 key: each key's FIDO "
                      "interface must be enabled and readable by this user"),
])
def test_only_the_given_keys_may_be_plugged_in(found, unknown, nodes, expected) -> None:
    """The rule checked at the start, at every plug and after every re-insert: the YubiKeys
    pcscd shows are the given ones, and the FIDO HID devices (any vendor's) as many."""
    if expected is None:
        check_only([A], found, unknown, nodes)
        return
    with pytest.raises(RefusedError) as refused:
        check_only([A], found, unknown, nodes)
    assert str(refused.value) == expected


@pytest.mark.virtual_only("it builds a --real-key run of its own on virtual keys")
def test_a_key_plugged_in_mid_run_stops_the_run_before_anything_is_written(
        plug_keys, request) -> None:
    """The check at every plug: B came after the run started (its plug is the first time the run
    looks), so the run stops there with the sentence, and neither key's OATH is reset."""
    from helpers.keys import names_on, put
    from helpers.realkey import Person, RealKeys
    from virtualkey.key import KeyConfig

    rig = plug_keys(KeyConfig(serial=A), KeyConfig(serial=B))
    for key in rig.keys:
        put(key, "bob", "Mail")
    person = Person(request.config)
    try:
        with pytest.raises(pytest.exit.Exception) as stopped:
            RealKeys([A], rig.pcscd.socket_path, person).plug((KeyConfig(serial=A),), False)
    finally:
        person.close()
    assert not Path(person.path).parent.exists()  # the FIFO's folder goes with the run
    assert str(stopped.value.msg) == f"other security keys are plugged in (YubiKey {B}): {OTHERS}"
    assert all(names_on(key) == {b"Mail:bob"} for key in rig.keys)


def test_a_process_asking_for_a_touch_after_pytest_ended_does_not_block(tmp_path) -> None:
    """realkey_site: a FIFO nobody reads any more (pytest gone) is nobody to ask, at once."""
    fifo = tmp_path / "say"
    os.mkfifo(fifo, 0o600)
    code = f"import sitecustomize; sitecustomize._tell({str(fifo)!r}, 'touch YubiKey 1\\n')"
    site = {**os.environ, "PYTHONPATH": str(TESTS / "realkey_site")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=20, env=site)
    assert result.returncode == 0, result.stderr
