"""A stand-in for the person at the keys, for `pytest --real-key` runs under with-keys:

    tests/virtualkey/with-keys --touch signal ... -- python tests/virtualkey/human.py -- COMMAND...

runs COMMAND, passes its output on, and acts on the lines it asks a person with: "touch YubiKey
N" touches key N (its touch file in VIRTUALKEY_CONTROL, made again and again for a while, as a
touch counts only while the key waits for one); "remove and re-insert YubiKey N, then touch it"
asks with-keys to re-plug key N (its SERIAL.replug file), then touches it. At the end it says
how often it was asked, on standard error. The exit status is COMMAND's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

TOUCH = re.compile(r"\btouch YubiKey (\d+)\s*$")
REINSERT = re.compile(r"\bremove and re-insert YubiKey (\d+), then touch it\s*$")
TOUCH_SECONDS = 4.0  # how long the finger stays on the key after a prompt
REINSERT_TOUCH_SECONDS = 8.0  # the re-insert takes a second or two first
TOUCH_EVERY = 0.1


def touch(control: Path, serial: str, seconds: float) -> None:
    """Touches once the key waits, for at most `seconds`: the touch file is made again whenever
    the key took it away, once more after the first time (the key drops a touch made before its
    wait began), and no more after that: a person does not keep touching a key that stopped
    blinking, and a touch nobody asked for could answer the next test's wait unseen."""
    touch_file = control / f"{serial}.touch"
    deadline = time.monotonic() + seconds
    taken = 0
    touch_file.touch()
    while taken < 2 and time.monotonic() < deadline:
        time.sleep(TOUCH_EVERY)
        if not touch_file.exists():
            taken += 1
            if taken < 2:
                touch_file.touch()


def act(line: str, control: Path, counts: dict[str, int]) -> None:
    if match := REINSERT.search(line):
        counts["re-inserts"] += 1
        (control / f"{match.group(1)}.replug").touch()
        seconds = REINSERT_TOUCH_SECONDS
    elif match := TOUCH.search(line):
        counts["touches"] += 1
        seconds = TOUCH_SECONDS
    else:
        return
    threading.Thread(target=touch, args=(control, match.group(1), seconds), daemon=True).start()


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("human: give a command after --", file=sys.stderr)
        return 2
    control = Path(os.environ["VIRTUALKEY_CONTROL"])
    counts = {"touches": 0, "re-inserts": 0}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert child.stdout is not None
    for line in child.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        act(line, control, counts)
    status = child.wait()
    print(f"human: asked {counts['touches']} touches, {counts['re-inserts']} re-inserts",
          file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
