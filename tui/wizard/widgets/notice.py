"""Notices: one line in the status line above the footer, never a box over the screen.

Textual's notifications are toasts over the bottom right of the screen: at 80x24 they covered
half of it (on Method 3, the security-group advice). The wizard shows a notice in its status
line instead, for a few seconds, and keeps every notice whole for the help screen (`?`): a
line cut to fit loses nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual.message import Message

from tui.core.text import printable

KEEP = 50  # notices kept for the help screen
MORE = " (? more)"


@dataclass(frozen=True)
class Notice:
    message: str
    title: str = ""
    severity: str = "information"  # information | warning | error (Textual's levels)
    when: float = field(default_factory=time.time)

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.message.splitlines() if line.strip()]

    def text(self) -> str:
        """The notice for the status line: its first line (the title first for a warning
        or an error); further lines are left to the help screen."""
        lines = self.lines
        body = lines[0] if lines else ""
        if self.title and self.severity != "information" and not body.startswith(self.title):
            body = f"{self.title}: {body}"
        return body

    def styled(self, width: int = 0) -> Text:
        """For the status line: errors and warnings say so in a word, not only a colour.
        ' (? more)' says the help screen has further lines, where it fits on the line
        (an error always says it: its details matter)."""
        out = Text()
        if self.severity in ("error", "warning"):
            out.append(f"{self.severity}: ", style="bold reverse" if self.severity == "error"
                       else "bold")
        out.append(printable(self.text()))
        if len(self.lines) > 1 and (self.severity == "error"
                                    or cell_len(out.plain) + len(MORE) <= width):
            out.append(MORE)
        return out


class Said(Message):
    """A notice to show (posted, so any thread may say something)."""

    def __init__(self, notice: Notice, timeout: float) -> None:
        super().__init__()
        self.notice = notice
        self.timeout = timeout
