"""The summary as a Markdown report: what was found, what was changed, what is left to do."""

from __future__ import annotations

import time

from tui.core.diagnosis import registry
from tui.core.diagnosis.report import Report
from tui.core.session import Change
from tui.core.text import strip_controls


def next_steps(report: Report, changes: list[Change]) -> list[str]:
    steps: list[str] = []
    for f in report.findings:
        if f.status == "problem":
            steps.append(f"{registry.title(f.id)}: {f.summary}")
            steps += [f"  {line}" for line in f.remedy]
    if not report.problems:
        steps.append("Nothing on the instance explains the reset any more: try `ssh -vvv` "
                     "again from your machine.")
    if any(not c.undone for c in changes):
        steps.append("Log in once from a second terminal before you close this one; undo "
                     "restores the backups if anything went wrong.")
    steps.append("If the reset persists: whitelist your public address in the Security "
                 "Center (Method 3) and test from another network (Method 4).")
    return steps


def render(report: Report, changes: list[Change], *, whitelist: str | None = None,
           network: str | None = None, probe: str | None = None,
           proof: str | None = None, when: float | None = None) -> str:
    """The Markdown report. `probe`: Method 4's probe from the operator's side; `proof`:
    the probe of this machine's sshd after a fix (does it answer again?)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when or time.time()))
    out = [
        "# ssh-reset-doctor report", "",
        f"- Target: {report.target}",
        f"- Operator address: {report.client.ip + ' (from ' + report.client.source + ')'}"
        if report.client else "- Operator address: unknown",
        f"- Generated: {stamp}", "",
        "## Findings", "",
        "| Check | Status | Summary |", "|---|---|---|",
    ]
    for f in report.findings:
        out.append(f"| {registry.title(f.id)} | {f.status} | {_cell(f.summary)} |")
    out += ["", "## Changes", ""]
    if not changes:
        out.append("No change was made.")
    for c in changes:
        state = "undone" if c.undone else "applied"
        out.append(f"- {state}: {c.title} (change set `{c.change_set.dir}`)")
        out += [f"  - backup `{b}`" for b in c.change_set.backups()]
    if proof:
        out += ["", "## Does sshd answer again?", "", "```", proof, "```"]
    if probe:
        out += ["", "## Probe from the operator's side", "", "```", probe, "```"]
    out += ["", "## Next steps", ""]
    out += [f"- {s}" if not s.startswith("  ") else f"  - `{s.strip()}`"
            for s in next_steps(report, changes)]
    for heading, text in (("Security Center whitelist", whitelist),
                          ("Network test", network)):
        if text:
            out += ["", f"## {heading}", "", "```text", text.rstrip("\n"), "```"]
    # Target text (rules, log lines, paths) is in here: no escape sequence may ride along.
    return strip_controls("\n".join(out) + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
