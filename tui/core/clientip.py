"""The operator's address: given, or learned from what sshd and libwrap logged on the target."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.errors import UserError

if TYPE_CHECKING:
    from tui.core.facts.model import LogLine

# The client side of a reset leaves one of these on the server, with the client's address.
_PATTERNS = (
    re.compile(r"refused connect from (?:\S+ )?\(?(?P<a>[0-9A-Fa-f:.]+)\)?"),
    re.compile(r"Connection reset by (?:authenticating user \S+ )?(?P<a>[0-9A-Fa-f:.]+) port"),
    re.compile(r"Did not receive identification string from (?P<a>[0-9A-Fa-f:.]+)"),
    re.compile(r"kex_exchange_identification: .* from (?P<a>[0-9A-Fa-f:.]+)"),
)


# Documentation ranges (RFC 5737, RFC 3849) stand for public addresses in examples and in the
# demo; ipaddress counts them as private, which would call 203.0.113.45 "RFC 1918".
_DOCUMENTATION = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


class AddressError(UserError, ValueError):
    title = "bad address"


# A zone id (fe80::1%eth0) is only ever an interface name: IFNAMSIZ-1 of these characters.
_ZONE = re.compile(r"[A-Za-z0-9_.-]{1,15}\Z", re.ASCII)
# Timestamps at the start of a log line: journalctl's short-iso, RFC 3339, or syslog's.
_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)|([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)",
                    re.ASCII)


@dataclass(frozen=True)
class ClientAddress:
    ip: str  # normalised (ipaddress), IPv4-mapped IPv6 given back as IPv4
    source: str  # "--client-ip", "/var/log/auth.log", "journal", "typed in"
    line: str | None = None  # the (newest) log line it came from
    count: int = 1  # log lines naming it
    last_seen: str | None = None  # the newest such line's time, as the log wrote it

    @property
    def private(self) -> str | None:
        """Why this address is no use in a Security Center whitelist, or None."""
        return private_reason(self.ip)


def parse_address(text: str) -> str:
    """A literal IPv4/IPv6 address, normalised; AddressError with one line otherwise.

    Strict, because the result is written into hosts.allow: no whitespace or control
    characters anywhere, brackets only around a whole IPv6 address, and a zone id only as
    an interface name."""
    shown = repr(text[:80])
    if not text or len(text) > 64 or not text.isascii() or not text.isprintable() \
            or any(c.isspace() for c in text):
        raise AddressError(f"not an IP address: {shown}")
    inner = text
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
    if "[" in inner or "]" in inner or "/" in inner:
        raise AddressError(f"not an IP address: {shown}")
    head, pct, zone = inner.partition("%")
    try:
        addr = ipaddress.ip_address(head)
    except ValueError:
        raise AddressError(f"not an IP address: {shown}") from None
    if inner is not text and addr.version == 4:
        raise AddressError(f"not an IP address: {shown} (brackets are for IPv6)")
    if pct:
        if addr.version == 4 or not _ZONE.match(zone):
            raise AddressError(f"not an IP address: {shown} (a zone id is an interface name)")
        if not addr.is_link_local:
            raise AddressError(f"{shown}: a zone id only belongs to a link-local address")
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped and not pct:
        return str(addr.ipv4_mapped)
    return str(addr) + (f"%{zone}" if pct else "")


def private_reason(ip: str) -> str | None:
    addr = ipaddress.ip_address(ip.partition("%")[0])
    if addr.is_loopback:
        return "a loopback address"
    if addr in ipaddress.ip_network("100.64.0.0/10"):
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_private and not any(addr in net for net in _DOCUMENTATION):
        return "a private address (RFC 1918/4193)"
    return None


def all_from_logs(lines: list[LogLine]) -> list[ClientAddress]:
    """Every distinct address seen, newest first, with how often and when last."""
    seen: dict[str, ClientAddress] = {}
    counts: dict[str, int] = {}
    for line in reversed(lines):
        for pat in _PATTERNS:
            m = pat.search(line.text)
            if m:
                try:
                    ip = parse_address(m.group("a"))
                except AddressError:
                    break
                counts[ip] = counts.get(ip, 0) + 1
                if ip not in seen:
                    stamp = _STAMP.match(line.text)
                    seen[ip] = ClientAddress(ip, line.source, line.text,
                                             last_seen=stamp.group() if stamp else None)
                break
    return [ClientAddress(a.ip, a.source, a.line, counts[a.ip], a.last_seen)
            for a in seen.values()]


def from_logs(lines: list[LogLine]) -> ClientAddress | None:
    """The operator's address when the logs name exactly one; else None (a public
    instance's logs are full of scanners: a guess would let the wrong address in)."""
    seen = all_from_logs(lines)
    return seen[0] if len(seen) == 1 else None


def describe(candidates: list[ClientAddress], limit: int = 5) -> str:
    """'203.0.113.7 (12 times, last 2026-12-02T09:16:44), ...' for one line of text."""
    parts = []
    for a in sorted(candidates, key=lambda a: -a.count)[:limit]:
        when = f", last {a.last_seen}" if a.last_seen else ""
        parts.append(f"{a.ip} ({a.count} {'time' if a.count == 1 else 'times'}{when})")
    more = len(candidates) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
