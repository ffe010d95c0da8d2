"""Changes to the target: apply a previewed plan, apply every recommended one after one
confirmation, undo a change set (the newest in place, or one chosen from the journal). Each
runs as the target's job (targetjobs.py); after a fix the proof (probes.py) checks that sshd
answers again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.screen import ModalScreen

from tui.core.errors import UserError
from tui.wizard.base import one_line
from tui.wizard.messages import AllApplied, ChangeDone, ChangeSetsRead, Progress
from tui.wizard.probes import Probes
from tui.wizard.targetjobs import TargetJobs

if TYPE_CHECKING:  # the core loads in the first worker, after the first frame
    from tui.core.changes.plan import Plan
    from tui.wizard.screens.undo import UndoScreen


class Changes(TargetJobs, Probes):
    def apply_plan(self, what: str, plan: Plan) -> None:
        """Called by a method screen once the operator confirmed `plan`."""
        s = self._session
        assert s is not None  # plans come from a checked session

        def job() -> None:
            self.post_message(Progress(f"applying: {plan.title}"))
            cs = s.apply(what, plan)
            self.post_message(ChangeDone("applied", plan.title, cs))

        self.start_target_job("applying", job)

    def action_apply_all(self) -> None:
        """Every recommended fix, after one confirmation that lists them all."""
        s = self._session
        if s is None or s.report is None or self.busy:
            self.say("wait for the checks to finish", severity="warning")
            return
        items = s.recommended()
        if not items:
            self.say("nothing to apply: no problem found that a previewed edit fixes",
                     severity="warning")
            return
        from tui.wizard.screens.confirm import ConfirmScreen, plans_text

        body = plans_text(items, s.target_label)
        keys = "y apply all  ·  n/Esc cancel"
        title = (f"Apply all {len(items)} recommended fixes?" if len(items) > 1
                 else "Apply the recommended fix?")
        self.push_screen(ConfirmScreen(title, body, keys),
                         lambda ok: self._apply_all(items) if ok else None)

    def _apply_all(self, items: list[tuple[str, Plan]]) -> None:
        s = self._session
        assert s is not None

        def job() -> None:
            result = s.apply_all(items, lambda text: self.post_message(Progress(text)),
                                 lambda: self.hung_up)  # the terminal went away: no next fix
            self.post_message(AllApplied(result))

        self.start_target_job("applying all", job)

    def on_all_applied(self, message: AllApplied) -> None:
        assert self._session is not None
        m = message.result
        total = len(m.applied) + len(m.skipped) + len(m.not_tried) + (1 if m.failed else 0)
        lines = [f"applied {len(m.applied)} of {total} recommended fix{'es' if total > 1 else ''}"]
        for title, cs in m.applied:
            backups = ", ".join(cs.backups()) or "no backup needed (a new link)"
            lines.append(f"applied: {title} (change set {cs.id}; backups: {backups})")
        lines += [f"skipped: {t}" for t in m.skipped]
        severity = "information"
        if m.failed:
            title, error = m.failed
            details = error.details if isinstance(error, UserError) else []
            lines.append(f"stopped at: {title}: {one_line(error)}")
            lines += details
            lines += [f"not tried: {t}" for t in m.not_tried]
            severity = "error"
        if m.applied:
            lines.append("Undo each with u (the newest first)")
        recovered, self._session.recovered = self._session.recovered, []
        text = "\n".join([*recovered, *lines])
        self.say(text, title="apply all", severity=severity, timeout=20)
        stopped = [ln for ln in lines if ln.startswith("stopped at: ")]
        self.status = "; ".join(lines[:1] + stopped)
        self.session = self._session
        if m.applied:
            self.prove()

    def action_undo(self, set_id: str | None = None) -> None:
        """The undo dialog: the newest change set in place (or `set_id`), its files and the
        diff each would get; y undoes it, l lists every change set."""
        self._read_change_sets(set_id, listing=False)

    def action_undo_list(self) -> None:
        self._read_change_sets(None, listing=True)

    def _read_change_sets(self, set_id: str | None, listing: bool) -> None:
        s = self._session
        if s is None or s.target is None:
            self.say("nothing is open yet", severity="warning")
            return

        def job() -> None:
            views, problems = s.change_sets()
            self.post_message(ChangeSetsRead(views, problems, set_id, listing))

        self.start_target_job("reading the change journal", job)

    def on_change_sets_read(self, message: ChangeSetsRead) -> None:
        s = self._session
        assert s is not None
        if isinstance(self.screen, ModalScreen):
            return  # a dialog came up meanwhile: never stack the journal on top of it
        from tui.core.changes.journal import ACTIVE
        from tui.wizard.screens.undo import UndoListScreen, UndoScreen

        views = message.views
        titles = {c.change_set.id: c.title for c in s.changes}
        if message.listing:
            if not views:
                self.say("no change set on " + s.target_label + ": this tool changed nothing "
                         "there", severity="warning")
                return

            def chosen(set_id: str | None) -> None:
                view = next((v for v in views if v.change_set.id == set_id), None)
                if view is not None:
                    dialog = UndoScreen(view, s.target_label, titles)
                    self.push_screen(dialog, self._undo_answer(dialog))

            self.push_screen(UndoListScreen(views, titles), chosen)
            return
        if message.set_id is None:
            view = next((v for v in views if v.change_set.state in ACTIVE), None)
        else:
            view = next((v for v in views if v.change_set.id == message.set_id), None)
        if view is None:
            extra = f" ({len(message.problems)} unreadable: {message.problems[0]})" \
                if message.problems else ""
            self.say(f"nothing to undo on {s.target_label}: no change set in place{extra}",
                     severity="warning")
            return
        dialog = UndoScreen(view, s.target_label, titles)
        self.push_screen(dialog, self._undo_answer(dialog))

    def _undo_answer(self, dialog: UndoScreen) -> Callable[[bool | None], None]:
        s = self._session
        assert s is not None
        set_id = dialog.view.change_set.id

        def answered(_: bool | None) -> None:
            if dialog.choice == "list":
                self.action_undo_list()
            elif dialog.choice == "undo":

                def job() -> None:
                    self.post_message(Progress(f"undoing change set {set_id}"))
                    cs = s.undo(set_id)
                    self.post_message(ChangeDone("undone", cs.remedy, cs))

                self.start_target_job("undoing", job)

        return answered

    def on_change_done(self, message: ChangeDone) -> None:
        cs = message.change_set
        assert self._session is not None  # changes are made through it
        if message.verb == "applied":
            backups = ", ".join(cs.backups()) or "none needed (only a new link)"
            text = f"applied: {message.title}. Backups: {backups}. Undo with u."
        else:
            text = (f"undone: change set {cs.id} restored from its backups (every file read "
                    "back)")
        recovered, self._session.recovered = self._session.recovered, []
        text = "\n".join([*recovered, text, *cs.notes])
        self.say(text, title="done", timeout=15)
        self.status = text
        self.session = self._session
        if message.verb == "applied":
            self.prove()

