"""The security review's trials as one script: prints "trials, failures" for each kind.

    .venv/bin/python bench/stress.py [--quick] [--seed N] [--only NAME ...]

Every trial runs the installed `hwotp` (or its parsers, for the in-process fuzzing) as a user
would, against throwaway vaults in a temporary folder, with its own key cache and no real
pcscd; the virtual YubiKeys of tests/virtualkey stand in for keys. It reuses the tests' helpers
(tests/ is put on sys.path): the vault-format fixtures, the image generators, the key rig.

- kill9: `hwotp` enrol, rename, delete and passphrase change killed with SIGKILL at a random
  moment of their run (half of them in its last third, where the writes are). After each: the
  vault opens with the old or the new passphrase and holds the state before or after the
  command, never anything else; the backup opens; a deleted or replaced secret is in neither
  file once the command completed.
- concurrent: 8 processes each enrolling 10 credentials one after another; 4 processes mixing
  enrol, rename and delete; 4 processes asking for the same HOTP code (every code handed out
  once, the counter counts them all).
- tamper: every bit of a vault flipped (as damage, and deliberately with the trailer
  recomputed), and every truncation: each rejected, by the documented errors only.
- uris: mutated otpauth and migration URIs through the parser in-process (a result or one
  sentence), and through `hwotp enroll --uri ... --dry-run` (a documented exit code, one line).
- images: hostile files through `hwotp enroll --qr ... --dry-run` (header bombs, a real
  10000x10000 PNG, a FIFO, a device, a folder, random bytes) and the largest screenshots read,
  each with its peak memory (wait4) and time; a bomb must not cost more than the bounds below.
- keypull: a virtual key pulled after every APDU of an enrolment and of `hwotp code NAME`: one
  sentence, exit 12, and after re-plugging the key works and any credential on it gives
  pyotp's code. Needs pcscd and vsmartcard-vpcd (scripts/setup.sh); else reported as skipped.
- network: the main commands under `strace -f -e trace=network` (an audit hook when strace is
  missing): no socket but AF_UNIX (pcscd's) is ever created.

Exit status 1 if any trial failed. `--quick` runs a few trials of each (the test suite runs it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

HWOTP = str(Path(sys.executable).with_name("hwotp"))
PASSPHRASES = ("stress test passphrase one", "stress test passphrase two")
SAMPLE = ROOT / "examples" / "mfa-setup-page.png"
PEAK_BOUND_MB = 400  # what an image may cost at most (the 36 MP limit costs about 300 MB)
TIME_BOUND_S = 20.0


@dataclass
class Figures:
    name: str
    trials: int = 0
    failures: int = 0
    note: str = ""

    def check(self, passed: bool, why: str = "") -> None:
        self.trials += 1
        if not passed:
            self.failures += 1
            if why:
                print(f"  FAILED {self.name}: {why}", file=sys.stderr, flush=True)

    def line(self) -> str:
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<24} {self.trials:>7} trials, {self.failures} failures{note}"


# --- running hwotp --------------------------------------------------------------------------------


def hwotp_env(work: Path, vault: Path | None = None, **extra: str) -> dict[str, str]:
    """The user's environment without hwotp's variables, a private cache, and no pcscd but the
    one a trial starts (a pcscd on this machine is never asked)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HWOTP_", "PCSCLITE_"))}
    env["HWOTP_CACHE_DIR"] = str(work / "cache")
    env["PCSCLITE_CSOCK_NAME"] = str(work / "no-pcscd.comm")
    if vault is not None:
        env["HWOTP_VAULT"] = str(vault)
    return {**env, **extra}


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([HWOTP, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_sentence(stderr: str) -> bool:
    """A failure is reported as one `hwotp:` line (notes may come before it), no traceback."""
    lines = [line for line in stderr.splitlines() if line.startswith("hwotp: ")]
    errors = [line for line in lines if not line.startswith("hwotp: warning:")]
    return len(errors) == 1 and "Traceback" not in stderr


def secret_for(number: int) -> str:
    return base64.b32encode(hashlib.sha256(f"stress {number}".encode()).digest()[:20]).decode()


def totp_uri(issuer: str, number: int) -> str:
    return f"otpauth://totp/{issuer}:acct?secret={secret_for(number)}&issuer={issuer}"


# --- reading a vault as the trials see it ---------------------------------------------------------


class VaultReader:
    """Opens vault files with either passphrase, deriving each slot's key once."""

    def __init__(self) -> None:
        self._keks: dict[tuple, bytes] = {}

    def _derive(self, passphrase: str, slot) -> bytes:
        from hwotp.vault import format as fmt

        key = (passphrase, slot.salt, slot.n, slot.r, slot.p)
        if key not in self._keks:
            self._keks[key] = fmt.scrypt_kek(passphrase, slot)
        return self._keks[key]

    def open(self, path: Path) -> tuple[int, dict[str, bytes]]:
        """(index of the passphrase that opens it, name -> secret); raises if neither does."""
        from hwotp.errors import WrongPassphraseError
        from hwotp.vault import format as fmt

        envelope = fmt.parse(path.read_bytes())
        for index, passphrase in enumerate(PASSPHRASES):
            try:
                master_key, _ = fmt.open_master_key(envelope, passphrase, self._derive)
            except WrongPassphraseError:
                continue
            payload = fmt.decrypt(envelope, master_key)
            return index, {c.name: c.secret for c in payload.credentials}
        raise WrongPassphraseError("neither passphrase opens it")


# --- kill -9 --------------------------------------------------------------------------------------


def kill9(work: Path, trials: int, rng: random.Random) -> Figures:
    figures = Figures("kill9")
    vault = work / "kill" / "vault.hwotp"
    reader = VaultReader()
    env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[0])
    if run(["enroll", "--in-vault", "--uri", totp_uri("Base", 0)], env).returncode:
        figures.check(False, "the first enrolment failed")
        return figures
    state = reader.open(vault)
    durations: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    for _ in range(trials):
        op, args, extra, after = _next_operation(state, rng)
        env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[state[0]], **extra)
        old_temps = set(vault.parent.glob(f".{vault.name}*.tmp"))
        started = time.monotonic()
        proc = subprocess.Popen([HWOTP, *args], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _kill_at_a_moment(proc, rng, durations.get(op), lambda old=old_temps: set(
            vault.parent.glob(f".{vault.name}*.tmp")) - old)
        proc.wait()
        stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode == 0:
            durations.setdefault(op, []).append(time.monotonic() - started)
        why = _kill_problem(reader, vault, state, after, proc.returncode, stderr)
        figures.check(why is None, f"{op}: {why}")
        try:
            state = reader.open(vault)
        except Exception as error:  # already counted; stop rather than cascade
            figures.check(False, f"the vault no longer opens ({type(error).__name__})")
            break
        outcome = "completed" if proc.returncode == 0 else (
            "killed, change landed" if state == after else "killed, vault as before")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    figures.note = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
    return figures


def _kill_at_a_moment(proc: subprocess.Popen, rng: random.Random, durations: list[float] | None,
                      new_temp_files: Callable[[], set[Path]]) -> None:
    """SIGKILL `proc` at one of three kinds of moment: any time in its run, in the last third
    (where it writes), or the moment a new temporary file shows it is writing (plus up to
    4 ms). The first run of each command is not killed: it measures how long the command
    takes."""
    if not durations:
        proc.wait()
        return
    typical = statistics.median(durations)
    kind = rng.choice(["anytime", "late", "writing"])
    if kind != "writing":
        low = 0.0 if kind == "anytime" else typical * 2 / 3
        try:
            proc.wait(timeout=rng.uniform(low, typical * 1.2))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        return
    while proc.poll() is None and not new_temp_files():
        time.sleep(0.0002)
    time.sleep(rng.uniform(0, 0.004))
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)


