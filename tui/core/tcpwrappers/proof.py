"""Proof that an edit of hosts.allow/hosts.deny makes no other client's verdict worse.

The proof set (``ProofSet``) is every address, network, name and user the two files name, in
both versions (plus the words of /file pattern lists), and sampled addresses: one in each IPv4
and each IPv6 /8, loopback, the private and CGNAT ranges, link-local, ULA, documentation and
v4-mapped addresses; with the name states libwrap knows (unknown, paranoid, a known name) and
the daemon names the files name. A network gives its first, last and a middle address and the
two just outside it.

Evaluating 100,000 clients twice against a 100,000-rule hosts.deny is out of reach, so the
proof (``prove``) uses the structure of first-match evaluation:

* Each file is a sequence of *effective records*: hosts.allow up to its first incomplete
  record (libwrap ignores that record and the rest: the same as the end of the file),
  hosts.deny up to its first incomplete record, which denies every client that reaches it
  (``DENY_ALL``). A verdict is the outcome of the first record a client matches, across
  hosts.allow then hosts.deny; granted when none matches. What a record does to a client
  depends only on its text and the client.
* Before and after are aligned record by record (equal texts); what is left over forms hunks
  of removed and added records. A client that matches no removed or added record meets the
  same first record in both versions: same verdict.
* Sharper: a client can only get *worse* (granted -> denied or delegated) if, in the first
  hunk it matches anything in, (a) a removed record that grants matches it, or (b) an added
  record that does not grant matches it and the hunk's removed side does not end in
  DENY_ALL (a hunk that did decided every client reaching it before: a client it decided
  was denied, or granted by a removed record, which is case a).

Only clients that match a granting removed record, or a non-granting added record outside a
DENY_ALL hunk, are evaluated by the engine (``Evaluator.check``) on both versions; everyone
else is proven by the argument above. tests/test_plan_proof.py checks the shortcut against a
full evaluation of every client.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tui.core.bytescmp import differing
from tui.core.tcpwrappers import clib
from tui.core.tcpwrappers.access import Evaluator
from tui.core.tcpwrappers.hostmatch import (
    PARANOID,
    UNKNOWN,
    FileLoopError,
    HostInfo,
    Matcher,
    Request,
    not_inaddr,
    strip_mapped,
)
from tui.core.tcpwrappers.options import LOCAL_ACCOUNTS, Accounts, Outcome, process_options
from tui.core.tcpwrappers.table import BUFLEN, Table, is_skipped, records, split_rule

ReadFile = Callable[[str], bytes]

DENY_ALL = b""  # an incomplete record in hosts.deny (never a record's text: those are not empty)
SSHD = b"sshd"
KNOWN_NAME = b"client.example.org"  # a client whose name resolved and verified
LOCAL_NAME = b"client"  # a name without a dot (LOCAL)
_NUM = rb"[0-9]+(?:\.[0-9]+)*"
_SEP = rb"[ \t\r,]"
# A rule whose client list holds only plain numbers: only a client whose address is one of
# them can match it (an exact string compare). DenyHosts and fail2ban write such rules.
_PLAIN = re.compile(
    rb"(?!#)[^:\[\]\n\0]*:(" + _SEP + rb"*" + _NUM + rb"(?:" + _SEP + rb"+" + _NUM + rb")*"
    + _SEP + rb"*)(?::[^\n\0]*)?\n"
)
_PLAIN_AFTER_NL = re.compile(
    rb"\n((?!#)[^:\[\]\n\0]*):(" + _SEP + rb"*" + _NUM + rb"(?:" + _SEP + rb"+" + _NUM + rb")*"
    + _SEP + rb"*)(?::[^\n\0]*)?(?=\n|\Z)"
)
_BLANK_AFTER_NL = re.compile(rb"\n(?=[ \t\r]*\n)")
_NUM_TOKEN = re.compile(_NUM)
_DAEMON = re.compile(rb"[a-z][a-z0-9_.-]{0,63}(?<!\.)")
_V4 = re.compile(rb"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                 rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
_V4_WORDS = re.compile(rb"(?<![^ ])" + _V4.pattern + rb"(?![^ ])")  # whole words only
# atomic (where Python has atomic groups: clib.ATOMIC): words that are all addresses, in one match
_ALL_V4: re.Pattern[bytes] | None = (
    re.compile(clib.atomic(rb"(?:" + _V4.pattern + rb" )*")) if clib.ATOMIC else None)
_MAX_FILE_WORDS = 4096  # words read from one /file pattern list
_MAX_PAIRED = 256  # addresses paired with every name, user and server
_MAX_EACH = 64  # names, users, servers and daemons kept


# --- the clients ------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Probe:
    """One client as libwrap sees it (the texts it compares)."""

    addr: bytes
    name: bytes = UNKNOWN
    daemon: bytes = SSHD
    user: bytes = UNKNOWN
    server_addr: bytes = UNKNOWN
    server_name: bytes = UNKNOWN

    def request(self) -> Request:
        return Request(daemon=self.daemon, client=HostInfo(self.addr, self.name),
                       server=HostInfo(self.server_addr, self.server_name), user=self.user)

    @property
    def plain(self) -> bool:
        """Only an address known: what tcpdmatch -d sshd [USER@]ADDR can be asked."""
        return (self.name, self.server_addr, self.server_name) == (UNKNOWN,) * 3

    def __str__(self) -> str:
        text = self.addr.decode("latin-1")
        if self.user != UNKNOWN:
            text = f"{self.user.decode('latin-1')}@{text}"
        if self.name != UNKNOWN:
            text += f" (name {self.name.decode('latin-1')})"
        if self.server_addr != UNKNOWN or self.server_name != UNKNOWN:
            server = self.server_addr if self.server_addr != UNKNOWN else self.server_name
            text += f" at server {server.decode('latin-1')}"
        if self.daemon != SSHD:
            text += f" to {self.daemon.decode('latin-1')}"
        return text


def _samples() -> list[bytes]:
    v4 = [f"{n}.{(n * 37 + 11) % 256}.{(n * 101 + 7) % 256}.{(n * 53 + 29) % 254 + 1}"
          for n in range(256)]
    v4 += ["127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.254", "172.16.0.1",
           "172.31.255.254", "192.168.0.1", "192.168.255.254", "100.64.0.1", "100.127.255.254",
           "169.254.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1"]
    v6 = [_v6_text(n << 120 | (n * 0x9E3779B97F4A7C15 & (1 << 64) - 1) | 1) for n in range(256)]
    v6 += ["::1", "fe80::1", "fe80::ffff:ffff:ffff:fffe", "fc00::1", "fd00::1",
           "fdff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "2001:db8::1", "2001:db8:ffff::1",
           "2000::1", "2a00:1450::1", "2600::1", "64:ff9b::c000:201", "::ffff:10.0.0.1",
           "::ffff:127.0.0.1", "::ffff:192.168.0.1", "::ffff:203.0.113.1"]
    return [a.encode() for a in v4 + v6]


def _v4_text(n: int) -> str:
    return socket.inet_ntoa((n & 0xFFFFFFFF).to_bytes(4, "big"))


def _v6_text(n: int) -> str:
    return socket.inet_ntop(socket.AF_INET6, (n % (1 << 128)).to_bytes(16, "big"))


SAMPLES = _samples()
_ANCHORS = [b"192.0.2.1", b"2001:db8::1", b"10.0.0.1", b"::ffff:192.0.2.1"]


@dataclass
class _Named:
    """What the rules name: clients' addresses, names, users, daemons and servers."""

    addrs: set[bytes] = field(default_factory=set)
    names: set[bytes] = field(default_factory=set)
    users: set[bytes] = field(default_factory=set)
    daemons: set[bytes] = field(default_factory=set)
    servers: set[tuple[bytes, bytes]] = field(default_factory=set)


