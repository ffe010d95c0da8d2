"""FileOps on this machine's file system, or on a system mounted under a directory.

Under ``--root DIR`` every target path is resolved as if DIR were ``/`` (absolute symlinks
inside the mounted system stay inside it), and nothing under DIR is ever executed.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time

from tui.core import actionlog, selinux
from tui.core.rootpath import open_regular, read_fd, read_regular, resolve_in_root, to_target
from tui.core.targets.base import FileStat

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LocalOps:
    """FileOps for ``/`` (console mode) or for a mounted root."""

    def __init__(self, root: str = "/") -> None:
        self.root = os.path.abspath(root)
        self._policy: selinux.Policy | None = None
        self.log_as = "this machine" if self.root == "/" else self.root  # the action log's

    def host_path(self, path: str, follow_last: bool = False) -> str:
        """Where a target path lives here; the last part is only followed when asked."""
        if self.root == "/":
            return path
        return resolve_in_root(self.root, path, follow_last=follow_last)

    def lstat(self, path: str) -> FileStat:
        st = os.lstat(self.host_path(path))
        return FileStat(st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime)

    def read_bytes(self, path: str, limit: int = 64 << 20) -> bytes:
        # A symlink, FIFO or device planted in /etc must not fool, hang or flood us: only a
        # regular file is opened (ELOOP for a symlink, EINVAL for the others).
        fd, st = open_regular(self.host_path(path), path)
        try:
            return read_fd(fd, st.st_size, limit, name=path)
        finally:
            os.close(fd)

    def create_exclusive(self, path: str, data: bytes, mode: int) -> None:
        host = self.host_path(path)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, mode)
        try:
            os.fchmod(fd, mode)  # umask must not weaken or widen what we copy
            _write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):  # the first error is the one to report
                os.unlink(host)  # no half-written temp or backup left behind (ENOSPC)
            raise
        os.close(fd)
        actionlog.record(self.log_as, "write", f"{path} (new, {len(data)} bytes, mode {mode:04o})")

    def overwrite(self, path: str, data: bytes) -> None:
        fd = os.open(self.host_path(path), os.O_WRONLY | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            _write_all(fd, data)
            os.ftruncate(fd, len(data))  # after writing: a failed write leaves the old tail
            os.fsync(fd)
        finally:
            os.close(fd)
        actionlog.record(self.log_as, "rewrite in place", f"{path} ({len(data)} bytes)")

    def rename(self, src: str, dst: str) -> None:
        os.rename(self.host_path(src), self.host_path(dst))
        actionlog.record(self.log_as, "rename", f"{src} -> {dst}")

    def rename_over(self, src: str, dst: str, limit: int = 64 << 20,
                    settle: tuple[float, ...] = ()) -> bytes | None:
        host = self.host_path(dst)
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC)
        except FileNotFoundError:
            fd = None
        try:
            os.rename(self.host_path(src), host)
            actionlog.record(self.log_as, "rename", f"{src} -> {dst} (replacing it)")
            if fd is None:
                return None
            old = read_fd(fd, os.fstat(fd).st_size, limit, name=dst)
            for delay in settle:
                time.sleep(delay)
                again = read_fd(fd, os.fstat(fd).st_size, limit, name=dst)
                if again != old:
                    return again
            return old
        finally:
            if fd is not None:
                os.close(fd)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self.host_path(path), uid, gid, follow_symlinks=False)
        actionlog.record(self.log_as, "chown", f"{path} {uid}:{gid}")

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self.host_path(path), mode)
        actionlog.record(self.log_as, "chmod", f"{path} {mode:04o}")

    def selinux_policy(self) -> selinux.Policy:
        """The SELinux policy of the target (read once). On this machine it only counts
        when the running kernel has SELinux on (selinuxfs mounted)."""
        if self._policy is None:
            if self.root == "/" and not os.path.exists(selinux.ENFORCE):
                self._policy = selinux.Policy(None, None, None)
            else:
                self._policy = selinux.load_policy(self._read_or_none)
        return self._policy

    def _read_or_none(self, path: str, limit: int) -> bytes | None:
        try:
            return read_regular(self.root, path, limit)
        except OSError:
            return None

    def label(self, path: str, final: str, like: str | None = None) -> str | None:
        """Give `path`, just created by us (a temp file that becomes `final`, or the symlink
        `final` itself), the SELinux label it needs: that of `like` (the file it replaces)
        when that has one, else the one the target's policy (its file_contexts) gives
        `final`. Returns None when done or not needed (no SELinux), else a note saying what
        was not labelled and the command that labels it."""
        host = self.host_path(path)
        if like is not None:
            old = selinux.get_label(self.host_path(like))
            if old:
                try:
                    selinux.set_label(host, old)
                    actionlog.record(self.log_as, "selinux label", f"{path} {old}")
                    return None
                except OSError as e:
                    return self._unlabelled(final, old, selinux.why_not(e))
        policy = self.selinux_policy()
        if not policy.in_use:
            return None
        try:
            mode = os.lstat(host).st_mode
        except OSError as e:
            return self._unlabelled(final, None, e.strerror or str(e))
        want = policy.wanted(self._real(final), mode)
        if want is None:
            why = ("the policy's file_contexts could not be read" if policy.contexts is None
                   else "the policy's file_contexts name no label for it")
            return self._unlabelled(final, None, why)
        try:
            selinux.set_label(host, want)
        except OSError as e:
            return self._unlabelled(final, want, selinux.why_not(e))
        actionlog.record(self.log_as, "selinux label", f"{path} {want}")
        return None

    def _real(self, path: str) -> str:
        """`path` with its directories' symlinks resolved (/lib64/x -> /usr/lib64/x), as
        restorecon looks a path up."""
        d, base = os.path.split(path)
        if self.root == "/":
            return os.path.join(os.path.realpath(d), base)
        return os.path.join(to_target(self.root, resolve_in_root(self.root, d)), base)

    def _unlabelled(self, path: str, want: str | None, why: str) -> str:
        what = f"its SELinux label ({selinux.type_of(want)})" if want else "its SELinux label"
        if self.root == "/":
            fix = f"restorecon -v {shlex.quote(path)}"
        else:
            fix = f"touch {shlex.quote(os.path.join(self.root, '.autorelabel'))}"
            fix += " (the disk's next boot relabels every file)"
        return f"{path}: {what} was not set: {why}; run: {fix}"

    def symlink(self, target: str, path: str) -> None:
        os.symlink(target, self.host_path(path))
        actionlog.record(self.log_as, "symlink", f"{path} -> {target}")

    def readlink(self, path: str) -> str:
        return os.readlink(self.host_path(path))

    def unlink(self, path: str) -> None:
        os.unlink(self.host_path(path))
        actionlog.record(self.log_as, "remove", path)

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        host = self.host_path(path, follow_last=True)
        if not os.path.isdir(host):
            os.makedirs(host, mode=mode, exist_ok=True)
            actionlog.record(self.log_as, "mkdir -p", f"{path} (mode {mode:04o})")

    def mkdir(self, path: str, mode: int = 0o700) -> None:
        host = self.host_path(path)
        os.mkdir(host, mode)
        os.chmod(host, mode)  # umask must not change it
        actionlog.record(self.log_as, "mkdir", f"{path} (mode {mode:04o})")

    def listdir(self, path: str) -> list[str]:
        return os.listdir(self.host_path(path, follow_last=True))

    def sync(self, paths: list[str]) -> None:
        for d in dict.fromkeys(paths):
            host = self.host_path(d, follow_last=True)
            fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
