"""Reading hosts.allow / hosts.deny the way libwrap's table_match() does.

Two views of one file:

* ``records()`` walks *logical* rules exactly as libwrap's xgets() builds them (2048-byte
  buffer, backslash-newline joins, a NUL byte cuts a physical line short), which is what
  the verdict depends on;
* ``HostsFile`` keeps every *physical* line byte for byte, so an editor can change one rule
  and write everything else back unchanged.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from tui.core.tcpwrappers.clib import split_at

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `match` avoids importing typing
if TYPE_CHECKING:
    import mmap

BUFLEN = 2048  # hosts_access.c: size of the logical line buffer
MMAP_OVER = 8 << 20  # map bigger files instead of copying them into memory


@dataclass(frozen=True)
class Record:
    """One logical line: the C string libwrap sees, and where it came from."""

    text: bytes  # as xgets() returns it: continuations joined, NUL-truncated
    first_line: int  # 1-based physical line where it starts
    last_line: int  # physical line where it ends
    start: int  # byte offsets in the file
    end: int

    @property
    def rule_text(self) -> str:
        """For display: the logical rule without its newline."""
        return self.text.rstrip(b"\n").decode("utf-8", "backslashreplace")

    @property
    def complete(self) -> bool:
        """False when libwrap reports "missing newline or line too long"."""
        return self.text.endswith(b"\n")


@dataclass
class Table:
    """A hosts.allow/hosts.deny file as libwrap would open it."""

    path: str
    data: bytes | mmap.mmap = b""
    # errno of a failed open; ENOENT means "no file" (an empty table), anything else
    # makes libwrap fail closed.
    open_errno: int | None = None
    note: str | None = None  # e.g. "is a directory: read as empty, as libwrap does"

    @property
    def missing(self) -> bool:
        return self.open_errno == errno.ENOENT

    @property
    def unreadable(self) -> bool:
        return self.open_errno is not None and self.open_errno != errno.ENOENT


def load_table(path: str, shown_as: str | None = None) -> Table:
    """Open `path` like fopen()+fgets() would; never raises for I/O problems."""
    name = shown_as or path
    try:
        # O_NONBLOCK: a FIFO planted as hosts.deny must not hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        return Table(name, open_errno=e.errno, note=e.strerror)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if os.path.isdir(path):
                # fopen() succeeds on a directory and fgets() fails: an empty table.
                return Table(name, note="is a directory; libwrap reads it as empty")
            return Table(name, note="not a regular file")
        if st.st_size > MMAP_OVER:
            import mmap

            return Table(name, mmap.mmap(fd, 0, prot=mmap.PROT_READ))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return Table(name, b"".join(chunks))
    except OSError as e:
        return Table(name, open_errno=e.errno, note=e.strerror)
    finally:
        os.close(fd)


def xgets(data: bytes | mmap.mmap, pos: int, line: int) -> tuple[Record, int, int] | None:
    """One xgets() call from byte `pos` (after physical line `line`).

    Returns (record, new_pos, new_line) or None at end of file.
    """
    n = len(data)
    room = BUFLEN
    parts: list[bytes] = []
    start, first = pos, line + 1
    while room > 1 and pos < n:
        end = min(n, pos + room - 1)  # fgets reads at most room-1 bytes
        nl = data.find(b"\n", pos, end)
        if nl >= 0:
            end = nl + 1
            line += 1
        chunk = data[pos:end]
        pos = end
        z = chunk.find(b"\0")
        if z >= 0:
            chunk = chunk[:z]  # strlen() stops at the NUL
        if chunk.endswith(b"\n"):
            if chunk.endswith(b"\\\n"):
                chunk = chunk[:-2]
            else:
                parts.append(chunk)
                return Record(b"".join(parts), first, line, start, pos), pos, line
        parts.append(chunk)
        room -= len(chunk)
    text = b"".join(parts)
    if not text:
        return None
    return Record(text, first, max(line, first), start, pos), pos, line


def records(data: bytes | mmap.mmap) -> Iterator[Record]:
    """Every logical record up to and including the first incomplete one."""
    pos, line = 0, 0
    while (got := xgets(data, pos, line)) is not None:
        rec, pos, line = got
        yield rec
        if not rec.complete:
            return  # Debian: "all the subsequent rules will be ignored"


def is_skipped(text: bytes) -> bool:
    """Comment (a '#' in column 0 only) or blank: table_match() skips it."""
    return text[:1] == b"#" or not text.lstrip(b" \t\r\n")


def split_rule(text: bytes) -> tuple[bytes, bytes, bytes | None] | None:
    """(daemons, clients, options) as table_match() splits them; None: no ':' separator."""
    daemons, rest = split_at(text, 0x3A)
    if rest is None:
        return None
    clients, options = split_at(rest, 0x3A)
    return daemons, clients, options


# ---------------------------------------------------------------------------------------
# Byte-preserving physical view, for display and minimal edits.


@dataclass
class HostsFile:
    """Physical lines of a rules file; ``to_bytes()`` gives back the exact input."""

    lines: list[bytes] = field(default_factory=list)  # each with its b"\n" if it had one

    @classmethod
    def parse(cls, data: bytes) -> HostsFile:
        return cls(_split_nl(data))

    def to_bytes(self) -> bytes:
        return b"".join(self.lines)

    @property
    def has_final_newline(self) -> bool:
        return not self.lines or self.lines[-1].endswith(b"\n")


def _split_nl(data: bytes) -> list[bytes]:
    # Not bytes.splitlines(): that also splits at \r, and libwrap only knows \n.
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        out.append(data[pos:end])
        pos = end
    return out