@dataclass
class ProofSet:
    """The clients a proof checks. `bulk`: addresses from plain rules, each as Probe(addr)."""

    bulk: set[bytes] = field(default_factory=set)
    probes: set[Probe] = field(default_factory=set)
    _by_addr: dict[bytes, list[Probe]] | None = None

    @classmethod
    def build(cls, tables: Iterable[Table | bytes | None], read_file: ReadFile) -> ProofSet:
        ps = cls()
        ps.add_tables(tables, read_file)
        return ps

    def add_tables(self, tables: Iterable[Table | bytes | None], read_file: ReadFile) -> None:
        named = _Named()
        for t in tables:
            data = t.data if isinstance(t, Table) else t
            if data:
                self._add_data(data, named, read_file)
        self._combine(named)

    def add_records(self, texts: Iterable[bytes], read_file: ReadFile) -> None:
        named = _Named()
        for text in texts:
            _name_rule(text, named, read_file)
        self._combine(named)

    def __len__(self) -> int:
        return len(self.bulk) + len(self.probes)

    def __iter__(self):
        yield from self.probes
        for a in self.bulk:
            yield Probe(a)

    def with_addr(self, addr: bytes) -> list[Probe]:
        """Probes whose address (v4-mapped stripped) is `addr`."""
        if self._by_addr is None:
            self._by_addr = {}
            for p in self.probes:
                self._by_addr.setdefault(strip_mapped(p.addr), []).append(p)
        out = list(self._by_addr.get(addr, ()))
        if addr in self.bulk:
            out.append(Probe(addr))
        return out

    # -- building ----------------------------------------------------------------------

    def _add_data(self, data, named: _Named, read_file: ReadFile) -> None:
        if simple_lines(data):
            # One record per line: plain rules by regex, the few others one by one. Each
            # pattern starts with a literal newline, which the regex engine finds fast.
            blob = b"\n" + bytes(data)
            plain = _PLAIN_AFTER_NL.findall(blob)
            if plain:
                words = set(b" ".join([c for _, c in plain]).replace(b",", b" ").split())
                joined = b" ".join(words) + b" "
                # Commonly every word is an address: one match without a capture per word.
                all_v4 = _ALL_V4 is not None and _ALL_V4.fullmatch(joined) is not None
                self.bulk.update(words if all_v4 else _V4_WORDS.findall(joined))
                for d in {d for d, _ in plain}:
                    _name_daemons(d, named)
            lines = blob.count(b"\n") - blob.endswith(b"\n")
            skipped = blob.count(b"\n#") + len(_BLANK_AFTER_NL.findall(blob))
            if len(plain) + skipped < lines:
                for text in _split_lines(blob[1:]):
                    if text[:1] != b"#" and not _PLAIN.fullmatch(text):
                        _name_rule(text, named, read_file)
            return
        for rec in records(data):
            _name_rule(rec.text, named, read_file)

    def _combine(self, n: _Named) -> None:
        self._by_addr = None
        daemons = [SSHD] + sorted(n.daemons - {SSHD})[:16]
        base = sorted(n.addrs | set(SAMPLES))
        paired = sorted(n.addrs)[:_MAX_PAIRED] + _ANCHORS
        names = sorted(n.names)[:_MAX_EACH]
        users = sorted(n.users - {UNKNOWN})[:_MAX_EACH]
        servers = sorted(n.servers)[:_MAX_EACH]
        add = self.probes.add
        for a in base:
            add(Probe(a))
        for a in paired + SAMPLES[::16]:
            for d in daemons[1:]:
                add(Probe(a, daemon=d))
        for a in SAMPLES:
            add(Probe(a, name=PARANOID))
            add(Probe(a, name=KNOWN_NAME))
        for a in paired:
            for name in names:
                add(Probe(a, name=name))
            for user in users:
                add(Probe(a, user=user))
            for s_addr, s_name in servers:
                for d in daemons[:4]:
                    add(Probe(a, daemon=d, server_addr=s_addr, server_name=s_name))
        if self.bulk:
            self.probes = {p for p in self.probes if not (p == Probe(p.addr) and p.addr in
                                                           self.bulk)}


