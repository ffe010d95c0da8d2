"""Managed deny lists: fail2ban bans and DenyHosts entries that shut the operator out.

Both tools re-impose their blocks, so a hand edit of hosts.deny or of the firewall does not
stick: fail2ban restores the bans in its database when it starts, and DenyHosts re-adds every
address its work directory still counts above a threshold. The finding names the tool, the
jail or file, and the tool's own way to lift the block.

The readers live in `fail2ban` (with `fail2ban_config` and `fail2ban_state`) and `denyhosts`;
this module joins their parts into one finding and gives tcpwrappers what it needs about a
managed hosts.deny.
"""

from __future__ import annotations

import shlex
import time

from tui.core.diagnosis.commands import is_offline
from tui.core.diagnosis.denylists import denyhosts, fail2ban
from tui.core.diagnosis.denylists.denyhosts import DENYHOSTS_CONF, Entry, denyhosts_conf
from tui.core.diagnosis.denylists.fail2ban_config import (
    JAIL_CONF,
    JAIL_DIR,
    JAIL_LOCAL,
    Jail,
    jail_files,
    jails,
    seconds,
)
from tui.core.diagnosis.denylists.fail2ban_state import (
    BANNED,
    Ban,
    parse_banned,
    read_db,
)
from tui.core.diagnosis.denylists.shared import normal
from tui.core.diagnosis.evidence import DenyListsEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import DENY_LISTS
from tui.core.facts.model import DENY, Facts

__all__ = [
    "BANNED", "DENYHOSTS_CONF", "JAIL_CONF", "JAIL_DIR", "JAIL_LOCAL", "Ban", "Entry",
    "Jail", "denyhosts_conf", "finding", "hosts_deny_managers",
    "hosts_deny_remedy", "jail_files", "jails", "parse_banned", "read_db", "seconds",
]

# Remedy lines that are commands to run (the others explain); JSON carries them as evidence.
_COMMANDS = ("fail2ban-client ", "sqlite3 ", "systemctl ", "sed ", "printf ", "chroot ")


def finding(facts: Facts, ip: str | None, now: float | None = None) -> Finding:
    now = time.time() if now is None else now
    notes: list[str] = []
    client = normal(ip) if ip else None
    if ip and client is None:
        notes.append(f"{ip!r} is not an IP address; checked without it")
    f2b = fail2ban.check(facts, client, now, notes)
    dh = denyhosts.check(facts, client)
    ev = DenyListsEvidence(client, [n for n, s in (("fail2ban", f2b), ("denyhosts", dh)) if s],
                           f2b.evidence if f2b else None, dh.evidence if dh else None, notes)
    parts = [p for p in (f2b, dh) if p]
    if not parts:
        return Finding(DENY_LISTS, None, "ok", "neither fail2ban nor DenyHosts is installed", ev)
    for status in ("problem", "warning"):
        hit = [p for p in parts if p.status == status]
        if hit:
            remedy = [line for p in hit for line in p.remedy]
            ev.commands = [r.split("   #")[0] for r in remedy if r.startswith(_COMMANDS)]
            return Finding(DENY_LISTS, None, status, "; ".join(p.summary for p in hit), ev, remedy)
    names = " and ".join(p.name for p in parts)
    tail = (f"; nothing about {client}" if client else "")
    summary = (f"{names} manage{'s' if len(parts) == 1 else ''} deny lists here "
               f"(a hand edit of hosts.deny or the firewall does not stick){tail}")
    extra = "; ".join(p.summary for p in parts if p.summary)
    return Finding(DENY_LISTS, None, "info", summary + (f"; {extra}" if extra else ""), ev)


# --- what tcpwrappers.py uses -----------------------------------------------------------


def hosts_deny_managers(facts: Facts) -> dict[str, str]:
    """Tools that write hosts.deny -> for fail2ban, the (first enabled) jail using hostsdeny."""
    found: dict[str, str] = {}
    if denyhosts.manages(facts):
        found["denyhosts"] = "denyhosts"
    for name, jail in jails(facts).items():
        if jail.enabled and "hostsdeny" in jail.actions:
            found.setdefault("fail2ban", name)
    return found


def hosts_deny_remedy(facts: Facts, ip: str, mgr: dict[str, str]) -> list[str]:
    """The lines tcpwrappers.remedy_lines gives when a managed hosts.deny denies `ip`."""
    client = normal(ip) or ip
    lines = []
    if "fail2ban" in mgr:
        jail = mgr["fail2ban"]
        if not is_offline(facts):
            lines.append(f"fail2ban manages {DENY} (action hostsdeny, jail {jail}): "
                         f"fail2ban-client set {shlex.quote(jail)} unbanip "
                         f"{shlex.quote(client)}")
        else:  # a disk: nothing runs; fail2ban restores its bans from its database at boot
            lines.append(f"fail2ban manages {DENY} (action hostsdeny, jail {jail}): lift the "
                         "ban in its database too (see the deny-lists finding), or it comes "
                         "back when the instance boots")
    if "denyhosts" in mgr:
        lines += denyhosts.remedy(facts, client)
    return lines
