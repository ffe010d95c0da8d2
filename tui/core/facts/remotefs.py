"""The library resolver's view of a host over SSH: the files a RemoteSource fetched, whole or
as the ranges an ELF reader touches (a read elsewhere asks for that range, and the
collection runs again once it arrived), and the plan of which ranges to prefetch."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, cast

from tui.core.rootpath import NotRegularFile

if TYPE_CHECKING:
    from tui.core.facts.remotesource import RemoteSource

BLOCK = 4 << 10  # what is fetched on request, aligned
RANGE_MAX = 64 << 10  # one prefetched range at most
# A library's ELF reading needs its headers, dynamic table and a few strings, not its code:
# it comes as its first (ELF and program headers) and last bytes (section headers: where
# the strings are), then the exact ranges those name (elf_wants), the rest of what the
# reader touches on request, BLOCK-aligned.
HEAD, TAIL = 4 << 10, 4 << 10


@dataclass(frozen=True)
class Meta:
    st_mode: int
    st_dev: int
    st_ino: int
    st_size: int
    st_uid: int
    st_gid: int
    st_rdev: tuple[int, int]  # (major, minor)


class Missing(FileNotFoundError):
    """Not fetched yet: asked for, and the collection runs again once it arrived."""


def sendable(path: str) -> bool:
    # a request is one line of sh; a C library would stop at a NUL anyway
    return path.startswith("/") and "\n" not in path and "\0" not in path and "\r" not in path


class RemoteFS:
    """The library resolver's FS on a RemoteSource; keys are physical paths."""

    def __init__(self, src: RemoteSource) -> None:
        self.src = src
        self.elf_cache = src.elf_cache  # parsed ELF files, kept from run to run

    @contextlib.contextmanager
    def _lib(self) -> Iterator[None]:
        """What is fetched for a path meanwhile is what the ELF reader needs."""
        plan = self.src.plan
        old, plan.libmode = plan.libmode, True
        try:
            yield
        finally:
            plan.libmode = old

    def resolve(self, target: str, follow_last: bool = True) -> str:
        with self._lib():
            return self.src.resolve(target, follow_last)

    def stat(self, key: str) -> Meta:
        with self._lib():
            return self.src.meta_of(self.src.resolve(key))

    def listdir(self, key: str) -> list[str]:
        return self.src.listdir(key)

    def to_target(self, key: str) -> str:
        return key

    def lexists(self, key: str) -> bool:
        try:
            with self._lib():
                self.src.meta_of(key)
            return True
        except FileNotFoundError:
            return False

    def islink(self, key: str) -> bool:
        try:
            with self._lib():
                return stat.S_ISLNK(self.src.meta_of(key).st_mode)
        except FileNotFoundError:
            return False

    def open(self, key: str) -> tuple[BinaryIO, int]:
        with self._lib():
            meta = self.src.meta_of(key)
            if not stat.S_ISREG(meta.st_mode):
                raise NotRegularFile(key, cast(os.stat_result, meta))
            store = self.src.store
            if key in store.denied:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), key)
            got = store.data.get(key)
            if got is not None and got[1] is not None:
                return io.BytesIO(got[1]), len(got[1])
            if key in store.ranges:
                return cast(BinaryIO, Sparse(self.src, key, meta.st_size)), meta.st_size
            self.src.plan.need(key)
            raise Missing(errno.ENOENT, "not fetched yet", key)

    def prefilter(self, keys: list[str], needles: Iterable[bytes]) -> list[str]:
        asked = tuple(k for k in keys if sendable(k))
        out: set[str] = set()
        for needle in needles:
            if b"\n" in needle or b"\0" in needle:
                return keys
            got = self.src.store.hits.get((needle, asked))
            if got is None:
                if asked:
                    self.src.plan.ask(("f", needle, asked), ("f", [os.fsdecode(needle), *asked]))
                continue
            out.update(got)
        return [k for k in keys if k in out]



