"""A yes/no question: `y` confirms, `n` or Esc cancels. Its body scrolls (arrows, PgUp/PgDn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.wizard.widgets.render import Wrapped, diff, plain

if TYPE_CHECKING:
    from tui.core.changes.plan import Plan

JOURNAL = "/var/lib/ssh-reset-doctor/changes"


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", "cancel"),
    ]

    def __init__(self, title: str, body: str | Text, keys: str = "y yes  ·  n/Esc no") -> None:
        super().__init__()
        self.title_text = title
        self.body_text = body if isinstance(body, Text) else Text(body)
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                # Long lines (diffs, paths) wrap under their own text: the +/- column and
                # indented lists stay clear.
                yield Static(Wrapped(self.body_text, hang=1))
            yield Static(Text(self.keys, style="bold"), classes="dialog-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def plans_text(items: list[tuple[str, Plan]], target: str) -> Text:
    """`apply all`'s one confirmation: each fix in the order it is applied, its files and
    its diff, and what happens on a failure."""
    from tui.core.changes.plan import FileEdit
    from tui.core.diagnosis import registry

    body = Text()
    body.append_text(plain(f"On {target}, in this order; each is checked, backed up under "
                           f"{JOURNAL}/, written, read back and re-checked. The first "
                           "failure stops the rest.\n", ""))
    for n, (what, plan) in enumerate(items, 1):
        body.append_text(plain(f"\n{n}. {registry.title(what)}: {plan.title}\n", "bold"))
        for op in plan.ops:
            if isinstance(op, FileEdit):
                text = "creates" if op.before is None else "edits (backup first)"
                body.append_text(plain(f"   {text} {op.path}\n"))
            else:
                body.append_text(plain(f"   creates the symlink {op.path} -> {op.target}\n"))
        preview = plan.preview()
        added = sum(1 for ln in preview.splitlines()
                    if ln.startswith("+") and not ln.startswith("+++"))
        removed = sum(1 for ln in preview.splitlines()
                      if ln.startswith("-") and not ln.startswith("---"))
        if added or removed:
            body.append_text(plain(f"   {added} line(s) added, {removed} removed:\n", "italic"))
        body.append_text(diff(preview).text)
        body.append("\n")
        for check in plan.checks:
            body.append_text(plain(f"   before writing: {check.what}\n", "italic"))
    body.rstrip()
    return body
