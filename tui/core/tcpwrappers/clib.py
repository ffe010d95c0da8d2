"""Byte-exact emulations of the C library calls libwrap's verdicts depend on.

libwrap parses with fgets/strlen/strtok/atoi/inet_aton, and its quirks (NUL bytes
truncating a line, octal and hex in net numbers, `/4294967304` meaning `/8`) come
from those calls, so they are reproduced here rather than "fixed".
"""

from __future__ import annotations

# _socket, not socket: the same calls without socket.py's enums and selectors, which
# cost `match` milliseconds of start-up.
import _socket as socket
import re
import sys
from collections.abc import Callable  # not typing: `match` never imports it (4 ms)
from functools import lru_cache

INADDR_NONE = 0xFFFFFFFF
C_SPACE = b" \t\n\v\f\r"  # isspace() in the C locale
LIST_SEP = b", \t\r\n"  # hosts_access.c: sep[]
_LIST_SPLIT = re.compile(rb"[, \t\r\n]+")

# Atomic groups and possessive repeats came with Python 3.11. Possessive repeats matched
# wrongly until 3.11.5 (CPython gh-106052: `(?:ab?c)*+` matched "a"), so a fast path built on
# them would skip a rule that decides; Debian 12's python3 (and so the single-file build) is
# 3.11.2. Atomic groups were right from 3.11.0, and `(?>x*)` matches what `x*+` should; but
# where possessive repeats work they are faster (8 against 13 ms over 100,000 lines) and
# keep no backtracking state per repeat.
ATOMIC = sys.version_info >= (3, 11)
POSSESSIVE = sys.version_info >= (3, 11, 5)


def atomic(repeat: bytes, groups: bool = ATOMIC) -> bytes:
    """`repeat` (an atom and its repeat) made atomic: what it matched is never given back.
    Possessive where that works, else in an atomic group; without atomic `groups` (before
    3.11) the plain repeat, which the callers use only where it matches alike."""
    if not groups:
        return repeat
    return repeat + b"+" if POSSESSIVE else b"(?>" + repeat + b")"


# Possessive repeats keep no state per repeat: their runs need no windows (each costs a few
# percent more over 100,000 lines).
LINE_WINDOW = sys.maxsize if POSSESSIVE else 64 << 10


def line_run(match: Callable[[bytes, int, int], re.Match[bytes] | None], data: bytes,
             pos: int, end: int, window: int = LINE_WINDOW) -> int:
    """Where the run of lines that `match` passes from `pos` (a line start) stops before
    `end`. `match` is an atomic repeat of whole lines, each ending in a newline and shorter
    than `window`; a line that holds a NUL is never passed, whatever `match` says (so its
    regex need not exclude NUL bytes, and can scan `[^\\n]` at C speed).

    It runs window by window: an atomic group (3.11.0-3.11.4) keeps a backtracking mark
    per line until it closes, which over 100,000 lines costs 10 MiB and twice the time. A
    run that stops short of a window's end stopped at a line it does not pass, or at one
    the window cut (no newline after it in the window: that one is read again)."""
    while True:
        stop = min(end, pos + window)
        m = match(data, pos, stop)
        got = m.end() if m else pos
        # Only over what the run passed: the callers run again after each line it stops
        # at, and a search to `end` each time would be quadratic.
        nul = data.find(b"\0", pos, got)
        if nul >= 0:  # the run ends at that line
            return max(pos, data.rfind(b"\n", pos, nul) + 1)
        if got == end or got < stop and (got == pos or data.find(b"\n", got, stop) >= 0):
            return got
        pos = got


def strtok(s: bytes) -> list[bytes]:
    """All tokens strtok(s, ", \\t\\r\\n") would return."""
    return [t for t in _LIST_SPLIT.split(s) if t]


def split_at(s: bytes, delim: int) -> tuple[bytes, bytes | None]:
    """Debian's IPv6-aware split_at: the first `delim` outside [brackets]."""
    if 0x5B not in s and 0x5D not in s:
        i = s.find(bytes((delim,)))
        return (s, None) if i < 0 else (s[:i], s[i + 1 :])
    depth = 0
    for i, c in enumerate(s):
        if c == 0x5B:
            depth += 1
        elif c == 0x5D:
            depth -= 1
        elif depth == 0 and c == delim:
            return s[:i], s[i + 1 :]
    return s, None


def c_strtol(s: bytes) -> int | None:
    """Value strtol(s, NULL, 10) would give, or None when no digits were read."""
    m = re.match(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)", s)
    if not m:
        return None
    v = int(m.group(2))
    if m.group(1) == b"-":
        v = -v
    return max(-(2**63), min(2**63 - 1, v))  # strtol saturates at LONG_MIN/LONG_MAX


