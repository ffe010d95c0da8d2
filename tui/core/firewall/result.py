"""What evaluate() returns: one verdict per source, the blocking rules, and notes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

_NET = ("net-unreachable", "net-prohibited", "icmp-net-unreachable", "icmp-net-prohibited")


@dataclass
class FirewallVerdict:
    action: str  # "accept" | "drop" | "reject" | "reset" | "unknown"
    rule: str | None  # the original rule (or policy line); None: no rule, the default accept
    source: str  # "iptables-save", "nft -a list ruleset", "/etc/iptables/rules.v4", ...
    chain: str | None
    line: int | None  # 1-based line in the source text
    managed_by: str | None = None  # fail2ban | firewalld | security-center | ufw | csf | sshguard
    table: str | None = None  # "filter" (iptables) or "inet filter" (nft)
    index: int | None = None  # position in its chain (iptables -L --line-numbers); None: policy
    handle: int | None = None  # nft -a handle
    detail: str | None = None  # reject type: "tcp-reset", "icmp-port-unreachable", ...
    tool: str = "iptables"  # "iptables" | "ip6tables" | "nft"
    stage: str = "new"  # "new": the SYN; "established": packets after the handshake
    blocks: bool | None = None  # every possible outcome blocks (True), none does (False)
    decides: bool = True  # False: a rule that would block this address, but another decides
    caveats: list[str] = field(default_factory=list)  # conditions, and the other outcomes
    remedy: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        table = "" if self.tool != "nft" else f"{self.table} "
        pos = f"rule {self.index}" if self.index else "policy"
        return f"{self.tool} {table}{self.chain} {pos}"

    def describe(self, ip: str | None, port: int = 22) -> str:
        """'iptables INPUT rule 3 rejects 203.0.113.7 with tcp-reset: -A INPUT ...'."""
        who = ip or f"every client on port {port}"
        verb = {
            "reset": f"rejects {who} with tcp-reset",
            "reject": f"rejects {who} with {self.detail or 'icmp-port-unreachable'}",
            "drop": f"drops {who}",
            "accept": f"accepts {who}",
        }.get(self.action, f"may block {who}")
        if self.stage == "established":
            verb += " after the handshake"
        if ip and port != 22:
            verb += f" on port {port}"
        src = f" ({self.source} line {self.line})" if self.source.startswith("/") else ""
        return f"{self.where()} {verb}{src}: {self.rule or 'default policy'}"

    def symptom(self) -> str | None:
        """What the operator's ssh client shows when this verdict stands."""
        d = (self.detail or "").replace(" ", "-")
        if self.stage == "established":
            return {"reset": "Connection reset by peer", "reject": "Connection reset by peer",
                    "drop": "Connection timed out during banner exchange"}.get(self.action)
        if self.action == "reset" or (self.action == "reject" and "port-unreach" in d):
            return "Connection refused"
        if self.action == "reject":
            return "Network is unreachable" if d.endswith(_NET) else "No route to host"
        if self.action == "drop":
            return "Connection timed out"
        return None


@dataclass
class FirewallReport:
    ip: str | None
    port: int
    verdicts: dict[str, FirewallVerdict] = field(default_factory=dict)  # source -> new conn.
    blocking: list[FirewallVerdict] = field(default_factory=list)  # deciding ones first
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> FirewallVerdict | None:
        """Overall: a source that blocks wins (every source's rules apply), then unknown."""
        vs = list(self.verdicts.values())
        for pred in (lambda v: v.blocks is True, lambda v: v.blocks is None,
                     lambda v: v.rule is not None, lambda v: True):
            hit = next((v for v in vs if pred(v)), None)
            if hit:
                return hit
        return None

    @property
    def blocked(self) -> bool | None:
        v = self.verdict
        return None if v is None else v.blocks

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "ip": self.ip, "port": self.port,
            "verdict": v.action if v else None,
            "verdicts": {k: x.to_json() for k, x in self.verdicts.items()},
            "blocking": [b.to_json() for b in self.blocking],
            "notes": self.notes,
        }

