"""`ssh-reset-doctor fix WHAT`: preview a remedy as a diff with its plan id; apply with --yes.

With --yes the target is locked from collecting the facts to verifying the result, change
sets a run left half-way are recovered first, and a file another program wrote meanwhile
makes us plan again (never write over it). `--plan ID` applies exactly the plan previewed
under that id, or nothing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tui.commands import EXIT_ERROR, EXIT_OK, EXIT_PROBLEM, layout
from tui.commands.session import client_ip, fail, open_from_args, shielded, target_options
from tui.core.changes.apply import ChangeError, StaleError, VerifyError
from tui.core.changes.plan import FileEdit, Plan
from tui.core.changes.undo import interrupted, recover
from tui.core.clientip import all_from_logs, describe
from tui.core.diagnosis import registry
from tui.core.diagnosis.remedies import apply_remedy, choose
from tui.core.diagnosis.report import choose_client
from tui.core.errors import UsageError, UserError
from tui.core.targets.base import TargetError
from tui.core.targets.target import Target
from tui.core.text import printable

_REPLANS = 3  # another program keeps writing the file: give up after this many plans


class _Done(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def run(args: argparse.Namespace) -> int:
    given = client_ip(args)
    if getattr(args, "plan", None) and not args.yes:
        raise UsageError("--plan goes with --yes: it applies the plan a preview printed")
    target = open_from_args(args)
    try:
        if not args.yes:
            return _preview(args, target, given)
        signals: list[str] = []
        with target.lock():
            code = _apply(args, target, given, signals)
        if signals:
            return fail(f"interrupted ({signals[0]}) after the change above was finished")
        return code
    except _Done as d:
        return d.code
    finally:
        target.close()


def _plan(args: argparse.Namespace, target: Target, given: str | None,
          out: dict[str, Any]) -> tuple[Plan, list[Plan], str | None, str]:
    """Collect, diagnose and choose the plan; raises _Done when there is nothing to apply,
    a UserError when it cannot choose."""
    facts = target.collect()
    client = choose_client(facts, given)
    ip = client.ip if client else None
    check = registry.get(args.what)
    if ip is None and check.needs_address and args.yes:
        seen = all_from_logs(facts.logs)
        if len(seen) > 1:
            # Never a guess: whitelisting a scanner leaves the operator locked out.
            raise UsageError(f"{len(seen)} addresses in the target's logs; say which is "
                             f"yours with --client-ip (seen: {describe(seen, 10)}); "
                             "nothing was changed")
    finding, plans = check.remedies(facts, ip)
    out.update(target=facts.target, client_ip=ip, what=args.what, status=finding.status,
               summary=finding.summary, applied=False)
    if finding.status != "problem":
        raise _Done(_done(args, out, _prose(f"nothing to fix: {finding.summary}"), EXIT_OK))
    if not plans:
        out["remedy_lines"] = finding.remedy
        lines = "\n".join(["no safe edit fixes this here:"] + [f"  {r}" for r in finding.remedy])
        raise _Done(_done(args, out, _prose(lines), EXIT_PROBLEM))
    if getattr(args, "plan", None):
        plan = next((p for p in plans if p.plan_id == args.plan), None)
        if plan is None:
            now = ", ".join(f"{p.plan_id} ({p.remedy})" for p in plans)
            raise UserError(f"plan {args.plan} is not what the files give now (they changed "
                            f"since the preview, or the address differs; now: {now}); "
                            "nothing was changed: run fix again to preview",
                            title="plan out of date")
    else:
        chosen = choose(plans, args.remedy)
        if chosen is None:
            raise UsageError(f"--remedy {args.remedy}: not available here "
                             f"(choose from {', '.join(p.remedy for p in plans)})")
        plan = chosen
    out.update(remedy=plan.remedy, title=plan.title, plan_id=plan.plan_id,
               preview=plan.preview(), notes=plan.notes,
               alternatives=[p.remedy for p in plans if p is not plan])
    return plan, plans, ip, facts.target


def _show(args: argparse.Namespace, out: dict[str, Any], plan: Plan) -> None:
    if args.json:
        return
    print(_prose(f"{out['summary']}\n\nplan: {plan.title}"))
    for n in plan.notes:
        print(_prose(f"note: {n}"))
    print(plan.preview())  # diffs: byte-exact, never wrapped
    print(f"plan id: {plan.plan_id}")


def _preview(args: argparse.Namespace, target: Target, given: str | None) -> int:
    out: dict[str, Any] = {}
    pending = _pending(target)
    plan, plans, ip, _ = _plan(args, target, given, out)
    _show(args, out, plan)
    opts = target_options(args, ip if registry.get(args.what).needs_address else None)
    msg = layout.said_then_command(
        "nothing changed; apply exactly this plan with:",
        printable(f"ssh-reset-doctor fix {args.what} --yes --plan {plan.plan_id}{opts}"))
    others = [p for p in plans if p is not plan]
    if others:
        msg += "\n" + _prose("other remedies: " + ", ".join(
            f"--remedy {p.remedy} (plan {p.plan_id})" for p in others))
    msg += "".join(f"\n{_prose(f'note: {line}')}" for line in pending)
    out["interrupted"] = pending
    return _done(args, out, msg, EXIT_PROBLEM)


def _pending(target: Target) -> list[str]:
    """Change sets a run left half-way: `fix --yes` and `undo --yes` restore them first."""
    try:
        sets = interrupted(target.fileops())
    except (OSError, TargetError):
        return []
    return [f"change set {cs.id} ({cs.remedy}) was interrupted; the next `fix --yes` or "
            "`undo --yes` restores its originals first" for cs in sets]


def _apply(args: argparse.Namespace, target: Target, given: str | None,
           signals: list[str]) -> int:
    """Recover, plan, apply, verify. Signals that come while files are being changed wait
    (into `signals`) until the change is finished or rolled back."""
    out: dict[str, Any] = {}
    try:
        with shielded() as got:
            recovered = recover(target.fileops(), target=target.label)
        signals += got
    except ChangeError as e:
        out["error"] = str(e)
        return _failed(args, out, e, EXIT_ERROR)
    except OSError as e:
        return fail(f"{e.filename or 'change journal'}: {e.strerror or e}; nothing was changed")
    for line in recovered:
        if not args.json:
            print(_prose(line))
    out_recovered = recovered
    for attempt in range(_REPLANS):
        out = {"recovered": out_recovered}
        plan, _, ip, label = _plan(args, target, given, out)
        if attempt == 0:
            _show(args, out, plan)
        try:
            with shielded() as got:
                try:
                    done = apply_remedy(target, args.what, plan, ip, label)
                    cs, checked = done.change_set, done.checked
                finally:
                    signals += got
        except StaleError as e:
            if getattr(args, "plan", None) or attempt == _REPLANS - 1 or e.details:
                out["error"] = str(e)
                return _failed(args, out, e, EXIT_ERROR)
            if not args.json:
                print(_prose(f"note: {e}; planning again on the file as it is now"))
            continue
        except ChangeError as e:
            out["error"] = str(e)
            # A failed verification was rolled back: the problem is still there (1).
            # Anything else (read-only, no space, a lost connection) could not run (2).
            code = EXIT_PROBLEM if isinstance(e, VerifyError) and not e.changed else EXIT_ERROR
            return _failed(args, out, e, code)
        break
    else:  # pragma: no cover - the loop always breaks or returns
        return EXIT_ERROR
    out.update(applied=True, change_set=cs.dir, backups=cs.backups(), checks=checked,
               notes=[*out.get("notes", []), *cs.notes])
    lines = [f"applied: {plan.title} (plan {plan.plan_id})", *(f"  {c}" for c in checked)]
    for op in plan.ops:
        lines.append(f"  changed {op.path}" if isinstance(op, FileEdit)
                     else f"  created symlink {op.path} -> {op.target}")
    lines += [f"  backup  {b}" for b in cs.backups()]
    lines += [f"note: {n}" for n in cs.notes]
    where = printable(f"change set {cs.dir};")
    undo_cmd = printable(f"ssh-reset-doctor undo --yes{target_options(args, None)}")
    last = f"{where} undo with: {undo_cmd}"
    if len(last) > layout.width():  # the change set on its line, then how to undo it
        last = _prose(where) + "\n" + layout.said_then_command("undo with:", undo_cmd)
    text = _prose("\n".join(lines)) + "\n" + last
    return _done(args, out, text, EXIT_OK)


def _failed(args: argparse.Namespace, out: dict[str, Any], e: ChangeError, code: int) -> int:
    out["details"] = e.details
    if args.json:
        print(json.dumps(out))
    fail(str(e))
    import sys

    for line in e.details:
        print(f"  {printable(line)}", file=sys.stderr)
    return code


def _prose(text: str) -> str:
    """Text for people: control characters shown as escapes, lines fitted to the terminal."""
    return layout.prose(printable(text))


def _done(args: argparse.Namespace, out: dict[str, Any], text: str, code: int) -> int:
    """`text`: as printed (its callers fitted it to the terminal)."""
    if args.json:
        print(json.dumps(out))
    else:
        print(printable(text))
    return code