def to_int32(v: int) -> int:
    """The C conversion long -> int on LP64 (keeps the low 32 bits)."""
    v &= 0xFFFFFFFF
    return v - 2**32 if v >= 2**31 else v


def c_atoi(s: bytes) -> int:
    v = c_strtol(s)
    return 0 if v is None else to_int32(v)


def scan_int(s: bytes) -> int | None:
    """sscanf(s, "%d%c", &v, &junk) == 1: a whole decimal int, else None."""
    m = re.fullmatch(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)", s)
    return to_int32(c_strtol(m.group(1)) or 0) if m else None


def scan_octal(s: bytes) -> int | None:
    """sscanf(s, "%o%c", &unsigned, &junk) == 1: the unsigned int read, else None."""
    m = re.fullmatch(rb"[ \t\n\v\f\r]*([+-]?)([0-7]+)", s)
    if not m:
        return None
    v = min(int(m.group(2), 8), 2**64 - 1)  # strtoul saturates
    if m.group(1) == b"-":
        v = -v
    return v & 0xFFFFFFFF


@lru_cache(maxsize=4096)
def inet_addr(s: bytes) -> int:
    """glibc inet_addr(): accepts octal, hex and short forms; INADDR_NONE on error."""
    try:
        packed = socket.inet_aton(s.decode("latin-1"))
    except (OSError, ValueError):
        return INADDR_NONE
    return int.from_bytes(packed, "big")


def dot_quad_addr(s: bytes) -> int:
    """misc.c dot_quad_addr(): exactly four dot-separated runs, then inet_addr()."""
    runs = sum(1 for part in s.split(b".") if part)
    return inet_addr(s) if runs == 4 else INADDR_NONE


def cidr_mask_addr(s: bytes) -> int:
    """Debian's cidr_mask_addr(): atoi() bits in 1..32, else 0 (invalid)."""
    bits = c_atoi(s)
    if bits < 1 or bits > 32:
        return 0
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF


@lru_cache(maxsize=4096)
def inet6(s: bytes) -> tuple[bytes, int] | None:
    """getaddrinfo(s, AF_INET6, AI_NUMERICHOST): (16-byte address, scope id) or None."""
    try:
        text = s.decode("ascii")
    except UnicodeDecodeError:
        return None
    if "%" not in text:
        try:
            return socket.inet_pton(socket.AF_INET6, text), 0
        except (OSError, ValueError):
            return None
    try:
        infos = socket.getaddrinfo(
            text, None, socket.AF_INET6, socket.SOCK_STREAM, 0,
            socket.AI_NUMERICHOST | socket.AI_PASSIVE,
        )
    except (OSError, ValueError, UnicodeError):
        return None
    addr = infos[0][4]  # (host, port, flowinfo, scope_id) for AF_INET6
    host, scope = str(addr[0]), int(addr[-1])
    return socket.inet_pton(socket.AF_INET6, host.split("%")[0]), scope


@lru_cache(maxsize=1024)
def _glob(pattern: bytes) -> re.Pattern[bytes]:
    parts = [b".*" if c == b"*" else b"." if c == b"?" else re.escape(c)
             for c in (pattern[i : i + 1] for i in range(len(pattern)))]
    return re.compile(b"".join(parts), re.DOTALL | re.IGNORECASE)


def wildcard_match(string: bytes, pattern: bytes) -> bool:
    """Debian's match_pattern_ylo(): `*` and `?`, ASCII case-insensitive.

    The whole string, by the usual greedy walk that backtracks to the last `*` only: no
    regex is compiled per pattern (a file of 100,000 distinct wildcards compiled each)."""
    s, p = string.lower(), pattern.lower()  # bytes.lower(): ASCII only, as the C locale
    n, m = len(s), len(p)
    i = j = 0
    star, mark = -1, 0
    while i < n:
        if j < m and p[j] != 0x2A and (p[j] == 0x3F or p[j] == s[i]):
            i, j = i + 1, j + 1
        elif j < m and p[j] == 0x2A:
            star, mark, j = j, i, j + 1
        elif star >= 0:
            mark += 1
            i, j = mark, star + 1
        else:
            return False
    while j < m and p[j] == 0x2A:
        j += 1
    return j == m


def strcasecmp_eq(a: bytes, b: bytes) -> bool:
    return a.lower() == b.lower()  # bytes.lower() folds ASCII only, like the C locale
