"""The keys, and what the wizard does and does not do."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("0", "overview: every check, one row per method"),
    ("1 2 3 4", "Method 1 TCP wrappers, 2 libraries, 3 Security Center, 4 your network"),
    ("5", "other causes: sshd itself, its log, MaxStartups, penalties, firewall, deny lists"),
    ("n / b", "next / back screen (other causes, then the summary, after Method 4)"),
    ("Enter", "open the highlighted row; in a field: use what was typed"),
    ("a", "apply the previewed fix (then y to confirm, n or Esc to cancel)"),
    ("u", "undo the newest change set (byte-exact backups)"),
    ("c", "copy what the screen offers (clipboard, OSC 52, and always a file)"),
    ("s", "save it (or the report) to a file"),
    ("r", "re-run the checks (on Method 4: the probe)"),
    ("Tab", "move between fields and lists; PgUp/PgDn scroll"),
    ("ctrl+p", "command palette"),
    ("?", "this help"),
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
        text = Text()
        for key, what in KEYS:
            text.append(f"{key:>8}  ", style="bold")
            text.append(f"{what}\n")
        text.append("\n" + ABOUT)
        with Vertical(classes="dialog"):
            yield Static(Text("Help", style="bold"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(text)
            yield Static(Text("Esc close", style="bold"), classes="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)
