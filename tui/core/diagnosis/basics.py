"""The findings that set the scene: the operator's address, sshd itself, and Method 4."""

from __future__ import annotations

from tui.core.clientip import ClientAddress, all_from_logs, describe
from tui.core.diagnosis.evidence import ClientIpEvidence, SeenAddress, SshdEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.ids import CLIENT_IP, NETWORK, SSHD
from tui.core.diagnosis.libwrap import uses_libwrap
from tui.core.facts.model import Facts


def client_finding(facts: Facts, client: ClientAddress | None) -> Finding:
    seen = all_from_logs(facts.logs)
    ev = ClientIpEvidence([SeenAddress(a.ip, a.source, a.line, a.count, a.last_seen)
                           for a in seen[:20]])
    if client is None:
        if len(seen) > 1:
            return Finding(CLIENT_IP, None, "unknown",
                           f"{len(seen)} addresses in sshd's logs, so yours is not known "
                           f"(scanners fill them too): pass --client-ip with yours; seen: "
                           f"{describe(seen)}", ev)
        return Finding(CLIENT_IP, None, "unknown",
                       "the operator's address is not known: pass --client-ip", ev)
    ev.ip, ev.source, ev.line, ev.private = client.ip, client.source, client.line, client.private
    how = client.source if client.source.startswith(("picked", "typed")) \
        else f"from {client.source}"
    summary = f"operator address {client.ip} ({how})"
    if client.private:
        summary += (f": {client.private} ({client.where}), not the public address the "
                    "Security Center and the security group see")
    return Finding(CLIENT_IP, None, "info", summary, ev)


def sshd_finding(facts: Facts) -> Finding:
    linked, binary = uses_libwrap(facts)
    ev = SshdEvidence(facts.sshd_version, [b.binary for b in facts.binaries if b.exists],
                      linked, facts.notes)
    wrap = {True: "uses tcp wrappers", False: "does not use tcp wrappers", None: "unknown"}
    return Finding(SSHD, None, "info",
                   f"{facts.sshd_version or 'sshd version unknown'} ({binary or 'no sshd'}; "
                   f"{wrap[linked]})", ev)


def network_finding(client: ClientAddress | None) -> Finding:
    return Finding(NETWORK, 4, "info",
                   "if nothing on the instance explains it, test from another network "
                   "(e.g. a phone hotspot) and compare")
