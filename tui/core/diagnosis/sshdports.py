"""The TCP ports sshd listens on, from the collected sshd_config (and its Include files)."""

from __future__ import annotations

import re

from tui.core.diagnosis.sshdconfig import directives
from tui.core.facts.common import sshd_T
from tui.core.facts.model import Facts

_PORT_IN_ADDR = re.compile(r"^(?:\[[^\]]+\]|[^:\s]+):(\d+)$")  # host:port, [v6]:port


def ports(facts: Facts) -> list[int]:
    """The ports of `sshd -T` when it ran; else Port lines (default 22), plus ports given
    in ListenAddress host:port."""
    conf = sshd_T(facts)
    if conf and conf.get("listenaddress"):  # sshd -T spells every one as addr:port
        found = [int(m.group(1)) for a in conf["listenaddress"]
                 if (m := re.search(r":(\d+)$", a))]
        if found:
            return list(dict.fromkeys(found))
    port_lines: list[int] = []
    listen_ports: list[int] = []
    bare_listen = False
    listen_any = False
    for d in directives(facts):
        key, args = d.key, d.args
        if key == "port" and args and args[0].isdigit() and 0 < int(args[0]) < 65536:
            port_lines.append(int(args[0]))
        elif key == "listenaddress" and args:
            listen_any = True
            m = _PORT_IN_ADDR.match(args[0])
            # a bare IPv6 address has many colons and no port
            if m and (args[0].startswith("[") or args[0].count(":") == 1):
                listen_ports.append(int(m.group(1)))
            else:
                bare_listen = True
    base = port_lines or [22]
    out = base if bare_listen or not listen_any else []
    return list(dict.fromkeys(out + listen_ports)) or [22]
