"""The rig keeps its keys to itself and cleans up after itself: nothing on the network but
loopback, no real reader for the private pcscd, nothing that outlives with-keys, no user's
vault or keyring for its commands, no links followed in a control folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from helpers.keys import ONE, TWO
from helpers.processes import processes_mentioning
from virtualkey.key import KeyConfig
from virtualkey.log import ApduLog
from virtualkey.pcscd import HIDDEN_FOLDERS

WITH_KEYS = Path(__file__).parent / "virtualkey" / "with-keys"
REAPER = Path(__file__).parent / "virtualkey" / "reaper.py"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
LOOPBACK = {"127.0.0.1", "[::1]", "::1"}


def listening_sockets() -> list[tuple[str, int, set[int]]]:
    """Every listening TCP socket of the machine, as `ss -ltnp` shows it: (address, port,
    pids of the processes holding it)."""
    output = subprocess.run(["ss", "-H", "-l", "-t", "-n", "-p"], capture_output=True,
                            text=True, check=True).stdout
    found = []
    for line in output.splitlines():
        local = line.split()[3]
        address, _, port = local.rpartition(":")
        pids = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        found.append((address.split("%")[0], int(port), pids))
    return found


def with_keys(*args: str, env: dict[str, str], timeout: float = 60):
    clean = {key: value for key, value in os.environ.items()
             if key not in ("PCSCLITE_CSOCK_NAME", "HWOTP_VAULT", "HWOTP_CACHE_DIR",
                            "PYTHON_KEYRING_BACKEND")}
    clean["PATH"] = f"{Path(sys.executable).parent}:{clean['PATH']}"
    return subprocess.run([str(WITH_KEYS), *args], capture_output=True, text=True,
                          env={**clean, **env}, timeout=timeout)


# The network: vpcd connects to the bridges on loopback; nothing listens anywhere else


def test_nothing_of_the_rig_listens_beyond_loopback(plug_keys):
    rig = plug_keys(KeyConfig(serial=ONE), KeyConfig(serial=TWO))
    pcscd = rig.pcscd.process.pid
    ours = [(address, port, pids) for address, port, pids in listening_sockets()
            if pids & {pcscd, os.getpid()}]
    assert [entry for entry in ours if pcscd in entry[2]] == []  # vpcd does not listen
    assert [entry for entry in ours if entry[0] not in LOOPBACK] == []
    bridge_ports = {bridge.port for bridge in rig.bridges}
    assert bridge_ports <= {port for address, port, _ in ours if address == "127.0.0.1"}
    assert rig.pcscd.ports == sorted(bridge_ports)  # the ports vpcd connects to


def test_a_key_pulled_twice_comes_back_each_time_through_loopback(plug_keys):
    from helpers.keys import replug, wait_until_pcscd_sees_no_card

    rig = plug_keys(KeyConfig(serial=ONE))
    for _ in range(2):
        rig.bridge(ONE).pull_out()
        wait_until_pcscd_sees_no_card()  # vpcd's reconnections are refused meanwhile
        assert rig.pcscd.process.poll() is None
        rig.bridge(ONE).plug_in()
        rig.bridge(ONE).wait_ready()
    replug(rig, ONE)
    assert rig.pcscd.process.poll() is None


# The private pcscd sees no real reader


def test_pcscd_sees_no_reader_driver_usb_device_or_udev_database(plug_keys):
    rig = plug_keys(KeyConfig(serial=ONE))
    assert any(Path(HIDDEN_FOLDERS[0]).iterdir())  # the machine's drivers (vpcd's at least)
    root = Path(f"/proc/{rig.pcscd.process.pid}/root")
    for folder in HIDDEN_FOLDERS:
        if Path(folder).is_dir():
            assert list((root / folder.lstrip("/")).iterdir()) == [], folder


# with-keys leaves nothing behind


def test_everything_the_command_started_dies_with_a_killed_with_keys(tmp_path):
    token = f"{1000 + uuid.uuid4().int % 1000}.{os.getpid()}"  # a unique sleep duration
    env = {key: value for key, value in os.environ.items() if key != "PCSCLITE_CSOCK_NAME"}
    started = tmp_path / "started"
    command = [str(WITH_KEYS), "--", "sh", "-c", f': > "{started}"; sleep {token}; true']
    with_keys_run = subprocess.Popen(command, env={**env, "TMPDIR": str(tmp_path)},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (started.exists() and processes_mentioning(f"sleep {token}")):
        assert time.monotonic() < deadline and with_keys_run.poll() is None
        time.sleep(0.1)
    with_keys_run.kill()
    with_keys_run.wait()
    deadline = time.monotonic() + 5
    while processes_mentioning(f"sleep {token}") or processes_mentioning(str(tmp_path)):
        assert time.monotonic() < deadline, processes_mentioning(f"sleep {token}")
        time.sleep(0.1)


@pytest.mark.parametrize("unprivileged", [False, True], ids=["namespace", "subreaper"])
def test_the_reaper_kills_what_the_command_left_running(unprivileged):
    """As root the command's PID namespace goes with it; without root (as nobody here) the
    reaper, a child subreaper, kills the orphans itself."""
    token = f"{1000 + uuid.uuid4().int % 1000}.{os.getpid()}"
    prefix = AS_NOBODY if unprivileged and os.geteuid() == 0 else []
    result = subprocess.run([*prefix, sys.executable, str(REAPER), "sh", "-c",
                             f"sleep {token} & exit 3"], timeout=30)
    assert result.returncode == 3
    assert processes_mentioning(f"sleep {token}") == []


def test_the_reaper_exits_128_plus_the_signal_that_ended_the_command():
    result = subprocess.run([sys.executable, str(REAPER), "sh", "-c", "kill -TERM $$"],
                            timeout=30)
    assert result.returncode == 128 + 15


def test_with_keys_removes_the_folders_of_killed_runs(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now
    stale = tmp_path / f"with-keys-{dead.pid}-abc"
    (stale / "control").mkdir(parents=True)
    running = tmp_path / f"with-keys-{os.getpid()}-abc"  # this process is alive
    running.mkdir()
    result = with_keys("--transport", "nfc", "--", "true", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert running.exists()


# with-keys' commands use their own vault, cache and keyring


def test_with_keys_gives_the_command_a_vault_cache_and_keyring_of_its_own(tmp_path):
    show = 'echo "$HWOTP_VAULT|$HWOTP_CACHE_DIR|$PYTHON_KEYRING_BACKEND"'
    result = with_keys("--transport", "nfc", "--", "sh", "-c", show,
                       env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    vault, cache, keyring = result.stdout.strip().split("|")
    workdirs = list(tmp_path.glob("with-keys-*"))
    assert workdirs == []  # the run's folder, gone with the run
    for path in (vault, cache):
        assert Path(path).is_relative_to(tmp_path) and "/with-keys-" in path, path
    assert keyring == "keyring.backends.null.Keyring"


def test_with_keys_keeps_the_callers_vault_cache_and_keyring(tmp_path):
    mine = {"HWOTP_VAULT": str(tmp_path / "v"), "HWOTP_CACHE_DIR": str(tmp_path / "c"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    show = 'echo "$HWOTP_VAULT|$HWOTP_CACHE_DIR|$PYTHON_KEYRING_BACKEND"'
    result = with_keys("--transport", "nfc", "--", "sh", "-c", show, env=mine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == list(mine.values())


# The control folder


def test_the_apdu_log_never_follows_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    log_path = tmp_path / "1.apdu.jsonl"
    log_path.symlink_to(victim)
    log = ApduLog(log_path)
    with pytest.raises(OSError):
        log.record("oath", None, b"\x00\xa4\x04\x00", b"", 0x9000)
    assert victim.read_text() == "untouched\n"


def test_a_new_apdu_log_is_the_owners_only(tmp_path):
    previous = os.umask(0o022)  # what a plain open would leave readable by everybody
    try:
        ApduLog(tmp_path / "1.apdu.jsonl").record("oath", None, b"\x00\xa4", b"", 0x9000)
    finally:
        os.umask(previous)
    assert (tmp_path / "1.apdu.jsonl").stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_with_keys_refuses_a_control_folder_somebody_else_owns(tmp_path):
    control = tmp_path / "control"
    control.mkdir()
    os.chown(control, 65534, 65534)  # nobody
    result = with_keys("--transport", "nfc", "--control", str(control), "--", "true",
                       env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 125
    assert "belongs to another user" in result.stderr
    assert list(control.iterdir()) == []
