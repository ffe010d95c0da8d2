"""All checks of one target: what `check` prints and the wizard's overview shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core.clientip import ClientAddress, all_from_logs, describe, from_logs
from tui.core.diagnosis import (
    changes,
    denylists,
    firewall,
    libraries,
    maxstartups,
    penalties,
    sshdserve,
    tcpwrappers,
)
from tui.core.diagnosis.finding import Finding
from tui.core.facts.model import AGENT_PROCESSES, Facts


@dataclass
class Report:
    target: str
    client: ClientAddress | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "client_ip": self.client.ip if self.client else None,
            "findings": [f.to_json() for f in self.findings],
        }


def choose_client(facts: Facts, given: str | None) -> ClientAddress | None:
    """--client-ip wins; else the address in the target's logs when they name exactly one.

    Never a guess among several: on a public instance the newest is usually a scanner."""
    if given:
        return ClientAddress(given, "--client-ip")
    return from_logs(facts.logs)


def run_checks(facts: Facts, client: ClientAddress | None, port: int | None = None) -> Report:
    """Every finding: the article's four methods, then the causes beyond it (method null).

    `port` is the one the operator connects to (None: sshd's configured port)."""
    ip = client.ip if client else None
    r = Report(facts.target, client)
    r.findings.append(_client_finding(facts, client))
    r.findings.append(_sshd_finding(facts))
    r.findings.append(tcpwrappers.finding(facts, ip))
    r.findings.append(libraries.finding(facts))
    fw = firewall.check(facts, ip)
    r.findings.append(_security_center(facts, client, fw))
    r.findings.append(_network(client))
    r.findings.append(sshdserve.finding(facts, ip, port))
    r.findings.append(maxstartups.finding(facts, ip))
    r.findings.append(penalties.finding(facts, ip))
    r.findings.append(_firewall(fw))
    r.findings.append(denylists.finding(facts, ip))
    journal = changes.finding(facts)
    if journal is not None:  # only when this tool has changed the target before
        r.findings.append(journal)
    return r


def _client_finding(facts: Facts, client: ClientAddress | None) -> Finding:
    seen = all_from_logs(facts.logs)
    ev: dict[str, Any] = {
        "seen_in_logs": [{"ip": a.ip, "source": a.source, "line": a.line, "count": a.count,
                          "last_seen": a.last_seen} for a in seen[:20]]
    }
    if client is None:
        if len(seen) > 1:
            return Finding("client-ip", None, "unknown",
                           f"{len(seen)} addresses in sshd's logs, so yours is not known "
                           f"(scanners fill them too): pass --client-ip with yours; seen: "
                           f"{describe(seen)}", ev)
        return Finding("client-ip", None, "unknown",
                       "the operator's address is not known: pass --client-ip", ev)
    ev.update(ip=client.ip, source=client.source, line=client.line, private=client.private)
    how = client.source if client.source.startswith(("picked", "typed")) \
        else f"from {client.source}"
    return Finding("client-ip", None, "info", f"operator address {client.ip} ({how})", ev)


def _sshd_finding(facts: Facts) -> Finding:
    linked, binary = tcpwrappers.uses_libwrap(facts)
    ev = {"version": facts.sshd_version, "binaries": [b.binary for b in facts.binaries
                                                       if b.exists],
          "uses_libwrap": linked, "notes": facts.notes}
    wrap = {True: "uses tcp wrappers", False: "does not use tcp wrappers", None: "unknown"}
    return Finding("sshd", None, "info",
                   f"{facts.sshd_version or 'sshd version unknown'} ({binary or 'no sshd'}; "
                   f"{wrap[linked]})", ev)


def _security_center(facts: Facts, client: ClientAddress | None,
                     fw: firewall.FirewallCheck) -> Finding:
    agent = sorted({p for p in facts.processes for a in AGENT_PROCESSES if p == a[:15]})
    ev: dict[str, Any] = {"agent_running": bool(agent) if facts.live else None,
                          "agent_processes": agent}
    if client:
        ev["whitelist"] = client.ip
        if client.private:
            ev["warning"] = f"{client.ip} is {client.private}: whitelist the public address"
    ev["firewall"] = fw.evidence  # Method 3 shows the host's rules beside the console steps
    deciding = fw.evidence.get("deciding") or {}
    if fw.status == "problem" and deciding.get("managed_by") == "security-center":
        return Finding("security-center", 3, "problem", fw.summary or "", ev, fw.remedy)
    text = ("if the Security Center blocked your public IP, add it to the Security Center "
            "whitelist (console steps)")
    if client and client.private:
        return Finding("security-center", 3, "warning",
                       f"{client.ip} is {client.private}; the Security Center only sees "
                       "your public address", ev)
    return Finding("security-center", 3, "info", text, ev)


def _firewall(fw: firewall.FirewallCheck) -> Finding:
    if fw.status in ("problem", "warning"):
        return Finding("firewall", None, fw.status, fw.summary or "", fw.evidence, fw.remedy)
    if not fw.evidence.get("collected"):
        notes = fw.evidence.get("notes") or []
        if notes:
            return Finding("firewall", None, "unknown",
                           f"host firewall rules not read: {notes[0]}", fw.evidence)
        return Finding("firewall", None, "ok", "no host firewall rules found", fw.evidence)
    return Finding("firewall", None, "ok",
                   f"no host firewall rule blocks port {fw.evidence.get('port')}", fw.evidence)


def _network(client: ClientAddress | None) -> Finding:
    return Finding("network", 4, "info",
                   "if nothing on the instance explains it, test from another network "
                   "(e.g. a phone hotspot) and compare", {})
