"""Method 3's host firewall part: rules that drop, reject or reset the operator on sshd's port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tui.core.diagnosis import sshdports
from tui.core.facts.model import FIREWALL_COMMANDS, FIREWALL_FILES, Facts
from tui.core.firewall import FirewallVerdict, evaluate

_MAX_RULES = 20


@dataclass
class FirewallCheck:
    evidence: dict[str, Any]
    status: Literal["problem", "warning"] | None = None  # None: nothing to say
    summary: str | None = None
    remedy: list[str] = field(default_factory=list)


def check(facts: Facts, ip: str | None) -> FirewallCheck:
    prefixes = tuple(label for label, _ in FIREWALL_COMMANDS) + FIREWALL_FILES
    fw_notes = [n for n in facts.notes if n.startswith(prefixes)]
    if not facts.firewall:
        return FirewallCheck({"collected": False, "notes": fw_notes})
    ports = sshdports.ports(facts)
    reports = [evaluate(facts.firewall, ip, p) for p in ports]
    rep = (next((r for r in reports if r.blocked is True), None)
           or next((r for r in reports if r.blocked is None), None) or reports[0])
    v = rep.verdict
    ev: dict[str, Any] = {
        "collected": True, "sources": list(facts.firewall), "port": rep.port, "ports": ports,
        "verdict": v.action if v else None,
        "symptom": v.symptom() if v else None,
        "deciding": _short(v) if v else None,
        "blocking": [_short(b) for b in rep.blocking[:_MAX_RULES]],
        "notes": (fw_notes + rep.notes)[:_MAX_RULES],
    }
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


def _short(v: FirewallVerdict) -> dict[str, Any]:
    keep = ("action", "rule", "source", "chain", "line", "managed_by", "table", "index",
            "handle", "detail", "stage", "blocks", "decides", "caveats", "remedy")
    return {k: getattr(v, k) for k in keep}
