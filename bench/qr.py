"""QR decoding bench: hwotp.inputs.qr.decode_file against zbarimg on the tests/qrimages.py set.

    .venv/bin/python bench/qr.py [--seed N] [--keep DIR]

Each image is written to a temporary folder (PNG, or the JPEG bytes for JPEG cases), then read
back from the file, as a user would hand it over:

- hwotp: `hwotp.inputs.qr.decode_file(path)` in this process, timed per call after one warm-up call
  (so the one-off import of zxing-cpp is not counted);
- zbarimg: `zbarimg --raw -q path` as shipped (all symbologies on, no binary mode; it also tries
  D-Bus), timed as a whole process, as a user would run it.

Two more lines for context, not for the targets: `decode_image` on pixels already in memory
(the decoders alone, no file reading), and `decode_file` in a new Python process (what a
command-line user waits for: interpreter start, imports, file, decoding).

A result is correct when it holds exactly the expected texts; wrong when it holds any other
text (garbled, a 1-D barcode, a phantom); missed otherwise. Exit status 0 whatever the figures:
this is a measurement.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import qrimages  # noqa: E402 - lives with the tests
from hwotp.errors import InputError  # noqa: E402
from hwotp.inputs import qr  # noqa: E402

TARGET_READ = 0.99
TARGET_SPEED = 1 / 5
T = TypeVar("T")

# What a command-line user would run, minus click: a new interpreter per image.
PROCESS = """
import sys
from hwotp.errors import InputError
from hwotp.inputs.qr import decode_file
try:
    for text in decode_file(sys.argv[1]):
        print(text)
except InputError:
    pass
"""


@dataclass
class Tally:
    """Outcomes and times of one decoder over the set."""

    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    times: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def add(self, case: qrimages.Case, got: list[str], seconds: float) -> None:
        outcome = judge(case.expected, got)
        self.outcomes[outcome] += 1
        self.by_category[case.category][outcome] += 1
        self.times.append(seconds * 1000)
        if outcome == "wrong":
            extra = [text for text in got if text not in case.expected]
            self.wrong.append(f"{case.name}: {extra[0][:60]!r}")

    def median(self) -> float:
        return statistics.median(self.times)

    def p95(self) -> float:
        return statistics.quantiles(self.times, n=20, method="inclusive")[-1]


def judge(expected: list[str], got: list[str]) -> str:
    if any(text not in expected for text in got):
        return "wrong"
    return "correct" if sorted(got) == sorted(expected) else "missed"


def hwotp_decode(path: Path) -> list[str]:
    try:
        return qr.decode_file(path)
    except InputError:
        return []


def image_decode(case: qrimages.Case) -> list[str]:
    try:
        return qr.decode_image(case.image)
    except InputError:
        return []


def process_decode(path: Path) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROCESS, path], capture_output=True, check=True)
    return done.stdout.decode("utf-8").splitlines()


def zbarimg_decode(path: Path) -> list[str]:
    done = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, check=False)
    if done.returncode not in (0, 4):  # 4: no symbol found
        raise RuntimeError(f"zbarimg failed on {path}: {done.stderr.decode(errors='replace')}")
    # --raw ends every symbol with a newline; what the bytes are is zbar's guess, not ours.
    return done.stdout.decode("utf-8", errors="replace").splitlines()


def timed(decode: Callable[[T], list[str]], arg: T) -> tuple[list[str], float]:
    start = time.perf_counter()
    got = decode(arg)
    return got, time.perf_counter() - start


def run(seed: int, folder: Path) -> tuple[list[Tally], int]:
    start = time.perf_counter()
    cases = qrimages.make_set(seed)
    print(f"{len(cases)} images generated in {time.perf_counter() - start:.1f} s (seed {seed})\n")
    paths = [case.write(folder) for case in cases]
    hwotp_decode(paths[0])  # warm-up: zxing-cpp's import is not what is measured
    hwotp, zbar = Tally("hwotp decode_file"), Tally("zbarimg")
    memory, process = Tally("(hwotp in memory)"), Tally("(hwotp new process)")
    order_errors = 0
    for case, path in zip(cases, paths, strict=True):
        got, seconds = timed(hwotp_decode, path)
        hwotp.add(case, got, seconds)
        order_errors += judge(case.expected, got) == "correct" and got != case.expected
        zbar.add(case, *timed(zbarimg_decode, path))
        memory.add(case, *timed(image_decode, case))
        process.add(case, *timed(process_decode, path))
    return [hwotp, zbar, memory, process], order_errors


def report(tallies: list[Tally], order_errors: int) -> None:
    hwotp, zbar = tallies[:2]
    print(f"{'decoder':<22}{'correct':>8}{'wrong':>7}{'missed':>8}{'median ms':>11}{'p95 ms':>9}")
    for t in tallies:
        o = t.outcomes
        print(
            f"{t.name:<22}{o['correct']:>8}{o['wrong']:>7}{o['missed']:>8}"
            f"{t.median():>11.1f}{t.p95():>9.1f}"
        )
    print(
        "\nmedian, hwotp / zbarimg: "
        + ", ".join(f"{t.median() / zbar.median():.2f} {t.name}" for t in tallies if t is not zbar)
    )
    print(f"hwotp results in the wrong reading order: {order_errors}")
    print(f"\n{'category':<13}" + "".join(f"{t.name.strip('()')[:18]:>20}" for t in tallies))
    for category in hwotp.by_category:
        counts = [t.by_category[category] for t in tallies]
        print(
            f"{category:<13}"
            + "".join(f"{c['correct']:>14}/{c['wrong']}/{c['missed']}" for c in counts)
        )
    print(f"{'':<13}{'(correct/wrong/missed)':>40}")
    for t in tallies:
        if t.wrong:
            print(f"\n{t.name}, wrong texts:\n" + "\n".join(f"  {line}" for line in t.wrong))
    targets(hwotp, zbar, tallies[2])


def targets(hwotp: Tally, zbar: Tally, memory: Tally) -> None:
    read = hwotp.outcomes["correct"] / sum(hwotp.outcomes.values())
    wrong = hwotp.outcomes["wrong"]
    print("\ntargets:")
    print(
        f"  hwotp reads >= 99 % with no wrong text: {read:.1%} read, {wrong} wrong"
        f" -> {'met' if read >= TARGET_READ and not wrong else 'NOT met'}"
    )
    # The speed target came from device-protocols.md, which timed the decoders on images in
    # memory against the zbarimg command; from a file, PNG inflation alone costs ~20 ms.
    for basis, tally in (("decoder on the image", memory), ("from the file", hwotp)):
        speed = tally.median() / zbar.median()
        print(
            f"  hwotp median <= 1/5 of zbarimg's, {basis}: {tally.median():.1f} ms vs"
            f" {zbar.median():.1f} ms = 1/{1 / speed:.1f}"
            f" -> {'met' if speed <= TARGET_SPEED else 'NOT met'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the images here and keep them")
    args = parser.parse_args()
    if not shutil.which("zbarimg"):
        print("zbarimg is not installed (apt install zbar-tools)", file=sys.stderr)
        return 1
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        tallies, order_errors = run(args.seed, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="hwotp-qr-bench-") as folder:
            tallies, order_errors = run(args.seed, Path(folder))
    report(tallies, order_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
