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

    @property
    def where(self) -> str | None:
        """Where a (private) source is, in a few words, or None for a public one."""
        return private_where(self.ip)

    @property
    def meaning(self) -> str | None:
        """What a connection from this (private) address means, or None for a public one."""
        return private_meaning(self.ip)


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


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598: carrier-grade NAT, cloud-internal
_ULA = ipaddress.ip_network("fc00::/7")  # RFC 4193


def _kind(ip: str) -> str | None:
    """loopback | shared | link-local | ula | private, or None for a public address."""
    addr = ipaddress.ip_address(ip.partition("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return "loopback"
    if addr in _SHARED:
        return "shared"
    if addr.is_link_local:
        return "link-local"
    if addr in _ULA:
        return "ula"
    if addr.is_private and not any(addr in net for net in _DOCUMENTATION):
        return "private"
    return None


_REASONS = {
    "loopback": "a loopback address",
    "shared": "a carrier-grade NAT address (100.64.0.0/10)",
    "link-local": "a link-local address",
    "ula": "a private address (RFC 4193 unique local)",
    "private": "a private address (RFC 1918)",
}

# What a connection from such a source is. Only the public address a client's traffic leaves
# its network from reaches the instance's public side; the Security Center's brute-force
# blocks and whitelists, and the security group's rules, are about that public address.
_PUBLIC_SIDE = ("the Security Center and the security group see your public address, not "
                "this one")
_MEANINGS = {
    "loopback": "a connection from the instance itself (a local client, or a tunnel or proxy "
                "running on it), not from your machine; " + _PUBLIC_SIDE,
    # Alibaba Cloud CLB/SLB health checks come from 100.64.0.0/10, a range Alibaba Cloud
    # reserves (never assigned to users): "CLB uses the 100.64.0.0/10 CIDR block for health
    # checks ... if you have configured other security policies such as iptables, you must
    # allow traffic from this CIDR block" -
    # https://help.aliyun.com/en/slb/classic-load-balancer/user-guide/health-check-overview/
    # and https://www.alibabacloud.com/help/doc-detail/55205.html (CLB health check FAQ).
    "shared": "on Alibaba Cloud 100.64.0.0/10 is reserved for the cloud's own services: most "
              "likely a load balancer's (SLB/CLB) health check, or another source inside the "
              "cloud network (elsewhere: a carrier-grade NAT), not your machine; blocking it "
              "fails the health checks; " + _PUBLIC_SIDE,
    "link-local": "a neighbour on the same network segment (or a service of the cloud "
                  "platform), not a source across the internet; " + _PUBLIC_SIDE,
    "ula": "a source inside the VPC or your private network (a bastion host, a NAT gateway, "
           "a VPN, or a load balancer's health check); " + _PUBLIC_SIDE,
    "private": "a source inside the VPC or your private network (a bastion host, a NAT "
               "gateway, a VPN, or a load balancer's health check); " + _PUBLIC_SIDE,
}
# Where such a source is, in a few words (lists of candidates).
_WHERE = {
    "loopback": "this instance itself",
    "shared": "likely an SLB/CLB health check or another cloud-internal source",
    "link-local": "the same network segment",
    "ula": "inside the VPC: a bastion, NAT gateway, VPN or load balancer",
    "private": "inside the VPC: a bastion, NAT gateway, VPN or load balancer",
}


def private_reason(ip: str) -> str | None:
    """What kind of non-public address `ip` is ("a private address (RFC 1918)"), or None."""
    kind = _kind(ip)
    return _REASONS[kind] if kind else None


def private_meaning(ip: str) -> str | None:
    """What a connection from `ip` means when it is not public, for people; else None."""
    kind = _kind(ip)
    return _MEANINGS[kind] if kind else None


def private_where(ip: str) -> str | None:
    """A few words on where a non-public source is ("inside the VPC: ..."), or None."""
    kind = _kind(ip)
    return _WHERE[kind] if kind else None


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
        where = private_where(a.ip)
        what = f"; not public: {where}" if where else ""
        parts.append(f"{a.ip} ({a.count} {'time' if a.count == 1 else 'times'}{when}{what})")
    more = len(candidates) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
