"""FileOps over SFTP (paramiko), for a target reached over SSH.

SFTP reports only a handful of status codes: OpenSSH's sftp-server turns ENOENT and
EACCES/EPERM into their own codes, EINVAL into "Bad message", ENOSYS into "Operation
unsupported", and *everything else* (EEXIST, EBUSY, EROFS, EXDEV, ENOTEMPTY, ...) into a bare
SSH_FX_FAILURE. After a failure we look at the target (lstat, /proc/self/mountinfo of the
sftp-server process) to give the caller the errno the syscall really returned, and fall back
to EIO only when nothing explains it.

Durability: paramiko has no fsync@openssh.com wrapper, so files are not fsynced one by one.
`sync(paths)` runs `sync -- FILES... DIRS...` on the target (the files written since the last
sync plus the given directories) through a callback; durability is "sync after the batch".
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable
from typing import TypeVar

import paramiko

from tui.core import actionlog

from .base import FileStat, TargetError

T = TypeVar("T")

# Status texts of OpenSSH's sftp-server (paramiko keeps only the text for most codes).
_TEXT_ERRNO = {
    "No such file": errno.ENOENT,
    "Permission denied": errno.EACCES,
    "Operation unsupported": errno.EOPNOTSUPP,
    "Bad message": errno.EINVAL,
}
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class SftpOps:
    """Every FileOps method over one SFTP session (as root when it runs under sudo)."""

    def __init__(
        self,
        sftp: paramiko.SFTPClient,
        sync: Callable[[list[str]], None] | None = None,
        *,
        label: str = "",
    ) -> None:
        self._sftp = sftp
        self._sync = sync  # runs `sync -- paths` on the target (see module docstring)
        self._label = label or "the target"
        self.log_as = self._label  # the action log's name for the target
        self._dirty: list[str] = []  # files written since the last sync()

    # -- error mapping ---------------------------------------------------------------------

    def _call(self, op: str, fn: Callable[[], T], path: str, path2: str | None = None) -> T:
        try:
            return fn()
        except TargetError:
            raise
        except Exception as e:
            raise self._error(e, op, path, path2) from e

    def _error(self, e: Exception, op: str, path: str, path2: str | None) -> Exception:
        if isinstance(e, TimeoutError):  # socket.timeout too
            return TargetError(f"SFTP {op} {path} on {self._label} timed out")
        if isinstance(e, (paramiko.SSHException, EOFError)):
            return TargetError(f"SFTP session to {self._label} lost during {op} {path}: {e}")
        if isinstance(e, OSError) and e.errno is not None and e.filename is not None:
            return e  # already ours (EFBIG, EISDIR)
        if isinstance(e, OSError) and e.errno is not None:
            code: int | None = e.errno
            text = e.strerror or ""
        else:
            text = str(e)
            code = _TEXT_ERRNO.get(text)
        if code is None:
            try:
                code = self._probe(op, path, path2)
            except Exception:
                code = None  # probing is best effort; the original failure is what counts
        if code is None:
            return OSError(
                errno.EIO, f"{op} failed on {self._label} (SFTP: {text or e!r})", path, None, path2
            )
        return OSError(code, os.strerror(code), path, None, path2)

    def _lstat_or_none(self, path: str) -> paramiko.SFTPAttributes | None:
        try:
            return self._sftp.lstat(path)
        except FileNotFoundError:
            return None

    def _mounts(self) -> list[tuple[str, bool]]:
        """(mount point, read-only) as the sftp-server process sees them."""
        with self._sftp.open("/proc/self/mountinfo", "r") as f:
            text = f.read().decode("utf-8", "replace")
        out = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 6 or "-" not in fields:
                continue
            point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
            sep = fields.index("-")  # optional fields end here: fstype, source, super options
            superopts = fields[sep + 3].split(",") if sep + 3 < len(fields) else []
            out.append((point, "ro" in fields[5].split(",") or "ro" in superopts))
        return out

    def _mount_of(self, path: str, mounts: list[tuple[str, bool]]) -> tuple[str, bool]:
        path = posixpath.normpath(path)
        best = ("/", False)
        for point, ro in mounts:  # later lines are mounted over earlier ones: keep the last
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, ro)
        return best

    def _probe(self, op: str, path: str, path2: str | None) -> int | None:
        """The errno behind a bare SSH_FX_FAILURE, from what the target looks like now."""
        st = self._lstat_or_none(path)
        parent = self._lstat_or_none(posixpath.dirname(posixpath.normpath(path)) or "/")
        if op in ("create", "mkdir", "symlink") and st is not None:
            return errno.EEXIST
        creates = op in ("create", "mkdir", "symlink")
        if creates and parent is not None and not stat.S_ISDIR(parent.st_mode or 0):
            return errno.ENOTDIR
        if op == "readlink" and st is not None and not stat.S_ISLNK(st.st_mode or 0):
            return errno.EINVAL
        if op == "listdir" and st is not None and not stat.S_ISDIR(st.st_mode or 0):
            return errno.ENOTDIR
        if op in ("unlink", "overwrite") and st is not None and stat.S_ISDIR(st.st_mode or 0):
            return errno.EISDIR
        mounts = self._mounts()
        point, ro = self._mount_of(path, mounts)
        if op in ("unlink", "rename") and posixpath.normpath(path) == point:
            return errno.EBUSY
        if op == "rename" and path2 is not None:
            dst = self._lstat_or_none(path2)
            point2, ro2 = self._mount_of(path2, mounts)
            if posixpath.normpath(path2) == point2:
                return errno.EBUSY  # e.g. a bind-mounted file: replace it in place instead
            if point2 != point:
                return errno.EXDEV
            if st is not None and dst is not None:
                src_dir, dst_dir = stat.S_ISDIR(st.st_mode or 0), stat.S_ISDIR(dst.st_mode or 0)
                if src_dir and not dst_dir:
                    return errno.ENOTDIR
                if dst_dir and not src_dir:
                    return errno.EISDIR
                if dst_dir and self._sftp.listdir(path2):
                    return errno.ENOTEMPTY
            ro = ro or ro2
        if ro and op not in ("read", "lstat", "readlink", "listdir"):
            return errno.EROFS
        return None

    # -- FileOps ---------------------------------------------------------------------------

    def lstat(self, path: str) -> FileStat:
        a = self._call("lstat", lambda: self._sftp.lstat(path), path)
        return FileStat(
            mode=a.st_mode or 0,
            uid=a.st_uid or 0,
            gid=a.st_gid or 0,
            size=a.st_size or 0,
            mtime=float(a.st_mtime or 0),
        )

    def read_bytes(self, path: str, limit: int = 64 << 20) -> bytes:
        """The whole file; OSError(EFBIG) when it is larger than `limit`."""

        def read() -> bytes:
            a = self._sftp.stat(path)
            if stat.S_ISDIR(a.st_mode or 0):
                raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), path)
            if not stat.S_ISREG(a.st_mode or 0):  # a FIFO would hang sftp-server's open()
                raise OSError(errno.EINVAL, "not a regular file", path)
            size = a.st_size or 0  # 0 for /proc files: then just read up to limit + 1
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
            with self._sftp.open(path, "rb") as f:
                if size > 32768:
                    f.prefetch(size)  # parallel reads: one round trip per 32 KiB otherwise
                data = f.read(limit + 1)
            if len(data) > limit:
                raise OSError(errno.EFBIG, f"larger than {limit} bytes", path)
            return bytes(data)

        return self._call("read", read, path)

    def create_exclusive(self, path: str, data: bytes, mode: int) -> None:
        """O_CREAT|O_EXCL, chmod, write all, close. Durable after the next sync()."""
        f = self._call("create", lambda: self._sftp.open(path, "wbx"), path)
        try:
            # chmod on the handle before any data goes in (sftp-server created it 0666&umask).
            self._call("chmod", lambda: f.chmod(mode), path)
            self._call("write", lambda: f.write(data), path)
            self._call("write", f.close, path)
        except BaseException:
            f.close()
            with contextlib.suppress(Exception):
                self._sftp.remove(path)  # no half-written file left behind
            raise
        self._dirty.append(path)
        actionlog.record(self.log_as, "write", f"{path} (new, {len(data)} bytes, mode {mode:04o})")

    def overwrite(self, path: str, data: bytes) -> None:
        """In place (no O_CREAT: ENOENT if missing), write, then cut the old tail. Durable
        after sync(). Writing first: a connection lost half-way leaves the old tail (and its
        final newline) rather than an empty or cut-off file."""

        def write() -> None:
            with self._sftp.open(path, "r+b") as f:
                f.write(data)
                f.truncate(len(data))

        self._call("overwrite", write, path)
        self._dirty.append(path)
        actionlog.record(self.log_as, "rewrite in place", f"{path} ({len(data)} bytes)")

    def rename(self, src: str, dst: str) -> None:
        """Atomic replace via posix-rename@openssh.com."""
        self._call("rename", lambda: self._sftp.posix_rename(src, dst), src, dst)
        self._dirty = [dst if p == src else p for p in self._dirty]
        actionlog.record(self.log_as, "rename", f"{src} -> {dst}")

    def rename_over(self, src: str, dst: str, limit: int = 64 << 20,
                    settle: tuple[float, ...] = ()) -> bytes | None:
        """posix-rename, then read the replaced file through a handle opened before it
        (sftp-server keeps the open descriptor, so the handle still reaches that file)."""
        try:
            handle = self._sftp.open(dst, "rb")
        except FileNotFoundError:
            handle = None
        except Exception as e:
            raise self._error(e, "read", dst, None) from e
        try:
            self.rename(src, dst)
            if handle is None:
                return None

            def read() -> bytes:
                handle.seek(0)
                data = handle.read(limit + 1)
                if len(data) > limit:
                    raise OSError(errno.EFBIG, f"larger than {limit} bytes", dst)
                return bytes(data)

            old = self._call("read", read, dst)
            for delay in settle:
                time.sleep(delay)
                again = self._call("read", read, dst)
                if again != old:
                    return again
            return old
        finally:
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.close()

    def chown(self, path: str, uid: int, gid: int) -> None:
        self._call("chown", lambda: self._sftp.chown(path, uid, gid), path)
        actionlog.record(self.log_as, "chown", f"{path} {uid}:{gid}")

    def chmod(self, path: str, mode: int) -> None:
        self._call("chmod", lambda: self._sftp.chmod(path, mode), path)
        actionlog.record(self.log_as, "chmod", f"{path} {mode:04o}")

    def symlink(self, target: str, path: str) -> None:
        # paramiko's symlink(source, dest) matches OpenSSH's (swapped) SSH_FXP_SYMLINK order.
        self._call("symlink", lambda: self._sftp.symlink(target, path), path)
        actionlog.record(self.log_as, "symlink", f"{path} -> {target}")

    def readlink(self, path: str) -> str:
        target = self._call("readlink", lambda: self._sftp.readlink(path), path)
        if target is None:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)
        return target

    def unlink(self, path: str) -> None:
        self._call("unlink", lambda: self._sftp.remove(path), path)
        actionlog.record(self.log_as, "remove", path)
        self._dirty = [p for p in self._dirty if p != path]

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        """Like os.makedirs(exist_ok=True), but every directory it creates gets `mode`."""
        try:
            st = self._sftp.stat(path)
        except FileNotFoundError:
            st = None
        except Exception as e:
            raise self._error(e, "stat", path, None) from e
        if st is not None:
            if not stat.S_ISDIR(st.st_mode or 0):
                raise OSError(errno.EEXIST, "exists and is not a directory", path)
            return
        parent = posixpath.dirname(posixpath.normpath(path))
        if parent and parent != path:
            self.makedirs(parent, mode)
        try:
            self._sftp.mkdir(path, mode)
        except Exception as e:
            err = self._error(e, "mkdir", path, None)
            if isinstance(err, FileExistsError):
                try:
                    if stat.S_ISDIR(self._sftp.stat(path).st_mode or 0):
                        return  # created meanwhile by someone else
                except OSError:
                    pass
            raise err from e
        actionlog.record(self.log_as, "mkdir", f"{path} (mode {mode:04o})")
        self.chmod(path, mode)  # sftp-server's umask applied to mkdir's mode

    def mkdir(self, path: str, mode: int = 0o700) -> None:
        self._call("mkdir", lambda: self._sftp.mkdir(path, mode), path)
        actionlog.record(self.log_as, "mkdir", f"{path} (mode {mode:04o})")
        self.chmod(path, mode)  # sftp-server's umask applied to mkdir's mode

    def listdir(self, path: str) -> list[str]:
        return self._call("listdir", lambda: self._sftp.listdir(path), path)

    def sync(self, paths: list[str]) -> None:
        """Make the files written since the last sync and these directories durable."""
        if self._sync is None:
            raise OSError(errno.EOPNOTSUPP, "no command channel to run sync on the target")
        self._sync(list(dict.fromkeys([*self._dirty, *paths])))
        self._dirty = []

    def close(self) -> None:
        chan = self._sftp.get_channel()
        self._sftp.close()
        if chan is not None:
            chan.close()

    def __enter__(self) -> SftpOps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
