"""The operator's address as the instance sees it: picked from what sshd logged, or typed.

A public instance's logs are full of scanners, so the tool never guesses: every address the
logs name is listed with how often and when it was last seen, and the operator picks theirs
(or types it). A bad entry keeps the dialog open and says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.core.text import printable
from tui.wizard.widgets.render import Wrapped

if TYPE_CHECKING:
    from tui.core.clientip import ClientAddress

# (address, where it came from); ("", "") goes back to --client-ip or the logs.
Answer = tuple[str, str]


class AddressScreen(ModalScreen["Answer | None"]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, current: str, candidates: list[ClientAddress] | None = None) -> None:
        super().__init__()
        self.current = current
        self.candidates = list(candidates or [])[:20]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Your address", style="bold"), classes="dialog-title")
            yield Static(Text("The public IP the instance sees you connect from (on your "
                              "machine: curl -s https://ifconfig.me)."))
            if self.candidates:
                yield Static(Text(f"sshd logged {len(self.candidates)}: pick yours (scanners "
                                  "show up here too) or type it below."))
                yield OptionList(*(self._option(a) for a in self.candidates), id="candidates")
            # No select-all on focus: a key typed on the list moves here and must stay.
            with Horizontal(id="address-row"):
                yield Label("Address ")
                yield Input(self.current, placeholder="203.0.113.7 or 2001:db8::7",
                            id="address", select_on_focus=not self.candidates, compact=True)
            yield Static("", id="address-error")
            keys = ("Enter pick/re-check  ·  Tab list/field  ·  Esc cancel" if self.candidates
                    else "Enter re-check (empty: back to the logs)  ·  Esc cancel")
            yield Static(Text(keys, style="bold"), classes="dialog-keys")

    @staticmethod
    def _option(a: ClientAddress) -> Option:
        text = Text(a.ip, style="bold")
        times = f"{a.count} time{'s' if a.count != 1 else ''}"
        when = f", last {a.last_seen}" if a.last_seen else ""
        text.append(printable(f"  {times}{when}, {a.source}"))
        if a.private:
            # Say what such a source is, not only that it is private: a bastion, a NAT
            # gateway, a load balancer's health check (100.64.0.0/10 on Alibaba Cloud).
            text.append(f"\n  {a.private}: {a.meaning}", style="italic")
        # Wrapped lines stay indented under their line: the addresses stand out.
        return Option(Wrapped(text, hang=2), id=a.ip)

    def on_mount(self) -> None:
        if self.candidates and not self.current:
            self.query_one("#candidates", OptionList).focus()
        else:
            self.query_one("#address", Input).focus()

    def on_key(self, event: events.Key) -> None:
        # Typing while the list has focus goes to the field: nothing typed is lost.
        field = self.query_one("#address", Input)
        if event.character and event.character.isprintable() and not field.has_focus \
                and event.character not in " \t":
            field.focus()
            field.insert_text_at_cursor(event.character)
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = next(a for a in self.candidates if a.ip == event.option.id)
        self.dismiss((picked.ip, f"picked from {picked.source}"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.dismiss(("", ""))
            return
        from tui.core.clientip import AddressError, parse_address

        try:
            parse_address(text)
        except AddressError as e:
            error = self.query_one("#address-error", Static)
            error.update(Text(printable(str(e)), style="bold"))
            error.display = True  # hidden until there is something to say
            return
        self.dismiss((text, "typed in"))

    def action_cancel(self) -> None:
        self.dismiss(None)
