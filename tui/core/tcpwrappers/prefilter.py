"""Which lines of a rules file cannot decide one request: skipped in C, not in Python.

``safe_run(request)`` gives a regular expression for a *safe* line (compiled once per
request): a physical line that table_match() would read as one complete record (at most
2046 bytes, no NUL, no backslash before its newline) and that cannot match the request,
nor note, warn or fail on the way. The evaluator lets the regex engine skip every run of
such lines and evaluates only the others exactly as libwrap does, so a 100,000-rule file
costs one pass of the regex engine plus the few lines that could matter. Plain lines
(``daemon: a.b.c.d``, comments) go first through a small regex compiled once for every
request, cut at the client's address: a DenyHosts file never needs the big one.

A line is safe when it is a comment or blank line, or a rule (with a ':' before any
bracket or '@') whose daemon list certainly does not match, or whose client list
certainly does not. Each token kind below follows the branch of host_match() /
string_match() that libwrap takes for it; a token whose outcome is not certain (ALL, a
pattern that could match, '@' forms, /file lists, ...) matches no kind, which leaves the
line to the exact evaluation. So a mistake here can only cost time, as long as every kind
accepts only tokens that cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.hostmatch import UNKNOWN, HostInfo, Request, name_known, strip_mapped

# The run of safe lines is one atomic repeat where Python has atomic groups (clib.ATOMIC);
# before that, a search for the first line that is not safe does the same, slower.
ATOMIC = clib.ATOMIC

_SEP = rb"[ \t\r,]"  # hosts_access.c sep[] inside one line
_END = rb"(?=[ \t\r,:\n])"  # a client token ends here
_END_D = rb"(?=[ \t\r,:])"  # a daemon token ends here
_BEFORE = rb"[ \t\r,:]"  # what precedes a client token


def _neg(excluded: bytes) -> bytes:
    """The class of all bytes but `excluded`, as ranges: the regex engine tests such a class
    with a bitmap, and a negated one ([^...]) member by member."""
    out, start = [], None
    for b in range(257):
        if b < 256 and b not in excluded:
            if start is None:
                start = b
        elif start is not None:
            lo, hi = re.escape(bytes((start,))), re.escape(bytes((b - 1,)))
            out.append(lo if start == b - 1 else lo + b"-" + hi)
            start = None
    return b"[" + b"".join(out) + b"]"


_NOT_TOKEN = b" \t\r,:\n\0@/[]"  # separators, the end of a field, and '@', '/', brackets
_TC = _neg(_NOT_TOKEN)  # token characters of the kinds below
_TC_FIRST = _neg(_NOT_TOKEN + b".")  # ... and not a leading '.'
_LINE = rb"[^\n]"  # anything on a line (runs end before a NUL's line: see _runner)
_DAEMONS = _neg(b":\n\0@[]")  # a daemon field that is not parsed (no host part, brackets)

# Bounds that keep every safe line within libwrap's buffer (2046 bytes and its newline;
# a longer line is an error): a token has at most TOKEN bytes (a net/mask, or a bracket
# and its mask, at most 2 * TOKEN), a run of separators SEPS, a list TOKENS tokens; a
# daemon field that is not parsed DAEMONS bytes, the options REST. Lines beyond them are
# left to the exact evaluation.
TOKEN, SEPS, TOKENS, DAEMONS, REST, COMMENT = 64, 8, 10, 128, 512, 2045
LINE_MAX = max(
    DAEMONS + 1 + SEPS + TOKENS * (2 * TOKEN + 1 + SEPS) + 1 + REST,  # daemons:clients:options
    SEPS + TOKENS * (TOKEN + SEPS) + 1 + REST + DAEMONS,  # daemons: the rest
    1 + COMMENT,
    SEPS,  # a blank line
)
assert LINE_MAX <= 2046, LINE_MAX


def _rep(n: int) -> bytes:
    return b"{0,%d}" % n

# Every kind is written so that the regex engine can reject it on its first character
# (the exclusions are lookbehinds at the token's end), and with atomic repeats, so a
# token is scanned a few times at most. Python < 3.11 has no atomic groups: plain
# repeats match the same tokens (each kind ends at a separator), only slower.
def _at(repeat: bytes) -> bytes:
    return clib.atomic(repeat, ATOMIC)


def _ci(word: bytes) -> bytes:
    """`word` as a regex, ASCII case-insensitive (as bytes.lower() compares)."""
    if word.lower() == word.upper():
        return re.escape(word)
    return rb"(?i:" + re.escape(word) + rb")"


def _is_not(words: list[bytes]) -> bytes:
    """Lookbehinds at a token's end: the token is none of `words`, ignoring ASCII case."""
    return b"".join(rb"(?<!" + _BEFORE + _ci(w) + rb")" for w in sorted(set(words)) if w)


