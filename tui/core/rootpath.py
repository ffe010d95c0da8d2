"""Target paths under a mounted root: follow symlinks as the target system would, never escape.

A system mounted at ``/mnt/broken`` has absolute symlinks such as
``/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2``: the kernel on the
rescue machine would follow them into the *rescue* system's ``/lib``. ``resolve_in_root`` walks
the path one component at a time instead, re-rooting absolute link targets and clamping ``..``
at the root, like ``chroot`` would, without executing anything under the root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

MAX_LINK_HOPS = 40  # the kernel's MAXSYMLINKS
_O_PATH = getattr(os, "O_PATH", 0)
_READ_FLAGS = (os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
_DEV_NULL = os.makedev(1, 3)


def _norm_root(root: str) -> str:
    """'' for the live system, else the absolute root without trailing slash."""
    if not root:
        return ""
    root = os.path.abspath(root)
    return "" if root == "/" else root


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def resolve_in_root(root: str, path: str, *, follow_last: bool = True) -> str:
    """The host path that target path `path` refers to when `root` is mounted as `/`.

    Every existing symlink on the way is followed with `root` as `/` (``..`` stops at `root`);
    the final component is left alone when `follow_last` is false (lstat semantics). The
    first component that does not exist ends the walk and the rest is appended lexically, so
    opening the result fails with ENOENT/ENOTDIR as it would on the target. With `root` ``/``
    or ``''`` the same walk runs on the live file system (the result is a physical path).
    Raises ``OSError(ELOOP)`` after more than 40 link hops.
    """
    base = _norm_root(root)
    return base + walk(path, lambda p: os.lstat(base + p).st_mode, lambda p: os.readlink(base + p),
                       follow_last=follow_last)


def walk(path: str, mode_of: Callable[[str], int], readlink: Callable[[str], str], *,
         follow_last: bool = True) -> str:
    """The physical path `path` names, walked one component at a time as resolve_in_root
    describes, on any file system given by `mode_of` (lstat()'s st_mode, OSError when there
    is nothing) and `readlink` of physical paths ("/usr/lib", never under a host root)."""
    done: list[str] = []  # physical target components resolved so far
    todo = _parts(path)
    todo.reverse()  # a stack: link targets are pushed in front of what remains
    hops = 0
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        if not follow_last and not todo:
            done.append(part)
            break
        here = "/" + "/".join([*done, part])
        try:
            mode = mode_of(here)
        except OSError:
            # Missing, or a parent that is not a directory: nothing further can exist.
            done.append(part)
            done.extend(p for p in reversed(todo) if p != "..")
            break
        if not stat.S_ISLNK(mode):
            done.append(part)
            continue
        hops += 1
        if hops > MAX_LINK_HOPS:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        link = readlink(here)
        if link.startswith("/"):
            done = []
        for p in reversed(_parts(link)):
            todo.append(p)
    return "/" + "/".join(done)


def to_target(root: str, host_path: str) -> str:
    """The target path of `host_path`, which must lie under `root` (ValueError otherwise)."""
    base = _norm_root(root)
    host = os.path.normpath(os.path.join("/", host_path))
    if not base:
        return host
    if host == base:
        return "/"
    if host.startswith(base + "/"):
        return host[len(base) :]
    raise ValueError(f"{host_path!r} is not under root {root!r}")


class NotRegularFile(OSError):
    """Something other than a regular file where one was expected; it was not opened."""

    def __init__(self, path: str, st: os.stat_result) -> None:
        mode = st.st_mode
        self.kind = file_kind(mode)
        self.rdev = st.st_rdev if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None
        # EISDIR and ELOOP as open() would say; EINVAL for a FIFO, device or socket.
        code = (errno.EISDIR if stat.S_ISDIR(mode) else errno.ELOOP if stat.S_ISLNK(mode)
                else errno.EINVAL)
        super().__init__(code, f"{self.kind}, not a regular file: not read", path)


def file_kind(mode: int) -> str:
    """'a FIFO', 'a character device' ... for a st_mode, as people say it."""
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISLNK, "a symlink"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "an unknown kind of file"


def open_regular(host: str, shown: str | None = None) -> tuple[int, os.stat_result]:
    """(fd, fstat) of the regular file at host path `host`, which must hold no symlink.

    The type is checked before anything is opened for reading: opening a FIFO can hang, a
    device node (under a mounted root it is *this* machine's device) can have side effects
    (/dev/watchdog), and a final symlink would lead wherever it points. With O_PATH the
    check and the open see the same inode; otherwise lstat() first and fstat() after.
    Raises NotRegularFile (EISDIR for a directory) or the OSError of the failing call.
    """
    name = shown or host
    if _O_PATH and os.path.isdir("/proc/self/fd"):
        pfd = os.open(host, _O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            st = os.fstat(pfd)
            if not stat.S_ISREG(st.st_mode):
                raise NotRegularFile(name, st)
            fd = os.open(f"/proc/self/fd/{pfd}", _READ_FLAGS & ~getattr(os, "O_NOFOLLOW", 0))
        finally:
            os.close(pfd)
    else:
        st = os.lstat(host)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(name, st)
        fd = os.open(host, _READ_FLAGS)
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise NotRegularFile(name, fst)  # swapped between the check and the open
    except BaseException:
        os.close(fd)
        raise
    return fd, fst


def read_regular(root: str, path: str, limit: int, *, tail: bool = False) -> bytes:
    """The bytes of target path `path` under `root` ("/" for this machine), bounded.

    Symlinks are followed with `root` as `/` (never out of it). Only a regular file is read:
    anything else raises NotRegularFile without being opened, except the character device
    /dev/null, which reads as empty without being opened. At most `limit` bytes: more raises
    EFBIG, or with `tail` the last `limit` bytes are returned (a log's newest lines).
    """
    if "\0" in path:  # a C library would stop at the NUL; os.* would raise ValueError
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    host = resolve_in_root(root, path)
    try:
        fd, st = open_regular(host, path)
    except NotRegularFile as e:
        if e.kind == "a character device" and e.rdev == _DEV_NULL:
            return b""
        raise
    try:
        return read_fd(fd, st.st_size, limit, tail=tail, name=path)
    finally:
        os.close(fd)


def read_fd(fd: int, size: int, limit: int, *, tail: bool = False, name: str = "") -> bytes:
    """At most `limit` bytes of an open regular file of `size` bytes (EFBIG past that, or
    with `tail` its last `limit` bytes), even if it grows while it is read."""
    if size > limit and not tail:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", name)
    pos = max(0, size - limit) if tail else 0
    chunks: list[bytes] = []
    total = 0
    while total <= limit and (chunk := os.pread(fd, min(1 << 20, limit + 1 - total),
                                                pos + total)):
        chunks.append(chunk)
        total += len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:
        if not tail:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes", name)
        data = data[-limit:]
    return data
