"""The operator's address: given, or learned from what sshd and libwrap logged on the target."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


class AddressError(ValueError):
    pass


@dataclass(frozen=True)
class ClientAddress:
    ip: str  # normalised (ipaddress), IPv4-mapped IPv6 given back as IPv4
    source: str  # "--client-ip", "/var/log/auth.log", "journal", "typed in"
    line: str | None = None  # the log line it came from

    @property
    def private(self) -> str | None:
        """Why this address is no use in a Security Center whitelist, or None."""
        return private_reason(self.ip)


def parse_address(text: str) -> str:
    """A literal IPv4/IPv6 address, normalised; AddressError with one line otherwise."""
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise AddressError(f"not an IP address: {text!r}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return str(addr)


def private_reason(ip: str) -> str | None:
    addr = ipaddress.ip_address(ip)
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
    """Every distinct address seen, newest first (the whitelist may need more than one)."""
    seen: dict[str, ClientAddress] = {}
    for line in reversed(lines):
        for pat in _PATTERNS:
            m = pat.search(line.text)
            if m:
                try:
                    ip = parse_address(m.group("a"))
                except AddressError:
                    break
                seen.setdefault(ip, ClientAddress(ip, line.source, line.text))
                break
    return list(seen.values())