def simple_lines(data) -> bool:
    """True when each physical line is one record: no continuation, NUL or long line."""
    return _simple(data) if isinstance(data, bytes) else _make_simple(data)


class _Kept:
    """The results for the last few bytes objects (as lru_cache), which may also be given
    ahead (`put`) when they are known without reading the bytes."""

    def __init__(self, make: Callable, size: int = 8) -> None:
        self.make, self.size = make, size
        self.got: OrderedDict[bytes, object] = OrderedDict()

    def __call__(self, data: bytes):
        if data in self.got:
            self.got.move_to_end(data)
            return self.got[data]
        value = self.make(data)
        self.put(data, value)
        return value

    def put(self, data: bytes, value: object) -> None:
        self.got[data] = value
        self.got.move_to_end(data)
        while len(self.got) > self.size:
            self.got.popitem(last=False)

    def cache_clear(self) -> None:
        self.got.clear()


def _make_simple(data: bytes) -> bool:
    # a lone byte is found at memchr() speed, a two-byte string several times slower
    joined = data.find(b"\\") >= 0 and data.find(b"\\\n") >= 0
    return not joined and data.find(b"\0") < 0 and not _long_line(data)


_simple = _Kept(_make_simple)


def _long_line(data) -> bool:
    """A physical line of BUFLEN-1 bytes or more before its newline (xgets splits it).

    Such a line holds a whole block of half that size, so only blocks without a newline
    are looked at closer: a few C-level finds per block, not a regex step per byte."""
    n, size = len(data), (BUFLEN - 1) // 2
    pos = 0
    while pos < n:
        end = min(n, pos + size)
        if data.find(b"\n", pos, end) >= 0:
            pos = end
            continue
        start = data.rfind(b"\n", 0, pos) + 1
        stop = data.find(b"\n", end)
        stop = n if stop < 0 else stop
        if stop - start >= BUFLEN - 1:
            return True
        pos = stop + 1
    return False


