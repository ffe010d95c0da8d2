"""Method 3's host firewall part: rules that drop, reject or reset the operator on sshd's port."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tui.core.clientip import ClientAddress
from tui.core.diagnosis import sshdports
from tui.core.diagnosis.commands import is_offline, takes_effect, target_path
from tui.core.diagnosis.evidence import FirewallEvidence, FirewallRule, SecurityCenterEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import FIREWALL, SECURITY_CENTER
from tui.core.facts.model import (
    AEGIS_PATHS,
    AGENT_PROCESSES,
    BLOCKING_PLUGIN,
    FIREWALL_COMMANDS,
    FIREWALL_FILES,
    Facts,
)
from tui.core.firewall import FirewallVerdict, evaluate, parse_all

_MAX_RULES = 20


@dataclass
class FirewallCheck:
    evidence: FirewallEvidence
    status: Literal["problem", "warning"] | None = None  # None: nothing to say
    summary: str | None = None
    remedy: list[str] = field(default_factory=list)


def check(facts: Facts, ip: str | None) -> FirewallCheck:
    out = _check(facts, ip)
    out.remedy = for_target(facts, out.remedy)
    for rule in [out.evidence.deciding, *(out.evidence.blocking or [])]:
        if isinstance(rule, FirewallRule):
            rule.remedy = for_target(facts, rule.remedy)
    return out


def _check(facts: Facts, ip: str | None) -> FirewallCheck:
    prefixes = tuple(label for label, _ in FIREWALL_COMMANDS) + FIREWALL_FILES
    fw_notes = [n for n in facts.notes if n.startswith(prefixes)]
    if not facts.firewall:
        return FirewallCheck(FirewallEvidence(False, notes=fw_notes))
    ports = sshdports.ports(facts)
    parsed = parse_all(facts.firewall, ip)  # once for every port
    reports = [evaluate(facts.firewall, ip, p, parsed) for p in ports]
    rep = (next((r for r in reports if r.blocked is True), None)
           or next((r for r in reports if r.blocked is None), None) or reports[0])
    v = rep.verdict
    ev = FirewallEvidence(
        True, sources=list(facts.firewall), port=rep.port, ports=ports,
        verdict=v.action if v else None,
        symptom=v.symptom() if v else None,
        deciding=_short(v) if v else None,
        blocking=[_short(b) for b in rep.blocking[:_MAX_RULES]],
        notes=(fw_notes + rep.notes)[:_MAX_RULES],
    )
    out = FirewallCheck(ev)
    if v is not None and v.blocks is True:
        out.status, out.summary, out.remedy = "problem", v.describe(ip, rep.port), v.remedy
        return out
    later = [b for b in rep.blocking if b.stage == "established" and b.blocks is True]
    if later:
        out.status, out.summary = "problem", later[0].describe(ip, rep.port)
        out.remedy = later[0].remedy
        return out
    if ip and v is not None and v.blocks is None:
        why = "; ".join(v.caveats)
        out.status, out.remedy = "warning", v.remedy
        out.summary = f"{v.where()} may block {ip} ({why}): {v.rule}"
        return out
    everyone = [b for b in rep.blocking if not ip and b.blocks is True]
    if everyone:  # without the operator's address: unless a rule names it, it is blocked
        b = everyone[0]
        out.status, out.remedy = "warning", b.remedy
        out.summary = (f"{b.describe(None, rep.port)} (unless a rule accepts the "
                       "client's address by name)")
    return out


# Tools that act on the running firewall (or its managers): on a disk nothing of it runs,
# and on the rescue machine they would change the rescue machine's own rules.
_RUNNING = ("fail2ban-client ", "firewall-cmd ", "ufw ", "nft ", "iptables", "ip6tables", "ipset ",
            "csf ", "make it permanent:", "and add the same rule", "and remove it from")
_FILES = ("/etc/fail2ban/jail.local", "/etc/nftables.conf")


def for_target(facts: Facts, lines: list[str]) -> list[str]:
    """The firewall remedy `lines` as they must be typed for this target: on a disk, the
    saved files named under its mount point, and nothing that acts on a running firewall."""
    if not is_offline(facts):
        return lines
    out = []
    for line in lines:
        if line.startswith(_RUNNING):
            continue
        line = line.replace(", then: fail2ban-client reload", "; " + takes_effect(facts))
        for path in (*facts.firewall, *_FILES):
            if path.startswith("/"):
                shown = target_path(facts, path)
                line = re.sub(rf"(?<![\w/.-]){re.escape(path)}(?![\w/.-])",
                              lambda _m: shown, line)  # noqa: B023 (used at once)
        out.append(line)
    return out


def _short(v: FirewallVerdict) -> FirewallRule:
    return FirewallRule(v.action, v.rule, v.source, v.chain, v.line, v.managed_by, v.table,
                        v.index, v.handle, v.detail, v.stage, v.blocks, v.decides, v.caveats,
                        v.remedy)


def agent_processes(processes: list[str]) -> list[str]:
    """The Security Center agent's processes among process names (comm: at most 15 chars)."""
    return sorted({p for p in processes for a in AGENT_PROCESSES if p == a[:15]})


