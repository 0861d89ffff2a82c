"""The agent inside the hidraw namespace (see devns.py); run by `unshare --mount` as

    python -m virtualkey.devns_agent FUSE_FOLDER NEW_DEV MOUNT_OPTIONS

It mounts the inherited /dev/fuse on FUSE_FOLDER, builds a /dev of its own (a tmpfs on NEW_DEV
holding a bind mount, or a copy of the symbolic link, of every entry of the machine's /dev,
then moved over /dev), answers "ok", and then carries out one command a line, answering "ok" or
"error: ...": `plug hidrawN` binds FUSE_FOLDER/hidrawN at /dev/hidrawN, `pull hidrawN` detaches
it and removes the node. It ends when its standard input closes. Only mount(2) and umount2(2)
through ctypes: no imports from the rest of the virtual key.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from pathlib import Path

MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE, MS_REC = 0x2, 0x4, 0x1000, 0x2000, 0x4000
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str, target: str | Path, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    if _libc.mount(source.encode(), str(target).encode(),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {source} on {target}: {os.strerror(code)}")


def umount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"umount {target}: {os.strerror(code)}")


def private_dev(new_dev: Path) -> None:
    """/dev as before, as a tmpfs where nodes can come and go without touching the machine's."""
    new_dev.mkdir(parents=True, exist_ok=True)
    mount("tmpfs", new_dev, "tmpfs", MS_NOSUID, "mode=0755")
    for entry in os.scandir("/dev"):
        target = new_dev / entry.name
        if entry.name == "ptmx" and os.path.exists("/dev/pts/ptmx"):
            # The pseudo-terminal multiplexer of the devpts mounted at /dev/pts, as the devpts
            # documentation has it (a bind of the machine's ptmx gives no terminals here).
            target.symlink_to("pts/ptmx")
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            target.symlink_to(os.readlink(entry.path))
            continue
        if stat.S_ISDIR(info.st_mode):
            target.mkdir(mode=stat.S_IMODE(info.st_mode))
        else:
            target.touch(mode=0o600)
        mount(entry.path, target, None, MS_BIND | MS_REC)
    mount(str(new_dev), "/dev", None, MS_MOVE)


def main(argv: list[str]) -> int:
    fuse_folder, new_dev, options = Path(argv[0]), Path(argv[1]), argv[2]
    fuse_fd = int(options.split("fd=", 1)[1].split(",", 1)[0])
    try:
        mount("virtualkey-hidraw", fuse_folder, "fuse.virtualkey-hidraw", MS_NOSUID | MS_NODEV,
              options)
        os.close(fuse_fd)  # only the server's copy keeps the connection: it ends with the server
        private_dev(new_dev)
    except OSError as error:
        print(f"error: {error}", flush=True)
        return 1
    print("ok", flush=True)
    for line in sys.stdin:
        command, _, name = line.strip().partition(" ")
        node = f"/dev/{name}"
        try:
            if not name.startswith("hidraw") or "/" in name:
                raise OSError(f"not a hidraw node: {name!r}")
            if command == "plug":
                Path(node).touch(mode=0o600)
                mount(str(fuse_folder / name), node, None, MS_BIND)
            elif command == "pull":
                umount(node)
                os.unlink(node)
            else:
                raise OSError(f"unknown command {command!r}")
        except OSError as error:
            print(f"error: {error}", flush=True)
            continue
        print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
