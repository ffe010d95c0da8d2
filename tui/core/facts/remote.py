"""Facts of a live host over SSH: the collector of tui.core.facts.collect, reading through the
request server of tui.core.targets.shellchan on one channel.

The collector runs against what has been fetched so far; whatever it lacked (a file, a stat,
a listing, a command's output) is asked for in one batch, and it runs again: each run costs
one round trip, and the facts are those of the first run that lacked nothing. Paths are
resolved here, link by link, from the lstat() and readlink() answers, exactly as for a
mounted root, and sshd's libraries come from the same offline ELF resolver, on the bytes of
the target's files.

What the resolver reads is fetched ahead, whatever the depth of sshd's dependencies: the
target's `ldd` names the files (a hint only: nothing is decided on its text), their first
and last bytes come at once, and the program and section headers in those say where the
dynamic table and its strings are (elf_wants); only those ranges are fetched next. On a
server started with first_batches(), that second request goes out while the first run's
batch is still running, so a normal host costs two round trips of the channel.
"""

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
from tui.core.facts.collect import collect as collect_from
from tui.core.facts.common import openssh_version
from tui.core.facts.model import (
    CONFIG_DIRS,
    LIVE_TIMEOUT,
    SSHD_PATHS,
    Facts,
    FileBlob,
    PathInfo,
)
from tui.core.facts.remotefs import (
    RANGE_MAX,
    Meta,
    Missing,
    RemoteFS,
    elf_wants,
    sendable,
)
from tui.core.libs.elf import Reject, parse_header
from tui.core.libs.fs import FS
from tui.core.libs.ldpaths import listed_dirs
from tui.core.libs.model import BinaryLibs
from tui.core.libs.replace import package_owner
from tui.core.rootpath import NotRegularFile, file_kind, walk
from tui.core.targets.shellchan import Answer, Request, ShellServer

# With a path's stat, its bytes up to this many (what the collector reads next).
WHOLE_MAX = 128 << 10
# A library's ELF reading needs its headers, dynamic table and a few strings, not its code:
# it comes as its first (ELF and program headers) and last bytes (section headers: where
# the strings are), then the exact ranges those name (remotefs.elf_wants), the rest of what
# the reader touches on request, BLOCK-aligned (remotefs).
HEAD, TAIL = 4 << 10, 4 << 10
# Where a library ldd names may also be looked for: their stats come before the resolver
# asks (besides the directories of the paths ldd gave).
_LIB_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")
_MAX_DIRS, _MAX_NAMES = 48, 96
_VERSION_ERE = r"OpenSSH_[0-9]+\.[0-9]+(p[0-9]+)?"  # common._VERSION, as grep -E says it
# No file crosses the network whole past this (the rules files and fail2ban's database may
# be read up to 256 MiB on a disk): three of them in base64 stay within the batch bound.
READ_LIMIT = 48 << 20
MAX_ROUNDS = 16  # collection runs; each is one round trip (a normal host needs about six)
_DEV_NULL = (1, 3)
_LDSO_DIR = "/etc/ld.so.conf.d"
_HINTS = ("/etc/ld.so.conf", _LDSO_DIR, "/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
          "/lib/aarch64-linux-gnu")


class FactsError(ValueError):
    """The target's answers do not add up (cut off, garbled, or never complete)."""


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def _prefixes(path: str) -> list[str]:
    out, cur = [], ""
    for p in _parts(path):
        cur += "/" + p
        out.append(cur)
    return out or ["/"]


