"""Reading hosts.allow / hosts.deny the way libwrap's table_match() does.

Two views of one file:

* ``records()`` walks *logical* rules exactly as libwrap's xgets() builds them (2048-byte
  buffer, backslash-newline joins, a NUL byte cuts a physical line short), which is what
  the verdict depends on;
* ``HostsFile`` keeps every *physical* line byte for byte, so an editor can change one rule
  and write everything else back unchanged.

Both rule walkers read through a ``Window``: bytes in memory are one window that already
ends at the end of the file; a big file is read a window at a time, so memory stays bounded
whatever its size and the verdict is the same as for the same bytes in memory.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

from tui.core.errors import UserError
from tui.core.tcpwrappers.clib import split_at
from tui.core.tcpwrappers.values import Frozen, Value

BUFLEN = 2048  # hosts_access.c: size of the logical line buffer
STREAM_OVER = 8 << 20  # files up to this size are read whole; bigger ones are streamed
WINDOW = 1 << 20  # how much of a streamed file is read at a time


class TableError(UserError):
    """A rules file that could be opened failed while being read (EIO, ...): no verdict."""


class Record(Frozen):
    """One logical line: the C string libwrap sees, and where it came from."""

    __slots__ = ("text", "first_line", "last_line", "start", "end")

    def __init__(self, text: bytes, first_line: int, last_line: int, start: int,
                 end: int) -> None:
        self.text = text  # as xgets() returns it: continuations joined, NUL-truncated
        self.first_line = first_line  # 1-based physical line where it starts
        self.last_line = last_line  # physical line where it ends
        self.start = start  # byte offsets in the file
        self.end = end

    @property
    def rule_text(self) -> str:
        """For display: the logical rule without its newline."""
        return self.text.rstrip(b"\n").decode("utf-8", "backslashreplace")

    @property
    def complete(self) -> bool:
        """False when libwrap reports "missing newline or line too long"."""
        return self.text.endswith(b"\n")


class Window:
    """The part of a rules file in memory: ``buf`` is the file's bytes from offset ``base``.

    Readers hold positions in ``buf`` and call ``more(keep)`` when they need bytes past its
    end; that drops ``buf[:keep]`` (so positions move down by the value it returns) and
    appends the next ``size`` bytes. Bytes given directly are a window that is the whole
    file (``eof`` from the start), so they never copy.
    """

    __slots__ = ("base", "buf", "eof", "name", "size", "_fd", "_off", "_owner")

    def __init__(self, data: bytes = b"", fd: int | None = None, size: int = WINDOW,
                 name: str = "", owner: object = None) -> None:
        self._owner = owner  # keeps the descriptor open while this window reads it
        self.buf = data
        self.base = 0
        self.eof = fd is None  # nothing in the file beyond buf
        self.size = size
        self.name = name
        self._fd = fd
        self._off = 0

    def more(self, keep: int) -> int:
        """Read on (sets eof at the end of the file); returns how far positions moved."""
        if self.eof:
            return 0
        try:
            chunk = os.pread(self._fd, self.size, self._off)  # type: ignore[arg-type]
        except OSError as e:
            raise TableError(f"cannot read {self.name}: {e.strerror}") from None
        if not chunk:
            self.eof = True
            return 0
        self._off += len(chunk)
        self.buf = self.buf[keep:] + chunk
        self.base += keep
        return keep

    def at_end(self, pos: int) -> bool:
        """Whether `pos` is the end of the file (reading on to find out)."""
        while pos >= len(self.buf) and not self.eof:
            pos -= self.more(pos)
        return pos >= len(self.buf)

    def raw(self, rec: Record) -> bytes | None:
        """The record's bytes as in the file, while the window still holds them (a record
        longer than a window of a streamed file is not kept)."""
        start = rec.start - self.base
        return self.buf[start : rec.end - self.base] if start >= 0 else None


class _OpenFile:
    """A descriptor shared by the windows of one table; closed with the last of them."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __del__(self) -> None:
        try:  # noqa: SIM105 (contextlib costs `match` start-up time)
            os.close(self.fd)
        except OSError:
            pass