def _char(c: int) -> bytes:
    return rb"(?:\?|" + re.escape(bytes((c,))) + rb")"


def _cannot_glob(s: bytes) -> bytes:
    """Lookaheads, at a token's start, that hold only when wildcard_match(s, token) is false.

    Necessary for a match: the token's part before its first '*' matches the start of
    `s` ('?' any one character), all of `s` when there is no '*'; and its part after its
    last '*' matches the end of `s`. ASCII case is ignored, as wildcard_match does."""
    prefix = rb"(?:\*|" + _END + rb")"
    for c in reversed(s):
        prefix = rb"(?:\*|" + _char(c) + prefix + rb")"
    tail = b""
    for c in s:
        tail = rb"(?:" + tail + _char(c) + rb")?"
    star = rb"(?=" + _TC + rb"*\*)"
    return (rb"(?i:(?!" + prefix + rb")|" + star + rb"(?!" + _TC + rb"*\*" + tail + _END
            + rb"))")


def _cls(chars: set[int], first: bool = False) -> bytes:
    """A class of token characters but `chars` (and '.', at a token's start)."""
    return _neg(_NOT_TOKEN + (b"." if first else b"") + bytes(sorted(chars)))


def _cases(chars: bytes) -> set[int]:
    return set(chars.lower() + chars.upper())


def _client_token(addr: bytes, name: bytes, raw_name: bytes) -> bytes:
    """The kinds of client token that cannot match a client at `addr` named `name`."""
    strings = [addr] if addr == name else [addr, name]
    tc = _at(_TC + _rep(TOKEN - 1))  # the rest of a token after its first character
    prefixes = [s[: i + 1] for s in strings for i in range(len(s)) if s[i] == 0x2E]
    kinds = []
    # A number (exact compare with the address only: NOT_INADDR is false), or a net
    # prefix ending in '.' that does not start the address or name.
    kinds.append(rb"[0-9]" + _at(rb"[0-9.]" + _rep(TOKEN - 1)) + rb"(?:(?<!\.)" + _END
                 + _is_not([addr]) + rb"|(?<=\.)" + _END + _is_not(prefixes) + rb")")
    # net/mask, IPv4.
    mask = _neg(b" \t\r,:\n\0@[]")  # after the '/' (at most TOKEN bytes)
    a4 = clib.dot_quad_addr(addr)
    if a4 == clib.INADDR_NONE:  # not an IPv4 address: masked_match() is false
        kinds.append(_at(_TC + b"{1,%d}" % (TOKEN - 1)) + b"/" + _at(mask + _rep(TOKEN)) + _END)
    else:
        # A decimal net whose first byte is not the address's, with a mask whose first
        # byte is 255 (dotted, or /8../32): (addr & mask) != net. A mask starting "255."
        # that is no dotted quad is atoi()'d to 255 bits: invalid, no match either.
        top = str(a4 >> 24).encode()
        kinds.append(rb"[1-9][0-9]{0,2}\.(?<!" + _BEFORE + top + rb"\.)"
                     + _at(rb"[0-9.]" + _rep(TOKEN - 5))
                     + rb"/(?:255\." + _at(mask + _rep(TOKEN - 4))
                     + rb"|0{0,8}(?:[89]|[12][0-9]|3[0-2]))" + _END)
    # .suffix: not one of the strings' tails that start with '.' (and are shorter).
    suffixes = [s[i + 1:] for s in strings for i in range(1, len(s)) if s[i] == 0x2E]
    kinds.append(rb"\." + tc + _END + b"".join(
        rb"(?<!" + _BEFORE + rb"\." + _ci(w) + rb")" for w in sorted(set(suffixes))))
    # [IPv6] and [IPv6]/len: only an IPv6 address or name can match them.
    if clib.inet6(addr) is None and clib.inet6(name) is None:
        kinds.append(rb"\[" + _at(_neg(b" \t\r,\n\0@/[]") + _rep(TOKEN - 2)) + rb"\](?:/"
                     + _at(_TC + _rep(TOKEN - 1)) + rb")?" + _END)
    # A name or a pattern (exact compare, or wildcard_match; with the address and, as it
    # is not an address, with the name) that matches neither. First the common cases,
    # told by the first or last character alone: for each string, the token's first
    # character is not '*', '?' nor the string's first, or its last is not '*', '?', '.'
    # (a prefix) nor the string's last.
    names = _is_not([b"all", b"known", b"local"])
    if all(strings):
        wild = set(b"*?")
        heads = [_cases(s[:1]) | wild for s in strings]
        tails = [_cases(s[-1:]) | wild for s in strings]
        for pick in range(1 << len(strings)):
            no_first = set().union(*(h for i, h in enumerate(heads) if not pick >> i & 1))
            no_last = set().union(*(t for i, t in enumerate(tails) if pick >> i & 1))
            last = rb"(?<=" + _cls(no_last | {0x2E}) + rb")" if no_last else rb"(?<!\.)"
            kinds.append(_cls(no_first, first=True) + tc + last + _END + names)
    fixed = [b"except"]  # and the names host_match() answers from the client's name
    if not (addr.lower() != UNKNOWN and name_known(raw_name)):
        fixed.append(b"known")
    if not (b"." not in raw_name and name_known(raw_name)):
        fixed.append(b"local")
    kinds.append(rb"(?i:" + b"|".join(fixed) + rb")" + _END)
    # prefix. that is not a number (a host name's head)
    kinds.append(_TC_FIRST + tc + rb"(?<=\.)" + _END + _is_not(prefixes))
    # The rest of the names and patterns, proven not to match the long way.
    kinds.append(_cannot_glob(addr.lower()) + _cannot_glob(name.lower()) + _TC_FIRST
                 + rb"(?:" + tc + rb"(?<!\.))?" + _END + names)
    return rb"(?:" + b"|".join(kinds) + rb")"