def _split_lines(blob: bytes) -> list[bytes]:
    """Records of a `simple_lines` file: each line with its newline, a last one without."""
    if blob.find(b"\r") < 0:
        return blob.splitlines(keepends=True)  # at \n only when there is no \r: one C pass
    parts = blob.split(b"\n")
    tail = parts.pop()
    out = [p + b"\n" for p in parts]
    if tail:
        out.append(tail)
    return out


def _name_daemons(daemons: bytes, named: _Named) -> None:
    for tok in clib.strtok(daemons):
        head, host = clib.split_at(tok[1:], 0x40)
        word = tok if host is None else tok[:1] + head
        low = word.lower()
        if low not in (b"all", b"known", b"except") and _DAEMON.fullmatch(low):
            named.daemons.add(low)  # a name a daemon process could have, not a pattern
        if host is not None:
            sub = _Named()
            _name_host(host, sub, None, 0)
            for a in sorted(sub.addrs)[:8]:
                named.servers.add((a, UNKNOWN))
            for nm in sorted(sub.names)[:8]:
                named.servers.add((UNKNOWN, nm))


def _name_rule(text: bytes, named: _Named, read_file: ReadFile | None) -> None:
    if not text or is_skipped(text):
        return
    parts = split_rule(text)
    if parts is None:
        return
    daemons, clients, _ = parts
    _name_daemons(daemons, named)
    for tok in clib.strtok(clients):
        head, host = clib.split_at(tok[1:], 0x40)
        if host is not None:
            user = tok[:1] + head
            for u in _fill(user):
                if u.lower() not in (b"all", b"known"):
                    named.users.add(u)
            named.users.add(b"operator")
            tok = host
        _name_host(tok, named, read_file, 0)


