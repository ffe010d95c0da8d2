"""The operator's address as the instance sees it, typed in; empty goes back to the logs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class AddressScreen(ModalScreen["str | None"]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Your address", style="bold"), classes="dialog-title")
            yield Static(Text("The public IP the instance sees you connect from (on your "
                              "machine: curl -s https://ifconfig.me). Empty: use the one "
                              "the instance logged."))
            yield Input(self.current, placeholder="203.0.113.7 or 2001:db8::7", id="address")
            yield Static(Text("Enter re-check  ·  Esc cancel", style="bold"),
                         classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
