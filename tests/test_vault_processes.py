"""Vault writes across processes: SIGKILL at random moments, and concurrent writers.

Each writer subprocess unlocks once (one real scrypt run), says "ready", waits for a line on
stdin, then adds entries through `Vault.edit()` and prints how many of its own entries the
vault holds after each completed write.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from helpers.samples import PASSPHRASE
from hwotp.credential import Credential
from hwotp.vault import Vault, file
from hwotp.vault import format as fmt

KILL_TRIALS = 50
AHEAD = 2

WRITER = r"""
import sys
from pathlib import Path

from hwotp.credential import Credential
from hwotp.vault import Vault

path, writer, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
vault = Vault.unlock(path, sys.stdin.readline().rstrip("\n"))
print("ready", flush=True)
sys.stdin.readline()
while True:
    with vault.edit() as credentials:
        done = sum(c.issuer == writer for c in credentials)
        if done == limit:
            break
        credentials.append(
            Credential(secret=f"{writer} {done}".encode(), issuer=writer, account=f"{done:05d}")
        )
    print(done + 1, flush=True)
"""


def entry(writer: str, index: int) -> Credential:
    """The entry a writer adds as its `index`-th; must match WRITER above."""
    return Credential(secret=f"{writer} {index}".encode(), issuer=writer, account=f"{index:05d}")


def start_writer(path: Path, writer: str, limit: int = -1) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), writer, str(limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(PASSPHRASE + "\n")
    proc.stdin.flush()
    return proc


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.close()


def temp_files(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.*.tmp"))


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "vault.hwotp"
    reader = Vault.create(path, PASSPHRASE)  # reads with the master key: no scrypt per trial
    rng = random.Random(2024)
    # Two writers unlock ahead of their turn (scrypt on both cores, reading the vault while
    # another writer is writing and being killed); each trial then takes milliseconds.
    waiting = deque(start_writer(path, "kill") for _ in range(AHEAD))
    completed = 0  # entries known to be in the vault: their write finished
    stale_seen = 0
    for trial in range(KILL_TRIALS):
        proc = waiting.popleft()
        wait_ready(proc)
        if trial + AHEAD < KILL_TRIALS:
            waiting.append(start_writer(path, "kill"))
        go(proc)
        time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert proc.stdout is not None
        reported = proc.stdout.read().split()
        completed = int(reported[-1]) if reported else completed
        stale_seen += bool(temp_files(path))
        completed = _check_vault(reader, completed)  # a write that landed is complete too
    # Later writers cleaned up after killed ones, and one more write still works.
    with reader.edit() as credentials:
        credentials.append(entry("kill", len(credentials)))
    assert temp_files(path) == []
    print(f"{KILL_TRIALS} kills, {completed} entries, temp files left by {stale_seen} kills")


def _check_vault(reader: Vault, completed: int) -> int:
    """The vault holds the old or the new content, never less or garbage; so does the backup."""
    credentials = reader.credentials()
    count = len(credentials)
    assert count in (completed, completed + 1)
    assert credentials == [entry("kill", i) for i in range(count)]
    backup_path = file.backup_path(reader.path)
    if count == 0:
        return count
    backup = Vault(backup_path, reader._master_key, reader.unlocked_slot).credentials()
    assert len(backup) in (count - 1, count)
    assert backup == credentials[: len(backup)]
    return count


def test_concurrent_writers_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "vault.hwotp"
    reader = Vault.create(path, PASSPHRASE)
    writers = 2
    procs = [start_writer(path, f"w{n}", 50) for n in range(writers)]
    for proc in procs:
        wait_ready(proc)
    for proc in procs:
        go(proc)  # all unlocked: now they write at the same time
    for proc in procs:
        assert proc.wait(timeout=120) == 0
        assert proc.stdout is not None
        assert proc.stdout.read().split() == [str(i) for i in range(1, 51)]
    credentials = reader.credentials()
    assert len(credentials) == 50 * writers
    for n in range(writers):
        assert [c for c in credentials if c.issuer == f"w{n}"] == [
            entry(f"w{n}", i) for i in range(50)
        ]
    assert fmt.parse(path.read_bytes()).header.slots  # and it is still one valid file