class Table(Value):
    """A hosts.allow/hosts.deny file as libwrap would open it."""

    __slots__ = ("path", "data", "open_errno", "note", "too_big", "file", "window")

    def __init__(self, path: str, data: bytes = b"", open_errno: int | None = None,
                 note: str | None = None, too_big: int | None = None,
                 file: _OpenFile | None = None, window: int = WINDOW) -> None:
        self.path = path
        self.data = data
        # errno of a failed open; ENOENT means "no file" (an empty table), anything else
        # makes libwrap fail closed.
        self.open_errno = open_errno
        self.note = note  # e.g. "is a directory: read as empty, as libwrap does"
        # Too big for us to have read (collected facts): its size in bytes, -1 when not
        # known. libwrap reads it, so there is no verdict from it: neither granted nor
        # denied.
        self.too_big = too_big
        self.file = file  # a big regular file: streamed from here, not `data`
        self.window = window

    @property
    def missing(self) -> bool:
        return self.open_errno == errno.ENOENT

    @property
    def unreadable(self) -> bool:
        return self.open_errno is not None and self.open_errno != errno.ENOENT

    def reader(self) -> Window:
        """A fresh sequential reader from the start of the file."""
        if self.file is not None:
            return Window(fd=self.file.fd, size=self.window, name=self.path, owner=self.file)
        return Window(self.data)


def load_table(path: str, shown_as: str | None = None, *, stream_over: int = STREAM_OVER,
               window: int = WINDOW) -> Table:
    """Open `path` like fopen()+fgets() would; never raises for I/O problems.

    A regular file bigger than `stream_over` stays open and is read `window` bytes at a
    time while it is evaluated (a read error then raises TableError).
    """
    name = shown_as or path
    try:
        # O_NONBLOCK: a FIFO planted as hosts.deny must not hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        return Table(name, open_errno=e.errno, note=e.strerror)
    keep_open = False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if os.path.isdir(path):
                # fopen() succeeds on a directory and fgets() fails: an empty table.
                return Table(name, note="is a directory; libwrap reads it as empty")
            return Table(name, note="not a regular file")
        if st.st_size > stream_over:
            keep_open = True
            return Table(name, file=_OpenFile(fd), window=max(1, window))
        # One read of the size it has (and one more to see the end): no chunks to join.
        data = os.read(fd, st.st_size + 1)
        chunks = [data]
        while data and (data := os.read(fd, 1 << 20)):
            chunks.append(data)
        return Table(name, chunks[0] if len(chunks) == 1 else b"".join(chunks))
    except OSError as e:
        return Table(name, open_errno=e.errno, note=e.strerror)
    finally:
        if not keep_open:
            os.close(fd)


def xgets(w: Window, pos: int, line: int) -> tuple[Record, int, int] | None:
    """One xgets() call from `pos` in w.buf (after physical line `line`).

    Returns (record, new_pos, new_line) or None at end of file. The window may have moved
    on meanwhile: positions are in the new w.buf, the record's offsets are in the file.
    """
    buf = w.buf
    n = len(buf)
    room = BUFLEN
    parts: list[bytes] = []
    start, first, start_at = pos, line + 1, w.base + pos
    while room > 1:
        end = pos + room - 1  # fgets reads at most room-1 bytes
        while end > n and not w.eof:
            # Keep the record's own bytes (for Window.raw) unless it outgrew a window.
            keep = start if start >= 0 and pos - start < w.size else pos
            moved = w.more(keep)
            pos, start, end = pos - moved, start - moved, end - moved
            buf = w.buf
            n = len(buf)
        if pos >= n:
            break
        end = min(n, end)
        nl = buf.find(b"\n", pos, end)
        if nl >= 0:
            end = nl + 1
            line += 1
        chunk = buf[pos:end]
        pos = end
        z = chunk.find(b"\0")
        if z >= 0:
            chunk = chunk[:z]  # strlen() stops at the NUL
        if chunk.endswith(b"\n"):
            if chunk.endswith(b"\\\n"):
                chunk = chunk[:-2]
            else:
                parts.append(chunk)
                return Record(b"".join(parts), first, line, start_at, w.base + pos), pos, line
        if chunk:  # a run of NUL-led lines adds nothing: keep the list short
            parts.append(chunk)
            room -= len(chunk)
    text = b"".join(parts)
    if not text:
        return None
    return Record(text, first, max(line, first), start_at, w.base + pos), pos, line


def records(src: bytes | Window) -> Iterator[Record]:
    """Every logical record up to and including the first incomplete one."""
    w = src if isinstance(src, Window) else Window(src)
    pos, line = 0, 0
    while (got := xgets(w, pos, line)) is not None:
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


class HostsFile(Value):
    """Physical lines of a rules file; ``to_bytes()`` gives back the exact input."""

    __slots__ = ("lines",)

    def __init__(self, lines: list[bytes] | None = None) -> None:
        self.lines: list[bytes] = [] if lines is None else lines  # each with its newline

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
