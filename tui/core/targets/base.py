"""What every target offers: file operations on its file system, and collecting its facts.

Paths given to a FileOps are always the paths *as the target sees them* (``/etc/hosts.deny``),
whether the target is this machine, a system mounted under a directory, or a host over SSH.
Errors are raised as ``OSError`` subclasses carrying a real ``errno`` so that one applier can
handle every target the same way (EBUSY for a bind-mounted file, EROFS, ENOSPC, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tui.core.errors import UserError


@dataclass(frozen=True)
class FileStat:
    mode: int  # st_mode, type bits included
    uid: int
    gid: int
    size: int
    mtime: float


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: bytes
    stderr: bytes


class TargetError(UserError):
    """The target cannot be used (unreachable, untrusted key, no sudo, bad --root ...).

    The message is one line an operator can act on; CLI commands exit 2 with it.
    """

    title = "cannot use the target"


class FileOps(Protocol):
    def lstat(self, path: str) -> FileStat: ...

    def read_bytes(self, path: str, limit: int = 64 << 20) -> bytes:
        """The whole file; OSError(EFBIG) when it is larger than `limit`."""
        ...

    def create_exclusive(self, path: str, data: bytes, mode: int) -> None:
        """O_CREAT|O_EXCL, write all, fsync (where the transport allows), close."""
        ...

    def overwrite(self, path: str, data: bytes) -> None:
        """In place (O_WRONLY|O_TRUNC) + fsync: only for files that cannot be renamed over."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Atomic replace (rename(2) / posix-rename@openssh.com)."""
        ...

    def rename_over(self, src: str, dst: str, limit: int = 64 << 20,
                    settle: tuple[float, ...] = ()) -> bytes | None:
        """rename(src, dst), and what the replaced `dst` held after the rename, read through
        a handle opened before it (None: there was no `dst`). It is read at once and again
        after each delay of `settle` (seconds), as long as it does not change.

        Another program that appended to `dst` between our last read and the rename (or had
        it open then and writes a moment later) wrote into the file we replaced; this is how
        the caller finds out and gives those bytes back.
        """
        ...

    def chown(self, path: str, uid: int, gid: int) -> None: ...

    def chmod(self, path: str, mode: int) -> None: ...

    def symlink(self, target: str, path: str) -> None: ...

    def readlink(self, path: str) -> str: ...

    def unlink(self, path: str) -> None: ...

    def makedirs(self, path: str, mode: int = 0o700) -> None: ...

    def mkdir(self, path: str, mode: int = 0o700) -> None:
        """Exactly one directory, created by us: FileExistsError when it exists."""
        ...

    def listdir(self, path: str) -> list[str]: ...

    def sync(self, paths: list[str]) -> None:
        """Make completed renames/creations in these directories durable (fsync the dirs)."""
        ...

    def close(self) -> None: ...
