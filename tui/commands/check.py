"""`ssh-reset-doctor check`: every finding for the target, text or JSON."""

from __future__ import annotations

import argparse
import time

from tui.commands import EXIT_OK, EXIT_PROBLEM, layout
from tui.commands.session import client_ip, open_from_args, target_options
from tui.core.diagnosis import registry
from tui.core.diagnosis.evidence import SshdEvidence
from tui.core.diagnosis.report import Report, choose_client, run_checks
from tui.core.facts.model import Facts
from tui.core.text import printable

_LABEL = {"problem": "PROBLEM", "warning": "warning", "ok": "ok", "unknown": "unknown",
          "info": "info"}


def run(args: argparse.Namespace) -> int:
    given = client_ip(args)
    started = time.time()
    target = open_from_args(args)  # TargetError: the CLI prints it and exits 2
    try:
        facts = target.collect()
    finally:
        target.close()
    report = run_checks(facts, choose_client(facts, given), args.port)
    if args.json:
        import json

        print(json.dumps(fleet_json(report, facts.hostname, started), indent=None,
                         sort_keys=False))
    else:
        print_report(report, args, facts)
    return EXIT_PROBLEM if report.problems else EXIT_OK


def fleet_json(report: Report, host: str | None, started: float) -> dict[str, object]:
    """The report plus what tells a fleet's results apart: the target's host name (null when
    it has none), this tool's build, and when the check started (UTC, ISO 8601)."""
    from tui.buildinfo import describe

    doc: dict[str, object] = dict(report.to_json())
    doc["host"] = host
    doc["tool_version"] = describe()
    doc["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    return doc


def print_report(report: Report, args: argparse.Namespace | None = None,
                 facts: Facts | None = None) -> None:
    """The findings for people; `args`: this run's, whose target options the fix hints
    carry (so they can be pasted as they are); `facts`: to offer `fix` only where it has
    an edit to make. Lines fit the terminal (80 columns when not one): the text of each
    finding wraps under its own column."""
    cols = layout.width()

    def out(lines: list[str]) -> None:
        print("\n".join(lines))

    out(layout.wrap("target:  ", printable(report.target), 9, cols))
    for f in report.findings:
        method = f"[{f.method}]" if f.method else "   "
        head = f"{_LABEL[f.status]:<8} {method} {f.id:<16} "
        out(layout.wrap(head, printable(f.summary), len(head), cols))
        for line in f.remedy:
            out(layout.wrap(f"{'':<29}- ", printable(line), 31, cols))
        check = registry.BY_ID.get(f.id)
        if f.status == "problem" and check is not None and check.fixable:
            ip = report.client.ip if report.client and check.needs_address else None
            if facts is not None and not check.offers_fix(facts, ip, f):
                continue  # `fix` would answer "no safe edit fixes this here"
            opts = target_options(args if args is not None else argparse.Namespace(), ip)
            out(layout.command(f"{'':<29}fix: ", printable(f"ssh-reset-doctor fix {f.id}{opts}"),
                               36, cols))
    _notes(report, cols)


def _notes(report: Report, cols: int) -> None:
    # What could not be collected (a FIFO where a log should be, a command that timed out).
    sshd = report.finding(registry.SSHD)
    ev = sshd.evidence if sshd else None
    for note in ev.notes if isinstance(ev, SshdEvidence) else []:
        print("\n".join(layout.wrap("note:    ", printable(note), 9, cols)))
