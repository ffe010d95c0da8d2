"""The remedies `fix` and the wizard offer for a method, and which one is the default."""

from __future__ import annotations

from tui.core.changes.plan import Plan
from tui.core.diagnosis import libraries, tcpwrappers
from tui.core.diagnosis.finding import Finding
from tui.core.facts.model import Facts


def remedies_for(what: str, facts: Facts, ip: str | None) -> tuple[Finding, list[Plan]]:
    """The finding for `what` ("tcp-wrappers" | "libraries") and its plans, default first."""
    if what == "libraries":
        return libraries.finding(facts), libraries.plans(facts)
    finding = tcpwrappers.finding(facts, ip)
    who = ip or finding.evidence.get("client")
    plans = tcpwrappers.plans(facts, who) if finding.status == "problem" and who else []
    if ip is None:
        # Without the operator's address only removing the catch-all rule makes sense.
        plans = [p for p in plans if p.remedy != "allow-client"]
        for p in plans:
            p.default = True
    return finding, plans


def choose(plans: list[Plan], wanted: str | None) -> Plan | None:
    if wanted is None:
        return next((p for p in plans if p.default), plans[0])
    return next((p for p in plans if p.remedy == wanted), None)