def _next_operation(state: tuple[int, dict[str, bytes]], rng: random.Random):
    """A command for the current state, and the state it leads to when it completes."""
    passphrase, names = state
    kept = [name for name in names if name.startswith("K")]
    renamed = [name for name in names if name.startswith("R")]
    choice = rng.choice(["enroll", "enroll", "rename", "delete", "passphrase"])
    if choice == "rename" and kept:
        name = rng.choice(kept)
        new = "R" + name[1:]
        after = {new if n == name else n: s for n, s in names.items()}
        return "rename", ["rename", name, new], {}, (passphrase, after)
    if choice == "delete" and (kept or renamed):
        name = rng.choice(kept + renamed)
        after = {n: s for n, s in names.items() if n != name}
        return "delete", ["delete", name, "--force"], {}, (passphrase, after)
    if choice == "passphrase":
        new = PASSPHRASES[1 - passphrase]
        return "passphrase", ["vault", "passphrase"], {"HWOTP_NEW_PASSPHRASE": new}, (
            1 - passphrase, dict(names))
    number = rng.randrange(1, 10**6)
    name = f"K{number}:acct"
    after = {**names, name: base64.b32decode(secret_for(number))}
    uri = totp_uri(f"K{number}", number)
    return "enroll", ["enroll", "--in-vault", "--uri", uri], {}, (passphrase, after)


