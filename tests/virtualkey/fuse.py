"""A FUSE server in plain Python that speaks the kernel's protocol on /dev/fuse itself.

Facts from the kernel's `include/uapi/linux/fuse.h` (protocol 7.31 is what this server
declares; Debian 12's header is 7.38): each read of /dev/fuse returns one request, a
`fuse_in_header` (40 bytes) and its arguments; each write is one reply, a `fuse_out_header`
(16 bytes: length, negative errno, the request's unique id) and its data. Replies may come in
any order and from any thread, so a READ can be parked until data arrives (a blocking read, as
on a character device) and answered later.

Why not libfuse: its high-level API (what fusepy and mfusepy bind) answers an ioctl with the
whole `_IOC_SIZE(cmd)` bytes, and the kernel copies all of them into the caller's buffer.
python-fido2 asks HIDIOCGRAWNAME with a command encoding 4100 bytes and a 128-byte buffer
(which Python copies into a 1024-byte one on its C stack): measured with mfusepy 3.1.1 on
libfuse 2.9.9, all 4100 bytes were written. A real hidraw writes only the name. Here an ioctl
is answered with exactly the bytes the kernel driver would write.

The filesystem is one flat directory; `FuseFilesystem` (below) says what it holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

IN_HEADER = struct.Struct("<IIQQIIIHH")  # len, opcode, unique, nodeid, uid, gid, pid, ext, pad
OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr, 88 bytes
ENTRY_OUT = struct.Struct("<QQQQII")  # nodeid, generation, entry_valid, attr_valid, nsecs
ATTR_OUT = struct.Struct("<QII")  # attr_valid, attr_valid_nsec, dummy
OPEN_OUT = struct.Struct("<QII")  # fh, open_flags, padding
READ_IN = struct.Struct("<QQIIQII")  # fh, offset, size, read_flags, lock_owner, flags, pad
WRITE_IN = READ_IN  # fh, offset, size, write_flags, lock_owner, flags, padding
IOCTL_IN = struct.Struct("<QIIQII")  # fh, flags, cmd, arg, in_size, out_size
IOCTL_OUT = struct.Struct("<iIII")  # result, flags, in_iovs, out_iovs
INIT_OUT = struct.Struct("<IIIIHHIIHHI28x")  # 64 bytes
DIRENT = struct.Struct("<QQII")  # ino, off, namelen, type

LOOKUP, FORGET, GETATTR, SETATTR = 1, 2, 3, 4
OPEN, READ, WRITE, STATFS, RELEASE, FLUSH = 14, 15, 16, 17, 18, 25
INIT, OPENDIR, READDIR, RELEASEDIR, ACCESS, INTERRUPT, DESTROY = 26, 27, 28, 29, 34, 36, 38
IOCTL, BATCH_FORGET = 39, 42
NO_REPLY = {FORGET, BATCH_FORGET, INTERRUPT}

KERNEL_MAJOR, DECLARED_MINOR = 7, 31
FOPEN_DIRECT_IO, FOPEN_NONSEEKABLE = 1, 4
ROOT = 1
BUFFER_SIZE = 1 << 17  # at least FUSE_MIN_READ_BUFFER (8192) and max_write + headers
MAX_WRITE = 1 << 16
DT_DIR, DT_REG = 4, 8


class FuseError(OSError):
    """Raised by a filesystem operation: the request is answered with this errno."""

    def __init__(self, code: int) -> None:
        super().__init__(code, os.strerror(code))


@dataclass
class Request:
    """A request being answered; `reply` and `fail` may be called from any thread, once."""

    server: FuseServer
    unique: int
    opcode: int
    nodeid: int
    pid: int
    body: bytes

    def reply(self, data: bytes = b"") -> None:
        self.server.send(self.unique, 0, data)

    def fail(self, code: int) -> None:
        self.server.send(self.unique, -code, b"")


class FuseFilesystem:
    """What the server asks: node ids are ints (ROOT is the directory), file handles ints."""

    def lookup(self, name: str) -> int:  # the node id, else FuseError(ENOENT)
        raise FuseError(errno.ENOENT)

    def names(self) -> list[tuple[str, int]]:  # the directory's files: (name, node id)
        return []

    def file_mode(self, node: int) -> int:  # permission bits of a file (not the directory)
        return 0o600

    def open(self, node: int, flags: int) -> int:
        raise FuseError(errno.ENODEV)

    def read(self, request: Request, handle: int, size: int, flags: int) -> None:
        """Answers now or later with request.reply(data) or request.fail(errno)."""
        request.fail(errno.EINVAL)

    def interrupt(self, unique: int) -> None:
        """The process waiting on request `unique` got a signal (a parked read must end)."""

    def write(self, handle: int, data: bytes) -> int:
        raise FuseError(errno.EINVAL)

    def ioctl(self, handle: int, command: int, out_size: int) -> tuple[int, bytes]:
        raise FuseError(errno.ENOTTY)

    def release(self, handle: int) -> None:
        pass


class FuseServer:
    """Serves `filesystem` on an open /dev/fuse in a thread; `mount_options()` is what the
    mount(2) call needs (the mounting process must hold the same open file as `fd`)."""

    def __init__(self, filesystem: FuseFilesystem) -> None:
        self.filesystem = filesystem
        self.fd = os.open("/dev/fuse", os.O_RDWR)  # close-on-exec, as Python opens files
        self._wake_read, self._wake_write = os.pipe()
        self._send_lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="virtual-fuse", daemon=True)
        self.errors: list[BaseException] = []

    def mount_options(self, fd_in_mounter: int) -> str:
        return (f"fd={fd_in_mounter},rootmode={stat.S_IFDIR:o},user_id={os.getuid()},"
                f"group_id={os.getgid()},allow_other")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops serving and closes /dev/fuse: the kernel then fails whatever still uses the
        mount (ENOTCONN), so nothing inside the namespace waits on this process."""
        self._stopping = True
        os.write(self._wake_write, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for fd in (self.fd, self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def send(self, unique: int, error: int, data: bytes) -> None:
        with self._send_lock:
            if self._stopping:
                return
            try:
                os.write(self.fd, OUT_HEADER.pack(OUT_HEADER.size + len(data), error, unique)
                         + data)
            except OSError as problem:
                # ENOENT: the request was interrupted and is gone; ENODEV: unmounted
                if problem.errno not in (errno.ENOENT, errno.ENODEV):
                    raise

    def _serve(self) -> None:
        while not self._stopping:
            ready, _, _ = select.select([self.fd, self._wake_read], [], [])
            if self._wake_read in ready:
                return
            try:
                raw = os.read(self.fd, BUFFER_SIZE)
            except OSError as problem:
                if problem.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                    continue  # ENOENT: the request was interrupted before it was read
                return  # ENODEV: unmounted (the namespace is gone)
            fields = IN_HEADER.unpack_from(raw)
            request = Request(self, fields[2], fields[1], fields[3], fields[6],
                              raw[IN_HEADER.size : fields[0]])
            try:
                self._dispatch(request)
            except FuseError as problem:
                request.fail(problem.errno)
            except Exception as bug:  # kept for the test to report; the caller gets EIO
                self.errors.append(bug)
                if request.opcode not in NO_REPLY:
                    request.fail(errno.EIO)

    def _dispatch(self, request: Request) -> None:
        handler: Callable[[Request], None] | None = getattr(
            self, f"_op_{request.opcode}", None)
        if handler is not None:
            handler(request)
        elif request.opcode not in NO_REPLY:
            request.fail(errno.ENOSYS)

    # The operations, by opcode.

    def _op_26(self, request: Request) -> None:  # INIT
        major, _minor = struct.unpack_from("<II", request.body)
        if major != KERNEL_MAJOR:
            request.fail(errno.EPROTO)
            return
        request.reply(INIT_OUT.pack(KERNEL_MAJOR, DECLARED_MINOR, 0, 0, 16, 12, MAX_WRITE, 1,
                                    0, 0, 0))

    def _op_38(self, request: Request) -> None:  # DESTROY
        request.reply()

    def _op_1(self, request: Request) -> None:  # LOOKUP
        if request.nodeid != ROOT:
            raise FuseError(errno.ENOTDIR)
        name = request.body.split(b"\0", 1)[0].decode("utf-8", "replace")
        node = self.filesystem.lookup(name)
        # entry and attributes valid 0 s: every open looks the name up again, so a pulled
        # key's node is gone at once
        request.reply(ENTRY_OUT.pack(node, 0, 0, 0, 0, 0) + self._attr(node))

    def _op_3(self, request: Request) -> None:  # GETATTR
        request.reply(ATTR_OUT.pack(0, 0, 0) + self._attr(request.nodeid))

    def _attr(self, node: int) -> bytes:
        if node == ROOT:
            mode, links = stat.S_IFDIR | 0o755, 2
        else:
            mode, links = stat.S_IFREG | self.filesystem.file_mode(node), 1
        return ATTR.pack(node, 0, 0, 0, 0, 0, 0, 0, 0, mode, links, os.getuid(), os.getgid(),
                         0, 4096, 0)

    def _op_4(self, request: Request) -> None:  # SETATTR (truncate, chmod...): refused
        raise FuseError(errno.EPERM)

    def _op_27(self, request: Request) -> None:  # OPENDIR
        request.reply(OPEN_OUT.pack(0, 0, 0))

    def _op_28(self, request: Request) -> None:  # READDIR
        _fh, offset, size = READ_IN.unpack_from(request.body)[:3]
        entries = [(".", ROOT, DT_DIR), ("..", ROOT, DT_DIR)]
        entries += [(name, node, DT_REG) for name, node in self.filesystem.names()]
        out = b""
        for index, (name, node, kind) in enumerate(entries[offset:], start=offset + 1):
            encoded = name.encode()
            record = DIRENT.pack(node, index, len(encoded), kind) + encoded
            record += b"\0" * (-len(record) % 8)
            if len(out) + len(record) > size:
                break
            out += record
        request.reply(out)

    def _op_29(self, request: Request) -> None:  # RELEASEDIR
        request.reply()

    def _op_14(self, request: Request) -> None:  # OPEN
        flags = struct.unpack_from("<I", request.body)[0]
        handle = self.filesystem.open(request.nodeid, flags)
        request.reply(OPEN_OUT.pack(handle, FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE, 0))

    def _op_15(self, request: Request) -> None:  # READ
        fh, _offset, size, _read_flags, _owner, flags, _ = READ_IN.unpack_from(request.body)
        self.filesystem.read(request, fh, size, flags)

    def _op_36(self, request: Request) -> None:  # INTERRUPT
        self.filesystem.interrupt(struct.unpack_from("<Q", request.body)[0])

    def _op_16(self, request: Request) -> None:  # WRITE
        fh, _offset, size = WRITE_IN.unpack_from(request.body)[:3]
        data = request.body[WRITE_IN.size : WRITE_IN.size + size]
        written = self.filesystem.write(fh, data)
        request.reply(struct.pack("<II", written, 0))

    def _op_39(self, request: Request) -> None:  # IOCTL
        fh, _flags, command, _arg, _in_size, out_size = IOCTL_IN.unpack_from(request.body)
        result, data = self.filesystem.ioctl(fh, command, out_size)
        request.reply(IOCTL_OUT.pack(result, 0, 0, 0) + data[:out_size])

    def _op_25(self, request: Request) -> None:  # FLUSH (every close(2))
        request.reply()

    def _op_18(self, request: Request) -> None:  # RELEASE (the last close)
        self.filesystem.release(struct.unpack_from("<Q", request.body)[0])
        request.reply()

    def _op_17(self, request: Request) -> None:  # STATFS: an empty filesystem
        request.reply(bytes(80))
