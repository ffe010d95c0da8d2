"""The summary: findings, changes and backups, next steps; `s` exports it as Markdown."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from tui.wizard.screens.base import WizardScreen
from tui.wizard.widgets.render import Wrapped, plain, status_word


class SummaryScreen(WizardScreen):
    SUB_TITLE = "summary"

    def __init__(self) -> None:
        super().__init__()
        self.report_md: str | None = None

    def body(self) -> ComposeResult:
        # First when there is one: after a fix on this machine, the proof that sshd answers.
        yield Static(Text("Does sshd answer again?", style="bold"), classes="heading first proof")
        yield Static(id="proof", classes="proof")
        yield Static(Text("Findings", style="bold"), classes="heading findings")
        yield Static(id="findings")
        yield Static(Text("Changes", style="bold"), classes="heading")
        yield Static(id="changes")
        yield Static(Text("Next steps", style="bold"), classes="heading")
        yield Static(id="next")
        yield Static(Text("s saves this as a Markdown report; c copies it", style="italic"),
                     classes="heading")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "probe_result", lambda _: self.show_session(self.app.session))
        self.watch(self.app, "proof", lambda _: self.show_proof())
        self.watch(self.app, "proving", lambda _: self.show_proof())

    def show_proof(self) -> None:
        """After a fix on this machine: the probe of its sshd, banner or exact failure."""
        proof, proving = self.app.proof, self.app.proving
        for w in self.query(".proof"):
            w.display = bool(proof or proving)
        self.query_one(".findings").set_class(not (proof or proving), "first")
        if proving:
            text = plain(f"probing {proving[0]}:{proving[1]} as a client would...", "italic")
        elif proof is None:
            return
        elif proof.outcome == "banner":
            text = Text("yes", style="bold")
            text.append_text(plain(f": {proof.host}:{proof.port} answered {proof.banner} "
                                   f"(TCP connect {proof.connect_ms or 0:.0f} ms)"))
        else:
            text = Text("not yet", style="bold reverse")
            text.append_text(plain(f" {proof.summary()}\n{proof.meaning()}"))
        self.query_one("#proof", Static).update(Wrapped(text, hang=2))
        if proof is not None and not proving:
            self.show_session(self.app.session)  # the report (s, c) carries it too

    def show_session(self, session: Any) -> None:
        if session is None or session.report is None:
            self.query_one("#findings", Static).update(plain("checking...", "italic"))
            return
        from tui.core import reportmd
        from tui.core.diagnosis import registry
        from tui.core.instructions import network, whitelist

        report = session.report
        text = Text()
        for f in report.findings:
            text.append_text(status_word(f.status))
            text.append(" ")
            text.append_text(plain(f"{registry.title(f.id)}: ", "bold"))
            text.append_text(plain(f.summary + "\n"))
        text.rstrip()
        # Each summary wraps under itself, clear of the status column.
        self.query_one("#findings", Static).update(Wrapped(text, indent=9))
        changes = Text()
        for c in session.changes:
            changes.append_text(plain(f"{'undone' if c.undone else 'applied'}: {c.title}\n",
                                      "bold"))
            changes.append_text(plain(f"  change set {c.change_set.dir}\n"))
            for b in c.change_set.backups():
                changes.append_text(plain(f"  backup {b}\n"))
        changes.rstrip()
        self.query_one("#changes", Static).update(
            Wrapped(changes, hang=2) if changes else plain("no change was made", "italic"))
        steps = reportmd.next_steps(report, session.changes)
        self.query_one("#next", Static).update(Wrapped(plain("\n".join(
            s if s.startswith("  ") else f"- {s}" for s in steps)), hang=2))
        probe = self.app.probe_result
        host = self.app.probe_default()
        self.report_md = reportmd.render(
            report, session.changes,
            whitelist=whitelist(session.addresses()),
            network=network(host[0] if host else None, host[1] if host else 22),
            probe=probe.report() if probe else None,
            proof=self.app.proof.report() if self.app.proof else None,
        )

    def export(self) -> tuple[str, str] | None:
        return ("report", self.report_md) if self.report_md else None