def agent_install(facts: Facts) -> list[str] | None:
    """The agent's install paths that exist on the target; None when they were not stat'd."""
    seen = [p for p in AEGIS_PATHS if p in facts.paths]
    if not seen:
        return None
    return [p for p in seen if facts.paths[p].mode is not None]


def security_center_finding(facts: Facts, client: ClientAddress | None,
                            fw: FirewallCheck) -> Finding:
    """Method 3: the address to whitelist, the agent, and the host rules beside them."""
    agent = agent_processes(facts.processes)
    ev = SecurityCenterEvidence(bool(agent) if facts.live else None, agent)
    plugin = BLOCKING_PLUGIN in agent if facts.live else None
    ev.blocking_plugin = plugin
    installed = agent_install(facts)
    if installed is not None:
        ev.agent_install = installed
    if client:
        ev.whitelist = client.ip
        if client.private:
            ev.warning = (f"{client.ip} is {client.private}: {client.meaning}; whitelist "
                          "the public address")
    ev.firewall = fw.evidence  # Method 3 shows the host's rules beside the console steps
    deciding = fw.evidence.deciding
    if fw.status == "problem" and deciding and deciding.managed_by == "security-center":
        return Finding(SECURITY_CENTER, 3, "problem", fw.summary or "", ev, fw.remedy)
    if client and client.private:
        return Finding(SECURITY_CENTER, 3, "warning",
                       f"{client.ip} is {client.private}; the Security Center only sees "
                       "your public address", ev,
                       [f"{client.ip}: {client.meaning}",
                        "whitelist the public address you connect from (on your machine: "
                        "curl -s https://ifconfig.me); if you connect through a bastion or "
                        "a NAT gateway, its public (elastic) IP"])
    return Finding(SECURITY_CENTER, 3, "info", _agent_words(ev) + _BLOCKED, ev)


_BLOCKED = ("if the Security Center blocked your public IP, lift the block and approve the "
            "address (console steps, aliyun commands)")


def _agent_words(ev: SecurityCenterEvidence) -> str:
    # The two ways a block is enforced: https://www.alibabacloud.com/help/en/security-center/
    # user-guide/anti-brute-force-cracking (the AliNet plug-in, or an automatic ECS
    # security-group rule).
    if ev.agent_running:
        if ev.blocking_plugin:
            return (f"the Security Center agent and its {BLOCKING_PLUGIN} plug-in run here "
                    "(it blocks brute-force sources); ")
        return (f"the Security Center agent runs here, its {BLOCKING_PLUGIN} plug-in does "
                "not (a block is then likely a security-group rule); ")
    if ev.agent_running is False:
        return "no Security Center agent runs here; "
    if ev.agent_install and AEGIS_PATHS[1] in ev.agent_install:  # aegis_client: AliYunDun
        return f"the Security Center agent is installed on this disk ({AEGIS_PATHS[0]}); "
    return ""


def firewall_finding(fw: FirewallCheck) -> Finding:
    if fw.status in ("problem", "warning"):
        return Finding(FIREWALL, None, fw.status, fw.summary or "", fw.evidence, fw.remedy)
    if not fw.evidence.collected:
        notes = fw.evidence.notes
        if notes:
            return Finding(FIREWALL, None, "unknown",
                           f"host firewall rules not read: {notes[0]}", fw.evidence)
        return Finding(FIREWALL, None, "ok", "no host firewall rules found", fw.evidence)
    return Finding(FIREWALL, None, "ok",
                   f"no host firewall rule blocks port {fw.evidence.port}", fw.evidence)
