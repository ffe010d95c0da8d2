"""The sudo password, asked only when sudo asks for it; never logged, never stored."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PasswordScreen(ModalScreen["str | None"]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Password", style="bold"), classes="dialog-title")
            yield Static(Text(self.prompt))
            yield Input(password=True, id="password")
            yield Static(Text("Enter send  ·  Esc cancel", style="bold"), classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value
        event.input.value = ""  # do not keep it in the widget any longer than needed
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
