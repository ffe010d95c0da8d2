"""What a host over SSH answered, filed by path: stats, link texts, files whole or as
ranges, listings, commands' outputs. Answers (tui.core.targets.shellchan) are taken in
here; a path given through a link is filed under its physical name too, where
RemoteSource.resolve() looks."""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from tui.core.facts.remotefs import HEAD, TAIL, Meta, Missing, sendable
from tui.core.rootpath import walk
from tui.core.targets.shellchan import Answer, Request


class Store:
    """The target's answers so far. Nothing here asks: RemoteSource asks (through its
    Planner) for what a lookup misses."""

    def __init__(self) -> None:
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
        self.ldd_names: set[str] = set()
        self.ldd_dirs: set[str] = set()
        self.ldd_bins: list[str] = []  # the binaries' physical paths

    # -- looking up -------------------------------------------------------------------------

    def meta(self, path: str) -> Meta:
        """lstat() of a physical path (no link before its last component); Missing when
        not fetched yet."""
        if path == "/":
            return self.lst.get("/") or Meta(stat.S_IFDIR | 0o755, 0, 0, 0, 0, 0, (0, 0))
        if path not in self.lst:
            raise Missing(errno.ENOENT, "not fetched yet", path)
        meta = self.lst[path]
        if meta is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return meta

    def readlink(self, path: str) -> str:
        if path not in self.links:
            raise Missing(errno.ENOENT, "not fetched yet", path)
        return self.links[path]

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

    def _physical(self, path: str, ans: Answer) -> str:
        """Where the collector will look `path`'s bytes up."""
        rp = ans.first("rp")
        real = os.fsdecode(rp[1]) if rp and rp[1].startswith(b"/") else path
        with contextlib.suppress(OSError):
            real = walk(path, lambda p: self.meta(p).st_mode, self.readlink)
        return real

    # -- taking answers in ------------------------------------------------------------------

    def take(self, key: tuple, req: Request, ans: Answer) -> None:
        """File the answer `ans` to the request `req` (asked as `key`)."""
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
            self._take_file(op, list(args), ans)
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

    def _take_file(self, op: str, args: list[str], ans: Answer) -> None:
        """g (a path's stat and bytes), d (its bytes) or t (a log's tail)."""
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

    def _take_info(self, asked: list[str], ans: Answer) -> None:
        """Stats ("st") and link texts ("ln"; "lz"/"lt" pairs) of an answer; `asked`:
        the paths whose absence it tells."""
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
        for name in [n for n in (asked or sorted(seen)) if n in self.lst]:
            head, _, base = name.rpartition("/")
            with contextlib.suppress(OSError):
                phys = walk(head or "/", lambda p: self.meta(p).st_mode,
                            self.readlink).rstrip("/") + "/" + base
                if phys != name:
                    self.lst.setdefault(phys, self.lst[name])
                    if name in self.links:
                        self.links.setdefault(phys, self.links[name])
