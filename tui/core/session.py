"""One wizard session with a target: every step the screens trigger, without any UI.

Each method blocks (it may talk to a host over SSH) and is meant to run in a worker thread;
a lock keeps two workers from using the same target at once (paramiko SFTP is not meant for
that, and a re-check must not read files while a plan is being written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.core.changes.apply import StaleError
from tui.core.changes.journal import JOURNAL, JOURNAL_DIR, ChangeSet, render
from tui.core.changes.plan import FileEdit, Plan, preview_op
from tui.core.changes.undo import SetView, inspect, interrupted, recover, undo
from tui.core.clientip import ClientAddress, all_from_logs, parse_address
from tui.core.diagnosis import registry
from tui.core.diagnosis.evidence import ClientIpEvidence
from tui.core.diagnosis.finding import Finding
from tui.core.diagnosis.remedies import apply_remedy
from tui.core.diagnosis.report import Report, choose_client, run_checks
from tui.core.errors import UserError
from tui.core.facts.model import Facts, FileBlob
from tui.core.targets.base import TargetError
from tui.core.targets.target import Target, TargetSpec, open_target

PasswordProvider = Callable[[str], "str | None"]


@dataclass
class Change:
    what: str  # one of registry.FIXABLE
    title: str
    change_set: ChangeSet
    undone: bool = False


@dataclass
class ApplyAllResult:
    """What apply_all() did: what was applied (title, change set), where it stopped and why
    (None: it did not), what was skipped and what was not tried."""

    applied: list[tuple[str, ChangeSet]] = field(default_factory=list)
    failed: tuple[str, BaseException] | None = None
    skipped: list[str] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)


class Session:
    def __init__(self, spec: TargetSpec, given_ip: str | None = None,
                 label: str | None = None) -> None:
        self.spec = spec
        self.label = label  # shown instead of the target's own label (the demo)
        self.target: Target | None = None
        self.facts: Facts | None = None
        self.report: Report | None = None
        self.changes: list[Change] = []
        self._plans: dict[str, tuple[Finding, list[Plan]]] = {}
        self._typed: ClientAddress | None = None
        self._given = ClientAddress(parse_address(given_ip), "--client-ip") if given_ip else None
        self._lock = threading.RLock()
        self.check_notes: list[str] = []  # of the last apply: validated / not validated
        self.recovered: list[str] = []  # interrupted change sets restored before an apply

    @property
    def kind(self) -> str:
        return "ssh" if self.spec.host else "root" if self.spec.root else "local"

    @property
    def client(self) -> ClientAddress | None:
        return self.report.client if self.report else (self._typed or self._given)

    @property
    def target_label(self) -> str:
        if self.label:
            return self.label
        if self.facts:
            return self.facts.target
        return self.spec.host or self.spec.root or "this machine"

    def open(self, password_provider: PasswordProvider | None = None) -> Target:
        """Connect (or check the root); raises TargetError (UnknownHostKey: a new host key)."""
        with self._lock:
            if self.target is None:
                self.target = open_target(self.spec, password_provider)
            return self.target

    def collect(self) -> Facts:
        with self._lock:
            if self.target is None:
                raise RuntimeError("open() the target first")
            self.facts = self.target.collect()
            return self.facts

    def set_client(self, text: str | None, source: str = "typed in") -> None:
        """The address typed or picked on the overview; empty goes back to --client-ip or
        the logs. AddressError (nothing changes) for anything but one strict address."""
        self._typed = ClientAddress(parse_address(text), source) if text else None

    def check(self) -> Report:
        with self._lock:
            if self.facts is None:
                raise RuntimeError("collect() first")
            given = self._typed or self._given
            client = given if given else choose_client(self.facts, None)
            self.report = run_checks(self.facts, client)
            if self.label:
                self.report.target = self.label
            # Plans are computed here, in the caller's worker thread: a huge rules file
            # must not stall whoever only wants to show them. Each from the report's own
            # finding: no check runs twice.
            ip = client.ip if client else None
            self._plans = {}
            for check in registry.CHECKS:
                found = self.report.finding(check.id)
                if check.plans is not None and found is not None:
                    self._plans[check.id] = (found, check.plans(self.facts, ip, found))
            return self.report

    def finding(self, fid: str) -> Finding | None:
        return self.report.finding(fid) if self.report else None

    def addresses(self) -> list[tuple[str, str]]:
        """(ip, source) to whitelist: the operator's first, then every other one logged."""
        seen: dict[str, str] = {}
        if self.client:
            seen[self.client.ip] = self.client.source
        logged = self.finding(registry.CLIENT_IP)
        ev = logged.evidence if logged else None
        for item in ev.seen_in_logs if isinstance(ev, ClientIpEvidence) else []:
            seen.setdefault(item.ip, item.source)
        return list(seen.items())

    def remedies(self, what: str) -> tuple[Finding, list[Plan]]:
        """The finding and plans of the last check() (the previews apply() expects)."""
        if what not in self._plans:
            raise RuntimeError("check() first")
        return self._plans[what]

    def apply(self, what: str, plan: Plan) -> ChangeSet:
        """Apply the plan the operator confirmed, exactly. Under the target's lock: recover
        change sets a run left half-way, collect and plan again, and go on only if that
        gives the same plan (same files, same bytes, same edit); then run its checks on the
        target (`sshd -t` on a candidate), apply, verify, re-check. Otherwise StaleError,
        and the screens show the fresh plan."""
        with self._lock:
            target = self._need_target()
            ip = self.client.ip if self.client else None
            with target.lock():
                self.recovered += recover(target.fileops(), target=self.target_label)
                self.facts = target.collect()
                _, plans = registry.get(what).remedies(self.facts, ip)
                if not any(p.plan_id == plan.plan_id for p in plans):
                    self.check()
                    raise StaleError("the files changed since the preview (another program "
                                     "wrote them, or a change was recovered); nothing was "
                                     "changed: look at the new preview")
                try:
                    done = apply_remedy(target, what, plan, ip, self.target_label)
                except StaleError:
                    self.collect()
                    self.check()
                    raise
            cs = done.change_set
            self.check_notes = done.checked
            self.changes.append(Change(what, plan.title, cs))
            # Collected to verify, so no need to collect again; only our journal record
            # was written after that (applied), and we know its bytes.
            self.facts = done.facts
            self.facts.files[f"{JOURNAL_DIR}/{cs.id}/{JOURNAL}"] = FileBlob(
                render(cs, cs.target, cs.state))
            self.check()
            return cs

    def undo(self, set_id: str | None = None) -> ChangeSet:
        """Restore the newest active change set on the target (ours or an earlier run's,
        applied or interrupted), or `set_id`."""
        with self._lock:
            target = self._need_target()
            with target.lock():
                res = undo(target.fileops(), target=self.target_label, set_id=set_id)
            cs = res.change_set
            ours = [c for c in self.changes if c.change_set.id == cs.id]
            if not ours:  # applied by an earlier run or by `fix --yes`
                ours = [Change(cs.remedy, f"{cs.remedy} (an earlier run)", cs)]
                self.changes.append(ours[0])
            ours[0].undone = True
            self.collect()
            self.check()
            return cs

    def change_sets(self) -> tuple[list[SetView], list[str]]:
        """Every change set on the target, newest first, with its files now, the diff an
        undo would make and whether undo would refuse it; one line per unreadable journal."""
        with self._lock:
            return inspect(self._need_target().fileops())

    def recommended(self) -> list[tuple[str, Plan]]:
        """(check id, plan): the recommended fix of every problem found that a previewed
        edit fixes, in the registry's order (the default plan, else the first)."""
        out = []
        for what, (found, plans) in self._plans.items():
            if found.status == "problem" and plans:
                out.append((what, next((p for p in plans if p.default), plans[0])))
        return out

    def apply_all(self, items: list[tuple[str, Plan]], progress: Callable[[str], object],
                  stop: Callable[[], bool]) -> ApplyAllResult:
        """Apply the confirmed (check id, plan)s in turn, stopping at the first failure or
        when `stop()` says so (before the next fix: a fix is never cut half-way). Each fix
        after the first is taken again from the re-check the one before made: skipped when
        its problem is gone, refused when its files changed other than by those fixes."""
        out = ApplyAllResult()
        written: dict[str, bytes] = {}  # what the fixes before wrote (read back)
        for n, (what, confirmed) in enumerate(items):
            if stop():
                out.not_tried = [p.title for _, p in items[n:]]
                return out
            rest = [p.title for _, p in items[n + 1:]]
            plan: Plan | None = confirmed
            if out.applied:  # the fixes before re-checked the target: the same edit still?
                found = self.finding(what)
                if found is None or found.status != "problem":
                    out.skipped.append(f"{confirmed.title} (no longer needed)")
                    continue
                plan = self.same_fix(what, confirmed, written)
            if plan is None:
                out.failed = (confirmed.title, UserError(
                    "its files changed since the preview (not only by the fixes before it); "
                    "nothing more was changed: look at the new preview"))
                out.not_tried = rest
                return out
            progress(f"applying {n + 1} of {len(items)}: {plan.title}")
            try:
                cs = self.apply(what, plan)
            except Exception as e:  # reported with what was applied before it
                out.failed, out.not_tried = (plan.title, e), rest
                return out
            out.applied.append((plan.title, cs))
            written.update((op.path, op.after) for op in plan.ops if isinstance(op, FileEdit))
        return out

    def same_fix(self, what: str, plan: Plan, written: dict[str, bytes]) -> Plan | None:
        """The plan of the last check() that makes the edit the operator confirmed as `plan`,
        after fixes applied since wrote `written` (path: the bytes now there). The same plan
        when nothing it touches changed; else one with the same remedy and the same lines
        added and removed, whose files hold exactly what those fixes wrote (two edits of
        sshd_config move each other's lines). None when another writer changed a file or
        the fix is another one now: the operator must look at the new preview."""
        if what not in self._plans:
            return None
        before = {op.path: op.before for op in plan.ops if isinstance(op, FileEdit)}
        for p in self._plans[what][1]:
            if p.plan_id == plan.plan_id:
                return p
            if p.remedy != plan.remedy or _edit_lines(p) != _edit_lines(plan):
                continue
            edits = [op for op in p.ops if isinstance(op, FileEdit)]
            if (any(op.path in written for op in edits)
                    and all(op.before == written.get(op.path, before.get(op.path))
                            for op in edits)):
                return p
        return None

    def local_endpoint(self) -> tuple[str, int] | None:
        """Where sshd on this machine answers (console mode only): 127.0.0.1 on its first
        configured port (22 by default; see sshdports.local_endpoint). None for --root and
        --host targets."""
        if self.kind != "local":
            return None
        if self.facts is None:
            return "127.0.0.1", 22
        from tui.core.diagnosis.sshdports import local_endpoint

        return local_endpoint(self.facts)

    def candidates(self) -> list[ClientAddress]:
        """Addresses sshd logged (newest first, with counts): the operator picks theirs."""
        return all_from_logs(self.facts.logs) if self.facts else []

    def interrupted(self) -> list[ChangeSet]:
        """Change sets a run left half-way on the target; apply and undo recover them."""
        with self._lock:
            if self.target is None:
                return []
            try:
                return interrupted(self.target.fileops())
            except (OSError, TargetError):
                return []

    def close(self, wait: float = 2.0) -> bool:
        """Close the target; False if a step still holds it after `wait` seconds (a hung
        host): the caller is quitting and the socket goes with the process."""
        if not self._lock.acquire(timeout=wait):
            return False
        try:
            if self.target is not None:
                self.target.close()
                self.target = None
            return True
        finally:
            self._lock.release()

    def _need_target(self) -> Target:
        if self.target is None:
            raise RuntimeError("open() the target first")
        return self.target


def _edit_lines(plan: Plan) -> list[tuple[str, list[str]]]:
    """Per op: its path and the lines its diff adds and removes (no context, no offsets)."""
    out = []
    for op, text in ((op, preview_op(op)) for op in plan.ops):
        lines = [ln for ln in text.splitlines()
                 if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        out.append((op.path, lines if not text.startswith("symlink:") else [text]))
    return out