def _daemon_token(daemon: bytes) -> bytes:
    """A plain daemon name that string_match() cannot match with `daemon`. (The first token
    of a line follows a newline, or starts the data: '^'.)"""
    words = sorted({b"all", b"known", daemon, strip_mapped(daemon)} - {b""})
    return (rb"[A-Za-z0-9_-]" + _at(rb"[A-Za-z0-9_.-]" + _rep(TOKEN - 1)) + rb"(?<!\.)" + _END_D
            + b"".join(rb"(?<![ \t\r,\n]" + _ci(w) + rb")(?<!^" + _ci(w) + rb")" for w in words))


def _short(repeat: bytes) -> bytes:
    """A repeat of the plain-line regex: possessive where that works; else plain, which
    matches alike (each ends before a byte it cannot take) and there costs less than an
    atomic group (100,000 lines under 3.11.2: 10.2 ms, against 11.2). Not in the full
    regex, where the lines it tries and fails are pattern lines."""
    return _at(repeat) if clib.POSSESSIVE else repeat


def _plain_line(addr: bytes | None, rep: Callable[[bytes], bytes] = _short) -> bytes:
    """The commonest safe lines (DenyHosts, fail2ban): a rule with one number, which is not
    the client's address `addr` (None: the data holds no such number); comments and blank
    lines."""
    return (
        # (ends with a digit: no backslash before the newline)
        rep(_DAEMONS + _rep(DAEMONS)) + rb": ?[0-9]" + rep(rb"[0-9.]" + _rep(TOKEN - 1))
        + rb"(?<!\.)" + (b"" if addr is None else _is_not([addr])) + rb"\n"
        + rb"|(?:#" + rep(_LINE + _rep(COMMENT))  # a comment
        + rb"|" + rep(rb"[ \t\r]" + _rep(SEPS))  # a blank line
        + rb")(?<!\\)\n"
    )


