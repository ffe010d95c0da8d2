"""What every full screen of the wizard shares: header, footer, redraw on new results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.core.text import printable
from tui.wizard.widgets.footer import WizardFooter
from tui.wizard.widgets.render import Wrapped

if TYPE_CHECKING:
    from textual import getters

    from tui.core.session import Session
    from tui.wizard.app import WizardApp


class WizardScreen(Screen):
    if TYPE_CHECKING:
        app = getters.app(WizardApp)  # self.app is the wizard, with its own attributes

    SUB_TITLE = ""
    BINDINGS = [
        # Priority: the body scrolls even while a list inside it has the focus.
        Binding("pagedown", "page(1)", "page down", show=False, priority=True),
        Binding("pageup", "page(-1)", "page up", show=False, priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with VerticalScroll(id="body", can_focus=True):
            yield from self.body()
        yield Static(id="status")
        yield WizardFooter(show_command_palette=False, compact=True)

    def body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.sub_title = self.SUB_TITLE
        self.watch(self.app, "session", self.show_session)
        self.watch(self.app, "status", self._show_status)
        self.watch(self.app, "busy", lambda _: self._show_status(self.app.status))
        self.watch(self.app, "notice", lambda _: self._show_status(self.app.status))

    def _show_status(self, status: str) -> None:
        """The status line: a notice while it lasts, else what the wizard is doing or did.
        At most two lines; longer text ends in '...' and `?` shows it whole."""
        notice = self.app.notice
        status_line = self.query_one("#status", Static)
        if notice is not None:
            text = notice.styled(status_line.content_region.width or self.app.size.width - 2)
        else:
            busy = self.app.busy
            status = "; ".join(line for line in status.splitlines() if line.strip())
            text = Text(f"{'working: ' if busy else ''}{printable(status)}", style="italic")
        status_line.update(Wrapped(text, hang=2, max_lines=2, more=" ... (? shows all)"))

    def show_session(self, session: Session | None) -> None:
        """Redraw from the session (None while the first check runs)."""

    def action_page(self, direction: int) -> None:
        body = self.query_one("#body", VerticalScroll)
        if direction > 0:
            body.scroll_page_down()
        else:
            body.scroll_page_up()
