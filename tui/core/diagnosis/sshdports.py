"""The TCP ports sshd listens on, from the collected sshd_config (and its Include files)."""

from __future__ import annotations

import fnmatch
import re

from tui.core.facts.model import SSHD_CONFIG, Facts

_PORT_IN_ADDR = re.compile(r"^(?:\[[^\]]+\]|[^:\s]+):(\d+)$")  # host:port, [v6]:port


def ports(facts: Facts) -> list[int]:
    """Port lines (default 22), plus ports given in ListenAddress host:port."""
    port_lines: list[int] = []
    listen_ports: list[int] = []
    bare_listen = False
    listen_any = False
    for key, args in _directives(facts, SSHD_CONFIG, 0):
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


def _directives(facts: Facts, path: str, depth: int) -> list[tuple[str, list[str]]]:
    blob = facts.files.get(path)
    if blob is None or not blob.data or depth > 8:
        return []
    out: list[tuple[str, list[str]]] = []
    for raw in blob.data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"\s*=\s*|\s+", line, maxsplit=1)
        key, rest = parts[0].lower(), (parts[1].split() if len(parts) > 1 else [])
        if key == "match":
            break  # Port and ListenAddress are not allowed in Match blocks
        if key == "include":
            for pat in rest:
                pat = pat if pat.startswith("/") else f"/etc/ssh/{pat}"
                for p in sorted(k for k in facts.files if fnmatch.fnmatchcase(k, pat)):
                    out += _directives(facts, p, depth + 1)
            continue
        out.append((key, rest))
    return out