def _name_host(tok: bytes, named: _Named, read_file: ReadFile | None, depth: int) -> None:
    """Clients a host pattern is about: ones it matches and ones just outside it."""
    low = tok.lower()
    if not tok or low == b"except" or tok[:1] == b"@":
        return
    if tok[:1] == b"/":
        if read_file is None or depth >= 4:
            return
        try:
            data = read_file(tok.decode("latin-1"))
        except OSError:
            return
        for word in data.split()[:_MAX_FILE_WORDS]:
            _name_host(word.split(b"\0", 1)[0], named, read_file, depth + 1)
        return
    if low in (b"all", b"unknown"):
        return
    if low in (b"known", b"local", b"paranoid"):
        named.names.update((KNOWN_NAME, LOCAL_NAME, PARANOID))
        return
    net, mask = clib.split_at(tok, 0x2F)
    if mask is not None:
        named.addrs.update(_network(net, mask))
        return
    if tok[:1] == b"[" and tok[-1:] == b"]":
        got = clib.inet6(tok[1:-1])
        if got is not None:
            named.addrs.update(_around6(int.from_bytes(got[0], "big"), 128))
        return
    for word in _fill(tok):
        if word[:1] == b".":
            named.names.add(b"host" + word)
            named.addrs.update(_suffix_v4(word))
        elif word[-1:] == b".":
            named.names.add(word + b"example")
            named.addrs.update(_prefix_v4(word))
        else:
            addr = _address(word)
            if addr is not None:
                named.addrs.update(addr)
            elif not_inaddr(word):
                named.names.add(word)


def _fill(tok: bytes) -> list[bytes]:
    """A wildcard pattern's stand-ins (a few strings it matches); else the token itself."""
    if b"*" not in tok and b"?" not in tok:
        return [tok]
    out = []
    for star, q in ((b"", b"1"), (b"1", b"0"), (b"0.0.1", b"1"), (b"host", b"a"),
                    (b"1.1.1", b"2"), (b":", b"f")):
        word = tok.replace(b"*", star).replace(b"?", q)
        if word and word not in out:
            out.append(word)
    return out


def _address(word: bytes) -> list[bytes] | None:
    """A literal address as clients spell it (and its v4-mapped twin)."""
    text = word.decode("latin-1")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 4:
        return [str(ip).encode(), b"::ffff:" + str(ip).encode()]
    if ip.scope_id:
        return None
    return _around6(int(ip), 128)


def _network(net: bytes, mask: bytes) -> list[bytes]:
    if net[:1] == b"[":
        if net[-1:] != b"]":
            return []
        got = clib.inet6(net[1:-1])
        bits = clib.c_atoi(mask)
        if got is None or not 0 <= bits <= 128:
            return []
        return _around6(int.from_bytes(got[0], "big"), bits)
    n = clib.dot_quad_addr(net)
    if n == clib.INADDR_NONE:
        return []
    m = clib.dot_quad_addr(mask)
    if m == clib.INADDR_NONE:
        m = clib.cidr_mask_addr(mask)
        if m == 0:
            return []
    host = ~m & 0xFFFFFFFF
    if n & host:
        return []  # libwrap compares (addr & mask) == net: nothing matches
    first, last = n, n | host
    middle = n | (host & 0x2B6D3C91)
    picks = {first, last, middle, first - 1, last + 1}
    out = [_v4_text(a).encode() for a in sorted(picks) if 0 <= a <= 0xFFFFFFFF]
    return out + [b"::ffff:" + a for a in out[:3]]


def _around6(net: int, bits: int) -> list[bytes]:
    host = (1 << (128 - bits)) - 1
    first, last = net & ~host, net | host
    middle = first | (host & 0x2B6D3C91A5F01E77D4C3B2A1908F7E6D)
    picks = {first, last, middle, first - 1, last + 1}
    return [_v6_text(a).encode() for a in sorted(picks) if 0 <= a < 1 << 128]


def _suffix_v4(word: bytes) -> list[bytes]:
    parts = word[1:].split(b".")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return []
    lead = [b"1", b"2", b"3"][: 4 - len(parts)]
    return [b".".join(lead + parts)] if _V4.fullmatch(b".".join(lead + parts)) else []


def _prefix_v4(word: bytes) -> list[bytes]:
    parts = word[:-1].split(b".")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        return []
    k = 4 - len(parts)
    out = []
    for fill in (b"0", b"255", b"77"):
        cand = b".".join(parts + [fill] * k)
        if _V4.fullmatch(cand):
            out.append(cand)
    return out


