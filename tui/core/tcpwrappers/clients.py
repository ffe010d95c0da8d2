"""Turning an operator's CLIENT argument into the requests libwrap would see."""

from __future__ import annotations

# _socket, not socket: the same calls without socket.py's enums and selectors, which
# cost `match` milliseconds of start-up.
import _socket as socket
import re

from tui.core.errors import UserError
from tui.core.tcpwrappers.hostmatch import PARANOID, UNKNOWN, HostInfo, Request
from tui.core.tcpwrappers.values import Frozen

# (compiled when first used, by re's cache: not at `match`'s start-up for an address)
_HOSTNAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?"
_USER = r"[A-Za-z0-9._-][A-Za-z0-9._$-]{0,63}"


class ClientError(UserError, ValueError):
    """A CLIENT argument that is neither an address nor a resolvable host name."""


class Client(Frozen):
    __slots__ = ("spec", "address", "hostname", "user")

    def __init__(self, spec: str, address: str, hostname: str | None,
                 user: str | None) -> None:
        self.spec = spec  # as the operator wrote it
        self.address = address
        self.hostname = hostname  # None when libwrap would not know it ("unknown")
        self.user = user

    def request(self, daemon: str = "sshd", server: HostInfo | None = None) -> Request:
        name = self.hostname.encode() if self.hostname else UNKNOWN
        return Request(
            daemon=daemon.encode(),
            client=HostInfo(addr=self.address.encode(), name=name),
            server=server or HostInfo(),
            user=self.user.encode() if self.user else UNKNOWN,
        )


def is_address(text: str) -> bool:
    """A plain IPv4 dotted quad or an IPv6 address (inet_pton rules, no zone)."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def validate_address(text: str) -> str:
    """The address as given (libwrap compares text), after checking it is one."""
    if not is_address(text):
        raise ClientError(f"not an IP address: {text!r}")
    return text


def resolve(spec: str) -> list[Client]:
    """[USER@]ADDRESS, or [USER@]HOSTNAME resolved like tcpdmatch (one client per address)."""
    user, sep, host = spec.partition("@")
    if not sep:
        user, host = "", spec
    if sep and not re.fullmatch(_USER, user):
        raise ClientError(f"bad user name in {spec!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if is_address(host):
        return [Client(spec, host, None, user or None)]
    if re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*", host):
        raise ClientError(f"not an IP address: {host!r}")
    if not re.fullmatch(_HOSTNAME, host) or len(host) > 253:
        raise ClientError(f"not an IP address or host name: {spec!r}")
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise ClientError(f"cannot resolve {host!r}: {e}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return [Client(spec, a, verified_name(a), user or None) for a in addresses]


def verified_name(address: str) -> str | None:
    """libwrap's sock_hostname(): reverse lookup, then a forward check ("paranoid")."""
    try:
        name = socket.gethostbyaddr(address)[0]
    except (OSError, UnicodeError):
        return None
    try:
        forward = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return PARANOID.decode()
    return name if address in forward else PARANOID.decode()
