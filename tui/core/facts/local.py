"""Facts of this machine (console mode) or of a disk mounted at --root.

Files are read directly, confined to the root (rootpath), and sshd's libraries resolved by
reading ELF headers; only the live machine adds what needs a running system (process list,
the journal, commands). Nothing under --root is ever executed. What is collected is
tui.core.facts.collect's, the same for every target.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import selectors
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tui.core import selinux
from tui.core.facts import pkgowner
from tui.core.facts.collect import (
    BINARY_LIMIT,
    JOURNAL_ARGV,
    JOURNAL_MATCH,
    JOURNAL_OUTPUT,
    Ran,
    journal_lines,
)
from tui.core.facts.collect import (
    collect as collect_from,
)
from tui.core.facts.common import keyperm_patched, openssh_version
from tui.core.facts.model import Facts, FileBlob, PathInfo
from tui.core.procenv import child_env
from tui.core.rootpath import (
    NotRegularFile,
    file_kind,
    open_regular,
    read_regular,
    resolve_in_root,
    to_target,
)
from tui.core.targets.localops import LocalOps

if TYPE_CHECKING:
    from tui.core.libs.fs import FS
    from tui.core.libs.model import BinaryLibs

_JOURNAL_FILES = 64  # newest journal files of a mounted root handed to journalctl
_JOURNAL_SCAN = 10000  # directory entries looked at per journal directory

__all__ = ["LocalSource", "Ran", "collect", "read_blob", "run_bounded"]


def collect(root: str = "/", *, label: str | None = None) -> Facts:
    return collect_from(LocalSource(root, label))


class LocalSource:
    """This machine, or the system mounted at `root` (its files only: nothing runs there)."""

    def __init__(self, root: str = "/", label: str | None = None) -> None:
        self.ops = LocalOps(root)
        self.root = self.ops.root
        self.live = self.root == "/"
        self.kind = "local" if self.live else "root"
        self.label = label or (f"this machine ({socket.gethostname()})" if self.live
                               else self.root)
        self._started: dict[tuple[str, ...], _Started] = {}

    def hostname(self) -> str | None:
        return socket.gethostname() if self.live else _read_text(self.ops, "/etc/hostname")

    def first_notes(self) -> list[str]:
        return []

    def read(self, path: str, limit: int) -> FileBlob:
        blob = read_blob(self.ops, path, limit)
        if blob.errno != errno.EFBIG:
            return blob
        try:  # too large to read: its size, for 'too large to read (N bytes)'
            size = os.stat(self.ops.host_path(to_target(self.root,
                                                        resolve_in_root(self.root, path))))
        except OSError:
            return blob
        return FileBlob(None, errno.EFBIG, size.st_size)

    def read_tail(self, path: str, limit: int, words: tuple[str, ...] = ()) -> bytes:
        return read_regular(self.root, path, limit, tail=True)

    def exists(self, path: str) -> bool:
        try:
            self.ops.lstat(path)
            return True
        except OSError:
            return False

    def stat(self, path: str) -> PathInfo:
        try:
            real = to_target(self.root, resolve_in_root(self.root, path))
            host = self.ops.host_path(real)
            st = os.stat(host)
            return PathInfo(st.st_mode, st.st_uid, st.st_gid, label=selinux.get_label(host))
        except OSError as e:
            return PathInfo(None, errno=e.errno or errno.EIO)

    def kind_of(self, path: str) -> str | None:
        try:
            return file_kind(os.lstat(resolve_in_root(self.root, path)).st_mode)
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        return self.ops.listdir(path)

    def run(self, argv: Sequence[str], timeout: float, limit: int) -> Ran | None:
        started = self._started.pop(tuple(argv), None)
        if started is not None:
            return started.result()
        exe = _program(argv[0])
        if exe is None:
            return None
        return run_bounded([exe, *argv[1:]], timeout=timeout, limit=limit,
                           env=child_env(LC_ALL="C"))

    def start(self, argv: Sequence[str], timeout: float, limit: int) -> None:
        exe = _program(argv[0]) if self.live else None
        if exe is not None and tuple(argv) not in self._started:
            self._started[tuple(argv)] = _Started([exe, *argv[1:]], timeout, limit)

    def journal(self, notes: list[str]) -> list[str]:
        journalctl = _which("journalctl")
        return _journal(self.ops, self.live, journalctl, notes) if journalctl else []

    def processes(self) -> list[str]:
        return _process_names()

    def misses(self) -> int:
        return 0

    def version(self, path: str) -> str | None:
        blob = self.read(path, BINARY_LIMIT)
        return openssh_version(blob.data) if blob.data else None

    def keyperm(self, path: str) -> bool | None:
        blob = self.read(path, BINARY_LIMIT)
        return keyperm_patched(blob.data) if blob.data else None

    def add_owner(self, fs: FS, libs: BinaryLibs, soname: str, facts: Facts) -> None:
        # dpkg's lists, or the disk's own RPM database (read here, bounded): the package and
        # how to reinstall it with the target's own tools
        pkgowner.add(self.root, libs, soname, facts)

    def libfs(self) -> FS:
        from tui.core.libs.fs import RootFS

        return RootFS(self.root)


def read_blob(ops: LocalOps, path: str, limit: int = 64 << 20) -> FileBlob:
    """A file as fopen() would see it: symlinks followed (inside the root), errors kept.

    Only a regular file is read, at most `limit` bytes; anything else (a FIFO, a device, a
    socket) is not even opened: EINVAL, which the collector explains in a note.
    """
    try:
        return FileBlob(read_regular(ops.root, path, limit))
    except NotRegularFile as e:
        return FileBlob(b"" if e.errno == errno.EISDIR else None, e.errno)
    except OSError as e:
        return FileBlob(None, e.errno or errno.EIO)


def _journal(ops: LocalOps, live: bool, journalctl: str, notes: list[str]) -> list[str]:
    """sshd's journal lines, newest last. The journalctl of *this* machine reads the files;
    under --root it is handed only regular files inside the root, as open descriptors."""
    # Newest first, so a flood cut at the output bound loses the oldest lines, not the newest.
    cmd = [journalctl, *JOURNAL_ARGV[1:]]
    fds: list[int] = []
    if not live:
        fds = _journal_fds(ops, notes)
        if not fds:
            return []
        # /proc/self/fd/N: journalctl opens exactly the file checked here, and no glob
        # character in a name on the disk can widen --file to something else.
        cmd += [f"--file=/proc/self/fd/{fd}" for fd in fds]
    cmd += JOURNAL_MATCH
    try:
        ran = run_bounded(cmd, timeout=10, limit=JOURNAL_OUTPUT, pass_fds=fds)
    except (OSError, subprocess.TimeoutExpired) as e:
        notes.append(f"journal not read: {e}")
        return []
    finally:
        for fd in fds:
            os.close(fd)
    return journal_lines(ran, notes)


def _journal_fds(ops: LocalOps, notes: list[str]) -> list[int]:
    """Open descriptors of the newest journal files of the mounted root.

    /var/log/journal and its machine-id directories are followed inside the root only; a
    journal "file" that is a symlink, FIFO or device is named in a note and never opened.
    """
    try:
        top = resolve_in_root(ops.root, "/var/log/journal")
        st = os.lstat(top)
    except OSError:
        return []
    if not stat.S_ISDIR(st.st_mode):
        notes.append(f"/var/log/journal not read: {file_kind(st.st_mode)}, not a directory")
        return []
    found: list[tuple[float, str]] = []
    skipped: list[str] = []
    dirs = [top]
    while dirs:
        d = dirs.pop()
        try:
            with os.scandir(d) as it:
                entries = list(itertools.islice(it, _JOURNAL_SCAN))
        except OSError as err:
            notes.append(f"{to_target(ops.root, d)} not read: {err.strerror}")
            continue
        for e in entries:
            name = to_target(ops.root, e.path)
            try:
                est = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if d == top and stat.S_ISDIR(est.st_mode):
                dirs.append(e.path)  # a machine-id directory (a real one, not a link)
            elif e.name.endswith((".journal", ".journal~")):
                if stat.S_ISREG(est.st_mode):
                    found.append((est.st_mtime, e.path))
                else:
                    skipped.append(f"{name} ({file_kind(est.st_mode)})")
            elif d == top and stat.S_ISLNK(est.st_mode):
                skipped.append(f"{name} (a symlink)")
    if skipped:
        notes.append(f"journal: not read, not regular files inside {ops.root}: "
                     + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    fds: list[int] = []
    for _, host in sorted(found, reverse=True)[:_JOURNAL_FILES]:
        with contextlib.suppress(OSError):
            fds.append(open_regular(host)[0])
    return fds


def _program(name: str) -> str | None:
    """A command's executable: a bare name looked up in PATH, /usr/sbin, /sbin."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    exe = name if name.startswith("/") else _which(name, path)
    return exe if exe is not None and os.access(exe, os.X_OK) else None


