"""`ssh-reset-doctor fix {tcp-wrappers,libraries}`: preview a remedy, apply it with --yes."""

from __future__ import annotations

import argparse
import json

from tui.commands import EXIT_OK, EXIT_PROBLEM
from tui.commands.session import client_ip, fail, open_from_args
from tui.core.changes.apply import ChangeError, VerifyError
from tui.core.changes.plan import FileEdit
from tui.core.diagnosis.remedies import apply_remedy, choose, remedies_for
from tui.core.diagnosis.report import choose_client
from tui.core.targets.base import TargetError
from tui.core.targets.target import Target
from tui.core.text import printable


def run(args: argparse.Namespace) -> int:
    given = client_ip(args)
    try:
        target = open_from_args(args)
    except TargetError as e:
        return fail(str(e))
    try:
        return _run(args, target, given)
    except TargetError as e:
        return fail(str(e))
    finally:
        target.close()


def _run(args: argparse.Namespace, target: Target, given: str | None) -> int:
    facts = target.collect()
    client = choose_client(facts, given)
    ip = client.ip if client else None
    finding, plans = remedies_for(args.what, facts, ip)
    out: dict = {"target": facts.target, "client_ip": ip, "what": args.what,
                 "status": finding.status, "summary": finding.summary, "applied": False}
    if finding.status != "problem":
        return _done(args, out, f"nothing to fix: {finding.summary}", EXIT_OK)
    if not plans:
        out["remedy_lines"] = finding.remedy
        lines = "\n".join(["no safe edit fixes this here:"] + [f"  {r}" for r in finding.remedy])
        return _done(args, out, lines, EXIT_PROBLEM)
    plan = choose(plans, args.remedy)
    if plan is None:
        return fail(f"--remedy {args.remedy}: not available here "
                    f"(choose from {', '.join(p.remedy for p in plans)})")
    out.update(remedy=plan.remedy, title=plan.title, preview=plan.preview(), notes=plan.notes,
               alternatives=[p.remedy for p in plans if p is not plan])
    if not args.json:
        print(f"{printable(finding.summary)}\n\nplan: {printable(plan.title)}")
        for n in plan.notes:
            print(f"note: {printable(n)}")
        print(plan.preview())
    if not args.yes:
        msg = "nothing changed; run again with --yes to apply"
        if len(plans) > 1:
            msg += " (other remedy: " + ", ".join(f"--remedy {p.remedy}"
                                                 for p in plans if p is not plan) + ")"
        return _done(args, out, msg, EXIT_PROBLEM)

    try:
        cs, checked = apply_remedy(target, args.what, plan, ip, facts.target)
    except ChangeError as e:
        out["error"] = str(e)
        if args.json:
            print(json.dumps(out))
        code = fail(str(e))
        # A failed verification was rolled back: the problem is still there (1). Anything
        # else (stale preview, read-only, no space) stopped before a change: could not run (2).
        return EXIT_PROBLEM if isinstance(e, VerifyError) else code
    out.update(applied=True, change_set=cs.dir, backups=cs.backups())
    out["checks"] = checked
    lines = [f"applied: {plan.title}", *(f"  {c}" for c in checked)]
    for op in plan.ops:
        lines.append(f"  changed {op.path}" if isinstance(op, FileEdit)
                     else f"  created symlink {op.path} -> {op.target}")
    lines += [f"  backup  {b}" for b in cs.backups()]
    lines.append(f"change set {cs.dir}; undo with: ssh-reset-doctor undo --yes "
                 "(add your target options)")
    return _done(args, out, "\n".join(lines), EXIT_OK)


def _done(args: argparse.Namespace, out: dict, text: str, code: int) -> int:
    if args.json:
        print(json.dumps(out))
    else:
        print(printable(text))
    return code

