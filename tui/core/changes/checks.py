"""Running a plan's checks on the target before anything is written (e.g. `sshd -t`)."""

from __future__ import annotations

from tui.core.changes.apply import ChangeError
from tui.core.changes.plan import Plan
from tui.core.targets.target import Target


class CheckFailed(ChangeError):
    """The target rejected the candidate; nothing was written."""

    title = "check failed"


def run_checks(target: Target, plan: Plan) -> list[str]:
    """Run every check of `plan`; returns what people should know (not validated offline).

    Raises CheckFailed with the target's own first error line when a check fails.
    """
    notes: list[str] = []
    for check in plan.checks:
        res = target.run(list(check.argv), check.stdin)
        if res is None:
            notes.append(f"not validated ({check.what}): nothing under --root is run; "
                         "sshd checks it when it starts")
            continue
        if res.rc != 0:
            text = (res.stderr or res.stdout).decode("utf-8", "replace").strip().splitlines()
            why = text[0] if text else f"exit {res.rc}"
            raise CheckFailed(f"{check.what} failed: {why}; nothing was changed")
        notes.append(f"validated: {check.what}")
    return notes