_PIPE = 1 << 20  # what the pipe of a command started ahead holds (iptables-save at 50k: 3.5 MB)


class _Started:
    """A command run_bounded() runs in a thread of its own, started ahead of its result."""

    def __init__(self, argv: list[str], timeout: float, limit: int) -> None:
        self.out: Ran | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(argv, timeout, limit),
                                       daemon=True)
        self.thread.start()

    def _run(self, argv: list[str], timeout: float, limit: int) -> None:
        try:
            self.out = run_bounded(argv, timeout=timeout, limit=limit,
                                   env=child_env(LC_ALL="C"), pipe=_PIPE)
        except BaseException as e:  # noqa: BLE001 (raised by result(), in the caller's thread)
            self.error = e

    def result(self) -> Ran:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.out is not None
        return self.out


def _which(name: str, path: str | None = None) -> str | None:
    """shutil.which for a bare command name, without importing shutil (and bz2, lzma)."""
    for d in (path if path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep):
        exe = os.path.join(d or ".", name)
        if os.access(exe, os.F_OK | os.X_OK) and not os.path.isdir(exe):
            return exe
    return None


def run_bounded(argv: list[str], *, timeout: float, limit: int, pass_fds: Sequence[int] = (),
                env: dict[str, str] | None = None, pipe: int = 0) -> Ran:
    """Run a command of this machine, keeping at most `limit` bytes of each output stream.

    A command that prints more is killed (a flood must not fill memory); one still running
    after `timeout` seconds is killed and TimeoutExpired raised, like subprocess.run.
    `pipe`: bytes its stdout pipe holds (where Linux allows), so that a command printing
    megabytes is not held up while this thread waits for its turn to read.
    """
    from tui.core import actionlog

    actionlog.command("this machine", argv)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, pass_fds=pass_fds,
                            env=child_env() if env is None else env)
    assert proc.stdout is not None and proc.stderr is not None
    chunk_size = 1 << 16
    if pipe:
        import fcntl

        with contextlib.suppress(OSError):  # F_SETPIPE_SZ, Linux >= 2.6.35
            chunk_size = max(chunk_size, fcntl.fcntl(proc.stdout.fileno(), 1031, pipe))
    bufs: dict[int, bytearray] = {proc.stdout.fileno(): bytearray(),
                                  proc.stderr.fileno(): bytearray()}
    truncated = False
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            for fd in bufs:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map() and not truncated:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, chunk_size)
                    if not chunk:
                        sel.unregister(key.fd)
                        continue
                    buf = bufs[key.fd]
                    room = limit - len(buf)
                    buf += chunk[:room]
                    truncated = len(chunk) > room
        if truncated:
            proc.kill()
        rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    out, err = bufs.values()
    return Ran(rc, bytes(out), bytes(err), truncated)


def _process_names() -> list[str]:
    names = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/comm", "rb") as f:
                names.append(f.read().decode("utf-8", "replace").strip())
    return sorted(set(names))


def _read_text(ops: LocalOps, path: str) -> str | None:
    try:
        data = read_regular(ops.root, path, 4096, tail=False)
    except OSError:
        return None
    return data.decode("utf-8", "replace").strip() or None
