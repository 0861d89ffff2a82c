"""The APDU log of one key: instruction, status word and sizes of every exchange, never data.

In-process it is a list; in the bridge process each record is also appended as one JSON line to
a file, so a test or a benchmark in another process can count APDUs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .apdu import Command


@dataclass(frozen=True)
class ApduRecord:
    number: int
    time: float
    applet: str
    cla: int | None
    ins: int | None
    p1: int | None
    p2: int | None
    command_bytes: int
    response_bytes: int
    sw: int

    @property
    def ins_name(self) -> str:
        return f"{self.ins:02X}" if self.ins is not None else "??"


@dataclass
class ApduLog:
    path: Path | None = None
    records: list[ApduRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def count(self) -> int:
        return len(self.records)

    def record(
        self, applet: str, command: Command | None, apdu: bytes, answer: bytes, sw: int
    ) -> None:
        header = (command.cla, command.ins, command.p1, command.p2) if command else (None,) * 4
        with self._lock:
            entry = ApduRecord(self.count + 1, time.time(), applet, *header, len(apdu),
                               len(answer), sw)
            self.records.append(entry)
            if self.path is not None:
                self._append(json.dumps(asdict(entry)) + "\n")

    def _append(self, line: str) -> None:
        """The control folder may be shared: never follow a link planted at the log's name
        (OSError instead), and a new log is the owner's only."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(self.path, flags, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write(line)

    def instructions(self) -> list[int | None]:
        return [record.ins for record in self.records]

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


def read_log(path: Path) -> list[ApduRecord]:
    """Reads a log file written by a key in another process."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ApduRecord(**json.loads(line)) for line in lines if line.strip()]
