"""A private /dev holding the virtual keys' hidraw nodes, in a mount namespace of its own.

The FUSE server runs in this process (next to the keys); the mount lives in a namespace made by
`unshare --mount --propagation private`, whose first process is the agent (`devns_agent.py`).
The agent inherits the open /dev/fuse and mounts it on a folder, puts a tmpfs over /dev holding
a bind mount of every entry of the machine's /dev, and then binds each plugged key's FUSE file
at /dev/hidrawN (and takes it away when the key is pulled), on one line of its standard input
each. Processes see the keys when they run in that namespace: `command(argv)` prefixes argv with
`nsenter --target AGENT --mount`. Nothing is mounted outside the namespace; the agent dies with
this process (PR_SET_PDEATHSIG), and the namespace and its mounts with the last process in it.

Mounting FUSE and entering a namespace need root here (/dev/fuse is root's only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from .fuse import FuseServer
from .hidraw import HidrawDevice, HidrawFilesystem
from .key import VirtualKey
from .pcscd import die_with_parent

AGENT_TIMEOUT = 10.0


def missing_requirements() -> list[str]:
    """What this machine lacks for hidraw nodes (empty when everything is there)."""
    missing = [tool for tool in ("unshare", "nsenter") if shutil.which(tool) is None]
    if not os.path.exists("/dev/fuse"):
        missing.append("/dev/fuse (the fuse kernel module)")
    if os.geteuid() != 0:
        missing.append("root (to mount FUSE and enter the namespace)")
    return missing


class DevNamespace:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.filesystem = HidrawFilesystem(on_removed=self._remove_node)
        self.server: FuseServer | None = None
        self.agent: subprocess.Popen[str] | None = None
        self._agent_lock = threading.Lock()
        self.errors: list[BaseException] = []  # bugs in the FUSE server, kept after stop

    def start(self) -> None:
        if missing := missing_requirements():
            raise OSError("cannot show hidraw devices: missing " + ", ".join(missing))
        self.server = FuseServer(self.filesystem)
        self.server.errors = self.errors
        folder = self.workdir / "hidraw-fuse"
        folder.mkdir(parents=True, exist_ok=True)
        tests = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": tests}
        self.agent = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", sys.executable, "-m",
             "virtualkey.devns_agent", str(folder), str(self.workdir / "dev"),
             self.server.mount_options(self.server.fd)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            pass_fds=(self.server.fd,), start_new_session=True, preexec_fn=die_with_parent,
        )
        try:
            self._answer("start")
            self.server.start()  # /dev/fuse can be read only once it is mounted (else EPERM)
        except BaseException:
            self.stop()
            raise

    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the namespace (in the current directory)."""
        if self.agent is None:
            raise OSError("the hidraw namespace is not running")
        return ["nsenter", f"--target={self.agent.pid}", "--mount", f"--wd={os.getcwd()}",
                "--", *argv]

    def plug_in(self, key: VirtualKey, usb_port: int) -> HidrawDevice:
        device = self.filesystem.plug_in(key, usb_port)
        self._tell(f"plug {device.name}")
        return device

    def pull_out(self, device: HidrawDevice) -> None:
        self.filesystem.pull_out(device)  # calls _remove_node

    def stop(self) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            with contextlib.suppress(OSError):
                agent.stdin.close()  # the agent leaves; the namespace goes with its last process
            try:
                agent.wait(timeout=5)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
            agent.stdout.close()
        self.filesystem.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _remove_node(self, name: str) -> None:
        if self.agent is not None and self.agent.poll() is None:
            # ValueError: the rig stopped meanwhile (the agent's input is closed), and with
            # the namespace every node goes anyway
            with contextlib.suppress(OSError, ValueError):
                self._tell(f"pull {name}")

    def _tell(self, line: str) -> None:
        with self._agent_lock:
            self.agent.stdin.write(line + "\n")
            self.agent.stdin.flush()
            self._answer(line)

    def _answer(self, what: str) -> None:
        answer = self.agent.stdout.readline().strip()
        if answer != "ok":
            raise OSError(f"the hidraw namespace agent failed ({what}): {answer or 'exited'}")