def _kill_problem(reader: VaultReader, vault: Path, before, after, status: int,
                  stderr: str) -> str | None:
    if status not in (0, -signal.SIGKILL):
        return f"exit {status}: {stderr.strip()[-200:]}"
    try:
        now = reader.open(vault)
    except Exception as error:
        return f"the vault does not open after the kill ({type(error).__name__})"
    if now not in (before, after):
        return "the vault holds neither the state before nor the one after"
    if status == 0 and now != after:
        return "the command completed but its change is missing"
    backup = vault.with_name(vault.name + ".bak")
    if backup.exists():
        try:
            _, kept = reader.open(backup)
        except Exception as error:
            return f"the backup does not open ({type(error).__name__})"
        dropped = set(before[1].values()) - set(after[1].values())
        if now == after and dropped & set(kept.values()):
            return "a removed secret is still in the backup"
    return None


# --- concurrent writers ---------------------------------------------------------------------------


def concurrent(work: Path, writers: int, each: int, mixers: int, hotp_askers: int,
               asks: int) -> Figures:
    figures = Figures("concurrent")
    reader = VaultReader()
    folder = work / "concurrent"
    # Enrolments only: every one must be in the vault at the end.
    vault = folder / "enrol" / "vault.hwotp"
    env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[0])
    run(["enroll", "--in-vault", "--uri", totp_uri("Base", 0)], env)

    def enrol(writer: int) -> list[int]:
        return [
            run(["enroll", "--in-vault", "--uri", totp_uri(f"W{writer}x{n}", 1000 * writer + n)],
                env).returncode
            for n in range(each)
        ]

    statuses = _in_threads(enrol, range(writers))
    names = set(reader.open(vault)[1])
    for writer, codes in enumerate(statuses):
        for n, status in enumerate(codes):
            figures.check(status == 0 and f"W{writer}x{n}:acct" in names,
                          f"enrol W{writer}x{n}: exit {status}")
    # A mix: enrol A, rename it to B, delete B, enrol C; only the Cs remain.
    vault = folder / "mix" / "vault.hwotp"
    env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[0])
    run(["enroll", "--in-vault", "--uri", totp_uri("Base", 0)], env)

    def mix(worker: int) -> list[int]:
        return [
            run(["enroll", "--in-vault", "--uri", totp_uri(f"A{worker}", worker)], env).returncode,
            run(["rename", f"A{worker}:acct", f"B{worker}:acct"], env).returncode,
            run(["delete", f"B{worker}:acct", "--force"], env).returncode,
            run(["enroll", "--in-vault", "--uri", totp_uri(f"C{worker}", 100 + worker)],
                env).returncode,
        ]

    statuses = _in_threads(mix, range(mixers))
    names = set(reader.open(vault)[1])
    expected = {"Base:acct"} | {f"C{worker}:acct" for worker in range(mixers)}
    for worker, codes in enumerate(statuses):
        for step, status in enumerate(codes):
            figures.check(status == 0, f"mix {worker} step {step}: exit {status}")
    figures.check(names == expected, f"after the mix the vault holds {sorted(names)}")
    # HOTP: every code handed out once, in counter order, and the counter counts them all.
    vault = folder / "hotp" / "vault.hwotp"
    env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[0])
    secret = secret_for(7)
    run(["enroll", "--in-vault", "--uri", f"otpauth://hotp/Counter:acct?secret={secret}"], env)

    def ask(_: int) -> list[str]:
        codes = []
        for _ in range(asks):
            done = run(["code", "Counter:acct", "--json"], env)
            codes.append(json.loads(done.stdout)[0]["code"] if done.returncode == 0 else "")
        return codes

    import pyotp

    handed = [code for codes in _in_threads(ask, range(hotp_askers)) for code in codes]
    total = hotp_askers * asks
    reference = {pyotp.HOTP(secret).at(counter) for counter in range(1, total + 1)}
    for code in handed:
        figures.check(code in reference, "an HOTP code outside the expected counters")
    figures.check(len(set(handed)) == total, "an HOTP code was handed out twice")
    figures.note = (f"{writers} x {each} enrols, {mixers} x 4 mixed, {hotp_askers} x {asks} HOTP")
    return figures