# --- effective records and their alignment ------------------------------------------


def record_texts(data) -> list[bytes]:
    """Logical records as libwrap reads them, up to and including the first incomplete one."""
    if isinstance(data, bytes):
        return list(_record_texts(data))  # plans ask several times about the same bytes
    if simple_lines(data):
        return _split_lines(bytes(data))
    return [rec.text for rec in records(data)]


def _make_record_texts(data: bytes) -> tuple[bytes, ...]:
    if simple_lines(data):
        return tuple(_split_lines(data))
    return tuple(rec.text for rec in records(data))


_record_texts = _Kept(_make_record_texts)


def note_edit(before: bytes, after: bytes, start: int, old_end: int, new_end: int) -> None:
    """`after` is `before` with before[start:old_end] replaced by after[start:new_end], each
    cut at the start of a line (or the end): when each line of `before` is one record, and
    of that replacement, so are those of `after`, and its records are `before`'s around the
    replacement's. Kept for record_texts(after): `after` is not split again."""
    if not (0 <= start <= old_end <= len(before) and start <= new_end <= len(after)):
        return
    if before[:start] != after[:start] or before[old_end:] != after[new_end:]:
        return  # not such an edit (a cheap check: C compares)
    for data, end in ((before, old_end), (after, new_end)):
        if not (start == 0 or data[start - 1:start] == b"\n") or not (
                end == len(data) or data[end - 1:end] == b"\n"):
            return
    middle = after[start:new_end]
    if not (simple_lines(before) and _make_simple(middle)):
        return
    old = _record_texts(before)
    first = before.count(b"\n", 0, start)
    last = first + len(_split_lines(before[start:old_end]))
    _simple.put(after, True)
    _record_texts.put(after, old[:first] + tuple(_split_lines(middle)) + old[last:])


def effective(table: Table, is_allow: bool) -> list[bytes]:
    """The records that can decide a verdict (see the module doc), DENY_ALL included."""
    if table.open_errno is not None:
        return [] if table.missing or is_allow else [DENY_ALL]
    texts = record_texts(table.data)
    if texts and not texts[-1].endswith(b"\n"):
        texts.pop()
        if not is_allow:
            texts.append(DENY_ALL)
    return texts


@dataclass(frozen=True)
class Hunk:
    removed: list[bytes]
    added: list[bytes]


def hunks(a: list[bytes], b: list[bytes]) -> list[Hunk]:
    """An alignment of equal records (any common subsequence keeps the proof sound; a good
    one keeps hunks small): common ends, then records unique on both sides as anchors."""
    out: list[Hunk] = []
    _align(a, b, 0, len(a), 0, len(b), out, 0)
    return out


