"""hwotp as a user runs it, the installed console script, and other Python processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.samples import PASSPHRASE

# A sitecustomize module for the installed script: where HWOTP_TEST_CLOCK_FILE is set, hwotp
# computes codes for the time written in that file.
CLOCK_HOOK = """\
import os
_file = os.environ.get("HWOTP_TEST_CLOCK_FILE")
if _file:
    import hwotp.cli.app

    def _clock():
        with open(_file) as source:
            return float(source.read())

    hwotp.cli.app.clock = _clock
"""


def hwotp_script() -> str:
    script = shutil.which("hwotp", path=str(Path(sys.executable).parent))
    assert script, "the hwotp console script is not installed next to this Python"
    return script


def run_hwotp(*args: str, env: dict[str, str] | None = None, **options: Any):
    """`hwotp ARGS` as a user runs it; output captured as text unless told otherwise."""
    if "stdout" not in options:
        options["capture_output"] = True
    return subprocess.run([hwotp_script(), *args], env=env, text=True, timeout=120, **options)


def vault_env(vault: Path, **extra: str) -> dict[str, str]:
    """This environment without any HWOTP_ setting but the test's own config file and key
    cache (never the user's), plus a throwaway vault and its passphrase."""
    kept = ("HWOTP_CONFIG", "HWOTP_CACHE_DIR")
    base = {k: v for k, v in os.environ.items() if not k.startswith("HWOTP_") or k in kept}
    return {**base, "HWOTP_VAULT": str(vault), "HWOTP_PASSPHRASE": PASSPHRASE, **extra}


def run_in_python(code: str, *args: str, env: dict[str, str] | None = None):
    """`python -c CODE ARGS` in this environment (plus `env`), output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def processes_mentioning(text: str) -> list[str]:
    """The command lines of the running processes that contain `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in arguments:
            found.append(arguments)
    return found
