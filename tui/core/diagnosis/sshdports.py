"""The TCP ports sshd listens on, from the collected sshd_config (and its Include files)."""

from __future__ import annotations

import re

from tui.core.diagnosis.sshdconfig import directives
from tui.core.facts.common import sshd_T
from tui.core.facts.model import Facts
from tui.core.text import ascii_int

_PORT_IN_ADDR = re.compile(r"^(?:\[[^\]]+\]|[^:\s]+):([0-9]+)$")  # host:port, [v6]:port


def port(text: str) -> int | None:
    """A TCP port 1-65535 written in ASCII digits (target text: '²' or 240 digits are not)."""
    n = ascii_int(text, 5)
    return n if n is not None and 0 < n < 65536 else None


def ports(facts: Facts) -> list[int]:
    """The ports of `sshd -T` when it ran; else Port lines (default 22), plus ports given
    in ListenAddress host:port."""
    conf = sshd_T(facts)
    if conf and conf.get("listenaddress"):  # sshd -T spells every one as addr:port
        found = [p for a in conf["listenaddress"]
                 if (m := re.search(r":([0-9]+)$", a)) and (p := port(m.group(1)))]
        if found:
            return list(dict.fromkeys(found))
    port_lines: list[int] = []
    listen_ports: list[int] = []
    bare_listen = False
    listen_any = False
    for d in directives(facts):
        key, args = d.key, d.args
        if key == "port" and args and (p := port(args[0])):
            port_lines.append(p)
        elif key == "listenaddress" and args:
            listen_any = True
            m = _PORT_IN_ADDR.match(args[0])
            # a bare IPv6 address has many colons and no port
            if m and (args[0].startswith("[") or args[0].count(":") == 1):
                if p := port(m.group(1)):
                    listen_ports.append(p)
            else:
                bare_listen = True
    base = port_lines or [22]
    out = base if bare_listen or not listen_any else []
    return list(dict.fromkeys(out + listen_ports)) or [22]


def local_endpoint(facts: Facts) -> tuple[str, int]:
    """Where a client on the machine itself reaches sshd: 127.0.0.1 on its first port, or,
    when `sshd -T` says it listens only on IPv6 or on other addresses, ::1 or the first of
    those (the port of that address)."""
    conf = sshd_T(facts)
    v6 = other = None
    for spec in (conf or {}).get("listenaddress", []):
        addr = spec.split()[0] if spec.split() else ""
        host, _, text = addr.rpartition(":")
        p = port(text)
        if p is None or not host:
            continue
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if host in ("0.0.0.0", "127.0.0.1"):
            return "127.0.0.1", p
        if host in ("::", "::1"):
            v6 = v6 or ("::1", p)
        else:
            other = other or (host, p)
    return v6 or other or ("127.0.0.1", ports(facts)[0])
