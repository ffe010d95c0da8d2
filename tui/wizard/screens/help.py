"""The keys, what the wizard does and does not do, and every notice so far in full."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.core.text import printable
from tui.wizard.widgets.render import Wrapped

KEYS = (
    ("0", "overview: every check, one row per method"),
    ("1 2 3 4", "Method 1 TCP wrappers, 2 libraries, 3 Security Center, 4 your network"),
    ("5", "other causes: sshd itself, its log, MaxStartups, penalties, firewall, deny lists"),
    ("n / b", "next / back screen (other causes, then the summary, after Method 4)"),
    ("Enter", "open the highlighted row; in a field: use what was typed"),
    ("a", "apply the previewed fix (then y to confirm, n or Esc to cancel)"),
    ("A", "apply every recommended fix, after one confirmation that lists them all"),
    ("u", "undo: the newest change set, its files and diff; l lists every set to pick one"),
    ("c", "copy what the screen offers (clipboard, OSC 52, and always a file)"),
    ("s", "save it (or the report) to a file"),
    ("r", "re-run the checks (on Method 4: the probe)"),
    ("Tab", "move between fields and lists; PgUp/PgDn scroll"),
    ("Esc", "leave a field: its keys type, Esc gives the keys back (Method 4 opens in "
            "its probe field); close a dialog"),
    ("ctrl+p", "command palette"),
    ("?", "this help, and every message in full (the status line shows two lines)"),
    ("q", "quit (exit code 0)"),
)

ABOUT = (
    "Nothing is written before you press a and confirm. Every change keeps a byte-exact "
    "backup under /var/lib/ssh-reset-doctor/changes on the target; undo restores it and "
    "refuses if someone changed the file since. Methods 3 and 4 are done by you, outside "
    "the instance: the wizard fills in the steps and commands for you to copy."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("question_mark", "close", "close"),
        Binding("q", "close", "close"),
    ]

    def compose(self) -> ComposeResult:
        keys = Text()
        for key, what in KEYS:
            keys.append(f"{key:>8}  ", style="bold")
            keys.append(f"{what}\n")
        keys.rstrip()
        with Vertical(classes="dialog"):
            yield Static(Text("Help", style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                messages = self.messages()
                if messages is not None:
                    yield Static(messages, id="messages")
                yield Static(Wrapped(keys, indent=10), id="keys")  # wraps under the text
                yield Static(Text(ABOUT), classes="heading")
            yield Static(Text("Esc close", style="bold"), classes="dialog-keys")

    def messages(self) -> Wrapped | None:
        """The status line and the notices (newest first), whole: the status line shows
        two lines at most."""
        app = self.app
        status = getattr(app, "status", "")
        notices = list(reversed(getattr(app, "notices", [])))
        if not notices:
            return None
        text = Text("Messages (newest first)\n", style="bold")
        if status:
            text.append("  status  ", style="bold")
            text.append(printable(status.strip()).replace("\n", "\n          ") + "\n")
        for n in notices:
            text.append(time.strftime("%H:%M:%S  ", time.localtime(n.when)), style="bold")
            if n.severity != "information":
                text.append(f"{n.severity}: ", style="bold")
            text.append(printable(n.title + ": " if n.title else ""))
            text.append(printable(n.message.strip()).replace("\n", "\n          ") + "\n")
        text.rstrip()
        return Wrapped(text, indent=10)

    def action_close(self) -> None:
        self.dismiss(None)
