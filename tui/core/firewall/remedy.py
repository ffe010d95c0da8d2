"""Command lines that remove a blocking iptables/nft rule, or let the client past a policy DROP.

Built from the rule as the source printed it, so `iptables -D` gets the exact spec that
iptables-save wrote. A saved file (rules.v4, nftables.conf) is what loads at boot: the remedy
there is an edit of that file, named by line.
"""

from __future__ import annotations

import ipaddress
import re

from tui.core.firewall.engine import Decision
from tui.core.firewall.model import Ruleset

_APPEND = re.compile(r"^(?:\[\d+:\d+\]\s+)?(?:-A|--append)\s+\S+\s+(.*)$")
_PERSIST = ("/etc/iptables/rules.v4", "/etc/sysconfig/iptables")
_PERSIST6 = ("/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables")


def iptables_remedy(d: Decision, tool: str, source: str, ip: str | None, port: int) -> list[str]:
    live = not source.startswith("/")
    t = "" if d.chain.table == "filter" else f" -t {d.chain.table}"
    net = _host_net(ip)
    if d.rule is None:  # the chain's policy drops: let this client (or everyone) in first
        spec = f"{'-s ' + net + ' ' if net else ''}-p tcp -m tcp --dport {port} -j ACCEPT"
        if live:
            return [f"{tool}{t} -I {d.chain.name} {spec}   # let the client past the "
                    f"{d.chain.policy.upper() if d.chain.policy else 'DROP'} policy",
                    _persist_hint(tool)]
        return [f"in {source}, add '-A {d.chain.name} {spec}' before the first "
                f"'-A {d.chain.name}' line of *{d.chain.table}"]
    out: list[str] = []
    if ip:
        out += [f"ipset test {s} {ip} && ipset del {s} {ip}   # remove the address from the "
                "set instead of the rule" for s in d.rule.sets if d.rule.action.kind != "jump"]
    if not live:
        # A saved file is read from a disk (a running system's rules come from commands):
        # loading it here would change the machine the tool runs on, not the disk's system.
        return [*out, f"remove line {d.rule.line} of {source} (loaded at boot)"]
    m = _APPEND.match(d.rule.text)
    if m:
        out.append(f"{tool}{t} -D {d.chain.name} {m.group(1)}")
    else:
        out.append(f"{tool}{t} -D {d.chain.name} {d.rule.index}   # rule number now; "
                   f"check with {tool}{t} -L {d.chain.name} --line-numbers")
    out.append(_persist_hint(tool))
    return out


def nft_remedy(d: Decision, rs: Ruleset, source: str, ip: str | None, port: int,
               family: str) -> list[str]:
    live = not source.startswith("/")
    where = f"{d.chain.table} {d.chain.name}"
    if d.rule is None:
        sel = f"{family} saddr {ip} " if ip else ""
        accept = f"{sel}tcp dport {port} accept"
        if live:
            return [f"nft insert rule {where} {accept}   # before the policy DROP",
                    "and add the same rule to /etc/nftables.conf so it survives a reboot"]
        return [f"in {source}, add '{accept}' as the first rule of chain {d.chain.name}"]
    out: list[str] = []
    for s in d.rule.sets:
        elem = _element_for(rs.sets.get((d.chain.table, s), []), ip)
        if elem:
            whole = "" if elem == ip else f"   # removes the whole range {elem}"
            cmd = f"nft delete element {d.chain.table} {s} {{ {elem} }}{whole}"
            out.append(cmd if live else f"remove {elem} from set {s} in {source}")
    if not live:
        return [*out, f"remove line {d.rule.line} of {source} (loaded at boot)"]
    if d.rule.handle is not None:
        out.append(f"nft delete rule {where} handle {d.rule.handle}")
    else:
        out += [f"nft -a list chain {where}   # shows the rule's handle",
                f"nft delete rule {where} handle <handle>"]
    out.append("and remove it from /etc/nftables.conf if it is there, or it returns at boot")
    return out


def _persist_hint(tool: str) -> str:
    files = _PERSIST6 if "6" in tool else _PERSIST
    return (f"make it permanent: the same change in {files[0]} (Debian: netfilter-persistent "
            f"save) or {files[1]} (RHEL: service {tool} save)")


def _host_net(ip: str | None) -> str | None:
    if not ip:
        return None
    a = ipaddress.ip_address(ip)
    return f"{a}/{a.max_prefixlen}"


def _element_for(elems: list[str], ip: str | None) -> str | None:
    """The set element that holds `ip`: the address itself, or the range/prefix around it."""
    if not ip:
        return None
    a = ipaddress.ip_address(ip)
    for e in elems:
        try:
            if "-" in e:
                lo, hi = (ipaddress.ip_address(x) for x in e.split("-", 1))
                if lo.version == a.version and lo <= a <= hi:  # type: ignore[operator]
                    return e
                continue
            net = ipaddress.ip_network(e, strict=False)
        except ValueError:
            continue
        if a.version == net.version and a in net:
            return ip if net.num_addresses == 1 else e
    return None
