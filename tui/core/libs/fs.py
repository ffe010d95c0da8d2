"""How the library resolver sees a file system: target paths in, file data and metadata out.

:class:`RootFS` is a system mounted under a directory ("/" for this machine): every path is
resolved inside it (rootpath), nothing under it is executed. Another implementation can
serve the same questions from bytes fetched from elsewhere (a host over SSH). A *key* is
what :meth:`FS.resolve` returns: the physical place of a target path, to hand back to the
other methods.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from typing import BinaryIO, Protocol

from tui.core.rootpath import NotRegularFile, open_regular, resolve_in_root, to_target


class StatLike(Protocol):
    @property
    def st_mode(self) -> int: ...

    @property
    def st_dev(self) -> int: ...

    @property
    def st_ino(self) -> int: ...

    @property
    def st_size(self) -> int: ...


class FS(Protocol):
    def resolve(self, target: str, follow_last: bool = True) -> str:
        """The key of target path `target`, its symlinks followed (OSError(ELOOP))."""
        ...

    def to_target(self, key: str) -> str: ...

    def stat(self, key: str) -> StatLike:
        """stat() (a final symlink followed); OSError when there is nothing."""
        ...

    def lexists(self, key: str) -> bool: ...

    def islink(self, key: str) -> bool: ...

    def listdir(self, key: str) -> list[str]: ...

    def open(self, key: str) -> tuple[BinaryIO, int]:
        """(a readable, seekable file, its size) of a regular file; the key must not name a
        symlink. NotRegularFile (EISDIR for a directory) or the OSError of the failure."""
        ...

    def prefilter(self, keys: list[str], needles: Iterable[bytes]) -> list[str]:
        """The keys whose files might contain one of `needles` (all of them will do)."""
        ...


class RootFS:
    """This machine's file system, or a system mounted at `root`; keys are host paths."""

    def __init__(self, root: str = "/") -> None:
        self.root = root

    def resolve(self, target: str, follow_last: bool = True) -> str:
        return resolve_in_root(self.root, target, follow_last=follow_last)

    def to_target(self, key: str) -> str:
        return to_target(self.root, key)

    def stat(self, key: str) -> StatLike:
        return os.stat(key)

    def lexists(self, key: str) -> bool:
        return os.path.lexists(key)

    def islink(self, key: str) -> bool:
        return os.path.islink(key)

    def listdir(self, key: str) -> list[str]:
        return os.listdir(key)

    def open(self, key: str) -> tuple[BinaryIO, int]:
        fd, st = open_regular(key)
        return os.fdopen(fd, "rb"), st.st_size

    def prefilter(self, keys: list[str], needles: Iterable[bytes]) -> list[str]:
        return keys


def as_fs(root: str | FS) -> FS:
    return RootFS(root) if isinstance(root, str) else root


def safe_resolve(fs: FS, target: str, follow_last: bool = True) -> str:
    """The key of `target`; one that opens nothing when the path cannot be resolved."""
    try:
        return fs.resolve(target, follow_last=follow_last)
    except OSError:  # ELOOP: a path that cannot be opened
        return fs.resolve("/nonexistent/" + target.lstrip("/"), follow_last=False)


def open_file(fs: FS, key: str) -> tuple[BinaryIO, int]:
    """FS.open, a directory raised as IsADirectoryError. Never opens a FIFO or a device."""
    try:
        return fs.open(key)
    except NotRegularFile as e:
        if e.errno == errno.EISDIR:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), key) from None
        raise


def read_bounded(fs: FS, key: str, limit: int) -> bytes | None:
    """A regular file's bytes, None if it is anything else, unreadable or over `limit`."""
    try:
        f, size = fs.open(key)
    except OSError:
        return None
    with f:
        try:
            if size > limit:
                return None
            data = f.read(limit + 1)
        except OSError:
            return None
    return None if len(data) > limit else data


def is_dir(fs: FS, target: str) -> bool:
    try:
        return stat.S_ISDIR(fs.stat(fs.resolve(target)).st_mode)
    except OSError:
        return False



def clean_path(path: str) -> str:
    """Collapse '//' and '/./' but keep '..' (its meaning depends on symlinks)."""
    parts = [p for p in path.split("/") if p and p != "."]
    return "/" + "/".join(parts)
