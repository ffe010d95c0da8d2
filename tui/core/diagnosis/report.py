"""All checks of one target: what `check` prints and the wizard's overview shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core.clientip import ClientAddress, from_logs
from tui.core.diagnosis import registry
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.registry import CHECKS, Context
from tui.core.facts.model import Facts


@dataclass(frozen=True)
class LikelyCause:
    finding: Finding
    sure: bool  # a problem; False: only a warning, the first place to look


@dataclass
class Report:
    target: str
    client: ClientAddress | None
    findings: list[Finding] = field(default_factory=list)

    def finding(self, fid: str) -> Finding | None:
        return next((f for f in self.findings if f.id == fid), None)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    def likely_cause(self) -> LikelyCause | None:
        """What most likely resets the connection: the first problem among the causes (the
        article's methods, then the others, in the registry's order), else the first
        warning among them; None when nothing found on the target explains the reset."""
        causes = [f for f in self.findings if (c := registry.get(f.id)).method or c.cause]
        for status, sure in (("problem", True), ("warning", False)):
            found = next((f for f in causes if f.status == status), None)
            if found is not None:
                return LikelyCause(found, sure)
        return None

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
    ctx = Context(facts, client, port)
    r = Report(facts.target, client)
    for check in CHECKS:
        found = check.finding(ctx)
        if found is not None:
            r.findings.append(found)
    return r