def _in_threads(work: Callable[[int], list], items: Iterable[int]) -> list[list]:
    results: dict[int, list] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, work(i)))
               for i in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in sorted(results)]


# --- tampered vault files -------------------------------------------------------------------------


def tamper(step: int) -> Figures:
    """Every `step`-th bit (1: all) flipped, plain and with the trailer recomputed, and every
    `step`-th truncation: the fixtures and helpers of tests/test_vault_format.py."""
    from test_vault_format import PASSPHRASE as FORMAT_PASSPHRASE
    from test_vault_format import REJECTED, Small, _body, _flipped, _open, _with_trailer

    figures = Figures("tamper")
    small = Small()
    body = _body(small.data)

    def rejected(data: bytes) -> bool:
        try:
            _open(data, FORMAT_PASSPHRASE, small.derive)
        except REJECTED:
            return True
        except Exception as error:
            print(f"  FAILED tamper: {type(error).__name__}", file=sys.stderr)
            return False
        return False

    for bit in range(0, len(small.data) * 8, step):
        figures.check(rejected(_flipped(small.data, bit)), f"flip of bit {bit} accepted")
    for bit in range(0, len(body) * 8, step):
        figures.check(rejected(_with_trailer(_flipped(body, bit))),
                      f"deliberate flip of bit {bit} accepted")
    for length in range(0, len(small.data), step):
        figures.check(rejected(small.data[:length]), f"truncation to {length} accepted")
    figures.note = f"a {len(small.data)}-byte vault; every {step} bit(s)" if step > 1 else (
        f"a {len(small.data)}-byte vault, every bit and length")
    return figures


# --- fuzzed URIs ----------------------------------------------------------------------------------


def fuzzed_uris(count: int, rng: random.Random) -> Iterable[str]:
    """Real-looking otpauth and migration URIs (tests/qrimages.py), then mutated."""
    import qrimages

    pieces = ["%", "%0", "%zz", "%00", "&", "=", "?", ":", "/", "#", "secret=", "digits=99",
              "period=0", "algorithm=MD5", "counter=-1", "\x00", "\u202e", "é", "%C3", "+", " "]
    for _ in range(count):
        uri = qrimages.migration_uri(rng) if rng.random() < 0.2 else qrimages.otpauth_uri(rng)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(uri) + 1)
            kind = rng.random()
            if kind < 0.4:
                uri = uri[:at] + rng.choice(pieces) + uri[at:]
            elif kind < 0.7:
                uri = uri[:at] + uri[at + rng.randint(1, 8):]
            elif kind < 0.9:
                uri = uri[:at] + chr(rng.randrange(0x20, 0x2FF)) + uri[at + 1:]
            else:
                uri = uri[:at] + uri[at:][::-1]
        yield uri


