"""Values of a Berkeley DB hash database (rpm's ``Packages`` up to RHEL 8), read by hand.

The layout, as rpm's own read-only reader (lib/backend/bdb_ro.c) and Berkeley DB's
dbinc/db_page.h give it: page 0 is the metadata page (magic 0x061561 at byte 12 in the
writer's byte order, version at 16, page size at 20, last page number at 32). Every page
starts with a 26-byte header: its own number at 8, prev/next page at 12/16, the number of
items at 20, the high-free offset at 22, the type at 25 (2 or 13: hash, 7: overflow, 0:
free). A hash page's items are 2-byte offsets from byte 26, key and value alternating; an
item's length runs to the previous item's offset (the page end for the first). An item is
H_KEYDATA (type byte 1, the bytes follow) or H_OFFPAGE (type 3, 3 bytes of padding, the
first overflow page and the total length); an overflow page holds high-free bytes of data
after its header and names the next page at 16.

Every page is visited once, in file order, rather than along the bucket chains, so a broken
chain hides nothing and nothing loops; overflow chains are followed with a visited set and a
length cap. What cannot be read is reported and skipped.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

HASH_MAGIC = 0x061561
PAGE_HEADER = 26
P_INVALID, P_HASH_UNSORTED, P_OVERFLOW, P_HASH = 0, 2, 7, 13
H_KEYDATA, H_OFFPAGE = 1, 3
MAX_VALUE = 64 << 20  # an RPM header blob past this is not believed
MAX_PROBLEMS = 20  # problems kept (the count goes on)


@dataclass
class Scan:
    """What was read: (key, value) records, and what went wrong, for people."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0  # records or pages not read

    def problem(self, text: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


class NotHashDb(ValueError):
    """The file is not a Berkeley DB hash database this reader knows."""


def read(fd: int, size: int, *, name: str = "Packages") -> Scan:
    """Every (key, value) of the hash database open at `fd`, `size` bytes long."""
    meta = os.pread(fd, 512, 0)
    if len(meta) < 512:
        raise NotHashDb(f"{name}: {len(meta)} bytes, too short for a Berkeley DB file")
    if struct.unpack_from("<I", meta, 12)[0] == HASH_MAGIC:
        e = "<"
    elif struct.unpack_from(">I", meta, 12)[0] == HASH_MAGIC:
        e = ">"
    else:
        raise NotHashDb(f"{name}: not a Berkeley DB hash database")
    version, pagesize = struct.unpack_from(e + "II", meta, 16)
    if not 8 <= version <= 10:
        raise NotHashDb(f"{name}: hash database version {version} is not supported")
    if pagesize < 512 or pagesize > 65536 or pagesize & (pagesize - 1):
        raise NotHashDb(f"{name}: implausible page size {pagesize}")
    if meta[24]:
        raise NotHashDb(f"{name}: encrypted")
    last = struct.unpack_from(e + "I", meta, 32)[0]
    pages = size // pagesize
    scan = Scan()
    if last >= pages:
        scan.problem(f"{name}: the header names page {last}, the file ends at page "
                     f"{pages - 1} (truncated?)")
        last = pages - 1
    reader = _Reader(fd, pagesize, last, e, name, scan)
    for pgno in range(1, last + 1):
        page = reader.page(pgno)
        if page is None or page[25] not in (P_HASH, P_HASH_UNSORTED):
            continue
        for key, value in reader.items(pgno, page):
            scan.records.append((key, value))
    return scan


class _Reader:
    def __init__(self, fd: int, pagesize: int, last: int, e: str, name: str,
                 scan: Scan) -> None:
        self.fd, self.pagesize, self.last, self.e, self.name = fd, pagesize, last, e, name
        self.scan = scan

    def page(self, pgno: int) -> bytes | None:
        """Page `pgno`, or None (reported) when it is not where it says it is."""
        if not 0 < pgno <= self.last:
            return None
        data = os.pread(self.fd, self.pagesize, pgno * self.pagesize)
        if len(data) < self.pagesize:
            self.scan.problem(f"{self.name}: page {pgno} is cut short")
            return None
        if data[25] == P_INVALID:
            return data  # a free page: nothing on it
        if struct.unpack_from(self.e + "I", data, 8)[0] != pgno:
            self.scan.problem(f"{self.name}: page {pgno} is damaged (wrong page number)")
            return None
        return data

    def items(self, pgno: int, page: bytes) -> Iterator[tuple[bytes, bytes]]:
        e, size = self.e, self.pagesize
        n = struct.unpack_from(e + "H", page, 20)[0]
        if PAGE_HEADER + 2 * n > size:
            self.scan.problem(f"{self.name}: page {pgno} claims {n} items")
            return
        offs = struct.unpack_from(f"{e}{n}H", page, PAGE_HEADER)
        floor = PAGE_HEADER + 2 * n
        for i in range(0, n - 1, 2):
            ends = [size if i == 0 else offs[i - 1], offs[i]]
            spans = [(offs[i], ends[0] - offs[i]), (offs[i + 1], ends[1] - offs[i + 1])]
            if any(off < floor or length <= 0 or off + length > size for off, length in spans):
                self.scan.problem(f"{self.name}: page {pgno} item {i // 2}: bad offsets")
                continue
            key = self.item(pgno, page, *spans[0])
            value = self.item(pgno, page, *spans[1]) if key is not None else None
            if key is not None and value is not None:
                yield key, value

    def item(self, pgno: int, page: bytes, off: int, length: int) -> bytes | None:
        kind = page[off]
        if kind == H_KEYDATA:
            return page[off + 1:off + length]
        if kind == H_OFFPAGE and length == 12:
            first, total = struct.unpack_from(self.e + "II", page, off + 4)
            return self.overflow(pgno, first, total)
        self.scan.problem(f"{self.name}: page {pgno}: item of unknown kind {kind}")
        return None

    def overflow(self, pgno: int, nxt: int, total: int) -> bytes | None:
        where = f"{self.name}: page {pgno}: a record"
        if total == 0 or total > MAX_VALUE:
            self.scan.problem(f"{where} claims {total} bytes; skipped")
            return None
        parts: list[bytes] = []
        got = 0
        seen: set[int] = set()
        while got < total:
            if nxt in seen:
                self.scan.problem(f"{where}: its overflow pages loop; skipped")
                return None
            seen.add(nxt)
            page = self.page(nxt)
            if page is None or page[25] != P_OVERFLOW:
                self.scan.problem(f"{where}: overflow page {nxt} is missing or not an "
                                  "overflow page; skipped")
                return None
            n = struct.unpack_from(self.e + "H", page, 22)[0]
            if n == 0 or PAGE_HEADER + n > self.pagesize or got + n > total:
                self.scan.problem(f"{where}: overflow page {nxt} holds {n} bytes; skipped")
                return None
            parts.append(page[PAGE_HEADER:PAGE_HEADER + n])
            got += n
            nxt = struct.unpack_from(self.e + "I", page, 16)[0]
        return b"".join(parts)