class RemoteSource:
    """A host over SSH, as the collector's Source; also the library resolver's FS."""

    kind = "ssh"
    live = True

    def __init__(self, server: ShellServer, label: str) -> None:
        self.server = server
        self.label = label
        self.lst: dict[str, Meta | None] = {}  # lstat() by path as sent; None: nothing there
        self.links: dict[str, str] = {}  # readlink()
        self.data: dict[str, tuple[int, bytes | None]] = {}  # key -> (limit asked, bytes)
        self.ranges: dict[str, dict[int, bytes]] = {}  # key -> offset -> bytes
        self.denied: set[str] = set()  # regular files the target would not let us read
        self.tails: dict[str, bytes | None] = {}
        self.dirs: dict[str, list[str] | None] = {}
        self.hits: dict[tuple[bytes, tuple[str, ...]], list[str]] = {}
        self.runs: dict[tuple[str, ...], Answer] = {}
        self.proc: list[str] | None = None
        self.ident: tuple[str | None, str | None] | None = None
        self.want: dict[tuple, Request] = {}
        self.asked = 0
        self.elf_cache: dict = {}
        # With a path's stat, its bytes up to this many (what the resolver reads next);
        # -1 while a log's tail is looked up.
        self.prefetch = WHOLE_MAX
        self.libmode = False  # the library resolver is reading: a file's head and tail
        self.missed = False
        self.pending: dict[str, list[tuple[int, int]]] = {}  # ranges asked in this batch
        self.ldd_names: set[str] = set()
        self.ldd_dirs: set[str] = set()
        self.ldd_bins: list[str] = []  # the binaries' physical paths
        self._planned_dirs: set[str] = set()
        self._dirs_done = False
        self._planned: set[str] = set()  # keys planned for the next batch
        for path in _HINTS:  # what the library resolver reads first, asked for at once
            self.need(path)
        self.ask(("l", _LDSO_DIR), ("l", [_LDSO_DIR]))
        # Drop-in directories' files come with the first batch, not after their listing.
        for d, suffix in [(_LDSO_DIR, ".conf"), *((d, x) for d in CONFIG_DIRS
                                                   for x in (".conf", ".local"))]:
            self.ask(("G", d, suffix), ("G", [str(WHOLE_MAX), d, suffix, *_prefixes(d)]))
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.version(SSHD_PATHS[0])  # asked before sshd is known to be there
            self.keyperm(SSHD_PATHS[0])
        # ldd's word on sshd's libraries, and their heads and tails: a hint of what to
        # fetch (the resolver decides on the bytes), so that the whole closure comes in
        # two round trips whatever its depth.
        self.ask(("L",), ("L", [str(HEAD), str(TAIL), *SSHD_PATHS]))

    # -- fetching ---------------------------------------------------------------------------

    def ask(self, key: tuple, request: Request) -> None:
        self.asked += 1
        self.want.setdefault(key, request)

    def misses(self) -> int:
        return self.asked

    def batch(self) -> tuple[list[tuple], list[Request]]:
        """The next round trip's requests: everything the last run lacked, and what the
        libraries' bytes fetched so far say the ELF reader will touch next. The stats of
        all paths go in one request (one stat(1) on the target); bytes per file."""
        self._plan()
        stats: dict[str, None] = {}
        keys: list[tuple] = [("s",)]
        requests: list[Request] = [("s", [])]
        ranges: list[str] = []
        for key, (op, args) in self.want.items():
            if op == "x":  # all ranges in one request
                ranges += args
                continue
            if op == "g":
                stats.update(dict.fromkeys(args[3:]))
                if int(args[0]) < 0:
                    continue
                op, args = "d", [*args[:3], args[-1]]
            keys.append(key)
            requests.append((op, args))
        requests[0] = ("s", list(stats))
        if ranges:
            keys.append(("X",))
            requests.append(("X", ranges))
        self.want = {}
        self.pending = {}
        self._planned = set()
        if not stats:
            keys, requests = keys[1:], requests[1:]
        return keys, requests

    def fetch(self) -> None:
        """One round trip: everything the last run lacked (see batch)."""
        keys, requests = self.batch()
        answers = self.server.call(requests)
        for key, req, ans in zip(keys, requests, answers):
            self._take(key, req, ans)

    def _plan(self) -> None:
        for key in list(self.ranges):
            self.plan_key(key)
        if self.ldd_names and not self._dirs_done:
            # Where the resolver will look for each name ldd gave: stats asked at once.
            dirs = set(_LIB_DIRS) | self.ldd_dirs
            for d in self.ldd_dirs:  # a multiarch directory: its siblings
                if d.startswith(("/lib/", "/usr/lib/")):
                    t = d.rsplit("/", 1)[1]
                    dirs.update((f"/lib/{t}", f"/usr/lib/{t}", f"/usr/local/lib/{t}"))
            asked = self.asked
            head = next((h for h in (self.have(p, 0, 64) for p in self.ldd_bins) if h), None)
            with contextlib.suppress(Reject, OSError):
                header = parse_header(head or b"")
                dirs.update(listed_dirs(self.libfs(), header.elfclass, header.machine))
            self._dirs_done = self.asked == asked
            # bounded: ld.so.conf and ldd's text are the target's
            for d in sorted(dirs - self._planned_dirs)[:_MAX_DIRS - len(self._planned_dirs)]:
                self._planned_dirs.add(d)
                for name in sorted(self.ldd_names)[:_MAX_NAMES]:
                    self.need(f"{d}/{name}", -1)

    def plan_key(self, key: str) -> None:
        """Ask for what the ELF reader will touch in `key`, by what came of it so far."""
        meta = self.lst.get(key)
        if meta is None or not self.ranges.get(key) or key in self._planned:
            return
        self._planned.add(key)
        wants = sorted(elf_wants(lambda o, n: self.have(key, o, n), meta.st_size))
        merged: list[list[int]] = []
        for off, length in wants:  # near ones in one read
            if merged and off <= merged[-1][1] + 1024:
                merged[-1][1] = max(merged[-1][1], off + length)
            else:
                merged.append([off, off + length])
        for off, end in merged:
            self.want_range(key, off, min(end - off, RANGE_MAX), meta.st_size)

    def have(self, key: str, offset: int, length: int) -> bytes | None:
        """Bytes [offset, offset + length) of `key` if fetched (whole or as ranges)."""
        got = self.data.get(key)
        if got is not None and got[1] is not None:
            return got[1][offset:offset + length] if offset + length <= len(got[1]) else None
        out, pos, end = b"", offset, offset + length
        for start, data in sorted(self.ranges.get(key, {}).items()):
            if start <= pos < start + len(data):
                take = data[pos - start:end - start]
                out += take
                pos += len(take)
                if pos >= end:
                    return out
        return out if pos >= end else None

    def want_range(self, key: str, offset: int, length: int, size: int,
                    need: tuple[int, int] | None = None) -> bool:
        """Ask for a range of `key` unless fetched or asked already (or `need`, the part
        that matters, is); False when there is nothing to ask."""
        offset, end = max(0, offset), min(size, offset + length)
        lo, hi = need or (offset, end)
        if end <= offset or not sendable(key) or self.have(key, lo, hi - lo) is not None:
            return False
        if any(o <= lo and hi <= o + n for o, n in self.pending.get(key, [])):
            return True
        self.pending.setdefault(key, []).append((offset, end - offset))
        self.ask(("x", key, offset, end - offset),
                  ("x", [key, str(offset), str(end - offset)]))
        return True

    def _physical(self, path: str, ans: Answer) -> str:
        """Where the collector will look `path`'s bytes up."""
        rp = ans.first("rp")
        real = os.fsdecode(rp[1]) if rp and rp[1].startswith(b"/") else path
        want = dict(self.want)
        with contextlib.suppress(OSError):
            real = walk(path, lambda p: self.meta_of(p).st_mode, self._readlink)
        self.want = want
        return real

    def _take_ldd(self, ans: Answer) -> None:
        text = ans.first("ldd")
        for line in os.fsdecode(text[1] if text else b"").splitlines()[:512]:
            name, arrow, rest = line.strip().partition(" => ")
            path = (rest if arrow else name).split(" (0x")[0].strip()
            if arrow and name and "/" not in name and len(name) < 256 and sendable("/" + name):
                self.ldd_names.add(name)
            if path.startswith("/") and sendable(path):
                self.ldd_dirs.add(os.path.dirname(path))
        self._take_hint(ans)

    def _take_hint(self, ans: Answer) -> None:
        """L's files: the bytes of each, one after the other, as their sizes say."""
        self._take_info([], ans)
        sizes, data = ans.first("hs"), ans.first("hb")
        files: list[tuple[int, str]] = []
        for line in os.fsdecode(sizes[1] if sizes else b"").split("\n")[:512]:
            digits, _, name = line.partition(" ")
            if digits.isascii() and digits.isdigit() and name:
                files.append((int(digits), name))
        whole = HEAD + TAIL
        if data is None or len(data[1]) != sum(min(n, whole) for n, _ in files):
            return  # one changed meanwhile: the resolver asks for what it reads
        pos = 0
        for size, name in files:
            real = self._physical(name, Answer())
            if size > whole:
                self._take_range(real, 0, data[1][pos:pos + HEAD])
                self._take_range(real, size - TAIL, data[1][pos + HEAD:pos + whole])
            else:
                old = self.data.get(real)
                if old is None or old[1] is None and old[0] < whole:
                    self.data[real] = (whole, data[1][pos:pos + size])
            pos += min(size, whole)

    def _take_files(self, ans: Answer, limit: int) -> list[str]:
        """An answer naming its files ("nm" before each one's bytes); their physical paths."""
        self._take_info([], ans)
        real = None
        out = []
        for kind, args, body in ans.parts:
            if kind == "nm":
                real = self._physical(os.fsdecode(body), Answer())
                out.append(real)
            elif real is None:
                continue
            elif kind == "data":
                old = self.data.get(real)
                if old is None or old[1] is None and old[0] < limit:
                    self.data[real] = (limit, body)
            elif kind == "eacces":
                self.denied.add(real)
            elif kind == "rg" and args and args[0].isascii() and args[0].isdigit():
                self._take_range(real, int(args[0]), body)
        return out

    def _take_ranges(self, args: list[str], ans: Answer) -> None:
        """X's answer: the ranges of the readable files one after the other, each as long
        as the file's size allows; anything else means a file changed: all dropped (what
        the reader touches is asked again)."""
        readable, data = ans.first("xr"), ans.first("xb")
        if readable is None or data is None:
            return
        wanted = {int(w) for w in readable[1].split() if w.isdigit()}
        cuts: list[tuple[str, int, int]] = []
        for i in range(len(args) // 3):
            if i not in wanted:
                continue
            key, offset, length = args[3 * i], int(args[3 * i + 1]), int(args[3 * i + 2])
            meta = self.lst.get(key)
            if meta is None:
                return
            cuts.append((key, offset, max(0, min(length, meta.st_size - offset))))
        if sum(n for _, _, n in cuts) != len(data[1]):
            return
        pos = 0
        for key, offset, n in cuts:
            self._take_range(key, offset, data[1][pos:pos + n])
            pos += n

    def _take_range(self, key: str, offset: int, body: bytes) -> None:
        old = self.ranges.setdefault(key, {}).get(offset)
        if old is None or len(old) < len(body):
            self.ranges[key][offset] = body

    def _take(self, key: tuple, req: Request, ans: Answer) -> None:
        op, args = req
        if op == "s":
            self._take_info(list(args), ans)
        elif op == "L":
            self._take_ldd(ans)
            self.ldd_bins = [p for p in (self._physical(b, Answer()) for b in args[2:])
                             if p in self.ranges or p in self.data]
        elif op == "G":
            self._take_files(ans, int(args[0]))
        elif op in ("g", "t", "d"):
            if op == "t":
                self._take_info(list(args[2 + int(args[1]):]), ans)
            real = self._physical(args[-1], ans)
            got = ans.first("data")
            for offset, body in ((a[0], b) for k, a, b in ans.parts if k == "rg" and a):
                if offset.isascii() and offset.isdigit():
                    self._take_range(real, int(offset), body)
            if op in ("g", "d"):
                limit = int(args[0])
                old = self.data.get(real)
                if got is not None:
                    self.data[real] = (limit, got[1])
                elif ans.first("eacces") is not None:
                    self.denied.add(real)
                elif limit >= 0 and (old is None or old[1] is None and old[0] < limit):
                    self.data[real] = (limit, None)  # too big for `limit`, or not a file
            else:
                self.tails[real] = got[1] if got is not None else None
                if ans.first("eacces") is not None:
                    self.denied.add(real)
        elif op == "x":
            for offset, body in ((a[0], b) for k, a, b in ans.parts if k == "rg" and a):
                if offset.isascii() and offset.isdigit():
                    self._take_range(args[0], int(offset), body)
        elif op == "X":
            self._take_ranges(list(args), ans)
        elif op == "l":
            names = ans.first("names")
            self.dirs[args[0]] = None if names is None else sorted(
                n for n in (os.fsdecode(x) for x in names[1].split(b"\0"))
                if n not in ("", ".", ".."))
            if ans.first("eacces") is not None:
                self.denied.add(args[0])
        elif op == "f":
            hits = ans.first("hits")
            found = set(os.fsdecode(hits[1]).splitlines()) if hits else set()
            self.hits[key[1], key[2]] = [k for k in args[1:] if k in found]
        elif op == "r":
            self.runs[tuple(args[2:])] = ans
        elif op == "p":
            names = ans.first("names")
            text = names[1].decode("utf-8", "replace") if names else ""
            self.proc = sorted({n.strip() for n in text.splitlines() if n.strip()})
        elif op == "i":
            names = ans.first("names")
            lines = (names[1].decode("utf-8", "replace") if names else "").splitlines()
            self.ident = (lines[0].strip() if lines else None,
                          lines[1].strip() if len(lines) > 1 else None)

    def _take_info(self, asked: list[str], ans: Answer) -> None:
        seen: set[str] = set()
        for body in ans.all("st"):
            for line in body.split(b"\n"):
                words = line.split(b" ", 8)
                if len(words) < 9:
                    continue
                try:
                    mode, major, minor = (int(words[i], 16) for i in (0, 6, 7))
                    dev, ino, size, uid, gid = (int(words[i]) for i in range(1, 6))
                except ValueError:
                    continue
                name = os.fsdecode(words[8])
                seen.add(name)
                self.lst[name] = Meta(mode, dev, ino, size, uid, gid, (major, minor))
        for body in ans.all("ln"):
            fields = body.split(b"\0")
            for raw, target in zip(fields[0::2], fields[1::2]):
                self.links[os.fsdecode(raw)] = os.fsdecode(target[:-1] if target.endswith(b"\n")
                                                          else target)
        names: list[bytes] | None = None
        for kind, _, body in ans.parts:
            if kind == "lz":
                names = body.split(b"\0")[:-1]
            elif kind == "lt" and names is not None:
                targets = body.split(b"\0")[:-1]
                if len(targets) == len(names):  # else one changed meanwhile: asked again
                    for raw, target in zip(names, targets):
                        self.links[os.fsdecode(raw)] = os.fsdecode(target)
                names = None
        for name in asked:
            if name not in seen:
                self.lst.setdefault(name, None)
        # A path given through a link (/lib/x86_64-linux-gnu/x -> /usr/lib/...) was stat'ed
        # by the kernel: file it under its physical name too, where resolve() looks.
        want, self.want = self.want, {}
        try:
            for name in [n for n in (asked or sorted(seen)) if n in self.lst]:
                head, _, base = name.rpartition("/")
                with contextlib.suppress(OSError):
                    phys = walk(head or "/", lambda p: self.meta_of(p).st_mode,
                                self._readlink).rstrip("/") + "/" + base
                    if phys != name:
                        self.lst.setdefault(phys, self.lst[name])
                        if name in self.links:
                            self.links.setdefault(phys, self.links[name])
        finally:
            self.want = want

    # -- paths ------------------------------------------------------------------------------

    def meta_of(self, path: str) -> Meta:
        """lstat() of a physical path (no link before its last component)."""
        if path == "/":
            return self.lst.get("/") or Meta(stat.S_IFDIR | 0o755, 0, 0, 0, 0, 0, (0, 0))
        if path not in self.lst:
            self.missed = True
            self.need(path, -1)  # resolve() asks for the whole path's bytes
            raise Missing(errno.ENOENT, "not fetched yet", path)
        meta = self.lst[path]
        if meta is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return meta

    def _readlink(self, path: str) -> str:
        if path not in self.links:
            self.missed = True
            self.need(path, -1)
            raise Missing(errno.ENOENT, "not fetched yet", path)
        return self.links[path]

    def need(self, path: str, limit: int | None = None) -> None:
        """Ask for `path`'s stat (and its prefixes'), and its bytes up to `limit`; by default
        what the library resolver reads: a small file whole, a big one's head and tail."""
        ranged = limit is None and self.prefetch >= 0 and self.libmode
        if ranged and path in SSHD_PATHS and ("L",) in self.want:
            ranged, limit = False, -1  # ldd's hint, asked in this batch, brings them
        if limit is None:
            limit = HEAD + TAIL if ranged else self.prefetch
        if sendable(path):
            hd, tl = (HEAD, TAIL) if ranged else (0, 0)
            self.ask(("g", path, limit, hd), ("g", [str(limit), str(hd), str(tl),
                                                     *_prefixes(path)]))

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
                self.need(target)
            self.missed = self.missed or missed

    def _lookup(self, path: str, follow: bool = True) -> tuple[str, Meta | None]:
        key = self.resolve(path, follow_last=follow)
        try:
            return key, self.meta_of(key)
        except FileNotFoundError:
            return key, None

    def _errno_for(self, key: str) -> int:
        for p in _prefixes(key)[:-1]:
            meta = self.lst.get(p)
            if meta is not None and not stat.S_ISDIR(meta.st_mode) and \
                    not stat.S_ISLNK(meta.st_mode):
                return errno.ENOTDIR
        return errno.ENOENT

    # -- the collector's Source -------------------------------------------------------------

    def hostname(self) -> str | None:
        if self.ident is None:
            self.ask(("i",), ("i", []))
            return None
        return self.ident[1] or None

    def first_notes(self) -> list[str]:
        uid = self.ident[0] if self.ident else "0"
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
        if key in self.denied:
            return FileBlob(None, errno.EACCES)
        got = self.data.get(key)
        if got is None or got[1] is None and got[0] < limit:
            self.need(path, limit)
            return FileBlob(None, errno.ENOENT)
        if got[1] is None or len(got[1]) > limit:
            return FileBlob(None, errno.EFBIG, meta.st_size)  # it grew meanwhile
        return FileBlob(got[1])

    def _lookup_meta(self, path: str, follow: bool = True) -> tuple[str, Meta | None]:
        """_lookup for what only needs the stat (a log's tail, exists, stat): no bytes."""
        self.prefetch = -1
        try:
            return self._lookup(path, follow)
        finally:
            self.prefetch = WHOLE_MAX

    def read_tail(self, path: str, limit: int, words: tuple[str, ...] = ()) -> bytes:
        key, meta = self._lookup_meta(path)
        if meta is None:
            code = self._errno_for(key)
            raise OSError(code, os.strerror(code), path)
        if not stat.S_ISREG(meta.st_mode):
            if stat.S_ISCHR(meta.st_mode) and meta.st_rdev == _DEV_NULL:
                return b""
            raise NotRegularFile(path, cast(os.stat_result, meta))
        if key in self.denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        if key not in self.tails:
            if sendable(path):
                self.ask(("t", path), ("t", [str(limit), str(len(words)), *words,
                                              *_prefixes(path)]))
            raise Missing(errno.ENOENT, "not fetched yet", path)
        data = self.tails[key]
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
        if path not in self.dirs:
            self.ask(("l", path), ("l", [path]))
            raise Missing(errno.ENOENT, "not fetched yet", path)
        names = self.dirs[path]
        if names is None:
            code = errno.EACCES if path in self.denied else errno.ENOENT
            raise OSError(code, os.strerror(code), path)
        return list(names)

    def run(self, argv: Sequence[str], timeout: float, limit: int) -> Ran | None:
        key = tuple(argv)
        ans = self.runs.get(key)
        if ans is None:
            self.ask(("r", key), ("r", [str(int(timeout)), str(limit), *argv]))
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
        if self.proc is None:
            self.ask(("p",), ("p", []))
            return []
        return list(self.proc)

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


def _first(src: RemoteSource) -> tuple[list[tuple], list[Request], list[tuple], list[Request]]:
    """The first collection run's requests (it knows nothing yet: always the same), as two
    batches: ldd's hint, then the rest."""
    collect_from(src)
    want = src.want
    first = {k: r for k, r in want.items()  # what planning the libraries' ranges needs
             if k[0] == "L" or k[:2] in (("G", _LDSO_DIR), ("l", _LDSO_DIR),
                                         ("g", "/etc/ld.so.conf"))}
    src.want = first
    hk, hint = src.batch()
    src.want = {k: r for k, r in want.items() if k not in first}
    rk, rest = src.batch()
    return hk, hint, rk, rest


def first_batches(label: str) -> list[list[Request]]:
    """The batches to start the server with (see collect): no round trip of their own."""
    _, hint, _, rest = _first(RemoteSource(cast(ShellServer, None), label))
    return [hint, rest]


def collect(server: ShellServer, label: str, *, rounds: int = MAX_ROUNDS) -> Facts:
    """The facts of the host behind `server`, in as many round trips as its files need.

    A server started with first_batches() answers ldd's hint first: what the library
    resolver needs from those files is asked for at once, and is read by the server as
    soon as the rest of the first run's batch is done (its round trip hidden behind it)."""
    src = RemoteSource(server, label)
    pre = [server.preloaded[n] for n in sorted(server.preloaded)]
    hk, hint, rk, rest = _first(RemoteSource(cast(ShellServer, None), label))
    if pre == [hint, rest]:
        collect_from(src)  # run 1: what first_batches() asked
        src.want, src.pending = {}, {}
        for key, req, ans in zip(hk, hint, server.receive(min(server.preloaded))):
            src._take(key, req, ans)
        keys, requests = src.batch()
        ahead = server.send(requests) if requests else None
        for key, req, ans in zip(rk, rest, server.receive(min(server.preloaded))):
            src._take(key, req, ans)
        if ahead is not None:
            for key, req, ans in zip(keys, requests, server.receive(ahead)):
                src._take(key, req, ans)
    for _ in range(rounds):
        facts = collect_from(src)
        if not src.want:
            return facts
        src.fetch()
    facts = collect_from(src)
    if src.want:  # files that keep changing, or a target that keeps inventing paths
        facts.notes.append(f"facts incomplete after {rounds} round trips: "
                           f"{len(src.want)} reads not answered")
    return facts
