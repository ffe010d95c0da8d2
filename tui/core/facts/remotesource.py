"""A host over SSH as the collector's Source (tui.core.facts.collect) and, through
remotefs.RemoteFS, the library resolver's FS: each answers from what was fetched so far
(a Store) and asks (through a Planner) for what it lacked.

Paths are resolved here, link by link, from the lstat() and readlink() answers, exactly as
for a mounted root."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import stat
import subprocess
from collections.abc import Sequence
from typing import cast

from tui.core.facts.collect import (
    JOURNAL_ARGV,
    JOURNAL_MATCH,
    JOURNAL_OUTPUT,
    LOG_WORDS,
    Ran,
    journal_lines,
)
from tui.core.facts.common import openssh_version
from tui.core.facts.model import (
    CONFIG_DIRS,
    LIVE_TIMEOUT,
    SSHD_PATHS,
    Facts,
    FileBlob,
    PathInfo,
)
from tui.core.facts.remotefs import HEAD, TAIL, Meta, Missing, RemoteFS, sendable
from tui.core.facts.remoteplan import WHOLE_MAX, Planner, prefixes
from tui.core.facts.remotestore import Store
from tui.core.libs.fs import FS
from tui.core.libs.model import BinaryLibs
from tui.core.libs.replace import package_owner
from tui.core.rootpath import NotRegularFile, file_kind, walk
from tui.core.targets.shellchan import Request, ShellServer

_VERSION_ERE = r"OpenSSH_[0-9]+\.[0-9]+(p[0-9]+)?"  # common._VERSION, as grep -E says it
# No file crosses the network whole past this (the rules files and fail2ban's database may
# be read up to 256 MiB on a disk): three of them in base64 stay within the batch bound.
READ_LIMIT = 48 << 20
_DEV_NULL = (1, 3)
LDSO_DIR = "/etc/ld.so.conf.d"
_HINTS = ("/etc/ld.so.conf", LDSO_DIR, "/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
          "/lib/aarch64-linux-gnu")


class RemoteSource:
    """A host over SSH, as the collector's Source; also the library resolver's FS."""

    kind = "ssh"
    live = True

    def __init__(self, server: ShellServer, label: str) -> None:
        self.server = server
        self.label = label
        self.store = Store()  # what came back
        self.plan = Planner(self.store, self.libfs)  # what to ask next
        self.elf_cache: dict = {}
        self.missed = False
        for path in _HINTS:  # what the library resolver reads first, asked for at once
            self.plan.need(path)
        self.plan.ask(("l", LDSO_DIR), ("l", [LDSO_DIR]))
        # Drop-in directories' files come with the first batch, not after their listing.
        for d, suffix in [(LDSO_DIR, ".conf"), *((d, x) for d in CONFIG_DIRS
                                                  for x in (".conf", ".local"))]:
            self.plan.ask(("G", d, suffix), ("G", [str(WHOLE_MAX), d, suffix, *prefixes(d)]))
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.version(SSHD_PATHS[0])  # asked before sshd is known to be there
            self.keyperm(SSHD_PATHS[0])
        # ldd's word on sshd's libraries, and their heads and tails: a hint of what to
        # fetch (the resolver decides on the bytes), so that the whole closure comes in
        # two round trips whatever its depth.
        self.plan.ask(("L",), ("L", [str(HEAD), str(TAIL), *SSHD_PATHS]))

    @property
    def want(self) -> dict[tuple, Request]:
        """What the last run lacked: the next round trip's requests, by key."""
        return self.plan.want

    def misses(self) -> int:
        return self.plan.asked

    def fetch(self) -> None:
        """One round trip: everything the last run lacked (see Planner.batch)."""
        keys, requests = self.plan.batch()
        answers = self.server.call(requests)
        for key, req, ans in zip(keys, requests, answers):
            self.store.take(key, req, ans)

    # -- paths ------------------------------------------------------------------------------

    def meta_of(self, path: str) -> Meta:
        """lstat() of a physical path (no link before its last component)."""
        try:
            return self.store.meta(path)
        except Missing:
            self.missed = True
            self.plan.need(path, -1)  # resolve() asks for the whole path's bytes
            raise

    def _readlink(self, path: str) -> str:
        try:
            return self.store.readlink(path)
        except Missing:
            self.missed = True
            self.plan.need(path, -1)
            raise

    def resolve(self, target: str, follow_last: bool = True) -> str:
        """The physical path of `target` (links followed as the kernel would)."""
        if not sendable(target):
            return "/nonexistent/unsendable"
        missed, self.missed = self.missed, False
        try:
            return walk(target, lambda p: self.meta_of(p).st_mode, self._readlink,
                        follow_last=follow_last)
        finally:
            if self.missed:  # the whole path at once: its prefixes come with it
                self.plan.need(target)
            self.missed = self.missed or missed

    def _lookup(self, path: str, follow: bool = True) -> tuple[str, Meta | None]:
        key = self.resolve(path, follow_last=follow)
        try:
            return key, self.meta_of(key)
        except FileNotFoundError:
            return key, None

    def _lookup_meta(self, path: str, follow: bool = True) -> tuple[str, Meta | None]:
        """_lookup for what only needs the stat (a log's tail, exists, stat): no bytes."""
        self.plan.prefetch = -1
        try:
            return self._lookup(path, follow)
        finally:
            self.plan.prefetch = WHOLE_MAX

    def _errno_for(self, key: str) -> int:
        for p in prefixes(key)[:-1]:
            meta = self.store.lst.get(p)
            if meta is not None and not stat.S_ISDIR(meta.st_mode) and \
                    not stat.S_ISLNK(meta.st_mode):
                return errno.ENOTDIR
        return errno.ENOENT

    # -- the collector's Source -------------------------------------------------------------

    def hostname(self) -> str | None:
        if self.store.ident is None:
            self.plan.ask(("i",), ("i", []))
            return None
        return self.store.ident[1] or None

    def first_notes(self) -> list[str]:
        uid = self.store.ident[0] if self.store.ident else "0"
        return [] if uid == "0" else [f"collected as uid {uid}, not root"]

    def read(self, path: str, limit: int) -> FileBlob:
        limit = min(limit, READ_LIMIT)
        try:
            key, meta = self._lookup(path)
        except OSError as e:
            return FileBlob(None, e.errno or errno.EIO)
        if meta is None:
            return FileBlob(None, self._errno_for(key))
        if stat.S_ISDIR(meta.st_mode):
            return FileBlob(b"", errno.EISDIR)
        if stat.S_ISCHR(meta.st_mode) and meta.st_rdev == _DEV_NULL:
            return FileBlob(b"")
        if not stat.S_ISREG(meta.st_mode):
            return FileBlob(None, errno.EINVAL)
        if meta.st_size > limit:
            return FileBlob(None, errno.EFBIG, meta.st_size)
        if key in self.store.denied:
            return FileBlob(None, errno.EACCES)
        got = self.store.data.get(key)
        if got is None or got[1] is None and got[0] < limit:
            self.plan.need(path, limit)
            return FileBlob(None, errno.ENOENT)
        if got[1] is None or len(got[1]) > limit:
            return FileBlob(None, errno.EFBIG, meta.st_size)  # it grew meanwhile
        return FileBlob(got[1])

    def read_tail(self, path: str, limit: int, words: tuple[str, ...] = ()) -> bytes:
        key, meta = self._lookup_meta(path)
        if meta is None:
            code = self._errno_for(key)
            raise OSError(code, os.strerror(code), path)
        if not stat.S_ISREG(meta.st_mode):
            if stat.S_ISCHR(meta.st_mode) and meta.st_rdev == _DEV_NULL:
                return b""
            raise NotRegularFile(path, cast(os.stat_result, meta))
        if key in self.store.denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        if key not in self.store.tails:
            if sendable(path):
                self.plan.ask(("t", path), ("t", [str(limit), str(len(words)), *words,
                                                   *prefixes(path)]))
            raise Missing(errno.ENOENT, "not fetched yet", path)
        data = self.store.tails[key]
        return data[-limit:] if data else b""

    def exists(self, path: str) -> bool:
        try:
            return self._lookup_meta(path, follow=False)[1] is not None
        except OSError:
            return False

    def stat(self, path: str) -> PathInfo:
        try:
            key, meta = self._lookup_meta(path)
        except OSError as e:
            return PathInfo(None, errno=e.errno or errno.EIO)
        if meta is None:
            return PathInfo(None, errno=self._errno_for(key))
        return PathInfo(meta.st_mode, meta.st_uid, meta.st_gid)

    def kind_of(self, path: str) -> str | None:
        try:
            meta = self._lookup_meta(path)[1]
        except OSError:
            return None
        return None if meta is None else file_kind(meta.st_mode)

    def listdir(self, path: str) -> list[str]:
        if not sendable(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if path not in self.store.dirs:
            self.plan.ask(("l", path), ("l", [path]))
            raise Missing(errno.ENOENT, "not fetched yet", path)
        names = self.store.dirs[path]
        if names is None:
            code = errno.EACCES if path in self.store.denied else errno.ENOENT
            raise OSError(code, os.strerror(code), path)
        return list(names)

    def run(self, argv: Sequence[str], timeout: float, limit: int) -> Ran | None:
        key = tuple(argv)
        ans = self.store.runs.get(key)
        if ans is None:
            self.plan.ask(("r", key), ("r", [str(int(timeout)), str(limit), *argv]))
            return None
        if ans.first("absent") is not None:
            return None
        rc = ans.first("rc")
        if rc is None or len(rc[0]) != 1 or not rc[0][0].isascii() or not rc[0][0].isdigit():
            raise OSError(errno.EIO, "no exit status came back")
        if rc[0][0] == "124":
            raise subprocess.TimeoutExpired(list(argv), timeout)
        err = ans.first("err")
        out = rc[1]
        return Ran(int(rc[0][0]), out[:limit], err[1] if err else b"", len(out) > limit)

    def start(self, argv: Sequence[str], timeout: float, limit: int) -> None:
        """Nothing to begin: the first batch asks for every command at once."""

    def journal(self, notes: list[str]) -> list[str]:
        try:
            # the lines no LOG_PATTERN match can hold stay on the target
            grep = " ".join(f"-e {shlex.quote(w)}" for w in LOG_WORDS) or "-e ''"
            ran = self.run(("sh", "-c", f'command -v journalctl >/dev/null || exit 0; '
                            f'journalctl "$@" | grep -F {grep}', "-",
                            *JOURNAL_ARGV[1:], *JOURNAL_MATCH), 10, JOURNAL_OUTPUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            notes.append(f"journal not read: {e}")
            return []
        return [] if ran is None else journal_lines(ran, notes)

    def processes(self) -> list[str]:
        if self.store.proc is None:
            self.plan.ask(("p",), ("p", []))
            return []
        return list(self.store.proc)

    def version(self, path: str) -> str | None:
        # What openssh_version() finds in the bytes, found by the target's grep: the first
        # match in the file (-a: it is binary; the pattern cannot span a line).
        try:
            ran = self.run(("sh", "-c", "grep -a -o -E -e \"$1\" -- \"$2\" | head -n 1", "-",
                            _VERSION_ERE, path), LIVE_TIMEOUT, 4096)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return openssh_version(ran.stdout) if ran else None

    def keyperm(self, path: str) -> bool | None:
        # keyperm_patched() by the target's grep: 0 it names the group, 1 not, else unread
        try:
            ran = self.run(("sh", "-c", "grep -qaF ssh_keys -- \"$1\"; echo $?", "-", path),
                           LIVE_TIMEOUT, 64)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return {b"0": True, b"1": False}.get(ran.stdout.strip()) if ran else None

    def add_owner(self, fs: FS, libs: BinaryLibs, soname: str, facts: Facts) -> None:
        # dpkg's lists through the fetched files; an RPM database is not fetched over SSH
        # (tens of MiB): the package is then not named
        owner = package_owner(fs, soname)
        if owner:
            facts.owners[soname] = owner

    def libfs(self) -> RemoteFS:
        return RemoteFS(self)