def _align(a, b, alo, ahi, blo, bhi, out: list[Hunk], depth: int) -> None:
    step = 512  # equal runs compared a slice at a time (C speed), then one by one
    while min(ahi - alo, bhi - blo) >= step and a[alo:alo + step] == b[blo:blo + step]:
        alo, blo = alo + step, blo + step
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        alo, blo = alo + 1, blo + 1
    while min(ahi - alo, bhi - blo) >= step and a[ahi - step:ahi] == b[bhi - step:bhi]:
        ahi, bhi = ahi - step, bhi - step
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
    if alo == ahi and blo == bhi:
        return
    if alo == ahi or blo == bhi or depth > 30:
        out.append(Hunk(a[alo:ahi], b[blo:bhi]))
        return
    if ahi - alo == bhi - blo:
        # As many records on both sides (comment-out edits in place): records aligned by
        # position where equal, if few differ; found a slice at a time at C speed.
        diff = differing(a, b, alo, blo, ahi - alo, (ahi - alo) // 4)
        if diff is not None:
            k = 0
            while k < len(diff):
                first = last = diff[k]
                k += 1
                while k < len(diff) and diff[k] == last + 1:
                    last, k = diff[k], k + 1
                out.append(Hunk(a[alo + first:alo + last + 1], b[blo + first:blo + last + 1]))
            return
    ca, cb = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    where = {x: j for j, x in enumerate(b[blo:bhi], blo) if cb[x] == 1 and ca[x] == 1}
    pairs = [(i, where[x]) for i, x in enumerate(a[alo:ahi], alo) if x in where]
    anchors = _increasing(pairs)
    if not anchors:
        out.append(Hunk(a[alo:ahi], b[blo:bhi]))
        return
    i0, j0 = alo, blo
    for i, j in anchors:
        if i > i0 or j > j0:  # nothing between consecutive anchors: no call
            _align(a, b, i0, i, j0, j, out, depth + 1)
        i0, j0 = i + 1, j + 1
    _align(a, b, i0, ahi, j0, bhi, out, depth + 1)


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest run of pairs increasing in both (patience sorting on the second)."""
    import bisect

    js = [j for _, j in pairs]
    if js == sorted(js):  # already increasing (edits in place): all of them, at C speed
        return pairs
    tails: list[int] = []
    tail_idx: list[int] = []
    prev = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_idx.append(k)
        else:
            tails[pos], tail_idx[pos] = j, k
        prev[k] = tail_idx[pos - 1] if pos else -1
    out = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        out.append(pairs[k])
        k = prev[k]
    return out[::-1]


# --- the proof ----------------------------------------------------------------------


@dataclass(frozen=True)
class Worse:
    client: Probe
    before: str
    after: str
    why: str  # the rule that decides after the edit

    def __str__(self) -> str:
        return f"{self.client}: {self.before} -> {self.after} ({self.why})"


@dataclass
class Proof:
    checked: int  # clients in the proof set other than the operator
    evaluated: int  # of them, evaluated by the engine before and after
    worse: list[Worse] = field(default_factory=list)
    inconclusive: str | None = None  # the proof could not be completed: treat as failed

    @property
    def ok(self) -> bool:
        return not self.worse and self.inconclusive is None

    @property
    def sentence(self) -> str:
        if self.inconclusive:
            return f"not proven safe for other clients: {self.inconclusive}"
        if self.worse:
            names = ", ".join(str(w.client) for w in self.worse[:3])
            more = f" and {len(self.worse) - 3} more" if len(self.worse) > 3 else ""
            return (f"{len(self.worse)} of {self.checked} other clients checked would lose "
                    f"access: {names}{more}")
        return (f"{self.checked} other clients checked (every address, network and name the "
                "rules name, and samples): none loses access")


Pair = tuple[Table, Table]  # (hosts.allow, hosts.deny)
WORK_BUDGET = 400_000_000  # bytes of rules the engine may scan for one proof (a few seconds)


def prove(
    before: Pair,
    after: Pair,
    operator: str,
    read_file: ReadFile,
    accounts: Accounts = LOCAL_ACCOUNTS,
    proof_set: ProofSet | None = None,
    exhaustive: bool = False,
) -> Proof:
    """Does going from `before` to `after` make any client but `operator` worse off?

    `proof_set` built from `before` may be shared between plans; the records an edit adds
    are named in it here. `exhaustive` evaluates every client (for tests of the shortcut).
    """
    ps = proof_set or ProofSet.build([*before], read_file)
    found: list[Hunk] = []
    files: list[tuple[bool, list[Hunk]]] = []
    for k, is_allow in ((0, True), (1, False)):
        if _same(before[k], after[k]):
            continue
        hs = hunks(effective(before[k], is_allow), effective(after[k], is_allow))
        files.append((is_allow, hs))
        found += hs
    added_texts = [t for h in found for t in h.added if t]
    if added_texts:
        # Rules an edit adds are named too (a copy: a shared set stays the before-set).
        ps = ProofSet(set(ps.bulk), set(ps.probes))
        ps.add_records(added_texts, read_file)
    me = host_key(operator.encode())
    others = [p for p in ps if host_key(p.addr) != me] if exhaustive else None
    checked = len(ps) - sum(1 for a in _operator_spellings(operator) for _ in ps.with_addr(a))
    if exhaustive:
        assert others is not None
        candidates = others
    else:
        picked: dict[Probe, None] = {}
        for is_allow, hs in files:
            for h in hs:
                shielded = bool(h.removed) and h.removed[-1] == DENY_ALL
                for text in h.removed:
                    if _may(text, is_allow, True, accounts):
                        picked.update(dict.fromkeys(_matching(text, ps, read_file)))
                if not shielded:
                    for text in h.added:
                        if _may(text, is_allow, False, accounts):
                            picked.update(dict.fromkeys(_matching(text, ps, read_file)))
        candidates = [p for p in picked if host_key(p.addr) != me]
    size = sum(len(t.data) for t in (*before, *after) if t.open_errno is None)
    if len(candidates) * max(size, 1) > WORK_BUDGET and not exhaustive:
        return Proof(checked, 0, inconclusive=f"{len(candidates)} clients would need checking "
                     "one by one on large files")
    ev_b = Evaluator(before[0], before[1], read_file, accounts)
    ev_a = Evaluator(after[0], after[1], read_file, accounts)
    proof = Proof(checked, len(candidates))
    for p in sorted(candidates):
        req = p.request()
        vb = ev_b.check(req)
        if not vb.granted:
            continue
        va = ev_a.check(req)
        if not va.granted:
            where = f"{va.file} line {va.line}: {va.rule}" if va.line else va.reason
            proof.worse.append(Worse(p, vb.access, va.access, where))
    return proof


def _same(a: Table, b: Table) -> bool:
    return a.open_errno == b.open_errno and (a.open_errno is not None or a.data == b.data)


def _may(text: bytes, is_allow: bool, grant: bool, accounts: Accounts) -> bool:
    """Can this record, when it matches, grant (grant=True) or not grant (grant=False)?"""
    if text == DENY_ALL:
        return not grant
    if is_skipped(text):
        return False
    parts = split_rule(text)
    if parts is None:
        return False
    daemons, clients, options = parts
    if any(t[:1] == b"/" or b"@/" in t for t in clib.strtok(daemons + b" " + clients)):
        return True  # a /file pattern may include itself: libwrap dies, whatever the rule
    # The outcome depends on the options text and the accounts only, not on the client.
    outcome = process_options(options or b"", accounts).outcome
    grants = outcome is Outcome.ALLOW or (outcome is Outcome.NONE and is_allow)
    return grants == grant


def _matching(text: bytes, ps: ProofSet, read_file: ReadFile) -> list[Probe]:
    """Probes of `ps` that this record's daemon and client lists match."""
    if text == DENY_ALL:
        return list(ps)
    m = _PLAIN.fullmatch(text)
    if m is not None:
        pool: Iterable[Probe] = [p for tok in set(_NUM_TOKEN.findall(m.group(1)))
                                 for p in ps.with_addr(tok)]
    else:
        pool = ps
    parts = split_rule(text)
    if parts is None:
        return []
    daemons, clients, _ = parts
    dtoks, ctoks = clib.strtok(daemons), clib.strtok(clients)
    out = []
    for p in pool:
        mt = Matcher(p.request(), read_file)
        try:
            hit = mt.list_match(dtoks, mt.server_match) and mt.list_match(ctoks, mt.client_match)
        except FileLoopError:
            hit = True
        if hit:
            out.append(p)
    return out


def host_key(addr: bytes) -> bytes:
    """An address's identity for "is this the operator": v4-mapped and spellings folded."""
    try:
        ip = ipaddress.ip_address(addr.decode("latin-1"))
    except ValueError:
        return addr.lower()
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.packed


def _operator_spellings(operator: str) -> list[bytes]:
    """Every way the proof set may spell the operator's address (stripped of ::ffff:)."""
    key = host_key(operator.encode())
    if len(key) == 4:
        return [_v4_text(int.from_bytes(key, "big")).encode()]
    if len(key) == 16:
        return [_v6_text(int.from_bytes(key, "big")).encode()]
    return [operator.encode()]