class Sparse(io.RawIOBase):
    """A big file of the target as the ranges fetched so far; reading elsewhere asks for
    that range (the collection runs again once it arrived)."""

    def __init__(self, src: RemoteSource, key: str, size: int) -> None:
        super().__init__()
        self.src, self.key, self.size, self.pos = src, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        start = min(self.pos, self.size)
        end = self.size if n is None or n < 0 else min(self.size, start + n)
        if end <= start:
            return b""
        data = self.src.store.have(self.key, start, end - start)
        if data is not None:
            self.pos = end
            return data
        if not sendable(self.key):
            raise OSError(errno.EIO, "not readable over the transport", self.key)
        self.src.plan.plan_key(self.key)
        first = start - start % BLOCK
        last = end + (-end) % BLOCK
        self.src.plan.want_range(self.key, first, last - first, self.size, (start, end))
        raise Missing(errno.ENOENT, "not fetched yet", self.key)

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def elf_wants(have: Callable[[int, int], bytes | None], size: int) -> list[tuple[int, int]]:
    """The ranges of an ELF file the reader (libs.elf, through its program headers) will
    touch, as far as the bytes fetched so far tell: a prefetch plan, never a decision.
    Before the dynamic table came, the section headers (if fetched) point at the end of
    its string table, where linkers put the library names."""
    head = have(0, 64)
    if head is None or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return []
    wide, e = head[4] == 2, "<" if head[5] == 1 else ">"
    phoff, shoff = struct.unpack_from(e + ("QQ" if wide else "II"), head, 32 if wide else 28)
    phent, phnum, shent, shnum = struct.unpack_from(e + "HHHH", head, 54 if wide else 42)
    if not 0 < phnum * phent <= RANGE_MAX or phent < (56 if wide else 32):
        return []
    out = [(phoff, phnum * phent)]
    ph = have(phoff, phnum * phent)
    if ph is None:
        return out
    loads, dyn = [], None
    for i in range(phnum):
        if wide:
            typ, _, off, vaddr, _, filesz = struct.unpack_from(e + "IIQQQQ", ph, i * phent)
        else:
            typ, off, vaddr, _, filesz = struct.unpack_from(e + "IIIII", ph, i * phent)
        if typ == 1:  # PT_LOAD
            loads.append((vaddr, off, filesz))
        elif typ == 3 and len(out) < 3:  # PT_INTERP
            out.append((off, min(filesz, 4096)))
        elif typ == 2 and dyn is None:  # PT_DYNAMIC
            dyn = (off, min(filesz, RANGE_MAX))
            out.append(dyn)
    table = have(*dyn) if dyn else None
    if table is not None:
        size_of = 16 if wide else 8
        strtab, names = None, []
        for i in range(len(table) // size_of):
            tag, val = struct.unpack_from(e + ("qQ" if wide else "iI"), table, i * size_of)
            if tag == 0:
                break
            if tag == 5:  # DT_STRTAB
                strtab = val
            elif tag in (1, 14, 15, 29):  # DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH
                names.append(val)
        base = next((strtab - v + o for v, o, n in loads
                     if strtab is not None and v <= strtab < v + n), None)
        if base is not None:
            return out + [(base + v, 256) for v in names[:64]]
    if 0 < shnum * shent <= RANGE_MAX and shent >= (64 if wide else 40):
        sh = have(shoff, shnum * shent)
        if sh is not None:
            form = e + ("IIQQQQI" if wide else "IIIIIII")
            secs = [struct.unpack_from(form, sh, i * shent)[1:] for i in range(shnum)]
            for typ, _, _, _, _, link in secs:
                if typ == 6 and link < len(secs):  # SHT_DYNAMIC: sh_link is its strings
                    off, sz = secs[link][3], secs[link][4]
                    start = max(off, off + sz - 1024)
                    out.append((start, min(off + sz + 64 - start, RANGE_MAX)))
    return [(o, n) for o, n in out if 0 <= o < size and n > 0]
