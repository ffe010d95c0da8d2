"""Method 1: hosts.allow and hosts.deny, the rule that decides, and the remedies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.core.diagnosis import registry
from tui.core.diagnosis.evidence import TcpWrappersEvidence
from tui.wizard.screens.fixbase import FixScreen
from tui.wizard.widgets.render import numbered, plain

if TYPE_CHECKING:
    from tui.core.diagnosis.finding import Finding
    from tui.core.session import Session

ALLOW, DENY = "/etc/hosts.allow", "/etc/hosts.deny"


class Method1Screen(FixScreen):
    SUB_TITLE = "Method 1: TCP wrappers"
    WHAT = registry.TCP_WRAPPERS

    def body(self) -> ComposeResult:
        yield from self.fix_widgets()
        yield Static(Text(ALLOW, style="bold"), classes="heading")
        yield Static(id="allow")
        yield Static(Text(DENY, style="bold"), classes="heading")
        yield Static(id="deny")

    def verdict_details(self, session: Session, finding: Finding) -> list[Text]:
        ev = finding.evidence
        if not isinstance(ev, TcpWrappersEvidence):
            return []
        out = []
        who = ev.client
        if who and ev.access:
            where = (f"{ev.file} line {ev.line}" if ev.line else
                     ev.file or "no rule matched (access is granted by default)")
            cond = "if sshd uses tcp wrappers, it " if ev.has("conditional") else "sshd "
            out.append(plain(f"In words: {cond}{ev.access} {who} - {where}"))
            if ev.reason:
                out.append(plain(f"Why: {ev.reason}", "italic"))
        for w in ev.warnings or []:
            out.append(plain(f"warning: {w}"))
        for d in ev.diagnostics:
            out.append(plain(f"tcpdchk: {d}", "italic"))
        if ev.managed_by:
            out.append(plain("managed by " + ", ".join(ev.managed_by)
                             + ": a hand edit does not stick; use their command", "bold"))
        if ev.uses_libwrap is not None:
            out.append(plain("Both files are read on every connection: a change takes effect "
                             "at once, nothing to restart.", "italic"))
        return out

    def show_extra(self, session: Session, finding: Finding) -> None:
        ev = finding.evidence
        decided = ev if isinstance(ev, TcpWrappersEvidence) and ev.has("file") else None
        for path, wid in ((ALLOW, "#allow"), (DENY, "#deny")):
            blob = session.facts.files.get(path) if session.facts else None
            data = blob.data if blob else None
            line = decided.line if decided and decided.file == path else None
            missing = "absent" if blob is None or blob.errno == 2 else "unreadable"
            self.query_one(wid, Static).update(numbered(data, line, missing=missing))
