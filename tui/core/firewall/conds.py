"""Match conditions both parsers build: source address, port, protocol, interface, state."""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re

from tui.core.firewall.model import (
    NO,
    YES,
    Cond,
    Network,
    Packet,
    Test,
    by_address,
    unknown,
)
from tui.core.text import ascii_int

# Well-known service names rule files use instead of numbers (nft prints numbers by default).
SERVICES = {"ssh": 22, "http": 80, "https": 443, "smtp": 25, "domain": 53, "ftp": 21,
            "telnet": 23, "ntp": 123, "mysql": 3306, "postgresql": 5432, "imap": 143,
            "imaps": 993, "pop3": 110, "pop3s": 995, "submission": 587, "rdp": 3389}
TCP_NAMES = {"tcp", "6"}
ANY_PROTO = {"all", "0"}


# An address range as (IP version, first, last) integers: what a source test compares.
Span = tuple[int, int, int]
# a.b.c.d[/len] without leading zeros (what ipaddress makes of those depends on the Python:
# the slow path decides); octets over 255 and lengths over 32 are refused after the match.
_OCTET = r"(0|[1-9][0-9]{0,2})"
_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(0|[1-9][0-9]?))?")


def parse_net(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text.strip().strip("[]"), strict=False)
    except ValueError:
        return None


def parse_range(text: str) -> list[Network] | None:
    """'a-b' (nft interval, iptables iprange) as the networks that cover it."""
    lo, sep, hi = text.partition("-")
    if not sep:
        n = parse_net(text)
        return [n] if n else None
    try:
        a, b = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
        return list(ipaddress.summarize_address_range(a, b))  # type: ignore[arg-type,unused-ignore]
    except (ValueError, TypeError):
        return None


def parse_span(text: str) -> Span | None:
    """parse_net(text) as a Span, without building an ip_network for a plain IPv4 address or
    a.b.c.d/len (a saved ruleset can hold tens of thousands of them, each a different one)."""
    m = _V4.fullmatch(text)
    if m is None:
        return _slow_span(text.strip().strip("[]"))
    ga, gb, gc, gd, gplen = m.groups()
    a, b, c, d = int(ga), int(gb), int(gc), int(gd)
    plen = 32 if gplen is None else int(gplen)
    if a > 255 or b > 255 or c > 255 or d > 255 or plen > 32:
        return None  # ip_network refuses these too
    host = 0xFFFFFFFF >> plen
    lo = ((a << 24) | (b << 16) | (c << 8) | d) & ~host
    return (4, lo, lo | host)


@functools.lru_cache(maxsize=4096)
def _slow_span(text: str) -> Span | None:
    n = parse_net(text)
    return None if n is None else net_span(n)


def net_span(n: Network) -> Span:
    return (n.version, int(n.network_address), int(n.broadcast_address))


def src(nets: list[Network], negate: bool, text: str) -> Cond:
    return src_spans([net_span(n) for n in nets], negate, text)


def src_spans(spans: list[Span], negate: bool, text: str) -> Cond:
    """The packet's source address is in one of `spans` (or, negated, in none of them)."""
    families = {v for v, _, _ in spans}

    def test(p: Packet) -> Test:
        t = by_address(p, negate, "depends on the client's address")
        if t is not None or p.ip is None:
            return t or NO
        version = p.ip.version
        if version not in families and spans and not negate:
            return NO
        n = int(p.ip)
        hit = any(v == version and lo <= n <= hi for v, lo, hi in spans)
        return NO if hit == negate else YES

    return Cond("src", text, test, names=not negate)


def src_in_set(kind: str, name: str, negate: bool, text: str) -> Cond:
    """Membership that only the running kernel knows: an ipset, a recent list."""
    why = f"depends on {kind} {name}"
    return Cond("src", text, lambda p: by_address(p, negate, why) or unknown(why),
                names=not negate)


def port_ranges(spec: str, sep: str = ":") -> list[tuple[int, int]] | None:
    """'22', '1000:2000' (iptables) or '1000-2000' (nft), ':1024', 'ssh' -> [(lo, hi)]."""
    lo, s, hi = spec.partition(sep)
    if not s:
        n = SERVICES.get(spec) if not spec[:1].isdigit() else _port(spec)
        return [(n, n)] if n is not None else None
    first, last = _port(lo) if lo else 0, _port(hi) if hi else 65535
    return None if first is None or last is None else [(first, last)]


def _port(text: str) -> int | None:
    """0-65535 in ASCII digits; None for '²', Arabic-Indic digits or 240 digits."""
    n = ascii_int(text, 5)
    return n if n is not None and n <= 65535 else None


def dport(ranges: list[tuple[int, int]], negate: bool, text: str) -> Cond:
    def test(p: Packet) -> Test:
        return Test(any(a <= p.port <= b for a, b in ranges) != negate)

    return Cond("dport", text, test)


def proto(is_tcp: bool | None, negate: bool, text: str) -> Cond:
    """is_tcp: the rule's protocol set contains TCP (True), does not (False), unknown (None)."""
    if is_tcp is None:
        return Cond("proto", text, lambda p: unknown(f"protocol {text}"))
    return Cond("proto", text, lambda p: Test(is_tcp != negate))


def iface(names: list[str], negate: bool, text: str) -> Cond:
    """Which interface the operator's packets come in on is not known, except: not lo."""

    def test(p: Packet) -> Test:
        pats = [n.replace("+", "*") for n in names]
        if "*" in pats:
            return Test(not negate)
        lo = [n for n in pats if fnmatch.fnmatchcase("lo", n)]
        if lo and len(lo) == len(names):  # only loopback named
            return Test(p.loopback != negate)
        if p.loopback:
            return Test(bool(lo) != negate)
        return unknown(f"depends on the interface the packet comes in on ({text})")

    return Cond("iface", text, test)


def state(states: set[str], negate: bool, text: str) -> Cond:
    states = {s.lower() for s in states}

    def test(p: Packet) -> Test:
        return Test((p.state in states) != negate)

    return Cond("state", text, test)


def family(fam: str, text: str) -> Cond:
    return Cond("family", text, lambda p: Test(p.family == fam))


def other(text: str, why: str | None = None) -> Cond:
    reason = why or f"cannot evaluate {text!r}"
    return Cond("other", text, lambda p: unknown(reason))


def always(text: str) -> Cond:
    return Cond("other", text, lambda p: YES)


def never(text: str) -> Cond:
    return Cond("other", text, lambda p: NO)


def tcp_flags(mask: set[str], comp: set[str], negate: bool, text: str) -> Cond:
    """--tcp-flags MASK COMP: exact for our packet (the SYN, or an ACK afterwards)."""

    def test(p: Packet) -> Test:
        m = {"syn", "ack", "fin", "rst", "urg", "psh"} if "all" in mask else mask - {"none"}
        c = set() if "none" in comp else comp
        if "all" in comp:
            c = {"syn", "ack", "fin", "rst", "urg", "psh"}
        return Test(((p.flags & m) == c) != negate)

    return Cond("other", text, test)


def any_port(ranges: list[tuple[int, int]], negate: bool, text: str) -> Cond:
    """multiport --ports: source or destination port; the client's source port is not known."""

    def test(p: Packet) -> Test:
        if any(a <= p.port <= b for a, b in ranges):
            return Test(not negate)
        return unknown("depends on the client's source port")

    return Cond("dport", text, test)
