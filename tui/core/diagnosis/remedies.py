"""Choosing among a check's plans and applying one: what `fix --yes` and the wizard share."""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.changes.apply import apply_plan
from tui.core.changes.checks import run_checks
from tui.core.changes.journal import ChangeSet
from tui.core.changes.plan import Plan
from tui.core.diagnosis import registry
from tui.core.facts.model import Facts
from tui.core.targets.target import Target


def choose(plans: list[Plan], wanted: str | None) -> Plan | None:
    if wanted is None:
        return next((p for p in plans if p.default), plans[0])
    return next((p for p in plans if p.remedy == wanted), None)


@dataclass
class Applied:
    change_set: ChangeSet
    checked: list[str]  # what the plan's checks said (validated / not validated offline)
    facts: Facts  # collected to verify: the target as it is now


def apply_remedy(target: Target, what: str, plan: Plan, ip: str | None,
                 label: str) -> Applied:
    """Run the plan's checks on the target (`sshd -t` on the candidate), apply it, and verify
    by collecting again: the problem of `what` must be gone, else apply_plan rolls back.

    Raises ChangeError (CheckFailed, StaleError, VerifyError, ...) with nothing left changed.
    """
    checked = run_checks(target, plan)
    seen: list[Facts] = []

    check = registry.get(what)

    def verify() -> str | None:
        # Only the finding: the plans (and their proofs) are for the next preview.
        seen.append(target.collect())
        again = check.finding(registry.Context.for_ip(seen[-1], ip))
        return None if again is None or again.status != "problem" else again.summary

    cs = apply_plan(target.fileops(), plan, target=label, verify=verify)
    return Applied(cs, checked, seen[-1] if seen else target.collect())
