"""Causes beyond the article's four: sshd itself, its log, MaxStartups, penalties, the host
firewall, managed deny lists. Each with its evidence and commands; sshd_config edits are
previewed."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.core.diagnosis import registry
from tui.wizard.screens.confirm import ConfirmScreen
from tui.wizard.screens.fixbase import JOURNAL, FixScreen
from tui.wizard.widgets.render import plain, status_word

# (finding id, title); the fixable ones offer previewed sshd_config edits below
CAUSES = tuple((c.id, c.label) for c in registry.CAUSES)
FIXABLE = tuple(c.id for c in registry.CAUSES if c.fixable)


class OthersScreen(FixScreen):
    SUB_TITLE = "5: other causes"

    def __init__(self) -> None:
        super().__init__()
        self.whats: list[str] = []  # the finding each plan belongs to

    def body(self) -> ComposeResult:
        yield Static(id="causes")  # in place of one finding's verdict: every cause's
        yield from self.fix_widgets(verdict=False)

    def show_session(self, session: Any) -> None:
        causes = self.query_one("#causes", Static)
        if session is None or session.report is None:
            causes.update(plain("checking...", "italic"))
            return
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=20, no_wrap=True)
        grid.add_column(width=8, no_wrap=True)
        grid.add_column(ratio=1)
        for fid, title in CAUSES:
            finding = session.finding(fid)
            if finding is None:
                continue
            grid.add_row(Text(title, style="bold"), status_word(finding.status),
                         plain(finding.summary))
            if finding.status in ("problem", "warning"):
                for line in finding.remedy:
                    grid.add_row(Text(), Text(), plain(line, "italic"))
        causes.update(grid)
        self.plans, self.whats = [], []
        for what in FIXABLE:
            _, plans = session.remedies(what)
            self.plans += plans
            self.whats += [what] * len(plans)
        remedies = self.query_one("#remedies", OptionList)
        remedies.set_options([
            Option(plain(p.title + ("  (recommended)" if p.default else "")), id=str(i))
            for i, p in enumerate(self.plans)
        ] or [Option(plain("no sshd_config change to propose"), disabled=True)])
        if self.plans:
            remedies.highlighted = 0
        self.refresh_bindings()
        self._show_plan()

    def action_apply(self) -> None:
        plan = self.plan
        if plan is None:
            self.notify("nothing to apply here", severity="warning")
            return
        what = self.whats[self.plans.index(plan)]
        session = self.app.session
        assert session is not None  # a plan comes from a checked session
        body = Text()
        body.append_text(plain(f"{plan.title}\non {session.target_label}\n\n", "bold"))
        files = ", ".join(op.path for op in plan.ops)
        body.append_text(plain(f"Byte-exact backups of {files} go to a new change set under "
                               f"{JOURNAL}/ on the target first.\n"))
        for check in plan.checks:
            body.append_text(plain(f"Before writing: {check.what}; a rejected candidate writes "
                                   "nothing.\n"))
        body.append("sshd uses the new setting after a reload (the notes say how).")
        self.app.push_screen(
            ConfirmScreen("Apply this fix?", body, "y apply  ·  n/Esc cancel"),
            lambda ok: self.app.apply_plan(what, plan) if ok else None,
        )

    def export(self) -> tuple[str, str] | None:
        session = self.app.session
        if session is None or session.report is None:
            return None
        lines = []
        for fid, title in CAUSES:
            finding = session.finding(fid)
            if finding is not None:
                lines.append(f"{title}: {finding.status}: {finding.summary}")
                lines += [f"  {r}" for r in finding.remedy]
        if self.plan is not None:
            lines += ["", f"plan: {self.plan.title}", self.plan.preview()]
        return "other-causes", "\n".join(lines) + "\n"
