"""Shared fixtures: a throwaway vault for the command line, run in-process with a fixed clock,
a key cache of the test's own, and virtual YubiKeys plugged into a private pcscd. Helpers the
test files share are in helpers/."""

from __future__ import annotations

import gc
import inspect
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import helpers.keys
from helpers import realkey
from helpers.cli import Run
from helpers.keys import point_pcsc_link
from helpers.samples import FIXED_TIME, PASSPHRASE
from hwotp.cli.root import cli

# Every PC/SC client of the test run (this process, ykman, hwotp) talks to the private pcscd of
# the test that is running, through this link, and never to a pcscd the machine may have.
# pcsc-lite reads the variable once per process, so it is set before anything loads it.
# --real-key runs use the pcscd the environment names (or the system's), so it is kept first.
SYSTEM_PCSC = realkey.environment_socket()
PCSC_LINK = Path(tempfile.mkdtemp(prefix="hwotp-tests-pcsc-")) / "pcscd.comm"
NO_PCSCD = PCSC_LINK.with_name("no-pcscd-here")
os.environ["PCSCLITE_CSOCK_NAME"] = str(PCSC_LINK)
# The key cache and the vault generations seen go to a folder of the test run, not the user's.
os.environ["HWOTP_CACHE_DIR"] = tempfile.mkdtemp(prefix="hwotp-tests-cache-")
# Nor the user's OS keyring: hwotp recalls remembered OATH passwords from it, and may forget
# them. Tests about the keyring set a backend of their own.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
REAL_KEYS = pytest.StashKey["realkey.RealKeys"]()
USES_FIDO = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--real-key", action="append", type=realkey.serial_argument, default=[], metavar="SERIAL",
        help="run the key tests on this physical YubiKey (twice for two keys); erases its "
             f"OATH and FIDO2, so {realkey.WIPE_VARIABLE} must name the same serial(s)",
    )


def pytest_configure(config: pytest.Config) -> None:
    serials = config.getoption("real_key")
    if not serials:
        return
    try:
        realkey.check_request(serials, os.environ.get(realkey.WIPE_VARIABLE))
        socket = realkey.pcscd_socket(SYSTEM_PCSC)
        realkey.check_pcscd(socket)
        point_pcsc_link(socket)
        found = realkey.check_keys(serials)
        lines = [realkey.erase_line(serial, found[serial]) for serial in serials]
    except realkey.RefusedError as refused:
        raise pytest.UsageError(str(refused)) from None
    finally:
        point_pcsc_link(NO_PCSCD)
    # The test files read the serials of the run's keys from here when they are imported.
    helpers.keys.ONE = serials[0]
    helpers.keys.TWO = serials[-1]
    person = realkey.Person(config)
    for line in lines:
        person.say(line)
    config.stash[REAL_KEYS] = realkey.RealKeys(serials, socket, person)