def _line(request: Request) -> bytes:
    c = request.client
    client = _client_token(strip_mapped(c.addr), strip_mapped(c.name), c.name)
    daemon = _daemon_token(request.daemon)
    sep = _at(_SEP + _rep(SEPS))
    rest = _at(_LINE + _rep(REST))
    return (
        rb"(?:" + _plain_line(strip_mapped(c.addr), _at)
        # no daemon can match: the rest is never looked at
        + rb"|(?:" + sep + _at(rb"(?:" + daemon + sep + rb")" + _rep(TOKENS)) + b":"
        + _at(_LINE + _rep(REST + DAEMONS))
        # the daemons may match (and have no host part), no client can
        + rb"|" + _at(_DAEMONS + _rep(DAEMONS)) + b":" + sep
        + _at(rb"(?:" + client + sep + rb")" + _rep(TOKENS)) + rb"(?::" + rest + rb")?"
        + rb")(?<!\\)\n)"
    )


WINDOW = clib.LINE_WINDOW  # > LINE_MAX


def _runner(line: bytes) -> Callable[[bytes, int, int], int]:
    """`f(data, pos, end)`: where the run of `line`s from `pos` stops before `end`."""
    if ATOMIC:
        run = re.compile(_at(rb"(?:" + line + rb")*")).match

        def safe_end(data: bytes, pos: int, end: int) -> int:
            return clib.line_run(run, data, pos, end, WINDOW)

        return safe_end
    search = re.compile(rb"^(?!" + line + rb")", re.MULTILINE).search  # pragma: no cover

    def first_unsafe(data: bytes, pos: int, end: int) -> int:  # pragma: no cover
        m = search(data, pos, end)
        stop = m.start() if m else end
        nul = data.find(b"\0", pos, stop)  # a line with a NUL is not safe
        return stop if nul < 0 else max(pos, data.rfind(b"\n", pos, nul) + 1)

    return first_unsafe  # pragma: no cover


# Bytes left (in memory) below which the full regex is not compiled: it takes about 3 ms,
# the time of reading some 200 rules one by one. Evaluating many clients on small files
# (a plan's proof: hundreds) must not compile one each.
FULL_AFTER = 32 << 10


@lru_cache(maxsize=1)
def _plain() -> Callable[[bytes, int, int], int]:
    return _runner(_plain_line(None))


@lru_cache(maxsize=64)
def _full(key: tuple[bytes, bytes, bytes]) -> Callable[[bytes, int, int], int]:
    daemon, addr, name = key
    return _runner(_line(Request(daemon=daemon, client=HostInfo(addr=addr, name=name))))


class _PlainRun:
    """The plain run last taken: plain lines do not depend on the request, so for the same
    bytes object and start the run one request took serves the next (check evaluates two
    clients, then the operator's, over the same 100,000-line file). Only the last one is
    kept, and with it that bytes object."""

    last: tuple[bytes, int, int, bool] | None = None  # data, pos, reached, stopped there

    def end(self, data: bytes, pos: int, end: int) -> int:
        """Where the plain run from `pos` stops before `end` (a line start)."""
        start, last = pos, self.last  # one read: threads may replace it
        if last is not None and last[0] is data and last[1] == pos:
            reached, stopped = last[2], last[3]
            if stopped or end <= reached:
                return min(reached, end)
            start = reached  # read on from where the last run was cut
        got = _plain()(data, start, end)
        self.last = (data, pos, got, got < end)
        return got


_PLAIN_RUN = _PlainRun()


def safe_run(request: Request) -> Callable[[bytes, int], int]:
    """`f(data, pos)`: the end of the run of safe lines from `pos` (a line start) in data.

    The run stops at the first line that is not safe, or that the data cut short; it
    depends on the request's daemon and client (address and name) only. The full regex
    is compiled (about 3 ms) only once the small one for plain lines, which needs no
    compiling per client, stops short."""
    key = (request.daemon, request.client.addr, request.client.name)
    addr = strip_mapped(request.client.addr)
    full: list[Callable[[bytes, int, int], int]] = []

    def run(data: bytes, pos: int) -> int:
        if not full:
            # Plain lines up to the line that holds the address (a C-level find), if any.
            hit = data.find(addr, pos) if addr else -1
            end = len(data) if hit < 0 else data.rfind(b"\n", pos, hit) + 1
            pos = _PLAIN_RUN.end(data, pos, max(pos, end))
            if len(data) - pos < FULL_AFTER:
                return pos  # the rest is read line by line sooner than the regex compiles
            full.append(_full(key))
        return full[0](data, pos, len(data))

    return run
