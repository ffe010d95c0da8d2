"""Pattern matching of hosts_access(5), as Debian's libwrap 7.6.q implements it.

Functions mirror hosts_access.c (list_match, server_match, client_match, host_match,
masked_match, string_match) so a difference from tcpdmatch can be traced to one place.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from tui.core.rootpath import read_regular
from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.values import Frozen, Value

UNKNOWN = b"unknown"
PARANOID = b"paranoid"
_INADDR_CHARS = frozenset(b"01234567890./")
_MAX_FILE_DEPTH = 16  # libwrap recurses without limit and crashes; we stop and fail closed
PATTERN_FILE_LIMIT = 64 << 20  # bytes of one /file pattern list read


class HostInfo(Frozen):
    __slots__ = ("addr", "name")

    def __init__(self, addr: bytes = UNKNOWN, name: bytes = UNKNOWN) -> None:
        self.addr = addr  # the text libwrap compares against, as given
        self.name = name  # UNKNOWN when not resolved, PARANOID when verification failed


_NO_HOST = HostInfo()


class Request(Frozen):
    """What libwrap knows about one connection attempt."""

    __slots__ = ("daemon", "client", "server", "user")

    def __init__(self, daemon: bytes = b"sshd", client: HostInfo = _NO_HOST,
                 server: HostInfo = _NO_HOST, user: bytes = UNKNOWN) -> None:
        self.daemon = daemon
        self.client = client
        self.server = server
        self.user = user  # RFC 931 user; tcpdmatch uses "unknown" unless told


class FileLoopError(Exception):
    """A /file pattern list includes itself (libwrap would recurse until it crashes)."""


class Matcher(Value):
    """Evaluates patterns for one request; collects what it could not fully evaluate."""

    __slots__ = ("request", "read_file", "notes", "_noted", "_depth")

    def __init__(self, request: Request, read_file: Callable[[str], bytes],
                 notes: list[str] | None = None, _depth: int = 0) -> None:
        self.request = request
        self.read_file = read_file  # raises OSError like open() would
        self.notes: list[str] = [] if notes is None else notes
        # what `notes` holds, to look up: a file of 50,000 netgroups notes each of them,
        # and a search of the list for every one took 12 s
        self._noted = set(self.notes)
        self._depth = _depth

    # -- lists -----------------------------------------------------------------------------

    def list_match(self, tokens: list[bytes], fn: Callable[[bytes], bool], i: int = 0) -> bool:
        """First matching token wins; EXCEPT binds to the right (a EXCEPT b EXCEPT c)."""
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            if tok.lower() == b"except":
                return False
            if fn(tok):
                j = i + 1
                while j < n and tokens[j].lower() != b"except":
                    j += 1
                return j >= n or not self.list_match(tokens, fn, j + 1)
            i += 1
        return False

    def server_match(self, tok: bytes) -> bool:
        head, host = clib.split_at(tok[1:], 0x40)  # '@'
        if host is None:
            return string_match(tok, self.request.daemon)
        return string_match(tok[:1] + head, self.request.daemon) and self.host_match(
            host, self.request.server
        )

    def client_match(self, tok: bytes) -> bool:
        head, host = clib.split_at(tok[1:], 0x40)
        if host is None:
            return self.host_match(tok, self.request.client)
        return self.host_match(host, self.request.client) and string_match(
            tok[:1] + head, self.request.user
        )

    # -- hosts -----------------------------------------------------------------------------

    def host_match(self, tok: bytes, host: HostInfo) -> bool:
        if tok[:1] == b"@":
            self._note(f"netgroup {tok.decode('latin-1')} not looked up (no NIS): no match")
            return False
        if tok[:1] == b"/":
            return self.file_match(tok, host)
        low = tok.lower()
        if low == b"known":
            return host.addr.lower() != UNKNOWN and name_known(host.name)
        if low == b"local":
            return b"." not in host.name and name_known(host.name)
        net, mask = clib.split_at(tok, 0x2F)  # '/'
        if mask is not None:
            return masked_match(net, mask, host.addr)
        return string_match(tok, host.addr) or (
            not_inaddr(tok) and string_match(tok, host.name)
        )

    def file_match(self, path: bytes, host: HostInfo) -> bool:
        """A /file pattern: any whitespace-separated pattern in the file matches."""
        name = path.decode("latin-1")
        try:
            data = self.read_file(name)
        except OSError as e:
            if e.errno != errno.ENOENT:
                self._note(f"cannot open pattern file {name}: {e.strerror}")
            return False
        if self._depth >= _MAX_FILE_DEPTH:
            raise FileLoopError(name)
        self._depth += 1
        try:
            for word in data.split():  # fscanf("%s"): C isspace separators
                word = word.split(b"\0", 1)[0]
                if word and self.host_match(word, host):
                    return True
            return False
        finally:
            self._depth -= 1

    def _note(self, text: str) -> None:
        if text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)


def name_known(name: bytes) -> bool:
    low = name.lower()
    return low != UNKNOWN and low != PARANOID


def not_inaddr(tok: bytes) -> bool:
    """NOT_INADDR(): the token has a character other than digits, '.' and '/'."""
    return any(c not in _INADDR_CHARS for c in tok)


def strip_mapped(s: bytes) -> bytes:
    """Debian compares "::ffff:a.b.c.d" clients as plain IPv4 (only that exact spelling)."""
    if s[:7].lower() == b"::ffff:" and clib.dot_quad_addr(s[7:]) != clib.INADDR_NONE:
        return s[7:]
    return s


def string_match(tok: bytes, string: bytes) -> bool:
    string = strip_mapped(string)
    if tok[:1] == b".":  # domain suffix
        n = len(string) - len(tok)
        return n > 0 and string[n:].lower() == tok.lower()
    low = tok.lower()
    if low == b"all":
        return True
    if low == b"known":
        return string.lower() != UNKNOWN
    if tok[-1:] == b".":  # net prefix, e.g. "192.168."
        return string[: len(tok)].lower() == low
    if tok[:1] == b"[" and tok[-1:] == b"]":  # [IPv6 address]
        pat = clib.inet6(tok[1:-1])
        addr = clib.inet6(string)
        if pat is None or addr is None:
            return False
        if pat[1] and addr[1] != pat[1]:
            return False
        return pat[0] == addr[0]
    if b"*" in tok or b"?" in tok:
        return clib.wildcard_match(string, tok)
    return string.lower() == low


def masked_match(net_tok: bytes, mask_tok: bytes, string: bytes) -> bool:
    string = strip_mapped(string)
    if net_tok[:1] == b"[":
        return _masked_match6(net_tok, mask_tok, string)
    addr = clib.dot_quad_addr(string)
    if addr == clib.INADDR_NONE:
        return False
    net = clib.dot_quad_addr(net_tok)
    if net == clib.INADDR_NONE:
        return False
    mask = clib.dot_quad_addr(mask_tok)
    if mask == clib.INADDR_NONE:
        mask = clib.cidr_mask_addr(mask_tok)
        if mask == 0:
            return False
    return (addr & mask) == net


def _masked_match6(net_tok: bytes, mask_tok: bytes, string: bytes) -> bool:
    if net_tok[-1:] != b"]":
        return False
    net = clib.inet6(net_tok[1:-1])
    addr = clib.inet6(string)
    if net is None or addr is None:
        return False
    bits = clib.c_atoi(mask_tok)
    if bits < 0 or bits > 128:
        return False
    if net[1] and addr[1] != net[1]:
        return False
    shift = 128 - bits
    return (int.from_bytes(net[0], "big") >> shift) == (int.from_bytes(addr[0], "big") >> shift)


def read_file_under(root: str | None, limit: int = PATTERN_FILE_LIMIT) -> Callable[[str], bytes]:
    """A reader for /file patterns that resolves absolute paths under `root`.

    Inside a mounted system its absolute symlinks must not lead out of it; and on any system
    only a regular file of at most `limit` bytes is read: a FIFO would hang us, /dev/zero
    fill memory (both raise OSError, which file_match notes as "cannot open").
    """

    def read(path: str) -> bytes:
        return read_regular(root or "/", path, limit)

    return read