def pytest_unconfigure(config: pytest.Config) -> None:
    real = config.stash.get(REAL_KEYS, None)
    if real is not None:
        real.person.close()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    real = config.stash.get(REAL_KEYS, None)
    if real is not None:
        touches, reinserts = real.person.touches, real.person.reinserts
        terminalreporter.write_line(
            f"--real-key: asked for {touches} touch{'es' if touches != 1 else ''} and "
            f"{reinserts} re-insert{'s' if reinserts != 1 else ''}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On real keys: only the tests that plug keys, and those a real key can do."""
    if REAL_KEYS not in config.stash:
        return
    selected, deselected = [], []
    for item in items:
        if "plug_keys" not in getattr(item, "fixturenames", ()):
            deselected.append(item)
            continue
        selected.append(item)
        reason = _virtual_only(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
        item.stash[USES_FIDO] = "fido" in (_source(item) + item.nodeid).lower()
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _virtual_only(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("virtual_only")
    if marker is not None:
        return "virtual key only: " + (marker.args[0] if marker.args else "it says so")
    for source in [_source(item), *_fixture_sources(item)]:
        reason = realkey.virtual_only_reason(source) if source else None
        if reason:
            return reason
    return None


def _source(item: pytest.Item) -> str:
    return _source_of(getattr(item, "function", None))


def _fixture_sources(item: pytest.Item) -> list[str]:
    """The fixtures the test files define for themselves (conftest's know both modes)."""
    info = getattr(item, "_fixtureinfo", None)
    sources = []
    for definitions in (info.name2fixturedefs.values() if info else ()):
        function = definitions[-1].func
        if Path(inspect.getfile(function)).name.startswith("test_"):
            sources.append(_source_of(function))
    return sources


def _source_of(function: object) -> str:
    try:
        return inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


@pytest.fixture(autouse=True)
def key_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every hwotp run of a test (in-process or not) remembers keys in the test's own folder,
    and no OATH password comes from the environment the tests were started in."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("HWOTP_CACHE_DIR", str(folder))
    for name in ("HWOTP_OATH_PASSWORD", "HWOTP_NEW_OATH_PASSWORD", "HWOTP_IMPORT_PASSWORD",
                 "HWOTP_EXPORT_PASSWORD", "HWOTP_FIDO2_PIN", "HWOTP_FIDO2_NEW_PIN"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def no_pcscd(tmp_path: Path) -> None:
    """No pcscd unless the test plugs keys: commands use the vault, with one note."""
    point_pcsc_link(tmp_path / "no-pcscd-here")


@pytest.fixture(autouse=True)
def own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config file (key_cache keeps notes out of the user's cache)."""
    monkeypatch.setenv("HWOTP_CONFIG", str(tmp_path / "no-config.toml"))


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vault.hwotp"


@pytest.fixture
def hwotp(vault_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Runs `hwotp ARGS` in-process against a throwaway vault at FIXED_TIME."""
    monkeypatch.setattr("hwotp.cli.app.clock", lambda: FIXED_TIME)

    def run(
        *args: str,
        passphrase: str | None = PASSPHRASE,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Run:
        env = {"HWOTP_VAULT": str(vault_path), "HWOTP_PASSPHRASE": passphrase, **(env or {})}
        result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


class Plugger:
    """What both kinds of plug_keys share: the rigs plugged so far, `current` the last one."""

    rigs: list

    @property
    def current(self):
        if not self.rigs:
            raise RuntimeError("plug keys in first (plug_keys)")
        return self.rigs[-1]


class RealKeyPlugger(Plugger):
    """plug_keys on physical keys (--real-key): no rig of its own; the keys' OATH is reset at
    each plug, FIDO2 when the test uses it and it is not blank (see helpers/realkey.py)."""

    def __init__(self, real: realkey.RealKeys, uses_fido: bool) -> None:
        self.real = real
        self.uses_fido = uses_fido
        self.rigs: list = []

    def __call__(self, *keys, hidraw: bool | None = None):
        for rig in self.rigs:
            rig.release()
        point_pcsc_link(self.real.socket)
        rig = self.real.plug(keys, self.uses_fido)
        self.rigs.append(rig)
        return rig


class KeyPlugger(Plugger):
    """plug_keys(KeyConfig(...) or VirtualKey, ..., hidraw=None) plugs one or two virtual keys
    into a new private pcscd (USB keys' FIDO interfaces also as /dev/hidrawN in the rig's mount
    namespace, see docs/testing.md) and returns the KeyRig; `current` is the last one."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.rigs: list = []

    def __call__(self, *keys, hidraw: bool | None = None):
        from virtualkey.rig import KeyRig

        gc.collect()  # see plug_keys
        for rig in self.rigs:
            rig.stop()
        workdir = self.tmp_path / f"pcscd-{len(self.rigs)}"
        workdir.mkdir()
        rig = KeyRig(workdir, list(keys), control_dir=workdir, hidraw=hidraw)
        self.rigs.append(rig)
        rig.start()
        point_pcsc_link(rig.pcscd.socket_path)
        return rig


@pytest.fixture
def plug_keys(tmp_path: Path, request: pytest.FixtureRequest,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyPlugger]:
    """Everything plugged is torn down after the test, which fails if the virtual key recorded
    a bug of its own."""
    real = request.config.stash.get(REAL_KEYS, None)
    if real is not None:
        yield from _real_plug_keys(real, request, monkeypatch)
        return
    plugger = KeyPlugger(tmp_path)
    yield plugger
    # A PC/SC connection a test dropped without closing is freed by the garbage collector:
    # now, while its pcscd still answers, not in some later test (where its disconnect fails
    # and pytest reports an unraisable exception).
    gc.collect()
    for rig in plugger.rigs:
        rig.stop()
    bugs = [error for rig in plugger.rigs for error in rig.internal_errors]
    assert not bugs, "the virtual key answered 6F00 for a bug of its own:\n" + bugs[0]


def _real_plug_keys(real: realkey.RealKeys, request: pytest.FixtureRequest,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The real keys are reachable from the first plug until the test ends (a test that plugs
    nothing sees no pcscd); hwotp's touch prompts become a line for the person at the keys."""
    from hwotp.cli import app

    said = app.note

    def note(message: str) -> None:
        if message.startswith("Touch your"):
            serials = re.findall(r"\b\d{6,}\b", message)
            real.person.touch(int(serials[-1]) if serials else None)
        said(message)

    monkeypatch.setattr(app, "note", note)
    # hwotp run as a process asks the same way (realkey_site/sitecustomize.py).
    monkeypatch.setenv("REALKEY_PERSON", real.person.path)
    monkeypatch.setenv("REALKEY_SERIALS", " ".join(str(serial) for serial in real.serials))
    site = str(Path(__file__).with_name("realkey_site"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [site, *filter(None, [os.environ.get("PYTHONPATH")])]))
    # A test's own OATH session on the key stays open while hwotp or ykman runs: they share the
    # key with it, as ykman does when told to (else it tries exclusive access first, and the
    # failed attempt's connection fails again when it is freed).
    monkeypatch.setenv("YKMAN_NO_EXCLUSIVE", "1")
    plugger = RealKeyPlugger(real, request.node.stash.get(USES_FIDO, False))
    try:
        yield plugger
    finally:
        gc.collect()
        for rig in plugger.rigs:
            rig.release()
        point_pcsc_link(NO_PCSCD)


@pytest.fixture
def run_on_keys(plug_keys: KeyPlugger):
    """Runs a command as a process on a user's machine with the plugged keys: inside the rig's
    mount namespace (its /dev has the keys' hidraw nodes, entered with nsenter) and with
    PCSCLITE_CSOCK_NAME pointing at the rig's pcscd."""

    def run(argv: list[str], stdin: str | None = None, timeout: float = 60,
            env: dict[str, str] | None = None) -> Run:
        command = plug_keys.current.command([str(part) for part in argv])
        result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                                timeout=timeout, env={**os.environ, **(env or {})})
        return Run(result.returncode, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session", autouse=True)
def stand_in_tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pkill and killall that kill nothing, first on PATH for the whole run: ykman (in this
    process too, through its connection opener) runs them when a connection fails."""
    folder = tmp_path_factory.mktemp("stand-in-tools")
    for name in ("pkill", "killall"):
        tool = folder / name
        tool.write_text("#!/bin/sh\nexit 1\n")
        tool.chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{path}"
    yield folder
    os.environ["PATH"] = path


@pytest.fixture
def ykman(stand_in_tools: Path):
    """Runs the real ykman CLI (from the test environment) against the plugged keys."""
    executable = Path(sys.executable).with_name("ykman")

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> Run:
        env = {**os.environ, "PATH": f"{stand_in_tools}:{os.environ['PATH']}"}
        result = subprocess.run(
            [str(executable), *args], input=stdin, capture_output=True, text=True, env=env,
            timeout=timeout,
        )
        return Run(result.returncode, result.stdout, result.stderr)

    return run


@pytest.fixture
def healthy_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """For `hwotp doctor`: everything but pcscd, readers, keys and the vault looks fine, whatever
    this machine is like."""
    from hwotp.usecases import doctor

    rules = Path(__file__).parent.parent / "udev" / "70-hwotp-security-keys.rules"
    monkeypatch.setattr(doctor, "read_udev_rules", lambda: {rules.name: rules.read_text()})
    monkeypatch.setattr(doctor, "read_timedatectl", lambda: "yes\n")
    monkeypatch.setattr(doctor, "read_timesync_status", lambda: None)
    monkeypatch.setattr(doctor, "read_chrony_tracking", lambda: None)
    monkeypatch.setattr(doctor, "find_zbar", lambda: "libzbar.so.0")
    monkeypatch.setattr(
        doctor, "keyring_backends", lambda: ["keyring.backends.SecretService.Keyring"]
    )
