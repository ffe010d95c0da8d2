"""The target as the command line names it: TargetSpec, and [USER@]HOST[:PORT] as --host,
-J and ssh_config's ProxyJump write it.

Paramiko-free (and free of everything else heavy): the wizard's configuration and first
frame, Method 4's probe and the CLI's argument checks use it without loading the SSH stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HOST_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_.])?")
_IPV6_RE = re.compile(r"[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?")
_USER_RE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._@+-]*")


@dataclass
class TargetSpec:
    """This machine (nothing given), a system mounted at `root`, or `host` over SSH."""

    root: str | None = None
    host: str | None = None  # [USER@]HOST[:PORT], or an alias of ~/.ssh/config
    identities: list[str] = field(default_factory=list)
    jump: str | None = None
    sudo: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class HostSpec:
    user: str | None
    host: str
    port: int | None


def parse_host(text: str) -> HostSpec:
    """Parse [USER@]HOST[:PORT]; IPv6 as "[::1]:2222", "user@[2001:db8::1]" or a bare "::1".

    Only plain names and addresses pass: anything a shell or ssh would interpret (spaces,
    metacharacters, a leading '-') is a ValueError with a one-line message.
    """
    if not text or text != text.strip() or any(c.isspace() for c in text):
        raise ValueError(f"bad host {text!r}: empty or contains spaces")
    user: str | None = None
    rest = text
    if "@" in text:
        user, _, rest = text.rpartition("@")  # the last @, like ssh (users may contain @)
        if not user or not _USER_RE.fullmatch(user):
            raise ValueError(f"bad user name {user!r} in {text!r}")
    port_text: str | None = None
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        ok = _IPV6_RE.fullmatch(host) if ":" in host else _HOST_RE.fullmatch(host)
        if not sep or not ok:
            raise ValueError(f"bad bracketed address in {text!r}")
        if tail:
            if not tail.startswith(":"):
                raise ValueError(f"unexpected {tail!r} after ] in {text!r}")
            port_text = tail[1:]
    elif rest.count(":") > 1:  # a bare IPv6 address: no port possible
        host = rest
        if not _IPV6_RE.fullmatch(host):
            raise ValueError(f"bad IPv6 address {host!r}")
    else:
        host, sep, port_text_ = rest.partition(":")
        port_text = port_text_ if sep else None
        if not host:
            raise ValueError(f"empty host in {text!r}")
        if not _HOST_RE.fullmatch(host):
            raise ValueError(f"bad host name {host!r}: only letters, digits, '.', '-', '_'")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"bad port {port_text!r} in {text!r}: must be 1-65535")
        port = int(port_text)
    return HostSpec(user, host, port)



def split_host(text: str, default_port: int = 22) -> tuple[str, int]:
    """The host and port of [USER@]HOST[:PORT] or [V6]:PORT, `default_port` when none is
    given. Lenient (for text still being typed): it never raises, the caller validates."""
    try:
        spec = parse_host(text)
        return spec.host, spec.port or default_port
    except ValueError:
        pass
    host = text.rsplit("@", 1)[-1]
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            return inner, int(rest[1:])
        return inner, default_port
    if host.count(":") == 1:
        name, _, p = host.partition(":")
        if p.isdigit():
            return name, int(p)
    return host, default_port


def hostport(host: str, port: int) -> str:
    """"host:port", or "[v6]:port" for an IPv6 address: for messages."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def known_hosts_name(host: str, port: int) -> str:
    """The name known_hosts files it under: "host" on port 22, "[host]:port" elsewhere."""
    return host if port == 22 else f"[{host}]:{port}"