def uris(work: Path, in_process: int, through_cli: int, rng: random.Random) -> list[Figures]:
    from hwotp.errors import InputError
    from hwotp.formats.payload import read_payload

    inside = Figures("uris-in-process")
    for uri in fuzzed_uris(in_process, rng):
        try:
            read_payload(uri)
            inside.check(True)
        except InputError as refusal:
            inside.check("\n" not in str(refusal), "a refusal of more than one line")
        except Exception as error:
            inside.check(False, f"{type(error).__name__} for a fuzzed URI")
    cli = Figures("uris-cli")
    env = hwotp_env(work, work / "uris" / "vault.hwotp")
    for uri in fuzzed_uris(through_cli, rng):
        uri = uri.replace("\x00", "")  # a command line cannot carry a NUL byte
        done = run(["enroll", "--dry-run", "--uri", uri], env)
        fine = done.returncode == 0 or (done.returncode in (2, 3) and one_sentence(done.stderr))
        cli.check(fine, f"exit {done.returncode}: {done.stderr.strip()[-160:]}")
    return [inside, cli]


# --- hostile images -------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _png_chunk(b"IEND", b""))


def real_blank_png(path: Path, width: int, height: int) -> None:
    """A real, complete RGBA PNG of transparent pixels, written row by row (the review's
    389 KB file at 10000x10000) without holding it in memory."""
    squeeze = zlib.compressobj(9)
    row = b"\0" + b"\0" * (width * 4)
    parts = [squeeze.compress(row) for _ in range(height)]
    data = b"".join(parts) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def screen_with_code(path: Path, size: tuple[int, int], text: str) -> None:
    from PIL import Image

    import qrimages

    screen = Image.new("RGBA", size, (0, 0, 0, 0))
    screen.paste(qrimages.qr_image(text, 4).convert("RGBA"), (size[0] // 2, size[1] // 3))
    screen.save(path, compress_level=1)


def images(work: Path, quick: bool, rng: random.Random) -> Figures:
    figures = Figures("images")
    folder = work / "images"
    folder.mkdir(parents=True)
    uri = totp_uri("Screen", 1)
    cases: list[tuple[str, Path, int]] = []

    def add(name: str, data: bytes | None, expected: int) -> Path:
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        cases.append((name, path, expected))
        return path

    add("claims-100000x100000.png", png_claiming(100_000, 100_000), 3)
    add("claims-8000x5000.png", png_claiming(8_000, 5_000), 3)  # Pillow's warning band
    add("claims-10000x10000.jpg", jpeg_claiming(10_000, 10_000), 3)
    add("too-wide-20000x1000.png", png_claiming(20_000, 1_000), 3)
    real_blank_png(add("real-10000x10000.png", None, 3), 10_000, 10_000)
    os.mkfifo(add("fifo.png", None, 3))
    add("folder", None, 3).mkdir()
    cases.append(("/dev/zero", Path("/dev/zero"), 3))
    for number in range(3 if quick else 40):
        head = rng.choice([b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0",
                           b"GIF89a", b"BM", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBPVP8 "])
        add(f"random-{number}.img", head + rng.randbytes(rng.randrange(0, 4000)), 3)
    screen_with_code(add("screen-5120x2880.png", None, 0), (5120, 2880), uri)
    if not quick:
        screen_with_code(add("screen-7680x4320.png", None, 0), (7680, 4320), uri)
        real_blank_png(add("blank-6000x6000.png", None, 3), 6_000, 6_000)  # at the limit
    env = hwotp_env(work, work / "images" / "vault.hwotp")
    peaks = []
    for name, path, expected in cases:
        status, stderr, seconds, peak_mb = _measured([HWOTP, "enroll", "--dry-run", "--qr",
                                                       str(path)], env)
        peaks.append((peak_mb, name))
        fine = status == expected and (expected == 0 or one_sentence(stderr))
        figures.check(fine and peak_mb <= PEAK_BOUND_MB and seconds <= TIME_BOUND_S,
                      f"{name}: exit {status}, {peak_mb:.0f} MB, {seconds:.1f} s, "
                      f"{stderr.strip()[-160:]}")
    top, which = max(peaks)
    figures.note = f"peak {top:.0f} MB ({which}); bound {PEAK_BOUND_MB} MB, {TIME_BOUND_S:.0f} s"
    return figures


def _measured(args: list[str], env: dict[str, str]) -> tuple[int, str, float, float]:
    """Exit status, stderr, seconds and peak resident memory (MB) of one process. Through GNU
    time where it is installed: a child forked from this (large) process would otherwise
    carry this process's high-water mark across its exec."""
    timer_tool = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists()
                                          else None)
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w+") as errors, tempfile.NamedTemporaryFile("w+") as peak:
        command = [timer_tool, "-f", "%M", "-o", peak.name, *args] if timer_tool else args
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors, text=True)
        timer = threading.Timer(TIME_BOUND_S + 10, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        seconds = time.monotonic() - started
        errors.seek(0)
        stderr = errors.read()
        peak.seek(0)
        kilobytes = peak.read().strip().splitlines()[-1:] if timer_tool else []
    peak_kb = int(kilobytes[0]) if kilobytes and kilobytes[0].isdigit() else usage.ru_maxrss
    return os.waitstatus_to_exitcode(status), stderr, seconds, peak_kb / 1024


# --- a key pulled after every APDU ----------------------------------------------------------------


def keypull(work: Path, quick: bool) -> Figures:
    figures = Figures("keypull")
    if not (shutil.which("pcscd") or Path("/usr/sbin/pcscd").exists()):
        figures.note = "skipped: pcscd is not installed"
        return figures
    from hwotp.errors import ExitCode
    from virtualkey.key import KeyConfig
    from virtualkey.rig import KeyRig

    serial = 10000001
    (work / "rig").mkdir()
    rig = KeyRig(work / "rig", [KeyConfig(serial=serial)])
    rig.start()
    try:
        os.environ.update(rig.env())  # this process's own pyscard (re-plug checks) too
        from helpers.keys import replug

        env = hwotp_env(work, work / "keypull" / "vault.hwotp")
        env.update(rig.env())
        key = rig.key(serial)
        uri = totp_uri("Pulled", 3)
        name = "Pulled:acct"

        def on_key() -> dict[str, str]:
            done = run(["code", name, "--no-vault", "--json"], env)
            if done.returncode == ExitCode.NOT_FOUND:
                return {}
            return {item["name"]: item["code"] for item in json.loads(done.stdout or "[]")}

        def pulled_trial(args: list[str], n: int, what: str) -> None:
            key.faults.pull_after = key.log.count + n - 1  # APDU n never arrives
            done = run(args, env)
            sentence = done.returncode == 12 and one_sentence(done.stderr)
            if done.returncode == 0:
                # The command needed fewer APDUs than the run that counted them (a code near the
                # end of its period also asks for the next one): it must have printed a right code.
                key.faults.pull_after = None
                printed = done.stdout.split()
                sentence = what == "code" and any(code in printed for code in _pyotp_codes(3))
            replug(rig, serial)
            codes = on_key()
            good = all(code in _pyotp_codes(3) for code in codes.values())
            figures.check(sentence and good, f"{what} APDU {n}: exit {done.returncode}, "
                          f"{done.stderr.strip()[-160:]}, on the key {codes}")

        run(["keys"], env)  # the serial is cached, as after a user's first command
        before = key.log.count
        enrolled = run(["enroll", "--no-touch", "--uri", uri, "--no-vault"], env)
        figures.check(enrolled.returncode == 0, f"the clean enrol failed: {enrolled.stderr}")
        enrol_apdus = key.log.count - before
        run(["delete", name, "--force", "--no-vault"], env)
        for n in _chosen(enrol_apdus, quick):
            pulled_trial(["enroll", "--no-touch", "--uri", uri, "--no-vault"], n, "enrol")
            run(["delete", name, "--force", "--no-vault"], env)
        run(["enroll", "--no-touch", "--uri", uri, "--no-vault"], env)
        before = key.log.count
        run(["code", name, "--no-vault"], env)
        code_apdus = key.log.count - before
        for n in _chosen(code_apdus, quick):
            pulled_trial(["code", name, "--no-vault"], n, "code")
        figures.note = f"{enrol_apdus} APDUs an enrol, {code_apdus} a code"
    finally:
        rig.stop()
    return figures


def _chosen(apdus: int, quick: bool) -> list[int]:
    every = list(range(1, apdus + 1))
    return sorted({1, apdus}) if quick else every


def _pyotp_codes(number: int) -> set[str]:
    """pyotp's code now and in the step before (the command ran a moment ago)."""
    import pyotp

    totp, now = pyotp.TOTP(secret_for(number)), time.time()
    return {totp.at(now), totp.at(now - 30)}


# --- network --------------------------------------------------------------------------------------


def network(work: Path) -> Figures:
    figures = Figures("network")
    vault = work / "network" / "vault.hwotp"
    env = hwotp_env(work, vault, HWOTP_PASSPHRASE=PASSPHRASES[0],
                    HWOTP_NEW_PASSPHRASE=PASSPHRASES[1])
    commands = [
        ["enroll", "--in-vault", "--qr", str(SAMPLE)],
        ["list"],
        ["code"],
        ["code", "example"],
        ["rename", "example", "Renamed:me"],
        ["enroll", "--in-vault", "--uri", totp_uri("Other", 5)],
        ["delete", "Other:acct", "--force"],
        ["vault", "passphrase"],
        ["doctor"],
    ]
    strace = shutil.which("strace")
    vault.parent.mkdir(parents=True)
    for args in commands:
        if strace:
            log = work / "network" / "strace.log"
            done = subprocess.run([strace, "-f", "-qq", "-e", "trace=network", "-o", str(log),
                                   HWOTP, *args], env=env, capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL)
            calls = log.read_text()
            opened = re.findall(r"socket\((AF_\w+)", calls)
        else:
            done, opened = _audited(args, env)
        if args[:2] == ["vault", "passphrase"]:  # the passphrase is now the second one
            env["HWOTP_PASSPHRASE"], env["HWOTP_NEW_PASSPHRASE"] = PASSPHRASES[1], PASSPHRASES[0]
        expected = (0, 16) if args == ["doctor"] else (0,)  # doctor: no pcscd here
        foreign = [family for family in opened if family != "AF_UNIX"]
        figures.check(done.returncode in expected and not foreign,
                      f"{' '.join(args[:2])}: exit {done.returncode}, sockets {opened}")
    figures.note = "strace -f -e trace=network" if strace else "audit hook (no strace)"
    return figures


def _audited(args: list[str], env: dict[str, str]):
    probe = (
        "import socket, sys\n"
        "opened = []\n"
        "def hook(event, details):\n"
        "    if event == 'socket.__new__':\n"
        "        opened.append(socket.AddressFamily(details[1]).name)\n"
        "sys.addaudithook(hook)\n"
        "import atexit\n"
        "atexit.register(lambda: print('SOCKETS', *opened, file=sys.stderr))\n"
        "from hwotp.cli.root import main\n"
        "sys.argv = ['hwotp', *sys.argv[1:]]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    line = next((line for line in done.stderr.splitlines() if line.startswith("SOCKETS")), "")
    return done, line.split()[1:]


# --- main -----------------------------------------------------------------------------------------


SECTIONS = ["kill9", "concurrent", "tamper", "uris", "images", "keypull", "network"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few trials of each kind")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    options = parser.parse_args()
    quick = options.quick
    rng = random.Random(options.seed)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="hwotp-stress-") as folder:
        work = Path(folder)
        runs: dict[str, Callable[[], Figures | list[Figures]]] = {
            "kill9": lambda: kill9(work, 8 if quick else 240, rng),
            "concurrent": lambda: concurrent(
                work, *((3, 2, 2, 2, 2) if quick else (8, 10, 4, 4, 5))
            ),
            "tamper": lambda: tamper(53 if quick else 1),
            "uris": lambda: uris(work, 2000 if quick else 250_000, 4 if quick else 200, rng),
            "images": lambda: images(work, quick, rng),
            "keypull": lambda: keypull(work, quick),
            "network": lambda: network(work),
        }
        print(f"hwotp stress ({'quick' if quick else 'full'} run, seed {options.seed})")
        for name in options.only:
            started = time.monotonic()
            results = runs[name]()
            for figures in results if isinstance(results, list) else [results]:
                failures += figures.failures
                print(f"{figures.line()}  [{time.monotonic() - started:.0f} s]", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
