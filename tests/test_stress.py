"""bench/stress.py --quick: a few trials of each of the review's kinds, none may fail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

STRESS = Path(__file__).parents[1] / "bench" / "stress.py"
KINDS = ["kill9", "concurrent", "tamper", "uris-in-process", "uris-cli", "images", "keypull",
         "network"]


def test_the_quick_stress_run_has_no_failure() -> None:
    done = subprocess.run([sys.executable, str(STRESS), "--quick"], capture_output=True,
                          text=True, timeout=900)
    lines = {
        match["kind"]: (int(match["trials"]), int(match["failures"]))
        for match in re.finditer(
            r"^(?P<kind>[\w-]+) +(?P<trials>\d+) trials, (?P<failures>\d+) failures",
            done.stdout, re.M,
        )
    }
    assert list(lines) == KINDS, done.stdout + done.stderr
    assert all(trials > 0 for trials, _ in lines.values()), done.stdout
    assert [kind for kind, (_, failures) in lines.items() if failures] == [], done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
