"""Who put a rule there, and the command lines that undo it the way that owner expects.

Removing a fail2ban ban with `iptables -D` does not stick (the jail's state still holds it);
a Security Center rule comes back unless the address is whitelisted. So the owner's own
command comes first, the raw iptables/nft one after.
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from tui.core.firewall.model import Chain, Rule

_FIREWALLD_CHAIN = re.compile(
    r"^(?:filter_)?(?:INPUT_ZONES|INPUT_direct|INPUT_POLICIES\w*|IN_\w+)$")
_ZONE = re.compile(r"^(?:filter_)?IN_(\w+?)(?:_(?:allow|deny|log|pre|post))?$")
_JAIL = re.compile(r"^(?:f2b-|fail2ban-|addr-set-)(\S+)$")


def names_of(chain: Chain, rule: Rule | None) -> list[str]:
    out = [chain.name, *chain.table.split()]
    if rule:
        out += rule.sets
        if rule.action.target:
            out.append(rule.action.target)
    return out


def managed_by(names: list[str]) -> str | None:
    low = [n.lower() for n in names]
    if any("aegis" in n or "aliyundun" in n for n in low):
        return "security-center"
    if any(n.startswith(("f2b-", "fail2ban", "addr-set-")) for n in low):
        return "fail2ban"
    if any("firewalld" in n for n in low) or any(_FIREWALLD_CHAIN.match(n) for n in names):
        return "firewalld"
    if any(n.startswith(("ufw-", "ufw6-")) for n in low):
        return "ufw"
    if any(n in ("denyin", "allowin", "localinput", "gdenyin") for n in low):
        return "csf"
    if any("sshguard" in n for n in low):
        return "sshguard"
    return None


def jail(names: list[str]) -> str | None:
    """The fail2ban jail: f2b-sshd (chain or ipset), addr-set-sshd (nft set)."""
    for n in names:
        m = _JAIL.match(n)
        if m and m.group(1) not in ("table", "chain"):
            return m.group(1)
    return None


def owner_remedy(owner: str | None, names: list[str], chain: Chain, rule: Rule | None,
                 ip: str | None, port: int) -> list[str]:
    who = ip or "<your public IP>"
    if owner == "security-center":
        opt = f" --client-ip {ip}" if ip else ""
        return [f"the Security Center agent manages this rule: lift the block in Security "
                f"Center and approve {who} (Approved Logon IP Address); the steps: "
                f"ssh-reset-doctor instructions whitelist{opt}; a rule removed by hand "
                "comes back"]
    if owner == "fail2ban":
        j = jail(names) or "sshd"
        if not ip:
            return [f"fail2ban-client status {j}   # lists the banned addresses"]
        return [f"fail2ban-client set {j} unbanip {ip}",
                f"to keep it from being banned again: add {ip} to ignoreip in "
                "/etc/fail2ban/jail.local, then: fail2ban-client reload"]
    if owner == "firewalld":
        m = _ZONE.match(chain.name)
        zone = m.group(1) if m else None
        zopt = f" --zone={zone}" if zone else ""
        out = [f"firewall-cmd{zopt} --list-all   # rich rules and sources that block {who}"]
        src = _single_source(rule)
        if src and rule and rule.action.kind in ("drop", "reject", "reset"):
            fam = "ipv6" if ":" in src else "ipv4"
            verb = "drop" if rule.action.kind == "drop" else "reject"
            rich = f'rule family="{fam}" source address="{src}" {verb}'
            out.append(f"firewall-cmd --permanent{zopt} --remove-rich-rule={shlex.quote(rich)}"
                       " && firewall-cmd --reload   # if it was added as this rich rule")
        if ip:
            out.append(f"firewall-cmd --get-zone-of-source={ip}   # a source in the drop or "
                       "block zone: firewall-cmd --permanent --zone=<zone> --remove-source="
                       f"{ip}")
        return out
    if owner == "ufw":
        src = _single_source(rule)
        out = ["ufw status numbered   # then: ufw delete <number>"]
        if src and rule:
            verb = "deny" if rule.action.kind == "drop" else "reject"
            out.insert(0, f"ufw delete {verb} from {src} to any port {port} proto tcp")
        return out
    if owner == "csf":
        return [f"csf -dr {who}", f"csf -a {who}   # allow it from now on"]
    if owner == "sshguard":
        return [f"add {who} to sshguard's whitelist (sshguard.conf WHITELIST_FILE) and "
                "restart sshguard"]
    return []


def _single_source(rule: Rule | None) -> str | None:
    """The one network a rule names (-s 1.2.3.4/32, ip saddr 1.2.3.4), as firewalld/ufw write it."""
    if not rule:
        return None
    found = []
    for c in rule.conds:
        if c.kind == "src" and c.names and not c.text.startswith("!"):
            tok = c.text.split()[-1]
            try:
                net = ipaddress.ip_network(tok, strict=False)
            except ValueError:
                return None
            found.append(str(net.network_address) if net.prefixlen == net.max_prefixlen
                         else str(net))
    return found[0] if len(found) == 1 else None
