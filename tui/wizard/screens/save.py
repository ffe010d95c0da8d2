"""Where to save: a path, prefilled with a new file name; existing files are never replaced."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class SaveScreen(ModalScreen["str | None"]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, what: str, default: str) -> None:
        super().__init__()
        self.what = what
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Save the {self.what} to", style="bold"), classes="dialog-title")
            yield Input(self.default, id="path")
            yield Static(Text("Enter save  ·  Esc cancel", style="bold"), classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
