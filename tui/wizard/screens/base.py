"""What every full screen of the wizard shares: header, footer, redraw on new results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from tui.core.text import printable

if TYPE_CHECKING:
    from tui.wizard.app import WizardApp


class WizardScreen(Screen):
    SUB_TITLE = ""
    BINDINGS = [
        # Priority: the body scrolls even while a list inside it has the focus.
        Binding("pagedown", "page(1)", "page down", show=False, priority=True),
        Binding("pageup", "page(-1)", "page up", show=False, priority=True),
    ]

    if TYPE_CHECKING:
        app: WizardApp  # the screens run in the wizard's app and read its state

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with VerticalScroll(id="body", can_focus=True):
            yield from self.body()
        yield Static(id="status")
        yield Footer(show_command_palette=False, compact=True)

    def body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.sub_title = self.SUB_TITLE
        self.watch(self.app, "session", self.show_session)
        self.watch(self.app, "status", self._show_status)
        self.watch(self.app, "busy", lambda _: self._show_status(self.app.status))

    def _show_status(self, status: str) -> None:
        busy = self.app.busy
        self.query_one("#status", Static).update(
            Text(f"{'working: ' if busy else ''}{printable(status)}", style="italic")
        )

    def show_session(self, session: Any) -> None:
        """Redraw from the session (None while the first check runs)."""

    def action_page(self, direction: int) -> None:
        body = self.query_one("#body", VerticalScroll)
        if direction > 0:
            body.scroll_page_down()
        else:
            body.scroll_page_up()
