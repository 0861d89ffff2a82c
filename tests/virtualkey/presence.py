"""User presence: one policy per key for OATH touch and FIDO2 presence.

- ``auto``: a touch arrives after ``delay`` seconds.
- ``deny``: no touch ever arrives; the wait ends after ``timeout`` seconds as not present.
- ``signal``: wait up to ``timeout`` seconds for a touch that a test sends with ``touch()``
  (in-process) or by creating the key's touch file (another process: `with-keys`).

As on a real key, a touch counts only while the key waits for one: a touch before the wait
began (an earlier stray one, or a touch file older than the wait) is ignored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

POLICIES = ("auto", "deny", "signal")
POLL_SECONDS = 0.02
# File times may be rounded (coarse clocks, some file systems): a touch file made this little
# before the wait began still counts.
FILE_TIME_SLACK = 0.01


@dataclass
class Presence:
    policy: str = "auto"
    delay: float = 0.0
    timeout: float = 1.0  # a real YubiKey gives up after about 15 s; tests want less
    touch_file: Path | None = None
    _touched: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"presence policy must be one of {', '.join(POLICIES)}")

    def touch(self) -> None:
        """The test's finger: approves the current (or next) wait under the signal policy."""
        self._touched.set()

    def wait(
        self,
        cancelled: Callable[[], bool] = lambda: False,
        waiting: Callable[[], None] = lambda: None,
    ) -> bool:
        """Waits for a touch; True when the user is present. ``waiting`` is called every poll
        (CTAPHID keepalives hang off it); ``cancelled`` ends the wait early as not present."""
        limit = self.delay if self.policy == "auto" else self.timeout
        deadline = time.monotonic() + limit
        self._touched.clear()
        started = time.time()
        while True:
            if self.policy == "signal" and self._take_touch(started):
                return True
            if cancelled():
                return False
            if time.monotonic() >= deadline:
                return self.policy == "auto"
            waiting()
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _take_touch(self, started: float) -> bool:
        if self._touched.is_set():
            self._touched.clear()
            return True
        try:
            made = self.touch_file.stat().st_mtime if self.touch_file else None
        except FileNotFoundError:
            return False
        if made is None:
            return False
        self.touch_file.unlink(missing_ok=True)
        return made >= started - FILE_TIME_SLACK
