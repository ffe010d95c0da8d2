"""Undo: the dialog for one change set (what it changed, when, the files it restores and the
diff each gets) and the list of every change set on the target, to undo a chosen one.

Whether a set may be undone is the core's decision (tui.core.changes.undo.inspect, the very
checks undo makes): a file changed since, or a newer set in place that changed the same file,
and the dialog shows the refusal instead of offering `y`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.core.changes.journal import ACTIVE  # sets whose files may not be the originals
from tui.wizard.screens.confirm import ConfirmScreen
from tui.wizard.widgets.render import diff, plain

if TYPE_CHECKING:
    from tui.core.changes.journal import ChangeSet
    from tui.core.changes.undo import SetView


def what_it_changed(cs: ChangeSet, titles: dict[str, str]) -> str:
    """This run's title of the fix, else the check the remedy belongs to."""
    if cs.id in titles:
        return titles[cs.id]
    from tui.core.diagnosis import registry

    check = next((c for c in registry.CHECKS if cs.remedy in c.remedy_ids), None)
    return f"{cs.remedy} ({check.title})" if check else cs.remedy


def when(cs: ChangeSet) -> str:
    return (cs.created or "time not recorded").replace("T", " ").replace("Z", " UTC")


class UndoScreen(ConfirmScreen):
    """y undoes the set (only when the core would), l lists every set, n/Esc keeps it."""

    BINDINGS = [Binding("l", "list", "all change sets")]

    def __init__(self, view: SetView, target: str, titles: dict[str, str]) -> None:
        cs = view.change_set
        self.view = view
        self.choice = "keep"  # or "undo", "list"
        if view.can_undo:
            title = f"Undo change set {cs.id}?"
            keys = "y undo  ·  l all change sets  ·  n/Esc keep"
        elif cs.state not in ACTIVE:
            title = f"Change set {cs.id} is {cs.state}"
            keys = "l all change sets  ·  n/Esc close"
        else:
            title = f"Change set {cs.id} cannot be undone"
            keys = "l all change sets  ·  n/Esc close"
        super().__init__(title, self._body(view, target, titles), keys)

    @staticmethod
    def _body(view: SetView, target: str, titles: dict[str, str]) -> Text:
        cs = view.change_set
        body = Text()
        body.append("What   ", style="bold")
        body.append_text(plain(what_it_changed(cs, titles)))
        body.append("\nWhen   ", style="bold")
        body.append_text(plain(when(cs)))
        body.append("\nWhere  ", style="bold")
        body.append_text(plain(f"{target}, journal {cs.dir}"))
        body.append("\nState  ", style="bold")
        body.append_text(plain(cs.state + (" (a run stopped half-way)" if cs.interrupted
                                           else "")))
        if view.refusal:
            active = cs.state in ACTIVE
            body.append("\n\nRefused: " if active else "\n\nNothing to undo: ",
                        style="bold reverse")
            body.append_text(plain(" " + view.refusal, "bold"))
            for line in view.refusal_details:
                body.append_text(plain(f"\n  {line}"))
            body.append_text(plain("\nNothing is changed.", "italic"))
        body.append("\n\nRestores", style="bold")
        for f in view.files:
            body.append_text(plain(f"\n- {f.action}"))
        for f in view.files:
            if f.diff:
                body.append("\n\n")
                body.append_text(diff(f.diff).text)
        if view.can_undo:
            body.append_text(plain("\n\nEvery restored file is read back and compared; a file "
                                   "someone changed meanwhile is refused, not overwritten.",
                                   "italic"))
        return body

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer" and parameters == (True,):
            return self.view.can_undo
        return True

    def action_answer(self, yes: bool) -> None:
        self.choice = "undo" if yes and self.view.can_undo else "keep"
        self.dismiss(self.choice == "undo")

    def action_list(self) -> None:
        self.choice = "list"
        self.dismiss(False)


class UndoListScreen(ModalScreen[str]):
    """Every change set on the target, newest first; Enter opens the undo dialog of one."""

    BINDINGS = [Binding("escape", "close", "close")]

    def __init__(self, views: list[SetView], titles: dict[str, str]) -> None:
        super().__init__()
        self.views = views
        self.titles = titles

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Change sets, newest first", style="bold"),
                         classes="dialog-title")
            yield OptionList(*[self._option(v) for v in self.views], id="sets",
                             classes="dialog-body")
            yield Static(Text("Enter: show it and undo it  ·  Esc close", style="bold"),
                         classes="dialog-keys")

    def _option(self, view: SetView) -> Option:
        cs = view.change_set
        text = Text()
        text.append_text(plain(f"{cs.id.split('-', 1)[0]} {when(cs)}  ", "bold"))
        text.append_text(plain(cs.state, "bold" if cs.state in ACTIVE else "italic"))
        text.append_text(plain(f"\n  {what_it_changed(cs, self.titles)}"))
        text.append_text(plain("\n  " + ", ".join(e.path for e in cs.entries)))
        if view.refusal and cs.state in ACTIVE:
            text.append_text(plain("\n  cannot be undone now: see why with Enter", "italic"))
        return Option(text, id=cs.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
