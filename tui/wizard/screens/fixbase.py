"""What Methods 1 and 2 share: a finding, remedies to choose, a diff preview, apply/undo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.wizard.screens.base import WizardScreen
from tui.wizard.screens.confirm import ConfirmScreen
from tui.wizard.widgets.render import Wrapped, diff, plain, status_word

if TYPE_CHECKING:
    from tui.core.changes.plan import Plan
    from tui.core.diagnosis.finding import Finding
    from tui.core.session import Session

JOURNAL = "/var/lib/ssh-reset-doctor/changes"


class FixScreen(WizardScreen):
    WHAT = ""  # a registry id: TCP_WRAPPERS | LIBRARIES
    BINDINGS = [Binding("a", "apply", "apply")]

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[Plan] = []

    def fix_widgets(self, verdict: bool = True) -> ComposeResult:
        if verdict:
            yield Static(id="verdict")
        yield Static(Text("Remedy", style="bold"), classes="heading")
        yield OptionList(id="remedies")
        yield Static(id="notes")
        yield Static(Text("Preview - nothing is written until you press a and confirm",
                          style="bold"), classes="heading")
        yield Static(id="preview")

    def on_mount(self) -> None:
        super().on_mount()
        # The screen opens at its top (the verdict first): Textual would scroll the list
        # into view once laid out, by as far as the text above it reached by then (a
        # matter of timing; screen 5 opened scrolled past its first cause).
        self.query_one("#remedies", OptionList).focus(scroll_visible=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return True if self.plans else None
        return True

    def show_session(self, session: Session | None) -> None:
        verdict = self.query_one("#verdict", Static)
        if session is None or session.report is None:
            verdict.update(plain("checking...", "italic"))
            return
        finding, plans = session.remedies(self.WHAT)
        self.plans = plans
        text = Text()
        text.append_text(status_word(finding.status))
        text.append(" ")
        text.append_text(plain(finding.summary, "bold"))
        for line in self.verdict_details(session, finding):
            text.append("\n")
            text.append_text(line)
        for step in finding.remedy:
            text.append("\n  ")
            text.append_text(plain(step))
        last = next((c for c in reversed(session.changes) if c.what == self.WHAT), None)
        if last is not None:
            state = "undone" if last.undone else "applied"
            text.append(f"\nLast change here: {state}: ", style="bold")
            text.append_text(plain(f"{last.title} (change set {last.change_set.id}); "
                                   f"re-checked: {finding.status}"))
        verdict.update(Wrapped(text, hang=2))  # long lines wrap under their text
        remedies = self.query_one("#remedies", OptionList)
        remedies.set_options([
            Option(plain(f"{p.title}" + ("  (recommended)" if p.default else "")),
                   id=str(i)) for i, p in enumerate(plans)
        ] or [Option(plain(self.no_plan_text(finding)), disabled=True)])
        if plans:
            remedies.highlighted = 0
        self.refresh_bindings()
        self._show_plan()
        self.show_extra(session, finding)

    def verdict_details(self, session: Session, finding: Finding) -> list[Text]:
        return []

    def no_plan_text(self, finding: Finding) -> str:
        if finding.status == "problem":
            return "no safe edit fixes this here: see the commands above"
        return "nothing to fix"

    def show_extra(self, session: Session, finding: Finding) -> None:
        """The method's own sections (the files, the libraries)."""

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "remedies":
            self._show_plan()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "remedies":
            self.action_apply()

    @property
    def plan(self) -> Plan | None:
        index = self.query_one("#remedies", OptionList).highlighted
        if not self.plans or index is None or index >= len(self.plans):
            return None
        return self.plans[index]

    def _show_plan(self) -> None:
        plan = self.plan
        notes = Text()
        preview = self.query_one("#preview", Static)
        if plan is None:
            preview.update(plain("(no change to preview)", "italic"))
            self.query_one("#notes", Static).update(notes)
            return
        for n in plan.notes:
            notes.append_text(plain(f"note: {n}\n", "italic"))
        notes.rstrip()
        self.query_one("#notes", Static).update(Wrapped(notes, hang=6))  # under "note: "
        preview.update(diff(plan.preview()))

    def action_apply(self) -> None:
        plan = self.plan
        if plan is None:
            self.notify("nothing to apply here", severity="warning")
            return
        session = self.app.session
        assert session is not None  # a plan comes from a checked session
        files = [op.path for op in plan.ops if hasattr(op, "before")]
        links = [op.path for op in plan.ops if not hasattr(op, "before")]
        body = Text()
        # Paths and sonames come from the target: printable, and never markup (Text).
        body.append_text(plain(f"{plan.title}\non {session.target_label}\n\n", "bold"))
        if files:
            body.append_text(plain("Byte-exact backups of " + ", ".join(files)
                                   + f" go to a new change set under {JOURNAL}/ on the target "
                                   "first.\n"))
        if links:
            body.append_text(plain("Creates " + ", ".join(links) + " (undo removes it again).\n"))
        body.append("Then the result is read back and re-checked; a failed check rolls back.")
        self.app.push_screen(
            ConfirmScreen("Apply this fix?", body, "y apply  ·  n/Esc cancel"),
            lambda ok: self.app.apply_plan(self.WHAT, plan) if ok else None,
        )

    def export(self) -> tuple[str, str] | None:
        session = self.app.session
        if session is None or session.report is None:
            return None
        finding, _ = session.remedies(self.WHAT)
        lines = [finding.summary, *finding.remedy]
        if self.plan is not None:
            lines += ["", f"plan: {self.plan.title}", self.plan.preview()]
        return self.WHAT, "\n".join(lines) + "\n"
